"""The guard that keeps the desktop's GUI thread from waiting (tests/gui_guard.py) catches what
it must and nothing else: the product's SQLite statement run by Qt on the GUI thread is caught;
the same work on a worker (``ui.tasks``), or the test's own code (even from a Qt timer), is not."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from tests import gui_guard
from ui import tasks
from vms.recording.index import RecordingIndex


def test_the_guard_catches_the_products_sqlite_on_the_gui_thread_and_nothing_else(
        qtbot: QtBot, tmp_path: Path) -> None:
    assert gui_guard.enabled[0], "the guard is off for a pytest-qt test"
    db = sqlite3.connect(":memory:")
    db.execute("SELECT 1")  # the test's own code: not the desktop's
    assert gui_guard.violations == []

    done: list[int] = []
    tasks.run(lambda: sqlite3.connect(":memory:").execute("SELECT 2").fetchone()[0],
              done.append, lambda e: None)  # a worker: allowed
    qtbot.waitUntil(lambda: done == [2], timeout=5000)
    assert gui_guard.violations == []

    index = RecordingIndex(tmp_path / "recordings.db")
    QTimer.singleShot(0, lambda: index.segments())  # the product's read, run by Qt: caught
    QTimer.singleShot(0, lambda: db.execute("SELECT 3"))  # the test's own: not
    QTimer.singleShot(0, lambda: time.sleep(0.01))  # the test's own: not
    qtbot.wait(100)
    caught = list(gui_guard.violations)
    gui_guard.violations.clear()  # caught on purpose: this test must not fail for it
    assert caught and all("recording/index.py" in v and "segments" in v for v in caught), caught
    index.close()


def test_a_modal_nobody_answers_is_closed_and_named(qtbot: QtBot) -> None:
    """The hang guard (conftest ``no_endless_modal``): a message box whose ``exec()`` nobody
    answers, with a menu open over it, is closed, and its words are given for the failure."""
    from PySide6.QtWidgets import QMenu, QMessageBox

    box = QMessageBox(QMessageBox.Icon.Question, "Blue light still on", "The blue light is on.")
    menu = QMenu(box)
    menu.addAction("Copy")
    closed: list[str] = []
    QTimer.singleShot(50, lambda: menu.popup(box.pos()))
    QTimer.singleShot(300, lambda: closed.extend(gui_guard.close_modals()))
    box.exec()  # returns only because the guard closed it
    assert closed[-1] == "QMessageBox: Blue light still on | The blue light is on.", closed
    assert len(closed) == 2 and closed[0].startswith("QMenu"), closed
    assert gui_guard.close_modals() == []
