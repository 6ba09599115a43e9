"""``vms probe`` and ``vms devices``: onboarding and the registry from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vms.access.session import Session
from vms.cli.common import Subparsers, command, device_args, device_ref, read_password, timeouts
from vms.devices.commissioning import Commissioning
from vms.devices.links import CameraLinks
from vms.errors import ConfigError
from vms.events.device_rules import DeviceRules
from vms.events.topics import KINDS
from vms.onvif.model import DeviceReport, describe_offset
from vms.profile import Profile
from vms.safety.redact import scrub_url


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("probe", parents=[common], help="onboard-check one device without adding it",
                       description="Connect to an ONVIF device and print what it is and what it "
                                   "supports: identity, clock offset, profiles, stream URIs and "
                                   "capabilities. Nothing is stored.")
    device_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    command(p, run)

    dev = sub.add_parser("devices", parents=[common], help="the device registry",
                         description="Add, list and remove registered devices, and link "
                                     "cameras to Help Points.")
    command(dev, run)
    acts = dev.add_subparsers(dest="devices_action", metavar="ACTION", required=True)
    a = acts.add_parser("add", parents=[common], help="onboard a device and register it")
    device_args(a)
    a.add_argument("--name", help="name shown to operators (default: the device's own name)")
    a.add_argument("--area", help="area to file it under, e.g. 'Town centre' (default "
                   "'Default area')")
    a.add_argument("--location", help="location (default: the device's location scope)")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("list", parents=[common], help="list registered devices")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("remove", parents=[common], help="remove a device and its password")
    a.add_argument("id", type=int, help="device id (from 'vms devices list')")
    a = acts.add_parser("rename", parents=[common],
                        help="give a device the name operators know it by (audited)")
    a.add_argument("device", help="device id or name")
    a.add_argument("name", help="the new name")
    a = acts.add_parser("move", parents=[common],
                        help="put a device in another area and place (audited)")
    a.add_argument("device", help="device id or name")
    a.add_argument("--area", required=True, help="the area (made if new)")
    a.add_argument("--location", default=None,
                   help="its place within the area (default: keep it; \"\" clears it)")
    a = acts.add_parser("link", parents=[common], help="link a camera to a Help Point",
                        description="Link a camera to a device (usually a Help Point), so a call "
                                    "from the device shows the camera too. With --preset, the "
                                    "camera is sent to that PTZ preset when the call is accepted; "
                                    "the preset is checked on the camera now. Linking again "
                                    "changes the preset.")
    a.add_argument("device", help="the Help Point: id or name")
    a.add_argument("camera", help="the camera to link: id or name")
    a.add_argument("--preset", help="PTZ preset name (or token) on the camera")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("unlink", parents=[common], help="unlink a camera from a Help Point")
    a.add_argument("device", help="the Help Point: id or name")
    a.add_argument("camera", help="the linked camera: id or name")
    a = acts.add_parser("links", parents=[common], help="list a device's linked cameras")
    a.add_argument("device", help="id or name")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("rules", parents=[common], help="a device's own event rules",
                        description="Show, set or clear the event rules of one device: topic "
                                    "mappings tried before the built-in ones (standard ONVIF, "
                                    "Hikvision, Axis). The file is a JSON list such as "
                                    '[{"topic": "Device/IO/Port", "kind": "help_button", '
                                    '"state": "state", "token": "port"}]; kinds: '
                                    + ", ".join(KINDS) + ". Try rules on the live device first "
                                    "with 'vms events HOST --rules FILE'.")
    a.add_argument("device", help="id or name")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--set", metavar="FILE", help="store the rules in FILE ('-' for stdin)")
    g.add_argument("--clear", action="store_true", help="go back to the built-in rules only")
    a = acts.add_parser("allow-basic-rtsp", parents=[common],
                        help="let a camera have its RTSP password in clear text (Basic)",
                        description="Some cameras ask for the RTSP password with Basic "
                                    "authentication, which sends it readable by anyone on the "
                                    "network; Beacon VMS refuses that on plain rtsp:// unless "
                                    "allowed here for the device. Prefer switching the camera to "
                                    "Digest authentication.")
    a.add_argument("device", help="id or name")
    a.add_argument("state", choices=("on", "off"))
    a = acts.add_parser("presets", parents=[common], help="list a camera's PTZ presets",
                        description="Ask the camera for its PTZ presets (names and tokens).")
    a.add_argument("camera", help="id or name")
    a.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    svc = Commissioning(profile, session)
    if args.command == "probe":
        pw = read_password(args)
        rep = svc.probe(args.address, args.user, pw, timeouts(args))  # stores nothing
        if args.json:
            print(json.dumps(rep.to_json(), indent=2))
        else:
            print_report(rep)
        return 0
    action = args.devices_action
    if action == "add":
        pw = read_password(args)
        added = svc.add(args.address, args.user, pw, name=args.name, area=args.area,
                        location=args.location, timeouts=timeouts(args))
        row = svc.registry.device(added.device_id)
        if args.json:
            print(json.dumps(row.to_json(), indent=2))
        else:
            print(f"Added device {row.id}: {row.name} ({row.manufacturer or '?'} {row.model or ''}) "
                  f"at {row.address}, area '{row.area}'.")
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
        print(f"{'id':>3}  {'name':<20} {'area / location':<32} {'model':<22} address")
        for r in rows:
            where = f"{r.area} / {r.location or '-'}"
            print(f"{r.id:>3}  {r.name:<20} {where:<32} {(r.model or '?'):<22} {r.address}")
        return 0
    if action == "remove":
        name = svc.remove(args.id)
        print(f"Removed device {args.id} ({name}) and its stored password.")
        return 0
    if action == "rename":
        dev = device_ref(svc, args.device)
        was = svc.registry.device(dev).name
        row = svc.rename(dev, args.name)
        print(f"Device {row.id}: {was} is now called {row.name}.")
        return 0
    if action == "move":
        row = svc.move(device_ref(svc, args.device), args.area, args.location)
        print(f"Device {row.id} ({row.name}) is in area '{row.area}'"
              + (f" at {row.location}." if row.location else "."))
        return 0
    if action == "allow-basic-rtsp":
        allow = args.state == "on"
        name = svc.allow_basic_rtsp(device_ref(svc, args.device), allow)
        print(f"{name}: RTSP Basic authentication (a clear-text password) is now "
              + ("allowed on plain RTSP. Recorders and players pick this up when they next "
                 "connect." if allow else "refused on plain RTSP."))
        return 0
    return _links(args, svc, profile, session)


def _links(args: argparse.Namespace, svc: Commissioning, profile: Profile,
           session: Session) -> int:
    action = args.devices_action
    if action == "rules":
        return _rules(args, svc, profile, session)
    links = CameraLinks(profile, session)
    try:
        if action == "presets":
            cam = device_ref(svc, args.camera)
            presets = links.presets(cam)
            if args.json:
                print(json.dumps([{"token": p.token, "name": p.name} for p in presets], indent=2))
            elif not presets:
                print(f"{svc.registry.device(cam).name} has no presets.")
            for p in [] if args.json else presets:
                print(f"{p.name:<24} token {p.token}")
            return 0
        dev = device_ref(svc, args.device)
        if action == "link":
            row = links.link(dev, device_ref(svc, args.camera), args.preset)
            if args.json:
                print(json.dumps(row.to_json(), indent=2))
            else:
                print(f"Linked {row.camera} to {svc.registry.device(dev).name}"
                      + (f", preset '{row.preset_name}'." if row.preset_name else
                         " (fixed view, no preset)."))
            return 0
        if action == "unlink":
            cam = device_ref(svc, args.camera)
            links.unlink(dev, cam)
            print(f"Unlinked {svc.registry.device(cam).name} from {svc.registry.device(dev).name}.")
            return 0
        if action == "links":
            rows = links.links(dev)
            if args.json:
                print(json.dumps([r.to_json() for r in rows], indent=2))
            elif not rows:
                print(f"{svc.registry.device(dev).name} has no linked cameras. Link one with: "
                      f"vms devices link {dev} CAMERA [--preset NAME]")
            for r in [] if args.json else rows:
                print(f"{r.camera_id:>3}  {r.camera:<20} "
                      f"{('preset ' + repr(r.preset_name)) if r.preset_name else 'fixed view'}")
            return 0
    finally:
        links.close()
    raise ConfigError(f"unknown devices action {action}")


def _rules(args: argparse.Namespace, svc: Commissioning, profile: Profile,
           session: Session) -> int:
    dev = device_ref(svc, args.device)
    name = svc.registry.device(dev).name
    rules = DeviceRules(profile, session)
    if args.clear or args.set:
        if args.clear:
            text = ""
        elif args.set == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(args.set).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read {args.set}: {exc}") from None
        got = rules.set(dev, text)
        print(f"{name} now uses {len(got.own)} rule(s) of its own, then the built-in ones; "
              f"the desktop applies them when it next signs in." if got.own else
              f"{name} now uses the built-in rules only.")
        return 0
    text = rules.get(dev)
    print(text if text else f"{name} has no rules of its own: the built-in ones apply.")
    return 0


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
        print(f"Clock       offset {rep.clock_offset_s:+.1f} s: "
              f"{describe_offset(rep.clock_offset_s)}")
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
    if rep.capabilities.checks:
        print("Capability table (what the device claims, and what happened when tried)")
        width = max(len(c.feature) for c in rep.capabilities.checks)
        print(f"  {'feature':<{width}}  {'claims':<8}  {'tried':<9}  detail")
        for c in rep.capabilities.checks:
            print(f"  {c.feature:<{width}}  {c.claim_text:<8}  {c.result:<9}  {scrub_url(c.detail)}")
    for w in rep.warnings:
        print(f"Warning     {w}")
