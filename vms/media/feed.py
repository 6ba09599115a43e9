"""A live feed: one camera stream decoded off the GUI thread for a tile or a pane.

Backends (PyAV, libvlc) implement ``_session``: connect, deliver frames through
``_deliver`` until the stream ends or fails, then return or raise ``FeedError``. The
loop around it, its state words, backoff and the countdown the tile shows are the one
stream worker's (``vms.media.worker``). Nothing here touches Qt: the GUI polls
``latest`` and ``status``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from vms.media.worker import StreamState, StreamStatus, StreamWorker
from vms.retry import Backoff

# The feed's names for the worker's words (the tile and the wall read them)
FeedState = StreamState
FeedStatus = StreamStatus


@dataclass(frozen=True)
class Frame:
    """A decoded picture as 32-bit BGRA (Qt's Format_RGB32 on little-endian machines)."""

    seq: int
    width: int
    height: int
    data: Any  # anything with the buffer protocol: height rows of ``stride`` bytes
    received: float  # time.monotonic()
    aspect: float = 0.0  # display aspect ratio when it differs from width / height
    stride: int = 0  # bytes per row (0: width * 4)

    @property
    def bytes_per_line(self) -> int:
        return self.stride or self.width * 4

    @property
    def display_aspect(self) -> float:
        return self.aspect or self.width / max(1, self.height)


def fit(box_w: int, box_h: int, src_w: int, src_h: int) -> tuple[int, int]:
    """The largest even size with the source's aspect that fits in the box."""
    if src_w <= 0 or src_h <= 0 or box_w <= 0 or box_h <= 0:
        return max(2, src_w), max(2, src_h)
    scale = min(box_w / src_w, box_h / src_h)
    return max(2, int(src_w * scale) & ~1), max(2, int(src_h * scale) & ~1)


class Feed(StreamWorker):
    """Base of the backends; one thread per feed, started by ``start``."""

    backend = "?"
    thread_name = "feed"

    def __init__(self, url: str, user: str = "", password: str = "", *, label: str = "",
                 backoff: Backoff | None = None, allow_basic: bool = False) -> None:
        super().__init__(label or url, backoff)
        self.url = url  # without credentials
        self.user = user
        self._password = password
        self.allow_basic = allow_basic  # RTSP Basic on plain RTSP (vms.safety.streamsafe.url_to_open)
        self.latest: Frame | None = None
        self.native_size: tuple[int, int] | None = None
        self.frames = 0  # decoded and delivered
        self._box: tuple[int, int] = (640, 360)
        self._snapshot_wanted = threading.Event()
        self.snapshot: Frame | None = None  # full-size frame after ``want_snapshot``

    def __repr__(self) -> str:  # never the password
        return f"{type(self).__name__}({self.label!r}, {self.status.state})"

    # -- the GUI's side ------------------------------------------------------------
    def set_box(self, width: int, height: int) -> None:
        """The size frames should be scaled to fit (the tile's size in device pixels)."""
        self._box = (max(2, width), max(2, height))

    def want_snapshot(self) -> None:
        self.snapshot = None
        self._snapshot_wanted.set()

    # -- backends ------------------------------------------------------------------
    def _explain(self, exc: Exception) -> str:
        # backends raise FeedError in plain words; anything else is a backend bug, which
        # must not kill the tile for good
        return f"playback failed ({type(exc).__name__})"

    def _output_size(self) -> tuple[int, int]:
        if self.native_size is None:
            return self._box
        return fit(*self._box, *self.native_size)

    def _deliver(self, width: int, height: int, data: Any, stride: int = 0) -> None:
        self._went_live()
        self.frames += 1
        aspect = 0.0
        if self.native_size is not None and self.native_size[1]:
            aspect = self.native_size[0] / self.native_size[1]
        self.latest = Frame(self.frames, width, height, data, time.monotonic(), aspect, stride)
