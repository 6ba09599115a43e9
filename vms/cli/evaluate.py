"""``vms evaluate``: police.uk crime counts around a site, by month and type.

It reads only the published crime files and the coordinates it is given, so it needs no
Beacon account (an analyst at the force can run it on the same files).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vms.cli.common import Subparsers, command
from vms.errors import ConfigError


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "evaluate", parents=[common], help="crime around a site from police.uk files",
        description="Count police.uk street-level crimes within a radius of a site, by month "
                    "and crime type, optionally split into before/during/after a deployment "
                    "and compared with a control area (a ring around the site, or another "
                    "site). Needs no sign-in.")
    p.add_argument("--crimes", required=True, type=Path, metavar="DIR",
                   help="folder of police.uk *-street.csv files (subfolders are read too)")
    p.add_argument("--lat", required=True, type=float, help="site latitude (WGS84)")
    p.add_argument("--lon", required=True, type=float, help="site longitude (WGS84)")
    p.add_argument("--radius", required=True, type=float, metavar="METRES")
    p.add_argument("--during", nargs=2, metavar=("FROM", "TO"),
                   help="the deployment: months (YYYY-MM) or dates (YYYY-MM-DD)")
    p.add_argument("--control-radius", type=float, metavar="METRES",
                   help="control area: the ring from --radius out to this (or, with "
                        "--control-lat/--control-lon, this radius around that point)")
    p.add_argument("--control-lat", type=float, help="a comparison site's latitude")
    p.add_argument("--control-lon", type=float, help="a comparison site's longitude")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="also write the counts as CSV (area, month, period, crime type, count)")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="also write a one-page HTML report that states its limits")
    command(p, run, needs="nothing")


def run(args: argparse.Namespace) -> int:
    from vms.evaluation.compare import Catchment, evaluate, month_of
    from vms.evaluation.policeuk import load

    site = Catchment(args.lat, args.lon, args.radius)
    control = None
    if (args.control_lat is None) != (args.control_lon is None):
        raise ConfigError("a comparison site needs both --control-lat and --control-lon")
    if args.control_lat is not None:
        control = Catchment(args.control_lat, args.control_lon, args.control_radius or args.radius)
    elif args.control_radius is not None:
        control = Catchment(args.lat, args.lon, args.control_radius, inner_m=args.radius)
    during = (month_of(args.during[0]), month_of(args.during[1])) if args.during else None
    result = evaluate(load(args.crimes), site, during=during, control=control)
    print(json.dumps(result, indent=2) if args.json else text(result))
    if args.csv or args.html:
        from vms.evaluation.report import html_report, write_csv
        try:
            if args.csv:
                write_csv(result, args.csv)
            if args.html:
                title = f"Crime around {args.lat:.5f}, {args.lon:.5f}"
                page = html_report(result, title)
                tmp = args.html.with_name(args.html.name + ".part")
                tmp.write_text(page, encoding="utf-8")
                tmp.replace(args.html)
        except OSError as exc:
            raise ConfigError(f"cannot write the report: {exc}") from None
    return 0


def text(r: dict[str, Any]) -> str:
    s = r["site"]
    lines = [f"Crimes within {s['radius_m']:.0f} m of {s['lat']:.5f}, {s['lon']:.5f} "
             f"({r['rows']:,} rows in {len(r['files'])} file(s); {r['unlocated']:,} without a "
             "location left out)"]
    lines += _table(r["months"], r.get("during"))
    if "periods" in r:
        lines += ["", _periods("Site", r["periods"])]
    if "control" in r:
        c = r["control"]
        where = (f"ring {c['inner_radius_m']:.0f}-{c['radius_m']:.0f} m around the site"
                 if c["kind"] == "ring" else
                 f"{c['radius_m']:.0f} m around {c['lat']:.5f}, {c['lon']:.5f}")
        lines += ["", f"Control area: {where}"]
        lines += _table(c["months"], r.get("during"))
        if "periods" in c:
            lines += ["", _periods("Control", c["periods"])]
    if r["missing_months"]:
        lines += ["", "No crime file for: " + ", ".join(r["missing_months"])]
    lines += ["", "Limits:"] + [f"- {x}" for x in r["limits"]]
    return "\n".join(lines)


def _table(months: list[dict[str, Any]], during: dict[str, str] | None) -> list[str]:
    out = [f"{'Month':<9} {'Total':>6}  by type"]
    for m in months:
        mark = "*" if during and during["from"] <= m["month"] <= during["to"] else " "
        kinds = ", ".join(f"{k} {n}" for k, n in m["counts"].items())
        out.append(f"{m['month']}{mark} {m['total']:>6}  {kinds}")
    if during:
        out.append("* during the deployment")
    return out


def _periods(name: str, p: dict[str, Any]) -> str:
    parts = [f"{k} {v['total']} in {len(v['months'])} month(s)"
             + (f" ({v['per_month']}/month)" if v["per_month"] is not None else "")
             for k, v in p.items()]
    return f"{name}: " + "; ".join(parts)
