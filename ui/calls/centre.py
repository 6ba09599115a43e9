"""The desktop's link to the event engine and the call queue.

The engine and the queue run on the core loop and tell their listeners there; this
object turns that into Qt signals, which Qt queues to the GUI thread. Widgets only
ever see those signals and call the queue through ``ui.tasks``.
"""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import QObject, Signal

from vms.access.session import Session
from vms.coreloop import core_loop
from vms.events.engine import Event, EventEngine
from vms.events.sources import event_sources
from vms.events.store import EventStore
from vms.incidents.queue import Incident, IncidentQueue, parse_priorities
from vms.profile import Profile
from vms.registry.repo import DeviceRow

log = logging.getLogger(__name__)


class CallCentre(QObject):
    incident_changed = Signal(object)  # Incident
    event_arrived = Signal(object)  # Event
    health_changed = Signal(object)  # Health (a copy)

    def __init__(self, profile: Profile, session: Session) -> None:
        super().__init__()
        self.profile = profile
        self.session = session
        self.store = EventStore.for_profile(profile.data_dir)
        self.engine = EventEngine(self.store)
        prio = profile.accounts.settings().get("call_priorities", "")
        self.queue = IncidentQueue(profile, self.store, parse_priorities(prio) if prio else None)
        self.engine.listeners.append(self._on_event)
        self.engine.health_listeners.append(
            lambda h: self.health_changed.emit(dataclasses.replace(h)))
        self.queue.listeners.append(self.incident_changed.emit)
        self.rows: dict[int, DeviceRow] = {}

    def _on_event(self, e: Event) -> None:  # core loop thread
        self.queue.on_event(e)  # stored first, then raised
        self.event_arrived.emit(e)

    def start(self, rows: list[DeviceRow]) -> None:
        sources = []
        for row, src in event_sources(self.profile, rows):
            self.rows[row.id] = row
            sources.append(src)

        async def watch_all() -> None:
            for s in sources:
                self.engine.watch(s)
        core_loop().submit(watch_all())

    def shutdown(self) -> None:
        try:
            core_loop().call(self.engine.stop(), timeout=5)
        except Exception:  # shutting down: a device that does not answer must not hang exit
            log.exception("stopping the event engine")
        self.store.close()

    def incident(self, iid: int) -> Incident:
        return self.queue.get(iid)
