"""Event rules per device: the topic mappings an installer adds for one camera's firmware.

Vendors name the same thing differently, and some alarms only exist as vendor topics
(a loaned camera's analytics, a Help Point wired to a non-standard input). The default
mapping covers the standard, Hikvision and Axis topics; a device's own rules, kept in
the registry, are tried first. Rules are checked when they are set, so a typo fails at
commissioning and not when the alarm is needed.
"""

from __future__ import annotations

import logging

from vms.access.roles import Permission
from vms.access.session import Session
from vms.devices.gate import DeviceGate
from vms.errors import ConfigError
from vms.events.topics import EventRules
from vms.profile import Profile
from vms.store import Registry
from vms.store.devices import DeviceRow

MAX_RULES_CHARS = 64_000
log = logging.getLogger(__name__)


def is_help_point(row: DeviceRow) -> bool:
    """A device with an input to press and a speaker to answer through."""
    caps = row.capabilities
    return bool(caps.backchannel and (caps.digital_inputs or caps.input_connectors))


def rules_for(registry: Registry, row: DeviceRow) -> EventRules:
    """The device's own rules (checked when stored), then the defaults."""
    hp = is_help_point(row)
    try:
        return EventRules.from_json(registry.event_rules(row.id) or "", help_point=hp)
    except ConfigError as exc:  # e.g. written by a newer Beacon VMS: the defaults still work
        log.warning("%s: its own event rules are ignored: %s", row.name, exc)
        return EventRules(help_point=hp)


class DeviceRules:
    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session
        self.registry = profile.registry
        self.gate = DeviceGate(profile, session)

    def get(self, device_id: int) -> str:
        self.gate.allowed(device_id, Permission.DEVICE_CONFIGURE)
        return self.registry.event_rules(device_id) or ""

    def set(self, device_id: int, text: str) -> EventRules:
        """Store ``text`` (a JSON list of rules, see ``EventRules.from_json``) after checking it."""
        row = self.gate.allowed(device_id, Permission.DEVICE_CONFIGURE, "device.event_rules")
        if len(text) > MAX_RULES_CHARS:
            raise ConfigError(f"event rules are limited to {MAX_RULES_CHARS} characters")
        rules = EventRules.from_json(text, help_point=is_help_point(row))
        stored = text if rules.own else None
        self.registry.set_event_rules(device_id, stored, self.session.user)
        self.gate.done("device.event_rules", row, {"rules": len(rules.own)})
        return rules
