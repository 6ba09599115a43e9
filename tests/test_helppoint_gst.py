"""Our talk path against an RTSP server we did not write: GStreamer's RTSPOnvifServer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.helppoint_helpers import similarity, speech
from vms.audio.rtsp_talk import TalkChannel
from vms.audio.talk import CLOSED, FAILED, OPENING, READY, TalkHandle
from vms.coreloop import core_loop

ROOT = Path(__file__).resolve().parent.parent


class GstServer:
    def __init__(self, out: Path, auth: str, *extra: str) -> None:
        self.out = out
        # GStreamer's warnings go to a file: an unread stderr pipe fills at 64 kB and then
        # blocks the server's streaming thread on its next warning.
        self.log = out.with_suffix(".log")
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.gst_onvif_server", str(out), "--auth", auth, *extra],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                env={**os.environ, "GST_DEBUG": "2"})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            self.proc.wait(5)
            pytest.fail("GStreamer's RTSP server did not start (scripts/setup.sh installs "
                        f"gir1.2-gst-rtsp-server-1.0 and PyGObject): {line}{self.said()}")
        self.url = f"rtsp://127.0.0.1:{int(line.split()[1])}/helppoint"

    def heard(self) -> np.ndarray:
        """What GStreamer's own mu-law decoder made of the talk track, once it stops growing."""
        size, deadline = -1, time.monotonic() + 10
        while time.monotonic() < deadline:
            now = self.out.stat().st_size if self.out.exists() else 0
            if now and now == size:
                break
            size = now
            time.sleep(0.3)
        assert self.out.exists(), "GStreamer wrote nothing from the talk track"
        return np.frombuffer(self.out.read_bytes(), dtype="<i2")

    def said(self) -> str:
        """The end of GStreamer's own log, for a failure message."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def gst(tmp_path: Path) -> Iterator[GstServer]:
    s = GstServer(tmp_path / "heard.s16", "helppoint:Speak-up-42")
    yield s
    s.stop()


def _open(url: str, user: str, password: str) -> TalkHandle:
    states: list[str] = []
    handle = TalkHandle(TalkChannel(url, user, password), "gst",
                        on_state=lambda s, _r: states.append(s))
    core_loop().submit(handle._open())
    deadline = time.monotonic() + 20
    while handle.state == OPENING and time.monotonic() < deadline:
        time.sleep(0.02)
    return handle


def test_speech_reaches_gstreamer_onvif_backchannel(gst: GstServer, tmp_path: Path) -> None:
    pcm = speech(tmp_path)
    handle = _open(gst.url, "helppoint", "Speak-up-42")
    assert handle.state == READY, handle.reason
    assert handle.channel.track is not None and handle.channel.track.payload_type == 0
    handle.push(pcm)
    assert handle.wait_sent(len(pcm) / 8000 + 10)
    handle.close().result(10)
    assert handle.state == CLOSED
    got = gst.heard()
    assert abs(len(got) - len(pcm)) < 320, (
        f"sent {len(pcm)} samples in {handle.channel.packets_sent} packets, GStreamer decoded "
        f"{len(got)}; its log ends:\n{gst.said()}")
    score, lag = similarity(pcm, got)
    assert score > 0.95, f"GStreamer heard something else (r={score:.3f}, lag {lag})"
    assert abs(lag) < 160


def test_gstreamer_wrong_password_is_said_plainly(gst: GstServer) -> None:
    handle = _open(gst.url, "helppoint", "wrong")
    assert handle.state == FAILED
    assert "wrong user name or password" in handle.reason
    assert not gst.out.exists() or gst.out.stat().st_size == 0


def test_a_server_that_wants_basic_gets_no_clear_text_password(tmp_path: Path) -> None:
    """GStreamer's server asking for Basic on plain RTSP: the talk channel refuses in plain
    words instead of sending the password readable by anyone on the network (issue 22)."""
    server = GstServer(tmp_path / "heard.s16", "helppoint:Speak-up-42", "--basic")
    try:
        handle = _open(server.url, "helppoint", "Speak-up-42")
        assert handle.state == FAILED
        assert "in clear text" in handle.reason and "refused" in handle.reason
        assert not server.out.exists() or server.out.stat().st_size == 0
        allowed = TalkHandle(TalkChannel(server.url, "helppoint", "Speak-up-42",
                                         allow_basic=True), "gst", on_state=lambda s, _r: None)
        core_loop().submit(allowed._open())
        deadline = time.monotonic() + 20
        while allowed.state == OPENING and time.monotonic() < deadline:
            time.sleep(0.02)
        assert allowed.state == READY, allowed.reason  # once an installer has allowed it
        allowed.close().result(10)
    finally:
        server.stop()

