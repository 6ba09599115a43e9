"""``vms events``: the live event inspector (``vms.events.inspect``) for any address,
registered or not, printing each notification raw and as Beacon reads it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path

from vms.access.roles import Permission
from vms.access.session import Session
from vms.cli.common import Subparsers, command, device_args, read_password, timeouts
from vms.errors import ConfigError
from vms.events.inspect import Seen, watch
from vms.events.topics import EventRules
from vms.onvif.camera import DeviceClient, parse_target
from vms.profile import Profile


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("events", parents=[common], help="watch a device's ONVIF events live",
                       description="Subscribe to a device's events (PullPoint) and print each "
                                   "notification raw and as Beacon normalises it.")
    device_args(p)
    p.add_argument("--duration", type=float, default=0.0, metavar="SECONDS",
                   help="stop after this long (default: until Ctrl+C)")
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.add_argument("--help-point", action="store_true",
                   help="treat digital inputs as a Help Point's assistance button")
    p.add_argument("--rules", type=Path, metavar="FILE",
                   help="the device's own topic rules (JSON list), tried before the defaults")
    command(p, run)


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    profile.access.require(session, Permission.DEVICE_DISCOVER, action="events.inspect")
    if args.duration < 0:
        raise ConfigError("--duration must be positive")
    rules = EventRules(help_point=args.help_point)
    if args.rules:
        try:
            text = args.rules.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read {args.rules}: {exc}") from exc
        rules = EventRules.from_json(text, help_point=args.help_point)
    pw = read_password(args)
    target = parse_target(args.address)
    profile.access.record(session, "events.inspect", detail={"address": target.where})
    # Ctrl+C is how the operator ends the watch
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_watch(args, target.url, pw, rules))
    return 0


def _out(args: argparse.Namespace, s: Seen) -> None:
    n = s.notification
    if args.json:
        print(json.dumps({
            "received": s.received.isoformat(timespec="milliseconds"),
            "topic": n.topic_raw, "topic_path": n.topic, "operation": n.operation,
            "utc": n.utc.isoformat() if n.utc else None, "source": n.source, "key": n.key,
            "data": n.data, "normalised": s.normalised}), flush=True)
        return
    when = n.utc.strftime("%H:%M:%S.%f")[:-3] if n.utc else "--:--:--"
    meaning = s.meaning if s.normalised is None else f"-> {s.meaning}"
    print(f"{when}  {n.topic_raw}  [{n.operation or '-'}]  {s.items}\n          {meaning}",
          flush=True)


async def _watch(args: argparse.Namespace, url: str, pw: str, rules: EventRules) -> int:
    target = parse_target(url)

    def subscribed(text: str) -> None:
        if not args.json:
            print(f"{target.where}: {text} Ctrl+C stops.", file=sys.stderr)
    async with DeviceClient(target, args.user, pw, timeouts(args)) as dc:
        await watch(dc, rules, lambda s: _out(args, s), duration=args.duration,
                    on_subscribed=subscribed)
    return 0
