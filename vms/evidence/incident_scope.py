"""What "export this incident" means: its cameras and its time range.

An accepted call or intrusion locked its footage in the recording index (the device and
its linked cameras, from the pre-roll before it was raised to the post-roll after it
closed), so those locks are the incident's evidence and the export takes exactly them.
An incident that locked nothing (motion, or a call closed before it was accepted) gets the
same shape from its device, its links and its raised/closed times.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vms.events.store import EventStore
from vms.evidence.utc import parse
from vms.incidents.queue import Incident
from vms.recording.index import Lock, RecordingIndex
from vms.recording.locks import EvidenceLocks
from vms.store.devices import Registry


@dataclass(frozen=True)
class IncidentScope:
    incident: Incident
    cameras: list[tuple[int, str]]
    start: dt.datetime  # UTC
    end: dt.datetime
    from_locks: bool

    @property
    def label(self) -> str:
        raised = parse(self.incident.raised_utc)
        return f"Incident {self.incident.id}: {self.incident.title}, raised " \
               f"{raised.strftime('%Y-%m-%d %H:%M:%S')} UTC"


def scope_of(inc: Incident, index: RecordingIndex, registry: Registry,
             now: dt.datetime | None = None, all_locks: list[Lock] | None = None
             ) -> IncidentScope:
    now = now or dt.datetime.now(dt.UTC)
    locks = [lk for lk in (index.locks() if all_locks is None else all_locks)
             if lk.incident_id == inc.id]
    if locks:
        cams = list(dict.fromkeys((lk.camera_id, lk.camera) for lk in locks))
        start = min(parse(lk.start_utc) for lk in locks)
        end = max(parse(lk.end_utc) if lk.end_utc else now for lk in locks)
        return IncidentScope(inc, cams, start, min(end, now), True)
    shape = EvidenceLocks(index, registry)  # the same cameras and rolls a lock would take
    cams = shape.cameras_for(inc.device_id)
    start = parse(inc.raised_utc) - dt.timedelta(seconds=shape.preroll_s)
    end = (parse(inc.closed_utc) + dt.timedelta(seconds=shape.postroll_s)) if inc.closed_utc \
        else now
    return IncidentScope(inc, cams, start, min(end, now), False)


def recent_incidents(store: EventStore, limit: int = 100) -> list[Incident]:
    rows = store.conn.execute("SELECT * FROM incidents ORDER BY id DESC LIMIT ?", (limit,))
    return [Incident(**dict(r)) for r in rows]
