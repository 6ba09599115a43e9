"""Playback of recordings from the simulator: exact seeks, gaps, cameras in step, and the
window's transport, timeline range and bookmarks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.burned_clock import burned_clock
from tests.conftest import Sim, start_sim
from tests.test_recording import wait_for
from tests.wall_helpers import Site, register
from ui.playback.window import PlaybackWindow
from vms.recording.index import CLOSED, RecordingIndex
from vms.recording.playback import CameraReader, Frame, Player, ts
from vms.recording.service import Recording
from vms.recording.timeline_data import TimelineData


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Site]:
    """cam1 and hp1 recorded for a while, with cam1 offline for a few seconds in between."""
    sim: Sim = start_sim(tmp_path_factory.mktemp("play") / "data", clip_cache)
    site = register(sim, tmp_path_factory.mktemp("play") / "profile", ["cam1", "hp1"])
    cam, hp = site.ids["cam1"], site.ids["hp1"]
    rec = Recording(site.profile, site.operator, segment_s=4)
    try:
        rec.start([cam, hp])
        wait_for(lambda: len(rec.index.segments(cam, CLOSED)) >= 2, 40, "footage")
        sim.cli("offline", "cam1")
        wait_for(lambda: any(g.reason.startswith("camera offline") for g in rec.index.gaps(cam)),
                 40, "a gap")
        time.sleep(3)
        sim.cli("online", "cam1")
        wait_for(lambda: rec.index.gaps(cam)[-1].end_utc is not None and
                 len([s for s in rec.index.segments(cam, CLOSED)
                      if s.start_utc and s.start_utc > (rec.index.gaps(cam)[-1].end_utc or "")])
                 >= 1, 60, "footage after the gap")
    finally:
        rec.stop()
        sim.stop()
    yield site
    site.profile.close()


def _index(site: Site) -> RecordingIndex:
    return RecordingIndex(site.path / "recordings.db")


def test_a_seek_lands_on_the_frame_of_that_moment_not_the_keyframe(
        recorded: Site, tmp_path: Path) -> None:
    index = _index(recorded)
    reader = CameraReader(index, recorded.ids["cam1"], width=1280)
    seg = index.segments(recorded.ids["cam1"], CLOSED)[0]
    assert seg.start_utc and seg.end_utc
    checked = []
    for offset in (1.37, 2.61):  # between keyframes
        t = ts(seg.start_utc) + offset
        f = reader.seek(t)
        assert f is not None
        assert t - 0.2 < f.at <= t + 0.001, f"asked {t}, got the frame of {f.at}"
        # The simulator burned its clock into the frame: it must show the moment asked for.
        import av
        frame = av.VideoFrame.from_ndarray(f.rgb, format="rgb24")
        seen = burned_clock(frame)
        assert seen is not None
        wall = datetime.fromtimestamp(f.at)
        diff = abs((seen - (wall.second + wall.microsecond / 1e6) + 30) % 60 - 30)
        checked.append(round(diff, 2))
        assert diff <= 0.5
    print("seek: burned-in clock vs frame time:", checked)
    gap = next(g for g in index.gaps(recorded.ids["cam1"]) if g.reason.startswith("camera"))
    assert gap.end_utc
    middle = (ts(gap.start_utc) + ts(gap.end_utc)) / 2
    assert reader.seek(middle) is None, "a gap shows nothing"
    reader.close()
    index.close()


def test_cameras_play_in_step_at_the_chosen_speed(recorded: Site) -> None:
    index = _index(recorded)
    ids = [recorded.ids["cam1"], recorded.ids["hp1"]]
    got: list[tuple[float, dict[int, Frame | None]]] = []
    player = Player(index, ids, lambda pos, frames: got.append((pos, frames)))
    try:
        start = max(ts(index.segments(c, CLOSED)[0].start_utc or "") for c in ids) + 0.5
        player.seek(start)
        wait_for(lambda: bool(got), 10, "the first frames")
        pos, frames = got[-1]
        assert pos == start and all(frames[c] is not None for c in ids)
        player.set_speed(4.0)
        got.clear()
        player.play()
        time.sleep(1.5)
        player.pause()
        time.sleep(0.2)
        pos, frames = got[-1]
        print(f"4x for 1.5 s moved {pos - start:.2f} s")
        assert 4.0 <= pos - start <= 7.5
        for c in ids:
            f = frames[c]
            assert f is not None and abs(f.at - pos) < 0.25, (c, f and f.at, pos)
        got.clear()
        player.step(1)
        wait_for(lambda: bool(got), 5, "a frame step")
        assert 0 < got[-1][0] - pos < 0.3
        stepped = got[-1][0]
        got.clear()
        player.step(-1)
        wait_for(lambda: bool(got), 5, "a frame step back")
        assert 0 < stepped - got[-1][0] < 0.3
    finally:
        player.close()
        index.close()


def test_the_window_plays_seeks_bookmarks_and_offers_a_selected_range_for_export(
        recorded: Site, qtbot: QtBot) -> None:
    index = _index(recorded)
    data = TimelineData(index, None, "evidence.officer")
    cams = [(recorded.ids["cam1"], "cam1"), (recorded.ids["hp1"], "hp1")]
    win = PlaybackWindow(data, cams)
    qtbot.addWidget(win)
    win.show()
    win.choose([recorded.ids["cam1"], recorded.ids["hp1"]])
    cell = win.cells[recorded.ids["cam1"]]
    rows = data.rows([recorded.ids["cam1"]], {})
    assert len(rows[0].spans) >= 2 and rows[0].gaps, "spans either side of the gap"
    t = rows[0].spans[0][0] + 2.0
    win.seek(t)
    qtbot.waitUntil(lambda: cell.image is not None, timeout=10000)
    assert "GMT" in win.clock.text() or "BST" in win.clock.text()
    gap_mid = (rows[0].gaps[0][0] + rows[0].gaps[0][1]) / 2
    win.seek(gap_mid)
    qtbot.waitUntil(lambda: cell.image is None, timeout=10000)
    assert "no recording" in cell.text()
    win.seek(t)
    qtbot.waitUntil(lambda: cell.image is not None, timeout=10000)
    win.play.click()
    qtbot.wait(1200)
    win.play.click()
    assert win.position > t + 0.5
    data.add_bookmark(recorded.ids["cam1"], t, "Suspect enters frame")
    win.reload()  # read off the GUI thread
    qtbot.waitUntil(lambda: "Suspect enters frame" in [label for _, label in
                                                       win.timeline.bookmarks], timeout=5000)
    assert not win.export.isEnabled()
    win.range.click()
    assert win.export.isEnabled()
    with qtbot.waitSignal(win.export_requested, timeout=2000) as sig:
        win.export.click()
    ids, start, end = sig.args
    assert ids == [recorded.ids["cam1"], recorded.ids["hp1"]] and start < end
    win.close()
    index.close()
