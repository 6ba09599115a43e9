"""Journey (issue 26): "a call arriving while the wall is on another screen", on two real X
screens. An operator keeps the main window (the call list docked in it) on the right-hand
monitor and pops the wall out onto the left one, fullscreen. A Help Point is pressed: the call
opens on the right, beside the call list, without taking the keyboard; the wall on the left
stays fullscreen, keeps playing and flashes the Help Point's tile. F2 takes the call, F4 closes
it. A second wall of one camera is popped out and moved beside the main window. Signed out and
in again, both walls are back where they were (the left one fullscreen) with their cameras, and
the main window on the right. That second wall made fullscreen, a call leaves its fullscreen
(it is on the call's monitor) and not the left one's.

Not collected by itself (its name does not start with ``test_``): ``test_two_screens.py`` runs
it in a pytest of its own, inside an Xvfb with two screens and Qt's xcb platform. With one
screen it fails; it never skips.

Set-up outside the windows: the simulated site with cam1 and hp1 registered, an operator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, press, signing_in
from tests.wall_helpers import pixels
from ui.desktop import Desktop
from ui.dialogs.sign_in import SignInDialog
from ui.video.tile import ALARM_WAITING
from ui.wall.pane import PopOut
from vms.access.roles import Role
from vms.profile import Profile

OPERATOR, OPERATOR_PW = "tomos-two-screens", "tomos-watches-42"
LEFT, RIGHT = 0, 1  # the X screens :N.0 and :N.1


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam1", "hp1")) as both:
        yield both


def screenshot(screen: QScreen, name: str) -> None:
    """The whole monitor as a person sees it (for docs/, when ``VMS_SCREENSHOT_DIR`` is set)."""
    folder = os.environ.get("VMS_SCREENSHOT_DIR")
    if folder:
        assert screen.grabWindow(0).save(str(Path(folder) / name))


def on(w: QWidget) -> int:
    """Which monitor ``w`` is on: 0 the left, 1 the right (Qt may replace a screen's object
    when X tells it the screens changed, so they are told apart by their order)."""
    return QGuiApplication.screens().index(w.screen())


def lit(index: int) -> bool:
    """Something is drawn on that monitor (not a black, empty X screen)."""
    return bool(pixels(QGuiApplication.screens()[index].grabWindow(0).toImage()).std() > 10)


def frames(pop: PopOut) -> int:
    return sum(t.shown for t in pop.wall.tiles)


@pytest.mark.timeout(300)
def test_a_call_arrives_while_the_wall_is_on_the_other_screen(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    screens = QGuiApplication.screens()
    assert QGuiApplication.platformName() == "xcb" and len(screens) == 2, \
        f"needs two X screens, has {len(screens)} on {QGuiApplication.platformName()}: run it " \
        "through tests/journeys/test_two_screens.py"
    sim, profile = site
    hp1 = next(d.id for d in profile.registry.devices() if d.name == "hp1")
    desktop, _win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR,
                                   OPERATOR_PW)
    try:
        walk(qtbot, desktop, sim, hp1)
    finally:
        desktop._end_session("journey over", wait=0.0)


def walk(qtbot: QtBot, desktop: Desktop, sim: Sim, hp1: int) -> None:
    left, right = QGuiApplication.screens()
    win = desktop.window
    calls = desktop.calls
    assert win is not None and calls is not None

    # -- the main window on the right-hand monitor, the wall popped out onto the left -------
    win.setScreen(right)
    win.showMaximized()
    qtbot.waitUntil(lambda: on(win) == RIGHT and win.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: win.wall.ready and hp1 in win.wall.wall.state.tiles, timeout=20000)
    win.wall.popout_button.click()
    qtbot.waitUntil(lambda: any(p.isVisible() for p in win.wall.popouts), timeout=5000)
    pop = win.wall.popouts[-1]
    assert on(pop) == LEFT, "the wall popped out onto the main window's own monitor"
    QTest.keyClick(pop.wall, Qt.Key.Key_F)
    qtbot.waitUntil(pop.isFullScreen, timeout=5000)
    qtbot.waitUntil(lambda: frames(pop) > 20, timeout=20000)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    win.cameras.setFocus()
    had_keys = QApplication.focusWidget()
    assert had_keys is not None
    screenshot(left, "two-screens-left-idle.png")

    # -- a press: the call opens beside the call list, the wall plays on -----------------
    sim.cli("press", "hp1")
    qtbot.waitUntil(lambda: any(p.isVisible() for p in calls.panes.values()), timeout=15000)
    sim.cli("release", "hp1")
    pane = next(iter(calls.panes.values()))
    assert on(pane) == RIGHT, "the call opened on the monitor the wall is on"
    assert right.availableGeometry().contains(pane.frameGeometry()), pane.frameGeometry()
    qtbot.wait(500)
    assert QApplication.activeWindow() is win and QApplication.focusWidget() is had_keys, \
        "the call that arrived took the keyboard"
    assert pop.isVisible() and pop.isFullScreen() and on(pop) == LEFT, \
        "the wall on the other monitor left fullscreen for a call that is not on it"
    flashing = [t for t in pop.wall.tiles if t.device_id == hp1]
    assert flashing and all(t.alarm == ALARM_WAITING for t in flashing)
    before = frames(pop)
    qtbot.waitUntil(lambda: frames(pop) > before + 10, timeout=10000)  # still playing
    screenshot(left, "two-screens-left-call.png")
    screenshot(right, "two-screens-right-call.png")

    # -- F2 takes it (in its window, on the right); F4 with an outcome closes it --------------
    press(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: pane.incident.state == "accepted", timeout=10000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is pane, timeout=5000)
    assert pop.isFullScreen() and on(pop) == LEFT
    press(Qt.Key.Key_F4)
    outcomes = pane.record.outcome
    qtbot.waitUntil(lambda: outcomes.view().isVisible(), timeout=5000)
    popup: QWidget = outcomes.view()
    QTest.keyClick(popup, Qt.Key.Key_Down)
    QTest.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not outcomes.view().isVisible(), timeout=5000)
    press(Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: not calls.panes, timeout=10000)
    tiles = list(pop.wall.state.tiles)

    # -- a second wall, of one camera, in a window beside the main one on the right --------
    box = win.wall.layout_box
    box.setCurrentIndex(box.findData("1"))
    box.activated.emit(box.currentIndex())  # as a choice in the list does
    qtbot.waitUntil(lambda: win.wall.wall.state.layout == "1", timeout=5000)
    win.wall.popout_button.click()
    qtbot.waitUntil(lambda: len(win.wall.open_popouts()) == 2, timeout=5000)
    beside = win.wall.open_popouts()[-1]
    one = list(beside.wall.state.tiles)
    assert beside.wall.state.layout == "1" and one != tiles
    beside.setScreen(QGuiApplication.screens()[RIGHT])  # dragged there (another X screen)
    beside.showNormal()
    beside.setGeometry(1200, 600, 640, 400)
    qtbot.waitUntil(lambda: on(beside) == RIGHT and beside.isVisible(), timeout=5000)

    # -- Account > Sign out, and in again: both walls back where they were ---------------
    answer(SignInDialog, signing_in(OPERATOR, OPERATOR_PW), win.sign_out.trigger)
    assert not pop.isVisible() and not beside.isVisible()
    win2 = desktop.window
    calls2 = desktop.calls
    assert win2 is not None and win2 is not win and calls2 is not None
    qtbot.waitUntil(lambda: len([p for p in win2.wall.open_popouts() if p.isVisible()]) == 2,
                    timeout=20000)
    pop2, beside2 = sorted(win2.wall.open_popouts(), key=lambda p: len(p.wall.tiles),
                           reverse=True)
    qtbot.waitUntil(pop2.isFullScreen, timeout=5000)
    assert (on(pop2), on(win2)) == (LEFT, RIGHT), \
        f"the wall on screen {on(pop2)}, the main window on screen {on(win2)}"
    assert on(beside2) == RIGHT and not beside2.isFullScreen(), \
        "the second wall did not come back on the monitor it was moved to"
    assert win2.isVisible(), "the main window was put back on its monitor, but not shown"
    qtbot.waitUntil(lambda: lit(RIGHT) and lit(LEFT), timeout=10000)
    assert (pop2.wall.state.tiles, beside2.wall.state.tiles) == (tiles, one)
    qtbot.waitUntil(lambda: win2.wall.ready, timeout=10000)
    assert win2.wall.wall.state.layout == "1", "the wall's layout, chosen just before signing " \
        "out, was lost"
    qtbot.waitUntil(lambda: frames(pop2) > 10 and frames(beside2) > 5, timeout=20000)
    screenshot(QGuiApplication.screens()[LEFT], "two-screens-left-restored.png")
    screenshot(QGuiApplication.screens()[RIGHT], "two-screens-right-restored.png")

    # -- the wall beside the call list made fullscreen: a call leaves it, not the other ----
    QTest.keyClick(beside2.wall, Qt.Key.Key_F)
    qtbot.waitUntil(beside2.isFullScreen, timeout=5000)
    sim.cli("press", "hp1")
    qtbot.waitUntil(lambda: any(p.isVisible() for p in calls2.panes.values()), timeout=15000)
    sim.cli("release", "hp1")
    pane2 = next(iter(calls2.panes.values()))
    assert on(pane2) == RIGHT
    qtbot.waitUntil(lambda: not beside2.isFullScreen(), timeout=5000)
    assert pop2.isFullScreen() and on(pop2) == LEFT, "a call left fullscreen on the other monitor"
