"""Hello/Bye listening: devices announce themselves when they come up and go down.

Listens on UDP 3702 in the WS-Discovery multicast group (sharing the port with
anything else on this host, as ONVIF Device Manager does) and turns Hello and Bye
messages into presence updates. Only multicast on the local segment reaches us, so
this complements, never replaces, probing.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from vms.discovery.wsd import MCAST_GROUP, PORT, WSD, Sighting, parse_hello
from vms.errors import PortInUse, UnsafeXml
from vms.safety import xmlsafe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Presence:
    kind: str  # "hello" or "bye"
    endpoint: str
    sender: str
    sighting: Sighting | None = None  # with a Hello


def parse_bye(data: bytes) -> str | None:
    """The endpoint reference a Bye names, or None (never raises on bad input)."""
    try:
        root = xmlsafe.parse(data)
    except (UnsafeXml, etree.XMLSyntaxError, ValueError):
        return None
    for bye in root.iter(f"{{{WSD}}}Bye"):
        for el in bye.iter():
            if isinstance(el.tag, str) and etree.QName(el).localname == "Address":
                return " ".join((el.text or "").split()) or None
    return None


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, on_presence: Callable[[Presence], None]) -> None:
        self.on_presence = on_presence

    def datagram_received(self, data: bytes, addr: tuple[str, int] | tuple[Any, ...]) -> None:
        sender = str(addr[0])
        if b"Hello" in data:
            for s in parse_hello(data, sender):  # bounded like a probe's replies
                self.on_presence(Presence("hello", s.endpoint, sender, s))
        elif b"Bye" in data and (endpoint := parse_bye(data)):
            self.on_presence(Presence("bye", endpoint, sender))


class PresenceListener:
    """Call ``start()`` on the core loop; ``on_presence`` runs on that loop."""

    def __init__(self, on_presence: Callable[[Presence], None], interface: str = "0.0.0.0",  # noqa: S104
                 port: int = PORT) -> None:
        self.on_presence = on_presence
        self.interface = interface
        self.port = port
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        # Bound to the group address, not to every address: a device on this host (the
        # simulated site, a camera emulator) owns unicast 3702, and with SO_REUSEPORT Linux
        # would share its unicast probes out between the two sockets, so scans lost devices.
        # Windows cannot bind a multicast address; there unicast goes to the device's socket.
        where = "" if sys.platform == "win32" else MCAST_GROUP
        try:
            sock.bind((where, self.port))
        except OSError as exc:
            sock.close()
            raise PortInUse(self.port, f"WS-Discovery Hello/Bye listener: {exc.strerror}") from None
        group = socket.inet_aton(MCAST_GROUP)
        iface = socket.inet_aton(self.interface)
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", group, iface))
        except OSError as exc:  # no multicast route (a box with no network): say so, keep going
            log.warning("cannot join the WS-Discovery group (%s); Hello/Bye will not be heard",
                        exc.strerror)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Listener(self.on_presence), sock=sock)

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
