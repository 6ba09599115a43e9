"""``vms maps``: site plans and device pins from the command line (installers' scripts; the
desktop's site map does the same by dragging)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vms.access.session import Session
from vms.cli.common import Subparsers, command, device_ref
from vms.devices.commissioning import Commissioning
from vms.maps.plans import FORMATS, SitePlans
from vms.profile import Profile


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    maps = sub.add_parser("maps", parents=[common], help="site plans and device pins",
                          description="Give an area its plan (PNG, JPEG, SVG or a PDF page) and pin devices "
                                      "on it, as fractions of the plan's width and height "
                                      "from its top left corner. Changes need the installer "
                                      "or administrator role and are audited.")
    command(maps, run)
    acts = maps.add_subparsers(dest="maps_action", metavar="ACTION", required=True)
    a = acts.add_parser("list", parents=[common], help="plans and the devices pinned on them")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("plan", parents=[common], help="give an area its plan image")
    a.add_argument("area", help="the area (made if new)")
    a.add_argument("file", type=Path, help="a PNG, JPEG or SVG file, or a PDF")
    a.add_argument("--page", type=int, help="of a PDF, the page that is the plan (default 1)")
    a = acts.add_parser("pin", parents=[common], help="pin a device on an area's plan")
    a.add_argument("device", help="device id or name")
    a.add_argument("x", type=float, help="0 (left edge) to 1 (right edge)")
    a.add_argument("y", type=float, help="0 (top edge) to 1 (bottom edge)")
    a.add_argument("--plan", help="the area whose plan (default: the device's own area)")
    a = acts.add_parser("unpin", parents=[common], help="take a device off the plans")
    a.add_argument("device", help="device id or name")


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    plans = SitePlans(profile, session)
    svc = Commissioning(profile, session)
    action = args.maps_action
    if action == "list":
        names = {r.id: r.name for r in svc.devices()}
        found, pins = plans.plans(), plans.pins()
        if args.json:
            print(json.dumps({"plans": [{"area": p.area, "format": FORMATS[p.kind],
                                         "file": str(p.path)} for p in found.values()],
                              "pins": [{"device": names.get(p.device_id, str(p.device_id)),
                                        "device_id": p.device_id, "plan": p.area, "x": p.x,
                                        "y": p.y} for p in pins.values()]}, indent=2))
            return 0
        if not found:
            print("No area has a plan yet. Give one with: vms maps plan AREA FILE")
            return 0
        for area, plan in found.items():
            on = sorted((names.get(p.device_id, str(p.device_id)), p.x, p.y)
                        for p in pins.values() if p.area == area)
            print(f"{area} ({FORMATS[plan.kind]}): " + (", ".join(
                f"{n} at {x:.3f}, {y:.3f}" for n, x, y in on) or "no devices pinned"))
        return 0
    if action == "plan":
        plan = plans.set_plan(args.area, args.file, args.page)
        print(f"{plan.area} has its plan ({FORMATS[plan.kind]}, kept as {plan.path.name}).")
        return 0
    row = svc.registry.device(device_ref(svc, args.device))
    if action == "pin":
        pin = plans.place(row, args.plan or row.area, args.x, args.y)
        print(f"{row.name} is pinned on the plan of {pin.area} at {pin.x:.3f}, {pin.y:.3f}.")
        return 0
    plans.unpin(row)
    print(f"{row.name} is off the plans.")
    return 0
