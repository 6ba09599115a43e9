"""A camera whose video pauses for a few seconds across a segment boundary (issue 22: the
60-minute soak found seconds of every busy hour neither recorded nor in a gap). The pause is
written as a gap that says so, from the first segment's end to the next one's start: every
second is accounted for, and no gap lies over footage that exists.

The camera is GStreamer's RTSP server playing a real H.264 file whose timestamps pause for
2.6 s (made by FFmpeg here); the recorder is the product's, over loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from tests.conftest import REPO
from vms.recording.index import CLOSED, RecordingIndex
from vms.recording.recorder import CameraRecorder


def _paused_clip(path: Path) -> None:
    """16 s at 10 fps, no frames from 6.45 s to 8.95 s, a keyframe each second and at the
    first frame after the pause (a camera's encoder restarts on one)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is missing: scripts/setup.sh installs it"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "testsrc=size=320x240:rate=10", "-t", "16",
                    "-vf", r"select='not(between(t\,6.45\,8.95))'", "-fps_mode", "passthrough",
                    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0",
                    "-force_key_frames", "expr:gte(t,n_forced*1)", str(path)],
                   check=True, timeout=60)


def _t(utc: str) -> float:
    return datetime.fromisoformat(utc).timestamp()


def test_a_pause_in_the_video_between_two_segments_is_a_gap_that_says_so(tmp_path: Path) -> None:
    clip = tmp_path / "paused.mkv"
    _paused_clip(clip)
    server = subprocess.Popen([sys.executable, "-m", "tests.gst_file_server", str(clip)],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    index = RecordingIndex(tmp_path / "recordings.db")
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        rec = CameraRecorder(index, tmp_path / "media", 1, "cam-pause",
                             lambda: f"rtsp://127.0.0.1:{port}/file", segment_s=7.0)
        rec.start()
        time.sleep(14)  # the first segment, the pause, the second segment
        rec.stop()
    finally:
        server.terminate()
        server.wait(10)
    segments = [s for s in index.segments(1) if s.state == CLOSED]
    assert len(segments) >= 2, segments
    first, second = segments[0], segments[1]
    assert first.end_utc and second.start_utc
    gaps = [g for g in index.gaps(1) if "sent no video" in g.reason]
    assert len(gaps) == 1, index.gaps(1)
    gap = gaps[0]
    assert gap.end_utc is not None
    assert 2.0 <= _t(second.start_utc) - _t(first.end_utc) <= 3.5  # the pause, as sent
    assert gap.start_utc == first.end_utc and gap.end_utc == second.start_utc
    assert "2.6 s" in gap.reason or "2.5 s" in gap.reason or "2.7 s" in gap.reason, gap.reason
    index.close()
