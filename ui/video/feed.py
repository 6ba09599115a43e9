"""A live feed: one camera stream decoded off the GUI thread, with its own reconnect loop.

Backends (PyAV, libvlc) implement ``_session``: connect, deliver frames through
``_deliver`` until the stream ends or fails, then return or raise ``FeedError``.
The loop around it owns state, backoff and the countdown the tile shows. Nothing
here touches Qt: the GUI polls ``latest`` and ``status``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vms.errors import AuthRefused, FeedError  # defined with every other error
from vms.retry import Backoff

STABLE_S = 10.0  # a session that stayed live this long resets the backoff
OFFLINE_AFTER = 3  # consecutive failed attempts before a camera is called offline
AUTH_RETRY_S = 60.0  # wrong credentials will not fix themselves; try now and then


class FeedState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    AUTH_FAILED = "wrong credentials"
    STOPPED = "stopped"


@dataclass(frozen=True)
class FeedStatus:
    state: FeedState
    reason: str = ""
    retry_at: float | None = None  # time.monotonic() of the next attempt

    def countdown(self, now: float | None = None) -> int | None:
        if self.retry_at is None:
            return None
        return max(0, round(self.retry_at - (now if now is not None else time.monotonic())))


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


class Feed:
    """Base of the backends; one thread per feed, started by ``start``.

    ``_session`` must notice ``stopped`` by itself (each frame, or a short poll): ``stop``
    never waits for it.
    """

    backend = "?"

    def __init__(self, url: str, user: str = "", password: str = "", *, label: str = "",
                 backoff: Backoff | None = None, allow_basic: bool = False) -> None:
        self.url = url  # without credentials
        self.user = user
        self._password = password
        self.allow_basic = allow_basic  # RTSP Basic on plain RTSP (vms.safety.streamsafe.url_to_open)
        self.label = label or url
        self.backoff = backoff or Backoff()
        self.status = FeedStatus(FeedState.CONNECTING)
        self.latest: Frame | None = None
        self.native_size: tuple[int, int] | None = None
        self.frames = 0  # decoded and delivered
        self.sessions = 0  # connections that reached LIVE
        self._box: tuple[int, int] = (640, 360)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot_wanted = threading.Event()
        self.snapshot: Frame | None = None  # full-size frame after ``want_snapshot``

    def __repr__(self) -> str:  # never the password
        return f"{type(self).__name__}({self.label!r}, {self.status.state})"

    # -- the GUI's side ------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"feed {self.label}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the feed to end; returns at once (the GUI thread must not wait on the network)."""
        self._stop.set()
        self.status = FeedStatus(FeedState.STOPPED)

    def join(self, timeout: float = 10.0) -> bool:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def set_box(self, width: int, height: int) -> None:
        """The size frames should be scaled to fit (the tile's size in device pixels)."""
        self._box = (max(2, width), max(2, height))

    def want_snapshot(self) -> None:
        self.snapshot = None
        self._snapshot_wanted.set()

    # -- backends ------------------------------------------------------------------
    def _session(self) -> None:
        raise NotImplementedError

    def _output_size(self) -> tuple[int, int]:
        if self.native_size is None:
            return self._box
        return fit(*self._box, *self.native_size)

    def _deliver(self, width: int, height: int, data: Any, stride: int = 0) -> None:
        if self.status.state is not FeedState.LIVE:
            self.status = FeedStatus(FeedState.LIVE)
            self.sessions += 1
        self.frames += 1
        aspect = 0.0
        if self.native_size is not None and self.native_size[1]:
            aspect = self.native_size[0] / self.native_size[1]
        self.latest = Frame(self.frames, width, height, data, time.monotonic(), aspect, stride)

    # -- the loop ------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.status = FeedStatus(FeedState.CONNECTING)
            started = time.monotonic()
            frames_before = self.frames
            auth = False
            try:
                self._session()
                reason = "the stream ended"
            except AuthRefused as exc:
                reason, auth = str(exc), True
            except FeedError as exc:
                reason = str(exc)
            except Exception as exc:  # a backend bug must not kill the tile for good
                reason = f"playback failed ({type(exc).__name__})"
            if self._stop.is_set():
                break
            was_live = self.frames > frames_before
            if was_live and time.monotonic() - started >= STABLE_S:
                self.backoff.reset()
            failures = 0 if was_live else failures + 1
            if auth:
                delay, state = AUTH_RETRY_S, FeedState.AUTH_FAILED
            else:
                delay = self.backoff.next_delay()
                state = FeedState.OFFLINE if failures >= OFFLINE_AFTER else FeedState.RECONNECTING
            self.status = FeedStatus(state, reason, time.monotonic() + delay)
            self._stop.wait(delay)
        self.status = FeedStatus(FeedState.STOPPED)
