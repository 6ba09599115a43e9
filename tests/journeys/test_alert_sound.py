"""Journey: an operator hears the alert, turns it down, mutes it, chooses the high-contrast
theme, signs out and in again and finds all of it as they left it (issue 26: "the alert sound
confirmed played ... with its volume and mute in the user's settings"; "a high-contrast
variant").

The sound is measured where it comes out: the test process's own PulseAudio null sink
(``tests/audio_sink.py``), recorded from its monitor while the desk rings.

Set-up outside the windows: the simulated site with three Help Points registered, an operator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

import resources
from tests import audio_sink
from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, choose, look_at, shown, sign_in
from ui.calls.alert import amplitude
from ui.calls.desk import CallDesk
from ui.calls.incident_pane import IncidentPane
from ui.calls.queue_pane import COLUMNS, SAVE_COLUMNS_MS
from ui.desktop import Desktop
from ui.dialogs.preferences import PreferencesDialog
from ui.theme import theme
from vms.access.roles import Role
from vms.audit.log import Filter
from vms.profile import Profile

SITE = """
[[device]]
name = "hp-market"
kind = "help_point"
location = "Market Square"

[[device]]
name = "hp-station"
kind = "help_point"
location = "Station Approach"

[[device]]
name = "hp-bridge"
kind = "help_point"
location = "Bridge Street"
"""
OPERATOR, OPERATOR_PW = "nina-nights", "nina-hears-42"
FULL = audio_sink.wav_loudness(resources.path("sounds/alert.wav"))  # the alert at 100 %


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, config=SITE,
                        users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("hp-market", "hp-station", "hp-bridge")) as both:
        yield both


def sink() -> audio_sink.NullSink:
    return audio_sink.sink()


def heard(qtbot: QtBot, ms: int) -> float:
    """How loud this desk was (its loudest 100 ms), listened to for ``ms``."""
    with sink().recording() as rec:
        qtbot.wait(ms)
    assert rec.seconds() > ms / 1000 * 0.6, "the recording of the sink came back short"
    return rec.loudness()


def ring(qtbot: QtBot, sim: Sim, calls: CallDesk, device: str) -> IncidentPane:
    sim.cli("press", device)
    qtbot.waitUntil(lambda: calls.alert.active, timeout=20000)
    sim.cli("release", device)
    return next(p for p in calls.panes.values() if p.incident.device == device)


def answer_and_close(qtbot: QtBot, calls: CallDesk, pane: IncidentPane) -> None:
    """Accept, then close as a test call: the caller's voice, heard while on the call, stops
    too, and the desk is silent again."""
    qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not calls.alert.active, timeout=10000)
    qtbot.waitUntil(pane.record.close_button.isEnabled, timeout=10000)
    pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("test"))
    iid = pane.incident.id
    qtbot.mouseClick(pane.record.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: iid not in calls.panes, timeout=10000)
    qtbot.wait(300)
    after = heard(qtbot, 700)
    assert after < FULL * 0.01, f"sound goes on after the call was closed: {after:.0f}"


def ring_and_answer(qtbot: QtBot, sim: Sim, calls: CallDesk, device: str) -> float:
    """Press ``device``'s button; how loud the desk rang (2 s); then answer and close."""
    pane = ring(qtbot, sim, calls, device)
    loud = heard(qtbot, 2000)
    answer_and_close(qtbot, calls, pane)
    return loud


def setting(volume: int | None = None, muted: bool | None = None, theme_key: str | None = None,
            test: list[float] | None = None, shot: str = ""
            ) -> Callable[[PreferencesDialog], None]:
    """What the operator does in Sound and display: move the slider by keys, tick Mute, pick a
    theme, optionally Play a test (recorded into ``test``), then Save."""
    def act(dlg: PreferencesDialog) -> None:
        if volume is not None:
            dlg.volume.setFocus()
            QTest.keyClick(dlg.volume, Qt.Key.Key_Home)  # 0 %, then up in steps of 5
            for _ in range(volume // 5):
                QTest.keyClick(dlg.volume, Qt.Key.Key_Right)
            assert dlg.volume.value() == volume
            assert dlg.volume_words.text() == f"{volume} %"
        if muted is not None and dlg.muted.isChecked() != muted:
            dlg.muted.click()
        if theme_key is not None:
            dlg.theme.setCurrentIndex(dlg.theme.findData(theme_key))
        if test is not None:
            with sink().recording() as rec:
                dlg.test_button.click()
                QTest.qWait(1800)
            test.append(rec.loudness())
            assert dlg.test_button.text() == "Stop the test"
            dlg.test_button.click()
            assert dlg.test_button.text() == "Play a test"
        if muted:
            assert not dlg.test_button.isEnabled(), "a test that would play nothing"
        if shot:
            look_at(dlg, shot)
        dlg.save_button.click()
    return act


@pytest.mark.timeout(300)
def test_the_alert_is_heard_at_the_operators_volume_muted_and_remembered_at_sign_in(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    sim, profile = site
    desktop, _win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR,
                                   OPERATOR_PW)
    try:
        with sink().listening():
            walk_the_shift(qtbot, sim, profile, desktop)
    finally:
        desktop._end_session("journey over", wait=0.0)


def walk_the_shift(qtbot: QtBot, sim: Sim, profile: Profile, desktop: Desktop) -> None:
    win = desktop.window
    assert win is not None
    calls = desktop.calls
    assert calls is not None
    quiet = heard(qtbot, 800)
    assert quiet < FULL * 0.01, f"the desk makes sound before any call: {quiet:.0f}"
    assert calls.queue_pane.silent_label.isHidden(), \
        "a desk with a sound output says it has none (see tests/journeys/no_sound.py)"

    # 1. The first call rings at the default volume: the alert at full scale.
    loud = ring_and_answer(qtbot, sim, calls, "hp-market")
    assert FULL * 0.75 < loud < FULL * 1.25, (loud, FULL)

    # 2. Turned down to 40 %: Play a test sounds at that level, and so does the next call.
    test: list[float] = []
    answer(PreferencesDialog, setting(volume=40, test=test, shot="journey-sound-and-display.png"),
           win.open_preferences.trigger)
    want = FULL * amplitude(40)
    assert want * 0.75 < test[0] < want * 1.25, ("the test", test[0], want)
    lower = ring_and_answer(qtbot, sim, calls, "hp-station")
    assert want * 0.75 < lower < want * 1.25, ("a call at 40 %", lower, want)
    assert lower < loud / 3  # on the log scale 40 % is about a ninth of full amplitude

    # 3. Muted, with the high-contrast theme: the next call flashes and opens but is silent,
    #    and the queue says the sound is off.
    answer(PreferencesDialog, setting(muted=True, theme_key="high-contrast"),
           win.open_preferences.trigger)
    qtbot.waitUntil(calls.queue_pane.muted_label.isVisible, timeout=5000)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert app.styleSheet() == theme("high-contrast")
    pane = ring(qtbot, sim, calls, "hp-bridge")
    assert pane.isVisible()
    muted = heard(qtbot, 1500)
    assert muted < FULL * 0.01, f"muted, yet the desk rang: {muted:.0f}"
    look_at(win, "journey-high-contrast-queue.png")
    look_at(pane, "journey-high-contrast-call.png")
    answer_and_close(qtbot, calls, pane)

    # 4. The call list is narrow in its dock: the operator hides its "What" column from the
    #    header's menu.
    header = calls.queue_pane.table.horizontalHeader()
    header.setVisible(True)
    pos = QPoint(header.sectionViewportPosition(0) + 5, header.height() // 2)
    QApplication.sendEvent(header.viewport(), QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, pos, header.viewport().mapToGlobal(pos)))
    qtbot.waitUntil(lambda: shown(QMenu) is not None, timeout=5000)
    menu = shown(QMenu)
    assert menu is not None
    assert [a.text() for a in menu.actions()] == list(COLUMNS)
    choose(menu, "What")
    menu.hide()
    assert header.isSectionHidden(COLUMNS.index("What"))
    qtbot.wait(SAVE_COLUMNS_MS + 800)  # saved once the header is left alone

    # 5. Sign out and in again: volume, mute, theme and columns come back; in between, the
    #    sign-in is in the house theme, not the last user's.
    desktop._end_session("signed out", wait=0.0)  # what Account > Sign out does first
    assert app.styleSheet() == theme("dark")
    sign_in(desktop, OPERATOR, OPERATOR_PW)
    calls2 = desktop.calls
    assert calls2 is not None and calls2 is not calls
    qtbot.waitUntil(lambda: calls2.alert.muted and calls2.alert.volume == 40, timeout=10000)
    assert calls2.queue_pane.muted_label.isVisible()
    assert app.styleSheet() == theme("high-contrast")
    header2 = calls2.queue_pane.table.horizontalHeader()
    qtbot.waitUntil(lambda: header2.isSectionHidden(COLUMNS.index("What")), timeout=5000)
    assert not header2.isSectionHidden(COLUMNS.index("Where"))
    changes = profile.audit.entries(Filter(action="preferences.change"))
    assert [e.user for e in changes] == [OPERATOR, OPERATOR], changes
    assert json.loads(changes[0].detail)["alert_volume"] == {"from": "100", "to": "40"}
    assert json.loads(changes[1].detail)["alert_muted"] == {"from": "0", "to": "1"}
