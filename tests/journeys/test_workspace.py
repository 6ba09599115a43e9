"""Journey: an operator lays out a workspace (the call list floated off to one side, the site
map open beside the wall), signs out, signs in and finds it as left; a window on a screen that
is no longer there comes back onto one that is (issue 26: "a workspace restored at sign-in";
"a screen that disappears brings its windows back to a remaining one").

One offscreen 1920x1080 screen: a window moved past its right edge stands for one left on a
monitor that was unplugged.

Set-up outside the windows: the simulated site with cam1 registered, an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, shown, signing_in
from ui.desktop import Desktop
from ui.dialogs.sign_in import LockDialog, SignInDialog
from ui.features.workspace import on_a_screen
from ui.maps.window import MapWindow
from vms.access.roles import Role
from vms.profile import Profile

OPERATOR, OPERATOR_PW = "wren-workspace", "wren-arranges-42"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam1",)) as both:
        yield both


def near(w: QWidget, x: int, y: int) -> bool:
    pos = w.pos()
    return abs(pos.x() - x) <= 40 and abs(pos.y() - y) <= 40


@pytest.mark.timeout(240)
def test_a_workspace_comes_back_at_sign_in_and_off_screen_windows_come_back(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    _sim, profile = site
    desktop, _win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR,
                                   OPERATOR_PW)
    try:
        walk(qtbot, desktop)
    finally:
        desktop._end_session("journey over", wait=0.0)


def walk(qtbot: QtBot, desktop: Desktop) -> None:
    win = desktop.window
    assert win is not None and win.calls_dock is not None
    screen = QGuiApplication.primaryScreen().availableGeometry()

    # -- laid out: the call list floated (its title bar's float button), the map by Ctrl+G --
    dock = win.calls_dock
    float_button = dock.findChild(QAbstractButton, "qt_dockwidget_floatbutton")
    assert float_button is not None and float_button.isVisible(), "the call list cannot float"
    float_button.click()
    qtbot.waitUntil(dock.isFloating, timeout=5000)
    dock.move(1450, 120)
    dock.resize(420, 500)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    QTest.keyClick(win, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: shown(MapWindow) is not None, timeout=5000)
    themap = shown(MapWindow)
    assert themap is not None
    themap.showNormal()
    themap.resize(900, 560)
    themap.move(120, 420)
    qtbot.wait(200)

    # -- Account > Sign out, and in again: all where it was -----------------------------------
    answer(SignInDialog, signing_in(OPERATOR, OPERATOR_PW), win.sign_out.trigger)
    assert shown(MapWindow) is None or shown(MapWindow) is not themap
    win2 = desktop.window
    assert win2 is not None and win2 is not win and win2.calls_dock is not None
    qtbot.waitUntil(lambda: win2.calls_dock is not None and win2.calls_dock.isFloating(),
                    timeout=10000)
    assert near(win2.calls_dock, 1450, 120), win2.calls_dock.pos()
    qtbot.waitUntil(lambda: shown(MapWindow) is not None, timeout=10000)
    map2 = shown(MapWindow)
    assert map2 is not None and map2 is not themap
    assert near(map2, 120, 420) and abs(map2.width() - 900) <= 40, map2.geometry()

    # -- the map's monitor unplugged while signed in: it comes back -------------------------
    map2.move(screen.right() + 300, 200)
    assert not on_a_screen(map2)
    assert desktop.workspace is not None
    desktop.workspace.watch.screen_removed(QGuiApplication.primaryScreen())
    assert on_a_screen(map2), map2.geometry()
    assert "no longer there" in win2.statusBar().currentMessage()

    # -- and unplugged between shifts: the map off every screen, the desk locked (which
    #    closes the map), signed out from the lock screen ---------------------------------
    map2.move(screen.right() + 300, 200)

    def sign_out_at_lock(dlg: LockDialog) -> None:
        dlg.sign_out.click()

    answer(LockDialog, sign_out_at_lock,
           lambda: answer(SignInDialog, signing_in(OPERATOR, OPERATOR_PW),
                          win2.lock_now.trigger))
    qtbot.waitUntil(lambda: shown(MapWindow) is not None, timeout=10000)
    map3 = shown(MapWindow)
    assert map3 is not None and on_a_screen(map3), map3.geometry()
    assert screen.contains(map3.frameGeometry().topLeft() + QPoint(10, 10))
