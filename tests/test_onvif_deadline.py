"""Every camera call is bounded in total time, however slowly the camera answers (issue 22).

A hostile camera made here on loopback sends its HTTP headers and then one byte every 2 s,
for ever: each byte arrives well inside the between-bytes limit, so only a total limit
ends the call. Before the fix a raw SOAP call (Media2, events) passed ``timeout=None`` to
aiohttp, which means no limit at all, and waited for as long as the camera kept dripping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from vms.errors import DeviceUnreachable, ProtocolError
from vms.onvif.camera import NS_EVENTS, NS_MEDIA2, DeviceClient, parse_target
from vms.onvif.http import Timeouts, make_session

TIMEOUTS = Timeouts(connect=2, read=5, total=8)
DRIP_EVERY_S = 2.0
GUARD_S = 40.0  # the test's own limit, so a hanging call fails the test instead of hanging it

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def drip(req: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte of body every 2 s until the client gives up."""
    await req.read()
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/soap+xml"})
    await resp.prepare(req)
    with contextlib.suppress(ConnectionError, aiohttp.ClientConnectionResetError):
        while True:
            await resp.write(b" ")
            await asyncio.sleep(DRIP_EVERY_S)
    return resp


@contextlib.asynccontextmanager
async def camera(handler: Handler) -> AsyncIterator[int]:
    """A hostile HTTP server on 127.0.0.1 answering every POST with ``handler``; its port."""
    app = web.Application()
    app.router.add_post("/{path:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    try:
        yield port
    finally:
        await runner.cleanup()


async def timed(call: Awaitable[object]) -> tuple[float, Exception | None]:
    t0 = time.monotonic()
    try:
        await asyncio.wait_for(call, GUARD_S)
    except Exception as exc:  # the test inspects what came out
        return time.monotonic() - t0, exc
    return time.monotonic() - t0, None


def assert_gave_up_in_plain_words(elapsed: float, exc: Exception | None, op: str) -> None:
    assert not isinstance(exc, TimeoutError), (
        f"the call was still waiting after {GUARD_S:g} s (the test's guard ended it)")
    assert isinstance(exc, (DeviceUnreachable, ProtocolError)), repr(exc)
    assert elapsed < 12.0, f"took {elapsed:.1f} s with a total of {TIMEOUTS.total:g} s"
    assert "did not answer within 8 s" in str(exc) and op in str(exc), str(exc)


def test_a_dripping_media2_reply_fails_within_the_total() -> None:
    async def run() -> tuple[float, Exception | None]:
        async with camera(drip) as port, DeviceClient(
                parse_target(f"127.0.0.1:{port}"), "admin", "pw", TIMEOUTS) as dc:
            dc.xaddrs[NS_MEDIA2] = f"http://127.0.0.1:{port}/onvif/media2"
            return await timed(dc.media2("GetProfiles"))

    elapsed, exc = asyncio.run(run())
    assert_gave_up_in_plain_words(elapsed, exc, "GetProfiles")


def test_a_dripping_reply_to_a_zeep_call_fails_within_the_total() -> None:
    async def run() -> tuple[float, Exception | None]:
        async with camera(drip) as port, DeviceClient(
                parse_target(f"127.0.0.1:{port}"), "admin", "pw", TIMEOUTS) as dc:
            return await timed(dc.call("devicemgmt", "GetSystemDateAndTime", authless=True))

    elapsed, exc = asyncio.run(run())
    assert_gave_up_in_plain_words(elapsed, exc, "GetSystemDateAndTime")


def test_the_vetter_bounds_a_request_that_asked_aiohttp_for_no_limit() -> None:
    """The bound is the session's own: a caller (ours or the ONVIF library's) that passes
    ``timeout=None`` still gets the total."""
    async def run() -> tuple[float, Exception | None]:
        async with camera(drip) as port:
            session = make_session(None, None, TIMEOUTS)
            async with session:
                async def post() -> None:
                    async with session.post(f"http://127.0.0.1:{port}/", data=b"<x/>",
                                            timeout=None) as resp:
                        await resp.read()
                return await timed(post())

    elapsed, exc = asyncio.run(run())
    assert isinstance(exc, TimeoutError), repr(exc)
    assert TIMEOUTS.total - 0.5 <= elapsed < 12.0, f"gave up after {elapsed:.1f} s"


PULL_REPLY = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    f'xmlns:tev="{NS_EVENTS}"><s:Body><tev:PullMessagesResponse>'
    "<tev:CurrentTime>2024-01-01T00:00:00Z</tev:CurrentTime>"
    "<tev:TerminationTime>2024-01-01T00:10:00Z</tev:TerminationTime>"
    "</tev:PullMessagesResponse></s:Body></s:Envelope>").encode()


async def slow_but_whole(req: web.Request) -> web.StreamResponse:
    """A long poll answered after 10 s: longer than the total, shorter than its own limit."""
    await req.read()
    await asyncio.sleep(10)
    return web.Response(body=PULL_REPLY, content_type="application/soap+xml")


@pytest.mark.parametrize("handler, ok", [(slow_but_whole, True), (drip, False)])
def test_a_long_poll_keeps_its_own_longer_limit(handler: Handler, ok: bool) -> None:
    """PullMessages waits up to its own 16 s: a reply after 10 s is taken; a drip still ends."""
    async def run() -> tuple[float, Exception | None]:
        async with camera(handler) as port, DeviceClient(
                parse_target(f"127.0.0.1:{port}"), "admin", "pw", TIMEOUTS) as dc:
            return await timed(dc.soap(f"http://127.0.0.1:{port}/onvif/events", NS_EVENTS,
                                       "PullMessages", timeout=16))

    elapsed, exc = asyncio.run(run())
    if ok:
        assert exc is None, str(exc)
        assert 9.5 <= elapsed < 12.0, f"{elapsed:.1f} s"
    else:
        assert isinstance(exc, DeviceUnreachable), repr(exc)
        assert "did not answer within 16 s" in str(exc) and 15.5 <= elapsed < 20.0, (
            f"{elapsed:.1f} s: {exc}")
