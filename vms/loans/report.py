"""A loan's report as one HTML page: what the coordinator sends the force when a loan ends.

No personal data: the premises' contact is never in it (``Triage.report`` does not read it).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from vms.evidence.utc import parse as parse_utc
from vms.loans.loans import LONDON
from vms.loans.triage import CAUSES, DECISIONS, POLICE_RESULTS, STEP_WORDS


def _day(iso_date: str) -> str:
    """``2026-12-05`` as a reader writes it: ``5 Dec 2026``."""
    d = dt.date.fromisoformat(iso_date)
    return f"{d.day} {d.strftime('%b %Y')}"


def when_words(utc: str | None) -> str:
    """A UTC time as UK local time with GMT/BST beside it."""
    if not utc:
        return ""
    try:
        t = parse_utc(utc).astimezone(LONDON)
    except ValueError:
        return utc
    return f"{t.day} {t.strftime('%b %Y %H:%M:%S')} {t.tzname()}"


def _rows(rows: list[list[object]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)


def deployment_html(r: dict[str, Any]) -> str:
    e = html.escape
    ext = (f"extended to {_day(r['extended_until'])} (reference {r['extension_reference']})"
           if r["extended_until"] else "not extended")
    parts = [
        f"<h2>Loan report: {e(r['premises'])}</h2>",
        f"<p>{e(r['address'])} · URN <b>{e(r['urn'])}</b>"
        f"{' · <b>ON TEST</b>' if r['on_test'] else ''}</p>",
        f"<p>Kit {e(', '.join(r['devices']))}, installed {e(_day(r['installed']))} "
        f"(day {r['day']}); funded to {e(_day(r['funded_end']))}, {e(ext)}; "
        + (f"removed {e(_day(r['removed']))}." if r["removed"] else
           f"status: {e(r['status'])}.")
        + "</p>",
        f"<h3>Alarms: {r['alarms']}</h3><table><tr><th>Decision</th><th>Alarms</th></tr>"
        + _rows([[DECISIONS.get(k, "Not decided yet"), n] for k, n in r["by_decision"].items()])
        + "</table>",
    ]
    if r["false_causes"]:
        parts.append("<p>False alarms by cause: " + e(", ".join(
            f"{CAUSES.get(k, k)} {n}" for k, n in r["false_causes"].items())) + "</p>")
    parts.append(f"<p>False alarms on this URN in the last 12 months, all loans: "
                 f"<b>{r['false_alarms_12_months']}</b> (those while a premises was on test are "
                 "not counted against it)</p>")
    parts.append("<h3>Response times (each step from the one before)</h3><table><tr>"
                 "<th>Step</th><th>Alarms</th><th>Median</th><th>Longest</th><th>Target</th>"
                 "<th>Over target</th></tr>" + _rows([
                     [STEP_WORDS[k], v["n"], _s(v["median_s"]), _s(v["max_s"]),
                      _s(v["target_s"]), v["breaches"]] for k, v in r["response_s"].items()])
                 + "</table>")
    parts.append("<h3>Escalations to the police</h3>")
    if r["escalations"]:
        parts.append("<table><tr><th>Incident</th><th>Alarm</th><th>Police informed"
                     "</th><th>Reference</th><th>What was said</th><th>Police result</th>"
                     "</tr>" + _rows([
                         [x["incident"], when_words(x["raised_utc"]),
                          when_words(x["police_informed_utc"]),
                          x["reference"] or "", x["said"] or "", _result(x)]
                         for x in r["escalations"]])
                     + "</table>")
    else:
        parts.append("<p>None.</p>")
    return ("<html><head><style>table{border-collapse:collapse}td,th{border:1px solid #999;"
            "padding:2px 8px;text-align:left}</style></head><body>" + "".join(parts)
            + "</body></html>")


def _result(x: dict[str, Any]) -> str:
    if not x.get("police_result"):
        return "awaited"
    words = POLICE_RESULTS.get(x["police_result"], x["police_result"])
    return f"{words}: {x['police_note']}" if x.get("police_note") else words


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} s"
