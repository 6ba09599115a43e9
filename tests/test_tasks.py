"""Background work: tasks waiting on cameras must not hold up an operator's next action."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from ui import tasks


def test_an_action_runs_while_several_tasks_wait_on_slow_devices(qtbot: QtBot) -> None:
    release = threading.Event()
    finished: list[str] = []
    try:
        for i in range(4):  # four presets being reached, streams being opened...
            tasks.run(lambda: release.wait(30), lambda _r, i=i: finished.append(f"wait{i}"),
                      lambda e: None)
        tasks.run(lambda: "closed", finished.append, lambda e: None)  # ...then "close call"
        qtbot.waitUntil(lambda: "closed" in finished, timeout=3000)
        assert not any(f.startswith("wait") for f in finished)
    finally:
        release.set()
    qtbot.waitUntil(lambda: len(finished) == 5, timeout=5000)


def test_closures_of_a_closed_window_are_not_called_once_it_is_deleted(qtbot: QtBot) -> None:
    """A dialog closed (and deleted with its parent) while its work ran: the closure that
    would fill its labels is dropped, instead of raising on a deleted widget."""
    release = threading.Event()
    called: list[str] = []
    gone, kept = QLabel(), QLabel()
    tasks.run(release.wait, lambda _r: called.append(gone.text()), lambda e: None, owner=gone)
    tasks.run(release.wait, lambda _r: called.append("kept"), lambda e: None, owner=kept)
    with qtbot.waitSignal(gone.destroyed, timeout=3000):
        gone.deleteLater()
    release.set()
    qtbot.waitUntil(lambda: called == ["kept"], timeout=5000)
    qtbot.wait(200)
    assert called == ["kept"]
    kept.deleteLater()
