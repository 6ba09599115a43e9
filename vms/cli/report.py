"""``vms report helppoints|loans``: the programme reports for the schemes' funders.

Prints a short summary; ``--csv`` writes the rows every figure is counted from, ``--html`` a
one-page report with its charts and definitions, ``--json`` the whole report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vms.access.session import Session
from vms.cli.common import Subparsers, command
from vms.errors import ConfigError
from vms.profile import Profile
from vms.reports.figures import Period, plural, rate_words


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="Help Point and loan programme reports",
                       description="Programme reports for a period of UK dates: how the Help "
                                   "Points were used, and the loaned-camera programme.")
    kinds = p.add_subparsers(dest="kind", metavar="REPORT", required=True)
    hp = kinds.add_parser("helppoints", parents=[common], help="calls, answer times, outcomes")
    lo = kinds.add_parser("loans", parents=[common],
                          help="deployments, extensions, alarms and crime around the premises")
    for a in (hp, lo):
        a.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
        a.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
        a.add_argument("--csv", type=Path, metavar="FILE", help="write the rows as CSV")
        a.add_argument("--html", type=Path, metavar="FILE", help="write a one-page HTML report")
        a.add_argument("--json", action="store_true", help="print the whole report as JSON")
    lo.add_argument("--crimes", type=Path, metavar="DIR",
                    help="folder of police.uk street-level CSV files: adds crime at each premises")
    lo.add_argument("--radius", type=float, default=200.0, metavar="METRES",
                    help="crimes within this distance of a premises (default 200)")
    lo.add_argument("--crime-type", action="append", default=None, metavar="TYPE",
                    help="police.uk crime type to count, repeatable (default Burglary; 'all' "
                         "for every type)")
    lo.add_argument("--control-radius", type=float, metavar="METRES",
                    help="also count the ring from --radius out to this around each premises")
    command(p, run)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc}") from None


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.reports import helppoints, loans
    from vms.reports.build import build, crime_settings

    period = Period.parse(args.first, args.last)
    crime = None
    if args.kind == "loans" and args.crimes is not None:
        crime = crime_settings(args.crimes, args.radius, args.crime_type, args.control_radius)
    rep = build(profile, session, args.kind, period, crime)
    module = helppoints if args.kind == "helppoints" else loans
    if args.csv:
        _write(args.csv, module.to_csv(rep))
    if args.html:
        _write(args.html, module.to_html(rep))
    text = _helppoints_text if args.kind == "helppoints" else _loans_text
    print(json.dumps(rep, indent=2) if args.json else text(rep))
    return 0


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:g} s"


def _helppoints_text(rep: dict[str, Any]) -> str:
    o = rep["overall"]
    ta, cl = o["time_to_answer"], o["call_length"]
    lines = [f"Help Point calls {rep['period']['from']} to {rep['period']['to']}: {o['calls']}",
             f"  answered {rate_words(o['answered'])}; still open {o['still_open']}",
             f"  time to answer: median {_secs(ta['median'])}, 90th percentile "
             f"{_secs(ta['p90'])}, longest {_secs(ta['max'])}",
             f"  call length: median {_secs(cl['median'])}, 90th percentile {_secs(cl['p90'])}, "
             f"longest {_secs(cl['max'])}",
             f"  police informed {rate_words(o['police_informed'])}; units sent "
             f"{rate_words(o['units_sent'])}; blue light {rate_words(o['blue_light'])}; "
             f"evidence exported {rate_words(o['evidence_exported'])}"]
    if o["outcomes"]:
        lines.append("  outcomes: " + ", ".join(f"{k} {v}" for k, v in o["outcomes"].items()))
    for p in rep["help_points"]:
        lines.append(f"{p['help_point']} ({p['place']}): {p['calls']} calls, answered "
                     f"{rate_words(p['answered'])}, median answer "
                     f"{_secs(p['time_to_answer']['median'])}")
    return "\n".join(lines)


def _loans_text(rep: dict[str, Any]) -> str:
    s = rep["summary"]
    lines = [f"Loaned cameras {rep['period']['from']} to {rep['period']['to']}: "
             f"{plural(s['deployments'], 'deployment')} (premises on test left out)",
             f"  extended after the funded 30 days: {rate_words(s['extension_rate'])}; "
             f"removed early {s['removed_early']}; still in funded days {s['within_funded_days']}",
             f"  alarms {s['alarms']}: " + ", ".join(f"{k} {v}" for k, v in
                                                   s["by_decision"].items())
             + f"; escalations {s['escalations']}"]
    if s["escalations"]:
        lines.append("  police results: " + ", ".join(
            f"{rep['police_result_words'][k].lower()} {v}" for k, v in s["police_results"].items()
            if v))
    f = s["feedback"]
    lines.append(f"  victim feedback: {f['answered']} answered, {f['declined']} declined"
                 + (f"; felt safer with the camera {f['safety_change']['safer']} of "
                    f"{f['safety_change']['n']}" if "safety_change" in f else ""))
    if "crime" in s:
        c = s["crime"]
        cs = rep["crime_settings"]
        lines.append(f"  {', '.join(cs['categories'])} within {cs['radius_m']:g} m: "
                     + ", ".join(f"{p} {c['totals'][p]} in {c['site_months'][p]} site-months "
                                 "with data"
                                 for p in ("before", "during", "after"))
                     + f"; premises with crime during deployment "
                     f"{rate_words(c['targeted_during'])}")
    for r in rep["deployments"]:
        lines.append(f"{r['premises']} ({r['urn']}){' ON TEST' if r['on_test'] else ''}: installed "
                     f"{r['installed']}, {r['extension']}, {r['alarms']} alarms")
    return "\n".join(lines)
