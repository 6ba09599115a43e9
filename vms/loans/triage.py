"""Triage of intrusion alarms from loaned cameras: the decision, its clock, and the false-alarm
count that decides whether the police keep responding to a premises.

An alarm is judged genuine (the police are called: when, their reference, what they were
told), suspicious (keep watching, challenge over the speaker where there is one) or false
(with its cause). Every step is timed, each from the one before: raised -> presented (on an
operator's screen) -> accepted -> decision -> police informed, against targets set in the
``triage_targets`` setting. False alarms count against the premises' police URN over a rolling
12 months; the operator is warned while one more would reach the count at which the police
may withdraw their response. A premises "on test" (commissioning) has its alarms logged and
judged, but never escalated, and its false alarms do not count.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from dataclasses import dataclass
from typing import Any

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import IncidentError
from vms.events.store import EventStore, utc_now
from vms.events.topics import INTRUSION
from vms.evidence.utc import iso
from vms.evidence.utc import parse as parse_utc
from vms.incidents.queue import CLOSED, Incident, IncidentQueue
from vms.loans.loans import LONDON, Deployment, Loans, Premises
from vms.loans.store import LoanStore
from vms.loans.targets import STEPS, parse_targets
from vms.profile import Profile

GENUINE, SUSPICIOUS, FALSE = "genuine", "suspicious", "false"
DECISIONS = {GENUINE: "Genuine: police called", SUSPICIOUS: "Suspicious: keep watching",
             FALSE: "False alarm"}
CAUSES = {"animal": "Animal", "weather": "Weather (wind, rain, snow, low sun)",
          "authorised": "Authorised person (resident, visitor, worker)",
          "equipment": "Equipment fault", "other": "Other (see notes)"}
STEP_WORDS = {"raised": "Alarm raised", "presented": "Presented to an operator",
              "accepted": "Accepted", "decision": "Decision", "police": "Police informed"}
POLICE_RESULTS = {"arrest": "Arrest made", "attended": "Police attended, no arrest",
                  "no-trace": "Police attended, no trace of offenders",
                  "not-attended": "Police did not attend", "other": "Other (see note)"}
FALSE_ALARM_LIMIT = 3  # false calls in 12 months at which the police may withdraw response
WINDOW_DAYS = 365


def _before(utc: str, created_utc: str) -> bool:
    """Whether an alarm at ``utc`` came before a premises recorded at ``created_utc``."""
    try:
        return bool(created_utc) and _ts(utc) < _ts(created_utc)
    except ValueError:
        return False


def _ts(utc: str) -> float:
    return parse_utc(utc).timestamp()


@dataclass(frozen=True)
class PoliceResult:
    result: str
    note: str
    user: str
    utc: str

    @property
    def words(self) -> str:
        return POLICE_RESULTS.get(self.result, self.result)


@dataclass(frozen=True)
class Step:
    name: str
    at_utc: str | None
    seconds: float | None  # from the step before; while pending, the time running so far
    target: float | None
    pending: bool = False

    @property
    def label(self) -> str:
        return STEP_WORDS[self.name]

    @property
    def breached(self) -> bool:
        return self.target is not None and self.seconds is not None and \
            self.seconds > self.target


@dataclass(frozen=True)
class AlarmPremises:
    """The loan an alarm came from, and where its premises stands with the police."""
    deployment: Deployment
    premises: Premises
    false_alarms: int  # against the URN, rolling 12 months, premises on test not counted

    @property
    def warning(self) -> str | None:
        n = self.false_alarms
        if n >= FALSE_ALARM_LIMIT:
            return (f"{n} false alarms in 12 months on URN {self.premises.urn}: the police may "
                    "withdraw their response. Tell the loans coordinator.")
        if n == FALSE_ALARM_LIMIT - 1:
            return (f"{n} false alarms in 12 months on URN {self.premises.urn}: one more may cost "
                    "the premises its police response.")
        return None


@dataclass(frozen=True)
class Decision:
    decision: str
    cause: str | None
    said: str | None
    user: str
    utc: str


class Triage:
    def __init__(self, profile: Profile, session: Session, queue: IncidentQueue,
                 store: LoanStore | None = None) -> None:
        self.profile = profile
        self.session = session
        self.queue = queue
        self.loans = Loans(profile, session, store)
        self.store = self.loans.store
        setting = profile.accounts.settings().value("triage_targets")
        self.targets = parse_targets(setting)

    def close(self) -> None:
        self.loans.close()

    # -- where an alarm came from ----------------------------------------------------------------
    def premises_for(self, device_id: int, on: dt.date | None = None) -> AlarmPremises | None:
        """The deployment that had this device on ``on`` (UK date), or None if not on loan."""
        self.profile.access.require(self.session, Permission.LOANS_VIEW, action="loans.view")
        day = (on or dt.datetime.now(LONDON).date()).isoformat()
        row = self.store.conn.execute(
            "SELECT d.id FROM deployments d JOIN deployment_devices dd ON dd.deployment_id = d.id "
            "WHERE dd.device_id = ? AND d.installed <= ? AND (d.removed IS NULL OR "
            "d.removed >= ?) ORDER BY d.installed DESC, d.id DESC LIMIT 1",
            (device_id, day, day)).fetchone()
        if row is None:
            return None
        dep = self.loans.deployment(int(row[0]))
        premises = self.loans.premises(dep.premises_id)
        return AlarmPremises(dep, premises, self.false_alarms(premises.urn))

    def premises_of(self, inc: Incident) -> AlarmPremises | None:
        """The loan an alarm belongs to: its device's loan that day, unless the alarm came
        before the loan was recorded (a camera tested before it went out is no one's)."""
        raised = dt.datetime.fromtimestamp(_ts(inc.raised_utc), LONDON).date()
        where = self.premises_for(inc.device_id, raised)
        if where is not None and _before(inc.raised_utc, where.premises.created_utc):
            return None
        return where

    def false_alarms(self, urn: str, now: dt.datetime | None = None) -> int:
        """False alarms against the URN in the 12 months before ``now`` (last decision counts)."""
        since = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=WINDOW_DAYS))
        row = self.store.conn.execute(
            "SELECT COUNT(*) FROM alarm_decisions a WHERE a.urn = ? AND a.decision = ? AND "
            "a.on_test = 0 AND a.utc >= ? AND a.id = (SELECT MAX(b.id) FROM alarm_decisions b "
            "WHERE b.incident_id = a.incident_id)",
            (urn, FALSE, iso(since)))
        return int(row.fetchone()[0])

    # -- the decision ------------------------------------------------------------------------------
    def decisions(self, iid: int) -> list[Decision]:
        rows = self.store.conn.execute(
            "SELECT decision, cause, said, user, utc FROM alarm_decisions WHERE incident_id = ? "
            "ORDER BY id", (iid,))
        return [Decision(**dict(r)) for r in rows]

    def classify(self, iid: int, decision: str, cause: str = "", note: str = "") -> Incident:
        """Suspicious keeps the alarm open; false closes it with its cause. Genuine goes
        through ``escalate``, which needs the police reference."""
        if decision == GENUINE:
            raise IncidentError("a genuine alarm is escalated: record the police reference")
        if decision not in DECISIONS:
            raise IncidentError(f"unknown decision {decision!r}")
        if decision == FALSE and cause not in CAUSES:
            raise IncidentError("choose the cause of the false alarm")
        inc = self.queue.owned(self.session, iid, "alarm.classify")
        where = self.premises_of(inc)
        self._decide(inc, where, decision, cause if decision == FALSE else None, None)
        if decision == SUSPICIOUS:
            self.queue.log(self.session, iid, "triage", {"decision": DECISIONS[decision]})
            if note.strip():
                self.queue.note(self.session, iid, note)
            return self.queue.get(iid)
        text = f"False alarm: {CAUSES[cause]}." + (f" {note.strip()}" if note.strip() else "")
        self.queue.log(self.session, iid, "triage", {"decision": DECISIONS[decision],
                                                     "cause": CAUSES[cause]})
        return self.queue.close(self.session, iid, "false-alarm", text)

    def escalate(self, iid: int, police_ref: str, said: str, units: str = "") -> Incident:
        """Genuine: the police were called now. Refused at a premises on test (commissioning)."""
        if not police_ref.strip():
            raise IncidentError("enter the police reference (CAD / incident number)")
        if not said.strip():
            raise IncidentError("write down what the police were told")
        inc = self.queue.owned(self.session, iid, "alarm.escalate")
        where = self.premises_of(inc)
        if where is not None and where.premises.on_test:
            raise IncidentError(f"{where.premises.name} is on test: its alarms are logged, not "
                                "passed to the police")
        self._decide(inc, where, GENUINE, None, said.strip())
        return self.queue.escalate(self.session, iid, police_ref, units, said=said)

    def police_result(self, iid: int, result: str, note: str = "") -> PoliceResult:
        """What the police did after an escalation, as they report it back (often after the
        call is closed, so the incident need not be open). The coordinator or an operator who
        handles the device's calls may record it; a later result replaces an earlier one."""
        if result not in POLICE_RESULTS:
            raise IncidentError(f"choose the police result (one of: {', '.join(POLICE_RESULTS)})")
        if result == "other" and not note.strip():
            raise IncidentError("say what the police did in the note")
        inc = self.queue.get(iid)
        row = self.profile.registry.device(inc.device_id)
        access = self.profile.access
        if not access.can(self.session, Permission.LOANS_MANAGE):
            access.require(self.session, Permission.CALL_HANDLE, row, action="alarm.police_result")
        if not inc.police_informed_utc:
            raise IncidentError(f"incident {iid} was not escalated to the police")
        with self.store.transaction() as c:
            c.execute("INSERT INTO police_results (incident_id, result, note, user, utc) "
                      "VALUES (?,?,?,?,?)", (iid, result, note.strip(), self.session.user,
                                             utc_now()))
        access.record(self.session, "alarm.police_result", device=row,
                      detail={"incident": iid, "result": result, "reference": inc.police_ref})
        found = self.police_results([iid])
        return found[iid]

    def police_results(self, incident_ids: list[int]) -> dict[int, PoliceResult]:
        """The standing (last) police result of each of these incidents that has one."""
        out: dict[int, PoliceResult] = {}
        for start in range(0, len(incident_ids), 500):
            chunk = incident_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.store.conn.execute(
                    f"SELECT incident_id, result, note, user, utc FROM police_results "  # noqa: S608
                    f"WHERE incident_id IN ({marks}) ORDER BY id", chunk):
                out[int(r[0])] = PoliceResult(str(r[1]), str(r[2]), str(r[3]), str(r[4]))
        return out

    def _decide(self, inc: Incident, where: AlarmPremises | None, decision: str, cause: str | None,
                said: str | None) -> None:
        with self.store.transaction() as c:
            c.execute("INSERT INTO alarm_decisions (incident_id, deployment_id, premises_id, urn, "
                      "on_test, decision, cause, said, user, utc) VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (inc.id, where.deployment.id if where else None,
                       where.premises.id if where else None, where.premises.urn if where else None,
                       int(bool(where and where.premises.on_test)), decision, cause, said,
                       self.session.user, utc_now()))
        row = self.profile.registry.device(inc.device_id)
        self.profile.access.record(self.session, "alarm.classify", device=row, detail={
            "incident": inc.id, "decision": decision, "cause": cause,
            "urn": where.premises.urn if where else None})

    # -- the clock ---------------------------------------------------------------------------------
    def timings(self, inc: Incident, now: float | None = None,
                decided: list[Decision] | None = None) -> list[Step]:
        """Raised, then each step timed from the one before; a pending step shows the time
        running, so a target being missed is visible before it is missed for good."""
        decided = self.decisions(inc.id) if decided is None else decided
        at: dict[str, str | None] = {"raised": inc.raised_utc,
              "presented": self.queue.first_action(inc.id, "presented"),
              "accepted": inc.accepted_utc,
              "decision": decided[0].utc if decided else None,
              "police": inc.police_informed_utc}
        police_needed = any(d.decision == GENUINE for d in decided) or (
            not decided and inc.state != CLOSED)
        steps = [Step("raised", inc.raised_utc, None, None)]
        prev: str | None = inc.raised_utc
        now = time.time() if now is None else now
        for name in STEPS:
            when = at[name]
            if name == "police" and not police_needed:
                break
            if when is not None and prev is not None:
                steps.append(Step(name, when, max(0.0, _ts(when) - _ts(prev)),
                                  self.targets[name]))
            elif prev is not None and inc.state != CLOSED:
                steps.append(Step(name, None, max(0.0, now - _ts(prev)), self.targets[name],
                                  pending=True))
            else:
                steps.append(Step(name, None, None, self.targets[name]))
            prev = when
        return steps

    # -- per deployment ---------------------------------------------------------------------------
    def report(self, deployment_id: int, today: dt.date | None = None) -> dict[str, Any]:
        """Alarms by decision and outcome, response times against targets, escalations and
        where the loan stands: what the coordinator sends the force at the end of a loan."""
        self.profile.access.require(self.session, Permission.LOANS_VIEW, action="loans.report")
        today = today or dt.datetime.now(LONDON).date()
        dep = self.loans.deployment(deployment_id)
        premises = self.loans.premises(dep.premises_id)
        start = dt.datetime.combine(dep.installed, dt.time(), LONDON)
        last = dep.removed or today
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), LONDON)
        devices, args = self.queue.device_keys([d for d, _ in dep.devices])
        rows = self.queue.store.conn.execute(
            f"SELECT * FROM incidents WHERE {devices} AND kind = ? "  # noqa: S608
            "AND raised_utc >= ? AND raised_utc < ? ORDER BY id",
            (*args, INTRUSION, iso(start), iso(end)))
        incidents = [inc for inc in (self.queue.incident(r) for r in rows)
                     if not _before(inc.raised_utc, premises.created_utc)]
        by_decision: dict[str, int] = {k: 0 for k in (*DECISIONS, "undecided")}
        by_cause: dict[str, int] = {}
        by_outcome: dict[str, int] = {}
        times: dict[str, list[float]] = {s: [] for s in STEPS}
        breaches: dict[str, int] = {s: 0 for s in STEPS}
        escalations = []
        results = self.police_results([inc.id for inc in incidents])
        by_police_result: dict[str, int] = {}
        for inc in incidents:
            decided = self.decisions(inc.id)
            last_decision = decided[-1] if decided else None
            by_decision[last_decision.decision if last_decision else "undecided"] += 1
            if last_decision and last_decision.cause:
                by_cause[last_decision.cause] = by_cause.get(last_decision.cause, 0) + 1
            if inc.outcome:
                by_outcome[inc.outcome] = by_outcome.get(inc.outcome, 0) + 1
            for step in self.timings(inc, decided=decided):
                if step.name in times and step.seconds is not None and not step.pending:
                    times[step.name].append(step.seconds)
                    breaches[step.name] += step.breached
            if inc.police_informed_utc:
                said = next((d.said for d in decided if d.decision == GENUINE), None)
                got = results.get(inc.id)
                key = got.result if got else "awaited"
                by_police_result[key] = by_police_result.get(key, 0) + 1
                escalations.append({"incident": inc.id, "raised_utc": inc.raised_utc,
                                    "police_informed_utc": inc.police_informed_utc,
                                    "reference": inc.police_ref, "said": said,
                                    "police_result": got.result if got else None,
                                    "police_note": got.note if got else ""})
        return {
            "deployment": dep.id, "premises": premises.name, "address": premises.address, "urn": premises.urn,
            "on_test": premises.on_test, "installed": dep.installed.isoformat(),
            "funded_end": dep.funded_end.isoformat(),
            "extended_until": dep.extended_until.isoformat() if dep.extended_until else None,
            "extension_reference": dep.extension_ref,
            "removed": dep.removed.isoformat() if dep.removed else None,
            "status": dep.status(today), "day": min(dep.day(today), dep.day(last)),
            "devices": [n for _, n in dep.devices],
            "alarms": len(incidents), "by_decision": by_decision, "false_causes": by_cause,
            "by_outcome": by_outcome,
            "response_s": {s: _summary(v, self.targets[s], breaches[s]) for s, v in times.items()},
            "escalations": escalations, "by_police_result": by_police_result,
            "false_alarms_12_months": self.false_alarms(premises.urn),
        }


def _summary(values: list[float], target: float, breaches: int) -> dict[str, Any]:
    return {"n": len(values), "target_s": target, "breaches": breaches,
            "median_s": round(statistics.median(values), 1) if values else None,
            "max_s": round(max(values), 1) if values else None}


def alarm_time(queue: IncidentQueue, inc: Incident) -> float:
    """When the camera says the alarm happened (epoch seconds), on the same clock its
    recording is indexed by; our receive time when the event carried no time, or when the
    queue is a site's (the event is in the raising host's own store, not here)."""
    if inc.event_id is not None and isinstance(queue.store, EventStore):
        row = queue.store.conn.execute("SELECT device_time FROM events WHERE id = ?",
                                       (inc.event_id,)).fetchone()
        if row is not None and row[0]:
            try:
                return _ts(str(row[0]))
            except ValueError:
                pass  # a camera time we cannot read: fall back to when we raised it (below)
    return _ts(inc.raised_utc)
