"""The site service: the one alarm pipeline of a profile.

For every registered device it owns one event subscription, the normalised event store,
the incident and call queue, recording (continuous or event with pre-roll), evidence
locks, retention and device health, and it audits what it does as ``site-service``.
Exactly one runs per profile (a file lock that the OS frees if the process dies): as
``vms serve`` on its own, or inside the desktop when none is running. Everything else
(desktops, ``vms calls``) is its client (``vms.site.client``) and writes nothing of
the event store, the queue or the recording index itself.

It runs on an asyncio loop of its own, not the process's core loop: in the desktop that
loop paces talk audio, and the service's database writes must never hold it up.

Joined to a control room's site database (``site=``), it is one of the site's recording
hosts: the calls it raises go to the shared queue, every desk's change to a call comes
back to it as a notification (its own too, so there is one path), and it beats as a
workstation. A call it cannot raise while the database is away waits in memory and is
raised when the database answers again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import filelock

from vms.access.session import service_session
from vms.coreloop import CoreLoop
from vms.errors import ServiceRunning, SiteError, SiteUnavailable, VmsError
from vms.events.engine import DeviceSource, Event, EventEngine, Health
from vms.events.sources import event_sources
from vms.events.store import EventStore
from vms.events.topics import RELAY
from vms.incidents.priorities import parse_priorities
from vms.incidents.queue import CHANNEL, CLOSED, Incident, IncidentQueue
from vms.loans.feedback import Feedback
from vms.loans.loans import Loans
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.recording.locks import EvidenceLocks
from vms.recording.recorder import RecorderStatus
from vms.recording.service import Recording
from vms.site.address import address_path, lock_path, running
from vms.site.changes import ChangeListener
from vms.site.database import SiteAddress, SiteDatabase
from vms.site.server import SiteServer
from vms.site.workstations import Heartbeat, Workstations

log = logging.getLogger(__name__)

RECONCILE_S = 5.0  # how soon a device added, changed or removed is watched accordingly
PURGE_S = 3600.0  # personal data past its retention date is blanked within the hour
OFF = "off"  # recording_mode: this service records nothing (a recording host does)


class SiteService:
    def __init__(self, profile: Profile, *, record: bool = True,
                 cameras: list[int] | None = None, devices: list[int] | None = None,
                 mode: str | None = None, segment_s: float = 60.0,
                 on_status: Callable[[RecorderStatus], None] | None = None,
                 on_alarm: Callable[[str], None] | None = None,
                 serve_clients: bool = True, site: SiteAddress | None = None,
                 workstation: str | None = None) -> None:
        """``cameras``: record only these (default every camera); ``devices``: watch only
        these devices' events (default every registered device, followed as it changes);
        ``site``: the control room's database to join, as ``workstation``."""
        self.profile = profile
        self.session = service_session()
        if site is not None and workstation:
            self.session.workstation = workstation  # its audit entries name the site's host
        settings = profile.accounts.settings()
        self.mode = mode or settings.value("recording_mode")
        self.cameras = cameras
        self.devices = devices
        self.serve_clients = serve_clients
        self.loop = CoreLoop("vms-site-service")
        self.store = EventStore.for_profile(profile.data_dir)
        self.engine = EventEngine(self.store)
        prio = settings.value("call_priorities")
        self.site = site
        self.site_db = (SiteDatabase(site, profile.credentials)
                        if site else None)
        self.queue = IncidentQueue(profile, self.site_db or self.store,
                                   parse_priorities(prio) if prio else None,
                                   workstation=(workstation or socket.gethostname())
                                   if site else None)
        self._changes: ChangeListener | None = None
        self._heartbeat: Heartbeat | None = None
        self._unraised: list[Event] = []  # presses heard while the site database was away
        self._unraised_lock = threading.Lock()
        self.recording: Recording | None = None
        if record and self.mode != OFF:
            self.recording = Recording(profile, self.session, segment_s=segment_s,
                                       on_status=on_status, mode=self.mode, on_alarm=on_alarm)
            self.index = self.recording.index
        else:
            self.index = RecordingIndex(profile.data_dir / "recordings.db")
        self.locks = EvidenceLocks(self.index, profile.registry,
                                   settings.number("preroll_seconds"),
                                   settings.number("postroll_seconds"))
        self.listeners: list[Callable[[Event], None]] = []
        self.incident_listeners: list[Callable[[Incident], None]] = []
        self.health_listeners: list[Callable[[Health], None]] = []
        self.engine.listeners.append(self._on_event)
        self.engine.health_listeners.append(self._on_health)
        if self.site_db is None:
            self.queue.listeners.append(self._on_incident)
        # on a site every change, this service's own too, arrives as a notification
        self.server: SiteServer | None = None  # while clients are served
        self._claim: filelock.BaseFileLock | None = None
        self._watched: dict[int, DeviceSource] = {}
        self._reconciler: Any = None
        self._purger: Any = None
        self.started = False
        self._stopped = False

    # -- what clients see ----------------------------------------------------------------
    @property
    def health(self) -> dict[int, Health]:
        return self.engine.health

    def relay_state(self, device_id: int) -> bool | None:
        return self.engine.relay_state(device_id)

    def relay_states(self) -> list[tuple[int, str, str, bool]]:
        return [(d, k, t, v) for (d, k, t), v in dict(self.engine.states).items() if k == RELAY]

    def watching(self) -> int:
        """How many devices' events are watched."""
        return len(self._watched)

    # -- the pipeline (the service loop, or a worker thread for operator actions) ---------
    def _on_event(self, e: Event) -> None:
        try:
            raised = self.queue.on_event(e)  # stored first, then raised
        except (SiteUnavailable, SiteError) as exc:
            with self._unraised_lock:
                self._unraised.append(e)
            log.error("%s; the alarm from %s is kept and raised when it answers", exc, e.device)
            raised = None
        self.locks.on_event(e, raised)
        if self.recording is not None:
            self.recording.on_event(e)
        self._tell(self.listeners, e)

    def _on_incident(self, inc: Incident) -> None:
        try:
            self.locks.on_incident(inc)
        except Exception:  # a lock that cannot be written must not lose the call
            log.exception("evidence lock of incident %s", inc.id)
        if self.recording is not None:
            self.recording.on_incident(inc)
        self._tell(self.incident_listeners, inc)

    def _heard(self, _channel: str, payload: str) -> None:
        """A call changed on the site (by a desk, or by this service)."""
        self._on_incident(self.queue.get(int(payload)))

    def _catch_up(self) -> None:
        """Calls closed while no service ran: end their locks. Calls still open: recorded and
        locked again, as if the service had never stopped."""
        if self.site_db is not None:
            self.site_db.ensure_schema()
        closed = [self.queue.get(iid) for iid in
                  {lk.incident_id for lk in self.index.open_incident_locks() if lk.incident_id}]
        self.locks.settle([i for i in closed if i.state == CLOSED])
        for inc in self.queue.open_incidents():
            self.locks.on_incident(inc)
            if self.recording is not None:
                self.recording.on_incident(inc)

    def _site_back(self) -> None:
        """The site database answers again: raise what waited, re-read every open call."""
        self._catch_up()
        self.raise_unraised()
        for inc in self.queue.open_incidents():
            self._tell(self.incident_listeners, inc)

    def raise_unraised(self) -> int:
        """Raise the alarms heard while the site database was away; returns how many are
        still waiting (it went away again)."""
        with self._unraised_lock:
            waiting, self._unraised = self._unraised, []
        for i, e in enumerate(waiting):
            try:
                if self.site_db is not None:
                    self.site_db.ensure_schema()
                self.locks.on_event(e, self.queue.on_event(e))
            except (SiteUnavailable, SiteError):
                with self._unraised_lock:
                    self._unraised[:0] = waiting[i:]
                break
        with self._unraised_lock:
            return len(self._unraised)

    def _on_health(self, h: Health) -> None:
        if h.state != "ok" and h.state != "connecting":
            log.warning("%s events: %s%s", h.device, h.state, f" ({h.detail})" if h.detail else "")
        elif h.state == "ok":
            log.info("%s events: %s", h.device, h.detail)
        self._tell(self.health_listeners, dataclasses.replace(h))

    @staticmethod
    def _tell(fns: list[Any], what: object) -> None:
        for fn in list(fns):
            try:
                fn(what)
            except Exception:  # one broken client must not stop the pipeline
                log.exception("site service listener failed")

    # -- lifecycle -----------------------------------------------------------------------
    def claim(self) -> None:
        """Take the profile's service lock, or say who holds it."""
        path = lock_path(self.profile.data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            who = running(self.profile.data_dir) or {}
            pid = f" (process {who['pid']})" if who.get("pid") else ""
            raise ServiceRunning(f"a site service already runs on this profile{pid}: it "
                                 "watches the devices, raises calls and records; connect to it "
                                 "instead of starting another") from None
        self._claim = lock

    def start(self) -> None:
        """Claim the profile, record, pick up open incidents, serve clients, watch devices."""
        if self._claim is None:
            self.claim()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if self.recording is not None:
            self.recording.start(self.cameras)
        try:
            self._catch_up()
        except SiteUnavailable as exc:  # recording goes on; calls are read when it answers
            log.error("%s; alarms are kept and raised when it answers", exc)
        if self.site is not None:
            creds = self.profile.credentials
            self._changes = ChangeListener(SiteDatabase(self.site, creds), [CHANNEL], self._heard,
                                           on_reconnect=self._site_back).start(timeout=3.0)
            self._heartbeat = Heartbeat(Workstations(SiteDatabase(self.site, creds)),
                                        self.queue.workstation or "", says_user=False).start()
        if self.serve_clients:
            self.server = SiteServer(self)
            self.loop.call(self.server.start(), timeout=10)
        self.loop.call(self._reconcile(), timeout=30)
        self._reconciler = self.loop.submit(self._reconcile_forever())
        self._purger = self.loop.submit(self._purge_forever())
        self.started = True
        self.profile.access.record(self.session, "service.start",
                                   detail={"pid": os.getpid(), "recording": self.mode
                                           if self.recording is not None else OFF})

    def _sources(self) -> list[DeviceSource]:
        rows = self.profile.registry.devices()
        if self.devices is not None:
            rows = [r for r in rows if r.id in self.devices]
        return [src for _row, src in event_sources(self.profile, rows)]

    async def _reconcile(self) -> None:
        """Watch what the registry holds now: new devices, changed addresses or passwords,
        removed devices. Reading the registry and keyring leaves the loop."""
        import asyncio

        sources = {s.device_id: s for s in await asyncio.to_thread(self._sources)}
        for did in set(self._watched) - set(sources):
            self.engine.unwatch(did)
            self.engine.health.pop(did, None)
            del self._watched[did]
        for did, src in sources.items():
            old = self._watched.get(did)
            if old == src:
                continue
            self._watched[did] = src
            if old is not None and dataclasses.replace(old, name=src.name, area=src.area) == src:
                self.engine.relabel(src)  # renamed or moved: the subscription goes on
            else:
                self.engine.watch(src)

    def purge_personal_data(self, today: dt.date | None = None) -> int:
        """Victims' names and written answers past their retention date, blanked whether or
        not anyone opens the feedback (the service runs around the clock; desks do not)."""
        loans = Loans(self.profile, self.session)
        try:
            return Feedback(loans).purge(today)
        finally:
            loans.close()

    async def _purge_forever(self) -> None:
        import asyncio

        while True:
            try:
                await asyncio.to_thread(self.purge_personal_data)
            except Exception:  # the loans store busy or unreadable: logged, tried next hour
                log.exception("personal data past its retention date was not purged")
            await asyncio.sleep(PURGE_S)

    async def _reconcile_forever(self) -> None:
        import asyncio

        while True:
            await asyncio.sleep(RECONCILE_S)
            try:
                await self._reconcile()
            except Exception:  # the registry busy for a moment: next time
                log.exception("following the registry")
            if self._unraised:  # the site database may be back before the listener knows
                try:
                    await asyncio.to_thread(self.raise_unraised)
                except Exception:
                    log.exception("raising the alarms kept while the site database was away")

    def stop(self) -> None:
        """Everything closed cleanly: subscriptions given back, segments finished."""
        if self._stopped:
            return
        self._stopped = True
        for task in (self._reconciler, self._purger):
            if task is not None:
                task.cancel()
        try:
            self.loop.call(self.engine.stop(), timeout=10)
        except Exception as exc:
            log.warning("the event engine did not stop cleanly: %s", exc)
        if self.server is not None:
            # stopping: clients reconnect to the next service and say so
            with contextlib.suppress(Exception):
                self.loop.call(self.server.close(), timeout=5)
            self.server = None
        if self.recording is not None:
            self.recording.stop()
        if self._changes is not None:
            self._changes.stop()
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self.started:
            try:
                self.profile.access.record(self.session, "service.stop",
                                           detail={"pid": os.getpid()})
            except VmsError as exc:  # the audit cannot be written: say so where it can be read
                log.error("the audit entry for this service's stop was not written: %s", exc)
            self.started = False
        self.loop.stop()
        self.index.close()
        self.store.close()
        if self.site_db is not None:
            self.site_db.close()
        if self._claim is not None:
            # another service may have claimed the address already
            with contextlib.suppress(OSError):
                address_path(self.profile.data_dir).unlink(missing_ok=True)
            self._claim.release()
            self._claim = None

    def wait_healthy(self, timeout: float = 30.0) -> bool:
        """For scripts and tests: every watched device subscribed."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            h = dict(self.engine.health)
            if h and len(h) == len(self._watched) and all(x.state == "ok" for x in h.values()):
                return True
            time.sleep(0.1)
        return False
