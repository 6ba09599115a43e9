"""WS-Discovery client (2005/04, as ONVIF uses it).

Probes go out from an ephemeral port (a device on this host owns 3702): by
multicast to 239.255.255.250:3702, and by unicast to hosts or CIDR ranges,
because multicast does not cross routers. Replies are parsed leniently, since
real cameras send ProbeMatch without its ProbeMatches wrapper, spaces inside
scope lists and the same reply twice; they are de-duplicated by endpoint
reference and handed to the caller as they arrive. A reply whose XAddrs name a
host other than the one that sent it is flagged and must never be added
without a person confirming it.

Lenient is not credulous: anyone on the network can send us datagrams. A probe's
results are only ProbeMatches whose RelatesTo is one of our probe's MessageIDs
(random, so a forged answer has to have seen the probe); a Hello is an
announcement, not an answer (the presence listener hears those on purpose); and
every count and length taken from a reply is bounded, so a responder cannot list
hundreds of fake devices or fill memory. What is dropped is said in the scan's
notes and the log, never shown as a device.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

from vms.errors import ConfigError, UnsafeXml
from vms.safety import xmlsafe

MCAST_GROUP = "239.255.255.250"
PORT = 3702
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
PROBE_TYPES = ("dn:NetworkVideoTransmitter", "tds:Device")
MAX_RANGE_HOSTS = 65536
SEND_BATCH = 128  # unicast probes sent before yielding to the loop (bounds the burst)
# Bounds on what one reply, one device and one scan may bring (hostile responders).
MAX_XADDRS = 8  # per device; real cameras send one to three (IPv4, IPv6, https)
MAX_SCOPES = 32  # per device; real cameras send about ten
MAX_TYPES = 8
MAX_SENDERS = 8  # addresses a device's replies came from
MAX_FIELD_BYTES = 1024  # per endpoint reference, XAddr, scope or type
MAX_DEVICES = 1024  # per scan; beyond it the scan stops

log = logging.getLogger(__name__)


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

    def merge(self, other: Sighting) -> int:
        """Take in a duplicate reply's addresses and scopes, within the bounds; how many
        did not fit."""
        dropped = 0
        for mine, theirs, limit in ((self.xaddrs, other.xaddrs, MAX_XADDRS),
                                    (self.senders, other.senders, MAX_SENDERS),
                                    (self.scopes, other.scopes, MAX_SCOPES)):
            for x in theirs:
                if x in mine:
                    continue
                if len(mine) >= limit:
                    dropped += 1
                else:
                    mine.append(x)
        return dropped

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


def _bounded(items: list[str], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` distinct items of at most ``MAX_FIELD_BYTES``; how many were cut."""
    out: list[str] = []
    for item in items:
        if len(item.encode()) <= MAX_FIELD_BYTES and item not in out and len(out) < limit:
            out.append(item)
    return out, len(items) - len(out)


@dataclass
class Reply:
    """What one WS-Discovery datagram said, bounded."""

    relates_to: str | None
    matches: list[Sighting]  # ProbeMatch: an answer to a probe
    hellos: list[Sighting]  # Hello: an announcement, never a probe's result
    trimmed: int = 0  # XAddrs, scopes or types cut by the bounds, or entries too long to keep


def parse_message(data: bytes, sender: str) -> Reply | None:
    """The ProbeMatches and Hellos in a datagram, bounded; None if it is not XML we can read.

    Never raises on bad input: hostile or malformed datagrams are simply not sightings.
    """
    try:
        root = xmlsafe.parse(data)
    except (UnsafeXml, etree.XMLSyntaxError, ValueError):
        return None
    relates = None
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname == "RelatesTo":
            relates = " ".join((el.text or "").split())
            break
    reply = Reply(relates, [], [])
    for el in root.iter(f"{{{WSD}}}ProbeMatch", f"{{{WSD}}}Hello"):
        epr = _children(el, "EndpointReference")
        endpoint = _text(epr[0], "Address") if epr else ""
        if not endpoint or len(endpoint.encode()) > MAX_FIELD_BYTES:
            reply.trimmed += bool(endpoint)
            continue
        xaddrs, cut_x = _bounded([x for x in _text(el, "XAddrs").split()
                                  if x.lower().startswith(("http://", "https://"))], MAX_XADDRS)
        scopes, cut_s = _bounded(_text(el, "Scopes").split(), MAX_SCOPES)
        types, cut_t = _bounded(_text(el, "Types").split(), MAX_TYPES)
        reply.trimmed += cut_x + cut_s + cut_t
        mv = _text(el, "MetadataVersion")
        sighting = Sighting(endpoint=endpoint, xaddrs=xaddrs, types=types, scopes=scopes,
                            metadata_version=int(mv) if mv.isdigit() and len(mv) < 10 else None,
                            senders=[sender])
        (reply.hellos if etree.QName(el).localname == "Hello" else reply.matches).append(sighting)
    return reply


def parse_reply(data: bytes, sender: str) -> tuple[str | None, list[Sighting]]:
    """(RelatesTo, the ProbeMatches) of a reply to a probe; (None, []) if not one.

    Hellos in the datagram are not answers to a probe and are not returned.
    """
    reply = parse_message(data, sender)
    if reply is None or not reply.matches:
        return None, []
    return reply.relates_to, reply.matches


def parse_hello(data: bytes, sender: str) -> list[Sighting]:
    """The devices a Hello announces (for the presence listener), bounded like replies."""
    reply = parse_message(data, sender)
    return reply.hellos if reply is not None else []


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


class Scan(list[Sighting]):
    """The devices a scan found, with what it dropped said in plain words in ``notes``."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []
        self.truncated = False  # more than MAX_DEVICES answered


def _same_id(a: str, b: str) -> bool:
    return a.lower() == b.lower()  # UUIDs are case-insensitive (RFC 4122)


class _Collector(asyncio.DatagramProtocol):
    """Sorts each datagram into a result or a count of what was dropped and why."""

    def __init__(self, ids: set[str], found: Callable[[Sighting], None]) -> None:
        self.ids = ids
        self.found = found
        self.not_ours = 0  # ProbeMatches without our RelatesTo
        self.not_ours_from: set[str] = set()
        self.hellos = 0
        self.hellos_from: set[str] = set()
        self.unreadable = 0
        self.trimmed = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int] | tuple[Any, ...]) -> None:
        sender = str(addr[0])
        reply = parse_message(data, sender)
        if reply is None or not (reply.matches or reply.hellos):
            self.unreadable += 1
            return
        if reply.hellos:
            self.hellos += len(reply.hellos)
            self._note_sender(self.hellos_from, sender)
            log.debug("ignored %d Hello(s) from %s during a probe", len(reply.hellos), sender)
        if not reply.matches:
            return
        relates = reply.relates_to
        if relates is None or not any(_same_id(relates, i) for i in self.ids):
            self.not_ours += len(reply.matches)
            self._note_sender(self.not_ours_from, sender)
            log.debug("ignored %d ProbeMatch(es) from %s: RelatesTo %r is not our probe's",
                      len(reply.matches), sender, (relates or "")[:80])
            return
        self.trimmed += reply.trimmed
        for s in reply.matches:
            self.found(s)

    @staticmethod
    def _note_sender(senders: set[str], sender: str) -> None:
        if len(senders) < MAX_SENDERS:
            senders.add(sender)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable from a range scan
        pass

    def notes(self) -> list[str]:
        """What was dropped, in plain words."""
        out = []
        if self.not_ours:
            out.append(f"ignored {self.not_ours} repl{'ies' if self.not_ours != 1 else 'y'} "
                       f"from {_hosts(self.not_ours_from)} that did not answer our probe "
                       "(no RelatesTo, or another probe's)")
        if self.hellos:
            out.append(f"ignored {self.hellos} Hello announcement"
                       f"{'s' if self.hellos != 1 else ''} from {_hosts(self.hellos_from)}: "
                       "a Hello is not an answer to a probe")
        if self.trimmed:
            out.append(f"cut {self.trimmed} address{'es' if self.trimmed != 1 else ''}, scopes "
                       f"or types beyond the limits (per device {MAX_XADDRS} addresses, "
                       f"{MAX_SCOPES} scopes, {MAX_FIELD_BYTES} bytes each)")
        if self.unreadable:
            out.append(f"ignored {self.unreadable} datagram{'s' if self.unreadable != 1 else ''} "
                       "that were not WS-Discovery replies we could read")
        return out


def _hosts(hosts: set[str]) -> str:
    return ", ".join(sorted(hosts)) + (" and others" if len(hosts) >= MAX_SENDERS else "")


QUIET_S = 0.5  # after every unicast target has answered, how long to wait for more


async def discover(timeout: float = 2.0, targets: Iterable[str] = (), multicast: bool = True,
                   port: int = PORT, on_found: Callable[[Sighting], None] | None = None,
                   interface: str | None = None) -> Scan:
    """Probe and collect for ``timeout`` seconds; ``on_found`` sees each new device at once.

    A unicast-only probe of hosts that have all answered stops once they have been quiet
    for ``QUIET_S``: an installer checking one known address need not wait out the
    timeout. Multicast, or any host still silent, waits for the whole timeout. The scan
    also stops once ``MAX_DEVICES`` have answered. What was dropped is in ``Scan.notes``.
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
    scan = Scan()

    def found(s: Sighting) -> None:
        answered.update(s.senders)
        last_reply[0] = loop.time()
        if s.endpoint in seen:
            collector.trimmed += seen[s.endpoint].merge(s)
            return
        if len(seen) >= MAX_DEVICES:
            scan.truncated = True
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
    collector = _Collector(ids, found)
    transport, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
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
        while (now := loop.time()) < deadline and not scan.truncated:
            if early and answered.issuperset(hosts) and now - last_reply[0] >= QUIET_S:
                break
            await asyncio.sleep(min(0.05, deadline - now))
    finally:
        transport.close()
    scan.extend(seen.values())
    if scan.truncated:
        scan.notes.append(f"more than {MAX_DEVICES} devices answered; the rest were ignored")
    scan.notes += collector.notes()
    for note in scan.notes:
        log.info("WS-Discovery scan: %s", note)
    return scan
