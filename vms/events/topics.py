"""From vendor topics to what a control room cares about.

A rule matches a topic by its local-name path and says which data item holds the
state, which source item names the input or relay, and what the event means. The
defaults cover the ONVIF standard topics and the vendor variants the field notes
list (Hikvision ``tnshik:AlarmIn`` with ``State``; Axis ``tnsaxis:IO/Port`` with
``state`` 0/1). A device's own rules (``EventRules.from_json``) are tried first, so
an installer can map an odd camera without a release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vms.errors import ConfigError
from vms.events.notifications import Notification

# Domain kinds
HELP_BUTTON = "help_button"  # a Help Point's "Request Assistance" input
INPUT = "input"  # a digital input on a device that is not a Help Point
RELAY = "relay"
INTRUSION = "intrusion"  # someone inside a field
LINE = "line_crossing"  # a pulse: no "off"
MOTION = "motion"
TAMPER = "tamper"
KINDS = (HELP_BUTTON, INPUT, RELAY, INTRUSION, LINE, MOTION, TAMPER)

TRUE_VALUES = frozenset({"true", "1", "active", "on", "yes", "closed", "high"})


@dataclass(frozen=True)
class Rule:
    topic: str  # local names; a trailing "/*" matches the subtree
    kind: str
    state: tuple[str, ...] = ()  # data item names (case-insensitive); empty: a pulse
    token: tuple[str, ...] = ()  # source item names that say which input/relay/rule

    def matches(self, topic: str) -> bool:
        if self.topic.endswith("/*"):
            base = self.topic[:-2]
            return topic == base or topic.startswith(base + "/")
        return topic == self.topic


DEFAULT_RULES: tuple[Rule, ...] = (
    # The standard names LogicalState; firmwares in the field also send State (as Hikvision does
    # for AlarmIn). A Help Point whose button rings nowhere for one element name is not an option.
    Rule("Device/Trigger/DigitalInput", INPUT, ("LogicalState", "State"), ("InputToken",)),
    Rule("Device/Trigger/AlarmIn", INPUT, ("State", "LogicalState"), ("AlarmInToken", "InputToken")),
    Rule("Device/IO/Port", INPUT, ("state",), ("port",)),
    Rule("Device/IO/VirtualInput", INPUT, ("active",), ("port",)),
    Rule("Device/Trigger/Relay", RELAY, ("LogicalState", "State"), ("RelayToken",)),
    Rule("Device/IO/OutputPort", RELAY, ("state",), ("port",)),
    Rule("RuleEngine/FieldDetector/ObjectsInside", INTRUSION, ("IsInside",), ("Rule",)),
    Rule("RuleEngine/LineDetector/Crossed", LINE, (), ("Rule",)),
    Rule("RuleEngine/CellMotionDetector/Motion", MOTION, ("IsMotion",), ("Rule",)),
    Rule("VideoSource/MotionAlarm", MOTION, ("State",), ("Source", "VideoSourceToken")),
    Rule("Device/Sensor/PIR", MOTION, ("state",), ("sensor",)),
    Rule("RuleEngine/TamperDetector/Tamper", TAMPER, ("IsTamper",), ("Rule",)),
    Rule("VideoSource/GlobalSceneChange/*", TAMPER, ("State",), ("Source",)),
    Rule("Device/Trigger/Tamper", TAMPER, ("State", "LogicalState"), ()),
    Rule("RuleEngine/MotionRegionDetector/Motion", MOTION, ("State",), ("Rule",)),
    # Axis applications (ACAP): perimeter analytics are intrusions, motion guards motion.
    Rule("CameraApplicationPlatform/FenceGuard/*", INTRUSION, ("active",), ()),
    Rule("CameraApplicationPlatform/ObjectAnalytics/*", INTRUSION, ("active",), ()),
    Rule("CameraApplicationPlatform/MotionGuard/*", MOTION, ("active",), ()),
    Rule("CameraApplicationPlatform/LoiteringGuard/*", INTRUSION, ("active",), ()),
    Rule("CameraApplicationPlatform/VMD/*", MOTION, ("active",), ()),
    Rule("RuleEngine/VMD3/*", MOTION, ("active",), ()),
)


@dataclass(frozen=True)
class DomainEvent:
    kind: str
    token: str  # which input, relay or rule ("" when the device names none)
    active: bool  # for a pulse, True
    pulse: bool
    initial: bool  # PropertyOperation="Initialized": a state report, not a change
    device_time: datetime | None
    topic: str
    data: dict[str, str] = field(default_factory=dict)


def _get(items: dict[str, str], names: tuple[str, ...]) -> str | None:
    lower = {k.lower(): v for k, v in items.items()}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


@dataclass(frozen=True)
class EventRules:
    """The rules for one device, its own first, then the defaults."""

    own: tuple[Rule, ...] = ()
    help_point: bool = False  # inputs on a Help Point are its assistance button

    @staticmethod
    def from_json(text: str, help_point: bool = False) -> EventRules:
        """``[{"topic": "Device/Trigger/X", "kind": "help_button", "state": "S", "token": "T"}]``."""
        try:
            items: Any = json.loads(text) if text.strip() else []
            if not isinstance(items, list):
                raise ValueError("expected a list of rules")
            rules = []
            for it in items:
                kind = it["kind"]
                if kind not in KINDS:
                    raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
                as_tuple = lambda v: tuple(v) if isinstance(v, list) else ((v,) if v else ())  # noqa: E731
                # Raw topics as 'vms events' prints them work too: prefixes are dropped.
                topic = "/".join(seg.rsplit(":", 1)[-1] for seg in str(it["topic"]).split("/"))
                rules.append(Rule(topic.strip("/"), kind, as_tuple(it.get("state")),
                                  as_tuple(it.get("token"))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"event rules are not valid: {exc}") from exc
        return EventRules(tuple(rules), help_point)

    def kinds(self) -> frozenset[str]:
        """Every kind of domain event these rules can produce (what a watcher may skip)."""
        out = {r.kind for r in (*self.own, *DEFAULT_RULES)}
        if self.help_point and INPUT in out:
            out = (out - {INPUT}) | {HELP_BUTTON}
        return frozenset(out)

    def normalise(self, n: Notification) -> DomainEvent | None:
        """The domain event a notification means, or None for topics we do not act on."""
        for rule in (*self.own, *DEFAULT_RULES):
            if not rule.matches(n.topic):
                continue
            token = _get(n.source, rule.token) or ""
            kind = HELP_BUTTON if rule.kind == INPUT and self.help_point else rule.kind
            if not rule.state:
                return DomainEvent(kind, token, True, True, False, n.utc, n.topic_raw, n.data)
            value = _get(n.data, rule.state)
            if value is None:
                return None  # a message we cannot read a state from is not an alarm
            return DomainEvent(kind, token, value.strip().lower() in TRUE_VALUES, False,
                               n.operation == "Initialized", n.utc, n.topic_raw, n.data)
        return None
