"""Premises, deployments and the loans dashboard, as a signed-in user.

A loan is funded for 30 days counting the install day as day 1, so its funded end is
install + 29 days; a paid extension moves the end to its "until" date. The dashboard is
what the coordinator works from each morning: loans ending within 7 days (day 23 of 30
onwards), kit overdue for removal, and premises on test. Every change is audited, and so is
every reading of a premises' contact.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import ConfigError
from vms.loans.store import LoanStore
from vms.profile import Profile
from vms.store.devices import DeviceRow

FUNDED_DAYS = 30
ENDING_SOON_DAYS = 7
REASONS = ("repeat burglary", "intelligence", "vulnerable victim", "other")
LONDON = ZoneInfo("Europe/London")


def today_london() -> dt.date:
    return dt.datetime.now(LONDON).date()


@dataclass(frozen=True)
class Premises:
    id: int
    name: str
    address: str
    lat: float
    lon: float
    reason: str
    urn: str
    response_level: str
    on_test: bool
    created_utc: str = ""  # when the premises was recorded: no alarm before it was its alarm


@dataclass(frozen=True)
class Deployment:
    id: int
    premises_id: int
    premises: str
    urn: str
    installed: dt.date
    funded_end: dt.date
    extended_until: dt.date | None
    extension_ref: str | None
    removed: dt.date | None
    signage: bool
    notes: str
    devices: list[tuple[int, str]] = field(default_factory=list)

    @property
    def end(self) -> dt.date:
        return self.extended_until or self.funded_end

    def day(self, today: dt.date) -> int:
        """Day of the loan, the install day being day 1."""
        return (today - self.installed).days + 1

    def days_left(self, today: dt.date) -> int:
        return (self.end - today).days

    def status(self, today: dt.date) -> str:
        if self.removed is not None:
            return "removed"
        left = self.days_left(today)
        if left < 0:
            return "overdue removal"
        if left <= ENDING_SOON_DAYS:
            return "ending soon"
        return "extended" if self.extended_until else "funded"


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    ending_soon: list[Deployment]
    overdue: list[Deployment]
    on_test: list[Premises]
    active: list[Deployment]


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Loans:
    def __init__(self, profile: Profile, session: Session, store: LoanStore | None = None
                 ) -> None:
        self.profile = profile
        self.session = session
        self.access = profile.access
        self._own = store is None
        self.store = store or LoanStore.for_profile(profile.data_dir)

    def close(self) -> None:
        if self._own:
            self.store.close()

    # -- premises -----------------------------------------------------------------------------
    def add_premises(self, *, name: str, address: str, lat: float, lon: float, urn: str,
                 reason: str, response_level: str, contact: str = "", on_test: bool = False
                 ) -> Premises:
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.premises.add")
        fields = _premises_fields(name, address, lat, lon, urn, reason, response_level, contact,
                              on_test)
        with self.store.transaction() as c:
            sid = _insert_premises(c, fields)
        self._audit_premises(sid, fields)
        return self.premises(sid)

    def open_loan(self, *, name: str, address: str, lat: float, lon: float, urn: str,
                  reason: str, response_level: str, contact: str = "", on_test: bool = False,
                  devices: list[int], installed: dt.date, signage: bool, notes: str = ""
                  ) -> Deployment:
        """A new premises and its first deployment, in one transaction: a loan that fails its
        checks leaves nothing behind (no orphan premises holding a victim's name and phone)."""
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.premises.add")
        fields = _premises_fields(name, address, lat, lon, urn, reason, response_level, contact,
                              on_test)
        rows = self._check_deployable(devices)
        with self.store.transaction() as c:
            sid = _insert_premises(c, fields)
            did = _insert_deployment(c, sid, rows, installed, signage, notes)
        self._audit_premises(sid, fields)
        self._audit_deploy(did, self.premises(sid), rows, installed)
        return self.deployment(did)

    def _audit_premises(self, sid: int, fields: dict[str, object]) -> None:
        self.access.record(self.session, "loans.premises.add",
                           detail={"premises": sid, "name": fields["name"], "urn": fields["urn"],
                                   "on_test": fields["on_test"]})

    def set_on_test(self, premises_id: int, on: bool) -> Premises:
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.premises.on_test")
        self.premises(premises_id)
        with self.store.transaction() as c:
            c.execute("UPDATE premises SET on_test = ? WHERE id = ?", (int(on), premises_id))
        self.access.record(self.session, "loans.premises.on_test",
                           detail={"premises": premises_id, "on_test": on})
        return self.premises(premises_id)

    def premises(self, premises_id: int) -> Premises:
        found = self._premises_where("WHERE id = ?", (premises_id,))
        if not found:
            raise ConfigError(f"there is no premises {premises_id}")
        return found[0]

    def all_premises(self) -> list[Premises]:
        self.access.require(self.session, Permission.LOANS_VIEW, action="loans.view")
        return self._premises_where("ORDER BY name", ())

    def _premises_where(self, tail: str, params: tuple[object, ...]) -> list[Premises]:
        """Every column but the contact, which only ``contact`` reads."""
        cols = "id, name, address, lat, lon, reason, urn, response_level, on_test, created_utc"
        rows = self.store.conn.execute(f"SELECT {cols} FROM premises {tail}", params)  # noqa: S608
        return [Premises(**{**dict(r), "on_test": bool(r["on_test"])}) for r in rows]

    def contact(self, premises_id: int) -> str:
        """The victim's contact details: personal data, so each reading is audited."""
        self.access.require(self.session, Permission.PREMISES_CONTACT, action="loans.contact.view")
        row = self.store.conn.execute("SELECT contact FROM premises WHERE id = ?",
                                      (premises_id,)).fetchone()
        if row is None:
            raise ConfigError(f"there is no premises {premises_id}")
        self.access.record(self.session, "loans.contact.view", detail={"premises": premises_id})
        return str(row[0])

    # -- deployments -------------------------------------------------------------------------
    def deploy(self, premises_id: int, device_ids: list[int], installed: dt.date, *,
               signage: bool, notes: str = "") -> Deployment:
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.deploy")
        premises = self.premises(premises_id)
        rows = self._check_deployable(device_ids)
        with self.store.transaction() as c:
            did = _insert_deployment(c, premises_id, rows, installed, signage, notes)
        self._audit_deploy(did, premises, rows, installed)
        return self.deployment(did)

    def _check_deployable(self, device_ids: list[int]) -> list[DeviceRow]:
        if not device_ids:
            raise ConfigError("a deployment needs at least one device")
        devices = [self.profile.registry.device(d) for d in device_ids]
        deployed = {int(r[0]): str(r[1]) for r in self.store.conn.execute(
            "SELECT dd.device_id, dd.device FROM deployment_devices dd JOIN deployments d "
            "ON d.id = dd.deployment_id WHERE d.removed IS NULL")}
        busy = [deployed[d] for d in device_ids if d in deployed]
        if busy:
            raise ConfigError(f"{', '.join(busy)} is already deployed elsewhere; record its "
                              "removal first")
        return devices

    def _audit_deploy(self, did: int, premises: Premises, devices: list[DeviceRow],
                      installed: dt.date) -> None:
        self.access.record(self.session, "loans.deploy", detail={
            "deployment": did, "premises": premises.name, "urn": premises.urn,
            "devices": [d.name for d in devices], "installed": installed.isoformat()})

    def extend(self, deployment_id: int, until: dt.date, reference: str) -> Deployment:
        """A paid extension: the loan now ends on ``until``."""
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.extend")
        dep = self.deployment(deployment_id)
        if dep.removed is not None:
            raise ConfigError("the kit has been removed: deploy it again instead")
        if until <= dep.end:
            raise ConfigError(f"an extension must end after the current end ({dep.end})")
        if not reference.strip():
            raise ConfigError("an extension needs its payment or order reference")
        with self.store.transaction() as c:
            c.execute("INSERT INTO extensions (deployment_id, until, reference, added_by, "
                      "added_utc) VALUES (?,?,?,?,?)",
                      (deployment_id, until.isoformat(), reference.strip(), self.session.user,
                       _now()))
        self.access.record(self.session, "loans.extend", detail={
            "deployment": deployment_id, "until": until.isoformat(), "reference": reference})
        return self.deployment(deployment_id)

    def remove(self, deployment_id: int, on: dt.date) -> Deployment:
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.remove")
        dep = self.deployment(deployment_id)
        if dep.removed is not None:
            raise ConfigError(f"the kit was already removed on {dep.removed}")
        if on < dep.installed:
            raise ConfigError("the kit cannot come out before it went in")
        with self.store.transaction() as c:
            c.execute("UPDATE deployments SET removed = ? WHERE id = ?",
                      (on.isoformat(), deployment_id))
        self.access.record(self.session, "loans.remove",
                           detail={"deployment": deployment_id, "removed": on.isoformat()})
        return self.deployment(deployment_id)

    def deployment(self, deployment_id: int) -> Deployment:
        row = self.store.conn.execute(
            "SELECT d.*, s.name AS premises, s.urn, (SELECT until FROM extensions e WHERE "
            "e.deployment_id = d.id ORDER BY until DESC LIMIT 1) AS until, (SELECT reference "
            "FROM extensions e WHERE e.deployment_id = d.id ORDER BY until DESC LIMIT 1) AS ref "
            "FROM deployments d JOIN premises s ON s.id = d.premises_id WHERE d.id = ?",
            (deployment_id,)).fetchone()
        if row is None:
            raise ConfigError(f"there is no deployment {deployment_id}")
        devices = [(int(r[0]), str(r[1])) for r in self.store.conn.execute(
            "SELECT device_id, device FROM deployment_devices WHERE deployment_id = ? "
            "ORDER BY device", (deployment_id,))]
        return Deployment(int(row["id"]), int(row["premises_id"]), row["premises"], row["urn"],
                          dt.date.fromisoformat(row["installed"]),
                          dt.date.fromisoformat(row["funded_end"]), _date(row["until"]),
                          row["ref"], _date(row["removed"]), bool(row["signage"]),
                          row["notes"], devices)

    def deployments(self, include_removed: bool = False) -> list[Deployment]:
        self.access.require(self.session, Permission.LOANS_VIEW, action="loans.view")
        ids = [r[0] for r in self.store.conn.execute(
            "SELECT id FROM deployments WHERE removed IS NULL OR ? ORDER BY installed, id",
            (int(include_removed),))]
        return [self.deployment(i) for i in ids]

    def dashboard(self, today: dt.date | None = None) -> Dashboard:
        today = today or today_london()
        active = self.deployments()
        return Dashboard(
            today=today,
            ending_soon=sorted((d for d in active if d.status(today) == "ending soon"),
                               key=lambda d: d.end),
            overdue=sorted((d for d in active if d.status(today) == "overdue removal"),
                           key=lambda d: d.end),
            on_test=[s for s in self.all_premises() if s.on_test],
            active=active)


def _premises_fields(name: str, address: str, lat: float, lon: float, urn: str, reason: str,
                 response_level: str, contact: str, on_test: bool) -> dict[str, object]:
    """A premises' columns, checked before anything is written."""
    name, address, urn = name.strip(), address.strip(), urn.strip()
    if not (name and address and urn):
        raise ConfigError("a premises needs a name, an address and the police URN")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"{lat}, {lon} is not a latitude and longitude")
    return {"name": name, "address": address, "lat": lat, "lon": lon,
            "contact": contact.strip(), "reason": reason.strip(), "urn": urn,
            "response_level": response_level.strip(), "on_test": on_test}


def _insert_premises(c: sqlite3.Connection, f: dict[str, object]) -> int:
    cur = c.execute(
        "INSERT INTO premises (name, address, lat, lon, contact, reason, urn, "
        "response_level, on_test, created_utc) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (f["name"], f["address"], f["lat"], f["lon"], f["contact"], f["reason"], f["urn"],
         f["response_level"], int(bool(f["on_test"])), _now()))
    return int(cur.lastrowid or 0)


def _insert_deployment(c: sqlite3.Connection, premises_id: int, devices: list[DeviceRow],
                       installed: dt.date, signage: bool, notes: str) -> int:
    funded_end = installed + dt.timedelta(days=FUNDED_DAYS - 1)
    cur = c.execute("INSERT INTO deployments (premises_id, installed, funded_end, signage, "
                    "notes) VALUES (?,?,?,?,?)",
                    (premises_id, installed.isoformat(), funded_end.isoformat(),
                     int(signage), notes.strip()))
    did = int(cur.lastrowid or 0)
    c.executemany("INSERT INTO deployment_devices VALUES (?,?,?)",
                  [(did, d.id, d.name) for d in devices])
    return did
