"""RTSP from the simulator, checked with FFmpeg (ffprobe, PyAV) and raw RTSP exchanges."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import threading
import time
import wave

import av
import numpy as np
import pytest

from tests.conftest import Sim
from tests.rtsp_client import RtspClient
from vms.sim.media.rtp import parse_rtp, parse_sender_report, rtp_packet

BACKCHANNEL = "www.onvif.org/ver20/backchannel"


def ffprobe() -> str:
    exe = shutil.which("ffprobe")
    assert exe, "ffprobe is missing: install Debian's ffmpeg package (the README's test command does)"
    return exe


def probe(url: str, *extra: str) -> list[dict[str, object]]:
    res = subprocess.run([ffprobe(), "-v", "error", *extra, "-show_entries",
                          "stream=codec_name,codec_type,width,height,sample_rate",
                          "-of", "json", url], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["streams"]


def url(sim: Sim, name: str, path: str = "main") -> str:
    return f"rtsp://127.0.0.1:{sim.device(name)['rtsp_port']}/{path}"


def test_ffprobe_sees_h264_on_a_camera(sim: Sim) -> None:
    streams = probe(url(sim, "cam1"))
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [("video", "h264")]
    assert (streams[0]["width"], streams[0]["height"]) == (1280, 720)
    sub = probe(url(sim, "cam1", "sub"), "-rtsp_transport", "udp")
    assert (sub[0]["width"], sub[0]["height"]) == (640, 360)


def test_ffprobe_sees_h264_and_pcmu_on_a_help_point(sim: Sim) -> None:
    streams = probe(url(sim, "hp1"))
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [
        ("video", "h264"), ("audio", "pcm_mulaw")]
    assert streams[1]["sample_rate"] == "8000"


def test_pyav_decodes_the_burned_in_clip_and_recovers_wall_clock(sim: Sim) -> None:
    """Frames decode with real pixel variance; RTCP sender reports give wall-clock time."""
    sim.cli("skew", "cam2", "-120")  # the camera's clock is two minutes slow
    try:
        before = time.time()
        with av.open(url(sim, "cam2", "sub"), options={"rtsp_transport": "tcp"}, timeout=10) as c:
            stream = c.streams.video[0]
            frames = []
            for frame in c.decode(stream):
                frames.append(frame.to_ndarray(format="gray"))
                if len(frames) == 1:
                    after = time.time()  # the first packet arrived between before and after
                if len(frames) >= 25:
                    break
            realtime = c.start_time_realtime
    finally:
        sim.cli("skew", "cam2", "0")
    assert frames[0].shape == (360, 640)
    assert float(np.var(frames[-1])) > 100, "decoded frames are flat"
    assert not np.array_equal(frames[0], frames[-1]), "the picture does not move"
    # FFmpeg fills it from the first RTCP SR, which the sim sends with the first packet.
    assert realtime, "no wall-clock time recovered from RTCP"
    # Compared with the moment the stream started, not the end of the test: this VM's clock
    # is stepped by NTP now and then, and a step during the decode once cost a CI run.
    assert before - 120 - 2 <= realtime / 1e6 <= after - 120 + 2, (before, realtime / 1e6, after)


def test_rtcp_sender_reports_carry_the_device_clock(sim: Sim) -> None:
    sim.cli("skew", "cam3", "3600")
    try:
        c = RtspClient("127.0.0.1", sim.device("cam3")["rtsp_port"])
        u = url(sim, "cam3", "sub")
        assert c.request("DESCRIBE", u, {"Accept": "application/sdp"}).code == 200
        assert c.request("SETUP", u + "/trackID=0",
                         {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}).code == 200
        play = c.request("PLAY", u + "/", {"Range": "npt=0-"})
        assert play.code == 200 and "rtptime=" in play.headers["rtp-info"]
        sr = None
        rtp = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (sr is None or rtp < 10):
            ch, data = c.read_frame()
            if ch == 1:
                sr = parse_sender_report(data) or sr
            elif ch == 0 and parse_rtp(data):
                rtp += 1
        c.close()
    finally:
        sim.cli("skew", "cam3", "0")
    assert sr is not None, "no RTCP sender report within 10 s"
    assert abs(sr[1] - (time.time() + 3600)) < 5
    assert rtp >= 10


def test_a_viewer_vanishing_mid_stream_does_not_disturb_others(sim: Sim) -> None:
    port = sim.device("cam4")["rtsp_port"]
    u = url(sim, "cam4", "sub")

    def viewer() -> RtspClient:
        c = RtspClient("127.0.0.1", port)
        c.request("DESCRIBE", u)
        c.request("SETUP", u + "/trackID=0", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert c.request("PLAY", u + "/").code == 200
        return c

    steady, doomed = viewer(), viewer()
    for _ in range(20):
        doomed.read_frame()
    doomed.sock.close()  # gone without TEARDOWN, mid-stream

    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 3:
        ch, _ = steady.read_frame()
        if ch == 0:
            n += 1
    steady.request("TEARDOWN", u + "/")
    steady.close()
    # ~10 frames/s at 360p is well over 10 packets/s; a stall would show as a trickle.
    assert n > 25, f"the remaining viewer got only {n} RTP packets in 3 s"
    assert sim.live("cam4")["viewers"] == 0


def test_backchannel_is_offered_only_on_request_and_audio_is_saved(sim: Sim) -> None:
    c = RtspClient("127.0.0.1", sim.device("hp2")["rtsp_port"])
    u = url(sim, "hp2")
    plain = c.request("DESCRIBE", u).body.decode()
    assert "a=sendonly" not in plain
    d = c.request("DESCRIBE", u, {"Require": BACKCHANNEL})
    assert d.code == 200
    sdp = d.body.decode()
    assert sdp.count("m=audio") == 2
    back = sdp.split("m=audio")[2]
    assert "a=sendonly" in back and "PCMU/8000" in back and "trackID=2" in back
    for track, chans in ((0, "0-1"), (1, "2-3"), (2, "4-5")):
        r = c.request("SETUP", f"{u}/trackID={track}",
                      {"Transport": f"RTP/AVP/TCP;unicast;interleaved={chans}",
                       "Require": BACKCHANNEL})
        assert r.code == 200, (track, r.code)
    assert c.request("PLAY", u + "/", {"Require": BACKCHANNEL}).code == 200
    # One second of a 440 Hz tone, in 20 ms PCMU packets, as an operator's voice would come.
    from vms.audio.g711 import encode as _mulaw_encode

    t = np.arange(8000) / 8000
    ulaw = _mulaw_encode((8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)).tobytes()
    for i in range(50):
        c.send_frame(4, rtp_packet(0, 1000 + i, 160 * i, 0x1234, i == 0, ulaw[160 * i:160 * (i + 1)]))
        time.sleep(0.02)
    time.sleep(0.3)
    assert c.request("TEARDOWN", u + "/", {"Require": BACKCHANNEL}).code == 200
    c.close()
    folder = sim.data_dir / "sim" / "backchannel" / "hp2"
    wavs = sorted(folder.glob("*.wav"))
    assert wavs, f"no WAV in {folder}"
    with wave.open(str(wavs[-1])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 8000)
        pcm = np.frombuffer(w.readframes(8000), dtype=np.int16).astype(float)
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * 8000 / len(pcm) - 440) < 5, "the tone did not survive"
    with open(wavs[-1].with_suffix(".csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 50 and [int(r["seq"]) for r in rows] == list(range(1000, 1050))
    span = float(rows[-1]["arrival_posix"]) - float(rows[0]["arrival_posix"])
    assert 0.7 < span < 3.0, f"arrival times span {span:.2f} s for 1 s of audio"


def test_a_camera_without_a_speaker_answers_551(sim: Sim) -> None:
    c = RtspClient("127.0.0.1", sim.device("cam1")["rtsp_port"])
    r = c.request("DESCRIBE", url(sim, "cam1"), {"Require": BACKCHANNEL})
    assert r.code == 551 and r.headers["unsupported"] == BACKCHANNEL
    assert c.request("DESCRIBE", url(sim, "cam1")).code == 200  # retry without, as clients do
    c.close()


@pytest.mark.parametrize("request_line, code", [
    ("DESCRIBE rtsp://127.0.0.1/nowhere RTSP/1.0", 404),
    ("PLAY rtsp://127.0.0.1/main RTSP/1.0", 454),
    ("BREW rtsp://127.0.0.1/main RTSP/1.0", 501),
    ("DESCRIBE rtsp://127.0.0.1/main RTSP/2.0", 505),
])
def test_bad_rtsp_requests_get_errors_not_hangs(sim: Sim, request_line: str, code: int) -> None:
    import socket

    s = socket.create_connection(("127.0.0.1", sim.device("cam1")["rtsp_port"]), timeout=5)
    s.sendall(f"{request_line}\r\nCSeq: 7\r\n\r\n".encode())
    reply = s.recv(4096).decode()
    s.close()
    assert reply.startswith(f"RTSP/1.0 {code} "), reply


def test_many_concurrent_viewers_are_served(sim: Sim) -> None:
    errors: list[str] = []

    def watch() -> None:
        try:
            with av.open(url(sim, "pid1", "sub"), options={"rtsp_transport": "tcp"}, timeout=10) as c:
                for n, _ in enumerate(c.decode(c.streams.video[0]), 1):
                    if n >= 10:
                        return
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=watch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
