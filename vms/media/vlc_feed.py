"""The libvlc backend (python-vlc): libvlc demuxes and decodes, we take frames by callback.

Frames arrive through libvlc's video callbacks into a buffer we own (which works
offscreen, under Xvfb and on Windows alike, and lets the tile paint its overlays
over the picture). Rules from the field notes: one libvlc instance per process,
players reused from a pool (create/release cycles leak), no libvlc call from
inside a libvlc callback, and Python references to callbacks and buffers kept
until ``stop()`` has returned.
"""

from __future__ import annotations

import ctypes
import threading
import time
from typing import Any

import vlc

from vms.errors import FeedError, VmsError
from vms.media.feed import Feed, fit
from vms.media.pyav_feed import OPEN_TIMEOUT_S, READ_TIMEOUT_S
from vms.safety.streamsafe import player_url

_FormatCb = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p),
                             ctypes.POINTER(ctypes.c_char), ctypes.POINTER(ctypes.c_uint),
                             ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint),
                             ctypes.POINTER(ctypes.c_uint))
_set_format_callbacks = vlc.dll.libvlc_video_set_format_callbacks
_set_format_callbacks.argtypes = [ctypes.c_void_p, _FormatCb, ctypes.c_void_p]
_set_format_callbacks.restype = None

_lock = threading.Lock()
_instance: vlc.Instance | None = None
_pool: list[vlc.MediaPlayer] = []


def instance() -> vlc.Instance:
    global _instance
    with _lock:
        if _instance is None:
            _instance = vlc.Instance(["--quiet", "--no-audio", "--avcodec-threads=1",
                                      "--no-video-title-show", "--no-xlib"])
            if _instance is None:
                raise FeedError("libvlc could not start")
        return _instance


def _take_player() -> vlc.MediaPlayer:
    with _lock:
        if _pool:
            return _pool.pop()
    return instance().media_player_new()


def _give_back(mp: vlc.MediaPlayer) -> None:
    with _lock:
        _pool.append(mp)


def pool_size() -> int:
    with _lock:
        return len(_pool)


class VlcFeed(Feed):
    backend = "vlc"

    def _session(self) -> None:
        try:  # before a pooled player is taken: a refusal must not leak one
            url = player_url(self.url, self.user, self._password, allow_basic=self.allow_basic)
        except VmsError as exc:  # unreachable, or a password that would go in clear text
            raise FeedError(str(exc)) from None
        mp = _take_player()
        self.native_size = None
        ended = threading.Event()
        error: list[str] = []
        state: dict[str, Any] = {"buf": None, "w": 0, "h": 0}

        def setup(opaque: Any, chroma: Any, width: Any, height: Any, pitches: Any,
                  lines: Any) -> int:
            # libvlc offers its buffer size here, which can differ from the picture's; the
            # real size is read in the feed thread once playing (never libvlc from a callback).
            w, h = fit(*self._box, width[0], height[0])
            ctypes.memmove(chroma, b"RV32", 4)
            width[0], height[0] = w, h
            pitches[0], lines[0] = w * 4, h
            state.update(buf=ctypes.create_string_buffer(w * 4 * h), w=w, h=h)
            return 1

        @vlc.CallbackDecorators.VideoLockCb
        def lock(opaque: Any, planes: Any) -> Any:
            planes[0] = ctypes.cast(state["buf"], ctypes.c_void_p)
            return None

        @vlc.CallbackDecorators.VideoUnlockCb
        def unlock(opaque: Any, picture: Any, planes: Any) -> None:
            return None

        @vlc.CallbackDecorators.VideoDisplayCb
        def display(opaque: Any, picture: Any) -> None:
            w, h = state["w"], state["h"]
            self._deliver(w, h, state["buf"].raw[: w * h * 4])

        def on_error(event: Any) -> None:
            error.append("libvlc could not play the stream")
            ended.set()

        def on_end(event: Any) -> None:
            ended.set()

        setup_cb = _FormatCb(setup)
        mp.video_set_callbacks(lock, unlock, display, None)
        _set_format_callbacks(ctypes.c_void_p(int(mp._as_parameter_.value or 0)), setup_cb, None)
        events = mp.event_manager()
        kinds = {vlc.EventType.MediaPlayerEncounteredError: on_error,
                 vlc.EventType.MediaPlayerEndReached: on_end}
        for kind, fn in kinds.items():
            events.event_attach(kind, fn)
        media = instance().media_new(url)
        media.add_option(":network-caching=300")
        mp.set_media(media)
        # The callbacks and buffer are locals of this call, so they outlive mp.stop() below.
        try:
            if mp.play() != 0:
                raise FeedError("libvlc refused to start playing")
            started = time.monotonic()
            while not ended.wait(0.25):
                if self.stopped:
                    return
                if self.native_size is None:
                    size = mp.video_get_size(0)
                    if size and size[0] and size[1]:
                        self.native_size = (int(size[0]), int(size[1]))
                last = self.latest.received if self.latest is not None else None
                frames_this_session = last is not None and last >= started
                if not frames_this_session and time.monotonic() - started > OPEN_TIMEOUT_S:
                    raise FeedError(f"{self.label}: no picture within {OPEN_TIMEOUT_S:g} s")
                if frames_this_session and time.monotonic() - last > READ_TIMEOUT_S:  # type: ignore[operator]
                    raise FeedError(f"{self.label}: the picture froze")
            if error:
                raise FeedError(f"{self.label}: {error[0]}")
        finally:
            mp.stop()
            for kind in kinds:
                events.event_detach(kind)
            mp.set_media(None)
            media.release()
            _give_back(mp)
