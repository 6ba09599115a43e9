"""``vms discover``: find ONVIF devices by WS-Discovery, multicast and unicast."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from vms.access.session import Session
from vms.cli.common import Subparsers, command
from vms.errors import ConfigError
from vms.profile import Profile


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    disc = sub.add_parser("discover", parents=[common], help="find ONVIF devices (WS-Discovery)",
                          description="Probe for ONVIF devices by multicast on the local network "
                                      "and by unicast to hosts or CIDR ranges (multicast does not "
                                      "cross routers). Lists each device as it answers.")
    disc.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS",
                      help="how long to collect replies (default 2)")
    disc.add_argument("--range", dest="targets", action="append", default=[],
                      metavar="CIDR|HOST", help="also probe these hosts by unicast (repeatable)")
    disc.add_argument("--no-multicast", action="store_true", help="unicast probes only")
    disc.add_argument("--interface", metavar="ADDR",
                      help="local IPv4 address to send multicast from (default: the OS's choice)")
    disc.add_argument("--port", type=int, default=3702, help=argparse.SUPPRESS)
    disc.add_argument("--json", action="store_true", help="print JSON")
    command(disc, run)


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.devices.commissioning import Commissioning
    from vms.discovery.wsd import Sighting

    if args.timeout <= 0 or args.timeout > 60:
        raise ConfigError("--timeout must be between 0 and 60 seconds")
    if args.no_multicast and not args.targets:
        raise ConfigError("with --no-multicast, give hosts or ranges to probe with --range")

    def show(s: Sighting) -> None:
        if not args.json:
            print(f"  {s.name or '(no name)':<18} {s.hardware or '?':<22} "
                  f"{s.xaddr or '-':<45} {s.location}", flush=True)
            if s.warning:
                print(f"    warning: {s.warning}", flush=True)

    if not args.json:
        print(f"Probing for {args.timeout:g} s...", flush=True)
    svc = Commissioning(profile, session)
    found = asyncio.run(svc.discover(args.timeout, args.targets, not args.no_multicast, args.port,
                                     show, args.interface))
    if args.json:
        print(json.dumps([s.to_dict() for s in found], indent=2))
    else:
        print(f"{len(found)} device{'s' if len(found) != 1 else ''} found.")
    for note in found.notes:  # what was dropped: never listed as a device
        print(f"Note: {note}", file=sys.stderr)
    return 0
