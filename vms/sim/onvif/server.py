"""The HTTP side of a simulated device: SOAP dispatch, authentication, snapshots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from vms.sim.device import SimDevice
from vms.sim.media.clips import ClipSpec, snapshot_jpeg
from vms.sim.onvif import device_service, deviceio, media, ptz
from vms.sim.onvif.auth import HttpDigest, NonceCache, check_wsse
from vms.sim.onvif.events import EventService
from vms.sim.onvif.soap import (
    NS,
    SOAP12,
    SoapFault,
    SoapRequest,
    envelope,
    fault_body,
    not_authorized,
    parse_request,
)

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
Handler = Callable[[SimDevice, SoapRequest], str]


class DeviceHttp:
    def __init__(self, dev: SimDevice, clip_specs: dict[str, ClipSpec]) -> None:
        self.dev = dev
        self.clip_specs = clip_specs
        self.events = EventService(dev)
        self.nonces = NonceCache()
        self.digest = HttpDigest(realm=f"{dev.model}-{dev.serial}")
        self.runner: web.AppRunner | None = None
        self.requests = 0
        table: dict[tuple[str, str], Handler] = {}
        for op, fn in device_service.HANDLERS.items():
            table[(NS["tds"], op)] = fn
        for op, fn in media.MEDIA1.items():
            table[(NS["trt"], op)] = fn
        for op, fn in media.MEDIA2.items():
            table[(NS["tr2"], op)] = fn
        if dev.is_help_point:
            for op, fn in deviceio.HANDLERS.items():
                table[(NS["tmd"], op)] = fn
        if dev.has_ptz:
            for op, fn in ptz.HANDLERS.items():
                table[(NS["tptz"], op)] = fn
        for ns, key, _ in device_service.services(dev):
            if key != "events":  # the events service answers for itself (EventService)
                table[(ns, "GetServiceCapabilities")] = device_service.capabilities_handler(key)
        table[(NS["tev"], "GetEventProperties")] = self.events.get_event_properties
        table[(NS["tev"], "CreatePullPointSubscription")] = \
            self.events.create_pull_point_subscription
        table[(NS["tev"], "GetServiceCapabilities")] = self.events.get_service_capabilities
        table[(NS["wsnt"], "Subscribe")] = self.events.subscribe
        self.table = table

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/onvif/subscription/{sid}", self._soap)
        app.router.add_post("/onvif/{service}", self._soap)
        app.router.add_get("/onvif/snapshot/{token}.jpg", self._snapshot)
        return app

    async def start(self, host: str, port: int) -> int:
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, reuse_address=True, shutdown_timeout=0.5)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
            self.runner = None

    # -- SOAP ------------------------------------------------------------------
    async def _soap(self, request: web.Request) -> web.Response:
        self.requests += 1
        soap_ns = SOAP12
        try:
            try:
                data = await request.read()
            except web.HTTPRequestEntityTooLarge as exc:
                raise SoapFault("Sender", ["ter:WellFormed"], "request too large") from exc
            # HTTP credentials are checked before the body is parsed, as a camera's web server
            # does: a client that sends an empty request to learn the Digest challenge gets it.
            digest_ok = self._check_digest(request)
            try:
                req = parse_request(data)
            except SoapFault:
                if not digest_ok:
                    raise _challenge("credentials required (HTTP Digest)") from None
                raise
            soap_ns = req.soap_ns
            sid_text = request.match_info.get("sid")
            sid = int(sid_text) if sid_text and sid_text.isdigit() else None
            pre_auth = req.op_ns == NS["tds"] and req.op in device_service.PRE_AUTH
            if not pre_auth:
                self._authenticate(req, digest_ok)
            body = await self._call(req, sid if sid_text else None, bool(sid_text))
            undeclared = frozenset({"tptz"}) if (
                req.op_ns == NS["tptz"] and self.dev.cfg.deviates("undeclared_prefix")) \
                else frozenset()
            return _xml(envelope(body, soap_ns, undeclared=undeclared), 200, soap_ns)
        except SoapFault as fault:
            resp = _xml(fault_body(fault, soap_ns), fault.http_status, soap_ns)
            for k, v in fault.headers.items():
                resp.headers.add(k, v)
            if fault.http_status == 401:
                for ch in self.digest.challenge(fault.headers.get("_stale") == "1"):
                    resp.headers.add("WWW-Authenticate", ch)
            return resp

    def _check_digest(self, request: web.Request) -> bool:
        """Whether the request carries valid HTTP Digest credentials; 401 if it carries wrong
        ones. False when it carries none (a WS-UsernameToken in the body may still do)."""
        auth = request.headers.get("Authorization", "")
        if not auth:
            return False
        site = self.dev.site
        verdict = self.digest.verify(auth, request.method, site.user, site.password)
        if verdict is None:
            return True
        f = _challenge("HTTP Digest credentials refused")
        if verdict == "stale":
            f.headers["_stale"] = "1"
        raise f

    def _authenticate(self, req: SoapRequest, digest_ok: bool) -> None:
        site = self.dev.site
        if req.token is not None and self.dev.cfg.auth != "digest":
            check_wsse(req.token, site.user, site.password, self.dev.now(), self.nonces)
            return
        if not digest_ok:
            raise _challenge("credentials required (WS-UsernameToken or HTTP Digest)")

    async def _call(self, req: SoapRequest, sid: int | None, on_subscription: bool) -> str:
        key = (req.op_ns, req.op)
        if on_subscription or (req.op_ns == NS["tev"] and req.op in (
                "PullMessages", "SetSynchronizationPoint")) or (
                req.op_ns == NS["wsnt"] and req.op in ("Renew", "Unsubscribe")):
            ops: dict[tuple[str, str], Callable[..., Awaitable[str] | str]] = {
                (NS["tev"], "PullMessages"): self.events.pull_messages,
                (NS["tev"], "SetSynchronizationPoint"): self.events.set_synchronization_point,
                (NS["wsnt"], "Renew"): self.events.renew,
                (NS["wsnt"], "Unsubscribe"): self.events.unsubscribe,
            }
            if key not in ops:
                raise _not_supported(req)
            result = ops[key](self.dev, req, sid)
            return await result if asyncio.iscoroutine(result) else result  # type: ignore[return-value]
        fn = self.table.get(key)
        if fn is None:
            raise _not_supported(req)
        return fn(self.dev, req)

    # -- snapshots ---------------------------------------------------------------
    async def _snapshot(self, request: web.Request) -> web.Response:
        site = self.dev.site
        verdict = self.digest.verify(request.headers.get("Authorization", ""), "GET",
                                     site.user, site.password)
        if verdict is not None:
            resp = web.Response(status=401, text="credentials required")
            for ch in self.digest.challenge(verdict == "stale"):
                resp.headers.add("WWW-Authenticate", ch)
            return resp
        spec = self.clip_specs.get(request.match_info["token"])
        if spec is None:
            return web.Response(status=404, text="no such profile")
        now = self.dev.utcnow()
        clock = now.strftime("%H:%M:%S.") + str(now.microsecond // 100000)
        index = int(self.dev.now() * spec.fps)
        jpeg = await asyncio.get_running_loop().run_in_executor(
            None, snapshot_jpeg, spec, clock, index)
        return web.Response(body=jpeg, content_type="image/jpeg")


def _challenge(reason: str) -> SoapFault:
    """ter:NotAuthorized as HTTP 401; the caller's handler adds the Digest challenge."""
    f = not_authorized(reason)
    f.http_status = 401
    return f


def _not_supported(req: SoapRequest) -> SoapFault:
    return SoapFault("Receiver", ["ter:ActionNotSupported"],
                     f"{req.op} ({req.op_ns}) is not supported by this device")


def _xml(body: bytes, status: int, soap_ns: str) -> web.Response:
    ctype = "application/soap+xml" if soap_ns == SOAP12 else "text/xml"
    return web.Response(body=body, status=status, content_type=ctype, charset="utf-8")
