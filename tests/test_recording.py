"""Recording from the simulator: crash safety under SIGKILL, hashes, gaps with reasons."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest

from tests.burned_clock import burned_clock
from tests.conftest import (
    Sim,
    ensure_admin,
    start_sim,
    vms_cmd,
    wait_for,
)
from tests.wall_helpers import OPERATOR, OPERATOR_PASSWORD, Site, register
from vms.events.store import EventStore
from vms.recording import retention
from vms.recording.index import CLOSED, DAMAGED, OPEN, RECOVERED, RecordingIndex
from vms.recording.recorder import DISK_FULL, RECORDING, RecorderStatus
from vms.recording.service import Recording


@pytest.fixture(scope="module")
def rsim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    s = start_sim(tmp_path_factory.mktemp("rec") / "data", clip_cache)
    yield s
    s.stop()


@pytest.fixture()
def site(rsim: Sim, tmp_path: Path) -> Iterator[Site]:
    s = register(rsim, tmp_path / "profile", ["cam1", "hp1"])
    yield s
    s.profile.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_sigkill_leaves_closed_segments_intact_and_the_open_one_readable(
        rsim: Sim, site: Site) -> None:
    env = ensure_admin(site.path)
    proc = subprocess.Popen(vms_cmd("--data-dir", str(site.path), "record", "--segment-seconds",
                                    "6"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    index = RecordingIndex(site.path / "recordings.db")
    try:
        def ready() -> bool:
            segs = index.segments()
            closed = {s.camera for s in segs if s.state == CLOSED}
            # Mid-segment: the index says fragments past the header reached the disk.
            opened = [s for s in segs if s.state == OPEN and s.frames > 0 and s.bytes > 20_000
                      and s.path.stat().st_size >= s.bytes]
            return closed == {"cam1", "hp1"} and bool(opened)
        wait_for(ready, 60, "a closed segment per camera and one open with fragments on disk")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    segs = index.segments()
    closed = [s for s in segs if s.state == CLOSED]
    opened = [s for s in segs if s.state == OPEN]
    assert closed and opened, segs
    for s in closed:  # intact: the bytes are those hashed while writing, and they play
        assert s.sha256 == sha256(s.path), s.path
        assert s.bytes == s.path.stat().st_size
        assert decoded_frames(s.path) == s.frames > 0
        assert s.start_utc and s.end_utc and s.start_utc < s.end_utc
        assert s.video_codec == "h264"
    assert {s.audio_codec for s in closed if s.camera == "hp1"} == {"pcm_mulaw"}  # G.711 kept
    checked = 0
    for s in opened:  # readable up to its last flushed fragment
        if s.path.stat().st_size < 20_000:
            continue  # another camera's segment that had just begun: only its header
        n = decoded_frames(s.path)
        print(f"{s.camera}: open segment decodes {n} frames ({s.path.stat().st_size} bytes)")
        assert n > 0
        checked += 1
    assert checked

    # The next run recovers what the killed one left open, with the reason, and goes on.
    res = subprocess.run(vms_cmd("--data-dir", str(site.path), "record", "--duration", "8",
                                 "--segment-seconds", "3", "--camera", "cam1"),
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    after = {s.id: s for s in index.segments()}
    for s in opened:
        got = after[s.id]
        assert got.state == RECOVERED and "killed or power lost" in (got.note or "")
        assert got.sha256 == sha256(s.path) and got.bytes == s.path.stat().st_size
    gaps = index.gaps()
    crash = [g for g in gaps if g.reason == "recorder stopped unexpectedly"]
    assert {g.camera for g in crash} == {s.camera for s in opened}
    cam1_gap = next(g for g in crash if g.camera == "cam1")
    assert cam1_gap.end_utc and cam1_gap.end_utc > cam1_gap.start_utc  # ended by the new run
    newer = [s for s in after.values() if s.id > max(x.id for x in segs)]
    assert newer and all(s.state == CLOSED and s.camera == "cam1" for s in newer)
    index.close()


def test_offline_camera_makes_a_gap_with_its_reason_and_recording_resumes(
        rsim: Sim, site: Site) -> None:
    cam = site.ids["cam1"]
    rec = Recording(site.profile, site.operator, segment_s=3)
    try:
        rec.start([cam])
        index = rec.index
        wait_for(lambda: len(index.segments(cam, CLOSED)) >= 1, 30, "a first segment")
        rsim.cli("offline", "cam1")
        try:
            wait_for(lambda: any(g.reason.startswith("camera offline") for g in index.gaps(cam)),
                     40, "a gap")
            gap = next(g for g in index.gaps(cam) if g.reason.startswith("camera offline"))
            assert gap.end_utc is None
            print("gap reason:", gap.reason)
            assert "rtsp://" not in gap.reason
            time.sleep(2)
        finally:
            rsim.cli("online", "cam1")
        wait_for(lambda: index.gaps(cam)[-1].end_utc is not None, 60, "recording to resume")
        gap = next(g for g in index.gaps(cam) if g.reason.startswith("camera offline"))
        assert gap.end_utc is not None and gap.end_utc > gap.start_utc
        wait_for(lambda: any(s.start_utc and s.start_utc >= gap.end_utc and s.state == CLOSED
                             for s in index.segments(cam)), 30, "a segment after the gap")
        before = [s for s in index.segments(cam) if s.end_utc and s.end_utc <= gap.start_utc]
        assert before, "footage before the outage is kept"
        # The gap ends where the footage resumes, both in the same mapping of input time to ours
        # (an estimate 1-2 s off the segment's left a hole, or a gap over footage).
        gap = next(g for g in index.gaps(cam) if g.reason.startswith("camera offline"))
        after = min((s for s in index.segments(cam) if s.start_utc and s.id > cut_id(before)),
                    key=lambda s: s.start_utc or "")
        assert after.start_utc and gap.end_utc and abs((datetime.fromisoformat(
            after.start_utc) - datetime.fromisoformat(gap.end_utc)).total_seconds()) < 0.2, \
            (gap, after)
        # The segment the outage cut short ends with its last frame, where the gap begins.
        cut = max(before, key=lambda s: s.end_utc or "")
        assert cut.end_utc and abs((datetime.fromisoformat(gap.start_utc) - datetime.fromisoformat(
            cut.end_utc)).total_seconds()) < 0.2, (cut, gap)
        assert all(s.start_utc and s.end_utc and s.start_utc <= s.end_utc
                   for s in index.segments(cam)), index.segments(cam)
    finally:
        rec.stop()
    assert all(s.state == CLOSED for s in rec.index.segments(cam))  # a clean stop closes all
    assert rec.index.gaps(cam)[-1].reason == "recorder stopped"
    actions = [e.action for e in site.profile.audit.entries() if e.user == site.operator.user]
    assert "recording.start" in actions and "recording.stop" in actions
    assert os.path.isdir(rec.root)


def cut_id(before: list[Any]) -> int:
    return max(s.id for s in before)


def test_index_times_agree_with_the_clock_burned_into_the_frames(
        rsim: Sim, site: Site, tmp_path: Path) -> None:
    cam = site.ids["cam1"]
    rec = Recording(site.profile, site.operator, segment_s=3)
    try:
        rec.start([cam])
        wait_for(lambda: len(rec.index.segments(cam, CLOSED)) >= 3, 40, "three segments")
    finally:
        rec.stop()
    checked = []
    for seg in rec.index.segments(cam, CLOSED)[:3]:
        assert seg.start_utc and seg.end_utc
        with av.open(str(seg.path)) as c:
            frames = list(c.decode(video=0))
        for frame, stamp in ((frames[0], seg.start_utc), (frames[-1], seg.end_utc)):
            seen = burned_clock(frame)
            assert seen is not None, f"no clock read in {seg.path.name}"
            t = datetime.fromisoformat(stamp)
            indexed = t.second + t.microsecond / 1e6
            diff = abs((seen - indexed + 30) % 60 - 30)  # seconds wrap at the minute
            checked.append(round(diff, 2))
            assert diff <= 0.5, f"{seg.path.name}: frame says {seen}, index {stamp}"
    print("burned-in clock vs index, seconds:", checked)
    assert len(checked) == 6


def test_event_mode_keeps_the_pre_roll_and_locks_help_point_calls(rsim: Sim,
                                                                  tmp_path: Path) -> None:
    """vms record --mode event: nothing written until an alarm; an intrusion at T keeps
    footage from T-30 s (keyframe-aligned); a Help Point call is evidence-locked."""
    s = register(rsim, tmp_path / "profile", ["pid1", "hp1"])
    s.profile.accounts.set_setting("postroll_seconds", "4", by="test")
    env = ensure_admin(s.path)
    proc = subprocess.Popen(vms_cmd("--data-dir", str(s.path), "record", "--mode", "event"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    index = RecordingIndex(s.path / "recordings.db")
    try:
        started = time.time()
        time.sleep(36)  # more than the 30 s pre-roll and a keyframe interval
        assert index.segments() == [], "event mode wrote footage before any alarm"
        before = time.time()
        rsim.cli("intrude", "pid1", "--duration", "1")
        rsim.cli("press", "hp1")
        time.sleep(1)
        rsim.cli("release", "hp1")
        after = time.time()
        # A call is recorded until it is closed, whether or not the button is still held.
        op = {**env, "VMS_USER": OPERATOR, "VMS_PASSWORD": OPERATOR_PASSWORD}
        wait_for(lambda: EventStore.for_profile(s.path).conn.execute(
            "SELECT id FROM incidents WHERE device = 'hp1'").fetchone(), 20, "the call")
        iid = EventStore.for_profile(s.path).conn.execute(
            "SELECT id FROM incidents WHERE device = 'hp1'").fetchone()[0]
        for act in (("accept", str(iid)), ("close", str(iid), "--outcome", "test")):
            res = subprocess.run(vms_cmd("--data-dir", str(s.path), "calls", *act), env=op,
                                 capture_output=True, text=True, timeout=60)
            assert res.returncode == 0, res.stderr
        wait_for(lambda: {x.camera for x in index.segments(state=CLOSED)} == {"pid1", "hp1"},
                 40, "a closed segment for each alarm (post-roll 4 s)")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    print(out[-2000:])
    assert proc.returncode == 0
    # T: when the camera says the alarm happened (the clock its video is stamped with).
    store = EventStore.for_profile(s.path)
    alarm = {e["device"]: datetime.fromisoformat(e["device_time"]).timestamp()
             for e in reversed(store.events()) if e["active"] and not e["initial"]
             and e["kind"] in ("intrusion", "help_button")}
    store.close()
    assert set(alarm) == {"pid1", "hp1"} and all(before <= t <= after for t in alarm.values())
    t_press = alarm["hp1"]
    for name, t in alarm.items():
        seg = next(x for x in index.segments(state=CLOSED) if x.camera == name)
        assert seg.start_utc and seg.end_utc and seg.sha256 == sha256(seg.path)
        start = datetime.fromisoformat(seg.start_utc).timestamp()
        end = datetime.fromisoformat(seg.end_utc).timestamp()
        print(f"{name}: alarm at {t:.2f}, footage from {start - t:+.2f} s to {end - t:+.2f} s")
        assert start <= t - 30, f"{name}: footage starts {t - start:.1f} s before the alarm"
        assert start >= started - 1, "the pre-roll holds only what the camera sent"
        assert end >= t + 4, "the post-roll follows the alarm"
        with av.open(str(seg.path)) as c:
            first = next(c.decode(video=0))
            assert first.key_frame, "a segment from the pre-roll starts at a keyframe"
            seconds = float(c.streams.video[0].duration * c.streams.video[0].time_base) \
                if c.streams.video[0].duration else None
        assert decoded_frames(seg.path) == seg.frames
        if seconds is not None:
            assert seconds >= 33
    locks = index.locks()
    assert [(lk.camera, lk.reason) for lk in locks] == [("hp1", "Help Point call at hp1")]
    lock_start = datetime.fromisoformat(locks[0].start_utc).timestamp()
    assert abs(lock_start - (t_press - 30)) < 3
    index.close()
    s.profile.close()


def test_continuous_recording_subscribes_each_device_once_and_locks_calls(
        rsim: Sim, tmp_path: Path) -> None:
    """Cameras offer few event subscriptions: the site service that ``vms record`` runs
    takes one per device (its alarms raise incidents even when recording is continuous),
    and a Help Point press locks footage."""
    s = register(rsim, tmp_path / "profile", ["cam2", "hp2"])
    env = ensure_admin(s.path)
    subs = {n: rsim.live(n)["subscriptions"] for n in ("cam2", "hp2")}
    proc = subprocess.Popen(vms_cmd("--data-dir", str(s.path), "record", "--json"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    index = RecordingIndex(s.path / "recordings.db")
    try:
        wait_for(lambda: rsim.live("hp2")["subscriptions"] > subs["hp2"], 30,
                 "the recorder to subscribe to the Help Point's events")
        wait_for(lambda: {x.camera for x in index.segments() if x.frames} == {"cam2", "hp2"},
                 30, "both cameras recording")
        wait_for(lambda: rsim.live("cam2")["subscriptions"] > subs["cam2"], 30,
                 "the service to subscribe to the camera's events")
        time.sleep(2)
        assert {n: rsim.live(n)["subscriptions"] - subs[n] for n in subs} == \
            {"cam2": 1, "hp2": 1}, "not one subscription per device"
        pressed = time.time()
        rsim.cli("press", "hp2")
        wait_for(lambda: index.locks() != [], 20, "the call's evidence lock")
        rsim.cli("release", "hp2")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    locks = index.locks()
    assert [(lk.camera, lk.reason) for lk in locks] == [("hp2", "Help Point call at hp2")]
    assert abs(datetime.fromisoformat(locks[0].start_utc).timestamp() - (pressed - 30)) < 3
    index.close()
    s.profile.close()


def test_retention_purges_old_footage_but_never_locked_or_exporting_footage(
        rsim: Sim, site: Site) -> None:
    cam, hp = site.ids["cam1"], site.ids["hp1"]
    rec = Recording(site.profile, site.operator, segment_s=2)
    try:
        rec.start([cam, hp])
        wait_for(lambda: len(rec.index.segments(cam, CLOSED)) >= 4
                 and len(rec.index.segments(hp, CLOSED)) >= 2, 40, "a few segments each")
    finally:
        rec.stop()
    index = rec.index
    segs = index.segments(cam, CLOSED)
    locked, exporting = segs[1], segs[2]
    assert locked.start_utc and locked.end_utc
    index.lock(cam, "cam1", locked.start_utc, locked.end_utc, "incident 7: Intrusion", "op")
    index.set_retention(hp, 90)  # hp1 keeps 90 days; cam1 the default 31
    future = datetime.now(UTC) + timedelta(days=40)
    with index.pinned([exporting.id], "export by test"):
        report = rec.enforce_retention(now=future)
    kept = {s.id for s in index.segments()}
    assert locked.id in kept and exporting.id in kept
    assert all(s.id in kept for s in index.segments(hp)), "hp1 keeps 90 days"
    gone = [s for s in segs if s.id not in (locked.id, exporting.id)]
    assert gone and {s.id for s in report.deleted} == {s.id for s in gone}
    assert all(not s.path.exists() for s in gone) and locked.path.exists()
    assert report.kept_locked >= 1 and report.kept_exporting == 1
    rows = index.deletions()
    assert [r["segment_id"] for r in rows] == [s.id for s in gone]
    assert all(r["reason"] == "retention: older than 31 days" and r["sha256"] for r in rows)
    assert any(g.reason == "retention: older than 31 days" for g in index.gaps(cam))
    # The export over, its segment goes at the next run; the locked one never does.
    report = rec.enforce_retention(now=future)
    assert [s.id for s in report.deleted] == [exporting.id]
    assert locked.id in {s.id for s in index.segments()}
    # A quota smaller than the locked footage: hp1's old footage goes, then it says so.
    report = retention.enforce(index, rec.root, now=datetime.now(UTC), quota_bytes=1,
                               low_space_bytes=1 << 60)
    assert {s.camera for s in report.deleted} == {"hp1"}
    assert [s.id for s in index.segments()] == [locked.id]
    assert report.over_quota and report.low_space
    print(report.alarms)
    assert any("evidence-locked" in a for a in report.alarms)
    assert any("free" in a for a in report.alarms)


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A filesystem of its own of ``size`` (tmpfs; needs root, which CI and setup have)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        if os.environ.get("CI") or os.environ.get("VMS_REQUIRE_SHARED"):
            pytest.fail(f"cannot mount a small tmpfs for the full-disk test: {done.stderr}")
        pytest.skip(f"mounting a small tmpfs needs root: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB filesystem of its own."""
    with tmpfs(tmp_path / "small-disk", "1m") as where:
        yield where


def fill(where: Path) -> Path:
    """Fill the filesystem under ``where`` to its last byte with one ballast file."""
    ballast = where / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2
    finally:
        os.close(fd)
    return ballast


def test_a_full_disk_raises_the_alarm_stops_cleanly_and_leaves_the_index_consistent(
        rsim: Sim, site: Site, small_disk: Path) -> None:
    cam = site.ids["cam1"]
    states: list[str] = []
    alarms: list[str] = []
    site.profile.accounts.set_setting("low_space_gb", "0.0005", by="test")  # 0.5 MB
    rec = Recording(site.profile, site.operator, root=small_disk, segment_s=2,
                    on_status=lambda st: states.append(st.state), on_alarm=alarms.append)
    try:
        rec.start([cam])
        wait_for(lambda: "disk full" in states, 180, "the disk to fill")
        report = rec.enforce_retention()
    finally:
        rec.stop()
    print("states:", states, "alarms:", alarms)
    assert report.low_space and any("free" in a for a in alarms)
    status = rec.recorders.get(cam)
    assert status is None  # stop() has cleared them: the recorder thread has ended
    index = rec.index
    gaps = index.gaps(cam)
    assert any(g.reason == "disk full: recording stopped" for g in gaps), gaps
    segs = index.segments(cam)
    assert segs and not [s for s in segs if s.state == OPEN]
    for s in segs:  # every row names a file whose bytes and hash it has right
        assert s.path.exists() and s.path.stat().st_size == s.bytes, s
        assert s.sha256 == sha256(s.path), s
        if s.state == CLOSED:
            assert decoded_frames(s.path) == s.frames
    damaged = [s for s in segs if s.state == DAMAGED]
    assert len(damaged) <= 1 and all("could not be finished" in (s.note or "") for s in damaged)
    assert len([s for s in segs if s.state == CLOSED]) >= 1


def consistent(index: RecordingIndex, root: Path) -> None:
    """Every row names a file whose bytes and hash it has right, nothing is left open, and
    no file on disk is missing from the index."""
    segs = index.segments()
    assert segs and not [s for s in segs if s.state == OPEN], segs
    for s in segs:
        assert s.path.exists() and s.path.stat().st_size == s.bytes, s
        assert s.sha256 == sha256(s.path), s
        if s.state == CLOSED:
            assert decoded_frames(s.path) == s.frames, s
    assert {p for p in root.rglob("*.mov")} == {s.path for s in segs}


def record_through_a_full_disk(rec: Recording, cam: int, disk: Path,
                               seen: list[tuple[str, str]]) -> tuple[float, int]:
    """Record, fill ``disk`` while recording, wait, free it; returns how long the camera
    said "disk full" before space came back and how many segments were written meanwhile."""
    index = rec.index
    rec.start([cam])
    wait_for(lambda: len(index.segments(cam, CLOSED)) >= 1, 60, "a first segment")
    ballast = fill(disk)
    wait_for(lambda: rec.recorders[cam].status.state == DISK_FULL, 60, "the camera to stop")
    full_at = time.monotonic()
    thread = rec.recorders[cam]._thread
    before = len(list(rec.root.rglob("*.mov")))
    time.sleep(8)  # longer than a segment, and than two looks at the disk
    assert thread is not None and thread.is_alive(), "the recorder thread died"
    assert rec.recorders[cam].status.state == DISK_FULL
    written = len(list(rec.root.rglob("*.mov"))) - before
    ballast.unlink()
    wait_for(lambda: seen[-1][0] == RECORDING, 60, "recording to resume once space returned")
    resumed = time.monotonic() - full_at
    gap = next(g for g in index.gaps(cam) if g.reason == "disk full: recording stopped")
    wait_for(lambda: any(s.start_utc and gap.end_utc and s.start_utc >= gap.end_utc
                         and s.state == CLOSED for s in index.segments(cam)), 30,
             "a segment after the gap")
    return resumed, written


def gap_fits_the_footage(index: RecordingIndex, cam: int) -> None:
    """The disk-full gap starts at the last frame written and ends at the first frame after."""
    gap = next(g for g in index.gaps(cam) if g.reason == "disk full: recording stopped")
    assert gap.end_utc is not None, gap
    segs = index.segments(cam)
    cut = max((s for s in segs if s.end_utc and s.end_utc <= gap.start_utc),
              key=lambda s: s.end_utc or "")
    after = min((s for s in segs if s.start_utc and s.start_utc >= gap.end_utc),
                key=lambda s: s.start_utc or "")
    secs = lambda a, b: (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()  # noqa: E731
    print(f"gap {gap.start_utc} .. {gap.end_utc} ({secs(gap.start_utc, gap.end_utc):.1f} s); "
          f"footage ends {secs(cut.end_utc or '', gap.start_utc):.2f} s before it, resumes "
          f"{secs(gap.end_utc, after.start_utc or ''):.2f} s after it")
    assert secs(cut.end_utc or "", gap.start_utc) < 0.5
    assert 0 <= secs(gap.end_utc, after.start_utc or "") < 5  # the first keyframe after
    assert not [g for g in index.gaps(cam) if g.end_utc is None and g.reason != "recorder stopped"]


def test_a_full_recording_disk_stops_the_camera_until_space_returns(
        rsim: Sim, site: Site, tmp_path: Path) -> None:
    """Issue 22: a full recording disk stopped the camera for good (the thread returned)."""
    cam = site.ids["cam1"]
    seen: list[tuple[str, str]] = []

    def said(st: RecorderStatus) -> None:
        seen.append((st.state, st.detail))
    with tmpfs(tmp_path / "media", "16m") as media:
        rec = Recording(site.profile, site.operator, root=media, segment_s=2, on_status=said)
        try:
            resumed, written = record_through_a_full_disk(rec, cam, media, seen)
        finally:
            rec.stop()
        print("states:", seen)
        full = [d for st, d in seen if st == DISK_FULL]
        assert full and f"the recording disk is full ({media})" in full[0], full
        assert written == 0, "segments were begun on a full disk"
        assert resumed < 8 + 10, f"resumed {resumed:.1f} s after the disk filled"
        gap_fits_the_footage(rec.index, cam)
        consistent(rec.index, media)
        assert len(rec.index.segments(cam, DAMAGED)) <= 1


def test_a_full_disk_under_the_index_stops_the_camera_until_space_returns(
        rsim: Sim, tmp_path: Path) -> None:
    """Issue 22: with the profile (and so recordings.db) on a full disk, SQLite's "database
    or disk is full" crashed the recorder thread, left the segment row open with a wrong
    size and wrote no gap."""
    seen: list[tuple[str, str]] = []

    def said(st: RecorderStatus) -> None:
        seen.append((st.state, st.detail))
    with tmpfs(tmp_path / "profile-disk", "24m") as disk:
        site = register(rsim, disk / "profile", ["cam1"])
        cam = site.ids["cam1"]
        media = tmp_path / "media"  # the footage has room; only the index's disk fills
        rec = Recording(site.profile, site.operator, root=media, segment_s=2, on_status=said)
        try:
            resumed, _ = record_through_a_full_disk(rec, cam, disk, seen)
        finally:
            rec.stop()
            site.profile.close()
        print("states:", seen)
        full = [d for st, d in seen if st == DISK_FULL]
        index_path = disk / "profile" / "recordings.db"
        assert full and f"the disk holding the recording index is full ({index_path})" \
            in full[0], full
        assert resumed < 8 + 10, f"resumed {resumed:.1f} s after the disk filled"
        index = RecordingIndex(index_path)
        gap_fits_the_footage(index, cam)
        consistent(index, media)
        assert index.segments(cam, DAMAGED) == []  # the files themselves had room
        index.close()


def test_a_restart_on_a_full_index_disk_waits_then_recovers_what_the_last_run_left(
        rsim: Sim, site: Site, tmp_path: Path) -> None:
    """Issue 22: a restart on a full index disk repeated the crash (recovering the killed
    run's open segment raised "database or disk is full"). Only recordings.db is on the
    small disk here, by a link, so the profile's audit trail can still be written."""
    with tmpfs(tmp_path / "index-disk", "16m") as disk:
        db = site.path / "recordings.db"
        assert not db.exists()
        db.symlink_to(disk / "recordings.db")
        env = ensure_admin(site.path)
        args = ("--data-dir", str(site.path), "record", "--camera", "cam1")
        first = subprocess.Popen(vms_cmd(*args, "--segment-seconds", "60"), env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        index = RecordingIndex(db)
        try:
            wait_for(lambda: any(s.frames > 0 and s.bytes > 20_000
                                 for s in index.segments(state=OPEN)), 60, "footage")
        finally:
            first.kill()
            first.wait(10)
        killed = index.segments(state=OPEN)
        assert len(killed) == 1
        ballast = fill(disk)
        lines: list[str] = []
        second = subprocess.Popen(vms_cmd(*args, "--segment-seconds", "3"), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def read() -> None:
            assert second.stdout is not None
            lines.extend(second.stdout)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            wait_for(lambda: any("disk full" in line for line in lines), 60,
                     "the restarted recorder to say the disk is full")
            time.sleep(5)
            assert second.poll() is None, "the restarted recorder gave up"
            assert index.segments(state=OPEN) == killed  # nothing could be written yet
            ballast.unlink()
            wait_for(lambda: index.segments(state=RECOVERED)
                     and len(index.segments(state=CLOSED)) >= 2, 60,
                     "the killed run's segment recovered and recording resumed")
        finally:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=60)
            reader.join(10)
        print("".join(lines))
        assert second.returncode == 0 and "Traceback" not in err, err
        full = next(line for line in lines if "disk full" in line)
        assert f"the disk holding the recording index is full ({db})" in full
        got = index.segments(state=RECOVERED)
        assert [s.id for s in got] == [killed[0].id]
        assert got[0].bytes == killed[0].path.stat().st_size and \
            got[0].sha256 == sha256(killed[0].path)
        gaps = index.gaps()
        crash = [g for g in gaps if g.reason == "recorder stopped unexpectedly"]
        assert len(crash) == 1 and crash[0].start_utc == killed[0].end_utc, gaps
        after = [s for s in index.segments(state=CLOSED) if s.id > killed[0].id]
        assert crash[0].end_utc and after and crash[0].end_utc <= min(
            s.start_utc or "" for s in after), (crash, after)
        assert [g.reason for g in gaps if g.end_utc is None] == ["recorder stopped"], gaps
        consistent(index, site.path / "recordings")
        index.close()


def test_a_second_recorder_leaves_the_running_ones_footage_alone(rsim: Sim, site: Site) -> None:
    """Issue 22: a second `vms record` on the profile marked the running recorder's open
    segments "recovered after a crash" and wrote open-ended "recorder stopped unexpectedly"
    gaps over footage still being recorded: a false statement in a court exhibit."""
    env = ensure_admin(site.path)
    first = subprocess.Popen(vms_cmd("--data-dir", str(site.path), "record", "--segment-seconds",
                                     "4"), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    index = RecordingIndex(site.path / "recordings.db")
    try:
        wait_for(lambda: {s.camera for s in index.segments(state=OPEN) if s.frames > 0}
                 == {"cam1", "hp1"}, 60, "the first recorder writing both cameras")
        second = subprocess.run(vms_cmd("--data-dir", str(site.path), "record", "--duration",
                                        "3"), env=env, capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 2, second.stdout + second.stderr
        assert "a site service already runs on this profile" in second.stderr
        assert "Traceback" not in second.stderr
        assert index.segments(state=RECOVERED) == []
        assert [g for g in index.gaps() if "unexpectedly" in g.reason] == []
        before = len(index.segments(state=CLOSED))
        wait_for(lambda: len(index.segments(state=CLOSED)) >= before + 2, 30,
                 "the first recorder still closing segments")
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(30)
    assert first.returncode == 0, first.stderr
    assert index.segments(state=RECOVERED) == [] and index.segments(state=OPEN) == []
    index.close()


def test_a_camera_without_a_stored_password_does_not_stop_the_others(rsim: Sim,
                                                                    site: Site) -> None:
    row = site.profile.registry.device(site.ids["hp1"])
    site.profile.credentials.delete(row.uid)
    env = ensure_admin(site.path)
    proc = subprocess.Popen(vms_cmd("--data-dir", str(site.path), "record", "--segment-seconds",
                                    "2", "--json"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    index = RecordingIndex(site.path / "recordings.db")
    try:
        # wait for footage rather than a fixed run: on a loaded machine the first keyframe of
        # cam1 can take longer than a short --duration
        wait_for(lambda: any(s.frames > 0 for s in index.segments()), 60,
                 "the recorder writing cam1")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        index.close()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert [c["camera"] for c in summary["cameras"]] == ["cam1"]
    assert "password is not in the keyring" in summary["skipped"]["hp1"]
    assert summary["segments"] >= 1


def test_record_for_ten_seconds_stops_on_time(rsim: Sim, site: Site) -> None:
    """Issue 22: a `vms record --duration 10` run took 26 s. From the moment it says it is
    recording to its exit, every segment closed, it takes the duration and a little more."""
    env = ensure_admin(site.path)
    began = time.monotonic()
    proc = subprocess.Popen(vms_cmd("--data-dir", str(site.path), "record", "--duration", "10",
                                    "--segment-seconds", "4"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        recording_at = None
        for line in proc.stdout:
            if line.startswith("Recording "):
                recording_at = time.monotonic()
                break
        assert recording_at is not None, proc.stderr.read() if proc.stderr else ""
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    ended = time.monotonic()
    print(f"start-up {recording_at - began:.1f} s, recording to exit {ended - recording_at:.1f} s")
    assert proc.returncode == 0, err
    assert ended - recording_at < 10 + 4, "stopping took more than a few seconds"
    assert ended - began < 10 + 15
    index = RecordingIndex(site.path / "recordings.db")
    segs = index.segments()
    assert segs and all(s.state == CLOSED and s.sha256 == sha256(s.path) for s in segs), segs
    index.close()


def test_a_camera_clock_off_by_minutes_and_stepping_keeps_one_timeline(
        rsim: Sim, site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """The index is on the recorder's clock: a camera 40 s fast, stepped while recorded and
    reconnected while off, gives footage at the moments it happened, files without jumps,
    and no gap over footage (the 60-minute soak found gaps over footage after such steps)."""
    cam = site.ids["hp1"]  # video and audio: FFmpeg re-times both by the camera's RTCP clock
    rec = Recording(site.profile, site.operator, segment_s=3)
    caplog.set_level("INFO", logger="vms.recording.recorder")
    t0 = time.time()
    try:
        rec.start([cam])
        index = rec.index
        wait_for(lambda: len(index.segments(cam, CLOSED)) >= 2, 30, "two segments")
        rsim.cli("skew", "hp1", "40")  # steps 40 s forward while recorded
        try:
            time.sleep(7)
            rsim.cli("offline", "hp1")
            wait_for(lambda: any(g.reason.startswith("camera offline") for g in index.gaps(cam)),
                     40, "the outage's gap")
            time.sleep(2)
            rsim.cli("online", "hp1")  # comes back still 40 s fast
            wait_for(lambda: index.gaps(cam)[-1].end_utc is not None, 60, "recording to resume")
            n = len(index.segments(cam, CLOSED))
            wait_for(lambda: len(index.segments(cam, CLOSED)) >= n + 2, 30, "footage after it")
        finally:
            rsim.cli("skew", "hp1", "0")  # and steps back 40 s while recorded
        time.sleep(8)
    finally:
        rec.stop()
    t1 = time.time()
    index = rec.index
    segs = index.segments(cam)
    gaps = [g for g in index.gaps(cam) if g.end_utc]
    at = lambda s: datetime.fromisoformat(s).timestamp()  # noqa: E731
    print(f"{len(segs)} segments, gaps: {[(g.reason, g.start_utc, g.end_utc) for g in gaps]}")
    steps = [r.getMessage() for r in caplog.records if "clock stepped" in r.getMessage()]
    print("\n".join(steps))
    assert steps, "the camera's clock steps never reached the recorder: the test proves nothing"
    assert all(s.state == CLOSED for s in segs), [(s.state, s.note) for s in segs]
    for s in segs:
        assert s.start_utc and s.end_utc and s.clock == "recorder"
        assert t0 - 1 <= at(s.start_utc) <= at(s.end_utc) <= t1 + 1, (s, t0, t1)
        with av.open(str(s.path)) as c:
            v = c.streams.video[0]
            times = [float(p.pts * v.time_base) for p in c.demux(v) if p.pts is not None]
        span = max(times) - min(times)
        assert abs(span - (at(s.end_utc) - at(s.start_utc))) < 0.5, \
            f"{s.path.name}: the file runs {span:.1f} s, the index {s.start_utc}..{s.end_utc}"
    for a, b in itertools.pairwise(segs):  # a lock on one must not hold its neighbour
        assert a.end_utc and b.start_utc and at(a.end_utc) < at(b.start_utc), \
            f"segments {a.id} and {b.id} overlap: {a.end_utc} > {b.start_utc}"
    for g in gaps:
        assert g.end_utc is not None
        over = [s.id for s in segs if s.start_utc and s.end_utc and min(at(g.end_utc),
                at(s.end_utc)) - max(at(g.start_utc), at(s.start_utc)) > 0.2]
        assert not over, f"gap {g.reason!r} {g.start_utc}..{g.end_utc} lies over {over}"
    # Every moment from the first frame to the last is in a segment or a gap that says why.
    spans = sorted([(at(s.start_utc or ""), at(s.end_utc or "")) for s in segs] +
                   [(at(g.start_utc), at(g.end_utc or "")) for g in gaps])
    reach = spans[0][1]
    for a, b in spans[1:]:
        assert a - reach < 0.5, f"nothing says what happened for {a - reach:.1f} s"
        reach = max(reach, b)
