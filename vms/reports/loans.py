"""The loaned-camera programme report: every deployment in a period, the extension rate after
the funded 30 days, crime at each premises before, during and after its deployment (police.uk),
and the alarms each deployment raised with how they were handled.

Built from the loan records, the call queue (through ``Triage.report``, the per-loan report
the coordinator already sends) and the published crime files. Premises on test are listed but
left out of every programme figure: they are installers' and trainers' kit, not victims'.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any

import numpy as np

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import ConfigError
from vms.evaluation.compare import LIMITS as CRIME_LIMITS
from vms.evaluation.compare import Catchment, evaluate
from vms.evaluation.policeuk import Crimes
from vms.evaluation.report import deployment_months
from vms.loans.feedback import Feedback
from vms.loans.loans import Deployment, today_london
from vms.loans.targets import STEPS
from vms.loans.triage import DECISIONS, POLICE_RESULTS, STEP_WORDS, Triage
from vms.profile import Profile
from vms.reports.figures import (
    E,
    Period,
    bar_chart,
    day_words,
    page,
    plural,
    rate,
    rate_words,
    table,
)
from vms.safety.spreadsheet import text_cell

EXTENDED, NOT_EXTENDED, REMOVED_EARLY, IN_FUNDED = (
    "extended", "not extended", "removed early", "within funded days")

DEFINITIONS = [
    "Deployments: every loan whose kit was in place on at least one day of the period. Premises "
    "marked on test are listed but left out of every programme figure.",
    "Extension rate: of the deployments whose funded 30 days are over (or that were extended "
    "already), the share extended. A loan removed before its funded days ran out, or still "
    "within them and not extended, is not counted either way.",
    "Alarms: intrusion alarms from the deployment's devices while deployed; the decision is "
    "the operator's last triage decision on each alarm.",
    "Response times: each step timed from the one before, against the programme's targets; a "
    "breach is a step that took longer than its target.",
    "Police results: what the police reported back after each escalation (arrest, attended, "
    "no trace, did not attend), as recorded by the control room; 'awaited' where nothing has "
    "been recorded yet.",
    "Victim feedback: the surveys recorded for the listed deployments, whenever answered. "
    "'Declined' victims are counted but nothing else of theirs is kept. Felt safer / the same "
    "/ less safe compares each respondent's own answers on safety before and with the camera. "
    "Free-text answers and names are personal data and are never in a report; with a handful "
    "of responses the counts describe those victims, not the programme.",
    "Alarms, escalations and response times cover each listed deployment from its "
    "installation to its removal (or today), also the days outside the period; extensions "
    "are as recorded when the report is made.",
    "Premises targeted during deployment: of the premises with a crime file for at least one month "
    "of their deployment, those with at least one crime of the chosen types within the radius "
    "in those months.",
    "Premises are named by deployment number and police URN only: a loan premises is usually a "
    "victim's home, so its name and address stay in Beacon VMS.",
    "Crime per site-month: crimes in a period divided by the months of that period for which "
    "a police.uk file was given (months without a file are not counted as months without "
    "crime).",
]


@dataclasses.dataclass(frozen=True)
class CrimeSettings:
    """Which crimes are counted around each premises: within ``radius_m``, of these types (all
    when empty), with an optional control ring from ``radius_m`` out to ``control_radius_m``."""

    crimes: Crimes
    radius_m: float = 200.0
    categories: tuple[str, ...] = ("Burglary",)
    control_radius_m: float | None = None

    def chosen(self) -> Crimes:
        if not self.categories:
            return self.crimes
        known = set(self.crimes.crime_type.tolist())
        unknown = [c for c in self.categories if c not in known]
        if unknown:
            raise ConfigError(f"no crime in the files is of type {', '.join(unknown)} "
                              f"(types present: {', '.join(sorted(known))})")
        keep = np.isin(self.crimes.crime_type, list(self.categories))
        return dataclasses.replace(
            self.crimes, month=self.crimes.month[keep], crime_type=self.crimes.crime_type[keep],
            force=self.crimes.force[keep], lat=self.crimes.lat[keep], lon=self.crimes.lon[keep])


def extension_decision(dep: Deployment, today: dt.date) -> str:
    if dep.extended_until is not None:
        return EXTENDED
    if dep.removed is not None and dep.removed < dep.funded_end:
        return REMOVED_EARLY
    if (dep.removed is not None and dep.removed >= dep.funded_end) or today > dep.funded_end:
        return NOT_EXTENDED
    return IN_FUNDED


def _in_period(dep: Deployment, period: Period, today: dt.date) -> bool:
    last = dep.removed or max(today, dep.installed)
    return dep.installed <= period.last and last >= period.first


def _crime(settings: CrimeSettings, chosen: Crimes, lat: float, lon: float,
           installed: dt.date, last: dt.date) -> dict[str, Any]:
    control = (Catchment(lat, lon, settings.control_radius_m, inner_m=settings.radius_m)
               if settings.control_radius_m else None)
    result = evaluate(chosen, Catchment(lat, lon, settings.radius_m),
                      during=deployment_months(installed, last), control=control,
                      present=sorted(set(settings.crimes.month.tolist())))
    missing = set(result["missing_months"])
    out: dict[str, Any] = {"periods": result["periods"],
                           "missing_months": result["missing_months"],
                           # Months with no crime file count for nothing: a month of zero
                           # because nothing was published is not a month without crime.
                           "data_months": {p: sum(m not in missing for m in v["months"])
                                           for p, v in result["periods"].items()},
                           "targeted_during": result["periods"]["during"]["total"] > 0}
    if control is not None:
        out["control_periods"] = result["control"]["periods"]
    return out


def report(profile: Profile, session: Session, triage: Triage, period: Period,
           crime: CrimeSettings | None = None, today: dt.date | None = None) -> dict[str, Any]:
    profile.access.require(session, Permission.REPORTS_VIEW, action="report.loans")
    today = today or today_london()
    chosen = crime.chosen() if crime is not None else None
    rows = []
    for dep in triage.loans.deployments(include_removed=True):
        if not _in_period(dep, period, today):
            continue
        premises = triage.loans.premises(dep.premises_id)
        alarms = triage.report(dep.id, today)
        row: dict[str, Any] = {
            "deployment": dep.id, "premises": premises.name, "urn": premises.urn, "on_test": premises.on_test,
            "installed": dep.installed.isoformat(), "funded_end": dep.funded_end.isoformat(),
            "extended_until": dep.extended_until.isoformat() if dep.extended_until else None,
            "removed": dep.removed.isoformat() if dep.removed else None,
            "extension": extension_decision(dep, today),
            "days_deployed": ((dep.removed or today) - dep.installed).days + 1,
            "devices": [n for _, n in dep.devices],
            "alarms": alarms["alarms"], "by_decision": alarms["by_decision"],
            "response_s": alarms["response_s"],
            "escalations": len(alarms["escalations"]),
            "by_police_result": alarms["by_police_result"],
            "by_outcome": alarms["by_outcome"]}
        if crime is not None and chosen is not None:
            row["crime"] = _crime(crime, chosen, premises.lat, premises.lon, dep.installed,
                                  dep.removed or today)
        rows.append(row)
    counted = [r for r in rows if not r["on_test"]]
    feedback = Feedback(triage.loans)
    responses = feedback.responses([r["deployment"] for r in rows])
    answered: dict[int, list[bool]] = {}
    for resp in responses:
        answered.setdefault(resp.deployment_id, []).append(resp.consent)
    for r in rows:
        got = answered.get(r["deployment"], [])
        r["feedback_answered"], r["feedback_declined"] = sum(got), len(got) - sum(got)
    summary = _summary(counted, crime is not None)
    in_figures = {r["deployment"] for r in counted}
    summary["feedback"] = feedback.summarise([x for x in responses
                                              if x.deployment_id in in_figures])
    profile.access.record(session, "report.loans",
                          detail={**period.describe(), "deployments": len(rows)})
    out: dict[str, Any] = {
        "report": "loans", "period": period.describe(), "today": today.isoformat(),
        "summary": summary, "deployments": rows, "definitions": DEFINITIONS,
        "decision_words": DECISIONS, "step_words": {s: STEP_WORDS[s] for s in STEPS},
        "police_result_words": {**POLICE_RESULTS, "awaited": "Result not yet recorded"}}
    if crime is not None:
        out["crime_settings"] = {"radius_m": crime.radius_m,
                                 "categories": list(crime.categories) or ["all"],
                                 "control_radius_m": crime.control_radius_m,
                                 "files": crime.crimes.files, "limits": CRIME_LIMITS}
    return out


def _summary(rows: list[dict[str, Any]], with_crime: bool) -> dict[str, Any]:
    decided = [r for r in rows if r["extension"] in (EXTENDED, NOT_EXTENDED)]
    by_decision = {k: sum(r["by_decision"].get(k, 0) for r in rows)
                   for k in (*DECISIONS, "undecided")}
    response = {s: {"n": sum(r["response_s"][s]["n"] for r in rows),
                    "breaches": sum(r["response_s"][s]["breaches"] for r in rows),
                    "target_s": rows[0]["response_s"][s]["target_s"] if rows else None}
                for s in STEPS}
    out: dict[str, Any] = {
        "deployments": len(rows),
        "extension_rate": rate(sum(r["extension"] == EXTENDED for r in decided), len(decided)),
        "removed_early": sum(r["extension"] == REMOVED_EARLY for r in rows),
        "within_funded_days": sum(r["extension"] == IN_FUNDED for r in rows),
        "alarms": sum(r["alarms"] for r in rows),
        "by_decision": by_decision,
        "false_share": rate(by_decision["false"], sum(by_decision.values())),
        "escalations": sum(r["escalations"] for r in rows),
        "police_results": {k: sum(r["by_police_result"].get(k, 0) for r in rows)
                           for k in (*POLICE_RESULTS, "awaited")},
        "response": response,
    }
    if with_crime:
        totals = {p: sum(r["crime"]["periods"][p]["total"] for r in rows)
                  for p in ("before", "during", "after")}
        months = {p: sum(r["crime"]["data_months"][p] for r in rows)
                  for p in ("before", "during", "after")}
        known = [r for r in rows if r["crime"]["data_months"]["during"] > 0]
        out["crime"] = {
            # Only premises with a crime file for some month of their deployment can be said to
            # have been targeted or not; the rest (police.uk lags months) are unknown.
            "targeted_during": rate(sum(r["crime"]["targeted_during"] for r in known),
                                    len(known)),
            "totals": totals, "site_months": months,
            "per_site_month": {p: round(totals[p] / months[p], 2) if months[p] else None
                               for p in totals}}
    return out


# -- rendering -------------------------------------------------------------------------------

CSV_FIELDS = ["deployment", "urn", "on_test", "installed", "funded_end",
              "extended_until", "removed", "extension", "days_deployed", "devices", "alarms",
              *[f"alarms_{k}" for k in (*DECISIONS, "undecided")], "escalations",
              *[f"police_{k}" for k in (*POLICE_RESULTS, "awaited")],
              "feedback_answered", "feedback_declined",
              *[f"{s}_breaches" for s in STEPS],
              "crime_before", "crime_before_months", "crime_during", "crime_during_months",
              "crime_after", "crime_after_months", "targeted_during"]


def csv_row(r: dict[str, Any]) -> dict[str, Any]:
    out = {k: r[k] for k in CSV_FIELDS if k in r}
    out["devices"] = " ".join(r["devices"])
    for k, v in r["by_decision"].items():
        out[f"alarms_{k}"] = v
    for k in (*POLICE_RESULTS, "awaited"):
        out[f"police_{k}"] = r["by_police_result"].get(k, 0)
    for s in STEPS:
        out[f"{s}_breaches"] = r["response_s"][s]["breaches"]
    if "crime" in r:
        for p in ("before", "during", "after"):
            out[f"crime_{p}"] = r["crime"]["periods"][p]["total"]
            out[f"crime_{p}_months"] = r["crime"]["data_months"][p]
        out["targeted_during"] = r["crime"]["targeted_during"]
    return out


def to_csv(rep: dict[str, Any]) -> str:
    """One row per deployment (on-test premises included, marked): what the totals count."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rep["deployments"]:
        w.writerow({k: text_cell(v) for k, v in csv_row(r).items()})
    return buf.getvalue()


def _day(iso_date: str | None) -> str:
    return day_words(dt.date.fromisoformat(iso_date)) if iso_date else ""


def to_html(rep: dict[str, Any]) -> str:
    s = rep["summary"]
    dec = rep["decision_words"]
    rows = [["Deployments (not on test)", s["deployments"]],
            ["Extended after the funded 30 days", rate_words(s["extension_rate"])],
            ["Removed before the funded days ran out", s["removed_early"]],
            ["Still within the funded days, not extended", s["within_funded_days"]],
            ["Alarms", s["alarms"]],
            *[[f"Alarms: {dec.get(k, 'No decision recorded')}", v]
              for k, v in s["by_decision"].items()],
            ["False alarms", rate_words(s["false_share"])],
            ["Escalations to the police", s["escalations"]],
            *[[f"Police result: {rep['police_result_words'][k]}", v]
              for k, v in s["police_results"].items() if v],
            *[[f"{rep['step_words'][st]}: breaches of the {v['target_s']:g} s target"
               if v["target_s"] is not None else rep["step_words"][st],
               f"{v['breaches']} of {v['n']}"] for st, v in s["response"].items()]]
    body = [f"<h2>Programme summary</h2>{table(['Figure', 'Value'], rows)}"]
    charts = ["<div class='charts'>",
              bar_chart("Alarms by decision", [dec.get(k, "undecided").split(":")[0]
                                               for k in s["by_decision"]],
                        list(s["by_decision"].values()), width=420)]
    if "crime" in s:
        cs = rep["crime_settings"]
        c = s["crime"]
        charts.append(bar_chart("Crimes per site-month (months with data)",
                                ["before", "during", "after"],
                                [c["per_site_month"][p] or 0 for p in ("before", "during",
                                                                       "after")], width=420))
        body.append(
            "<h2>Crime at the premises</h2>"
            f"<p>{E(', '.join(cs['categories']))} within {cs['radius_m']:g} m of each premises, "
            "from the police.uk files " + E(", ".join(cs["files"])) + ". "
            f"Premises with at least one such crime during their deployment: "
            f"{E(rate_words(c['targeted_during']))}.</p>"
            + table(["", "Before", "During", "After"],
                    [["Crimes", *[c["totals"][p] for p in ("before", "during", "after")]],
                     ["Site-months with data", *[c["site_months"][p] for p in ("before", "during",
                                                                      "after")]],
                     ["Per site-month", *[c["per_site_month"][p] if c["per_site_month"][p]
                                          is not None else "–"
                                          for p in ("before", "during", "after")]]])
            + ("<p>No control area was used: the counts alone cannot show that the cameras "
               "changed anything.</p>" if not cs["control_radius_m"] else
               f"<p>Control: the ring from {cs['radius_m']:g} m to "
               f"{cs['control_radius_m']:g} m around each premises (see the CSV).</p>")
            + "<ul class='limits'>" + "".join(f"<li>{E(x)}</li>" for x in cs["limits"])
            + "</ul>")
    charts.append("</div>")
    body[1:1] = charts
    body.append(_feedback_html(s["feedback"]))
    body.append("<h2>Each deployment</h2>" + table(
        ["Deployment", "URN", "Installed", "Funded to", "Extended to", "Removed", "Extension",
         "Alarms", "False", "Escalated", *(["Crimes before / during / after"]
                                          if "crime" in s else [])],
        [[f"Deployment {r['deployment']}" + (" (on test)" if r["on_test"] else ""), r["urn"],
          _day(r["installed"]),
          _day(r["funded_end"]), _day(r["extended_until"]), _day(r["removed"]),
          r["extension"], r["alarms"], r["by_decision"].get("false", 0), r["escalations"],
          *([" / ".join(str(r["crime"]["periods"][p]["total"])
                        for p in ("before", "during", "after"))] if "crime" in r else [])]
         for r in rep["deployments"]] or [["No deployment in the period"]]))
    body.append("<h2>How each figure is counted</h2><ul class='limits'>"
                + "".join(f"<li>{E(d)}</li>" for d in rep["definitions"]) + "</ul>")
    p = rep["period"]
    return page("Loaned-camera programme report",
                f"{p['from']} to {p['to']} · {plural(s['deployments'], 'deployment')} · figures "
                "recomputable from the CSV (one row per deployment)", body)


def _feedback_html(f: dict[str, Any]) -> str:
    head = (f"<h2>Victim feedback</h2><p>{plural(f['responses'], 'survey')} recorded: "
            f"{f['answered']} answered, {f['declined']} declined.</p>")
    if not f["answered"]:
        return head
    rows: list[list[object]] = []
    for q in f["questions"].values():
        if q["kind"] == "scale":
            counts = " · ".join(f"{k}: {v}" for k, v in q["counts"].items())
            rows.append([q["text"], q["n"], f"median {q['median']:g} (1 = {q['low']}, 5 = "
                         f"{q['high']}); {counts}" if q["median"] is not None else "–"])
        else:
            rows.append([q["text"], q["n"], " · ".join(f"{k}: {v}" for k, v in
                                                        q["counts"].items())])
    out = head + table(["Question", "Answers", "How they answered"], rows)
    if "safety_change" in f:
        c = f["safety_change"]
        out += (f"<p>Of {c['n']} who answered both safety questions: {c['safer']} felt safer "
                f"with the camera, {c['same']} the same, {c['less_safe']} less safe.</p>")
    return out
