"""Journey (issue 26): a desk with no sound output says so. An operator signs in at a desk
whose sound has nowhere to go (no sound card, the headset unplugged, the audio service not
running): before any call, the call list says in red that a call's alert cannot be heard, and
Account → Sound and display says the same and offers no test that would play nothing.

Not collected by itself (its name does not start with ``test_``): ``test_no_sound_output.py``
runs it in a pytest of its own whose ``PULSE_SERVER`` names a sound server that is not there.
With a sound output it fails; it never skips.

Set-up outside the windows: a profile with an operator (no cameras: nothing here needs one).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import signed_in
from tests.journeys.walk import answer, at_desk, look_at
from ui.calls.alert import has_output
from ui.dialogs.preferences import PreferencesDialog
from vms.access.admin import UserAdmin
from vms.access.roles import Role

OPERATOR, OPERATOR_PW = "nia-no-sound", "nia-hears-nothing-42"


@pytest.mark.timeout(120)
def test_a_desk_with_no_sound_output_says_so_before_a_call(
        qtbot: QtBot, tmp_path: Path, site_of: Callable[..., Any]) -> None:
    assert not has_output(), "this process has a sound output: run it through " \
        "tests/journeys/test_no_sound_output.py"
    profile, admin = signed_in(tmp_path / "profile")
    UserAdmin(profile.access, admin).add(OPERATOR, Role.OPERATOR, OPERATOR_PW)
    profile.access.sign_out(admin, "set-up done")
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
    finally:
        desktop._end_session("journey over", wait=0.0)
