"""The widgets that show live video: tiles and the hub that shares one feed among them.

Feeds (``vms.media.feed``) run off the GUI thread and only ever store their latest frame;
the GUI picks frames up on a timer (never a Qt signal per frame, see the field notes).
"""
