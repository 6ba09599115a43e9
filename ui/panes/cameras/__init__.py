from ui.panes.cameras.pane import CamerasPane

__all__ = ["CamerasPane"]
