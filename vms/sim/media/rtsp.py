"""RTSP 1.0 server (RFC 2326) of a simulated device, with the ONVIF audio backchannel.

Paths ``/main`` and ``/sub`` are the two profiles. Tracks: ``trackID=0`` H.264,
``trackID=1`` the Help Point microphone (PCMU), and ``trackID=2`` the
backchannel (``a=sendonly``), offered only to a DESCRIBE carrying
``Require: www.onvif.org/ver20/backchannel`` (ONVIF Streaming 5.3); a device
without a speaker answers that header with 551. RTP goes over TCP-interleaved or
UDP. A viewer that cannot keep up is dropped rather than delay the others.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from vms.sim.device import SimDevice
from vms.sim.media.backchannel import BackchannelRecorder
from vms.sim.media.streams import PCMU_PT, VIDEO_PT, AudioSource, RtpSink, VideoSource
from vms.sim.onvif.auth import HttpDigest

log = logging.getLogger(__name__)

BACKCHANNEL = "www.onvif.org/ver20/backchannel"
SESSION_TIMEOUT = 60
MAX_WRITE_BUFFER = 4 * 1024 * 1024
MAX_HEADER = 16 * 1024
TRACK_VIDEO, TRACK_AUDIO, TRACK_BACK = 0, 1, 2
_METHODS = {"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER",
            "SET_PARAMETER"}


@dataclass
class DeviceMedia:
    video: dict[str, VideoSource]  # profile path -> source
    audio: AudioSource | None
    backchannel_dir: Path


class _RtspError(Exception):
    def __init__(self, code: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.headers = code, reason, headers or {}


@dataclass
class _Track:
    track: int
    tcp: bool
    channels: tuple[int, int] = (0, 1)
    udp_rtp: asyncio.DatagramTransport | None = None
    udp_rtcp: asyncio.DatagramTransport | None = None
    client: tuple[str, int, int] | None = None  # host, rtp port, rtcp port
    sink: RtpSink | None = None


@dataclass
class _Session:
    sid: str
    path: str
    backchannel: bool
    tracks: dict[int, _Track] = field(default_factory=dict)
    playing: bool = False
    recorder: BackchannelRecorder | None = None
    last_seen: float = field(default_factory=time.monotonic)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_data: Callable[[bytes], None]) -> None:
        self.on_data = on_data

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_data(data)


class RtspServer:
    def __init__(self, dev: SimDevice, media: DeviceMedia, ready: asyncio.Event,
                 digest: HttpDigest | None) -> None:
        self.dev = dev
        self.media = media
        self.ready = ready
        self.digest = digest
        self.server: asyncio.Server | None = None
        self.connections: set[_Connection] = set()

    @property
    def viewers(self) -> int:
        return sum(1 for c in self.connections for s in c.sessions.values() if s.playing)

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._accept, host, port, limit=MAX_HEADER,
                                                 reuse_address=True)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server:
            self.server.close()
        for c in list(self.connections):
            c.abort()
        if self.server:
            # the simulator stopping: clients were aborted above
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
        self.server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
            conn.close()


class _Connection:
    def __init__(self, server: RtspServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.dev = server.dev
        self.reader = reader
        self.writer = writer
        self.transport = writer.transport
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.peer_host = peer[0]
        self.sessions: dict[str, _Session] = {}
        self.closed = False

    # -- I/O -------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while not self.closed:
                first = await self.reader.readexactly(1)
                if first == b"$":
                    hdr = await self.reader.readexactly(3)
                    data = await self.reader.readexactly(int.from_bytes(hdr[1:3], "big"))
                    self._interleaved(hdr[0], data)
                    continue
                head = first + await self.reader.readuntil(b"\r\n\r\n")
                method, url, headers = _parse_head(head)
                n = int(headers.get("content-length", "0") or 0)
                if n > MAX_HEADER:
                    raise _RtspError(413, "Request Entity Too Large")
                if n > 0:
                    await self.reader.readexactly(n)  # SET_PARAMETER bodies are not used
                self.writer.write(await self._respond(method, url, headers))
        except _RtspError as exc:  # unparseable request: answer once, then hang up
            self.writer.write(_response(exc.code, exc.reason, "0", exc.headers))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass  # the client hung up or sent junk: its connection ends

    def abort(self) -> None:
        self.closed = True
        self.transport.abort()

    def close(self) -> None:
        self.closed = True
        for s in list(self.sessions.values()):
            self._teardown(s)
        self.sessions.clear()
        if not self.transport.is_closing():
            self.transport.close()

    def _send_interleaved(self, channel: int, packet: bytes) -> None:
        if self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.info("%s: dropping a viewer that does not keep up", self.dev.name)
            self.abort()
            return
        self.transport.write(b"$" + bytes((channel,)) + len(packet).to_bytes(2, "big") + packet)

    def _interleaved(self, channel: int, data: bytes) -> None:
        for s in self.sessions.values():
            for t in s.tracks.values():
                if t.tcp and channel == t.channels[0] and t.track == TRACK_BACK:
                    if s.playing and s.recorder:
                        s.recorder.on_rtp(data)
                    return
                if t.tcp and channel in t.channels:
                    s.last_seen = time.monotonic()  # RTCP receiver reports keep it alive
                    return

    # -- requests --------------------------------------------------------------
    async def _respond(self, method: str, url: str, h: dict[str, str]) -> bytes:
        cseq = h.get("cseq", "0")
        try:
            if not self.server.ready.is_set():
                await asyncio.wait_for(self.server.ready.wait(), 120)
            if not self.dev.online:
                raise _RtspError(503, "Service Unavailable")
            self._authorize(method, h)
            extra, body = await self._dispatch(method, url, h)
            return _response(200, "OK", cseq, extra, body)
        except _RtspError as exc:
            return _response(exc.code, exc.reason, cseq, exc.headers)
        except TimeoutError:
            return _response(503, "Service Unavailable", cseq)

    def _authorize(self, method: str, h: dict[str, str]) -> None:
        given = h.get("authorization", "")
        if given[:6].lower() == "basic ":
            self.dev.rtsp_basic_received += 1  # what an eavesdropper would have read
        if self.dev.cfg.deviates("rtsp_basic") and method != "OPTIONS":
            site = self.dev.site
            want = base64.b64encode(f"{site.user}:{site.password}".encode()).decode()
            if given[6:].strip() != want or given[:6].lower() != "basic ":
                raise _RtspError(401, "Unauthorized",
                                 {"WWW-Authenticate": f'Basic realm="{self.dev.model}"'})
            return
        digest = self.server.digest
        if digest is None or method == "OPTIONS":
            return
        site = self.dev.site
        verdict = digest.verify(h.get("authorization", ""), method, site.user, site.password)
        if verdict is not None:
            raise _RtspError(401, "Unauthorized",
                             {"WWW-Authenticate": digest.challenge(verdict == "stale")[1]})

    async def _dispatch(self, method: str, url: str, h: dict[str, str]
                        ) -> tuple[dict[str, str], bytes]:
        if method not in _METHODS:
            raise _RtspError(501, "Not Implemented", {"Public": ", ".join(sorted(_METHODS))})
        path, track = _split_url(url)
        wants_back = BACKCHANNEL in h.get("require", "")
        if wants_back and not self.dev.is_help_point:
            raise _RtspError(551, "Option not supported", {"Unsupported": BACKCHANNEL})
        if method == "OPTIONS":
            return {"Public": ", ".join(sorted(_METHODS))}, b""
        if method == "DESCRIBE":
            self._source(path)
            base = f"rtsp://{self.dev.site.host}:{self.dev.rtsp_port}/{path}/"
            return {"Content-Type": "application/sdp", "Content-Base": base}, \
                self._sdp(path, wants_back).encode()
        if method == "SETUP":
            return await self._setup(path, track, h, wants_back)
        session = self._session(h)
        session.last_seen = time.monotonic()
        if method == "PLAY":
            return self._play(session, url)
        if method == "PAUSE":
            self._stop_sending(session)
            return {"Session": session.sid}, b""
        if method == "TEARDOWN":
            self._teardown(session)
            self.sessions.pop(session.sid, None)
            return {"Session": session.sid}, b""
        return {"Session": session.sid}, b""  # GET_PARAMETER / SET_PARAMETER: keep-alive

    def _source(self, path: str) -> VideoSource:
        src = self.server.media.video.get(path)
        if src is None:
            raise _RtspError(404, "Not Found")
        return src

    def _session(self, h: dict[str, str]) -> _Session:
        sid = h.get("session", "").split(";")[0].strip()
        if sid not in self.sessions:
            raise _RtspError(454, "Session Not Found")
        return self.sessions[sid]

    def _sdp(self, path: str, back: bool) -> str:
        src = self._source(path)
        clip = src.clip
        sprop = (base64.b64encode(clip.sps).decode() + "," + base64.b64encode(clip.pps).decode())
        plid = clip.sps[1:4].hex()
        lines = [
            "v=0", f"o=- {int(time.time())} 1 IN IP4 {self.dev.site.host}",
            f"s={self.dev.name} {path}", f"i={self.dev.cfg.location}",
            f"c=IN IP4 {self.dev.site.host}", "t=0 0", "a=control:*", "a=range:npt=0-",
            f"m=video 0 RTP/AVP {VIDEO_PT}", f"a=rtpmap:{VIDEO_PT} H264/90000",
            f"a=fmtp:{VIDEO_PT} packetization-mode=1;profile-level-id={plid};"
            f"sprop-parameter-sets={sprop}",
            f"a=framerate:{clip.spec.fps}", f"a=x-dimensions:{clip.spec.width},{clip.spec.height}",
            f"a=control:trackID={TRACK_VIDEO}", "a=recvonly",
        ]
        if self.server.media.audio is not None:
            lines += [f"m=audio 0 RTP/AVP {PCMU_PT}", f"a=rtpmap:{PCMU_PT} PCMU/8000",
                      f"a=control:trackID={TRACK_AUDIO}", "a=recvonly"]
            if back:
                lines += [f"m=audio 0 RTP/AVP {PCMU_PT}", f"a=rtpmap:{PCMU_PT} PCMU/8000",
                          f"a=control:trackID={TRACK_BACK}", "a=sendonly"]
        return "\r\n".join(lines) + "\r\n"

    async def _setup(self, path: str, track: int | None, h: dict[str, str], back: bool
                     ) -> tuple[dict[str, str], bytes]:
        self._source(path)
        valid = {TRACK_VIDEO} | ({TRACK_AUDIO} if self.server.media.audio else set()) | (
            {TRACK_BACK} if back and self.server.media.audio else set())
        if track is None or track not in valid:
            raise _RtspError(404, "Not Found")
        if "session" in h:
            session = self._session(h)
            if session.path != path:
                raise _RtspError(459, "Aggregate Operation Not Allowed")
        else:
            session = _Session(secrets.token_hex(8), path, back)
            self.sessions[session.sid] = session
        if track in session.tracks:
            raise _RtspError(455, "Method Not Valid in This State")
        tr = h.get("transport", "")
        spec = next((t for t in tr.split(",") if t.strip().upper().startswith("RTP/AVP")), "")
        if not spec or "multicast" in spec.lower():
            raise _RtspError(461, "Unsupported Transport")
        params = {k.strip().lower(): v.strip()
                  for k, _, v in (p.partition("=") for p in spec.strip().split(";"))}
        if spec.upper().startswith("RTP/AVP/TCP"):
            chans = params.get("interleaved", f"{2 * track}-{2 * track + 1}")
            try:
                a, _, b = chans.partition("-")
                channels = (int(a), int(b or int(a) + 1))
            except ValueError as exc:
                raise _RtspError(461, "Unsupported Transport") from exc
            t = _Track(track, True, channels)
            reply = f"RTP/AVP/TCP;unicast;interleaved={channels[0]}-{channels[1]}"
        else:
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", params.get("client_port", ""))
            if not m:
                raise _RtspError(461, "Unsupported Transport")
            crtp = int(m.group(1))
            crtcp = int(m.group(2) or crtp + 1)
            t = _Track(track, False, client=(self.peer_host, crtp, crtcp))
            srtp, srtcp = await self._bind_udp(t, session)
            reply = (f"RTP/AVP;unicast;client_port={crtp}-{crtcp};server_port={srtp}-{srtcp}")
        if track != TRACK_BACK:
            t.sink = self._make_sink(t)
            reply += f";ssrc={t.sink.ssrc:08X}"
        session.tracks[track] = t
        return {"Transport": reply, "Session": f"{session.sid};timeout={SESSION_TIMEOUT}"}, b""

    async def _bind_udp(self, t: _Track, session: _Session) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        host = self.dev.site.host

        def on_rtp(data: bytes) -> None:
            session.last_seen = time.monotonic()
            if t.track == TRACK_BACK and session.playing and session.recorder:
                session.recorder.on_rtp(data)

        def on_rtcp(data: bytes) -> None:
            session.last_seen = time.monotonic()

        for _ in range(20):  # an even/odd pair, as RFC 3550 recommends
            rtp_tr, _p = await loop.create_datagram_endpoint(lambda: _Udp(on_rtp),
                                                             local_addr=(host, 0))
            port = rtp_tr.get_extra_info("sockname")[1]
            try:
                rtcp_tr, _p2 = await loop.create_datagram_endpoint(lambda: _Udp(on_rtcp),
                                                                   local_addr=(host, port + 1))
            except OSError:
                rtp_tr.close()
                continue
            t.udp_rtp, t.udp_rtcp = rtp_tr, rtcp_tr
            return port, port + 1
        raise _RtspError(503, "Service Unavailable")

    def _make_sink(self, t: _Track) -> RtpSink:
        rate = 90000 if t.track == TRACK_VIDEO else 8000
        cname = f"{self.dev.name}@{self.dev.site.host}"
        if t.tcp:
            return RtpSink(lambda p: self._send_interleaved(t.channels[0], p),
                           lambda p: self._send_interleaved(t.channels[1], p), rate, cname)
        assert t.client is not None
        host, prtp, prtcp = t.client

        def send_rtp(p: bytes) -> None:
            if t.udp_rtp is not None and not t.udp_rtp.is_closing():
                t.udp_rtp.sendto(p, (host, prtp))

        def send_rtcp(p: bytes) -> None:
            if t.udp_rtcp is not None and not t.udp_rtcp.is_closing():
                t.udp_rtcp.sendto(p, (host, prtcp))

        return RtpSink(send_rtp, send_rtcp, rate, cname)

    def _play(self, s: _Session, url: str) -> tuple[dict[str, str], bytes]:
        if not s.tracks:
            raise _RtspError(455, "Method Not Valid in This State")
        media = self.server.media
        infos = []
        base = f"rtsp://{self.dev.site.host}:{self.dev.rtsp_port}/{s.path}/"
        now = time.monotonic()
        for t in s.tracks.values():
            if t.sink is None:
                continue
            src = media.video[s.path] if t.track == TRACK_VIDEO else media.audio
            assert src is not None
            infos.append(f"url={base}trackID={t.track};seq={t.sink.seq};"
                         f"rtptime={t.sink.rtp_ts(now, src.t0)}")
        if TRACK_BACK in s.tracks and s.recorder is None:
            s.recorder = BackchannelRecorder(media.backchannel_dir, self.dev.name, s.sid)
        if not s.playing:
            s.playing = True
            # Register after the reply is queued: no RTP may precede the PLAY response.
            asyncio.get_running_loop().call_soon(self._start_sending, s)
        headers = {"Session": s.sid, "Range": "npt=now-"}
        if infos:
            headers["RTP-Info"] = ",".join(infos)
        return headers, b""

    def _start_sending(self, s: _Session) -> None:
        if not s.playing or self.closed:
            return
        media = self.server.media
        for t in s.tracks.values():
            if t.sink is None:
                continue
            if t.track == TRACK_VIDEO:
                media.video[s.path].add(t.sink)
            elif media.audio is not None:
                media.audio.add(t.sink)

    def _stop_sending(self, s: _Session) -> None:
        s.playing = False
        media = self.server.media
        for t in s.tracks.values():
            if t.sink is None:
                continue
            media.video[s.path].discard(t.sink)
            if media.audio is not None:
                media.audio.discard(t.sink)

    def _teardown(self, s: _Session) -> None:
        self._stop_sending(s)
        for t in s.tracks.values():
            for tr in (t.udp_rtp, t.udp_rtcp):
                if tr is not None:
                    tr.close()
        if s.recorder:
            s.recorder.close()
            s.recorder = None


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _RtspError(400, "Bad Request") from exc
    lines = text.split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("RTSP/"):
        raise _RtspError(400, "Bad Request")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if parts[2] != "RTSP/1.0":
        raise _RtspError(505, "RTSP Version Not Supported")
    return parts[0].upper(), parts[1], headers


def _split_url(url: str) -> tuple[str, int | None]:
    """``rtsp://h:p/main/trackID=1?x`` -> ("main", 1)."""
    path = re.sub(r"^rtsp://[^/]*", "", url).split("?")[0]
    segs = [s for s in path.split("/") if s]
    track = None
    if segs and segs[-1].lower().startswith("trackid="):
        try:
            track = int(segs.pop().split("=", 1)[1])
        except ValueError:
            track = -1
    return (segs[0] if segs else ""), track


def _response(code: int, reason: str, cseq: str, headers: dict[str, str] | None = None,
              body: bytes = b"") -> bytes:
    lines = [f"RTSP/1.0 {code} {reason}", f"CSeq: {cseq}", "Server: BeaconSim/1.0",
             f"Date: {formatdate(usegmt=True)}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
