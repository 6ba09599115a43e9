"""A guard for "no blocking call on the GUI thread" (issue 24): while Qt delivers an event or
a timer on the GUI thread, an SQLite statement, a socket connect/send or ``time.sleep`` is a
violation when the product's code (``vms/``, ``ui/``) makes it. Test code itself (which also
runs on that thread, between events or from a dialog's timer) is not watched: only what the
desktop does when Qt calls it.

SQLite statements are seen through each connection's trace callback, set as the connection is
made (``sqlite3.connect`` wrapped: the audit event comes before the connection can take one);
sockets through audit events; ``time.sleep`` wrapped.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMessageBox, QWidget

_MAIN = threading.main_thread()
_state = threading.local()
violations: list[str] = []
enabled = [False]


def _dispatching() -> bool:
    return enabled[0] and threading.current_thread() is _MAIN and getattr(_state, "depth", 0) > 0


def _where() -> str:
    frames = [f for f in traceback.extract_stack()[:-3]
              if "/site-packages/" not in f.filename and f.filename != __file__
              and "/lib/python" not in f.filename and "/" in f.filename]
    return " <- ".join(f"{'/'.join(f.filename.rsplit('/', 2)[-2:])}:{f.lineno} {f.name}"
                       for f in reversed(frames[-8:]))


_REPO = Path(__file__).resolve().parents[1]
_PRODUCT = (str(_REPO / "vms") + "/", str(_REPO / "ui") + "/")


def _by_the_product() -> bool:
    """Whether the nearest code of ours on the stack is the product's (``vms/``, ``ui/``), not
    the test's own (a test that runs the simulator's command from a dialog's timer)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != __file__ and name.startswith(str(_REPO) + "/"):
            return name.startswith(_PRODUCT)
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _record(what: str) -> None:
    if _by_the_product():
        violations.append(f"{what} at {_where()}")


def _statement(sql: str) -> None:
    if _dispatching():
        _record(f"SQLite {sql.split(None, 1)[0] if sql.strip() else sql!r}")


_BLOCKING = {"socket.connect", "socket.sendto", "socket.getaddrinfo"}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _BLOCKING and _dispatching():
        _record(event)


sys.addaudithook(_audit)
_connect = sqlite3.connect


def _traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    conn = _connect(*args, **kwargs)
    conn.set_trace_callback(_statement)
    return conn


sqlite3.connect = _traced_connect  # type: ignore[assignment]
_sleep = time.sleep


def _watched_sleep(seconds: float) -> None:  # Python 3.11 has no audit event for it
    if seconds > 0 and _dispatching():
        _record(f"time.sleep({seconds:g})")
    _sleep(seconds)


time.sleep = _watched_sleep


class GuardedApplication(QApplication):
    """Counts how deep Qt's event delivery is on the GUI thread."""

    def notify(self, receiver: QObject, event: QEvent) -> bool:
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            return super().notify(receiver, event)
        finally:
            _state.depth -= 1


def _words(w: QWidget) -> str:
    words = [w.windowTitle()]
    if isinstance(w, QMessageBox):
        words.append(w.text())
    else:
        words += [lab.text() for lab in w.findChildren(QLabel) if lab.isVisible() and lab.text()]
    return f"{type(w).__name__}: " + " | ".join(t for t in words if t)[:400]


def close_modals() -> list[str]:
    """Close every open modal dialog and popup menu (their ``exec()`` returns), innermost
    first; what each said, for the failure that follows."""
    closed: list[str] = []
    for _ in range(20):
        w: QWidget | None = QApplication.activePopupWidget() or QApplication.activeModalWidget()
        if w is None:
            w = next((t for t in QApplication.topLevelWidgets() if isinstance(t, QDialog)
                      and t.isModal() and t.isVisible()), None)
        if w is None:
            break
        closed.append(_words(w))
        if isinstance(w, QDialog):
            w.done(0)
        else:
            w.close()
    return closed
