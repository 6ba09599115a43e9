"""The ``vms`` command line: one module per command (``vms/cli/*.py``), each registering its
parsers and what runs them (``common.command``); this module only dispatches.

Every command runs on one profile (``--data-dir`` or ``VMS_DATA_DIR``). Errors are
reported in one plain sentence and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from vms import __version__
from vms.cli import (
    access,
    calls,
    devices,
    discover,
    evaluate,
    events,
    evidence,
    feedback,
    maps,
    report,
    serve,
    sim,
    site,
)
from vms.cli.common import EXIT_ERROR, data_dir_parent
from vms.errors import VmsError
from vms.paths import resolve_data_dir

# In the order ``vms --help`` lists them.
COMMANDS = (discover, devices, maps, evidence, evaluate, events, serve, calls, site, report,
            feedback, access, sim)


def build_parser() -> argparse.ArgumentParser:
    common = data_dir_parent()
    parser = argparse.ArgumentParser(prog="vms", parents=[common],
                                     description="Beacon VMS command line. Every command except "
                                                 "'vms sim', 'vms serve', 'vms verify' and "
                                                 "'vms evaluate' runs as a signed-in Beacon "
                                                 "user: set VMS_USER and VMS_PASSWORD, or run "
                                                 "it in a terminal to be asked.")
    parser.add_argument("--version", action="version", version=f"vms {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parsers(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        data_dir = resolve_data_dir(getattr(args, "data_dir", None))
        if args.needs == "nothing":
            return int(args.run(args))
        if args.needs == "data_dir":
            return int(args.run(args, data_dir))
        return _signed_in(args, data_dir)
    except VmsError as exc:
        print(f"vms: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _signed_in(args: argparse.Namespace, data_dir: Path) -> int:
    """Everything but the simulator, the service, verification and evaluation runs as a
    signed-in user, and is audited as that user."""
    from vms.cli.common import site_address, workstation
    from vms.profile import Profile

    site = site_address(args)
    profile = Profile(data_dir, site=site, workstation=workstation(args) if site else None)
    try:
        if access.first_run(args, profile):
            return 0
        session = access.sign_in(profile)
        return int(args.run(args, profile, session))
    finally:
        if profile.credentials.notice:
            print(f"Note: {profile.credentials.notice}", file=sys.stderr)
        profile.close()
