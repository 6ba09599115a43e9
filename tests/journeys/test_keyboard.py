"""Journey: a night-shift operator works from the keyboard (issue 26, keyboard first).

A Help Point and a PTZ camera on the simulated site. The operator signs in and reads the sheet
of keys (F1): it lists every key the desktop binds. With the keyboard only, the operator puts
the camera on the wall from the camera tree (Enter), changes the layout (Ctrl+digit), steps
between tiles ([ and ], also with a tile enlarged), saves a PTZ preset, moves away (arrows) and
comes back to it (Alt+1). A press arrives: its window opens without taking the keyboard; F2
accepts it; Ctrl+B switches the blue light on and off; Ctrl+M mutes the caller; Ctrl+T talks
until pressed again; F3 holds the call and F2 takes it back; F4 with no outcome opens the list
of outcomes, the arrows and Enter choose one, and F4 closes the call.

Set-up outside the windows: the simulated site, its devices registered and the operator's
account (other journeys do those through the windows), and the microphone: synthesised
speech from a file, as Xvfb has no sound card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.helppoint_helpers import speech
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import at_desk, look_at, press
from ui import keys
from ui.calls.incident_pane import IncidentPane
from ui.dialogs.key_sheet import KeySheet
from ui.features.keys import KeysFeature
from vms.access.roles import Role
from vms.profile import Profile

SITE = """
[[device]]
name = "hp-market"
kind = "help_point"
location = "Market Square"

[[device]]
name = "cam-gate"
kind = "camera"
location = "Park Gate"
ptz = true
"""
OPERATOR, OPERATOR_PW = "kofi-operator", "keys-not-mouse-7"
CTRL, ALT, NONE = (Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier,
                   Qt.KeyboardModifier.NoModifier)


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, config=SITE,
                        users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("hp-market", "cam-gate")) as both:
        yield both


def test_a_night_shift_from_the_keyboard(qtbot: QtBot, site: tuple[Sim, Profile],
                                         site_of: Callable[..., Any], tmp_path: Path) -> None:
    sim, profile = site
    desktop, win, link = at_desk(profile, site_of(profile), OPERATOR, OPERATOR_PW)
    assert desktop.calls is not None and desktop.live is not None
    calls, wall, ptz = desktop.calls, desktop.live.pane.wall, desktop.live.pane.ptz
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=10000)

    # -- F1: the sheet lists every key the desktop binds ----------------------------------------
    press(Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: any(isinstance(w, KeySheet) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=5000)
    sheet = next(w for w in QApplication.topLevelWidgets() if isinstance(w, KeySheet))
    assert sheet.rows() == [(k.keys, k.does) for k in keys.SHEET]
    # Both ways: every shortcut the desktop binds is on the sheet, and every key on the sheet
    # is bound, by the keys feature or by the widget that handles it.
    feature = next(f for f in desktop.features if isinstance(f, KeysFeature))
    bound = set(feature.shortcuts)
    ranges = {keys.LAYOUT.keys: {f"Ctrl+{n}" for n in range(1, 10)},
              keys.PRESET.keys: {f"Alt+{n}" for n in range(1, 10)}}
    on_sheet = {k.keys for k in keys.SHEET if k.keys not in ranges}.union(*ranges.values())
    assert bound <= on_sheet, f"bound but not on the sheet: {bound - on_sheet}"
    by_widgets = {keys.PUSH_TO_TALK, keys.SELECT_TILE, keys.ENLARGE, keys.MOVE, keys.FULLSCREEN,
                  keys.TREE, keys.LOCK, keys.PLAYBACK, keys.MAP}  # key handlers, menu actions
    assert on_sheet - bound == {k.keys for k in by_widgets}, on_sheet - bound
    assert win.lock_now.shortcut().toString() == keys.LOCK.keys
    assert win.open_playback.shortcut().toString() == keys.PLAYBACK.keys
    assert win.open_maps.shortcut().toString() == keys.MAP.keys
    look_at(sheet, "journey-keys-sheet.png")
    qtbot.waitUntil(lambda: QApplication.activeWindow() is sheet, timeout=5000)
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not sheet.isVisible(), timeout=5000)

    # -- the wall: a camera from the tree (Enter), a layout, the tiles, a preset ----------------
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    tree = win.cameras.tree
    qtbot.waitUntil(lambda: bool(tree.model().match(
        tree.model().index(0, 0), Qt.ItemDataRole.DisplayRole, "cam-gate", 1,
        Qt.MatchFlag.MatchRecursive)), timeout=15000)
    tree.setFocus()
    press(Qt.Key.Key_2, CTRL)
    qtbot.waitUntil(lambda: wall.state.layout == "2x2", timeout=5000)
    found = tree.model().match(tree.model().index(0, 0), Qt.ItemDataRole.DisplayRole,
                               "cam-gate", 1, Qt.MatchFlag.MatchRecursive)
    tree.setCurrentIndex(found[0])
    gate = next(d.id for d in profile.registry.devices() if d.name == "cam-gate")
    before = list(wall.state.tiles)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: wall.state.tiles != before, timeout=5000)
    at = wall.selected  # where it went: the selected tile if empty, else the first empty one
    assert wall.state.tiles[at] == gate
    wall.setFocus()
    press(Qt.Key.Key_BracketRight)
    assert wall.selected == (at + 1) % 4
    press(Qt.Key.Key_BracketLeft)
    assert wall.selected == at and ptz.title.text() == "PTZ — cam-gate"
    press(Qt.Key.Key_Return)  # enlarge it; ] then shows the next camera enlarged, never a
    assert wall.enlarged == at  # hidden tile (the PTZ keys would steer a camera not on screen)
    press(Qt.Key.Key_BracketRight)
    assert wall.enlarged == wall.selected == (at + 1) % 4
    assert wall.tiles[wall.enlarged].isVisible() and not wall.tiles[at].isVisible()
    press(Qt.Key.Key_BracketLeft)
    press(Qt.Key.Key_Escape)
    assert wall.enlarged is None and wall.selected == at
    qtbot.waitUntil(ptz.preset_name.isEnabled, timeout=5000)
    ptz.preset_name.setFocus()
    QTest.keyClicks(ptz.preset_name, "Gate view")
    press(Qt.Key.Key_Tab)  # to Save preset
    assert QApplication.focusWidget() is ptz.save
    press(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: ptz.presets.count() == 1, timeout=10000)
    here = sim.live("cam-gate")["ptz"]
    wall.setFocus()
    QTest.keyPress(wall, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: sim.live("cam-gate")["ptz"]["moving"], timeout=10000)
    qtbot.wait(600)
    QTest.keyRelease(wall, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: not sim.live("cam-gate")["ptz"]["moving"], timeout=10000)
    assert sim.live("cam-gate")["ptz"]["pan"] < here["pan"] - 0.05
    press(Qt.Key.Key_1, ALT)
    qtbot.waitUntil(lambda: abs(sim.live("cam-gate")["ptz"]["pan"] - here["pan"]) < 0.01,
                    timeout=10000)
    assert "preset 1, Gate view" in win.statusBar().currentMessage()

    # -- a press: it rings without taking the keyboard; F2 takes it --------------------------
    press(Qt.Key.Key_F2)
    assert "No call is waiting" in win.statusBar().currentMessage()
    sim.cli("press", "hp-market")
    qtbot.waitUntil(lambda: any(p.isVisible() for p in calls.panes.values()), timeout=15000)
    sim.cli("release", "hp-market")
    pane: IncidentPane = next(iter(calls.panes.values()))
    qtbot.wait(400)
    assert QApplication.activeWindow() is win, "a call that arrives took the keyboard"
    press(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: pane.incident.state == "accepted", timeout=10000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is pane, timeout=5000)

    # -- the blue light, mute and talk, by keys from the call's window ------------------------
    press(Qt.Key.Key_B, CTRL)
    qtbot.waitUntil(lambda: sim.live("hp-market")["blue_light"] is True, timeout=10000)
    qtbot.waitUntil(lambda: "ON" in pane.light.state.text(), timeout=10000)
    press(Qt.Key.Key_M, CTRL)
    assert pane.listen.mute.isChecked()
    press(Qt.Key.Key_M, CTRL)
    assert not pane.listen.mute.isChecked()
    speech(tmp_path)
    pane.talk_box.mic_setting = f"file:{tmp_path / 'speech.wav'}"  # no sound card under Xvfb
    qtbot.waitUntil(lambda: "channel open" in pane.talk_box.state.text(), timeout=20000)
    handle = pane.talk_box.handle
    assert handle is not None
    press(Qt.Key.Key_T, CTRL)
    qtbot.waitUntil(lambda: pane.talk_box.talking and handle.samples_sent > 8000, timeout=10000)
    look_at(pane, "journey-keys-call.png")
    press(Qt.Key.Key_T, CTRL)
    assert not pane.talk_box.talking
    press(Qt.Key.Key_B, CTRL)
    qtbot.waitUntil(lambda: sim.live("hp-market")["blue_light"] is False, timeout=10000)
    qtbot.waitUntil(lambda: calls.service.relay_state(pane.incident.device_id) is False,
                    timeout=10000)  # the Help Point's own report of it, not only ours
    qtbot.waitUntil(lambda: not pane.light.on, timeout=5000)

    # -- hold and take back; close with the outcome chosen from the keyboard ------------------
    press(Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: pane.incident.state == "on_hold", timeout=10000)
    press(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: pane.incident.state == "accepted", timeout=10000)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is pane, timeout=5000)
    press(Qt.Key.Key_F4)
    outcomes = pane.record.outcome
    qtbot.waitUntil(lambda: outcomes.view().isVisible(), timeout=5000)
    assert pane.incident.state == "accepted"  # no outcome yet: nothing closed
    popup: QWidget = outcomes.view()
    QTest.keyClick(popup, Qt.Key.Key_Down)
    QTest.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not outcomes.view().isVisible(), timeout=5000)
    chosen = outcomes.currentData()
    assert chosen, "the arrows and Enter chose no outcome"
    iid = pane.incident.id
    press(Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: iid not in calls.panes, timeout=10000)
    closed = calls.service.queue.get(iid)
    assert (closed.state, closed.outcome, closed.owner) == ("closed", chosen, OPERATOR)
    desktop._end_session("journey over")
    link.shutdown()
