"""The event engine: one subscription per device, normalised, de-duplicated, bounded, stored.

A device is subscribed by PullPoint unless its event service says it has none
(``WSPullPointSupport="false"``) or refuses it; then by WS-BaseNotification, with the
device pushing to a consumer endpoint we serve (``basenotify``).

It runs on the core loop. What it tells its listeners has already been committed to
``events.db``. Every device has a visible event health: an operator must know when
a Help Point can no longer raise a call, not find out when nobody answered one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from vms.errors import AuthFailed, DeviceError, ProtocolError
from vms.events import basenotify, pullpoint
from vms.events.notifications import Notification
from vms.events.store import EventStore
from vms.events.topics import (
    HELP_BUTTON,
    INPUT,
    INTRUSION,
    MOTION,
    RELAY,
    TAMPER,
    DomainEvent,
    EventRules,
)
from vms.onvif.camera import DeviceClient, parse_target
from vms.onvif.http import Timeouts
from vms.retry import Backoff

log = logging.getLogger(__name__)

# How long an alarm may stay "on" without its "off" before we end it ourselves.
MAX_ACTIVE_S: dict[str, float] = {HELP_BUTTON: 60.0, INPUT: 120.0, INTRUSION: 120.0,
                                   MOTION: 60.0, TAMPER: 600.0}
PULSE_DEDUP_S = 10.0
AUTH_RETRY_S = 60.0

PULL_POINT, BASE_NOTIFICATION = "PullPoint", "WS-BaseNotification"
FIRST_PUSH_S = 5.0  # a pushing Help Point's first message: its button's state

# Health states
CONNECTING, OK, RETRYING, AUTH_FAILED, STOPPED = (
    "connecting", "ok", "retrying", "wrong credentials", "stopped")


@dataclass
class Health:
    device_id: int
    device: str
    state: str = CONNECTING
    detail: str = ""
    since: float = field(default_factory=time.time)
    subscriptions: int = 0
    renewals: int = 0
    events: int = 0
    duplicates: int = 0
    last_event: float | None = None
    retry_at: float | None = None
    method: str = ""  # how events reach us: PULL_POINT or BASE_NOTIFICATION


@dataclass(frozen=True)
class DeviceSource:
    """What the engine needs of one device; the caller reads it from registry and keyring."""

    device_id: int
    name: str
    area: str
    address: str
    user: str
    password: str = field(repr=False)
    rules: EventRules = field(default_factory=EventRules)
    events_xaddr: str | None = None


@dataclass(frozen=True)
class Event:
    """A stored domain event: what listeners receive."""

    id: int
    device_id: int
    device: str
    area: str
    ev: DomainEvent
    received: float  # host time.time()
    synthetic: str | None = None

    @property
    def kind(self) -> str:
        return self.ev.kind


Listener = Callable[[Event], None]
HealthListener = Callable[[Health], None]


class EventEngine:
    def __init__(self, store: EventStore, timeouts: Timeouts | None = None,
                 max_active: dict[str, float] | None = None, notify_port: int = 0) -> None:
        self.store = store
        self.consumer = basenotify.Consumer(notify_port)
        self.timeouts = timeouts or Timeouts(connect=3.0, read=10.0, total=10.0)
        self.max_active = {**MAX_ACTIVE_S, **(max_active or {})}
        self.health: dict[int, Health] = {}
        self.states: dict[tuple[int, str, str], bool] = {}
        self._pulses: dict[tuple[int, str, str, str], float] = {}
        self._timers: dict[tuple[int, str, str], asyncio.TimerHandle] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._sources: dict[int, DeviceSource] = {}
        self.listeners: list[Listener] = []
        self.health_listeners: list[HealthListener] = []

    # -- lifecycle (core loop) -------------------------------------------------------
    def watch(self, src: DeviceSource) -> None:
        """Start (or restart) the subscription of one device. Call on the core loop."""
        self.unwatch(src.device_id)
        self._sources[src.device_id] = src
        self.health[src.device_id] = Health(src.device_id, src.name)
        self._tasks[src.device_id] = asyncio.get_running_loop().create_task(
            self._run(src), name=f"events-{src.name}")

    def relabel(self, src: DeviceSource) -> None:
        """A device renamed or moved to another area: its events say so from now on, and its
        subscription goes on (restarting it could miss a press). Call on the core loop."""
        self._sources[src.device_id] = src  # what _commit names events by
        h = self.health.get(src.device_id)
        if h is not None:
            h.device = src.name

    def unwatch(self, device_id: int) -> None:
        task = self._tasks.pop(device_id, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for h in self._timers.values():
            h.cancel()
        self._timers.clear()
        await self.consumer.close()

    def relay_state(self, device_id: int) -> bool | None:
        """The blue light as the device last reported it (relays cannot be read back)."""
        snapshot = dict(self.states)  # called from the GUI thread; the loop writes it
        states = [v for (d, k, _), v in snapshot.items() if d == device_id and k == RELAY]
        return any(states) if states else None

    # -- health --------------------------------------------------------------------
    def _set_health(self, h: Health, state: str, detail: str = "",
                    retry_at: float | None = None) -> None:
        if h.state != state or h.detail != detail:
            h.state, h.detail, h.since, h.retry_at = state, detail, time.time(), retry_at
            for fn in list(self.health_listeners):
                fn(h)

    # -- one device ----------------------------------------------------------------
    async def _run(self, src: DeviceSource) -> None:
        h = self.health[src.device_id]
        backoff = Backoff(first=1.0, cap=30.0)
        try:
            while True:
                try:
                    await self._session(src, h, backoff)
                except AuthFailed as exc:
                    self._set_health(h, AUTH_FAILED, str(exc), time.time() + AUTH_RETRY_S)
                    await asyncio.sleep(AUTH_RETRY_S)
                    continue
                except (DeviceError, OSError, TimeoutError) as exc:
                    delay = backoff.next_delay()
                    self._set_health(h, RETRYING, f"{_plain(exc)}; trying again in {delay:.0f} s",
                                     time.time() + delay)
                    await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self._set_health(h, STOPPED)
            raise

    async def _session(self, src: DeviceSource, h: Health, backoff: Backoff) -> None:
        target = parse_target(src.address)
        async with DeviceClient(target, src.user, src.password, self.timeouts) as dc:
            await dc.read_clock()
            url = await pullpoint.find_service(dc, src.events_xaddr)
            sub, why = await pullpoint.create_or_refusal(dc, url)
            if sub is None:
                log.info("%s: no PullPoint (%s); asking it to push", src.name, why)
                await self._pushed(src, h, backoff, dc, url)
                return
            h.subscriptions += 1
            h.method = PULL_POINT
            try:
                with contextlib.suppress(ProtocolError):  # optional: the initial messages suffice
                    await pullpoint.synchronise(dc, sub)
                self._set_health(h, OK, f"subscribed for {sub.lifetime_s:.0f} s (PullPoint)")
                backoff.reset()
                while True:
                    if time.monotonic() >= sub.renew_at:
                        try:
                            await pullpoint.renew(dc, sub)
                            h.renewals += 1
                        except ProtocolError as exc:
                            if pullpoint.is_gone(exc):
                                raise
                            # Renew unsupported: take a fresh subscription instead.
                            await pullpoint.unsubscribe(dc, sub)
                            sub = await pullpoint.create(dc, url)
                            h.subscriptions += 1
                    msgs = await pullpoint.pull(dc, sub)
                    if msgs:
                        self.deliver(src, msgs)
            except asyncio.CancelledError:
                await pullpoint.unsubscribe(dc, sub)
                raise

    async def _pushed(self, src: DeviceSource, h: Health, backoff: Backoff, dc: DeviceClient,
                      url: str) -> None:
        """WS-BaseNotification: the device pushes to our consumer; we renew, and a failed
        Renew (a reboot forgot us) ends the session so that ``_run`` subscribes again."""
        async with basenotify.pushed(self.consumer, dc, url) as push:
            h.subscriptions += 1
            h.method = BASE_NOTIFICATION
            if src.rules.help_point:
                # A Help Point pushes its button's state at once. Nothing within a few seconds
                # means its pushes cannot reach us (a firewall on this computer): every Renew
                # would still succeed, and the button would ring nowhere while shown as fine.
                first = await push.next(time.monotonic() + FIRST_PUSH_S)
                if not first:
                    raise ProtocolError(
                        f"{src.name} accepted the subscription but pushed nothing to us within "
                        f"{FIRST_PUSH_S:.0f} s: a firewall on this computer may be blocking "
                        f"{push.address.split('/onvif/')[0]}")
                self.deliver(src, first)
            sub = push.sub
            self._set_health(h, OK, f"subscribed for {sub.lifetime_s:.0f} s (events pushed by "
                                    "WS-BaseNotification)")
            backoff.reset()
            while True:
                if time.monotonic() >= sub.renew_at:
                    # A device that forgot us (a reboot) answers with a fault: ProtocolError.
                    await pullpoint.renew(dc, sub, basenotify.LIFETIME_S)
                    basenotify.next_renewal(sub)
                    h.renewals += 1
                msgs = await push.next(sub.renew_at)
                if msgs:
                    self.deliver(src, msgs)

    # -- normalise, de-duplicate, persist, tell --------------------------------------
    def deliver(self, src: DeviceSource, msgs: list[Notification]) -> list[Event]:
        """Handle one batch (public so recorded captures can be replayed through it)."""
        h = self.health.setdefault(src.device_id, Health(src.device_id, src.name))
        now = time.time()
        fresh: list[tuple[DomainEvent, str | None]] = []
        batch: dict[tuple[int, str, str], bool] = {}
        for n in msgs:
            ev = src.rules.normalise(n)
            if ev is None:
                continue
            if self._duplicate(src.device_id, ev, now, batch):
                h.duplicates += 1
                continue
            fresh.append((ev, None))
        return self._commit(src, fresh, now)

    def _duplicate(self, device_id: int, ev: DomainEvent, now: float,
                   batch: dict[tuple[int, str, str], bool]) -> bool:
        """Same state again (a re-sent Initialized, a resubscription) or the same pulse."""
        if ev.pulse:
            stamp = ev.device_time.isoformat() if ev.device_time else ""
            key4 = (device_id, ev.kind, ev.token, stamp)
            for k, t in list(self._pulses.items()):
                if now - t > PULSE_DEDUP_S:
                    del self._pulses[k]
            if stamp and key4 in self._pulses:
                return True
            self._pulses[key4] = now
            return False
        key = (device_id, ev.kind, ev.token)
        known = batch.get(key, self.states.get(key))
        batch[key] = ev.active
        return known == ev.active

    def _commit(self, src: DeviceSource, items: list[tuple[DomainEvent, str | None]],
                now: float) -> list[Event]:
        if not items:
            return []
        received = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        now_src = self._sources.get(src.device_id, src)  # relabelled since the task began
        name, area = now_src.name, now_src.area
        rows = [{"device_id": src.device_id, "device": name, "kind": ev.kind,
                 "token": ev.token, "active": ev.active, "pulse": ev.pulse,
                 "initial": ev.initial, "synthetic": why,
                 "device_time": ev.device_time.isoformat() if ev.device_time else None,
                 "received_utc": received.replace("+00:00", "Z"), "topic": ev.topic,
                 "data": ev.data} for ev, why in items]
        ids = self.store.add_events(rows)  # committed before anyone hears of it
        out = []
        h = self.health.get(src.device_id)
        for (ev, why), eid in zip(items, ids, strict=True):
            if not ev.pulse:
                self.states[(src.device_id, ev.kind, ev.token)] = ev.active
                self._bound(src, ev)
            e = Event(eid, src.device_id, name, area, ev, now, why)
            out.append(e)
            if h is not None:
                h.events += 1
                h.last_event = now
        for e in out:
            for fn in list(self.listeners):
                try:
                    fn(e)
                except Exception:  # a broken listener must not stop the engine
                    log.exception("event listener failed")
        return out

    def _bound(self, src: DeviceSource, ev: DomainEvent) -> None:
        key = (src.device_id, ev.kind, ev.token)
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        limit = self.max_active.get(ev.kind)
        if not ev.active or limit is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # replaying captures off the loop: nothing to time out

        def expire() -> None:
            self._timers.pop(key, None)
            if self.states.get(key):
                off = replace(ev, active=False, initial=False, device_time=None)
                self._commit(src, [(off, f"no 'off' from the device within {limit:.0f} s")],
                             time.time())

        self._timers[key] = loop.call_later(limit, expire)


def _plain(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, TimeoutError) or not text:
        return "the device did not answer in time"
    return text


