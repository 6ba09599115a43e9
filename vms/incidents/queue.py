"""The alarm and call queue.

An active alarm event opens an incident (one open incident per device and kind: a
second press of the same Help Point joins the call it already raised). States:
new -> accepted (one owner) <-> on hold -> closed, and closing needs an outcome.
Every step is written to ``incident_actions`` and to the audit trail; the row is
committed before listeners hear of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import (
    CallTaken,
    IncidentError,  # defined with every other error
    PermissionDenied,
    VmsError,
)
from vms.events.engine import Event
from vms.events.store import utc_now
from vms.events.topics import HELP_BUTTON, INPUT, INTRUSION, LINE, MOTION, TAMPER
from vms.incidents.priorities import PRIORITIES, SAME_AS
from vms.paths import profile_key
from vms.profile import Profile
from vms.store.devices import DeviceRow

NEW, ACCEPTED, ON_HOLD, CLOSED = "new", "accepted", "on_hold", "closed"
STATE_WORDS = {NEW: "waiting", ACCEPTED: "accepted", ON_HOLD: "on hold", CLOSED: "closed"}

KIND_WORDS = {HELP_BUTTON: "Help Point call", INTRUSION: "Intrusion", LINE: "Line crossed",
              MOTION: "Motion", TAMPER: "Tamper", INPUT: "Alarm input"}
OUTCOMES: dict[str, str] = {
    "assisted": "Assistance given by the operator",
    "police": "Police attended or were informed",
    "ambulance": "Ambulance requested",
    "council": "Passed to council services",
    "information": "Information given",
    "no-reply": "No reply from the caller",
    "accidental": "Accidental or child press",
    "misuse": "Misuse or abusive call",
    "test": "Test or maintenance",
    "false-alarm": "False alarm",
    "other": "Other (see notes)",
}


_COLUMNS = frozenset({"state", "owner", "workstation", "lost_from", "accepted_utc", "closed_utc",
                      "outcome", "notes", "police_informed_utc", "police_ref", "units"})


@dataclass(frozen=True)
class Incident:
    id: int
    device_id: int
    device: str
    area: str
    kind: str
    priority: int
    state: str
    owner: str | None
    event_id: int | None
    raised_utc: str
    accepted_utc: str | None
    closed_utc: str | None
    outcome: str | None
    notes: str
    police_informed_utc: str | None
    police_ref: str | None
    units: str | None
    workstation: str | None = None  # where the owner took it: several desks share a site
    lost_from: str | None = None  # its operator's workstation went silent: anyone may take it

    @property
    def state_words(self) -> str:
        if self.lost_from and self.state == ON_HOLD:
            return "operator lost"
        return STATE_WORDS.get(self.state, self.state)

    @property
    def owner_words(self) -> str:
        """Who has the call, and at which desk when several share the site."""
        if not self.owner:
            return ""
        return f"{self.owner} at {self.workstation}" if self.workstation else self.owner

    @property
    def title(self) -> str:
        return f"{KIND_WORDS.get(self.kind, self.kind)}: {self.device} ({self.area})"


Listener = Callable[[Incident], None]
CHANNEL = "beacon_incidents"  # the site database's notification of a changed incident (its id)


def _who(inc: Incident) -> str:
    return f"{inc.owner} (at {inc.workstation})" if inc.workstation else str(inc.owner)



class QueueStore(Protocol):
    """Where a queue keeps its incidents: a profile's events.db, or the site database."""

    @property
    def conn(self) -> Any: ...

    def transaction(self, durable: bool = True) -> AbstractContextManager[Any]: ...

    def notify(self, tx: Any, channel: str, payload: str) -> None: ...


class IncidentQueue:
    def __init__(self, profile: Profile, store: QueueStore,
                 priorities: dict[str, int] | None = None, *,
                 workstation: str | None = None) -> None:
        self.profile = profile
        self.store = store
        # a site's desks each have a name; a profile on its own has one desk and records none
        self.workstation = workstation
        # on a site a call names its device by the registry's uid, the key every profile
        # that registered the camera shares; each desk reads it as its own id
        self.on_site = workstation is not None
        self._original: bool | None = None  # this profile set the site up (read once)
        self.priorities = {**PRIORITIES, **(priorities or {})}
        self.listeners: list[Listener] = []
        self._lock = threading.RLock()

    # -- raising ---------------------------------------------------------------------
    def on_event(self, e: Event) -> Incident | None:
        """Open an incident for an active alarm, unless one already covers it."""
        prio = self.priorities.get(e.kind)
        if prio is None or not e.ev.active or e.synthetic:
            return None
        kind = SAME_AS.get(e.kind, e.kind)  # a line crossed and a field entered: one intrusion
        uid = self._uid(e.device_id)
        # a call raised before calls had keys (no uid) is the same device's by its id
        device = (("(device_uid = ? OR (device_uid IS NULL AND device_id = ?))", (uid, e.device_id))
                  if uid is not None else ("device_id = ?", (e.device_id,)))
        with self._lock:
            for _ in range(2):
                # The same alarm again, or a lesser one (motion during an intrusion), joins the
                # open incident of that device; a more urgent one (a press) raises its own.
                row = self.store.conn.execute(
                    f"SELECT id FROM incidents WHERE {device[0]} AND state != ? AND "  # noqa: S608
                    "(kind = ? OR priority <= ?) ORDER BY priority, id LIMIT 1",
                    (*device[1], CLOSED, kind, prio)).fetchone()
                if row is not None:
                    self._change(int(row[0]), "system", "event", {"event": e.id, "active": True})
                    return None
                with self.store.transaction() as tx:
                    # On a site, another host may raise the same call this instant: the
                    # database keeps one open incident per device and kind, and the loser
                    # joins the winner's on the second pass.
                    cols = "device_id, device, area, kind, priority, state, event_id, raised_utc"
                    args: tuple[Any, ...] = (e.device_id, e.device, e.area, kind, prio, NEW,
                                             e.id, utc_now())
                    if uid is not None:
                        cols, args = cols + ", device_uid", (*args, uid)
                    row = tx.execute(
                        f"INSERT INTO incidents ({cols}) VALUES ({','.join('?' * len(args))}) "  # noqa: S608
                        "ON CONFLICT DO NOTHING RETURNING id", args).fetchone()
                    if row is None:
                        continue
                    iid = int(row[0])
                    self._log(tx, iid, "system", "raised", {"event": e.id})
                break
            else:
                return None
        inc = self.get(iid)
        self._tell(inc)
        return inc

    # -- reading ---------------------------------------------------------------------
    def get(self, iid: int) -> Incident:
        row = self.store.conn.execute("SELECT * FROM incidents WHERE id = ?", (iid,)).fetchone()
        if row is None:
            raise IncidentError(f"there is no incident {iid}")
        return self.incident(row)

    def incident(self, row: Any) -> Incident:
        """A row as this desk's incident: on a site, its device is this profile's id for the
        call's device key (0 for a camera this profile has not registered, and for a call
        raised before calls had keys, whose id is another profile's)."""
        d = dict(row)
        uid = d.pop("device_uid", None)
        if uid is not None:
            d["device_id"] = self.profile.registry.id_for_uid(uid) or 0
        elif self.on_site and not self._ids_are_ours():
            d["device_id"] = 0
        return Incident(**d)

    def _uid(self, device_id: int) -> str | None:
        """The device's site-wide key (None off a site, or for a device removed meanwhile:
        its call is then raised by its id, not lost)."""
        if not self.on_site:
            return None
        try:
            return self.profile.registry.device(device_id).uid
        except VmsError:
            return None

    def _ids_are_ours(self) -> bool:
        """Whether this profile set the site up when calls named devices by its ids (before
        the site-wide key): then the calls of that time are read with those ids."""
        if self._original is None:
            row = self.store.conn.execute(
                "SELECT value FROM site_info WHERE key = 'profile'").fetchone()
            self._original = row is not None and row[0] == profile_key(self.profile.data_dir)
        return self._original

    def device_keys(self, device_ids: list[int]) -> tuple[str, list[Any]]:
        """A WHERE clause and its arguments for incidents of these devices of this profile."""
        if not device_ids:
            return "1 = 0", []
        if not self.on_site:
            return f"device_id IN ({','.join('?' * len(device_ids))})", list(device_ids)
        uids = [u for u in (self._uid(i) for i in device_ids) if u is not None]
        if not uids:
            return "1 = 0", []
        return f"device_uid IN ({','.join('?' * len(uids))})", uids

    def open_incidents(self) -> list[Incident]:
        rows = self.store.conn.execute(
            "SELECT * FROM incidents WHERE state != ? ORDER BY priority, id", (CLOSED,))
        return [self.incident(r) for r in rows]

    def recently_closed(self, limit: int = 100) -> list[Incident]:
        rows = self.store.conn.execute(
            "SELECT * FROM incidents WHERE state = ? ORDER BY id DESC LIMIT ?", (CLOSED, limit))
        return [self.incident(r) for r in rows]

    def actions(self, iid: int) -> list[dict[str, Any]]:
        rows = self.store.conn.execute(
            "SELECT * FROM incident_actions WHERE incident_id = ? ORDER BY id", (iid,))
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    # -- operator actions ------------------------------------------------------------
    def accept(self, session: Session, iid: int) -> Incident:
        """Take the call. Someone else's accepted call needs the supervisor's take-over right.

        Taking it is one conditional update (the call must still be as this desk saw it), so
        when several desks accept at once exactly one wins; the others are told who has it.
        One call is live per operator: a call they had accepted goes on hold (its log says
        why), so two callers are never listened to or talked to at once.
        """
        with self._lock:
            # One reading decides everything below, and the update expects exactly it: a
            # second reading could see another desk's accept and pass it as ours to take over.
            inc = self.get(iid)
            if inc.state == ACCEPTED and inc.owner != session.user:
                row = self._device(inc)
                self.profile.access.require(session, Permission.CALL_FORCE_TAKE, row,
                                            action="incident.take_over",
                                            doing=f"take over the call {_who(inc)} has")
            self._check(session, iid, "incident.accept", inc)
            if inc.state == ACCEPTED and inc.owner == session.user and \
                    inc.workstation == self.workstation:
                return inc
            accepted = inc.accepted_utc or utc_now()
            detail = {"from": inc.state, "previous": inc.owner}
            if self.workstation:
                detail["workstation"] = self.workstation
            if not self._change(iid, session.user, "accepted", detail,
                                expect=(inc.state, inc.owner), state=ACCEPTED, owner=session.user,
                                workstation=self.workstation, lost_from=None,
                                accepted_utc=accepted):
                now = self.get(iid)
                if now.state == ACCEPTED and now.owner is not None:
                    raise CallTaken(f"{_who(now)} has just taken this call")
                raise IncidentError(f"the call changed while you were accepting it (it is now "
                                    f"{STATE_WORDS.get(now.state, now.state)}): try again")
            # only once it is ours: a desk that lost the race keeps its own caller
            for other in self.open_incidents():
                if other.id != iid and other.state == ACCEPTED and other.owner == session.user:
                    self.hold(session, other.id, f"answering incident {iid}")
            return self._done(session, iid, "incident.accept")

    def hold(self, session: Session, iid: int, reason: str = "") -> Incident:
        with self._lock:
            inc = self._owned(session, iid, "incident.hold")
            self._still(inc, self._change(iid, session.user, "on hold",
                                          {"was": inc.state, "reason": reason},
                                          expect=(inc.state, inc.owner), state=ON_HOLD))
            return self._done(session, iid, "incident.hold")

    def hand_over(self, session: Session, iid: int, to_user: str) -> Incident:
        """Give the call to another operator: it waits, reserved for them, until they accept."""
        with self._lock:
            inc = self._owned(session, iid, "incident.handover")
            target = self.profile.accounts.find(to_user)
            if target is None or target.disabled:
                raise IncidentError(f"there is no active account '{to_user}' to hand the call to")
            self._still(inc, self._change(iid, session.user, "handed over", {"to": target.name},
                                          expect=(inc.state, inc.owner), state=ON_HOLD,
                                          owner=target.name, workstation=None))
            return self._done(session, iid, "incident.handover", {"to": target.name})

    def note(self, session: Session, iid: int, text: str) -> Incident:
        text = text.strip()
        if not text:
            raise IncidentError("the note is empty")
        with self._lock:
            inc = self._owned(session, iid, "incident.note")
            notes = (inc.notes + "\n" if inc.notes else "") + f"[{utc_now()} {session.user}] {text}"
            self._change(iid, session.user, "note", {"text": text}, notes=notes)
            return self._done(session, iid, "incident.note")

    def escalate(self, session: Session, iid: int, police_ref: str, units: str = "",
                 informed_utc: str | None = None, said: str = "") -> Incident:
        """Record that the police were told: when, their CAD/incident number, units sent and
        what they were told."""
        with self._lock:
            inc = self._owned(session, iid, "incident.escalate")
            when = informed_utc or utc_now()
            detail = {"at": when, "reference": police_ref, "units": units}
            if said.strip():
                detail["said"] = said.strip()
            self._still(inc, self._change(iid, session.user, "police informed", detail,
                                          expect=(inc.state, inc.owner), police_informed_utc=when,
                                          police_ref=police_ref.strip() or None,
                                          units=units.strip() or None))
            return self._done(session, iid, "incident.escalate", {"reference": police_ref})

    def presented(self, session: Session, iid: int) -> bool:
        """The incident reached an operator's screen. Only the first time counts (it starts the
        "presented -> accepted" clock); False when it had been presented already."""
        with self._lock:
            if self.first_action(iid, "presented") is not None:
                return False
            self._check(session, iid, "incident.presented")
            self._change(iid, session.user, "presented", {})
            return True

    def first_action(self, iid: int, action: str) -> str | None:
        """When ``action`` was first recorded on the incident (UTC), if ever."""
        row = self.store.conn.execute(
            "SELECT utc FROM incident_actions WHERE incident_id = ? AND action = ? "
            "ORDER BY id LIMIT 1", (iid, action)).fetchone()
        return str(row[0]) if row else None

    def log(self, session: Session, iid: int, action: str, detail: dict[str, Any]) -> None:
        """Record something done during the call (talk, blue light, announcement, preset)."""
        inc = self._check(session, iid, f"incident.{action}")
        self._change(iid, session.user, action, detail)
        self.profile.access.record(session, f"incident.{action.replace(' ', '_')}",
                                   device=self._device(inc), detail={"incident": iid, **detail})

    def close(self, session: Session, iid: int, outcome: str, note: str = "") -> Incident:
        if outcome not in OUTCOMES:
            raise IncidentError("choose an outcome before closing the call")
        with self._lock:
            inc = self._owned(session, iid, "incident.close")
            if note.strip():
                self.note(session, iid, note)
                inc = self.get(iid)
            self._still(inc, self._change(iid, session.user, "closed",
                                          {"outcome": outcome, "was": inc.state},
                                          expect=(inc.state, inc.owner), state=CLOSED,
                                          outcome=outcome, closed_utc=utc_now()))
            return self._done(session, iid, "incident.close", {"outcome": outcome})

    # -- helpers ---------------------------------------------------------------------
    def _check(self, session: Session, iid: int, action: str,
               inc: Incident | None = None) -> Incident:
        """The incident (read now, or as the caller read it), if this user may handle it."""
        inc = inc or self.get(iid)
        row = self._device(inc)
        self.profile.access.require(session, Permission.CALL_HANDLE, row, action=action)
        if inc.state == CLOSED:
            raise IncidentError(f"incident {iid} is closed")
        return inc

    def _device(self, inc: Incident) -> DeviceRow:
        if inc.device_id == 0:  # a site's call for a camera another profile registered
            raise IncidentError(f"the camera of this call ({inc.device}, {inc.area}) is not "
                                "registered on this workstation's profile: register it here to "
                                "handle its calls")
        return self.profile.registry.device(inc.device_id)

    def owned(self, session: Session, iid: int, action: str) -> Incident:
        """The incident, if this user has accepted it and it is open; otherwise an error."""
        return self._owned(session, iid, action)

    def _owned(self, session: Session, iid: int, action: str) -> Incident:
        inc = self._check(session, iid, action)
        if inc.state == NEW:
            raise IncidentError("accept the call first")
        if inc.owner != session.user:
            raise PermissionDenied(f"{inc.owner} is handling this call, not {session.user}")
        return inc

    def _still(self, seen: Incident, changed: bool) -> None:
        """After a conditional change: if the call moved on meanwhile (a supervisor took it
        over at another desk), say so instead of overwriting it."""
        if not changed:
            now = self.get(seen.id)
            if now.owner and now.owner != seen.owner:
                raise CallTaken(f"{_who(now)} has taken this call over")
            raise IncidentError(f"the call changed meanwhile (it is now {now.state_words}): "
                                "look again")

    def _change(self, iid: int, user: str, action: str, detail: dict[str, Any], *,
                expect: tuple[str, str | None] | None = None, **cols: Any) -> bool:
        """Update the incident's columns and log the action, in one transaction that also
        tells the other desks of a site (the id only; they re-read). With ``expect`` (state,
        owner) the update happens only if the incident is still so; returns whether it did."""
        if not set(cols) <= _COLUMNS:
            raise ValueError(f"not incident columns: {set(cols) - _COLUMNS}")
        with self.store.transaction() as tx:
            if cols:
                keys = ", ".join(f"{k} = ?" for k in cols)  # names from _COLUMNS only
                where, args = "id = ?", list[Any]([iid])
                if expect is not None:
                    where += (" AND state = ? AND (owner = ? OR (owner IS NULL AND "
                              "CAST(? AS TEXT) IS NULL))")
                    args += [expect[0], expect[1], expect[1]]
                row = tx.execute(f"UPDATE incidents SET {keys} WHERE {where} "  # noqa: S608
                                 "RETURNING id", (*cols.values(), *args)).fetchone()
                if row is None:
                    return False
            self._log(tx, iid, user, action, detail)
        return True

    def _log(self, tx: Any, iid: int, user: str, action: str, detail: dict[str, Any]) -> None:
        tx.execute('INSERT INTO incident_actions (incident_id, utc, "user", action, detail) '
                   "VALUES (?,?,?,?,?)", (iid, utc_now(), user, action, json.dumps(detail)))
        self.store.notify(tx, CHANNEL, str(iid))

    def _done(self, session: Session, iid: int, action: str,
              detail: dict[str, Any] | None = None) -> Incident:
        inc = self.get(iid)
        row = self._device(inc)
        self.profile.access.record(session, action, device=row,
                                   detail={"incident": iid, **(detail or {})})
        self._tell(inc)
        return inc

    def _tell(self, inc: Incident) -> None:
        for fn in list(self.listeners):
            fn(inc)
