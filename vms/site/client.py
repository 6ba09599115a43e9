"""A client of the profile's site service: a desktop, or ``vms calls`` in a script.

It hears of calls, events and device health as the service pushes them, keeps the last
health and relay state of each device, and sends operator actions to the service, which
performs them, logs them on the call and audits them. It writes nothing itself: the
service is the one writer of the event store, the queue and the recording index. Reads
(a call's log, old incidents) go straight to the databases, which many may read.

If the service goes away the client says so in every device's health and reconnects on
its own, taking a fresh snapshot when it is back.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from vms.access.session import Session
from vms.errors import (
    ServiceUnavailable,  # defined with every other error
    VmsError,
)
from vms.events.engine import RETRYING, Event, Health
from vms.events.store import EventStore
from vms.events.topics import RELAY
from vms.incidents.queue import Incident, IncidentQueue
from vms.profile import Profile
from vms.site import wire
from vms.site.address import running

log = logging.getLogger(__name__)

REQUEST_S = 15.0
RECONNECT_S = 1.0


class SiteClient:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.store = EventStore.for_profile(profile.data_dir)  # reads only
        self.queue = RemoteQueue(profile, self.store, self)
        self.listeners: list[Callable[[Event], None]] = []
        self.incident_listeners: list[Callable[[Incident], None]] = []
        self.health_listeners: list[Callable[[Health], None]] = []
        self.health: dict[int, Health] = {}
        self.relays: dict[tuple[int, str], bool] = {}
        self.service_pid: int | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future[Any]] = {}
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    # -- connecting ----------------------------------------------------------------------
    def start(self, timeout: float = 5.0) -> None:
        """Connect once now (raising if nothing answers), then keep connected."""
        reader = self._connect(timeout)
        self._thread = threading.Thread(target=self._run, args=(reader,), name="site-client",
                                        daemon=True)
        self._thread.start()

    def _connect(self, timeout: float) -> Any:
        where = running(self.profile.data_dir)
        if not where or not where.get("port"):
            raise ServiceUnavailable("no site service runs on this profile (start it with "
                                     "'vms serve', or open the desktop)")
        try:
            sock = socket.create_connection((str(where.get("host", "127.0.0.1")),
                                             int(where["port"])), timeout)
        except OSError as exc:
            raise ServiceUnavailable(f"the site service does not answer: {exc}") from None
        sock.settimeout(timeout)
        reader = sock.makefile("rb")
        try:
            sock.sendall(wire.dumps({"token": where.get("token", "")}))
            first = json.loads(reader.readline(wire.MAX_LINE) or b"null")
        except (OSError, ValueError) as exc:
            sock.close()
            raise ServiceUnavailable(f"the site service did not greet us: {exc}") from None
        if not isinstance(first, dict) or first.get("hello") != "ok":
            sock.close()
            err = first.get("error") if isinstance(first, dict) else None
            raise ServiceUnavailable("the site service refused us: "
                                     + str((err or {}).get("message", "no greeting")))
        if first.get("wire", 1) != wire.VERSION:
            sock.close()
            raise ServiceUnavailable(
                f"the site service on this profile (process {first.get('pid')}) runs another "
                f"version of Beacon VMS (messages version {first.get('wire', 1)}, this one "
                f"{wire.VERSION}); restart it (vms serve, or the Beacon site service) after "
                "updating")
        sock.settimeout(None)
        self._sock = sock
        self.service_pid = first.get("pid")
        self._snapshot(first)
        return reader

    def _snapshot(self, first: dict[str, Any]) -> None:
        self.relays = {(d, t): bool(v) for d, k, t, v in first.get("relays", []) if k == RELAY}
        fresh = {h.device_id: h for h in map(wire.health_in, first.get("health", []))}
        for did in set(self.health) - set(fresh):
            self.health.pop(did, None)
        for h in fresh.values():
            self.health[h.device_id] = h
            self._tell(self.health_listeners, h)
        for inc in map(wire.incident_in, first.get("incidents", [])):
            self._tell(self.incident_listeners, inc)

    def _run(self, reader: Any) -> None:
        while not self._closed.is_set():
            try:
                while line := reader.readline(wire.MAX_LINE):
                    try:
                        self._dispatch(json.loads(line))
                    except (KeyError, TypeError, AttributeError):  # not what we understand
                        log.exception("a message from the site service could not be read; "
                                      "the ones after it still are")
            except (OSError, ValueError):
                pass  # the connection ended or sent junk: _lost() reconnects and says so
            self._lost()
            while not self._closed.is_set():
                self._closed.wait(RECONNECT_S)
                if self._closed.is_set():
                    return
                try:
                    reader = self._connect(5.0)
                    log.warning("the site service is back (process %s)", self.service_pid)
                    break
                except ServiceUnavailable:
                    continue

    def _lost(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            # closing a socket already broken
            with contextlib.suppress(OSError):
                sock.close()
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            fut.set_exception(ServiceUnavailable("the site service stopped before answering; "
                                                 "check the call and try again"))
        if self._closed.is_set():
            return
        log.warning("lost the site service; reconnecting")
        for h in list(self.health.values()):
            h.state, h.detail, h.since = (RETRYING, "the site service is not answering; "
                                          "reconnecting to it", time.time())
            self._tell(self.health_listeners, h)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("push")
        if kind == "incident":
            self._tell(self.incident_listeners, wire.incident_in(msg["data"]))
        elif kind == "event":
            e = wire.event_in(msg["data"])
            if e.kind == RELAY and not e.ev.pulse:
                self.relays[(e.device_id, e.ev.token)] = e.ev.active
            self._tell(self.listeners, e)
        elif kind == "health":
            h = wire.health_in(msg["data"])
            self.health[h.device_id] = h
            self._tell(self.health_listeners, h)
        elif "id" in msg:
            fut = self._pending.pop(int(msg["id"]), None)
            if fut is not None:
                if "error" in msg:
                    fut.set_exception(wire.error_in(msg["error"]))
                else:
                    fut.set_result(msg.get("ok"))

    @staticmethod
    def _tell(fns: list[Any], what: object) -> None:
        for fn in list(fns):
            try:
                fn(what)
            except Exception:
                log.exception("site client listener failed")

    # -- what the desktop reads ----------------------------------------------------------
    def relay_state(self, device_id: int) -> bool | None:
        states = [v for (d, _t), v in dict(self.relays).items() if d == device_id]
        return any(states) if states else None

    # -- asking ----------------------------------------------------------------------------
    def call(self, op: str, session: Session, **args: Any) -> Any:
        """Perform an operator action in the service; its error is raised here."""
        sock = self._sock
        if sock is None:
            raise ServiceUnavailable("the site service is not answering; the action was not "
                                     "done (try again in a moment)")
        rid = next(self._ids)
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._pending[rid] = fut
        claim = {"user": session.user, "via": session.via, "workstation": session.workstation,
                 "id": session.id}
        try:
            with self._send_lock:
                sock.sendall(wire.dumps({"id": rid, "op": op, "session": claim, "args": args}))
            return fut.result(REQUEST_S)
        except OSError:
            raise ServiceUnavailable("the site service is not answering; the action was not "
                                     "done") from None
        except concurrent.futures.TimeoutError:
            raise ServiceUnavailable(f"the site service did not answer within {REQUEST_S:.0f} "
                                     "s; check the call before trying again") from None
        finally:
            self._pending.pop(rid, None)

    def close(self) -> None:
        self._closed.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            # the peer may have gone already; the close below is what matters
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(5)
        self.store.close()


class RemoteQueue(IncidentQueue):
    """The call queue as a client sees it: reads from the database, actions by the service."""

    def __init__(self, profile: Profile, store: EventStore, client: SiteClient) -> None:
        super().__init__(profile, store)
        self.client = client

    def on_event(self, e: Event) -> Incident | None:
        raise VmsError("only the site service raises incidents")

    def _ask(self, op: str, session: Session, **args: Any) -> Any:
        self.profile.access.check(session)  # a locked or signed-out desktop acts on nothing
        session.touch()  # an action is activity, as Access.require counts it in-process
        return self.client.call(op, session, **args)

    def _inc(self, op: str, session: Session, **args: Any) -> Incident:
        return wire.incident_in(self._ask(op, session, **args))

    def accept(self, session: Session, iid: int) -> Incident:
        return self._inc("accept", session, incident=iid)

    def hold(self, session: Session, iid: int, reason: str = "") -> Incident:
        return self._inc("hold", session, incident=iid, reason=reason)

    def hand_over(self, session: Session, iid: int, to_user: str) -> Incident:
        return self._inc("hand_over", session, incident=iid, to=to_user)

    def note(self, session: Session, iid: int, text: str) -> Incident:
        return self._inc("note", session, incident=iid, text=text)

    def escalate(self, session: Session, iid: int, police_ref: str, units: str = "",
                 informed_utc: str | None = None, said: str = "") -> Incident:
        return self._inc("escalate", session, incident=iid, police_ref=police_ref, units=units,
                         informed_utc=informed_utc, said=said)

    def presented(self, session: Session, iid: int) -> bool:
        return bool(self._ask("presented", session, incident=iid))

    def log(self, session: Session, iid: int, action: str, detail: dict[str, Any]) -> None:
        self._ask("log", session, incident=iid, action=action, detail=detail)

    def close(self, session: Session, iid: int, outcome: str, note: str = "") -> Incident:
        return self._inc("close", session, incident=iid, outcome=outcome, note=note)


def connect(profile: Profile, timeout: float = 10.0) -> SiteClient:
    """A connected client; a service still starting (lock taken, address not yet written)
    is waited for up to ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        client = SiteClient(profile)
        try:
            client.start(min(5.0, timeout))
            return client
        except ServiceUnavailable:
            client.store.close()
            if time.monotonic() >= end or running(profile.data_dir) is None:
                raise
            time.sleep(0.2)
