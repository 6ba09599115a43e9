"""WS-Discovery (2005/04, as ONVIF uses it) for the simulated site.

One UDP socket answers for every device on the site: a Probe (multicast to
239.255.255.250:3702 or unicast to our port) gets one ProbeMatches message per
matching device, sent back to the prober's address and port. Hello is sent when
a device comes up and Bye when it goes down. Where the host has no multicast
route (a bare container), multicast is skipped with a warning and unicast
probes still work.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
import uuid
from collections.abc import Callable
from xml.sax.saxutils import escape

from lxml import etree

from vms.errors import PortInUse, UnsafeXml
from vms.safety import xmlsafe
from vms.sim.device import SimDevice

log = logging.getLogger(__name__)

MCAST_GROUP = "239.255.255.250"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
SOAP = "http://www.w3.org/2003/05/soap-envelope"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"
ANON = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
DEVICE_TYPES = {(DN, "NetworkVideoTransmitter"), (TDS, "Device")}
MAX_DELAY = 0.1  # seconds; WS-Discovery allows up to 0.5 for multicast probes


def _env(action: str, body: str, relates_to: str | None = None, to: str | None = None,
         seq: int = 1) -> bytes:
    rel = f"<wsa:RelatesTo>{relates_to}</wsa:RelatesTo>" if relates_to else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:wsa="{WSA}" xmlns:wsd="{WSD}" '
            f'xmlns:dn="{DN}" xmlns:tds="{TDS}"><soap:Header>'
            f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>{rel}"
            f"<wsa:To>{to or 'urn:schemas-xmlsoap-org:ws:2005:04:discovery'}</wsa:To>"
            f"<wsa:Action>{WSD}/{action}</wsa:Action>"
            f'<wsd:AppSequence InstanceId="1" MessageNumber="{seq}"/>'
            f"</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>").encode()


def _endpoint(dev: SimDevice) -> str:
    return f"<wsa:EndpointReference><wsa:Address>urn:uuid:{dev.uuid}</wsa:Address></wsa:EndpointReference>"


def _description(dev: SimDevice, with_xaddrs: bool = True) -> str:
    scopes = " ".join(escape(s) for s in dev.fixed_scopes + dev.scopes)
    x = f"<wsd:XAddrs>{escape(dev.xaddr)}</wsd:XAddrs>" if with_xaddrs else ""
    return (f"{_endpoint(dev)}<wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types>"
            f"<wsd:Scopes>{scopes}</wsd:Scopes>{x}<wsd:MetadataVersion>1</wsd:MetadataVersion>")


def probe_matches(dev: SimDevice, relates_to: str, seq: int) -> bytes:
    match = f"<wsd:ProbeMatch>{_description(dev)}</wsd:ProbeMatch>"
    if not dev.cfg.deviates("no_probematches_wrapper"):
        match = f"<wsd:ProbeMatches>{match}</wsd:ProbeMatches>"
    return _env("ProbeMatches", match, relates_to=relates_to, to=ANON, seq=seq)


def hello(dev: SimDevice, seq: int) -> bytes:
    return _env("Hello", f"<wsd:Hello>{_description(dev)}</wsd:Hello>", seq=seq)


def bye(dev: SimDevice, seq: int) -> bytes:
    return _env("Bye", f"<wsd:Bye>{_endpoint(dev)}</wsd:Bye>", seq=seq)


def _matches(dev: SimDevice, probe: etree._Element) -> bool:
    types = probe.find(f"{{{WSD}}}Types")
    if types is not None and (types.text or "").strip():
        for qn in (types.text or "").split():
            prefix, _, local = qn.rpartition(":")
            ns = types.nsmap.get(prefix or None)
            if (ns, local) not in DEVICE_TYPES:
                return False
    scopes = probe.find(f"{{{WSD}}}Scopes")
    if scopes is not None and (scopes.text or "").strip():
        mine = dev.fixed_scopes + dev.scopes
        for want in (scopes.text or "").split():
            if not any(s == want or s.startswith(want.rstrip("/") + "/") for s in mine):
                return False
    return True


class DiscoveryResponder(asyncio.DatagramProtocol):
    def __init__(self, devices: Callable[[], list[SimDevice]]) -> None:
        self.devices = devices
        self.transport: asyncio.DatagramTransport | None = None
        self.multicast = False
        self.probes = 0
        self._seq = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    async def start(self, port: int, iface: str = "127.0.0.1") -> int:
        """Listen on UDP ``port`` (every address, for unicast probes) and join the multicast
        group on the interface that holds the address ``iface`` (the site's ``--host``)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError as exc:
            sock.close()
            raise PortInUse(port, "WS-Discovery") from exc
        try:
            addr = socket.inet_aton(socket.gethostbyname(iface))
            mreq = struct.pack("4s4s", socket.inet_aton(MCAST_GROUP), addr)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, addr)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            self.multicast = True
        except OSError as exc:
            log.warning("WS-Discovery: no multicast on %s (%s); unicast probes still answered",
                        iface, exc.strerror)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, sock=sock)
        return sock.getsockname()[1]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def close(self) -> None:
        if self.transport:
            self.transport.close()

    def announce(self, dev: SimDevice, up: bool) -> None:
        """Hello or Bye to the multicast group (best effort)."""
        if not self.transport or not self.multicast:
            return
        msg = hello(dev, self._next()) if up else bye(dev, self._next())
        try:
            self.transport.sendto(msg, (MCAST_GROUP, 3702))
        except OSError as exc:
            log.debug("WS-Discovery announce failed: %s", exc)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            root = xmlsafe.parse(data)
        except (UnsafeXml, etree.XMLSyntaxError):
            return  # not ours to answer; never crash on a stray datagram
        probe = root.find(f".//{{{WSD}}}Probe")
        if probe is None:
            return
        self.probes += 1
        msg_id = (root.findtext(f".//{{{WSA}}}MessageID") or "").strip()
        loop = asyncio.get_running_loop()
        for dev in self.devices():
            if dev.online and _matches(dev, probe):
                reply = probe_matches(dev, msg_id, self._next())
                loop.call_later(random.uniform(0, MAX_DELAY), self._send, reply, addr)

    def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport and not self.transport.is_closing():
            try:
                self.transport.sendto(data, addr)
            except OSError as exc:
                log.debug("WS-Discovery reply to %s failed: %s", addr, exc)
