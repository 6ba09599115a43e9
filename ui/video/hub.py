"""Shared live feeds: one decoder per camera and stream, however many tiles show it.

The incident pane and a pop-out wall ask for the same camera as the main wall;
they get the running feed, so the picture is there at once and the camera serves
one stream, not three. Opening goes through ``LiveView`` (permission, keyring,
audit) on a worker thread; the last release stops the feed and audits live.stop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject

from ui import tasks
from vms.devices.live import LiveStream, LiveView
from vms.errors import PermissionDenied, VmsError
from vms.media.feed import Feed
from vms.retry import Backoff

log = logging.getLogger(__name__)


@dataclass(eq=False)
class FeedHandle:
    device_id: int
    quality: str
    feed: Feed | None = None
    error: str | None = None  # why it could not be opened (permission, no stream...)
    denied: bool = False  # ...because this user may not view this camera
    released: bool = False


@dataclass(eq=False)
class _Entry:
    key: tuple[int, str]
    handles: list[FeedHandle] = field(default_factory=list)
    feed: Feed | None = None
    stream: LiveStream | None = None
    error: str | None = None
    denied: bool = False


class FeedHub(QObject):
    def __init__(self, live: LiveView, feed_class: type[Feed], parent: QObject | None = None,
                 backoff: Callable[[], Backoff] = Backoff) -> None:
        super().__init__(parent)
        self.live = live
        self.feed_class = feed_class
        self.backoff = backoff
        self._entries: dict[tuple[int, str], _Entry] = {}

    def acquire(self, device_id: int, quality: str, purpose: str | None = None) -> FeedHandle:
        """``purpose``: said in the audit when this acquire opens the stream (a stream kept
        ready for a call is not one someone watched)."""
        key = (device_id, quality)
        handle = FeedHandle(device_id, quality)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(key)
            tasks.run(lambda: self.live.open(device_id, quality, purpose=purpose),
                      lambda s: self._opened(entry, s), lambda e: self._failed(entry, e))
        entry.handles.append(handle)
        handle.feed, handle.error, handle.denied = entry.feed, entry.error, entry.denied
        return handle

    def release(self, handle: FeedHandle) -> None:
        if handle.released:
            return
        handle.released = True
        entry = self._entries.get((handle.device_id, handle.quality))
        if entry is None or handle not in entry.handles:
            return
        entry.handles.remove(handle)
        if not entry.handles:
            self._close(entry)

    def running(self, device_id: int, quality: str) -> bool:
        """Whether a stream is already open (and so has, or will soon have, a picture)."""
        entry = self._entries.get((device_id, quality))
        return entry is not None and entry.feed is not None

    def feeds(self) -> list[Feed]:
        return [e.feed for e in self._entries.values() if e.feed is not None]

    def shutdown(self, wait: float = 5.0) -> list[Feed]:
        """Stop every feed; wait up to ``wait`` seconds in all (not each) for their threads.
        Signing out passes 0: a stopped feed ends by itself, and the next user's wall does
        not need it gone; quitting waits, so FFmpeg is not mid-read as the process exits."""
        entries = list(self._entries.values())
        for e in entries:
            for h in e.handles:
                h.released = True
            e.handles.clear()
            self._close(e, audit_in_background=False)
        deadline = time.monotonic() + wait
        for e in entries:
            if e.feed is not None and wait > 0:
                e.feed.join(max(0.0, deadline - time.monotonic()))
        # still ending (a read that has not given up yet): the caller may wait at exit
        return [e.feed for e in entries if e.feed is not None and not e.feed.join(0)]

    # -- internals -----------------------------------------------------------------
    def _opened(self, entry: _Entry, stream: LiveStream) -> None:
        if self._entries.get(entry.key) is not entry:  # everyone let go meanwhile
            tasks.run(lambda: self.live.close(stream), lambda _: None,
                      tasks.ignored("a closed stream was not audited"))
            return
        feed = self.feed_class(stream.uri, stream.user, stream.password,
                               label=f"{stream.name} ({stream.quality})",
                               backoff=self.backoff(), allow_basic=stream.allow_basic)
        feed.start()
        entry.feed, entry.stream = feed, stream
        for h in entry.handles:
            h.feed = feed

    def _failed(self, entry: _Entry, exc: BaseException) -> None:
        entry.error = str(exc) if isinstance(exc, VmsError) else f"{type(exc).__name__}: {exc}"
        entry.denied = isinstance(exc, PermissionDenied)
        for h in entry.handles:
            h.error, h.denied = entry.error, entry.denied
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]  # the next acquire tries again

    def _close(self, entry: _Entry, audit_in_background: bool = True) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
        if entry.feed is not None:
            entry.feed.stop()
        stream = entry.stream
        if stream is not None:
            if audit_in_background:
                tasks.run(lambda: self.live.close(stream), lambda _: None,
                      tasks.ignored("a closed stream was not audited"))
            else:
                try:
                    self.live.close(stream)
                except VmsError as exc:  # the stream is closed; only its audit entry failed
                    log.warning("a closed stream was not audited: %s", exc)
