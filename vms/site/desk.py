"""An operator's workstation on a control room's site: the shared call queue, its changes
pushed from the database, and this desk's heartbeat.

The desk acts on calls straight on the site database (accepting is the database's one
conditional update, whoever else tries at the same moment) and hears every change, its own
too, as a notification: one path for what it shows. Talking to a caller takes the site's
talk lock for that Help Point (``talk_floor``). Device events, health and relay states
still come from the profile's site service. After the database comes back the desk re-reads
every open call, since notifications sent while it was away are gone; a desk started while it
was away starts all the same (live video needs no database) and reads the calls when it
answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vms.credentials import CredentialStore
from vms.errors import SiteUnavailable, VmsError
from vms.incidents.queue import CHANNEL, CLOSED, Incident, IncidentQueue
from vms.profile import Profile
from vms.site.changes import CONNECTED, RECONNECTING, ChangeListener
from vms.site.database import SiteAddress, SiteDatabase
from vms.site.talk_floor import TalkFloor
from vms.site.workstations import WORKSTATIONS_CHANNEL, Heartbeat, Workstations

log = logging.getLogger(__name__)

__all__ = ["CONNECTED", "RECONNECTING", "SiteDesk"]


class SiteDesk:
    def __init__(self, profile: Profile, address: SiteAddress, workstation: str,
                 priorities: dict[str, int] | None = None) -> None:
        creds: CredentialStore = profile.credentials
        self.address = address
        self.db = SiteDatabase(address, creds)
        try:
            self.db.ensure_schema()
        except SiteUnavailable as exc:  # the desk starts anyway: live video goes on
            log.warning("%s; calls wait until it answers", exc)
        self.queue = IncidentQueue(profile, self.db, priorities, workstation=workstation)
        self.incident_listeners: list[Callable[[Incident], None]] = []
        self.state_listeners: list[Callable[[str, str], None]] = []
        self.station_listeners: list[Callable[[], None]] = []  # who is where may have changed
        self.state, self.words = RECONNECTING, f"joining {address}"
        self._changes = ChangeListener(SiteDatabase(address, creds),
                                       [CHANNEL, WORKSTATIONS_CHANNEL], self._heard,
                                       on_reconnect=self._back, on_state=self._state)
        self._heartbeat = Heartbeat(Workstations(SiteDatabase(address, creds)), workstation)
        self.talk_floor = TalkFloor(SiteDatabase(address, creds), workstation,
                                    lambda device_id: profile.registry.device(device_id).uid)
        self._shown: set[int] = set()  # open calls this desk has been told of
        self.started = False

    @property
    def workstation(self) -> str:
        return self.queue.workstation or ""

    def start(self) -> SiteDesk:
        self._changes.start(timeout=3.0)
        self._heartbeat.start()
        self.started = True
        return self

    def signed_in(self, user: str | None) -> None:
        """Who the other desks see at this workstation (None: nobody)."""
        self._heartbeat.say_user(user)

    def workstations(self) -> list[dict[str, Any]]:
        """Every workstation on the site: name, user, host, seen_utc, lost (a blocking read)."""
        return Workstations(self.db).all()

    def _heard(self, channel: str, payload: str) -> None:
        if channel == WORKSTATIONS_CHANNEL:
            self._stations_changed()
        else:
            self._tell(self.queue.get(int(payload)))

    def _stations_changed(self) -> None:
        for fn in list(self.station_listeners):
            try:
                fn()
            except Exception:
                log.exception("site workstation listener failed")

    def _back(self) -> None:
        """Re-read what is open, and what this desk was told was open (a call closed while
        the database was away must stop ringing here too)."""
        self.db.ensure_schema()
        open_now = self.queue.open_incidents()
        for iid in self._shown - {i.id for i in open_now}:
            self._tell(self.queue.get(iid))
        for inc in open_now:
            self._tell(inc)
        self._stations_changed()

    def _state(self, state: str, words: str) -> None:
        self.state, self.words = state, words
        for fn in list(self.state_listeners):
            try:
                fn(state, words)
            except Exception:
                log.exception("site state listener failed")

    def _tell(self, inc: Incident) -> None:
        if inc.state == CLOSED:
            self._shown.discard(inc.id)
        else:
            self._shown.add(inc.id)
        for fn in list(self.incident_listeners):
            try:
                fn(inc)
            except Exception:
                log.exception("site incident listener failed")

    def stop(self) -> None:
        if self.started:
            self._changes.stop()
            try:
                self._heartbeat.stop()
            except VmsError as exc:
                log.warning("leaving the site: %s", exc)
            self.started = False
        self.talk_floor.close()
        self.db.close()
