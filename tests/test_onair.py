"""Which cameras the wall marks as recorded, read from a real recording index (SQLite)."""

from __future__ import annotations

from pathlib import Path

from vms.recording.index import CLOSED, RecordingIndex, now_utc
from vms.recording.onair import STALE_S, OnAir, RecordingWatch


def test_a_camera_is_recorded_while_its_segment_grows_and_not_when_it_stops(tmp_path: Path) -> None:
    index = RecordingIndex(tmp_path / "recordings.db")
    watch = RecordingWatch(index)
    assert watch.poll(0.0) == {}  # nothing recorded yet: no mark at all
    seg = index.open_segment(1, "cam1", tmp_path / "a.mkv", "h264", None, now_utc(), "local")
    assert watch.poll(0.0) == {1: OnAir(True)}
    index.update_segment(seg, frames=50, bytes=1000)
    assert watch.poll(STALE_S - 1) == {1: OnAir(True)}
    # A recorder that died leaves its segment open: it stops growing, and stops counting.
    assert watch.poll(2 * STALE_S) == {1: OnAir(False, "the recorder stopped writing")}
    index.update_segment(seg, frames=75, bytes=1500)
    assert watch.poll(2 * STALE_S + 1) == {1: OnAir(True)}
    # The camera drops out: the segment closes and a gap opens with its reason.
    index.update_segment(seg, state=CLOSED)
    index.open_gap(1, "cam1", now_utc(), "the camera stopped sending video")
    assert watch.poll(2 * STALE_S + 2) == {1: OnAir(False, "the camera stopped sending video")}
    index.close()
