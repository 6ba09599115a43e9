"""Named wall layouts, saved per user in the profile's database.

Each user has their own; the unnamed one ("") is the wall as they last left it,
restored at the next sign-in. Cameras the user may no longer view, or that were
removed, come back as empty tiles rather than errors.
"""

from __future__ import annotations

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import ConfigError
from vms.profile import Profile
from vms.store.devices import now
from vms.wall.layouts import WallState

LAST = ""
MAX_NAME = 60


class SavedLayouts:
    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session

    def names(self) -> list[str]:
        rows = self.profile.store.db.execute(
            "SELECT name FROM layouts WHERE user_id = ? AND name != '' ORDER BY name COLLATE NOCASE",
            [self.session.user_id])
        return [r[0] for r in rows]

    def load(self, name: str = LAST) -> WallState | None:
        row = self.profile.store.db.execute(
            "SELECT spec FROM layouts WHERE user_id = ? AND name = ?",
            [self.session.user_id, name]).fetchone()
        if row is None:
            return None
        state = WallState.from_json(row[0])
        allowed = {d.id for d in self.profile.access.visible(self.session,
                                                             self.profile.registry.devices())}
        state.tiles = [t if t in allowed else None for t in state.tiles]
        return state

    def save(self, state: WallState, name: str = LAST) -> None:
        name = name.strip()
        if len(name) > MAX_NAME:
            raise ConfigError(f"a layout name can have at most {MAX_NAME} characters")
        self.profile.access.require(self.session, Permission.LIVE_VIEW, action="layout.save")
        with self.profile.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO layouts VALUES (?, ?, ?, ?)",
                       [self.session.user_id, name, state.to_json(), now()])
        if name:
            self.profile.access.record(self.session, "layout.save",
                                       detail={"name": name, "layout": state.layout})

    def delete(self, name: str) -> None:
        with self.profile.store.transaction() as db:
            db.execute("DELETE FROM layouts WHERE user_id = ? AND name = ?",
                       [self.session.user_id, name])

