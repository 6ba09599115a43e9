"""Evidence locks from calls and alarms: which footage retention must keep.

A Help Point call locks its camera and the cameras linked to it from the pre-roll before
the press; an intrusion once an operator accepts it, from the pre-roll before it was
raised. Either lock ends a post-roll after the incident closes. Each incident locks once:
the locks table itself (rows carry the incident id) is the memory, so a service restarted
in the middle of a call neither locks it twice nor forgets to end its lock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from vms.errors import UnknownDevice
from vms.events.engine import Event
from vms.events.topics import HELP_BUTTON, INTRUSION
from vms.incidents.queue import ACCEPTED, CLOSED, Incident
from vms.recording.index import RecordingIndex, utc
from vms.store.devices import Registry

LOCKED_WHEN_ACCEPTED = frozenset({HELP_BUTTON, INTRUSION})


def event_time(e: Event) -> float:
    """When the alarm happened: the device's own time (the clock its video is stamped with)
    unless it is far from when we got it (a camera whose clock was never set)."""
    if e.ev.device_time is not None:
        t = e.ev.device_time.timestamp()
        if abs(t - e.received) < 300:
            return t
    return e.received


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class EvidenceLocks:
    def __init__(self, index: RecordingIndex, registry: Registry, preroll_s: float = 30.0,
                 postroll_s: float = 30.0) -> None:
        self.index = index
        self.registry = registry
        self.preroll_s = preroll_s
        self.postroll_s = postroll_s
        self._guard = threading.Lock()

    def cameras_for(self, device_id: int) -> list[tuple[int, str]]:
        """The device itself and the cameras linked to it, as (id, name)."""
        out = {}
        try:
            dev = self.registry.device(device_id)
            out[dev.id] = dev.name
        except UnknownDevice:  # removed since: its linked cameras still count
            pass
        for link in self.registry.links(device_id):
            out.setdefault(link.camera_id, link.camera)
        return list(out.items())

    def _lock(self, inc: Incident, start: float, reason: str, by: str) -> None:
        with self._guard:
            if self.index.incident_locks(inc.id):
                return
            for cid, name in self.cameras_for(inc.device_id):
                self.index.lock(cid, name, utc(start), None, reason, by, inc.id)

    def _unlock(self, incident_id: int, end: float) -> None:
        with self._guard:
            for lk in self.index.incident_locks(incident_id):
                if lk.end_utc is None:
                    self.index.end_lock(lk.id, utc(end))

    def on_event(self, e: Event, raised: Incident | None) -> None:
        """The event that raised ``raised``: a Help Point call is evidence from the pre-roll
        before the press (on the device's clock), whatever happens next."""
        if raised is not None and raised.kind == HELP_BUTTON and e.kind == HELP_BUTTON \
                and e.ev.active:
            self._lock(raised, event_time(e) - self.preroll_s, f"Help Point call at {e.device}",
                       "system")

    def on_incident(self, inc: Incident) -> None:
        if inc.kind not in LOCKED_WHEN_ACCEPTED:
            return
        if inc.state == ACCEPTED:
            self._lock(inc, _ts(inc.raised_utc) - self.preroll_s,
                       f"incident {inc.id}: {inc.title}", inc.owner or "system")
        elif inc.state == CLOSED:
            closed = _ts(inc.closed_utc) if inc.closed_utc else time.time()
            self._unlock(inc.id, closed + self.postroll_s)

    def settle(self, closed: list[Incident]) -> None:
        """Incidents that closed while nobody was watching (no service running): their
        locks end a post-roll after they closed, as if it had been."""
        for inc in closed:
            self.on_incident(inc)
