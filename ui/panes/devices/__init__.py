from ui.panes.devices.pane import DevicesPane

__all__ = ["DevicesPane"]
