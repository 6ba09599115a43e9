"""What the ``vms`` commands share: the profile option, how a command declares what it needs,
and the device arguments several commands take."""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, Literal

from vms.devices.commissioning import Commissioning
from vms.errors import ConfigError
from vms.onvif.http import Timeouts
from vms.site.database import SiteAddress

EXIT_ERROR = 2

# What a command needs before it runs: a signed-in Beacon user (audited as them), only the
# profile directory (the service, the simulator, verification), or nothing at all.
Needs = Literal["user", "data_dir", "nothing"]


def data_dir_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--data-dir", default=argparse.SUPPRESS, metavar="DIR",
                   help="profile directory (default: $VMS_DATA_DIR or the user data directory)")
    p.add_argument("--site", default=argparse.SUPPRESS, metavar="postgresql://USER@HOST:PORT/DB",
                   help="join a control room's shared site database (default: $VMS_SITE; "
                        "none: this profile alone)")
    p.add_argument("--workstation", default=argparse.SUPPRESS, metavar="NAME",
                   help="this workstation's name on the site (default: $VMS_WORKSTATION or the "
                        "computer's name)")
    return p


def site_address(args: argparse.Namespace) -> SiteAddress | None:
    """The site this command joins (``--site`` or ``VMS_SITE``); None for the profile alone."""
    text = getattr(args, "site", None) or os.environ.get("VMS_SITE", "").strip()
    return SiteAddress.parse(text) if text else None


def workstation(args: argparse.Namespace) -> str:
    name = (getattr(args, "workstation", None) or os.environ.get("VMS_WORKSTATION", "").strip()
            or socket.gethostname())
    if not name.isprintable() or len(name) > 64:
        raise ConfigError("a workstation name is up to 64 printable characters")
    return name


def command(p: argparse.ArgumentParser, run: Callable[..., int], needs: Needs = "user") -> None:
    """Register ``run`` as what the parsed command does: ``run(args, profile, session)`` for
    "user", ``run(args, data_dir)`` for "data_dir", ``run(args)`` for "nothing"."""
    p.set_defaults(run=run, needs=needs)


Subparsers = Any  # argparse._SubParsersAction: private in typeshed

def device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="HOST[:PORT]|URL",
                   help="device address, e.g. 192.168.1.20, 192.168.1.20:8080 or "
                        "http://192.168.1.20/onvif/device_service")
    p.add_argument("--user", required=True, help="device user name")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (first line)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="per-request time limit (default 10)")


def device_ref(svc: Commissioning, text: str) -> int:
    """A device id, or a registered device's name (ignoring case)."""
    if text.strip().isdigit():
        return int(text)
    rows = [r for r in svc.devices() if r.name.casefold() == text.strip().casefold()]
    if not rows:
        raise ConfigError(f"no registered device is named '{text}' (see 'vms devices list')")
    if len(rows) > 1:
        raise ConfigError(f"{len(rows)} devices are named '{text}'; give the id instead")
    return rows[0].id


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        pw = line.rstrip("\r\n")
        if not pw:
            raise ConfigError("no password on standard input")
        return pw
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {args.user}: ")
    raise ConfigError("give the password on standard input with --password-stdin")


def timeouts(args: argparse.Namespace) -> Timeouts:
    if not 0 < args.timeout <= 120:
        raise ConfigError("--timeout must be between 0 and 120 seconds")
    return Timeouts(connect=min(4.0, args.timeout), read=args.timeout, total=args.timeout * 1.5)


