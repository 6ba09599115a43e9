"""Event service: GetEventProperties and PullPoint subscriptions (ONVIF Core 9.1).

Each subscription has its own queue. ``PullMessages`` is a long poll: it returns
as soon as a message is queued, or empty when its Timeout runs out. A new
PullMessages on the same subscription ends the one in flight (one outstanding
call per subscription). Subscriptions expire at their TerminationTime unless
renewed; they start with ``Initialized`` messages for every property, as does
``SetSynchronizationPoint``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
    invalid_arg,
    parse_duration,
    parse_xs_datetime,
    xs_datetime,
)

DEFAULT_TERMINATION = 60.0
MAX_TERMINATION = 24 * 3600.0
MAX_PULL_TIMEOUT = 120.0
MAX_MESSAGE_LIMIT = 1024
MAX_SUBSCRIPTIONS = 16
QUEUE_LIMIT = 1000
TOPIC_DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"


@dataclass
class Subscription:
    sid: int
    expires: float  # device-clock POSIX time
    topics: list[str] | None  # None: every topic
    queue: deque[Notification] = field(default_factory=lambda: deque(maxlen=QUEUE_LIMIT))
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    pull_generation: int = 0

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
        for s in self.subs.values():
            s.pull_generation += 1
            s.wakeup.set()
        self.subs.clear()

    def _on_event(self, n: Notification) -> None:
        self._expire()
        for s in self.subs.values():
            s.push(n)

    def _expire(self) -> None:
        now = self.dev.now()
        for sid in [sid for sid, s in self.subs.items() if s.expires <= now]:
            sub = self.subs.pop(sid)
            sub.pull_generation += 1
            sub.wakeup.set()

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

    def create_pull_point_subscription(self, dev: SimDevice, req: SoapRequest) -> str:
        self._expire()
        if len(self.subs) >= MAX_SUBSCRIPTIONS:
            raise SoapFault("Receiver", ["ter:Action", "ter:MaxNotificationProducersReached"],
                            f"at most {MAX_SUBSCRIPTIONS} pull-point subscriptions at once")
        topics = None
        f = req.find("tev:Filter/wsnt:TopicExpression")
        if f is not None and (f.text or "").strip():
            topics = parse_topic_filter(f.text or "")
        expires = self._termination(req.text("tev:InitialTerminationTime"), DEFAULT_TERMINATION)
        sub = Subscription(next(self._ids), expires, topics)
        for n in dev.property_states():
            sub.push(n)
        self.subs[sub.sid] = sub
        now = dev.utcnow()
        return el("tev:CreatePullPointSubscriptionResponse", [
            el("tev:SubscriptionReference", el("wsa:Address", self.address(sub.sid))),
            el("wsnt:CurrentTime", xs_datetime(now)),
            el("wsnt:TerminationTime", xs_datetime(datetime.fromtimestamp(expires, UTC)))])

    def _sub(self, sid: int | None) -> Subscription:
        self._expire()
        if sid is None or sid not in self.subs:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "wsrf-rw:ResourceUnknownFault"],
                            "no such subscription (it expired, was unsubscribed or the device "
                            "restarted)")
        return self.subs[sid]

    async def pull_messages(self, dev: SimDevice, req: SoapRequest, sid: int | None) -> str:
        sub = self._sub(sid)
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
        sub.pull_generation += 1
        sub.wakeup.set()
        return el("wsnt:UnsubscribeResponse")

    def set_synchronization_point(self, dev: SimDevice, req: SoapRequest,
                                  sid: int | None) -> str:
        sub = self._sub(sid)
        for n in dev.property_states():
            sub.push(n)
        return el("tev:SetSynchronizationPointResponse")


def _pull_fault() -> SoapFault:
    return SoapFault("Sender", ["ter:InvalidArgVal", "tev:PullMessagesFaultResponse"],
                     f"Timeout must be at most PT{MAX_PULL_TIMEOUT:.0f}S and MessageLimit "
                     f"1..{MAX_MESSAGE_LIMIT}")


def _notification(n: Notification) -> str:
    items = lambda pairs: [el("tt:SimpleItem", "", Name=k, Value=v) for k, v in pairs]  # noqa: E731
    msg = el("tt:Message", [el("tt:Source", items(n.source)), el("tt:Data", items(n.data))],
             UtcTime=xs_datetime(n.utc), PropertyOperation=n.property_op)
    return el("wsnt:NotificationMessage", [
        el("wsnt:Topic", n.topic, Dialect=TOPIC_DIALECT), el("wsnt:Message", Raw(msg))])


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
                                         [("LogicalState", "xs:boolean")], True)
        tree[TOPIC_RELAY] = desc([("RelayToken", "tt:ReferenceToken")],
                                 [("LogicalState", "tt:RelayLogicalState")], True)
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

