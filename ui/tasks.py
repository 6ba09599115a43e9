"""The one sanctioned way to run work off the GUI thread (after Anki's background ops).

``run(fn, on_done, on_error)`` runs ``fn`` on Qt's global thread pool and calls
``on_done(result)`` or ``on_error(exc)`` back on the GUI thread; ``watch`` does
the same for a future from the core loop. Widgets never create threads of their own.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from shiboken6 import isValid

from vms.media.worker import StreamWorker


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn = fn
        self.relay = relay

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:
            self._emit(self.relay.failed, exc)
        else:
            self._emit(self.relay.done, result)

    def _emit(self, signal: Any, value: Any) -> None:
        if not isValid(self.relay):
            return  # the application is shutting down: nobody is left to tell
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


_live: set[_Relay] = set()


def _relay(on_done: Callable[[Any], None], on_error: Callable[[BaseException], None],
           owner: QObject | None = None) -> _Relay:
    relay = _Relay()  # created on the GUI thread, so its signals are delivered there
    _live.add(relay)

    def finish(cb: Callable[[Any], None], value: Any) -> None:
        _live.discard(relay)
        if owner is not None and not isValid(owner):
            return  # the widget the callbacks (closures) belong to was closed meanwhile
        bound = getattr(cb, "__self__", None)
        if isinstance(bound, QObject) and not isValid(bound):
            return  # the widget that asked was closed while the work ran
        cb(value)

    relay.done.connect(lambda r: finish(on_done, r))
    relay.failed.connect(lambda e: finish(on_error, e))
    return relay


# Most background work waits on the network or a camera (a PTZ preset reached, an RTSP
# stream opened, up to their timeouts), not on the CPU. Qt's default pool has one thread per
# core, two on a control-room PC: two such waits would queue an operator's "close call"
# behind them for seconds. Waiting threads cost little, so the pool is wider than the CPU.
MIN_THREADS = 8


def _pool() -> QThreadPool:
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < MIN_THREADS:
        pool.setMaxThreadCount(MIN_THREADS)
    return pool


def ignored(why: str) -> Callable[[BaseException], None]:
    """An ``on_error`` for work whose failure the person need not act on: logged with the
    reason it is safe to carry on (``why``), never dropped in silence."""
    def note(exc: BaseException) -> None:
        logging.getLogger("ui.tasks").warning("%s (%s: %s)", why, type(exc).__name__, exc)
    return note


def run(fn: Callable[[], Any], on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None], owner: QObject | None = None) -> None:
    """``owner``: the widget closures passed as callbacks work on; once it is deleted they
    are not called (a bound method's own widget is checked without it)."""
    _pool().start(_Task(fn, _relay(on_done, on_error, owner)))


def watch(future: concurrent.futures.Future[Any], on_done: Callable[[Any], None],
          on_error: Callable[[BaseException], None]) -> None:
    """Call back on the GUI thread when a core-loop future finishes (no thread held waiting)."""
    relay = _relay(on_done, on_error)

    def done(f: concurrent.futures.Future[Any]) -> None:
        exc = f.exception() if not f.cancelled() else concurrent.futures.CancelledError()
        if exc is not None:
            relay.failed.emit(exc)
        else:
            relay.done.emit(f.result())
    future.add_done_callback(done)


def wait_all(msecs: int = 5000) -> bool:
    return QThreadPool.globalInstance().waitForDone(msecs)


# What a signed-out session left still ending: a stream whose read has not given up yet, a
# camera connection closing on the core loop. Signing out does not wait for them; quitting
# does, once, for all of them together.
Leftover = StreamWorker | concurrent.futures.Future[Any]


def wait_for(leftovers: list[Leftover], seconds: float) -> None:
    """Wait up to ``seconds`` in all for ``leftovers`` to end (at exit, never at sign-out)."""
    deadline = time.monotonic() + seconds
    for item in leftovers:
        left = max(0.0, deadline - time.monotonic())
        if isinstance(item, concurrent.futures.Future):
            # its failure was logged by whoever made it; here only its end matters
            with contextlib.suppress(Exception):
                item.result(left)
        else:
            item.join(left)
