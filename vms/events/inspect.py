"""A live event inspector for installers: ``vms events`` and the desktop's *Watch events…*.

It subscribes the way the site service does (PullPoint, synchronisation point, long polls,
renewal before expiry; a device without PullPoint pushes to a consumer of our own) and hands
over every notification twice: as the device sent it (topic and items) and as Beacon reads
it, so an installer can prove that a button, relay or analytics rule arrives, and see which
rule maps it. It watches beside the site service (a second subscription): what it shows is
what the device sends, not what the queue did.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vms.access.roles import Permission
from vms.access.session import Session
from vms.coreloop import core_loop
from vms.devices.gate import DeviceGate
from vms.errors import ProtocolError
from vms.events import basenotify, pullpoint
from vms.events.device_rules import rules_for
from vms.events.notifications import Notification
from vms.events.topics import EventRules
from vms.onvif.camera import NS_EVENTS, DeviceClient, parse_target
from vms.onvif.http import Timeouts
from vms.onvif.model import describe_offset
from vms.profile import Profile


@dataclass(frozen=True)
class Seen:
    """One notification as received, and what Beacon makes of it."""

    received: datetime  # our clock, UTC
    notification: Notification
    normalised: dict[str, Any] | None  # kind, token, active, pulse, initial; None: not acted on

    @property
    def items(self) -> str:
        n = self.notification
        return ", ".join(f"{k}={v}" for k, v in {**n.source, **n.data}.items())

    @property
    def meaning(self) -> str:
        """In words: the alarm it raises, or that the topic raises none."""
        ev = self.normalised
        if ev is None:
            return "(not an alarm topic)"
        words = [ev["kind"], ev["token"], "ON" if ev["active"] else "off",
                 "(pulse)" if ev["pulse"] else "",
                 "(state at subscription)" if ev["initial"] else ""]
        return " ".join(w for w in words if w)


def seen(n: Notification, rules: EventRules) -> Seen:
    ev = rules.normalise(n)
    norm = None if ev is None else {"kind": ev.kind, "token": ev.token, "active": ev.active,
                                    "pulse": ev.pulse, "initial": ev.initial}
    return Seen(datetime.now(UTC), n, norm)


async def watch(dc: DeviceClient, rules: EventRules, on_seen: Callable[[Seen], None], *,
                duration: float = 0.0, service: str | None = None,
                on_subscribed: Callable[[str], None] | None = None) -> None:
    """Subscribe and report every notification until ``duration`` s pass (0: until
    cancelled). PullPoint where the device has it, else its pushes (WS-BaseNotification) to a
    consumer of our own; the subscription is always given back."""
    offset = await dc.read_clock()
    url = await pullpoint.find_service(dc, service)
    end = time.monotonic() + duration if duration else None
    clock = f"clock {describe_offset(offset)}"
    sub, _why = await pullpoint.create_or_refusal(dc, url)
    if sub is None:
        await _pushed(dc, url, rules, on_seen, end, clock, on_subscribed)
        return
    try:
        if on_subscribed is not None:
            on_subscribed(f"Subscribed for {sub.lifetime_s:.0f} s by PullPoint (renewed before "
                          f"expiry); {clock}.")
        # optional (Core profile): without it the first pull brings the state
        with contextlib.suppress(ProtocolError):
            await pullpoint.synchronise(dc, sub)
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
                on_seen(seen(n, rules))
    finally:
        with contextlib.suppress(Exception):  # best effort: the subscription also expires
            await asyncio.shield(pullpoint.unsubscribe(dc, sub))


async def _pushed(dc: DeviceClient, url: str, rules: EventRules, on_seen: Callable[[Seen], None],
                  end: float | None, clock: str, on_subscribed: Callable[[str], None] | None
                  ) -> None:
    """A device that only pushes: a consumer of our own, on a port the OS chooses."""
    consumer = basenotify.Consumer()
    try:
        async with basenotify.pushed(consumer, dc, url) as push:
            sub = push.sub
            if on_subscribed is not None:
                on_subscribed(f"Subscribed for {sub.lifetime_s:.0f} s; the device pushes its "
                              f"events to us (WS-BaseNotification, no PullPoint); {clock}.")
            while end is None or time.monotonic() < end:
                if time.monotonic() >= sub.renew_at:
                    await pullpoint.renew(dc, sub, basenotify.LIFETIME_S)
                    basenotify.next_renewal(sub)
                for n in await push.next(sub.renew_at if end is None else min(sub.renew_at, end)):
                    on_seen(seen(n, rules))
    finally:
        await consumer.close()


class EventInspector:
    """Watch one registered device's events, as the signed-in installer."""

    def __init__(self, profile: Profile, session: Session, timeouts: Timeouts | None = None) -> None:
        self.profile = profile
        self.gate = DeviceGate(profile, session)
        self.timeouts = timeouts or Timeouts(connect=3.0, read=10.0, total=10.0)  # as the engine

    def start(self, device_id: int, on_seen: Callable[[Seen], None],
              on_subscribed: Callable[[str], None]) -> concurrent.futures.Future[None]:
        """Check, audit and start (blocking: registry and keyring, so not the GUI thread); the
        watch runs on the core loop until the returned future is cancelled."""
        row = self.gate.allowed(device_id, Permission.DEVICE_DISCOVER, "events.inspect")
        user, password = self.gate.login(row)
        rules = rules_for(self.profile.registry, row)
        self.gate.done("events.inspect", row, {"address": row.address})

        async def run() -> None:
            target = parse_target(row.address)
            async with DeviceClient(target, user, password, self.timeouts) as dc:
                if row.clock_offset_s is not None:
                    await dc.set_offset(row.clock_offset_s)
                dc.xaddrs.update(row.capabilities.services)
                await watch(dc, rules, on_seen, on_subscribed=on_subscribed,
                            service=row.capabilities.services.get(NS_EVENTS))
        return core_loop().submit(run())
