"""``vms feedback``: the victim survey's questions, importing an online form's answers, and
the retention purge.

Answers are typed in from a phone call in the desktop (Loans → Victim feedback…); an online
form's CSV export comes in here or there. Reading the answers themselves (personal data) is
in the desktop only, where each reading is audited.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from vms.access.session import Session
from vms.cli.common import Subparsers, command
from vms.errors import ConfigError
from vms.loans.feedback import CSV_MAX_BYTES, decode_csv
from vms.profile import Profile


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("feedback", parents=[common], help="victim feedback on loaned cameras",
                       description="The victim survey of the loaned-camera scheme.")
    acts = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = acts.add_parser("questions", parents=[common],
                        help="print the survey's questions as JSON, or set new ones")
    a.add_argument("--set", type=Path, metavar="FILE.json",
                   help="a JSON list of {key, text, kind: scale|choice|text, options, low, high}")
    a = acts.add_parser("import", parents=[common],
                        help="import answers from an online form's CSV export (all or nothing)")
    a.add_argument("csv", type=Path, metavar="FILE.csv")
    acts.add_parser("purge", parents=[common],
                    help="blank names and free text past their retention date")
    command(p, run)


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.loans.feedback import Feedback, questions_from_json
    from vms.loans.loans import Loans

    loans = Loans(profile, session)
    try:
        fb = Feedback(loans)
        if args.action == "questions":
            if args.set is not None:
                fb.set_questions(questions_from_json(_read(args.set)))
            print(json.dumps([asdict(q) for q in fb.survey().questions], indent=2))
        elif args.action == "import":
            got = fb.import_csv(_read(args.csv))
            dates = (f", answered {got.first:%d %b %Y} to {got.last:%d %b %Y}"
                     if got.first and got.last else "")
            print(f"imported {got.added} answered and {got.declined} declined survey(s)"
                  f"{dates}; {got.already} imported or withdrawn before, skipped")
        else:
            print(f"purged the personal data of {fb.purge()} response(s)")
    finally:
        loans.close()
    return 0


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > CSV_MAX_BYTES:
            raise ConfigError(f"{path} is larger than 5 MB: not a survey export")
        return decode_csv(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
