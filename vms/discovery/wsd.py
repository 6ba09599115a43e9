"""WS-Discovery client (2005/04, as ONVIF uses it).

Probes go out from an ephemeral port (a device on this host owns 3702): by
multicast to 239.255.255.250:3702, and by unicast to hosts or CIDR ranges,
because multicast does not cross routers. Replies are parsed leniently, since
real cameras send ProbeMatch without its ProbeMatches wrapper, spaces inside
scope lists and the same reply twice; they are de-duplicated by endpoint
reference and handed to the caller as they arrive. A reply whose XAddrs name a
host other than the one that sent it is flagged and must never be added
without a person confirming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from vms import xmlsafe
from vms.errors import ConfigError, UnsafeXml

MCAST_GROUP = "239.255.255.250"
PORT = 3702
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
PROBE_TYPES = ("dn:NetworkVideoTransmitter", "tds:Device")
MAX_RANGE_HOSTS = 65536
SEND_BATCH = 128  # unicast probes sent before yielding to the loop (bounds the burst)


@dataclass
class Sighting:
    """One device seen on the network (a ProbeMatch or a Hello)."""

    endpoint: str
    xaddrs: list[str]
    types: list[str]
    scopes: list[str]
    metadata_version: int | None
    senders: list[str] = field(default_factory=list)
    seen_at: float = field(default_factory=time.time)

    def _scope(self, key: str) -> list[str]:
        prefix = f"onvif://www.onvif.org/{key.lower()}/"
        return [unquote(s[len(prefix):]) for s in self.scopes if s.lower().startswith(prefix)]

    @property
    def name(self) -> str:
        return next(iter(self._scope("name")), "").replace("_", " ")

    @property
    def location(self) -> str:
        return next(iter(self._scope("location")), "").replace("_", " ")

    @property
    def hardware(self) -> str:
        return next(iter(self._scope("hardware")), "")

    @property
    def mac(self) -> str:
        return next(iter(self._scope("MAC")), "")

    @property
    def profiles(self) -> list[str]:
        return self._scope("Profile")

    @property
    def trusted_xaddrs(self) -> list[str]:
        """XAddrs whose host is one of the addresses the replies came from."""
        return [x for x in self.xaddrs if (urlsplit(x).hostname or "") in self.senders]

    @property
    def xaddr(self) -> str | None:
        """The address to onboard with: trusted first, IPv4 and plain HTTP preferred."""
        pool = self.trusted_xaddrs
        pool.sort(key=lambda x: (":" in (urlsplit(x).hostname or ""), not x.startswith("http:")))
        return pool[0] if pool else None

    @property
    def warning(self) -> str | None:
        if not self.xaddrs:
            return "the reply carries no usable device address"
        if not self.trusted_xaddrs:
            return (f"its addresses ({', '.join(self.xaddrs)}) point at a host other than the "
                    f"one that answered ({', '.join(self.senders)}); not added automatically")
        return None

    def merge(self, other: Sighting) -> None:
        for x in other.xaddrs:
            if x not in self.xaddrs:
                self.xaddrs.append(x)
        for s in other.senders:
            if s not in self.senders:
                self.senders.append(s)
        for s in other.scopes:
            if s not in self.scopes:
                self.scopes.append(s)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "name": self.name, "location": self.location,
                "hardware": self.hardware, "mac": self.mac, "profiles": self.profiles,
                "xaddrs": self.xaddrs, "xaddr": self.xaddr, "scopes": self.scopes,
                "types": self.types, "senders": self.senders, "warning": self.warning,
                "metadata_version": self.metadata_version}


def _children(node: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == local]


def _text(node: etree._Element, local: str) -> str:
    found = _children(node, local)
    return " ".join((found[0].text or "").split()) if found else ""


def parse_reply(data: bytes, sender: str) -> tuple[str | None, list[Sighting]]:
    """(RelatesTo, sightings) of a ProbeMatches or Hello message; ([], None) if not one.

    Never raises on bad input: hostile or malformed datagrams are simply not sightings.
    """
    try:
        root = xmlsafe.parse(data)
    except (UnsafeXml, etree.XMLSyntaxError, ValueError):
        return None, []
    relates = None
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == "RelatesTo":
            relates = (el.text or "").strip()
            break
    out: list[Sighting] = []
    for el in root.iter(f"{{{WSD}}}ProbeMatch", f"{{{WSD}}}Hello"):
        epr = _children(el, "EndpointReference")
        endpoint = _text(epr[0], "Address") if epr else ""
        if not endpoint:
            continue
        xaddrs = [x for x in _text(el, "XAddrs").split() if x.lower().startswith(("http://",
                                                                                   "https://"))]
        mv = _text(el, "MetadataVersion")
        out.append(Sighting(
            endpoint=endpoint, xaddrs=xaddrs, types=_text(el, "Types").split(),
            scopes=_text(el, "Scopes").split(),
            metadata_version=int(mv) if mv.isdigit() else None, senders=[sender]))
    return relates, out


def probe_message(types: str, message_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:w="{WSA}" '
        f'xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><e:Header>'
        f"<w:MessageID>{message_id}</w:MessageID>"
        "<w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
        f"<w:Action>{WSD}/Probe</w:Action></e:Header><e:Body><d:Probe>"
        f"<d:Types>{types}</d:Types></d:Probe></e:Body></e:Envelope>").encode()


def expand_targets(targets: Iterable[str]) -> list[str]:
    """Hosts and CIDR ranges to unicast addresses (hostnames are kept as given)."""
    out: list[str] = []
    for t in targets:
        t = t.strip()
        if not t:
            continue
        if "/" in t:
            try:
                net = ipaddress.ip_network(t, strict=False)
            except ValueError as exc:
                raise ConfigError(f"not a CIDR range: {t!r}") from exc
            if net.num_addresses > MAX_RANGE_HOSTS:
                raise ConfigError(f"range {t} has {net.num_addresses} addresses; "
                                  f"split it (at most {MAX_RANGE_HOSTS})")
            hosts = list(net.hosts()) or [net.network_address]
            out += [str(h) for h in hosts]
        else:
            out.append(t)
    return out


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, ids: set[str], found: Callable[[Sighting], None]) -> None:
        self.ids = ids
        self.found = found

    def datagram_received(self, data: bytes, addr: tuple[str, int] | tuple[Any, ...]) -> None:
        relates, sightings = parse_reply(data, str(addr[0]))
        if relates is not None and relates not in self.ids:
            return  # a reply to someone else's probe
        for s in sightings:
            self.found(s)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable from a range scan
        pass


QUIET_S = 0.5  # after every unicast target has answered, how long to wait for more


async def discover(timeout: float = 2.0, targets: Iterable[str] = (), multicast: bool = True,
                   port: int = PORT, on_found: Callable[[Sighting], None] | None = None,
                   interface: str | None = None) -> list[Sighting]:
    """Probe and collect for ``timeout`` seconds; ``on_found`` sees each new device at once.

    A unicast-only probe of hosts that have all answered stops once they have been quiet
    for ``QUIET_S``: an installer checking one known address need not wait out the
    timeout. Multicast, or any host still silent, waits for the whole timeout.
    """
    loop = asyncio.get_running_loop()
    hosts = []
    for host in expand_targets(targets):
        try:
            ipaddress.ip_address(host)
            hosts.append(host)
        except ValueError:  # a name: resolve it without blocking the loop
            try:
                infos = await loop.getaddrinfo(host, port, family=socket.AF_INET,
                                               type=socket.SOCK_DGRAM)
            except OSError as exc:
                raise ConfigError(f"cannot resolve {host!r}: {exc}") from exc
            hosts += sorted({str(i[4][0]) for i in infos})
    seen: dict[str, Sighting] = {}
    answered: set[str] = set()
    last_reply = [loop.time()]

    def found(s: Sighting) -> None:
        answered.update(s.senders)
        last_reply[0] = loop.time()
        if s.endpoint in seen:
            seen[s.endpoint].merge(s)
            return
        seen[s.endpoint] = s
        if on_found:
            on_found(s)

    ids = {f"urn:uuid:{uuid.uuid4()}" for _ in PROBE_TYPES}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.bind(("0.0.0.0", 0))  # noqa: S104 - replies to multicast come to any of our addresses
    sock.setblocking(False)
    if interface:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    transport, _ = await loop.create_datagram_endpoint(lambda: _Collector(ids, found), sock=sock)
    try:
        messages = [probe_message(t, i) for t, i in zip(PROBE_TYPES, sorted(ids), strict=True)]
        if multicast:
            for m in messages:
                with contextlib.suppress(OSError):  # no multicast route: unicast still goes out
                    transport.sendto(m, (MCAST_GROUP, port))
        for n, host in enumerate(hosts, 1):
            for m in messages:
                with contextlib.suppress(OSError):  # an unroutable target is simply silent
                    transport.sendto(m, (host, port))
            if n % SEND_BATCH == 0:
                await asyncio.sleep(0.005)
        deadline = loop.time() + timeout
        early = not multicast and bool(hosts)
        while (now := loop.time()) < deadline:
            if early and answered.issuperset(hosts) and now - last_reply[0] >= QUIET_S:
                break
            await asyncio.sleep(min(0.05, deadline - now))
    finally:
        transport.close()
    return list(seen.values())
