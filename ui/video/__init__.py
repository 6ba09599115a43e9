"""Live video for the wall and the incident pane: feeds (decoders) and the widgets showing them.

Feeds run off the GUI thread and only ever store their latest frame; the GUI
picks frames up on a timer (never a Qt signal per frame, see the field notes).
"""
