"""Journey (issue 26): a desk with no sound output says so, and rings again once it has one.
An operator signs in at a desk whose sound has nowhere to go (the headset not plugged in):
before any call, the call list says in red that a call's alert cannot be heard, and Account →
Sound and display says the same and offers no test that would play nothing. The headset is
plugged in: the warning goes, and the next Help Point call is heard at the alert's full level.

Not collected by itself (its name does not start with ``test_``): ``test_no_sound_output.py``
runs it in a pytest of its own whose sound server starts with no output
(``VMS_TEST_AUDIO=unplugged``, ``tests/audio_sink.py``). With an output it fails; it never skips.

Set-up outside the windows: the simulated site with hp1 registered, an operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

import resources
from tests import audio_sink
from tests.audio_sink import sink
from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, look_at
from ui.calls.alert import has_output
from ui.dialogs.preferences import PreferencesDialog
from vms.access.roles import Role
from vms.profile import Profile

OPERATOR, OPERATOR_PW = "nia-no-sound", "nia-hears-nothing-42"
FULL = audio_sink.wav_loudness(resources.path("sounds/alert.wav"))  # the alert at 100 %


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("hp1",)) as both:
        yield both


@pytest.mark.timeout(240)
def test_a_desk_with_no_sound_output_says_so_and_rings_once_it_has_one(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    assert not has_output(), "this process has a sound output: run it through " \
        "tests/journeys/test_no_sound_output.py"
    sim, profile = site
    desktop, win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR,
                                  OPERATOR_PW)
    try:
        calls = desktop.calls
        assert calls is not None
        silent = calls.queue_pane.silent_label
        qtbot.waitUntil(silent.isVisible, timeout=5000)
        assert "No sound output" in silent.text() and "cannot be heard" in silent.text()
        look_at(win, "journey-no-sound-output.png")

        def look(dlg: PreferencesDialog) -> None:
            try:
                assert dlg.silent.isVisible() and "no sound output" in dlg.silent.text()
                assert not dlg.test_button.isEnabled(), "a test that cannot be heard is offered"
                look_at(dlg, "journey-sound-and-display-no-output.png")
            finally:
                dlg.reject()
        answer(PreferencesDialog, look, win.open_preferences.trigger)

        # -- the headset plugged in: the warning goes, and a call is heard -----------------
        sink().plug()
        qtbot.waitUntil(silent.isHidden, timeout=10000)
        with sink().listening():
            sim.cli("press", "hp1")
            try:
                qtbot.waitUntil(lambda: any(p.isVisible() for p in calls.panes.values()),
                                timeout=15000)
                with sink().recording() as heard:
                    end = time.monotonic() + 2.0
                    while time.monotonic() < end:
                        qtbot.wait(50)
            finally:
                sim.cli("release", "hp1")
        loud = heard.loudness()
        assert FULL * 0.75 < loud < FULL * 1.25, \
            f"the call after the headset was plugged in was heard at {loud:.0f} of {FULL:.0f}"
    finally:
        desktop._end_session("journey over", wait=0.0)
