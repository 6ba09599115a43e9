"""Run a simulated site: every device's servers, discovery, and the control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from vms.errors import PortInUse
from vms.paths import sim_dir
from vms.sim.config import DeviceKind, SiteConfig
from vms.sim.device import SimDevice
from vms.sim.discovery import DiscoveryResponder
from vms.sim.media.clips import ClipSpec, ensure_clip, load_clip, microphone_loop
from vms.sim.media.rtsp import DeviceMedia, RtspServer
from vms.sim.media.streams import AudioSource, VideoSource
from vms.sim.onvif.auth import HttpDigest
from vms.sim.onvif.server import DeviceHttp

log = logging.getLogger(__name__)
STATE_FILE = "site.json"
_LABELS = {DeviceKind.CAMERA: "Camera", DeviceKind.HELP_POINT: "Help Point",
           DeviceKind.PID: "Perimeter camera"}


class _Node:
    """One device and its servers."""

    def __init__(self, dev: SimDevice, specs: dict[str, ClipSpec], backchannel: Path,
                 rtsp_auth: bool) -> None:
        self.dev = dev
        self.specs = specs
        self.http = DeviceHttp(dev, specs)
        self.ready = asyncio.Event()
        self.media = DeviceMedia({}, None, backchannel)
        digest = HttpDigest(realm=f"{dev.model}-{dev.serial}") if rtsp_auth else None
        self.rtsp = RtspServer(dev, self.media, self.ready, digest)

    async def start(self, host: str) -> None:
        dev = self.dev
        try:
            dev.http_port = await self.http.start(host, dev.http_port)
        except OSError as exc:
            raise PortInUse(dev.http_port, f"{dev.name} ONVIF HTTP") from exc
        try:
            dev.rtsp_port = await self.rtsp.start(host, dev.rtsp_port)
        except OSError as exc:
            await self.http.stop()
            raise PortInUse(dev.rtsp_port, f"{dev.name} RTSP") from exc

    async def stop(self) -> None:
        await self.rtsp.stop()
        await self.http.stop()


class SimSite:
    def __init__(self, cfg: SiteConfig, data_dir: Path, clip_cache: Path | None = None) -> None:
        cfg.assign_ports()
        self.cfg = cfg
        self.data_dir = data_dir
        self.dir = sim_dir(data_dir)
        self.clip_cache = clip_cache or (self.dir / "clips")
        self.devices = [SimDevice(d, cfg) for d in cfg.devices]
        backchannel = self.dir / "backchannel"
        self.nodes = {
            d.name: _Node(d, {p.token: ClipSpec(d.name, d.cfg.location, _LABELS[d.kind], p.width,
                                                p.height, p.fps) for p in d.profiles},
                          backchannel, cfg.rtsp_auth)
            for d in self.devices}
        self.discovery: DiscoveryResponder | None = None
        self.control_runner: web.AppRunner | None = None
        self.control_port = cfg.control_port
        self.token = secrets.token_urlsafe(24)
        self.ready = False
        self.stopped = asyncio.Event()
        self._housekeeping: asyncio.Task[None] | None = None
        self.t0 = time.monotonic()

    # -- lifecycle --------------------------------------------------------------
    async def start(self, prepare_media: bool = True) -> None:
        """Bind every port first (a busy one fails fast and names itself), then encode."""
        started: list[_Node] = []
        try:
            for node in self.nodes.values():
                await node.start(self.cfg.host)
                started.append(node)
            await self._start_control()
            if self.cfg.discovery_port is not None:
                self.discovery = DiscoveryResponder(lambda: self.devices)
                # Multicast is joined on the interface that holds --host, so a site on another
                # address is found by tools that skip loopback.
                self.cfg.discovery_port = await self.discovery.start(self.cfg.discovery_port,
                                                                     self.cfg.host)
        except BaseException:
            for node in started:
                await node.stop()
            if self.control_runner:
                await self.control_runner.cleanup()
            raise
        self._write_state()
        if prepare_media:
            await self.prepare_media()

    async def prepare_media(self) -> None:
        specs = [s for n in self.nodes.values() for s in n.specs.values()]
        missing = [s for s in specs if not (self.clip_cache / s.filename()).exists()]
        if missing:
            log.warning("encoding %d clips once (cached in %s)...", len(missing), self.clip_cache)
            loop = asyncio.get_running_loop()
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                     mp_context=ctx) as pool:
                await asyncio.gather(*(loop.run_in_executor(pool, ensure_clip, s, self.clip_cache)
                                       for s in missing))
        for node in self.nodes.values():
            dev = node.dev
            for token, spec in node.specs.items():
                clip = await asyncio.to_thread(load_clip, spec, self.clip_cache / spec.filename())
                prof = dev.profile(token)
                assert prof is not None
                node.media.video[prof.path] = VideoSource(clip, dev.now, self.t0)
            if dev.is_help_point:
                node.media.audio = AudioSource(microphone_loop(dev.name), dev.now, self.t0)
            node.ready.set()
        self.ready = True
        if self.discovery:
            for dev in self.devices:
                self.discovery.announce(dev, True)
        self._housekeeping = asyncio.get_running_loop().create_task(self._sweep())
        self._write_state()

    async def stop(self) -> None:
        if self._housekeeping:
            self._housekeeping.cancel()
        if self.discovery:
            for dev in self.devices:
                if dev.online:
                    self.discovery.announce(dev, False)
            await asyncio.sleep(0.05)
            self.discovery.close()
        for node in self.nodes.values():
            for src in [*node.media.video.values(), node.media.audio]:
                if src is not None:
                    src.stop()
            node.http.events.close()
            await node.stop()
        if self.control_runner:
            await self.control_runner.cleanup()
        # already removed: nothing to do
        with contextlib.suppress(FileNotFoundError):
            (self.dir / STATE_FILE).unlink()
        self.stopped.set()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(5)
            for node in self.nodes.values():
                node.http.events._expire()

    # -- device control --------------------------------------------------------
    def device(self, name: str) -> SimDevice:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(f"no device called {name!r} (devices: "
                       f"{', '.join(d.name for d in self.devices)})")

    async def set_online(self, name: str, online: bool) -> None:
        dev = self.device(name)
        if dev.online == online:
            return
        node = self.nodes[name]
        if online:
            await node.start(self.cfg.host)
            dev.online = True
            if self.discovery:
                self.discovery.announce(dev, True)
        else:
            if self.discovery:
                self.discovery.announce(dev, False)
            dev.online = False
            node.http.events.forget()  # a rebooted device has forgotten its subscriptions
            for src in [*node.media.video.values(), node.media.audio]:
                if src is not None:
                    src.stop()
            await node.stop()

    def status(self) -> dict[str, Any]:
        devices = []
        for d in self.devices:
            st = d.status()
            node = self.nodes[d.name]
            st["viewers"] = node.rtsp.viewers
            st["subscriptions"] = len(node.http.events.subs)
            st["frames_sent"] = {tok: src.frames_sent for tok, src in node.media.video.items()}
            devices.append(st)
        return {
            "site": self.cfg.name, "ready": self.ready, "pid": os.getpid(),
            "control_url": f"http://127.0.0.1:{self.control_port}",
            "discovery_port": self.cfg.discovery_port,
            "multicast": bool(self.discovery and self.discovery.multicast),
            "user": self.cfg.user, "devices": devices,
        }

    def _write_state(self) -> None:
        state = self.status()
        state["token"] = self.token
        path = self.dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, indent=2)
        os.replace(tmp, path)

    # -- control API -----------------------------------------------------------
    async def _start_control(self) -> None:
        app = web.Application(middlewares=[self._auth_mw])
        app.router.add_get("/status", self._h_status)
        app.router.add_post("/devices/{name}/{action}", self._h_action)
        app.router.add_post("/stop", self._h_stop)
        self.control_runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.control_runner.setup()
        site = web.TCPSite(self.control_runner, "127.0.0.1", self.control_port,
                           reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self.control_runner.cleanup()
            self.control_runner = None
            raise PortInUse(self.control_port, "simulator control API") from exc
        self.control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @web.middleware
    async def _auth_mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not secrets.compare_digest(request.headers.get("X-Sim-Token", ""), self.token):
            return web.json_response({"error": "missing or wrong control token"}, status=403)
        return await handler(request)

    async def _h_status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status())

    async def _h_stop(self, request: web.Request) -> web.Response:
        asyncio.get_running_loop().call_later(0.1, lambda: asyncio.ensure_future(self.stop()))
        return web.json_response({"stopping": True})

    async def _h_action(self, request: web.Request) -> web.Response:
        name, action = request.match_info["name"], request.match_info["action"]
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        try:
            dev = self.device(name)
            if action == "press":
                dev.set_input(True)
            elif action == "release":
                dev.set_input(False)
            elif action == "intrude":
                dev.intrude(float(body.get("duration", 10.0)), bool(body.get("send_off", True)))
            elif action == "flood":
                dev.flood(float(body.get("rate", 10.0)), float(body.get("duration", 60.0)))
            elif action == "offline":
                await self.set_online(name, False)
            elif action == "online":
                await self.set_online(name, True)
            elif action == "skew":
                dev.clock_offset = float(body["seconds"])
            elif action == "relay":
                dev.set_relay(bool(body["active"]))
            else:
                return web.json_response({"error": f"unknown action {action!r}"}, status=404)
        except KeyError as exc:
            return web.json_response({"error": str(exc).strip("'\"")}, status=404)
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": f"bad value: {exc}"}, status=400)
        except PortInUse as exc:
            return web.json_response({"error": str(exc)}, status=409)
        self._write_state()
        return web.json_response(dev.status())
