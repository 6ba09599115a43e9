"""Stream addresses from a hostile or careless camera (issue 22).

A camera's GetStreamUri answer is input: ``file:///etc/passwd`` or ``/dev/zero`` must never
be stored or handed to FFmpeg as a local file, and credentials a camera embeds in the URI
must never be printed. Replayed from a real camera's captures with one answer changed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import av
import pytest

from tests.conftest import shared_path
from tests.replay_camera import ReplayCamera
from vms.errors import UnsafeStreamUri
from vms.live import with_credentials
from vms.onvif.camera import parse_target
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport
from vms.onvif.onboard import onboard
from vms.streamsafe import check_stream_uri, ffmpeg_options

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
