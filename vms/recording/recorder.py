"""Continuous recording of one camera: RTSP in (PyAV), segments out, the index kept current.

One thread per camera. Packets are remuxed, never decoded. A segment is cut at the first
keyframe after ``segment_s`` seconds. When the camera goes away the open segment is
closed, a gap is opened with the reason, and the recorder retries with backoff; the gap
ends at the first frame after it comes back. Wall-clock times are the recorder's own
(``clock = 'recorder'``, see ``_Clock``): a camera's clock can be off by minutes or step
while we watch, and footage timed by it across reconnections overlapped its own gaps.

In event mode nothing is written until ``trigger`` or ``hold``: the stream is kept in memory
from the newest keyframe at least ``preroll_s`` old, so the segment an alarm opens starts
before the alarm (keyframe-aligned, so it plays from its first frame), and it runs on for
``postroll_s`` after the last trigger or release.

A full disk, under the recordings or under the index (SQLite's "database or disk is full"),
stops the camera cleanly: the segment is closed (or marked damaged, hashed as it is), a
"disk full" gap is opened, and the recorder waits, looking at the free space every few
seconds, then records again; the gap ends at the first frame after. Index writes that could
not be made (a segment's final row, the gap) are kept in memory, in order, and made first.

The thread, its reconnects and the words for the connection's state are the one stream
worker's (``vms.media.worker``); what the recorder adds are its own: recording, waiting for
an event, disk full.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import shutil
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import av
from av.packet import Packet

from vms.errors import DeviceError
from vms.media.errors import explain
from vms.media.worker import StreamState, StreamWorker
from vms.recording.index import CLOSED, DAMAGED, RecordingIndex, utc
from vms.recording.segment import SegmentWriter
from vms.recording.sink import sha256_file
from vms.retry import Backoff
from vms.safety.streamsafe import ffmpeg_options
from vms.sqlite_local import disk_full

log = logging.getLogger(__name__)

SEGMENT_S = 60.0
PREROLL_S = 30.0
PREROLL_SLACK_S = 10.0  # kept beyond the pre-roll: an alarm reaches us after it happened
POSTROLL_S = 30.0
LATE_S = 5.0  # how long past the post-roll frames still come in that belong inside it
CONTINUOUS, EVENT = "continuous", "event"
PAUSE_S = 1.0  # a longer silence in a camera's video between two segments is written as a gap
PROGRESS_S = 2.0  # how often an open segment's end time and counts reach the index
OPEN_TIMEOUT_S = 10.0
STEP_S = 1.0  # a stream's time running this much faster than it arrives: the camera's clock stepped
CLOCK_OFF_S = 10.0  # a camera clock further off ours than this is logged (about: the
# first sender report is placed to within its interval)
DRIFT_S = 0.05  # the most the delay estimate may grow per segment (clock drift is ~6 ms/min)
NOPTS = -(1 << 63)
DISK_CHECK_S = 3.0  # how often a full disk is looked at again
RESUME_FREE_BYTES = 256 << 20  # free space to record again (or a tenth of a smaller disk):
# resuming at the first free byte would fill it again at once, gap after gap

# States shown to operators and in ``vms record``'s output: the stream worker's words for
# the connection, and what the recorder does with a live stream.
STARTING, RETRYING, STOPPED = StreamState.CONNECTING, StreamState.RETRYING, StreamState.STOPPED
RECORDING, WAITING, DISK_FULL = "recording", "waiting for an event", "disk full"


@dataclass
class RecorderStatus:
    camera_id: int
    camera: str
    state: str = STARTING
    detail: str = ""
    segments: int = 0
    packets: int = 0  # received, video and audio
    video_frames: int = 0  # received
    bytes_received: int = 0  # payload demuxed
    bytes: int = 0  # of the segment being written
    last_frame_utc: str | None = None
    errors: list[str] = field(default_factory=list)  # the latest failures, newest last

    @property
    def reason(self) -> str:
        """The stream worker's name for it: every reader's status has a ``reason``."""
        return self.detail


class _DiskFull(Exception):
    """Recording cannot go on: a disk is full (which one is in the recorder's ``_full``)."""


def _room(path: Path) -> bool:
    """Is there enough free space under ``path`` to record again?"""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return False
    return usage.free >= min(RESUME_FREE_BYTES, usage.total // 10)


class _Ref:
    """A row id the index may not have given yet (its insert is waiting for space)."""

    def __init__(self, row_id: int | None = None) -> None:
        self.id = row_id


def _timed(packets: Iterator[Packet], video: av.video.stream.VideoStream) -> Iterator[Packet]:
    """FFmpeg's RTSP input gives the very first frame (a keyframe) no timestamp: it is given
    the next frame's less one frame period, instead of being dropped with its whole GOP."""
    untimed: Packet | None = None
    rate = video.guessed_rate or video.average_rate or 25
    for pkt in packets:
        if pkt.stream is video and pkt.size and pkt.pts is None and pkt.dts is None:
            if untimed is None:
                untimed = pkt
                continue
        elif untimed is not None and pkt.stream is video and pkt.dts is not None \
                and pkt.time_base:
            step = max(1, round(1 / (rate * pkt.time_base)))
            untimed.dts = pkt.dts - step
            untimed.pts = (pkt.pts if pkt.pts is not None else pkt.dts) - step
            untimed.time_base = pkt.time_base
            yield untimed
            untimed = None
        yield pkt


class _Merge:
    """Cameras can send one keyframe as two packets with the same timestamp; muxers refuse
    the second. Hold each video packet until the next one shows it is complete."""

    def __init__(self) -> None:
        self.held: Packet | None = None

    def push(self, pkt: Packet) -> Packet | None:
        held = self.held
        if held is not None and pkt.pts is not None and pkt.pts == held.pts and \
                pkt.dts == held.dts:
            merged = Packet(bytes(held) + bytes(pkt))
            merged.pts, merged.dts, merged.time_base = held.pts, held.dts, held.time_base
            merged.is_keyframe = held.is_keyframe or pkt.is_keyframe
            self.held = merged
            return None
        self.held = pkt
        return held


class CameraRecorder(StreamWorker):
    thread_name = "record"
    stable_s = 0.0  # any session that recorded resets the backoff
    offline_after = None  # the recorder says "retrying" however long it lasts (the gap says since when)
    status: RecorderStatus  # type: ignore[assignment]  # the worker's, with the recorder's counts

    def __init__(self, index: RecordingIndex, root: Path, camera_id: int, camera: str,
                 url: Callable[[], str], *, segment_s: float = SEGMENT_S,
                 on_status: Callable[[RecorderStatus], None] | None = None,
                 mode: str = CONTINUOUS, preroll_s: float = PREROLL_S,
                 postroll_s: float = POSTROLL_S,
                 recover: Callable[[], object] | None = None) -> None:
        """``url`` gives the RTSP URL with credentials each time it is needed (never logged).
        ``recover``: the last run's open segments of this camera, which a full index disk
        kept from being recovered at start; done first, once there is space."""
        if mode not in (CONTINUOUS, EVENT):
            raise ValueError(f"recording mode {mode!r}: one of {CONTINUOUS}, {EVENT}")
        super().__init__(camera, Backoff())
        self.mode = mode
        self.preroll_s = preroll_s
        self.postroll_s = postroll_s
        self._armed_until = 0.0  # event mode: write until this host time...
        self._holds: set[str] = set()  # ...or while anything holds it (a call in progress)
        self._from_wall: float | None = None  # ...starting from this wall-clock time
        self._arm_lock = threading.Lock()
        self.index = index
        self.root = root
        self.camera_id = camera_id
        self.camera = camera
        self.url = url
        self.segment_s = segment_s
        self.on_status = on_status
        # the worker's status, with the recorder's counts (``_report`` keeps it)
        self.status = RecorderStatus(camera_id, camera)
        self._last_wall: float | None = None
        self._pending: list[Callable[[], None]] = []  # index writes waiting for space, in order
        self._full: set[str] = set()  # "media", "index": the disks found full
        self._gap: _Ref | None = None
        # A gap ended at a reconnection: its end is re-timed with the open segment's span at
        # each progress write until that segment closes, so the two meet however the
        # connection's delay estimate settles (an estimate 1-2 s off left a hole, or a gap
        # over footage).
        self._retime: tuple[_Ref, float] | None = None
        self._after: float | None = None  # where the last closed segment ends in the index
        self._fault = False  # the last session failed in the recorder, not at the camera
        if recover is None:
            self._adopt_gap()
        else:
            def recovery() -> None:
                recover()
                self._adopt_gap()
            self._pending.append(recovery)
            self._full.add("index")

    def _adopt_gap(self) -> None:
        """A gap left open by the last run ("recorder stopped", or "stopped unexpectedly"
        from a recovery) ends at our first frame; it also covers a wait for space before."""
        gap = self.index.open_gap_id(self.camera_id)
        if gap is not None:
            if self._gap is None:
                self._gap = _Ref(gap)
            elif self._gap.id is None:
                self._gap.id = gap  # it covers the wait: the "disk full" one is not written

    # -- control ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask it to end without waiting (a service stops every recorder at once, then joins)."""
        self._stop.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self.join(timeout)

    def _arm_from(self, at: float | None) -> None:
        start = (time.time() if at is None else at) - self.preroll_s
        if self._from_wall is None or start < self._from_wall:
            self._from_wall = start

    def trigger(self, postroll_s: float | None = None, at: float | None = None) -> None:
        """An alarm that happened at wall-clock time ``at`` (default now): record from the
        pre-roll before it until ``postroll_s`` (default the recorder's) from now. Any thread."""
        with self._arm_lock:
            until = time.time() + (self.postroll_s if postroll_s is None else postroll_s)
            self._armed_until = max(self._armed_until, until)
            self._arm_from(at)

    def hold(self, key: str, at: float | None = None) -> None:
        """Record from the pre-roll before ``at`` until ``release(key)`` (a call in progress)."""
        with self._arm_lock:
            self._holds.add(key)
            self._arm_from(at)

    def release(self, key: str) -> None:
        with self._arm_lock:
            if key in self._holds:
                self._holds.discard(key)
                self._armed_until = max(self._armed_until, time.time() + self.postroll_s)

    def _wanted(self, now: float, frame_wall: float) -> bool:
        """Event mode: while held, or until the post-roll ends. A frame that arrives late
        (loaded host, camera buffering) but was taken inside the post-roll is still wanted,
        so the footage reaches the lock's end; never more than ``LATE_S`` past it, whatever
        the camera's clock says."""
        if self.mode == CONTINUOUS:
            return True
        with self._arm_lock:
            until = self._armed_until
            return bool(self._holds) or now < until or (frame_wall < until
                                                        and now < until + LATE_S)

    def _say(self, state: str, detail: str = "") -> None:
        if (state, detail) == (self.status.state, self.status.detail):
            return
        self.status.state, self.status.detail = state, detail
        if self.on_status is not None:
            self.on_status(self.status)

    # -- the worker's hooks ------------------------------------------------------------------
    def _report(self, state: StreamState, reason: str = "", retry_at: float | None = None
                ) -> None:
        """The connection's states as the recorder says them; once live, its session says
        what it does (recording, waiting for an event), and its end says why it stopped."""
        if retry_at is not None:
            delay = max(0.0, retry_at - time.monotonic())
            self._say(state, f"{reason}; retrying in {delay:.0f} s")

    def _ready(self) -> bool:
        if self._full or self._pending:
            self._await_space()
            return False
        return True

    def _session(self) -> None:
        self._fault = False
        self._record_once()

    def _went_live(self) -> None:
        super()._went_live()
        self.backoff.reset()  # a connection that delivers resets it, however it then ends

    def _explain(self, exc: Exception) -> str | None:
        if isinstance(exc, _DiskFull):
            return None  # the next turn waits for space
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            self._full.add("media")
            return None
        if not isinstance(exc, OSError | av.FFmpegError | DeviceError):
            # Not the camera: the recorder itself (or its index) failed. Said as such in the
            # gap, with the traceback in the log, and tried again rather than left dead.
            log.exception("%s: the recorder failed", self.camera)
            self._fault = True
            return f"the recorder failed ({type(exc).__name__}); see the log"
        return explain(exc, self.camera)

    def _retrying(self, reason: str, delay: float) -> None:
        self.status.errors[:] = [*self.status.errors[-9:], reason]
        self._open_gap(f"recorder error: {reason}" if self._fault else
                       f"camera offline: {reason}")
        log.info("%s: %s; retry in %.1f s", self.camera, reason, delay)

    def _finished(self) -> None:
        self._open_gap("recorder stopped")
        if self._pending and not self._flush():
            log.error("%s: stopped with %d index write(s) not made, the index disk is full; "
                      "the next start recovers the open segment from its file", self.camera,
                      len(self._pending))
        # Stopped while failing: the summary keeps why (it said "stopped" and nothing more).
        failing = self.status.state in (RETRYING, StreamState.OFFLINE,
                                        StreamState.AUTH_FAILED) and self.status.errors
        if self._full:
            self._say(STOPPED, f"it was not recording: {self._which_disk()}")
        else:
            self._say(STOPPED, f"it was not recording: {self.status.errors[-1]}"
                      if failing else "")

    # -- a full disk ------------------------------------------------------------------------
    def _write(self, op: Callable[[], None]) -> bool:
        """One index write, or, when the index's disk is full (or earlier writes still wait),
        kept to be made in order once there is space. True if it was made now."""
        if not self._pending:
            try:
                op()
                return True
            except sqlite3.OperationalError as exc:
                if not disk_full(exc):
                    raise
                self._full.add("index")
        self._pending.append(op)
        return False

    def _must(self, op: Callable[[], None]) -> None:
        """An index write that recording cannot go on without."""
        if not self._write(op):
            raise _DiskFull

    def _flush(self) -> bool:
        """Make the index writes that waited for space; True when none is left."""
        while self._pending:
            try:
                self._pending[0]()
            except sqlite3.OperationalError as exc:
                if not disk_full(exc):
                    raise
                self._full.add("index")
                return False
            self._pending.pop(0)
        return True

    def _which_disk(self) -> str:
        """The full disk, in words an operator can act on."""
        where = {"media": self.root, "index": self.index.path}
        if self._full == {"media", "index"}:
            try:
                same = self.root.stat().st_dev == self.index.path.resolve().parent.stat().st_dev
            except OSError:
                same = False
            if same:
                return f"the disk holding the recordings and their index is full ({self.root})"
            return (f"the recording disk ({self.root}) and the disk holding the recording "
                    f"index ({self.index.path}) are full")
        if "index" in self._full:
            return f"the disk holding the recording index is full ({where['index']})"
        return f"the recording disk is full ({where['media']})"

    def _disk_full(self) -> None:
        self._open_gap("disk full: recording stopped")
        self._say(DISK_FULL, f"{self._which_disk()}; recording resumes when space is freed")
        log.error("%s: recording stopped, %s", self.camera, self._which_disk())

    def _await_space(self) -> None:
        """Until the full disks have room and the waiting index writes are made: a look
        every few seconds, no busier."""
        self._disk_full()
        while not self._stop.wait(DISK_CHECK_S):
            dirs = ([self.root] if "media" in self._full else []) + \
                ([self.index.path.resolve().parent] if "index" in self._full else [])
            if all(_room(d) for d in dirs) and self._flush():
                log.info("%s: there is space again; recording resumes", self.camera)
                self._full.clear()
                self._say(STARTING, "there is space again")
                return

    def _pause_gap(self, start: float, end: float) -> _Ref:
        """Its end is then kept on the next segment's start as the clock settles
        (``_follow_pause``): both are one moment, timed once."""
        a, b = utc(start), utc(end)
        gap = _Ref()

        def write() -> None:
            gap.id = self.index.add_gap(self.camera_id, self.camera, a, b,
                                        f"the camera sent no video for {end - start:.1f} s")
        self._write(write)
        return gap

    def _follow_pause(self, seg: _Open, start_utc: str) -> None:
        gap = seg.after_pause
        if gap is not None:
            self._write(lambda: self.index.retime_gap_end(gap.id or 0, start_utc))

    def _open_gap(self, reason: str) -> None:
        """Its start is the last frame's time, kept until the index can take it."""
        if self._gap is None:
            start = utc(self._last_wall if self._last_wall is not None else time.time())
            gap = self._gap = _Ref()

            def write() -> None:
                if gap.id is None:  # else a recovery that waited for space opened it
                    gap.id = self.index.open_gap(self.camera_id, self.camera, start, reason)
            self._write(write)

    def _end_gap(self, clock: _Clock, ts: float) -> None:
        """At the first frame (input time ``ts``) after the gap."""
        if self._gap is not None:
            gap, end = self._gap, utc(clock.wall(ts))
            self._gap = None
            self._must(lambda: self.index.end_gap(gap.id or 0, end))
            self._retime = (gap, ts)

    def _retime_gap(self, clock: _Clock, last: bool = False) -> None:
        if self._retime is not None:
            gap, ts = self._retime
            if last:
                self._retime = None
            end = utc(clock.wall(ts))
            self._write(lambda: self.index.retime_gap_end(gap.id or 0, end))

    def _record_once(self) -> None:
        # Reads are bounded by FFmpeg's own socket timeout, not PyAV's read timeout: that
        # one takes the GIL in every I/O wait, which with 16 recorders cost a tenth of the
        # process's CPU. PyAV's timeout bounds only the open (and names it a timeout).
        self._retime = None  # a new connection has a new clock
        opts = ffmpeg_options(rtsp_transport="tcp", timeout=str(int(OPEN_TIMEOUT_S * 1e6)))
        with av.open(self.url(), options=opts, timeout=(OPEN_TIMEOUT_S, None)) as inp:
            video = next((s for s in inp.streams.video), None)
            if video is None:
                raise av.error.InvalidDataError(errno.EINVAL, "the stream carries no video")
            audio = next((s for s in inp.streams.audio), None)
            streams = [video] + ([audio] if audio is not None else [])
            if not video.time_base:
                raise av.error.InvalidDataError(errno.EINVAL, "the video has no time base")
            vtb = float(video.time_base)  # once: Fraction arithmetic per packet is costly
            merge = _Merge()
            seg: _Open | None = None
            clock = _Clock(inp, self.camera)
            pre = _PreRoll(self.preroll_s + PREROLL_SLACK_S)
            settled_s = 0.0  # input time of the last settle() while waiting for an event
            connected = False
            ended = False
            try:
                for pkt in _timed(inp.demux(streams), video):
                    if self._stop.is_set():
                        break
                    if pkt.dts is None or pkt.size == 0:
                        continue  # FFmpeg's flush packets, and packets with no time
                    now = time.time()
                    clock.fix(pkt, now)
                    self.status.packets += 1
                    self.status.bytes_received += pkt.size
                    if pkt.stream is audio:
                        if seg is not None:
                            seg.writer.write_audio(pkt)
                        else:
                            pre.audio(pkt)
                        continue
                    out = merge.push(pkt)
                    if out is None or out.pts is None:
                        continue
                    self.status.video_frames += 1
                    ts = out.pts * vtb
                    self._last_wall = wall = clock.wall(ts)
                    if not connected:
                        connected = True
                        self._end_gap(clock, ts)
                        self._went_live()
                    wanted = self._wanted(now, wall)
                    if seg is not None and not wanted:
                        done, seg = seg, None
                        self._close(done, clock)  # the post-roll is over
                    if seg is None and not wanted:
                        pre.video(out, ts)
                        # Waiting for an event can last hours: the clock follows drift
                        # meanwhile, as it does at each segment's end when recording.
                        if ts - settled_s >= self.segment_s:
                            clock.settle()
                            settled_s = ts
                        self._say(WAITING, f"{self.preroll_s:g} s pre-roll in memory")
                        continue
                    if seg is None or (out.is_keyframe and ts - seg.first_s >= self.segment_s):
                        pause: _Ref | None = None
                        if seg is not None:
                            done, seg = seg, None
                            self._close(done, clock)
                            if ts - done.last_s > PAUSE_S:  # between the two segments: say so
                                # from where the index ends that segment (_close)
                                after = (self._after if self._after is not None
                                         else clock.wall(done.last_s))
                                pause = self._pause_gap(after, clock.wall(ts))
                        if pre.first_s is not None:  # an event: start from the pre-roll
                            with self._arm_lock:
                                start_wall, self._from_wall = self._from_wall, None
                            first_s, items = pre.take(None if start_wall is None else
                                                      start_wall - clock.wall(0.0))
                            seg = self._open(video, audio, first_s, clock)
                            for kind, held in items:
                                (seg.writer.write_video if kind == "v" else
                                 seg.writer.write_audio)(held)
                            seg.last_s = pre.last_s
                        elif not out.is_keyframe:
                            continue  # a segment starts with a keyframe, so it plays alone
                        else:
                            seg = self._open(video, audio, ts, clock)
                        seg.after_pause = pause
                        self._say(RECORDING)
                    seg.writer.write_video(out)
                    seg.last_s = ts
                    if now - seg.progress_at >= PROGRESS_S:
                        seg.progress_at = now
                        self._progress(seg, clock)
                ended = True  # the stream ended or we stopped; nothing failed
            finally:
                if seg is not None:
                    last = merge.held  # the stream's last frame: nothing came to complete it
                    if last is not None and last.pts is not None and not seg.closed \
                            and ended:  # never into a muxer that has just failed
                        self.status.video_frames += 1
                        at = float(last.pts * last.time_base)  # before the writer rebases it
                        with contextlib.suppress(OSError, av.FFmpegError):
                            seg.writer.write_video(last)
                            seg.last_s = at
                            self._last_wall = clock.wall(at)
                    self._close(seg, clock)
        if not self._stop.is_set():
            raise av.error.EOFError(errno.EPIPE, "the camera ended the stream")

    # -- segments ---------------------------------------------------------------------------
    def _open(self, video: av.video.stream.VideoStream, audio: av.audio.stream.AudioStream | None,
              first_s: float, clock: _Clock) -> _Open:
        wall = self._start(clock, first_s)
        day = time.strftime("%Y-%m-%d", time.gmtime(wall))
        folder = self.root / f"camera-{self.camera_id}" / day
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(wall)) + f"{wall % 1:.3f}"[1:]
        path = folder / f"{self.camera}-{stamp}Z.mov"
        n = 1
        while path.exists():  # a camera whose clock went back: never overwrite
            path = folder / f"{self.camera}-{stamp}Z-{n}.mov"
            n += 1
        if self._pending:
            raise _DiskFull  # no new segment while the index cannot take it
        writer = SegmentWriter(path, video, audio, first_s)
        try:
            seg_id = self.index.open_segment(
                self.camera_id, self.camera, path, video.codec_context.name,
                audio.codec_context.name if audio is not None else None, utc(wall),
                clock.source)
        except sqlite3.OperationalError as exc:
            writer.abandon()  # nothing muxed yet: an empty file no row names goes
            path.unlink(missing_ok=True)
            if not disk_full(exc):
                raise
            self._full.add("index")
            raise _DiskFull from None
        self.status.segments += 1
        return _Open(seg_id, writer, first_s, first_s, time.time())

    def _start(self, clock: _Clock, first_s: float) -> float:
        """A segment's start, never before the end of the one before it: the delay estimate
        can fall after a segment is closed (a quieter network), which would otherwise move
        the next one's start back over it, and a lock on one would then hold both."""
        wall = clock.wall(first_s)
        return wall if self._after is None else max(wall, self._after + 0.0015)  # 1 ms on

    def _span(self, seg: _Open, clock: _Clock) -> dict[str, Any]:
        """What the index knows of a segment so far, timed by the best clock known now."""
        start = self._start(clock, seg.first_s)
        return {"start_utc": utc(start), "end_utc": utc(max(start, clock.wall(seg.last_s))),
                "clock": clock.source, "frames": seg.writer.frames, "bytes": seg.writer.bytes}

    def _progress(self, seg: _Open, clock: _Clock) -> None:
        self._retime_gap(clock)
        self.status.bytes = seg.writer.bytes
        self.status.last_frame_utc = utc(clock.wall(seg.last_s))
        span = self._span(seg, clock)
        self._must(lambda: self.index.update_segment(seg.id, durable=False, **span))
        self._follow_pause(seg, span["start_utc"])

    def _close(self, seg: _Open, clock: _Clock) -> None:
        clock.settle()  # first: the gap's end and this segment are then timed alike
        self._retime_gap(clock, last=True)
        if seg.closed:
            return
        seg.closed = True
        try:
            digest = seg.writer.close()
        except (OSError, av.FFmpegError) as exc:
            seg.writer.abandon()
            # What reached the disk is kept and hashed as it is: a damaged segment still
            # plays up to its last complete fragment, and the index says so.
            try:
                on_disk, size = sha256_file(seg.writer.path)
            except OSError:
                on_disk, size = None, 0
            why = getattr(exc, "strerror", None) or str(exc)
            fields = {**self._span(seg, clock), "bytes": size, "sha256": on_disk,
                      "closed_at": utc(time.time()),
                      "note": f"the segment could not be finished ({why}); it holds what "
                              "reached the disk, readable up to its last complete fragment, "
                              "hashed as it is"}
            self._write(lambda: self.index.update_segment(seg.id, state=DAMAGED, **fields))
            raise
        fields = {**self._span(seg, clock), "sha256": digest, "closed_at": utc(time.time())}
        # A gap that follows starts where the index says this segment ends (the same mapping:
        # the delay estimate may have settled since the last frame was timed).
        self._last_wall = self._after = datetime.fromisoformat(fields["end_utc"]).timestamp()
        self._write(lambda: self.index.update_segment(seg.id, state=CLOSED, **fields))
        self._follow_pause(seg, fields["start_utc"])


class _Clock:
    """Input time to wall-clock time: the recorder's clock, never the camera's.

    A camera's clock can be minutes off ours, and can step while we watch (an NTP
    correction, someone setting it); footage timed by it across reconnections overlapped
    its own gaps. So a frame is placed at its arrival less the lowest delay seen on this
    connection: frames that waited in FFmpeg's probe or behind a busy host arrive late,
    never early. FFmpeg re-times packets by the camera's RTCP sender reports, so when the
    camera's clock steps, the packets' times step too: ``fix`` takes each step out of every
    later packet of that stream, so files and index run on without a jump. The camera's
    own clock is still read, to log how far off it is."""

    source = "recorder"

    def __init__(self, inp: av.container.InputContainer, camera: str = "") -> None:
        self.inp = inp
        self.camera = camera
        self.base: float | None = None  # wall = base + input time: the lowest video delay
        self._video: int | None = None  # the video stream's index
        self._shift: dict[int, int] = {}  # stream index -> ticks taken out (clock steps)
        self._last: dict[int, tuple[float, float]] = {}  # stream index -> (time, arrival)
        self._floor: dict[int, float] = {}  # stream index -> its lowest delay lately
        self._lows: dict[int, float] = {}  # stream index -> its lowest delay since settle()
        self._told = False

    def fix(self, pkt: Packet, now: float) -> None:
        """Take the camera's clock steps out of ``pkt`` (in place); learn the delay."""
        if pkt.dts is None or not pkt.time_base:
            return
        tb = float(pkt.time_base)
        idx = pkt.stream.index
        shift = self._shift.get(idx, 0)
        t = (pkt.dts + shift) * tb
        lag = now - t
        last, floor = self._last.get(idx), self._floor.get(idx)
        # Forward: the stream ran ahead of its arrival by more than jitter can explain (a
        # frame held back, then sent late, is not a step: the floor is the lowest delay, not
        # the last one). Back: its time went backwards, which no delay can do. Either way it
        # goes on from its last packet by one packet's length (or the time between their
        # arrivals), so audio and video each run on where they were and stay together.
        if last is not None and floor is not None and (lag < floor - STEP_S or t < last[0]):
            step_s = pkt.duration * tb if pkt.duration else now - last[1]
            target = min(last[0] + max(step_s, 0.001), now - floor)
            target = max(target, last[0] + 0.001)
            step = round((target - t) / tb)
            shift += step
            self._shift[idx] = shift
            t = (pkt.dts + shift) * tb
            lag = now - t
            log.info("%s: the camera's clock stepped %+.1f s; its footage runs on",
                     self.camera, -step * tb)
        if shift:
            pkt.dts += shift
            if pkt.pts is not None:
                pkt.pts += shift
        self._last[idx] = (t, now)
        self._floor[idx] = lag if floor is None else min(floor, lag)
        self._lows[idx] = min(self._lows.get(idx, lag), lag)
        if pkt.stream.type == "video":
            self._video = idx
            if self.base is None or lag < self.base:
                self.base = lag
            if not self._told:
                self._tell()

    def _tell(self) -> None:
        rt = self.inp.start_time_realtime
        if rt in (None, NOPTS, 0) or self.base is None:
            return
        self._told = True
        off = (rt / 1e6) - self.base  # the camera's time of a frame less ours
        if abs(off) > CLOCK_OFF_S:
            log.warning("%s: the camera's clock is about %.0f s %s this recorder's; its footage is "
                        "timed by this recorder's clock", self.camera, abs(off),
                        "ahead of" if off > 0 else "behind")

    def settle(self) -> None:
        """At a segment's end: follow, a little at a time, a delay that has grown for a whole
        segment (the camera's clock running slow against ours), so drift cannot build up
        over days of one connection; each step leaves at most ``DRIFT_S`` between segments."""
        window = self._lows.get(self._video) if self._video is not None else None
        if window is not None and self.base is not None and window > self.base:
            self.base = min(window, self.base + DRIFT_S)
        # Step detection follows the drift too, or a correction of a slowly drifted clock
        # would hide under the oldest, lowest delay.
        for idx, low in self._lows.items():
            self._floor[idx] = max(self._floor.get(idx, low), low)
        self._lows = {}

    def wall(self, t: float) -> float:
        base = self.base if self.base is not None else time.time() - t
        return base + t


class _PreRoll:
    """The last ``seconds`` of the stream in memory, from a keyframe, for event recording."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.items: deque[tuple[str, Packet]] = deque()
        self.keys: deque[tuple[int, float]] = deque()  # (items index, input time) of keyframes
        self.dropped = 0  # items dropped from the front so far (keys index correction)
        self.first_s: float | None = None
        self.last_s = 0.0

    def audio(self, pkt: Packet) -> None:
        if self.first_s is not None:  # audio before the first keyframe cannot be placed
            self.items.append(("a", pkt))

    def video(self, pkt: Packet, ts: float) -> None:
        if pkt.is_keyframe:
            self.keys.append((self.dropped + len(self.items), ts))
            if self.first_s is None:
                self.first_s = ts
        if self.first_s is None:
            return
        self.items.append(("v", pkt))
        self.last_s = ts
        # Start at the newest keyframe that still covers the whole pre-roll.
        while len(self.keys) >= 2 and ts - self.keys[1][1] >= self.seconds:
            self.keys.popleft()
            cut = self.keys[0][0] - self.dropped
            for _ in range(cut):
                self.items.popleft()
            self.dropped += cut
            self.first_s = self.keys[0][1]

    def take(self, start_s: float | None) -> tuple[float, list[tuple[str, Packet]]]:
        """The input time of the newest keyframe at or before ``start_s`` (or of the oldest
        held, when the pre-roll does not reach back that far) and everything from it."""
        skip, first = 0, self.keys[0][1]
        if start_s is not None:
            for pos, ts in self.keys:
                if ts <= start_s:
                    skip, first = pos - self.dropped, ts
        items = list(self.items)[skip:]
        self.items.clear()
        self.keys.clear()
        self.dropped = 0
        self.first_s = None
        return first, items


@dataclass
class _Open:
    id: int
    writer: SegmentWriter
    first_s: float
    last_s: float
    progress_at: float
    closed: bool = False
    after_pause: _Ref | None = None  # the pause gap this segment ends
