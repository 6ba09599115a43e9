"""Stream addresses from a hostile or careless camera (issue 22).

A camera's GetStreamUri answer is input: ``file:///etc/passwd`` or ``/dev/zero`` must never
be stored or handed to FFmpeg as a local file, and credentials a camera embeds in the URI
must never be printed. Replayed from a real camera's captures with one answer changed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from tests.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    ensure_admin,
    shared_path,
    start_sim,
    vms_cmd,
)
from tests.replay_camera import ReplayCamera
from tests.wall_helpers import register
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.audio.rtsp_talk import TalkChannel
from vms.errors import CleartextPassword, UnsafeStreamUri
from vms.onvif.camera import parse_target
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport
from vms.onvif.onboard import onboard
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.safety.streamsafe import check_stream_uri, ffmpeg_options, with_credentials

REAL_URI = "rtsp://192.168.1.201/rtsp_tunnel?p=0&amp;line=1&amp;inst=1&amp;vcd=2"


def _bosch_with_stream_uri(tmp: Path, uri: str) -> Path:
    """The Bosch FLEXIDOME's real captures, its GetStreamUri answer naming ``uri``."""
    src = shared_path("data/onvif-captures/bosch/GetStreamUri_1.xml").parent
    dst = tmp / "bosch"
    shutil.copytree(src, dst)
    capture = dst / "GetStreamUri_1.xml"
    text = capture.read_text(encoding="utf-8")
    assert REAL_URI in text
    capture.write_text(text.replace(REAL_URI, uri), encoding="utf-8")
    return dst


def _onboard(folder: Path) -> DeviceReport:
    async def go() -> DeviceReport:
        cam = ReplayCamera(folder)
        port = await cam.start()
        try:
            return await onboard(parse_target(f"127.0.0.1:{port}"), "admin", "pw",
                                 Timeouts(2, 5, 8))
        finally:
            await cam.stop()
    return asyncio.run(go())


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "/dev/zero", "concat:/etc/passwd|/etc/hosts",
                                 "http://192.0.2.7/stream.ts"])
def test_a_stream_address_that_is_not_rtsp_is_refused_at_onboarding(tmp_path: Path,
                                                                     uri: str) -> None:
    rep = _onboard(_bosch_with_stream_uri(tmp_path, uri))
    assert all(s.uri is None or s.uri.startswith("rtsp://") for s in rep.streams)
    refused = [s for s in rep.streams if s.error and "refused" in s.error]
    assert refused, [s.error for s in rep.streams]
    assert "only rtsp:// and rtsps://" in (refused[0].error or "")
    assert any("stream address" in w for w in rep.warnings)
    dumped = json.dumps(rep.to_json())
    assert f'"uri": "{uri}"' not in dumped  # never offered as a stream (vms probe --json)


def test_credentials_a_camera_embeds_in_its_stream_address_are_never_printed(tmp_path: Path) -> None:
    rep = _onboard(_bosch_with_stream_uri(
        tmp_path, "rtsp://admin:Secr3t-in-uri@192.168.1.201/rtsp_tunnel?p=0"))
    dumped = json.dumps(rep.to_json())
    assert "Secr3t-in-uri" not in dumped and "admin:" not in dumped
    assert rep.stream("main") is not None
    assert rep.stream("main").uri == "rtsp://127.0.0.1/rtsp_tunnel?p=0"  # type: ignore[union-attr]


def test_every_open_refuses_local_files_even_from_an_old_registry(tmp_path: Path) -> None:
    for bad in ("file:///etc/passwd", "/dev/zero", "pipe:0", "rtsp:///nohost", ""):
        with pytest.raises(UnsafeStreamUri, match="only rtsp"):
            with_credentials(bad, "admin", "pw")
    assert check_stream_uri("rtsps://cam.example/main") == "rtsps://cam.example/main"
    # FFmpeg itself is told which protocols it may open: a local file is refused by it too.
    secret = tmp_path / "secret.txt"
    secret.write_text("not for cameras")
    with pytest.raises(av.error.FFmpegError):
        av.open(f"file://{secret}", options=ffmpeg_options(), timeout=(5, 5))
    av.open(str(secret), format="data", options={}).close()  # the same file opens without it


BASIC_SITE = """
[[device]]
name = "basiccam"
kind = "camera"
location = "Old Depot"
deviations = ["rtsp_basic"]
"""


def test_a_camera_that_wants_its_rtsp_password_in_clear_text_is_refused_until_allowed(
        tmp_path: Path, clip_cache: Path) -> None:
    """Issue 22: the recorder sent the camera password in clear text when an RTSP server
    asked for Basic authentication (FFmpeg answers Basic and has no option to refuse it)."""
    cfg = tmp_path / "site.toml"
    cfg.write_text(BASIC_SITE)
    sim = start_sim(tmp_path / "simdata", clip_cache, "--config", str(cfg))
    try:
        site = register(sim, tmp_path / "profile", ["basiccam"])
        admin = site.profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="test")
        UserAdmin(site.profile.access, admin).add("ivy", Role.INSTALLER, "ivy-installer-pw")
        site.profile.close()
        env = ensure_admin(site.path)
        installer = {**env, "VMS_USER": "ivy", "VMS_PASSWORD": "ivy-installer-pw"}

        def record() -> dict:  # type: ignore[type-arg]
            res = subprocess.run(vms_cmd("--data-dir", str(site.path), "record", "--duration", "6",
                                         "--segment-seconds", "2", "--json"), env=env,
                                 capture_output=True, text=True, timeout=120)
            assert res.returncode == 0, res.stderr
            return json.loads(res.stdout)  # type: ignore[no-any-return]

        refused = record()
        cam = refused["cameras"][0]
        assert cam["segments"] == 0 and "in clear text" in cam["detail"], cam
        assert sim.live("basiccam")["rtsp_basic_received"] == 0  # nothing an eavesdropper reads
        gaps = RecordingIndex(site.path / "recordings.db").gaps()
        assert any("clear text" in g.reason for g in gaps), gaps

        res = subprocess.run(vms_cmd("--data-dir", str(site.path), "devices", "allow-basic-rtsp",
                                     "basiccam", "on"), env=installer, capture_output=True, text=True,
                             timeout=60)
        assert res.returncode == 0 and "now allowed" in res.stdout, res.stderr
        allowed = record()
        assert allowed["cameras"][0]["segments"] >= 1, allowed
        assert sim.live("basiccam")["rtsp_basic_received"] > 0
        actions = [e.action for e in Profile(site.path).audit.entries()]
        assert "device.allow_basic_rtsp" in actions
    finally:
        sim.stop()


def test_the_talk_channel_never_sends_a_clear_text_password(tmp_path: Path,
                                                             clip_cache: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text(BASIC_SITE.replace('kind = "camera"', 'kind = "help_point"'))
    sim = start_sim(tmp_path / "simdata", clip_cache, "--config", str(cfg))
    try:
        url = sim.device("basiccam")["streams"]["main"]

        async def talk() -> str:
            channel = TalkChannel(url, "admin", "beacon-sim", timeout=5)
            try:
                await channel.open()
            except CleartextPassword as exc:
                return str(exc)
            finally:
                await channel.close()
            return "opened"

        assert "in clear text" in asyncio.run(talk())
        assert sim.live("basiccam")["rtsp_basic_received"] == 0
    finally:
        sim.stop()


def test_a_stream_address_with_an_impossible_port_is_refused_in_words() -> None:
    for bad in ("rtsp://cam:99999/main", "rtsp://cam:abc/main"):
        with pytest.raises(UnsafeStreamUri, match="only rtsp"):
            check_stream_uri(bad)


def test_the_password_check_is_bounded_in_total_time_against_a_dripping_server() -> None:
    """A server that answers DESCRIBE one byte a second cannot hold a recorder's stop."""
    import socket
    import threading
    import time

    from vms.errors import DeviceUnreachable
    from vms.safety.streamsafe import auth_challenge

    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(4096)
            for ch in b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n" * 10:
                if stop.wait(0.5):
                    return
                try:
                    conn.send(bytes([ch]))
                except OSError:
                    return

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    started = time.monotonic()
    try:
        with pytest.raises(DeviceUnreachable, match="within 2 s"):
            auth_challenge(f"rtsp://127.0.0.1:{port}/main", timeout=2.0)
        assert time.monotonic() - started < 3.5
    finally:
        stop.set()
        srv.close()


def test_a_camera_offering_digest_and_basic_as_two_headers_gets_digest() -> None:
    """Cameras offer both challenges as two WWW-Authenticate headers, Digest first; keeping
    only the last header read the offer as Basic only (and refused, or sent it in clear)."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
            except asyncio.IncompleteReadError:
                return
            cseq = next(ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
                        if ln.lower().startswith("cseq"))
            auth = next((ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
                         if ln.lower().startswith("authorization")), "")
            if not auth:
                writer.write(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                             'WWW-Authenticate: Digest realm="cam", nonce="abc123"\r\n'
                             'WWW-Authenticate: Basic realm="cam"\r\n\r\n'.encode())
            else:
                seen.append(auth.split(" ", 1)[0])
                writer.write(f"RTSP/1.0 551 Option not supported\r\nCSeq: {cseq}\r\n\r\n"
                             .encode())
            await writer.drain()

    async def go() -> str:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        channel = TalkChannel(f"rtsp://127.0.0.1:{port}/main", "admin", "pw", timeout=5)
        try:
            await channel.describe()
            return "described"
        except Exception as exc:  # the 551 ends it; what matters is how it authenticated
            return type(exc).__name__
        finally:
            await channel.close()
            server.close()

    assert asyncio.run(go()) == "TalkUnavailable"
    assert seen == ["Digest"]
