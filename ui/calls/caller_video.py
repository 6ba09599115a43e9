"""The caller's picture in the incident pane: the running stream at once, then the main one.

A Help Point's sub stream is kept warm by the desk, so the tile shows it the moment the pane
opens; it switches to the main stream when that has a picture (or when this user may not
view it: the tile then says why) and gives the sub stream back.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QWidget

from ui.video.hub import FeedHandle, FeedHub
from ui.video.tile import Tile


class CallerVideo(Tile):
    def __init__(self, hub: FeedHub, device_id: int, device: str, place: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(0, parent)
        self.hub = hub
        self.device_id, self.name, self.place = device_id, device, place
        self.setMinimumSize(560, 315)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.first_frame_at: float | None = None  # time.monotonic() of the first picture shown
        reuse_sub = not hub.running(device_id, "main") and hub.running(device_id, "sub")
        self.main: FeedHandle = hub.acquire(device_id, "main")
        self.sub: FeedHandle | None = hub.acquire(device_id, "sub") if reuse_sub else None
        self.handle = self.sub or self.main

    def tick(self, now: float) -> None:
        if self.sub is not None and (self.main.denied or (
                self.main.feed is not None and self.main.feed.latest)):
            # HD has a picture; or this user may no longer view the camera (the running SD
            # stream was opened earlier, so the refusal of HD decides): the tile says why
            self.handle = self.main
            self.hub.release(self.sub)
            self.sub = None
        super().tick(now)
        if self.first_frame_at is None and self.shown > 0:
            self.first_frame_at = now

    def release(self) -> None:
        for h in (self.main, self.sub):
            if h is not None:
                self.hub.release(h)
        self.sub = None
        self.handle = None
