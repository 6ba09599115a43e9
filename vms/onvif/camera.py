"""One connection to one ONVIF device: onvif-zeep-async for the ONVIF 1.x services,
a small raw SOAP client for Media2 (the library ships no Media2 WSDL).

Everything runs on the core loop; every call is bounded by ``Timeouts`` and every
failure comes out as a ``vms.errors.DeviceError`` in plain words.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import zeep.helpers
from lxml import etree

from vms.errors import AuthFailed, ConfigError, DeviceUnreachable, ProtocolError
from vms.onvif.errors import is_auth_fault, map_error
from vms.onvif.http import ReplyVetter, Timeouts, call_limit, make_session
from vms.onvif.library import SERVICES, ONVIFCamera, ONVIFService, UsernameToken
from vms.safety import xmlsafe

NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"
NS_EVENTS = "http://www.onvif.org/ver10/events/wsdl"
NS_PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
NS_DEVICEIO = "http://www.onvif.org/ver10/deviceIO/wsdl"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


@dataclass(frozen=True)
class Target:
    """Where the device service is: from ``HOST``, ``HOST:PORT``, ``[v6]:PORT`` or a URL."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        return urlunsplit((self.scheme, f"{_bracket(self.host)}:{self.port}", self.path, "", ""))

    @property
    def where(self) -> str:
        return f"{_bracket(self.host)}:{self.port}"


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def parse_target(text: str) -> Target:
    text = text.strip()
    if not text:
        raise ConfigError("no device address given")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not a device address: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{text!r} is not a device address (use HOST[:PORT] or an http(s) URL)")
    if parts.username or parts.password:
        raise ConfigError("put the user name in --user and the password on standard input, "
                          "not in the address")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default,
                  parts.path if parts.path not in ("", "/") else "/onvif/device_service")


def same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return a.lower() == b.lower()


def reach_url(url: str | None, target: Target, keep_port: bool) -> str | None:
    """A URL the device advertised, pointed at the address we actually reach it by.

    Cameras behind NAT or with a stale network config advertise addresses we
    cannot reach (as ONVIF Device Manager does, we trust the address the user gave).
    For RTSP the port is kept: it is forwarded separately from HTTP.
    """
    if not url:
        return url
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return url
    if not host or same_host(host, target.host):
        return url
    netloc = _bracket(target.host) + (f":{port}" if port else "") if keep_port else target.where
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class _Camera(ONVIFCamera):
    """ONVIFCamera with our sessions, device URL and address rewriting."""

    def __init__(self, target: Target, user: str, password: str, timeouts: Timeouts,
                 vetter: ReplyVetter) -> None:
        super().__init__(target.host, target.port, user, password, no_cache=True, adjust_time=False)
        self.target = target
        self.timeouts = timeouts
        self.vetter = vetter

    def get_definition(self, name: str, port_type: str | None = None) -> tuple[str, str, str]:
        xaddr, wsdl, binding = super().get_definition(name, port_type)
        if name == "devicemgmt":
            xaddr = self.target.url
        return xaddr, wsdl, binding

    def rewrite_url(self, url: str | None) -> str | None:
        return reach_url(url, self.target, keep_port=False)

    async def create_onvif_service(self, name: str, port_type: str | None = None,
                                   read_timeout: int | None = None,
                                   write_timeout: int | None = None) -> ONVIFService:
        svc = await super().create_onvif_service(name, port_type, read_timeout, write_timeout)
        if not getattr(svc, "_beacon", False):
            await svc._session.close()
            session = make_session(self.user, self.passwd, self.timeouts, self.vetter)
            svc._session = session
            svc._connector = session.connector
            svc.transport.session = session
            svc.transport._client_timeout = session.timeout
            svc._beacon = True
        return svc


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


def child(el: etree._Element | None, *names: str) -> etree._Element | None:
    """Follow a path of local names (namespace-agnostic: cameras disagree on prefixes)."""
    for name in names:
        if el is None:
            return None
        el = next((c for c in el if isinstance(c.tag, str) and local(c) == name), None)
    return el


def text(el: etree._Element | None, *names: str) -> str | None:
    found = child(el, *names) if names else el
    if found is None or found.text is None:
        return None
    return found.text.strip()


class DeviceClient:
    """A session with one device. Use ``async with``; all methods run on the core loop."""

    def __init__(self, target: Target, user: str, password: str,
                 timeouts: Timeouts | None = None) -> None:
        self.target = target
        self.user = user
        self._password = password
        self.timeouts = timeouts or Timeouts()
        self.vetter = ReplyVetter(self.timeouts.total)
        self.offset: float | None = None
        self.cam: _Camera | None = None
        self._raw: aiohttp.ClientSession | None = None
        self.warnings: list[str] = []

    def __repr__(self) -> str:  # never the password
        return f"DeviceClient({self.target.url!r}, user={self.user!r})"

    @property
    def password(self) -> str:
        """For the device's other protocols (RTSP talk-back) on the same login."""
        return self._password

    async def __aenter__(self) -> DeviceClient:
        self.cam = _Camera(self.target, self.user, self._password, self.timeouts, self.vetter)
        self._raw = make_session(self.user, self._password, self.timeouts, self.vetter)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.cam is not None:
            await self.cam.close()  # every service's session and the snapshot client
        if self._raw is not None:
            await self._raw.close()

    @property
    def xaddrs(self) -> dict[str, str]:
        assert self.cam is not None
        return self.cam.xaddrs

    async def call(self, service: str, op: str, params: dict[str, Any] | None = None,
                   authless: bool = False) -> Any:
        """One ONVIF 1.x operation through zeep, with our error mapping.

        A service the device advertises on another address that does not answer is
        tried once more on the device service's own host and port (stale or
        port-forwarded configurations), and the change is kept and reported.
        """
        try:
            return await self._call(service, op, params, authless)
        except DeviceUnreachable:
            ns = SERVICES.get(service, {}).get("ns")
            assert self.cam is not None
            old = self.cam.xaddrs.get(ns) if ns else None
            if not old or service == "devicemgmt":
                raise
            parts = urlsplit(old)
            fixed = urlunsplit((self.target.scheme, self.target.where, parts.path, parts.query, ""))
            if fixed == old:
                raise
            self.cam.xaddrs[ns] = fixed
            self.warnings.append(f"the {service} service did not answer at {old}; "
                                 f"it does at {fixed}")
            return await self._call(service, op, params, authless)

    async def _call(self, service: str, op: str, params: dict[str, Any] | None,
                    authless: bool) -> Any:
        assert self.cam is not None
        try:
            svc = await self.cam.create_onvif_service(service)
            fn = getattr(svc, f"authless_{op}" if authless else op)
            result: Awaitable[Any] = fn(params)
            return await result
        except Exception as exc:
            raise map_error(exc, self.target.where, op, self.user, self.timeouts.total) from exc

    async def read_clock(self) -> float:
        """GetSystemDateAndTime (no credentials, as ONVIF Core allows); sign with the result."""
        assert self.cam is not None
        t0 = time.time()
        try:
            res = await self.call("devicemgmt", "GetSystemDateAndTime", authless=True)
        except AuthFailed:
            res = await self.call("devicemgmt", "GetSystemDateAndTime")
        t1 = time.time()
        utc = getattr(res, "UTCDateTime", None)
        if utc is None or getattr(utc, "Date", None) is None or getattr(utc, "Time", None) is None:
            raise ProtocolError(f"{self.target.where} did not report its UTC time")
        d, t = utc.Date, utc.Time
        try:
            cam = dt.datetime(int(d.Year), int(d.Month), int(d.Day), int(t.Hour), int(t.Minute),
                              int(t.Second), tzinfo=dt.UTC).timestamp()
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"{self.target.where} reported an impossible date: {exc}") from exc
        # The camera's clock has whole seconds; compare with the middle of the round trip.
        offset = cam + 0.5 - (t0 + t1) / 2
        await self.set_offset(offset)
        return offset

    async def set_offset(self, seconds: float) -> None:
        assert self.cam is not None
        self.offset = seconds
        self.cam.dt_diff = dt.timedelta(seconds=seconds)
        old = self.cam.services.pop(("devicemgmt", None), None)  # re-made with the new offset
        if old is not None:
            await old.close()

    async def discover_services(self) -> list[str]:
        """GetServices, else GetCapabilities; returns warnings."""
        assert self.cam is not None
        xaddrs = self.cam.xaddrs
        xaddrs.clear()
        xaddrs[NS_DEVICE] = self.target.url
        warnings: list[str] = []
        try:
            services = await self.call("devicemgmt", "GetServices", {"IncludeCapability": False})
        except ProtocolError as exc:
            warnings.append(f"GetServices not supported ({exc}); used GetCapabilities")
            services = None
        for s in services or []:
            ns, xaddr = getattr(s, "Namespace", None), getattr(s, "XAddr", None)
            if ns and xaddr:
                xaddrs[ns.strip()] = reach_url(xaddr, self.target, keep_port=False) or xaddr
        return warnings

    async def capabilities(self) -> dict[str, Any]:
        caps = await self.call("devicemgmt", "GetCapabilities", {"Category": "All"})
        data: dict[str, Any] = zeep.helpers.serialize_object(caps, dict) or {}
        for path, ns in ((("Media",), NS_MEDIA), (("Events",), NS_EVENTS), (("PTZ",), NS_PTZ),
                         (("Extension", "DeviceIO"), NS_DEVICEIO)):
            node: Any = data
            for key in path:
                node = (node or {}).get(key)
            xaddr = (node or {}).get("XAddr")
            if xaddr and ns not in self.xaddrs:
                self.xaddrs[ns] = reach_url(xaddr, self.target, keep_port=False) or xaddr
        return data

    # -- raw SOAP (Media2, events) --------------------------------------------------
    async def media2(self, op: str, body: str = "") -> etree._Element:
        """Call a Media2 operation; returns the response element."""
        url = self.xaddrs.get(NS_MEDIA2)
        if not url:
            raise ProtocolError(f"{self.target.where} has no Media2 service")
        return await self.soap(url, NS_MEDIA2, op, body, prefix="tr2")

    async def soap(self, url: str, ns: str, op: str, body: str = "", *, prefix: str = "m",
                   action: str | None = None, headers: list[etree._Element] | None = None,
                   timeout: float | None = None, response: str | None = None) -> etree._Element:
        """One SOAP 1.2 call signed with WS-UsernameToken; returns the response element.

        ``headers`` are extra SOAP header blocks (WS-Addressing ``To``, ``Action`` and a
        subscription's reference parameters, which the spec says must be echoed back).
        The call takes at most ``timeout`` seconds in all (a long poll's own), else the
        ``Timeouts`` total, however slowly the camera drips its reply.
        """
        assert self._raw is not None
        env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"s": SOAP12, prefix: ns,
                                                              "tt": "http://www.onvif.org/ver10/schema"})
        head = etree.SubElement(env, f"{{{SOAP12}}}Header")
        for h in headers or []:
            head.append(h)
        UsernameToken(self.user, self._password, dt_diff=dt.timedelta(seconds=self.offset or 0.0),
                      use_digest=True).apply(env, {})
        b = etree.SubElement(env, f"{{{SOAP12}}}Body")
        req = etree.fromstring(f'<{prefix}:{op} xmlns:{prefix}="{ns}" '
                               f'xmlns:tt="http://www.onvif.org/ver10/schema" '
                               f'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2">{body}</{prefix}:{op}>')
        b.append(req)
        data = etree.tostring(env, xml_declaration=True, encoding="utf-8")
        act = action or f"{ns}/{op}"
        hdrs = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{act}"'}
        # Never timeout=None: to aiohttp that means no limit at all, not the session's.
        limit = self.timeouts.client_timeout(timeout)
        try:
            with call_limit(timeout):
                async with self._raw.post(url, data=data, headers=hdrs, timeout=limit) as resp:
                    payload = await resp.read()
                    status = resp.status
            root = xmlsafe.parse(payload)
        except Exception as exc:
            raise map_error(exc, self.target.where, op, self.user,
                            timeout or self.timeouts.total) from exc
        fault = root.find(f".//{{{SOAP12}}}Fault")
        if fault is None:
            fault = root.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
        if fault is not None:
            reason = (text(fault, "Reason", "Text") or text(fault, "faultstring") or "")
            codes = [c.text.strip().rsplit(":", 1)[-1] for c in fault.iter()
                     if isinstance(c.tag, str) and local(c) in ("Value", "faultcode") and c.text]
            if status == 401 or is_auth_fault(reason, codes):
                raise AuthFailed(f"{self.target.where} refused user '{self.user}' ({op}): "
                                 "wrong user name or password")
            raise ProtocolError(f"{self.target.where} answered {op} with an error: {reason} "
                                f"({', '.join(codes[1:] or codes)})", codes=codes)
        if status == 401:
            raise AuthFailed(f"{self.target.where} refused user '{self.user}' ({op}): "
                             "wrong user name or password")
        body_el = child(root, "Body")
        out = body_el[0] if body_el is not None and len(body_el) else None
        if out is None or local(out) != (response or f"{op}Response"):
            raise ProtocolError(f"{self.target.where} answered {op} with something else "
                                f"(HTTP {status})")
        return out
