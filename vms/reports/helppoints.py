"""The Help Point programme report: how the Help Points are used and what came of each call.

Read from the raw records only: the call queue (``incidents`` and each call's action log)
and the audit trail (evidence exports that named the call). Every figure is defined here in
words, so a funder's analyst can recompute it from the CSV, which has one row per call.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from vms.access.roles import Permission
from vms.access.session import Session
from vms.audit.log import Filter
from vms.events.store import EventStore
from vms.events.topics import HELP_BUTTON
from vms.incidents.queue import CLOSED, OUTCOMES
from vms.profile import Profile
from vms.reports.figures import (
    WEEKDAYS,
    E,
    Period,
    bar_chart,
    local,
    page,
    plural,
    rate,
    rate_words,
    seconds_between,
    spread,
    table,
)
from vms.safety.spreadsheet import text_cell

ANSWER_EDGES_S = (10.0, 20.0, 30.0, 60.0, 120.0)
LENGTH_EDGES_S = (60.0, 120.0, 300.0, 600.0, 1800.0)
LIGHT_ON = frozenset({"on", "pulse"})

DEFINITIONS = [
    "A call is a Help Point press that raised a call in the period (UK local dates); a second "
    "press while the call was open joins it and is not counted again.",
    "Time to answer: from the press being raised to an operator accepting the call. Calls "
    "never accepted are counted as not answered and have no time to answer.",
    "Call length: from accepted to closed, for closed calls that were accepted.",
    "Median and 90th percentile: the 90th percentile is the nearest-rank value (the smallest "
    "time with at least 90 % of calls at or below it).",
    "Police informed: the operator recorded telling the police; units sent: a unit or call "
    "sign was recorded with it.",
    "Blue light used: the light was switched on or set flashing at least once during the call.",
    "Evidence exported: at least one evidence package named the call (from the audit trail, "
    "also when exported after the period).",
]


@dataclass(frozen=True)
class Call:
    id: int
    device_id: int
    help_point: str
    place: str
    raised_utc: str
    raised_local: str
    hour: int
    weekday: str
    state: str
    accepted_utc: str | None
    closed_utc: str | None
    answer_s: float | None
    length_s: float | None
    outcome: str | None
    police_informed: bool
    police_ref: str | None
    units: str | None
    blue_light: bool
    evidence_exports: int


def calls(store: EventStore, profile: Profile, period: Period) -> list[Call]:
    start, end = period.utc_bounds()
    c = store.conn
    rows = c.execute("SELECT * FROM incidents WHERE kind = ? AND raised_utc >= ? AND "
                     "raised_utc < ? ORDER BY raised_utc, id", (HELP_BUTTON, start, end)).fetchall()
    lit: set[int] = set()
    for r in c.execute("SELECT incident_id, detail FROM incident_actions WHERE action = ? AND "
                       "incident_id IN (SELECT id FROM incidents WHERE kind = ? AND "
                       "raised_utc >= ? AND raised_utc < ?)",
                       ("blue light", HELP_BUTTON, start, end)):
        if json.loads(r["detail"]).get("mode") in LIGHT_ON:
            lit.add(int(r["incident_id"]))
    exports: dict[int, int] = {}
    for e in profile.audit.entries(Filter(action="evidence.export", since=start)):
        iid = e.details().get("incident")
        if e.outcome == "ok" and isinstance(iid, int):
            exports[iid] = exports.get(iid, 0) + 1
    out = []
    for r in rows:
        t = local(r["raised_utc"])
        closed = r["closed_utc"] if r["state"] == CLOSED else None
        out.append(Call(
            id=int(r["id"]), device_id=int(r["device_id"]), help_point=r["device"],
            place=r["area"], raised_utc=r["raised_utc"],
            raised_local=t.strftime("%Y-%m-%d %H:%M:%S ") + (t.tzname() or ""),
            hour=t.hour, weekday=WEEKDAYS[t.weekday()], state=r["state"],
            accepted_utc=r["accepted_utc"], closed_utc=closed,
            answer_s=seconds_between(r["raised_utc"], r["accepted_utc"]),
            length_s=seconds_between(r["accepted_utc"], closed),
            outcome=r["outcome"], police_informed=bool(r["police_informed_utc"]),
            police_ref=r["police_ref"], units=r["units"], blue_light=int(r["id"]) in lit,
            evidence_exports=exports.get(int(r["id"]), 0)))
    return out


def summarise(cs: list[Call]) -> dict[str, Any]:
    answered = [c for c in cs if c.answer_s is not None]
    outcomes = {code: 0 for code in OUTCOMES}
    for c in cs:
        if c.outcome:
            outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    n = len(cs)
    return {
        "calls": n,
        "answered": rate(len(answered), n),
        "still_open": sum(c.state != CLOSED for c in cs),
        "by_hour": [sum(c.hour == h for c in cs) for h in range(24)],
        "by_weekday": {d: sum(c.weekday == d for c in cs) for d in WEEKDAYS},
        "time_to_answer": spread([c.answer_s for c in answered if c.answer_s is not None],
                                 ANSWER_EDGES_S),
        "call_length": spread([c.length_s for c in cs if c.length_s is not None],
                              LENGTH_EDGES_S),
        "outcomes": {k: v for k, v in outcomes.items() if v},
        "police_informed": rate(sum(c.police_informed for c in cs), n),
        "units_sent": rate(sum(bool(c.units) for c in cs), n),
        "blue_light": rate(sum(c.blue_light for c in cs), n),
        "evidence_exported": rate(sum(c.evidence_exports > 0 for c in cs), n),
    }


def report(profile: Profile, session: Session, store: EventStore, period: Period
           ) -> dict[str, Any]:
    """The whole report; reading it is audited (it is the council's own management data)."""
    profile.access.require(session, Permission.REPORTS_VIEW, action="report.helppoints")
    cs = calls(store, profile, period)
    points: dict[int, list[Call]] = {}
    for c in cs:
        points.setdefault(c.device_id, []).append(c)
    per_point = [{"device_id": did, "help_point": group[0].help_point,
                  "place": group[0].place, **summarise(group)}
                 for did, group in sorted(points.items(), key=lambda kv: kv[1][0].help_point)]
    profile.access.record(session, "report.helppoints",
                          detail={**period.describe(), "calls": len(cs)})
    return {"report": "helppoints", "period": period.describe(), "overall": summarise(cs),
            "help_points": per_point, "calls": [asdict(c) for c in cs],
            "outcome_words": OUTCOMES, "definitions": DEFINITIONS}


# -- rendering -------------------------------------------------------------------------------

CSV_FIELDS = [f for f in Call.__dataclass_fields__]


def to_csv(rep: dict[str, Any]) -> str:
    """One row per call: the raw figures every total in the report is counted from."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for c in rep["calls"]:
        w.writerow({k: text_cell(v) for k, v in c.items() if k in CSV_FIELDS})
    return buf.getvalue()


def _secs(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:g} s" if v < 120 else f"{v / 60:.1f} min"


def _summary_rows(s: dict[str, Any]) -> list[list[object]]:
    ta, cl = s["time_to_answer"], s["call_length"]
    return [
        ["Calls", s["calls"]],
        ["Answered", rate_words(s["answered"])],
        ["Still open", s["still_open"]],
        ["Time to answer: median / 90th percentile / longest",
         f"{_secs(ta['median'])} / {_secs(ta['p90'])} / {_secs(ta['max'])}"],
        ["Call length: median / 90th percentile / longest",
         f"{_secs(cl['median'])} / {_secs(cl['p90'])} / {_secs(cl['max'])}"],
        ["Police informed", rate_words(s["police_informed"])],
        ["Units sent", rate_words(s["units_sent"])],
        ["Blue light used", rate_words(s["blue_light"])],
        ["Evidence exported", rate_words(s["evidence_exported"])],
    ]


def to_html(rep: dict[str, Any]) -> str:
    o = rep["overall"]
    words = rep["outcome_words"]
    first, last = rep["period"]["from"], rep["period"]["to"]
    body = [f"<h2>Summary</h2>{table(['Figure', 'Value'], _summary_rows(o))}",
            "<div class='charts'>",
            bar_chart("Calls by hour of day (UK time)", [f"{h:02d}" for h in range(24)],
                      o["by_hour"], width=700),
            bar_chart("Calls by day of week", list(o["by_weekday"]),
                      list(o["by_weekday"].values()), width=360),
            bar_chart("Time to answer", [b["label"] for b in o["time_to_answer"]["buckets"]],
                      [b["count"] for b in o["time_to_answer"]["buckets"]]),
            bar_chart("Call length", [b["label"] for b in o["call_length"]["buckets"]],
                      [b["count"] for b in o["call_length"]["buckets"]]),
            "</div><h2>Outcomes</h2>",
            table(["Outcome", "Calls"], [[words.get(k, k), v] for k, v in o["outcomes"].items()]
                  or [["No call closed in the period", 0]]),
            "<h2>Each Help Point</h2>",
            table(["Help Point", "Place", "Calls", "Answered", "Median answer", "Police",
                   "Blue light", "Evidence"],
                  [[p["help_point"], p["place"], p["calls"], rate_words(p["answered"]),
                    _secs(p["time_to_answer"]["median"]), p["police_informed"]["count"],
                    p["blue_light"]["count"], p["evidence_exported"]["count"]]
                   for p in rep["help_points"]] or [["No calls in the period", "", 0, "", "",
                                                     0, 0, 0]]),
            "<h2>How each figure is counted</h2><ul class='limits'>"
            + "".join(f"<li>{E(d)}</li>" for d in rep["definitions"]) + "</ul>"]
    return page("Help Point programme report",
                f"{first} to {last} · {plural(o['calls'], 'call')} · figures recomputable "
                "from the CSV (one row per call)", body)
