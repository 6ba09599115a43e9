"""One thread reading one camera stream: open, read, reconnect with backoff, stop.

Live video (``vms.media.feed``), listening to a caller (``vms.audio.listen``) and the
recorder (``vms.recording.recorder``) differ only in what they do with what they read.
The loop that owns the thread, the retry policy and the words for a stream's state is
here, once, so a tile, the listen box and ``vms record`` say the same thing about the
same failure. Nothing here touches Qt: the GUI reads ``status`` from its own timer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum

from vms.errors import AuthRefused, FeedError, StreamUnavailable
from vms.media.errors import credentials_refused, explain
from vms.retry import Backoff

STABLE_S = 10.0  # a session that stayed live this long resets the backoff
OFFLINE_AFTER = 3  # consecutive failed attempts before a stream is called offline
AUTH_RETRY_S = 60.0  # wrong credentials will not fix themselves; try now and then


class StreamState(StrEnum):
    """The one set of words for a stream's state, in every reader and every window."""

    CONNECTING = "connecting"
    LIVE = "live"
    RETRYING = "retrying"  # lost; the next attempt is at ``retry_at``
    OFFLINE = "offline"  # several attempts in a row failed; still retried
    AUTH_FAILED = "wrong credentials"  # retried rarely: they will not fix themselves
    UNAVAILABLE = "unavailable"  # the stream lacks what the reader needs; not retried
    STOPPED = "stopped"


@dataclass(frozen=True)
class StreamStatus:
    state: StreamState
    reason: str = ""
    retry_at: float | None = None  # time.monotonic() of the next attempt

    def countdown(self, now: float | None = None) -> int | None:
        if self.retry_at is None:
            return None
        return max(0, round(self.retry_at - (now if now is not None else time.monotonic())))


class StreamWorker:
    """Base of every stream reader; one daemon thread from ``start`` until ``stop``.

    Subclasses implement ``_session`` (connect, read until the stream ends, return or
    raise) and call ``_went_live`` when media arrives. ``_session`` must notice ``stopped``
    by itself (each packet, or a bounded read): ``stop`` never waits for it.
    """

    ended = "the stream ended"  # the reason when a session returns without an error
    what = "stream"  # the stream's kind in a failure's sentence ("audio stream")
    stable_s = STABLE_S
    offline_after: int | None = OFFLINE_AFTER  # None: never called offline, only retrying

    def __init__(self, label: str, backoff: Backoff | None = None) -> None:
        self.label = label
        self.backoff = backoff or Backoff()
        self.status = StreamStatus(StreamState.CONNECTING)
        self.sessions = 0  # connections that went live
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the owner's side ------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.thread_name} {self.label}",
                                        daemon=True)
        self._thread.start()

    thread_name = "stream"

    def stop(self) -> None:
        """Ask the worker to end; returns at once (the GUI thread must not wait on the network)."""
        self._stop.set()
        self._report(StreamState.STOPPED)

    def join(self, timeout: float = 10.0) -> bool:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # -- subclasses ------------------------------------------------------------------------
    def _session(self) -> None:
        raise NotImplementedError

    def _went_live(self) -> None:
        """Media arrived: the first call of a session says so."""
        if self.status.state is not StreamState.LIVE:
            self.sessions += 1
            self._report(StreamState.LIVE)

    def _report(self, state: StreamState, reason: str = "", retry_at: float | None = None
                ) -> None:
        """Where the state goes; a subclass that keeps a richer status overrides it."""
        self.status = StreamStatus(state, reason, retry_at)

    def _ready(self) -> bool:
        """Before each attempt; False skips it (the recorder waits for disk space here)."""
        return True

    def _explain(self, exc: Exception) -> str | None:
        """A failure in one plain sentence; None when the subclass handled it itself (no
        backoff, no retry state: the loop goes straight round)."""
        return explain(exc, self.label, self.what)

    def _retrying(self, reason: str, delay: float) -> None:
        """A failed attempt, before the wait (the recorder opens its gap here)."""

    def _finished(self) -> None:
        """The thread's last act, after the loop (an unavailable stream keeps saying why)."""
        if self.status.state is not StreamState.UNAVAILABLE:
            self._report(StreamState.STOPPED)

    # -- the loop --------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if not self._ready():
                continue
            self._report(StreamState.CONNECTING)
            started, sessions = time.monotonic(), self.sessions
            auth = False
            try:
                self._session()
                reason: str | None = self.ended
            except StreamUnavailable as exc:  # said, and not tried again
                self._report(StreamState.UNAVAILABLE, str(exc))
                break
            except AuthRefused as exc:
                reason, auth = str(exc), True
            except FeedError as exc:  # already a plain sentence
                reason = str(exc)
            except Exception as exc:  # every failure is retried, and said plainly
                reason, auth = self._explain(exc), credentials_refused(exc)
            if self._stop.is_set():
                break
            if reason is None:
                continue
            was_live = self.sessions > sessions
            if was_live and time.monotonic() - started >= self.stable_s:
                self.backoff.reset()
            failures = 0 if was_live else failures + 1
            if auth:
                delay, state = AUTH_RETRY_S, StreamState.AUTH_FAILED
            else:
                delay = self.backoff.next_delay()
                state = (StreamState.OFFLINE if self.offline_after is not None
                         and failures >= self.offline_after else StreamState.RETRYING)
            self._retrying(reason, delay)
            self._report(state, reason, time.monotonic() + delay)
            self._stop.wait(delay)
        self._finished()
