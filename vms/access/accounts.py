"""User accounts and camera groups in the profile's database; the only SQL for them.

No permission checks here: this is storage. ``vms.access.admin`` is the service that
checks who may change accounts; ``vms.access.access`` signs users in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from vms import settings
from vms.access import passwords
from vms.access.roles import Role
from vms.errors import ConfigError
from vms.store import ProfileStore
from vms.store.devices import now


@dataclass(frozen=True)
class Policy:
    lock_after_failures: int
    lock_minutes: float
    idle_minutes: float  # desktop sessions lock after this long without input

    @classmethod
    def from_settings(cls, s: settings.Settings) -> Policy:
        return cls(int(s.number("lock_after_failures")), s.number("lock_minutes"),
                   s.number("idle_minutes"))




@dataclass
class User:
    id: int
    name: str
    role: Role
    all_cameras: bool
    must_change: bool
    disabled: bool
    failed_count: int
    locked_until: str | None
    created_at: str
    last_sign_in: str | None
    groups: list[str] = field(default_factory=list)

    def locked_now(self) -> bool:
        return bool(self.locked_until) and self.locked_until > now()  # type: ignore[operator]

    def state(self) -> str:
        if self.disabled:
            return "disabled"
        if self.locked_now():
            return "locked"
        return "must change password" if self.must_change else "active"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value, "state": self.state(),
                "cameras": "all" if self.all_cameras else self.groups,
                "created_at": self.created_at, "last_sign_in": self.last_sign_in}


@dataclass
class Group:
    id: int
    name: str
    areas: list[str]
    device_ids: list[int]


class Accounts:
    def __init__(self, store: ProfileStore) -> None:
        self.store = store  # users, groups and settings live in the profile database

    # -- users --------------------------------------------------------------------
    def count(self) -> int:
        return int(self.store.db.execute("SELECT count(*) FROM users").fetchone()[0])

    def users(self) -> list[User]:
        return self._load("", [])

    def find(self, name: str) -> User | None:
        """One user by name (case-insensitive); the gate calls this on every check."""
        found = self._load("WHERE name = ?", [name.strip()])
        return found[0] if found else None

    def _load(self, where: str, params: list[Any]) -> list[User]:
        db = self.store.db
        rows = list(db.query(f"SELECT * FROM users {where} ORDER BY name", params))  # noqa: S608
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        sql = ("SELECT ug.user_id, g.name FROM user_groups ug JOIN camera_groups g "  # noqa: S608
               f"ON g.id = ug.group_id WHERE ug.user_id IN ({marks}) ORDER BY g.name")
        groups: dict[int, list[str]] = {}
        for uid, gname in db.execute(sql, ids):
            groups.setdefault(uid, []).append(gname)
        return [User(r["id"], r["name"], Role(r["role"]), bool(r["all_cameras"]),
                     bool(r["must_change"]), bool(r["disabled"]), r["failed_count"],
                     r["locked_until"], r["created_at"], r["last_sign_in"], groups.get(r["id"], []))
                for r in rows]

    def user(self, name: str) -> User:
        u = self.find(name)
        if u is None:
            raise ConfigError(f"there is no user '{name}'")
        return u

    def create(self, name: str, role: Role, password: str, *, created_by: str | None,
               groups: list[str] | None = None, temporary: bool = False) -> User:
        """``temporary``: the password was chosen for the user, who must replace it."""
        name = name.strip()
        if not name or len(name) > 64 or any(c in name for c in ":\n\r\t"):
            raise ConfigError("a user name needs 1-64 characters, without ':' or line breaks")
        passwords.check_policy(password, name)
        if self.find(name):
            raise ConfigError(f"there is already a user '{name}'")
        encoded = passwords.hash_password(password)
        stamp = now()
        with self.store.transaction() as db:
            uid = int(db.table("users").insert({
                "name": name, "role": role.value, "password_hash": encoded,
                "all_cameras": 0 if groups else 1, "created_at": stamp, "created_by": created_by,
                "password_changed_at": stamp, "must_change": int(temporary)}).last_pk or 0)
            for g in groups or []:
                db.execute("INSERT INTO user_groups VALUES (?, ?)", [uid, self._group_id(db, g)])
        return self.user(name)

    def password_hash(self, name: str) -> str | None:
        row = self.store.db.execute("SELECT password_hash FROM users WHERE name = ?",
                                       [name.strip()]).fetchone()
        return row[0] if row else None

    def set_password(self, name: str, password: str, *, must_change: bool) -> None:
        user = self.user(name)
        passwords.check_policy(password, user.name)
        encoded = passwords.hash_password(password)
        with self.store.transaction() as db:
            db.execute("UPDATE users SET password_hash = ?, must_change = ?, password_changed_at = ?,"
                       " failed_count = 0, locked_until = NULL WHERE id = ?",
                       [encoded, int(must_change), now(), user.id])

    def update(self, name: str, **fields: Any) -> User:
        allowed = {"role", "disabled", "failed_count", "locked_until", "last_sign_in",
                   "all_cameras", "password_hash"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {unknown}")
        user = self.user(name)
        values = {k: (v.value if isinstance(v, Role) else int(v) if isinstance(v, bool) else v)
                  for k, v in fields.items()}
        with self.store.transaction() as db:
            db.table("users").update(user.id, values)
        return self.user(name)

    def record_failure(self, user: User, policy: Policy) -> User:
        """One more failed sign-in; lock the account when the policy's count is reached."""
        count = user.failed_count + 1
        locked = None
        if count >= policy.lock_after_failures:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=policy.lock_minutes)
            locked = until.isoformat(timespec="seconds")
        return self.update(user.name, failed_count=count, locked_until=locked)

    # -- camera groups ------------------------------------------------------------
    def _group_id(self, db: Any, name: str) -> int:
        row = db.execute("SELECT id FROM camera_groups WHERE name = ?", [name.strip()]).fetchone()
        if row is None:
            raise ConfigError(f"there is no camera group '{name}' (create it with "
                              "'vms groups add')")
        return int(row[0])

    def create_group(self, name: str, *, areas: list[str] = (), devices: list[int] = ()) -> Group:  # type: ignore[assignment]
        name = name.strip()
        if not name:
            raise ConfigError("a camera group needs a name")
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM camera_groups WHERE name = ?", [name]).fetchone():
                raise ConfigError(f"there is already a camera group '{name}'")
            gid = int(db.table("camera_groups").insert({"name": name, "created_at": now()}).last_pk
                      or 0)
            for a in areas:
                row = db.execute("SELECT id FROM areas WHERE name = ?", [a.strip()]).fetchone()
                if row is None:
                    raise ConfigError(f"there is no area '{a}'")
                db.execute("INSERT INTO group_areas VALUES (?, ?)", [gid, row[0]])
            for d in devices:
                if db.execute("SELECT 1 FROM devices WHERE id = ?", [d]).fetchone() is None:
                    raise ConfigError(f"there is no device {d}")
                db.execute("INSERT INTO group_devices VALUES (?, ?)", [gid, d])
        return next(g for g in self.groups() if g.id == gid)

    def groups(self) -> list[Group]:
        db = self.store.db
        out = {r[0]: Group(r[0], r[1], [], []) for r in
               db.execute("SELECT id, name FROM camera_groups ORDER BY name")}
        for gid, area in db.execute("SELECT ga.group_id, a.name FROM group_areas ga JOIN areas a "
                                    "ON a.id = ga.area_id ORDER BY a.name"):
            out[gid].areas.append(area)
        for gid, dev in db.execute("SELECT group_id, device_id FROM group_devices ORDER BY 2"):
            out[gid].device_ids.append(dev)
        return list(out.values())

    def set_user_groups(self, name: str, groups: list[str] | None) -> User:
        """``None``: every camera; a list: only the cameras of those groups."""
        user = self.user(name)
        with self.store.transaction() as db:
            ids = [self._group_id(db, g) for g in groups or []]
            db.execute("DELETE FROM user_groups WHERE user_id = ?", [user.id])
            for gid in ids:
                db.execute("INSERT INTO user_groups VALUES (?, ?)", [user.id, gid])
            db.execute("UPDATE users SET all_cameras = ? WHERE id = ?",
                       [int(groups is None), user.id])
        return self.user(name)

    def camera_ids(self, user_id: int) -> set[int]:
        """Devices a restricted user's groups reach, by device or by area."""
        rows = self.store.db.execute("""
            SELECT gd.device_id FROM user_groups ug JOIN group_devices gd ON gd.group_id = ug.group_id
            WHERE ug.user_id = ?
            UNION
            SELECT d.id FROM user_groups ug JOIN group_areas ga ON ga.group_id = ug.group_id
            JOIN devices d ON d.area_id = ga.area_id WHERE ug.user_id = ?""", [user_id, user_id])
        return {r[0] for r in rows}

    # -- settings -----------------------------------------------------------------
    def settings(self) -> settings.Settings:
        """The stored settings (``vms.settings``: what each means, and its default)."""
        return settings.Settings(
            {r[0]: r[1] for r in self.store.db.execute("SELECT key, value FROM settings")})

    def policy(self) -> Policy:
        return Policy.from_settings(self.settings())

    def set_setting(self, key: str, value: str, by: str) -> None:
        settings.check(key, value)
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, ?, ?)",
                       [key, value, now(), by])
