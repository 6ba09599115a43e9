"""The live wall: tiles in a layout, the toolbar around it, pop-out windows and the PTZ panel."""
