"""A user's own settings: how loud their desk rings and what it looks like.

Kept in the profile per user (like their wall) and applied at each of their sign-ins, so a
night-shift operator's quieter alert or high-contrast screen does not follow them to the next
person at the same desk. Changing them is audited: a muted alert is a supervisor's business.
A value that cannot be read (an older or damaged row) falls back to its default rather than
stopping the sign-in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from vms.access.access import Access
from vms.access.session import Session
from vms.errors import ConfigError
from vms.store.devices import now

THEMES = {"dark": "Dark", "high-contrast": "High contrast"}
AUDITED = ("alert_volume", "alert_muted", "theme")  # not how wide a column is
SOUND_AND_DISPLAY = AUDITED  # what the Sound and display dialog sets
MAX_COLUMNS_STATE = 4096
MAX_WORKSPACE = 16384
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")


@dataclass(frozen=True)
class Preferences:
    alert_volume: int = 100  # per cent of full scale, as the user sees it on the slider
    alert_muted: bool = False
    theme: str = "dark"
    queue_columns: str = ""  # the call list's header (order, widths, hidden), as Qt saved it
    workspace: str = ""  # where the user's windows were (JSON of Qt's saved geometries)

    def check(self) -> None:
        if not 0 <= self.alert_volume <= 100:
            raise ConfigError("the alert volume is a percentage from 0 to 100")
        if self.theme not in THEMES:
            raise ConfigError(f"there is no theme {self.theme!r}; the themes are "
                              + ", ".join(THEMES))
        if len(self.queue_columns) > MAX_COLUMNS_STATE or \
                not _BASE64.fullmatch(self.queue_columns):
            raise ConfigError("the call list's columns are not in the form they are saved in")
        if self.workspace and not _is_workspace(self.workspace):
            raise ConfigError("the workspace is not in the form it is saved in")

    def to_rows(self) -> dict[str, str]:
        return {"alert_volume": str(self.alert_volume),
                "alert_muted": "1" if self.alert_muted else "0", "theme": self.theme,
                "queue_columns": self.queue_columns, "workspace": self.workspace}


def _is_workspace(text: str) -> bool:
    if len(text) > MAX_WORKSPACE:
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _parse(rows: dict[str, str]) -> Preferences:
    """One unreadable value keeps its default; the others still apply."""
    default = Preferences()
    volume = rows.get("alert_volume", "")
    theme = rows.get("theme", default.theme)
    columns = rows.get("queue_columns", "")
    workspace = rows.get("workspace", "")
    return Preferences(
        alert_volume=int(volume) if volume.isdecimal() and volume.isascii()
        and int(volume) <= 100 else default.alert_volume,
        alert_muted=rows.get("alert_muted") == "1",
        theme=theme if theme in THEMES else default.theme,
        queue_columns=columns if len(columns) <= MAX_COLUMNS_STATE
        and _BASE64.fullmatch(columns) else "",
        workspace=workspace if _is_workspace(workspace) else "")


class UserPreferences:
    """The signed-in user's preferences; nobody edits another user's."""

    def __init__(self, access: Access, session: Session) -> None:
        self.access = access
        self.session = session

    def load(self) -> Preferences:
        return _parse(self._rows(self.access.accounts.store.db))

    def _rows(self, db: Any) -> dict[str, str]:
        rows = db.execute("SELECT key, value FROM user_preferences WHERE user_id = ?",
                          [self.session.user_id]).fetchall()
        return {k: v for k, v in rows}

    def save(self, prefs: Preferences, only: Collection[str] | None = None) -> Preferences:
        """Store what changed and audit it (old and new value of each, but for where windows
        are and how wide a column is); returns ``prefs``. ``only``: the keys this save is
        about, so saves of different settings at the same moment (a column dragged while
        the sound is being set) never write back each other's old values. What was there is
        read under the same write lock as the write."""
        prefs.check()
        new = prefs.to_rows()
        stamp = now()
        with self.access.accounts.store.transaction() as db:
            old = _parse(self._rows(db)).to_rows()
            changed = {k: {"from": old[k], "to": v} for k, v in new.items()
                       if old[k] != v and (only is None or k in only)}
            for key in changed:
                db.execute("INSERT INTO user_preferences (user_id, key, value, updated_at) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, key) DO UPDATE SET "
                           "value = excluded.value, updated_at = excluded.updated_at",
                           [self.session.user_id, key, new[key], stamp])
        audited = {k: v for k, v in changed.items() if k in AUDITED}
        if audited:
            self.access.record(self.session, "preferences.change", detail=audited)
        return prefs
