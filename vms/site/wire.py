"""What travels between the site service and its clients: one JSON object per line.

A client opens with ``{"token": ...}`` (the secret in the service's address file, which
only the profile's owner can read) and gets a snapshot: the open incidents, device health
and relay states. Then the service pushes ``{"push": "incident"|"event"|"health",
"data": ...}`` as things happen, and answers requests ``{"id", "op", "session", "args"}``
with ``{"id", "ok"}`` or ``{"id", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from vms import errors
from vms.errors import IncidentError
from vms.events.engine import Event, Health
from vms.events.topics import DomainEvent
from vms.incidents.queue import Incident

MAX_LINE = 1 << 20  # a snapshot of a few thousand open incidents fits
# What the messages hold; raised when that changes (2: a device's grouping is "area"). A
# desktop refuses a service of another version in words, not by losing its calls.
VERSION = 2


def dumps(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def incident_out(inc: Incident) -> dict[str, Any]:
    return dataclasses.asdict(inc)


def incident_in(d: dict[str, Any]) -> Incident:
    return Incident(**d)


def event_out(e: Event) -> dict[str, Any]:
    ev = dataclasses.asdict(e.ev)
    ev["device_time"] = e.ev.device_time.isoformat() if e.ev.device_time else None
    return {"id": e.id, "device_id": e.device_id, "device": e.device, "area": e.area, "ev": ev,
            "received": e.received, "synthetic": e.synthetic}


def event_in(d: dict[str, Any]) -> Event:
    ev = dict(d["ev"])
    ev["device_time"] = datetime.fromisoformat(ev["device_time"]) if ev["device_time"] else None
    return Event(d["id"], d["device_id"], d["device"], d["area"], DomainEvent(**ev),
                 d["received"], d["synthetic"])


def health_out(h: Health) -> dict[str, Any]:
    return dataclasses.asdict(h)


def health_in(d: dict[str, Any]) -> Health:
    return Health(**d)


# Errors keep their type across the wire, so a client reacts as it would in-process.
_ERRORS: dict[str, type[errors.VmsError]] = {
    c.__name__: c for c in (errors.VmsError, errors.PermissionDenied, errors.SessionExpired,
                            errors.ConfigError, errors.DeviceError, IncidentError)}


def error_out(exc: BaseException) -> dict[str, str]:
    name = type(exc).__name__ if type(exc).__name__ in _ERRORS else "VmsError"
    return {"type": name, "message": str(exc)}


def error_in(d: dict[str, Any]) -> errors.VmsError:
    return _ERRORS.get(str(d.get("type")), errors.VmsError)(str(d.get("message", "")))
