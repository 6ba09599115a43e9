"""HTTP sessions for camera traffic: explicit timeouts, capped and vetted replies, Digest fallback.

onvif-zeep-async builds sessions with 90 s timeouts, no size cap and no HTTP
Digest; cameras that want Digest, hang, or answer with hostile XML need all three,
so every session a camera client uses comes from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import re
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
from lxml import etree

from vms.errors import BadReply, UnsafeXml

MAX_REPLY_BYTES = 4 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+(\w*)", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
# zeep parses with lxml's recover mode (for cameras that send a bare "&" in URIs), which also
# "recovers" a truncated reply into an empty answer; a SOAP reply must at least be complete.
_ENVELOPE_END = re.compile(rb"</(?:[\w.-]+:)?Envelope\s*>\s*$")
# ...and "recovers" an element whose prefix was never declared into a tag named "tptz:X",
# on which zeep fails with a bare ValueError, or which it silently drops (an empty answer);
# and it reads a bare "&" in a URI by dropping the name after it ("?p=0&line=1" -> "?p=0=1").
# So a SOAP reply is parsed strictly here first. A bare "&" is escaped (what the camera meant)
# and the reply parsed again; namespace slips in attributes (an attribute named "TLS1:2") are
# left to zeep, which ignores attributes it does not know; anything else is a BadReply.
_BARE_AMPERSAND_ERRORS = {
    etree.ErrorTypes.ERR_NAME_REQUIRED,  # "xmlParseEntityRef: no name" ("a & b")
    etree.ErrorTypes.ERR_ENTITYREF_SEMICOL_MISSING,  # "?a=1&b=2"
    etree.ErrorTypes.ERR_UNDECLARED_ENTITY,  # "&b=2;" read as an entity named b
}
_BARE_AMPERSAND = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)")
_UNDECLARED = re.compile(r"Namespace prefix (\S+) on (\S+) is not defined")  # on an element
_ACTION = re.compile(r'action="?([^";]+)')


@dataclass(frozen=True)
class Timeouts:
    """Seconds; every call to a camera is bounded."""

    connect: float = 4.0
    read: float = 10.0
    total: float = 15.0

    def client_timeout(self, total: float | None = None) -> aiohttp.ClientTimeout:
        """The limits for one request; ``total`` (a long poll's) also widens the read limit.

        Always pass one of these to aiohttp: ``timeout=None`` there means no limit at all.
        """
        if total is None:
            return aiohttp.ClientTimeout(total=self.total, connect=self.connect, sock_read=self.read)
        return aiohttp.ClientTimeout(total=total, connect=self.connect, sock_read=total)


# A call that must wait longer than the session's total (a PullMessages long poll) says so
# here for the task that makes it; the vetter holds every other request to its own total.
_CALL_LIMIT: contextvars.ContextVar[float | None] = contextvars.ContextVar("call_limit",
                                                                           default=None)


@contextlib.contextmanager
def call_limit(seconds: float | None) -> Iterator[None]:
    """Requests made inside this block (in this task) may take up to ``seconds`` in all."""
    token = _CALL_LIMIT.set(seconds)
    try:
        yield
    finally:
        _CALL_LIMIT.reset(token)


class ReplyVetter:
    """Outermost middleware: bounds each request's total time, reads at most
    ``MAX_REPLY_BYTES`` and refuses DTDs/entities before any parser sees the body;
    notes whether the camera needed HTTP Digest.

    The total bound lives here, not only in aiohttp's ``ClientTimeout``: a caller that
    passes ``timeout=None`` (or a limit without a total) gets no limit from aiohttp, and a
    camera dripping a byte every few seconds then holds the call open for ever.
    """

    def __init__(self, total: float = Timeouts.total) -> None:
        self.total = total
        self.digest_used = False
        self.requests = 0

    async def __call__(self, req: aiohttp.ClientRequest,
                       handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
        self.requests += 1
        async with asyncio.timeout(_CALL_LIMIT.get() or self.total):
            return await self._vet(req, handler)

    async def _vet(self, req: aiohttp.ClientRequest,
                   handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
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
        try:
            while chunk := await resp.content.read(65536):
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise BadReply(f"{where} sent more than {MAX_REPLY_BYTES} bytes; refused")
                chunks.append(chunk)
        except BaseException:  # over the limit, out of time, or cancelled: drop the connection
            resp.close()
            raise
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
            if req.method == "POST":
                body, unreadable = vet_xml(body)
                if unreadable:
                    raise BadReply(f"{where}: the camera sent XML we could not read "
                                   f"({unreadable}) in its reply to {_operation(req)}")
        # aiohttp's read() returns the cached body; we consumed the stream above.
        resp._body = body
        return resp


def _strict_errors(body: bytes) -> list[etree._LogEntry]:
    """libxml2's complaints about ``body`` parsed strictly; [] when it is well-formed."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)  # its own error log (the exception's is global)
    try:
        etree.fromstring(body, parser)
        return []
    except etree.XMLSyntaxError as exc:
        return list(parser.error_log) or [exc.error_log.last_error]


def vet_xml(body: bytes) -> tuple[bytes, str | None]:
    """(the reply to hand on, what makes it unreadable in a few words or None).

    A bare "&" is escaped in the reply handed on; everything zeep would misread is named.
    """
    errors = _strict_errors(body)
    if any(e.type in _BARE_AMPERSAND_ERRORS for e in errors):
        body = _BARE_AMPERSAND.sub(b"&amp;", body)
        errors = _strict_errors(body)
    for e in errors:
        m = _UNDECLARED.search(e.message)
        if m:
            return body, f"undeclared prefix {m.group(1)}"
    errors = [e for e in errors if e.domain != etree.ErrorDomains.NAMESPACE]
    if not errors:
        return body, None
    first = errors[0]
    return body, f"{first.message.strip().rstrip('.')[:120]}, line {first.line}"


def _operation(req: aiohttp.ClientRequest) -> str:
    """The SOAP operation a request called (from the SOAP 1.2 action or SOAPAction header)."""
    for header in ("Content-Type", "SOAPAction"):
        m = _ACTION.search(req.headers.get(header, ""))
        if m:
            return m.group(1).rstrip("/").rsplit("/", 1)[-1] or "a request"
    return "a request"


def make_session(user: str | None, password: str | None, timeouts: Timeouts,
                 vetter: ReplyVetter | None = None, verify_tls: bool = False) -> aiohttp.ClientSession:
    """A session whose requests fall back to HTTP Digest when the camera challenges for it.

    TLS verification is off unless asked for: cameras ship self-signed certificates and
    installers have no CA to pin yet.
    """
    middlewares: list[aiohttp.ClientMiddlewareType] = [vetter or ReplyVetter(timeouts.total)]
    if user is not None and password is not None:
        middlewares.append(aiohttp.DigestAuthMiddleware(user, password))
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=verify_tls, limit_per_host=4),
        timeout=timeouts.client_timeout(),
        middlewares=tuple(middlewares),
        trust_env=False,
    )
