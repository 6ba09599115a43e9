"""Evidence locks from calls and alarms: which footage retention must keep.

A Help Point press locks its camera and the cameras linked to it from the pre-roll before
the press; an accepted call or intrusion is locked from the pre-roll before it was raised
until a post-roll after it closes. Locks live in the recording index, so the desktop can
lock footage that ``vms record`` (another process) writes.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from vms.events.engine import Event
from vms.events.topics import HELP_BUTTON, INTRUSION
from vms.incidents.queue import ACCEPTED, CLOSED, Incident
from vms.recording.index import RecordingIndex, utc
from vms.registry.repo import Registry, UnknownDevice

LOCKED_WHEN_ACCEPTED = frozenset({HELP_BUTTON, INTRUSION})


def event_time(e: Event) -> float:
    """When the alarm happened: the device's own time (the clock its video is stamped with)
    unless it is far from when we got it (a camera whose clock was never set)."""
    if e.ev.device_time is not None:
        t = e.ev.device_time.timestamp()
        if abs(t - e.received) < 300:
            return t
    return e.received


class EvidenceLocks:
    def __init__(self, index: RecordingIndex, registry: Registry, preroll_s: float = 30.0,
                 postroll_s: float = 30.0) -> None:
        self.index = index
        self.registry = registry
        self.preroll_s = preroll_s
        self.postroll_s = postroll_s
        self._open: dict[str, list[int]] = {}  # key -> lock ids it opened
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

    def _lock(self, key: str, device_id: int, start: float, reason: str, by: str,
              incident_id: int | None = None) -> None:
        with self._guard:
            if key in self._open:
                return
            self._open[key] = [self.index.lock(cid, name, utc(start), None, reason, by,
                                               incident_id)
                               for cid, name in self.cameras_for(device_id)]

    def _unlock(self, key: str, end: float) -> None:
        with self._guard:
            ids = self._open.pop(key, [])
        for lock_id in ids:
            self.index.end_lock(lock_id, utc(end))

    def on_event(self, e: Event) -> None:
        if e.kind == HELP_BUTTON and e.ev.active and not e.ev.initial:
            # Calls are always evidence: locked from the pre-roll, whatever happens next.
            self._lock(f"call {e.device_id}", e.device_id, event_time(e) - self.preroll_s,
                       f"Help Point call at {e.device}", "system")

    def on_incident(self, inc: Incident) -> None:
        if inc.kind not in LOCKED_WHEN_ACCEPTED:
            return
        key = f"incident {inc.id}"
        if inc.state == ACCEPTED:
            raised = dt.datetime.fromisoformat(inc.raised_utc).timestamp()
            self._lock(key, inc.device_id, raised - self.preroll_s,
                       f"incident {inc.id}: {inc.title}", inc.owner or "system", inc.id)
        elif inc.state == CLOSED:
            end = time.time() + self.postroll_s
            self._unlock(key, end)
            self._unlock(f"call {inc.device_id}", end)
