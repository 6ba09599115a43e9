"""The evaluation as files to hand over: a CSV of the counts and a one-page HTML report.

The CSV is long-format (area, month, period, crime type, count), which a spreadsheet pivots
without help. The HTML page is self-contained (an optional chart embedded as PNG) and states
the data's limits beside the numbers, because the force will quote it.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
from pathlib import Path
from typing import Any

from vms.evaluation.compare import month_of, period_of
from vms.safety.spreadsheet import cell

_cell = cell  # a crime type from a file never runs as a formula


def _during(result: dict[str, Any]) -> tuple[str, str] | None:
    d = result.get("during")
    return (d["from"], d["to"]) if d else None


MONTHLY_HEAD = ["month", "period", "site crimes", "site burglaries", "control crimes",
                "control burglaries"]


def monthly_rows(result: dict[str, Any]) -> list[list[object]]:
    """Month, period, and the site's (and control's) crimes and burglaries: the table the
    window shows and the report prints."""
    during = _during(result)
    ctl = {m["month"]: m for m in result.get("control", {}).get("months", [])}
    rows: list[list[object]] = []
    for m in result["months"]:
        c = ctl.get(m["month"])
        rows.append([m["month"], period_of(m["month"], during), m["total"],
                     m["counts"].get("Burglary", 0), c["total"] if c else "",
                     c["counts"].get("Burglary", 0) if c else ""])
    return rows


def areas(result: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    out = [("site", result["months"])]
    if "control" in result:
        out.append(("control", result["control"]["months"]))
    return out


def write_csv(result: dict[str, Any], path: Path) -> int:
    """Writes the counts; returns the number of data rows."""
    during = _during(result)
    n = 0
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["area", "month", "period", "crime_type", "count"])
        for area, months in areas(result):
            for m in months:
                for kind, count in m["counts"].items():
                    w.writerow([area, m["month"], period_of(m["month"], during), _cell(kind),
                                count])
                    n += 1
    tmp.replace(path)
    return n


def _table(head: list[str], rows: list[list[object]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _where(result: dict[str, Any]) -> str:
    s = result["site"]
    text = f"within {s['radius_m']:.0f} m of {s['lat']:.5f}, {s['lon']:.5f}"
    c = result.get("control")
    if c:
        text += "; control area: " + (
            f"the ring {c['inner_radius_m']:.0f}–{c['radius_m']:.0f} m around the site"
            if c["kind"] == "ring" else
            f"{c['radius_m']:.0f} m around {c['lat']:.5f}, {c['lon']:.5f}")
    return text


def html_report(result: dict[str, Any], title: str, chart_png: bytes | None = None,
                generated: dt.datetime | None = None) -> str:
    """One page: what was compared, the counts, the chart and the limits."""
    during = result.get("during")
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Recorded crime {html.escape(_where(result))}. Source: police.uk street-level "
             f"files ({len(result['files'])} file(s), {result['rows']:,} rows; "
             f"{result['unlocated']:,} rows without a location left out).</p>"]
    if during:
        parts.append(f"<p>Deployment: {html.escape(during['from'])} to "
                     f"{html.escape(during['to'])} (whole months).</p>")
    if chart_png:
        data = base64.b64encode(chart_png).decode("ascii")
        parts.append(f'<img alt="Monthly counts, site and control" '
                     f'src="data:image/png;base64,{data}">')
    if during and "periods" in result:
        rows: list[list[object]] = []
        for name in ("before", "during", "after"):
            p = result["periods"][name]
            c = result.get("control", {}).get("periods", {}).get(name)
            rows.append([name, len(p["months"]), p["total"], _rate(p["per_month"]),
                         c["total"] if c else "", _rate(c["per_month"]) if c else ""])
        parts.append("<h2>Before, during and after</h2>")
        parts.append(_table(["period", "months", "site crimes", "site per month",
                             "control crimes", "control per month"], rows))
    parts.append("<h2>By month</h2>")
    parts.append(_table(MONTHLY_HEAD, monthly_rows(result)))
    kinds: dict[str, int] = {}
    for m in result["months"]:
        for k, v in m["counts"].items():
            kinds[k] = kinds.get(k, 0) + v
    parts.append("<h2>Site crimes by type</h2>")
    parts.append(_table(["crime type", "crimes"],
                        [[k, v] for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])]))
    if result["missing_months"]:
        parts.append("<p><b>No crime file for:</b> "
                     f"{html.escape(', '.join(result['missing_months']))}</p>")
    parts.append("<h2>Limits of this evaluation</h2><ul>" +
                 "".join(f"<li>{html.escape(x)}</li>" for x in result["limits"]) + "</ul>")
    when = (generated or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    parts.append(f"<p class=small>Made by Beacon VMS on {html.escape(when)}.</p>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:1em auto;font-size:11pt}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;"
             "padding:2px 8px;text-align:left}h2{font-size:13pt;margin:.8em 0 .2em}"
             "img{max-width:100%}.small{color:#555;font-size:9pt}"
             "@page{size:A4;margin:12mm}")
    return (f"<!DOCTYPE html><html lang=en><meta charset=utf-8><title>{html.escape(title)}"
            f"</title><style>{style}</style><body>{''.join(parts)}</body></html>")


def _rate(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


def deployment_months(installed: dt.date, last: dt.date) -> tuple[str, str]:
    """The whole months a deployment touched (police.uk has months, not days)."""
    return month_of(installed.isoformat()), month_of(last.isoformat())
