"""Event service: GetEventProperties, PullPoint subscriptions (ONVIF Core 9.1) and
WS-BaseNotification push subscriptions (``wsnt:Subscribe``, ONVIF Core 9.2).

Each subscription has its own queue. ``PullMessages`` is a long poll: it returns
as soon as a message is queued, or empty when its Timeout runs out. A new
PullMessages on the same subscription ends the one in flight (one outstanding
call per subscription). Subscriptions expire at their TerminationTime unless
renewed; they start with ``Initialized`` messages for every property, as does
``SetSynchronizationPoint``. A push subscription sends each message to the client's
consumer address as a ``wsnt:Notify``, in order, from a sender task of its own. A device
with the ``no_pullpoint`` deviation says ``WSPullPointSupport="false"`` and refuses
CreatePullPointSubscription, as some field devices do.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiohttp

from vms.sim.device import (
    TOPIC_DIGITAL_INPUT,
    TOPIC_FIELD,
    TOPIC_LINE,
    TOPIC_MOTION,
    TOPIC_RELAY,
    Notification,
    SimDevice,
)
from vms.sim.onvif.soap import (
    Raw,
    SoapFault,
    SoapRequest,
    el,
    envelope,
    invalid_arg,
    parse_duration,
    parse_xs_datetime,
    xs_datetime,
)

log = logging.getLogger(__name__)

DEFAULT_TERMINATION = 60.0
MAX_TERMINATION = 24 * 3600.0
MAX_PULL_TIMEOUT = 120.0
MAX_MESSAGE_LIMIT = 1024
MAX_SUBSCRIPTIONS = 16
QUEUE_LIMIT = 1000
NOTIFY_TIMEOUT_S = 5.0
NOTIFY_ACTION = "http://docs.oasis-open.org/wsn/bw-2/NotificationConsumer/Notify"
TOPIC_DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"


@dataclass
class Subscription:
    sid: int
    expires: float  # device-clock POSIX time
    topics: list[str] | None  # None: every topic
    queue: deque[Notification] = field(default_factory=lambda: deque(maxlen=QUEUE_LIMIT))
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    pull_generation: int = 0
    consumer: str | None = None  # a push subscription's wsnt:ConsumerReference address
    sender: asyncio.Task[None] | None = None
    notified: int = 0  # messages delivered to the consumer

    def end(self) -> None:
        """Wake anything waiting on this subscription and stop its sender: it is gone."""
        self.pull_generation += 1
        self.wakeup.set()
        if self.sender is not None:
            self.sender.cancel()

    def accepts(self, topic: str) -> bool:
        if self.topics is None:
            return True
        t = _strip(topic)
        for f in self.topics:
            if f.endswith("//."):
                if t == f[:-3] or t.startswith(f[:-3] + "/"):
                    return True
            elif t == f:
                return True
        return False

    def push(self, n: Notification) -> None:
        if self.accepts(n.topic):
            self.queue.append(n)
            self.wakeup.set()


def parse_topic_filter(expression: str) -> list[str]:
    """``tns1:Device/Trigger//.|tns1:VideoSource/MotionAlarm`` -> ``["Device/Trigger//.", ...]``.

    ``//.`` (ConcreteSet) means "this topic and everything below it".
    """
    out = []
    for part in expression.split("|"):
        part = part.strip()
        if not part:
            continue
        subtree = part.endswith("//.")
        out.append(_strip(part[:-3] if subtree else part) + ("//." if subtree else ""))
    return out


def _strip(topic: str) -> str:
    """Drop namespace prefixes: ``tns1:Device/tnsaxis:IO`` -> ``Device/IO``."""
    return "/".join(part.split(":")[-1] for part in topic.strip().split("/") if part != "")


class EventService:
    def __init__(self, dev: SimDevice) -> None:
        self.dev = dev
        self.subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        dev.subscribe(self._on_event)

    def close(self) -> None:
        self.dev.unsubscribe(self._on_event)
        self.forget()

    def forget(self) -> None:
        """Drop every subscription, as a device does when it reboots."""
        for s in self.subs.values():
            s.end()
        self.subs.clear()

    def _on_event(self, n: Notification) -> None:
        self._expire()
        for s in self.subs.values():
            s.push(n)

    def _expire(self) -> None:
        now = self.dev.now()
        for sid in [sid for sid, s in self.subs.items() if s.expires <= now]:
            self.subs.pop(sid).end()

    def address(self, sid: int) -> str:
        return f"{self.dev.http_base}/onvif/subscription/{sid}"

    def _termination(self, text: str | None, default: float) -> float:
        """InitialTerminationTime / TerminationTime: an xs:duration or an absolute time."""
        now = self.dev.now()
        if not text:
            return now + default
        text = text.strip()
        try:
            if text.startswith(("P", "-P")):
                if text.startswith("-"):
                    raise invalid_arg("termination time in the past")
                exp = now + parse_duration(text)
            else:
                exp = parse_xs_datetime(text).timestamp()
        except ValueError as exc:
            raise SoapFault("Sender", ["wsnt:UnacceptableInitialTerminationTimeFault"],
                            f"unreadable termination time {text!r}") from exc
        if exp <= now:
            raise SoapFault("Sender", ["wsnt:UnacceptableInitialTerminationTimeFault"],
                            "termination time is in the past (by the device's clock)")
        return min(exp, now + MAX_TERMINATION)

    # -- operations -----------------------------------------------------------
    def get_event_properties(self, dev: SimDevice, req: SoapRequest) -> str:
        return el("tev:GetEventPropertiesResponse", [
            el("tev:TopicNamespaceLocation",
               "http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
            el("wsnt:FixedTopicSet", True),
            el("wstop:TopicSet", Raw(_topic_set(dev))),
            el("wsnt:TopicExpressionDialect", "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"),
            el("wsnt:TopicExpressionDialect", "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"),
            el("tev:MessageContentFilterDialect",
               "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"),
            el("tev:MessageContentSchemaLocation", "http://www.onvif.org/onvif/ver10/schema/onvif.xsd"),
        ])

    def get_service_capabilities(self, dev: SimDevice, req: SoapRequest) -> str:
        return el("tev:GetServiceCapabilitiesResponse", Raw(service_capabilities(dev)))

    def _new(self, req: SoapRequest, prefix: str, consumer: str | None) -> Subscription:
        self._expire()
        if len(self.subs) >= MAX_SUBSCRIPTIONS:
            raise SoapFault("Receiver", ["ter:Action", "ter:MaxNotificationProducersReached"],
                            f"at most {MAX_SUBSCRIPTIONS} subscriptions at once")
        topics = None
        f = req.find(f"{prefix}:Filter/wsnt:TopicExpression")
        if f is not None and (f.text or "").strip():
            topics = parse_topic_filter(f.text or "")
        expires = self._termination(req.text(f"{prefix}:InitialTerminationTime"),
                                    DEFAULT_TERMINATION)
        sub = Subscription(next(self._ids), expires, topics, consumer=consumer)
        for n in self.dev.property_states():
            sub.push(n)
        self.subs[sub.sid] = sub
        return sub

    def create_pull_point_subscription(self, dev: SimDevice, req: SoapRequest) -> str:
        if dev.cfg.deviates("no_pullpoint"):
            raise SoapFault("Receiver", ["ter:ActionNotSupported"],
                            "this device does not support PullPoint subscriptions; "
                            "use WS-BaseNotification (Subscribe)")
        sub = self._new(req, "tev", None)
        return el("tev:CreatePullPointSubscriptionResponse", [
            el("tev:SubscriptionReference", el("wsa:Address", self.address(sub.sid))),
            el("wsnt:CurrentTime", xs_datetime(dev.utcnow())),
            el("wsnt:TerminationTime", xs_datetime(datetime.fromtimestamp(sub.expires, UTC)))])

    def subscribe(self, dev: SimDevice, req: SoapRequest) -> str:
        """WS-BaseNotification Subscribe: push every message to the consumer's address."""
        consumer = req.text("wsnt:ConsumerReference/wsa:Address")
        if not consumer or not consumer.startswith(("http://", "https://")):
            raise SoapFault("Sender", ["ter:InvalidArgVal", "wsnt:SubscribeCreationFailedFault"],
                            "Subscribe needs a ConsumerReference with an http(s) address")
        sub = self._new(req, "wsnt", consumer)
        sub.sender = asyncio.get_running_loop().create_task(
            self._send(sub), name=f"notify-{dev.name}-{sub.sid}")
        return el("wsnt:SubscribeResponse", [
            el("wsnt:SubscriptionReference", el("wsa:Address", self.address(sub.sid))),
            el("wsnt:CurrentTime", xs_datetime(dev.utcnow())),
            el("wsnt:TerminationTime", xs_datetime(datetime.fromtimestamp(sub.expires, UTC)))])

    async def _send(self, sub: Subscription) -> None:
        """Deliver queued messages to the consumer in order; a consumer that does not answer
        loses them after one retry, as a device with little memory does."""
        timeout = aiohttp.ClientTimeout(total=NOTIFY_TIMEOUT_S)
        assert sub.consumer is not None
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while sub.sid in self.subs:
                await sub.wakeup.wait()
                sub.wakeup.clear()
                while sub.queue and sub.sid in self.subs and self.dev.online:
                    batch = [sub.queue.popleft() for _ in range(min(len(sub.queue), 100))]
                    body = envelope(el("wsnt:Notify", [
                        _notification(n, self.address(sub.sid)) for n in batch]),
                        header=el("wsa:Action", NOTIFY_ACTION) + el("wsa:To", sub.consumer))
                    for attempt in (1, 2):
                        try:
                            async with http.post(sub.consumer, data=body, headers={
                                    "Content-Type": "application/soap+xml; charset=utf-8; "
                                                    f'action="{NOTIFY_ACTION}"'}) as resp:
                                await resp.read()
                                if resp.status < 300:
                                    sub.notified += len(batch)
                                    break
                                log.info("%s: consumer answered Notify with HTTP %s",
                                         self.dev.name, resp.status)
                        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                            log.info("%s: could not notify %s: %s", self.dev.name,
                                     sub.consumer, exc)
                        if attempt == 1:
                            # stopping: the retry is not needed
                            with contextlib.suppress(asyncio.CancelledError):
                                await asyncio.sleep(1.0)

    def _sub(self, sid: int | None, pull: bool = False) -> Subscription:
        self._expire()
        if sid is None or sid not in self.subs:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "wsrf-rw:ResourceUnknownFault"],
                            "no such subscription (it expired, was unsubscribed or the device "
                            "restarted)")
        sub = self.subs[sid]
        if pull and sub.consumer is not None:
            raise SoapFault("Sender", ["ter:InvalidArgVal"],
                            "this is a push (Subscribe) subscription: it has no pull point")
        return sub

    async def pull_messages(self, dev: SimDevice, req: SoapRequest, sid: int | None) -> str:
        sub = self._sub(sid, pull=True)
        try:
            timeout = parse_duration(req.require("tev:Timeout"))
            limit = int(req.require("tev:MessageLimit"))
        except ValueError as exc:
            raise invalid_arg(f"PullMessages: {exc}") from exc
        if timeout > MAX_PULL_TIMEOUT or limit > MAX_MESSAGE_LIMIT or limit < 1:
            raise _pull_fault()
        sub.pull_generation += 1
        gen = sub.pull_generation
        sub.wakeup.set()  # ends a PullMessages already in flight on this subscription
        await asyncio.sleep(0)
        sub.wakeup.clear()
        deadline = time.monotonic() + timeout
        while not sub.queue and gen == sub.pull_generation and sid in self.subs:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(sub.wakeup.wait(), remaining)
            except TimeoutError:
                break
            sub.wakeup.clear()
        msgs: list[Notification] = []
        while sub.queue and len(msgs) < limit:
            msgs.append(sub.queue.popleft())
        now = dev.utcnow()
        return el("tev:PullMessagesResponse", [
            el("tev:CurrentTime", xs_datetime(now)),
            el("tev:TerminationTime", xs_datetime(datetime.fromtimestamp(sub.expires, UTC))),
            *[_notification(n) for n in msgs]])

    def renew(self, dev: SimDevice, req: SoapRequest, sid: int | None) -> str:
        sub = self._sub(sid)
        sub.expires = self._termination(req.text("wsnt:TerminationTime"), DEFAULT_TERMINATION)
        return el("wsnt:RenewResponse", [
            el("wsnt:TerminationTime", xs_datetime(datetime.fromtimestamp(sub.expires, UTC))),
            el("wsnt:CurrentTime", xs_datetime(dev.utcnow()))])

    def unsubscribe(self, dev: SimDevice, req: SoapRequest, sid: int | None) -> str:
        sub = self._sub(sid)
        del self.subs[sub.sid]
        sub.end()
        return el("wsnt:UnsubscribeResponse")

    def set_synchronization_point(self, dev: SimDevice, req: SoapRequest,
                                  sid: int | None) -> str:
        sub = self._sub(sid, pull=True)
        for n in dev.property_states():
            sub.push(n)
        return el("tev:SetSynchronizationPointResponse")


def _pull_fault() -> SoapFault:
    return SoapFault("Sender", ["ter:InvalidArgVal", "tev:PullMessagesFaultResponse"],
                     f"Timeout must be at most PT{MAX_PULL_TIMEOUT:.0f}S and MessageLimit "
                     f"1..{MAX_MESSAGE_LIMIT}")


def service_capabilities(dev: SimDevice) -> str:
    """tev:Capabilities, the same in GetServices and GetServiceCapabilities."""
    return el("tev:Capabilities", WSSubscriptionPolicySupport=False,
              WSPullPointSupport=not dev.cfg.deviates("no_pullpoint"),
              WSPausableSubscriptionManagerInterfaceSupport=False,
              MaxNotificationProducers=MAX_SUBSCRIPTIONS, MaxPullPoints=MAX_SUBSCRIPTIONS,
              PersistentNotificationStorage=False)


def _notification(n: Notification, manager: str | None = None) -> str:
    items = lambda pairs: [el("tt:SimpleItem", "", Name=k, Value=v) for k, v in pairs]  # noqa: E731
    msg = el("tt:Message", [el("tt:Source", items(n.source)), el("tt:Data", items(n.data))],
             UtcTime=xs_datetime(n.utc), PropertyOperation=n.property_op)
    ref = [el("wsnt:SubscriptionReference", el("wsa:Address", manager))] if manager else []
    return el("wsnt:NotificationMessage", [
        *ref, el("wsnt:Topic", n.topic, Dialect=TOPIC_DIALECT), el("wsnt:Message", Raw(msg))])


def _topic_set(dev: SimDevice) -> str:
    """The topic tree this device can raise, with message descriptions."""

    def desc(source: list[tuple[str, str]], data: list[tuple[str, str]], prop: bool) -> str:
        sd = lambda pairs: [el("tt:SimpleItemDescription", "", Name=k, Type=t)  # noqa: E731
                            for k, t in pairs]
        return el("tt:MessageDescription", [el("tt:Source", sd(source)), el("tt:Data", sd(data))],
                  IsProperty=prop)

    tree: dict[str, str] = {}
    if dev.is_help_point:
        tree[TOPIC_DIGITAL_INPUT] = desc([("InputToken", "tt:ReferenceToken")],
                                         [(dev.state_item, "xs:boolean")], True)
        tree[TOPIC_RELAY] = desc([("RelayToken", "tt:ReferenceToken")],
                                 [(dev.state_item, "tt:RelayLogicalState")], True)
    if dev.is_pid:
        rule_src = [("VideoSourceConfigurationToken", "tt:ReferenceToken"),
                    ("VideoAnalyticsConfigurationToken", "tt:ReferenceToken"), ("Rule", "xs:string")]
        tree[TOPIC_FIELD] = desc(rule_src, [("IsInside", "xs:boolean")], True)
        tree[TOPIC_LINE] = desc(rule_src, [("ObjectId", "xs:integer")], False)
        tree[TOPIC_MOTION] = desc([("Source", "tt:ReferenceToken")], [("State", "xs:boolean")], True)
    # Build nested elements: tns1:Device/Trigger/DigitalInput -> <tns1:Device><Trigger>...
    root: dict[str, dict] = {}
    for topic in tree:
        node = root
        for part in topic.split("/"):
            node = node.setdefault(part, {})
        node["__desc__"] = tree[topic]  # type: ignore[assignment]

    def render(name: str, node: dict, top: bool) -> str:
        inner = [render(k, v, False) for k, v in node.items() if k != "__desc__"]
        tag = name if top else name.split(":")[-1]
        if "__desc__" in node:
            return el(tag, [node["__desc__"], *inner], wstop__topic=True)
        return el(tag, inner)

    return "".join(render(k, v, True) for k, v in root.items())

