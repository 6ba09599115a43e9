"""HTTP sessions for camera traffic: explicit timeouts, capped and vetted replies, Digest fallback.

onvif-zeep-async builds sessions with 90 s timeouts, no size cap and no HTTP
Digest; cameras that want Digest, hang, or answer with hostile XML need all three,
so every session a camera client uses comes from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp

from vms.errors import BadReply, UnsafeXml

MAX_REPLY_BYTES = 4 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+(\w*)", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
# zeep parses with lxml's recover mode (for cameras that send a bare "&" in URIs), which also
# "recovers" a truncated reply into an empty answer; a SOAP reply must at least be complete.
_ENVELOPE_END = re.compile(rb"</(?:[\w.-]+:)?Envelope\s*>\s*$")


@dataclass(frozen=True)
class Timeouts:
    """Seconds; every call to a camera is bounded."""

    connect: float = 4.0
    read: float = 10.0
    total: float = 15.0

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect, sock_read=self.read)


class ReplyVetter:
    """Outermost middleware: reads at most ``MAX_REPLY_BYTES`` and refuses DTDs/entities
    before any parser sees the body; notes whether the camera needed HTTP Digest."""

    def __init__(self) -> None:
        self.digest_used = False
        self.requests = 0

    async def __call__(self, req: aiohttp.ClientRequest,
                       handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        self.requests += 1
        resp = await handler(req)
        if "Authorization" in req.headers:
            self.digest_used = True
        where = f"{req.url.host}:{req.url.port}"
        if resp.content_length is not None and resp.content_length > MAX_REPLY_BYTES:
            resp.close()
            raise BadReply(f"{where} sent a reply of {resp.content_length} bytes "
                                f"(limit {MAX_REPLY_BYTES}); refused")
        chunks: list[bytes] = []
        size = 0
        while chunk := await resp.content.read(65536):
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                resp.close()
                raise BadReply(f"{where} sent more than {MAX_REPLY_BYTES} bytes; refused")
            chunks.append(chunk)
        body = b"".join(chunks)
        if req.method == "POST" or body.lstrip()[:5] == b"<?xml":
            m = _DOCTYPE.search(body[:4096])
            if m and m.group(1).lower() == b"html":
                raise BadReply(f"{where} answered with a web page (HTTP {resp.status}), not "
                                    f"SOAP: no ONVIF service at {req.url.path}")
            if m or _ENTITY.search(body):
                raise UnsafeXml(f"{where} sent XML with a DTD or entities; refused "
                                "(possible XXE or entity-expansion attack)")
            if req.method == "POST" and not _ENVELOPE_END.search(body[-256:]):
                raise BadReply(f"{where} sent an incomplete or malformed SOAP reply "
                               f"(HTTP {resp.status}, {len(body)} bytes): not an ONVIF service?")
        # aiohttp's read() returns the cached body; we consumed the stream above.
        resp._body = body
        return resp


def make_session(user: str | None, password: str | None, timeouts: Timeouts,
                 vetter: ReplyVetter | None = None, verify_tls: bool = False) -> aiohttp.ClientSession:
    """A session whose requests fall back to HTTP Digest when the camera challenges for it.

    TLS verification is off unless asked for: cameras ship self-signed certificates and
    installers have no CA to pin yet.
    """
    middlewares: list[aiohttp.ClientMiddlewareType] = [vetter or ReplyVetter()]
    if user is not None and password is not None:
        middlewares.append(aiohttp.DigestAuthMiddleware(user, password))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=verify_tls, limit_per_host=4),
        timeout=timeouts.client_timeout(),
        middlewares=tuple(middlewares),
        trust_env=False,
    )
