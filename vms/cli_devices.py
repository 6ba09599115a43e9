"""``vms probe`` and ``vms devices``: onboarding and the registry from the command line."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from vms.access.session import Session
from vms.commissioning import Commissioning
from vms.errors import ConfigError
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport, describe_offset
from vms.profile import Profile
from vms.redact import scrub_url


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("probe", parents=[common], help="onboard-check one device without adding it",
                       description="Connect to an ONVIF device and print what it is and what it "
                                   "supports: identity, clock offset, profiles, stream URIs and "
                                   "capabilities. Nothing is stored.")
    _device_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    dev = sub.add_parser("devices", parents=[common], help="the device registry",
                         description="Add, list and remove registered devices.")
    acts = dev.add_subparsers(dest="devices_action", metavar="ACTION", required=True)
    a = acts.add_parser("add", parents=[common], help="onboard a device and register it")
    _device_args(a)
    a.add_argument("--name", help="name shown to operators (default: the device's own name)")
    a.add_argument("--site", help="site to file it under (default 'Default site')")
    a.add_argument("--location", help="location (default: the device's location scope)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("list", parents=[common], help="list registered devices")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("remove", parents=[common], help="remove a device and its password")
    a.add_argument("id", type=int, help="device id (from 'vms devices list')")


def _device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="HOST[:PORT]|URL",
                   help="device address, e.g. 192.168.1.20, 192.168.1.20:8080 or "
                        "http://192.168.1.20/onvif/device_service")
    p.add_argument("--user", required=True, help="device user name")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (first line)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="per-request time limit (default 10)")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        pw = line.rstrip("\r\n")
        if not pw:
            raise ConfigError("no password on standard input")
        return pw
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {args.user}: ")
    raise ConfigError("give the password on standard input with --password-stdin")


def _timeouts(args: argparse.Namespace) -> Timeouts:
    if not 0 < args.timeout <= 120:
        raise ConfigError("--timeout must be between 0 and 120 seconds")
    return Timeouts(connect=min(4.0, args.timeout), read=args.timeout, total=args.timeout * 1.5)


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    svc = Commissioning(profile, session)
    if args.command == "probe":
        pw = _password(args)
        rep = svc.probe(args.address, args.user, pw, _timeouts(args))  # stores nothing
        if args.json:
            print(json.dumps(rep.to_json(), indent=2))
        else:
            print_report(rep)
        return 0
    action = args.devices_action
    if action == "add":
        pw = _password(args)
        added = svc.add(args.address, args.user, pw, name=args.name, site=args.site,
                        location=args.location, timeouts=_timeouts(args))
        row = svc.registry.device(added.device_id)
        if args.json:
            print(json.dumps(row.to_json(), indent=2))
        else:
            print(f"Added device {row.id}: {row.name} ({row.manufacturer or '?'} {row.model or ''}) "
                  f"at {row.address}, site '{row.site}'.")
            for w in added.report.warnings:
                print(f"  warning: {w}")
        return 0
    if action == "list":
        rows = svc.devices()
        if args.json:
            print(json.dumps([r.to_json() for r in rows], indent=2))
            return 0
        if not rows:
            print("No devices registered. Add one with: vms devices add HOST --user USER "
                  "--password-stdin")
            return 0
        print(f"{'id':>3}  {'name':<20} {'site / location':<32} {'model':<22} address")
        for r in rows:
            where = f"{r.site} / {r.location or '-'}"
            print(f"{r.id:>3}  {r.name:<20} {where:<32} {(r.model or '?'):<22} {r.address}")
        return 0
    if action == "remove":
        name = svc.remove(args.id)
        print(f"Removed device {args.id} ({name}) and its stored password.")
        return 0
    raise ConfigError(f"unknown devices action {action}")


def print_report(rep: DeviceReport) -> None:
    print(f"Device      {rep.manufacturer or '?'} {rep.model or '?'} (firmware {rep.firmware or '?'}, "
          f"serial {rep.serial or '?'})")
    print(f"Address     {rep.address}")
    if rep.name or rep.location:
        print(f"Name        {rep.name or '-'}   location {rep.location or '-'}")
    if rep.endpoint_ref:
        print(f"Endpoint    {rep.endpoint_ref}")
    if rep.clock_offset_s is None:
        print("Clock       unknown (the device did not report its time)")
    else:
        print(f"Clock       offset {rep.clock_offset_s:+.1f} s "
              f"({describe_offset(rep.clock_offset_s)} this computer)")
    print(f"Auth        {rep.auth_method}")
    print("Profiles")
    for s in rep.streams:
        role = f"[{s.role}]" if s.role else ""
        print(f"  {s.profile_token:<12} {s.profile_name:<16} {s.encoding or '-':<6} "
              f"{s.resolution:<10} {s.fps or '-':>5} fps  Media{s.media_version} {role}")
        if s.uri:
            print(f"      stream   {scrub_url(s.uri)}")
        if s.snapshot_uri:
            print(f"      snapshot {scrub_url(s.snapshot_uri)}")
        if s.error:
            print(f"      {s.error}")
    caps = rep.capabilities.summary()
    print(f"Supports    {', '.join(caps) if caps else 'video only'}")
    for w in rep.warnings:
        print(f"Warning     {w}")
