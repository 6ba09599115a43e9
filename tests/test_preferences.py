"""A user's own sound and display settings (``vms.access.preferences``): kept per user,
checked, audited with old and new values, and read back whole even when a row is damaged."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.conftest import signed_in
from vms.access.admin import UserAdmin
from vms.access.preferences import SOUND_AND_DISPLAY, Preferences, UserPreferences
from vms.access.roles import Role
from vms.audit.log import Filter
from vms.errors import ConfigError


def test_preferences_are_per_user_checked_audited_and_survive_a_damaged_row(
        tmp_path: Path) -> None:
    profile, admin = signed_in(tmp_path / "p")
    try:
        UserAdmin(profile.access, admin).add("olu", Role.OPERATOR, "olu-listens-42")
        olu = profile.access.sign_in("olu", "olu-listens-42", via="test")
        mine, theirs = UserPreferences(profile.access, admin), UserPreferences(profile.access, olu)
        assert mine.load() == Preferences() == Preferences(100, False, "dark")

        theirs.save(Preferences(alert_volume=35, alert_muted=True, theme="high-contrast"))
        assert theirs.load() == Preferences(35, True, "high-contrast")
        assert mine.load() == Preferences(), "one user's settings reached another's"

        for bad in (Preferences(alert_volume=101), Preferences(alert_volume=-1),
                    Preferences(theme="pink")):
            with pytest.raises(ConfigError):
                theirs.save(bad)
        assert theirs.load() == Preferences(35, True, "high-contrast")

        entries = profile.audit.entries(Filter(action="preferences.change"))
        assert [e.user for e in entries] == ["olu"]
        assert json.loads(entries[0].detail) == {
            "alert_volume": {"from": "100", "to": "35"}, "alert_muted": {"from": "0", "to": "1"},
            "theme": {"from": "dark", "to": "high-contrast"}}
        theirs.save(Preferences(35, True, "high-contrast"))  # nothing changed: nothing audited
        assert len(profile.audit.entries(Filter(action="preferences.change"))) == 1

        # the call list's columns are kept, but not audited (a column's width is nobody's
        # business); what is not in the form Qt saves them in is refused
        theirs.save(Preferences(35, True, "high-contrast", queue_columns="AAAA/w=="))
        assert theirs.load().queue_columns == "AAAA/w=="
        assert len(profile.audit.entries(Filter(action="preferences.change"))) == 1
        with pytest.raises(ConfigError):
            theirs.save(Preferences(queue_columns="<script>"))

        # two saves of different settings at once (a column dragged while the sound is set):
        # each writes only its own keys, so neither undoes the other
        stale = theirs.load()
        theirs.save(dataclasses.replace(stale, alert_volume=60), SOUND_AND_DISPLAY)
        theirs.save(dataclasses.replace(stale, queue_columns="BBBB"), ("queue_columns",))
        assert (theirs.load().alert_volume, theirs.load().queue_columns) == (60, "BBBB")
        theirs.save(dataclasses.replace(stale, alert_volume=35), SOUND_AND_DISPLAY)
        theirs.save(Preferences(35, True, "high-contrast", queue_columns="AAAA/w=="))

        with profile.store.transaction() as db:  # a damaged value keeps only itself default
            db.execute("UPDATE user_preferences SET value = 'loud' WHERE key = 'alert_volume' "
                       "AND user_id = ?", [olu.user_id])
        assert theirs.load() == Preferences(100, True, "high-contrast", "AAAA/w==")
    finally:
        profile.close()
