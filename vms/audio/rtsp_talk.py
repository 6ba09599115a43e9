"""The ONVIF audio backchannel (ONVIF Streaming 5.3): talking through a Help Point.

RTSP over TCP with RTP interleaved. ``Require: www.onvif.org/ver20/backchannel``
goes on DESCRIBE, SETUP, PLAY and TEARDOWN; the talk track is the audio media the
device marks ``a=sendonly``. A device that does not know the header answers 551;
one that knows it but has no speaker offers no such media: both are
``TalkUnavailable`` in plain words. Nothing is sent before PLAY is answered.
Only the backchannel track is set up, so talking never doubles the video traffic.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import random
import re
import struct
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from vms.errors import (
    AuthFailed,
    CleartextPassword,
    DeviceUnreachable,
    ProtocolError,
    TalkUnavailable,
)

log = logging.getLogger(__name__)

BACKCHANNEL = "www.onvif.org/ver20/backchannel"
PACKET_SAMPLES = 160  # 20 ms at 8 kHz
USER_AGENT = "BeaconVMS"


@dataclass
class Reply:
    code: int
    reason: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TalkTrack:
    control: str
    payload_type: int
    clock_rate: int
    encoding: str


def parse_sdp(sdp: str, base: str) -> TalkTrack | None:
    """The ``a=sendonly`` audio media of a backchannel SDP, or None."""
    media: list[list[str]] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
    for m in media:
        if not m[0].startswith("m=audio") or "a=sendonly" not in m:
            continue
        fmts = m[0].split()[3:]
        control = next((ln[len("a=control:"):] for ln in m if ln.startswith("a=control:")), "")
        rtpmaps = {}
        for ln in m:
            mm = re.match(r"a=rtpmap:(\d+)\s+([\w.-]+)/(\d+)", ln)
            if mm:
                rtpmaps[int(mm.group(1))] = (mm.group(2).upper(), int(mm.group(3)))
        for f in fmts:
            if not f.isdigit():
                continue
            pt = int(f)
            enc, rate = rtpmaps.get(pt, ("PCMU", 8000) if pt == 0 else ("?", 0))
            if enc == "PCMU" and rate == 8000:
                url = control if "://" in control else urljoin(base.rstrip("/") + "/", control)
                return TalkTrack(url, pt, rate, enc)
    return None


@dataclass
class _Auth:
    user: str
    password: str = field(repr=False)
    challenge: dict[str, str] | None = None
    basic: bool = False

    def header(self, method: str, uri: str) -> str | None:
        if self.basic:
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return f"Basic {token}"
        if not self.challenge:
            return None
        realm, nonce = self.challenge.get("realm", ""), self.challenge.get("nonce", "")
        ha1 = hashlib.md5(f"{self.user}:{realm}:{self.password}".encode()).hexdigest()  # noqa: S324
        ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()  # noqa: S324 - RFC 2617
        resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()  # noqa: S324
        return (f'Digest username="{self.user}", realm="{realm}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}"')

    def take(self, www: str) -> None:
        scheme, _, rest = www.partition(" ")
        if scheme.lower() == "basic":
            self.basic = True
            return
        self.challenge = dict(re.findall(r'(\w+)="?([^",]*)"?', rest))


class TalkChannel:
    """One backchannel session. ``open`` on the core loop, then ``send`` mu-law bytes."""

    def __init__(self, url: str, user: str | None, password: str | None,
                 timeout: float = 20.0, allow_basic: bool = False) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or ""
        self.port = parts.port or 554
        self.url = urlunsplit((parts.scheme, f"{self.host}:{self.port}" if parts.port else
                               self.host, parts.path or "/", parts.query, ""))
        self.where = f"{self.host}:{self.port}"
        # Basic sends the password readable: only if the installer allowed it (this client
        # speaks plain RTSP, even to an rtsps:// address, so rtsps earns no exception here).
        self.allow_basic = allow_basic
        self._auth = _Auth(user, password) if user is not None and password is not None else None
        self.timeout = timeout
        self.cseq = 0
        self.session: str | None = None
        self.session_timeout = 60.0
        self.track: TalkTrack | None = None
        self.channel = 0
        self.playing = False
        self.packets_sent = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies: asyncio.Queue[Reply] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._ssrc = int.from_bytes(os.urandom(4), "big")
        self._base = self.url
        self.closed_reason: str | None = None

    # -- RTSP ------------------------------------------------------------------------
    async def _connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), 5.0)
        except (OSError, TimeoutError) as exc:
            raise DeviceUnreachable(f"cannot open the talk channel to {self.where}: "
                                    f"{exc.__class__.__name__}: {exc}") from exc
        self._pump = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        """Replies and interleaved data share the socket; RTCP from the device is dropped."""
        r = self._reader
        assert r is not None
        try:
            while True:
                first = await r.readexactly(1)
                if first == b"$":
                    _ch, n = struct.unpack("!BH", await r.readexactly(3))
                    await r.readexactly(n)
                    continue
                head = first + await r.readuntil(b"\r\n\r\n")
                lines = head.decode("utf-8", "replace").split("\r\n")
                m = re.match(r"RTSP/1\.\d\s+(\d{3})\s*(.*)", lines[0])
                if not m:
                    raise ProtocolError(f"{self.where} sent something that is not RTSP")
                headers: dict[str, str] = {}
                challenges: list[str] = []
                for ln in lines[1:]:
                    k, sep, v = ln.partition(":")
                    if sep:
                        headers[k.strip().lower()] = v.strip()
                        if k.strip().lower() == "www-authenticate":
                            challenges.append(v.strip())
                if challenges:  # cameras offer Digest and Basic as two headers: prefer Digest
                    headers["www-authenticate"] = next(
                        (c for c in challenges if c.lower().startswith("digest")), challenges[0])
                n = int(headers.get("content-length", "0") or 0)
                body = await r.readexactly(n) if n else b""
                await self._replies.put(Reply(int(m.group(1)), m.group(2), headers, body))
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ProtocolError) as exc:
            self.closed_reason = f"{self.where} closed the talk channel ({exc.__class__.__name__})"
            self.playing = False
            await self._replies.put(Reply(0, self.closed_reason, {}, b""))

    async def request(self, method: str, uri: str, headers: dict[str, str] | None = None,
                      require: bool = True) -> Reply:
        for _ in range(2):  # once more after an authentication challenge
            self.cseq += 1
            h = {"CSeq": str(self.cseq), "User-Agent": USER_AGENT, **(headers or {})}
            if require:
                h["Require"] = BACKCHANNEL
            if self.session:
                h["Session"] = self.session
            if self._auth is not None:
                a = self._auth.header(method, uri)
                if a:
                    h["Authorization"] = a
            text = f"{method} {uri} RTSP/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
            assert self._writer is not None
            self._writer.write((text + "\r\n").encode())
            await self._writer.drain()
            try:
                reply = await asyncio.wait_for(self._replies.get(), self.timeout)
            except TimeoutError as exc:
                raise DeviceUnreachable(f"{self.where} did not answer {method} within "
                                        f"{self.timeout:.0f} s") from exc
            if reply.code == 0:
                raise DeviceUnreachable(reply.reason)
            if reply.code == 401 and self._auth is not None and "www-authenticate" in reply.headers \
                    and self._auth.challenge is None and not self._auth.basic:
                www = reply.headers["www-authenticate"]
                if www.split(" ", 1)[0].lower() == "basic" and not self.allow_basic:
                    raise CleartextPassword(
                        f"{self.where} asks for the camera password in clear text (RTSP Basic "
                        "authentication on an unencrypted connection): refused. Switch the "
                        "camera to Digest, or on a trusted network allow it for this device "
                        "(vms devices allow-basic-rtsp)")
                self._auth.take(www)
                continue
            return reply
        if reply.code == 401:
            raise AuthFailed(f"{self.where} refused the talk channel: wrong user name or password")
        return reply

    async def describe(self) -> TalkTrack | None:
        """Connect and DESCRIBE with the backchannel header: the talk track on offer, if any.
        Nothing is set up, so it is safe as a capability check."""
        await self._connect()
        r = await self.request("DESCRIBE", self.url, {"Accept": "application/sdp"})
        if r.code == 551:
            raise TalkUnavailable(f"{self.where} does not support the ONVIF audio backchannel "
                                  "(it answered 551 Option not supported)")
        if r.code == 401:
            raise AuthFailed(f"{self.where} refused the talk channel: wrong user name or password")
        if r.code != 200:
            raise ProtocolError(f"{self.where} answered DESCRIBE with {r.code} {r.reason}")
        self._base = r.headers.get("content-base") or r.headers.get("content-location") or self.url
        return parse_sdp(r.body.decode("utf-8", "replace"), self._base)

    async def open(self) -> None:
        """DESCRIBE, SETUP the talk track, PLAY; afterwards ``send`` may be called."""
        self.track = await self.describe()
        if self.track is None:
            raise TalkUnavailable(f"{self.where} offers no talk-back audio (no a=sendonly PCMU "
                                  "track in its SDP)")
        r = await self.request("SETUP", self.track.control, {
            "Transport": f"RTP/AVP/TCP;unicast;interleaved={self.channel}-{self.channel + 1}"})
        if r.code != 200:
            raise ProtocolError(f"{self.where} refused to set up the talk track: {r.code} "
                                f"{r.reason}")
        sess = r.headers.get("session", "")
        self.session = sess.split(";")[0].strip() or None
        m = re.search(r"timeout=(\d+)", sess)
        if m:
            self.session_timeout = float(m.group(1))
        m = re.search(r"interleaved=(\d+)", r.headers.get("transport", ""))
        if m:
            self.channel = int(m.group(1))
        r = await self.request("PLAY", self._base, {"Range": "npt=0.000-"})
        if r.code != 200:
            raise ProtocolError(f"{self.where} refused PLAY on the talk channel: {r.code} "
                                f"{r.reason}")
        self.playing = True
        self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while self.playing:
            await asyncio.sleep(max(5.0, self.session_timeout / 2))
            try:
                await self.request("GET_PARAMETER", self._base)
            except Exception as exc:
                log.info("talk keep-alive to the camera failed: %s", exc)

    # -- RTP -------------------------------------------------------------------------
    def send(self, ulaw: bytes, first: bool = False) -> None:
        """One packet (up to 20 ms) of mu-law audio; the caller paces it."""
        if not self.playing or self._writer is None or self.track is None:
            raise DeviceUnreachable(self.closed_reason or "the talk channel is not open")
        hdr = struct.pack("!BBHII", 0x80, (0x80 if first else 0) | self.track.payload_type,
                          self._seq & 0xFFFF, self._ts & 0xFFFFFFFF, self._ssrc)
        pkt = hdr + ulaw
        self._writer.write(b"$" + struct.pack("!BH", self.channel, len(pkt)) + pkt)
        self._seq += 1
        self._ts += len(ulaw)
        self.packets_sent += 1

    async def drain(self) -> None:
        """Wait until the socket has taken what was sent (back-pressure from a slow link)."""
        if self._writer is not None:
            await self._writer.drain()

    def skip(self, samples: int) -> None:
        """Advance the RTP clock over a pause, so the device plays the next words on time."""
        self._ts += samples

    async def close(self) -> None:
        was = self.playing
        self.playing = False
        if self._keepalive:
            self._keepalive.cancel()
        if was and self._writer is not None:
            # hanging up: the camera ends the session when the socket closes anyway
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.request("TEARDOWN", self._base), 3.0)
        if self._pump:
            self._pump.cancel()
        if self._writer is not None:
            self._writer.close()
            # hanging up: the socket is closed whatever the camera answers
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

