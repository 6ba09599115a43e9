"""The site service's door for its clients: loopback TCP, JSON lines (``vms.site.wire``).

Only a process that can read the service's address file (the profile's owner: the same
people who could open the profile's databases) learns the token. A request names the
signed-in user it acts for; the service takes that user's role and state from the
accounts, not from the request, and checks the permission itself, as it would in-process.
Operator actions run in worker threads: the loop only moves messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
from typing import TYPE_CHECKING, Any

from vms.access.session import Session
from vms.errors import PermissionDenied, VmsError
from vms.site import wire
from vms.site.address import address_path

if TYPE_CHECKING:
    from vms.site.service import SiteService

log = logging.getLogger(__name__)

HELLO_S = 5.0
OUTBOX = 10_000  # a client this far behind is dropped (it reconnects and gets a snapshot)


class _Client:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue(OUTBOX)

    def send(self, line: bytes) -> None:
        try:
            self.outbox.put_nowait(line)
        except asyncio.QueueFull:
            self.writer.close()


class SiteServer:
    def __init__(self, service: SiteService) -> None:
        self.service = service
        self.token = secrets.token_urlsafe(32)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[_Client] = set()
        self._requests: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        service.listeners.append(lambda e: self._push("event", wire.event_out(e)))
        service.incident_listeners.append(lambda i: self._push("incident", wire.incident_out(i)))
        service.health_listeners.append(lambda h: self._push("health", wire.health_out(h)))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0,
                                                  limit=wire.MAX_LINE)
        self.port = self._server.sockets[0].getsockname()[1]
        path = address_path(self.service.profile.data_dir)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"host": "127.0.0.1", "port": self.port, "token": self.token,
                       "pid": os.getpid()}, f)
        os.replace(tmp, path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for c in list(self._clients):
                c.writer.close()
            # stopping: clients were closed above; a slow one is not waited for
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    # -- pushes (any thread) ------------------------------------------------------------
    def _push(self, kind: str, data: dict[str, Any]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        line = wire.dumps({"push": kind, "data": data})
        with contextlib.suppress(RuntimeError):  # the loop stopping: nobody left to tell
            loop.call_soon_threadsafe(self._fan_out, line)

    def _fan_out(self, line: bytes) -> None:
        for c in list(self._clients):
            c.send(line)

    # -- one client ----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        sender = asyncio.create_task(self._send(client))
        try:
            hello = json.loads(await asyncio.wait_for(reader.readline(), HELLO_S))
            if not isinstance(hello, dict) or not hmac.compare_digest(
                    str(hello.get("token", "")), self.token):
                writer.write(wire.dumps({"error": {"type": "PermissionDenied",
                                                   "message": "wrong site service token"}}))
                return
            # Registered before the snapshot is read: nothing that happens meanwhile is lost
            # (a change may arrive twice; incidents and health are states, not deltas).
            self._clients.add(client)
            client.send(wire.dumps(await asyncio.to_thread(self._snapshot)))
            while line := await reader.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    break
                if isinstance(msg, dict) and "op" in msg:
                    task = asyncio.create_task(self._request(client, msg))
                    self._requests.add(task)
                    task.add_done_callback(self._requests.discard)
        except (TimeoutError, ValueError, ConnectionError, asyncio.LimitOverrunError,
                asyncio.IncompleteReadError):
            pass  # the client hung up, timed out or sent junk: its connection ends
        finally:
            self._clients.discard(client)
            sender.cancel()
            # the client is going: what it has not read is not waited for
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.drain(), 2)
            writer.close()

    @staticmethod
    async def _send(client: _Client) -> None:
        while True:
            client.writer.write(await client.outbox.get())
            await client.writer.drain()

    def _snapshot(self) -> dict[str, Any]:
        s = self.service
        return {"hello": "ok", "pid": os.getpid(), "wire": wire.VERSION,
                "incidents": [wire.incident_out(i) for i in s.queue.open_incidents()],
                "health": [wire.health_out(h) for h in list(s.health.values())],
                "relays": s.relay_states()}

    async def _request(self, client: _Client, msg: dict[str, Any]) -> None:
        try:
            result = await asyncio.to_thread(self._perform, str(msg["op"]),
                                             msg.get("session") or {}, msg.get("args") or {})
            reply: dict[str, Any] = {"id": msg.get("id"), "ok": result}
        except VmsError as exc:
            reply = {"id": msg.get("id"), "error": wire.error_out(exc)}
        except (KeyError, TypeError, ValueError) as exc:
            reply = {"id": msg.get("id"), "error": {"type": "VmsError",
                                                    "message": f"malformed request: {exc}"}}
        except Exception as exc:
            log.exception("request %s", msg.get("op"))
            reply = {"id": msg.get("id"), "error": {
                "type": "VmsError", "message": f"the site service failed: {exc}"}}
        client.send(wire.dumps(reply))

    def _session(self, claim: dict[str, Any]) -> Session:
        """The user the request is for, as the accounts say now."""
        user = self.service.profile.accounts.find(str(claim.get("user", "")))
        if user is None or user.disabled:
            raise PermissionDenied(f"the account '{claim.get('user')}' was changed or disabled "
                                   "by an administrator; sign in again")
        via = str(claim.get("via", "cli"))
        return Session(user_id=user.id, user=user.name, role=user.role,
                       via=via if via in ("desktop", "cli") else "cli",
                       workstation=str(claim.get("workstation", "?"))[:64],
                       id=str(claim.get("id", ""))[:32] or "remote")

    def _perform(self, op: str, claim: dict[str, Any], a: dict[str, Any]) -> Any:
        q = self.service.queue
        s = self._session(claim)
        iid = int(a["incident"])
        if op == "presented":
            return q.presented(s, iid)
        if op == "log":
            q.log(s, iid, str(a["action"]), dict(a.get("detail") or {}))
            return None
        if op == "accept":
            inc = q.accept(s, iid)
        elif op == "hold":
            inc = q.hold(s, iid, str(a.get("reason", "")))
        elif op == "hand_over":
            inc = q.hand_over(s, iid, str(a["to"]))
        elif op == "note":
            inc = q.note(s, iid, str(a["text"]))
        elif op == "escalate":
            inc = q.escalate(s, iid, str(a["police_ref"]), str(a.get("units", "")),
                             a.get("informed_utc"), str(a.get("said", "")))
        elif op == "close":
            inc = q.close(s, iid, str(a["outcome"]), str(a.get("note", "")))
        else:
            raise VmsError(f"the site service has no operation '{op}'")
        return wire.incident_out(inc)
