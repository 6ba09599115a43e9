"""Pan, tilt, zoom and presets for a registered camera (ONVIF PTZ service, ver20).

Every operation returns a future at once: its permission check, keyring lookup and audit
entry, then its SOAP call on the core loop, run on one worker thread per control, one
operation after another. So a press-and-hold button never waits on the database or the
network, and a "stop" can never overtake the "move" it ends. Continuous moves carry a timeout,
so a camera stops by itself if the "stop" is lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from vms.access.roles import Permission
from vms.access.session import Session
from vms.coreloop import core_loop
from vms.devices.gate import DeviceGate
from vms.errors import DeviceError
from vms.onvif.camera import DeviceClient, parse_target
from vms.onvif.http import Timeouts
from vms.profile import Profile
from vms.store.devices import DeviceRow

log = logging.getLogger(__name__)

MOVE_TIMEOUT_S = 5.0
T = TypeVar("T")


def _in_order(op: Callable[..., concurrent.futures.Future[T]]
              ) -> Callable[..., concurrent.futures.Future[T]]:
    """Run ``op`` (checks, audit, then its call on the core loop) on the control's worker."""
    @functools.wraps(op)
    def queued(self: PtzControl, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        return self._worker.submit(lambda: op(self, *args, **kwargs).result())
    return queued


@dataclass(frozen=True)
class PtzPosition:
    pan: float
    tilt: float
    zoom: float
    moving: bool


@dataclass(frozen=True)
class PtzPreset:
    token: str
    name: str


def _clip(v: float) -> float:
    return max(-1.0, min(1.0, float(v)))


class PtzControl:
    def __init__(self, profile: Profile, session: Session,
                 timeouts: Timeouts | None = None) -> None:
        self.profile = profile
        self.session = session
        self.gate = DeviceGate(profile, session)
        self.timeouts = timeouts or Timeouts(connect=2.0, total=5.0)
        self._clients: dict[int, DeviceClient] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        self._used = False  # anything sent: only then can there be connections to close
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ptz")

    # -- checks, on the caller's thread ----------------------------------------
    def _prepare(self, device_id: int, action: str | None,
                 detail: dict[str, Any] | None = None, *, doing: str | None = None
                 ) -> tuple[DeviceRow, str, str, str]:
        """Check and audit (on the worker); ``doing`` words a refusal of a request that
        moves nothing (reading presets or the position), which still needs the PTZ right."""
        row = self.gate.allowed(device_id, Permission.PTZ, action or "ptz.control", doing=doing)
        if not row.capabilities.ptz:
            raise DeviceError(f"{row.name} has no PTZ service")
        stream = row.stream("main") or row.stream("sub")
        if stream is None:
            raise DeviceError(f"{row.name} has no media profile to steer")
        user, password = self.gate.login(row)
        if action:
            self.gate.done(action, row, detail)
        return row, stream.profile_token, user, password

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        self._used = True
        return core_loop().submit(coro)

    async def _client(self, row: DeviceRow, user: str, password: str) -> DeviceClient:
        async with self._lock:
            if self._closed:
                raise DeviceError("PTZ control has been closed (signed out)")
            dc = self._clients.get(row.id)
            if dc is None:
                dc = DeviceClient(parse_target(row.address), user, password, self.timeouts)
                await dc.__aenter__()
                try:
                    await dc.read_clock()  # sign with the camera's clock, not ours
                    await dc.discover_services()  # where its PTZ service is
                except BaseException:
                    await dc.__aexit__(None, None, None)
                    raise
                self._clients[row.id] = dc
            return dc

    async def _call(self, row: DeviceRow, user: str, password: str, op: str,
                    params: dict[str, Any]) -> Any:
        dc = await self._client(row, user, password)
        return await dc.call("ptz", op, params)

    # -- operations ------------------------------------------------------------
    @_in_order
    def move(self, device_id: int, pan: float, tilt: float, zoom: float = 0.0
             ) -> concurrent.futures.Future[Any]:
        """Start a continuous move (velocities in -1..1); it ends on ``stop`` or after 5 s."""
        row, token, user, pw = self._prepare(device_id, "ptz.move",
                                             {"pan": pan, "tilt": tilt, "zoom": zoom})
        velocity: dict[str, Any] = {}
        if pan or tilt:
            velocity["PanTilt"] = {"x": _clip(pan), "y": _clip(tilt)}
        if zoom:
            velocity["Zoom"] = {"x": _clip(zoom)}
        return self._submit(self._call(row, user, pw, "ContinuousMove", {
            "ProfileToken": token, "Velocity": velocity,
            "Timeout": dt.timedelta(seconds=MOVE_TIMEOUT_S)}))

    @_in_order
    def stop(self, device_id: int) -> concurrent.futures.Future[Any]:
        row, token, user, pw = self._prepare(device_id, None)
        return self._submit(self._call(row, user, pw, "Stop", {
            "ProfileToken": token, "PanTilt": True, "Zoom": True}))

    @_in_order
    def position(self, device_id: int) -> concurrent.futures.Future[PtzPosition]:
        row, token, user, pw = self._prepare(device_id, None,
                                             doing="see where a PTZ camera points")

        async def run() -> PtzPosition:
            st = await self._call(row, user, pw, "GetStatus", {"ProfileToken": token})
            pos = getattr(st, "Position", None)
            pt = getattr(pos, "PanTilt", None)
            z = getattr(pos, "Zoom", None)
            ms = getattr(st, "MoveStatus", None)
            moving = any(str(getattr(ms, k, "IDLE") or "IDLE").upper() == "MOVING"
                         for k in ("PanTilt", "Zoom"))
            return PtzPosition(float(getattr(pt, "x", 0) or 0), float(getattr(pt, "y", 0) or 0),
                               float(getattr(z, "x", 0) or 0), moving)
        return self._submit(run())

    @_in_order
    def presets(self, device_id: int) -> concurrent.futures.Future[list[PtzPreset]]:
        row, token, user, pw = self._prepare(device_id, None,
                                             doing="view a camera's PTZ presets")

        async def run() -> list[PtzPreset]:
            res = await self._call(row, user, pw, "GetPresets", {"ProfileToken": token})
            out = []
            for p in res or []:
                tok = getattr(p, "token", None)
                if tok:
                    out.append(PtzPreset(str(tok), str(getattr(p, "Name", None) or tok)))
            return out
        return self._submit(run())

    @_in_order
    def go_to(self, device_id: int, preset: PtzPreset) -> concurrent.futures.Future[Any]:
        row, token, user, pw = self._prepare(device_id, "ptz.preset.go",
                                             {"preset": preset.name})
        return self._submit(self._call(row, user, pw, "GotoPreset", {
            "ProfileToken": token, "PresetToken": preset.token}))

    @_in_order
    def save_preset(self, device_id: int, name: str) -> concurrent.futures.Future[str]:
        name = name.strip()
        if not name:
            raise DeviceError("give the preset a name")
        row, token, user, pw = self._prepare(device_id, "ptz.preset.save", {"preset": name})

        async def run() -> str:
            res = await self._call(row, user, pw, "SetPreset",
                                   {"ProfileToken": token, "PresetName": name})
            return str(res)
        return self._submit(run())

    def close(self, wait: float = 5.0) -> concurrent.futures.Future[None] | None:
        """Close every camera connection, including one being opened right now; wait up to
        ``wait`` seconds for them. With 0 they close on the core loop while the caller goes
        on, and the closing is returned (to wait for at exit)."""
        self._closed = True
        self._worker.shutdown(wait=False, cancel_futures=True)
        if not self._used:
            return None  # e.g. a CLI command that only read the registry: no loop to start

        async def shut() -> None:
            async with self._lock:  # waits for a connection being made, then closes it too
                clients, self._clients = list(self._clients.values()), {}
            for dc in clients:
                await dc.__aexit__(None, None, None)
        if wait <= 0:
            try:
                closing = core_loop().submit(shut())
            except RuntimeError:  # the loop has already stopped: nothing is left to close
                return None
            closing.add_done_callback(_log_failure)
            return closing
        # shutting down: connections not closed in time go with the loop
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            core_loop().call(shut(), timeout=wait)
        return None


def _log_failure(closing: concurrent.futures.Future[None]) -> None:
    """A camera connection closed in the background that failed to close: said in the log
    (the caller has gone on; the connection goes with the loop)."""
    if not closing.cancelled() and closing.exception() is not None:
        log.warning("a camera connection did not close cleanly: %s", closing.exception())
