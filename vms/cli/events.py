"""``vms events``: a live event inspector for installers.

It subscribes the way the desktop does (PullPoint, synchronisation point, long
polls, renewal) and prints every notification twice: as the device sent it (topic
and items) and as Beacon understands it, so an installer can prove that a button,
relay or analytics rule arrives and see which rule maps it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from vms.access.roles import Permission
from vms.access.session import Session
from vms.cli.common import Subparsers, command, device_args, read_password, timeouts
from vms.errors import ConfigError, ProtocolError
from vms.events import pullpoint
from vms.events.notifications import Notification
from vms.events.topics import EventRules
from vms.onvif.camera import DeviceClient, parse_target
from vms.onvif.model import describe_offset
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


def _out(args: argparse.Namespace, n: Notification, rules: EventRules) -> None:
    ev = rules.normalise(n)
    norm = None if ev is None else {"kind": ev.kind, "token": ev.token, "active": ev.active,
                                    "pulse": ev.pulse, "initial": ev.initial}
    if args.json:
        print(json.dumps({
            "received": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "topic": n.topic_raw, "topic_path": n.topic, "operation": n.operation,
            "utc": n.utc.isoformat() if n.utc else None, "source": n.source, "key": n.key,
            "data": n.data, "normalised": norm}), flush=True)
        return
    items = ", ".join(f"{k}={v}" for k, v in {**n.source, **n.data}.items())
    when = n.utc.strftime("%H:%M:%S.%f")[:-3] if n.utc else "--:--:--"
    meaning = "(not an alarm topic)" if ev is None else (
        f"-> {ev.kind} {ev.token or ''} {'ON' if ev.active else 'off'}"
        + (" (pulse)" if ev.pulse else "") + (" (state at subscription)" if ev.initial else ""))
    print(f"{when}  {n.topic_raw}  [{n.operation or '-'}]  {items}\n          {meaning}",
          flush=True)


async def _watch(args: argparse.Namespace, url: str, pw: str, rules: EventRules) -> int:
    target = parse_target(url)
    async with DeviceClient(target, args.user, pw, timeouts(args)) as dc:
        offset = await dc.read_clock()
        sub = await pullpoint.create(dc, await pullpoint.find_service(dc))
        if not args.json:
            print(f"Subscribed to {target.where} for {sub.lifetime_s:.0f} s (renewed before "
                  f"expiry); clock {describe_offset(offset)}. Ctrl+C stops.", file=sys.stderr)
        try:
            # optional (Core profile): without it the first pull brings the state
            with contextlib.suppress(ProtocolError):
                await pullpoint.synchronise(dc, sub)
            end = time.monotonic() + args.duration if args.duration else None
            while end is None or time.monotonic() < end:
                if time.monotonic() >= sub.renew_at:
                    await pullpoint.renew(dc, sub)
                left = None if end is None else end - time.monotonic()
                pull = pullpoint.pull(dc, sub)
                try:
                    msgs = await (asyncio.wait_for(pull, max(0.1, left)) if left is not None
                                  else pull)
                except TimeoutError:
                    break
                for n in msgs:
                    _out(args, n, rules)
        finally:
            await pullpoint.unsubscribe(dc, sub)
    return 0
