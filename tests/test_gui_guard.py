"""The guard that keeps the desktop's GUI thread from waiting (tests/gui_guard.py) catches what
it must and nothing else: an SQLite statement or a sleep run by Qt on the GUI thread is caught;
the same work on a worker (``ui.tasks``) or in the test's own code is not."""

from __future__ import annotations

import sqlite3
import time

from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from tests import gui_guard
from ui import tasks


def test_the_guard_catches_sqlite_and_sleep_on_the_gui_thread_and_not_elsewhere(
        qtbot: QtBot) -> None:
    assert gui_guard.enabled[0], "the guard is off for a pytest-qt test"
    db = sqlite3.connect(":memory:")
    db.execute("SELECT 1")  # the test's own code: not the desktop's
    assert gui_guard.violations == []

    done: list[int] = []
    tasks.run(lambda: sqlite3.connect(":memory:").execute("SELECT 2").fetchone()[0],
              done.append, lambda e: None)  # a worker: allowed
    qtbot.waitUntil(lambda: done == [2], timeout=5000)
    assert gui_guard.violations == []

    QTimer.singleShot(0, lambda: db.execute("SELECT 3"))  # Qt runs it on the GUI thread
    QTimer.singleShot(0, lambda: time.sleep(0.01))
    qtbot.wait(100)
    caught = list(gui_guard.violations)
    gui_guard.violations.clear()  # caught on purpose: this test must not fail for it
    assert any(v.startswith("SQLite 'SELECT'") and "test_gui_guard.py" in v for v in caught), caught
    assert any(v.startswith("time.sleep") for v in caught), caught
