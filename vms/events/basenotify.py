"""WS-BaseNotification push subscriptions (ONVIF Core 9.2), for devices without PullPoint.

Some devices say ``WSPullPointSupport="false"`` and only push: the client names a
consumer address in ``wsnt:Subscribe`` and the device POSTs ``wsnt:Notify`` to it.
One ``Consumer`` (a small HTTP server on the core loop) serves every such device of an
engine. Each subscription gets its own unguessable path, so a notification is only
taken from whoever was given that path, and only from the device's own address; the
body is capped and parsed without entities like any other camera reply. Renewal and
re-subscription after a reboot work as for PullPoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from aiohttp import web
from lxml import etree

from vms.errors import ProtocolError, UnsafeXml
from vms.events.notifications import Notification, read_all
from vms.events.pullpoint import WSNT, Subscription, subscription_in, unsubscribe
from vms.onvif.camera import DeviceClient
from vms.safety import xmlsafe

SUBSCRIBE_ACTION = "http://docs.oasis-open.org/wsn/bw-2/NotificationProducer/SubscribeRequest"
# Pushed subscriptions are renewed often: a device that rebooted has forgotten ours and
# sends nothing, and only a failed Renew tells us so.
LIFETIME_S = 60
RENEW_EVERY_S = 15.0
MAX_NOTIFY_BYTES = 1024 * 1024
log = logging.getLogger(__name__)

Sink = Callable[[list[Notification]], None]


@dataclass
class _Route:
    device_ips: frozenset[str]  # any of the device's addresses may push
    sink: Sink


class Consumer:
    """The HTTP endpoint that devices push ``wsnt:Notify`` to; one per event engine.

    Listens on the local address that routes to each device (a consumer reference must
    be an address the device can reach), on a port the OS chooses unless one is given
    (a firewall may need a fixed one: ``port``).
    """

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._routes: dict[str, _Route] = {}
        self._runners: dict[str, tuple[web.AppRunner, int]] = {}
        self._lock = asyncio.Lock()
        self.received = 0
        self.refused = 0

    async def open(self, device_host: str, sink: Sink) -> str:
        """A fresh consumer address for one subscription of the device at ``device_host``."""
        local, device_ips = await _local_address_towards(device_host)
        async with self._lock:
            if local not in self._runners:
                self._runners[local] = await self._serve(local)
        port = self._runners[local][1]
        token = secrets.token_urlsafe(18)
        self._routes[token] = _Route(device_ips, sink)
        host = f"[{local}]" if ":" in local else local
        return f"http://{host}:{port}/onvif/notify/{token}"

    def close_route(self, address: str) -> None:
        self._routes.pop(address.rsplit("/", 1)[-1], None)

    async def close(self) -> None:
        self._routes.clear()
        runners = list(self._runners.values())
        self._runners.clear()
        for runner, _ in runners:
            await runner.cleanup()

    async def _serve(self, local: str) -> tuple[web.AppRunner, int]:
        app = web.Application(client_max_size=MAX_NOTIFY_BYTES)
        app.router.add_post("/onvif/notify/{token}", self._notify)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, local, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ProtocolError(f"cannot listen on {local} port {self.port} for pushed events: "
                                f"{exc.strerror or exc}") from exc
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("listening for pushed device events on %s port %s", local, port)
        return runner, int(port)

    async def _notify(self, request: web.Request) -> web.Response:
        route = self._routes.get(request.match_info["token"])
        peer = request.remote or ""
        if route is None or not any(_same_ip(peer, ip) for ip in route.device_ips):
            self.refused += 1
            log.warning("refused a pushed event from %s: not a subscription of ours", peer)
            return web.Response(status=404)
        try:
            data = await request.read()
            root = xmlsafe.parse(data)
        except web.HTTPRequestEntityTooLarge:
            self.refused += 1
            return web.Response(status=413)
        except (UnsafeXml, etree.XMLSyntaxError) as exc:
            self.refused += 1
            log.warning("refused a pushed event from %s: %s", peer, exc)
            return web.Response(status=400)
        msgs = read_all(root)
        self.received += len(msgs)
        if msgs:
            route.sink(msgs)
        return web.Response(status=202)


async def _local_address_towards(host: str) -> tuple[str, frozenset[str]]:
    """The local address the OS would use to reach ``host`` (no packet is sent), and the
    device's own addresses, which its notifications must come from. IPv4 is preferred: a
    camera's HTTP client may not speak IPv6. Resolved off the loop's thread."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 9, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise ProtocolError(f"cannot resolve {host} to receive its events: {exc}") from exc
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    family, _, _, _, addr = infos[0]
    if family == socket.AF_INET6 and str(addr[0]).lower().startswith("fe80"):
        raise ProtocolError(f"{host} is reachable only at a link-local IPv6 address; give it "
                            "a routable address to receive its pushed events")
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect(addr)
        except OSError as exc:
            raise ProtocolError(f"no route to {host} to receive its events: {exc}") from exc
        return str(s.getsockname()[0]), frozenset(str(i[4][0]) for i in infos)


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return False


async def subscribe(dc: DeviceClient, url: str, consumer: str) -> Subscription:
    """``wsnt:Subscribe`` with ``consumer`` as the ConsumerReference."""
    body = (f'<wsnt:ConsumerReference><wsa:Address xmlns:wsa="http://www.w3.org/2005/08/addressing">'
            f"{escape(consumer)}</wsa:Address></wsnt:ConsumerReference>"
            f"<wsnt:InitialTerminationTime>PT{LIFETIME_S}S</wsnt:InitialTerminationTime>")
    res = await dc.soap(url, WSNT, "Subscribe", body, action=SUBSCRIBE_ACTION)
    sub = subscription_in(dc, res, "Subscribe", LIFETIME_S)
    next_renewal(sub)
    return sub


def next_renewal(sub: Subscription) -> None:
    """Renew pushed subscriptions every ``RENEW_EVERY_S``: it is how a reboot is noticed."""
    sub.renew_at = min(sub.renew_at, time.monotonic() + RENEW_EVERY_S)


@dataclass
class Pushed:
    """One push subscription while it lasts: what the device pushes arrives in ``next``."""

    sub: Subscription
    address: str  # our consumer address the device pushes to
    inbox: asyncio.Queue[list[Notification]]

    async def next(self, until: float) -> list[Notification]:
        """The next batch pushed to us, or nothing once ``until`` (monotonic) has passed."""
        delay = max(0.0, until - time.monotonic())
        # nothing pushed before the deadline: an empty batch, as documented
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(self.inbox.get(), delay)
        return []


@contextlib.asynccontextmanager
async def pushed(consumer: Consumer, dc: DeviceClient, url: str) -> AsyncIterator[Pushed]:
    """Subscribe the device to a fresh route of ``consumer``; however the block ends, the
    route is closed and the subscription given back (a device has few to spare)."""
    inbox: asyncio.Queue[list[Notification]] = asyncio.Queue()
    address = await consumer.open(dc.target.host, inbox.put_nowait)
    sub: Subscription | None = None
    try:
        sub = await subscribe(dc, url, address)
        yield Pushed(sub, address, inbox)
    finally:
        consumer.close_route(address)
        if sub is not None:
            await unsubscribe(dc, sub)
