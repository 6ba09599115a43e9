"""Reading camera streams: one worker loop (open, read, reconnect, stop) and its state
words for every reader, FFmpeg's failures in plain words, and the live-video feeds the wall
and the incident pane show (decoded and scaled off the GUI thread, no Qt here)."""
