"""The desktop's link to the site service: calls, alarms and device health as Qt signals.

The site service (``vms.site``) owns the event subscriptions and the call queue; it runs
in another process (``vms serve``) or in this one, and tells its listeners on its own
threads. This object turns that into Qt signals, which Qt queues to the GUI thread.
Widgets only ever see those signals and act on calls through ``service.queue`` (the
service's queue, or the client's, which sends each action to the service) from
``ui.tasks``, never on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from vms.access.session import Session
from vms.events.engine import Health
from vms.events.store import EventStore
from vms.incidents.queue import Incident, IncidentQueue
from vms.profile import Profile
from vms.site.client import SiteClient
from vms.site.desk import SiteDesk
from vms.site.service import SiteService
from vms.store.devices import DeviceRow

log = logging.getLogger(__name__)


class ServiceLink(QObject):
    incident_changed = Signal(object)  # Incident
    event_arrived = Signal(object)  # Event
    health_changed = Signal(object)  # Health (a copy)
    site_state = Signal(str, str)  # CONNECTED or RECONNECTING, and the words for it
    stations_changed = Signal()  # a workstation joined, left, or someone signed in or out

    def __init__(self, profile: Profile, session: Session,
                 site: SiteService | SiteClient | None = None,
                 desk: SiteDesk | None = None) -> None:
        """With no ``site``, this service runs a site service of its own for the devices
        given to ``start`` (recording nothing): a desk on its own, as tests build one.
        With a ``desk`` (a control room's site), calls are the site database's."""
        super().__init__()
        self.profile = profile
        self.session = session
        self.owned = site is None
        self.site: SiteService | SiteClient = site or SiteService(profile, record=False)
        self.desk = desk
        calls = desk.incident_listeners if desk is not None else self.site.incident_listeners
        self._hooks: list[tuple[list[Any], Any]] = [
            (self.site.listeners, self.event_arrived.emit),
            (calls, self.incident_changed.emit),
            (self.site.health_listeners,
             lambda h: self.health_changed.emit(dataclasses.replace(h))),
        ]
        if desk is not None:
            self._hooks.append((desk.state_listeners, self.site_state.emit))
            self._hooks.append((desk.station_listeners, self.stations_changed.emit))
        for hooks, fn in self._hooks:
            hooks.append(fn)

    @property
    def queue(self) -> IncidentQueue:
        return self.desk.queue if self.desk is not None else self.site.queue

    @property
    def store(self) -> EventStore:
        return self.site.store

    @property
    def health(self) -> dict[int, Health]:
        return self.site.health

    def relay_state(self, device_id: int) -> bool | None:
        return self.site.relay_state(device_id)

    def start(self, rows: list[DeviceRow]) -> None:
        """A service's own service watches these devices; a shared one watches every device
        of the profile already."""
        if self.owned and isinstance(self.site, SiteService) and not self.site.started:
            self.site.devices = [r.id for r in rows]
            self.site.start()

    def shutdown(self) -> None:
        for hooks, fn in self._hooks:
            if fn in hooks:
                hooks.remove(fn)
        if self.owned and isinstance(self.site, SiteService):
            try:
                self.site.stop()
            except Exception:  # shutting down: a device that does not answer must not hang exit
                log.exception("stopping the site service")

    def incident(self, iid: int) -> Incident:
        return self.queue.get(iid)
