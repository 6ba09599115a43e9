"""Continuous recording of one camera: RTSP in (PyAV), segments out, the index kept current.

One thread per camera. Packets are remuxed, never decoded. A segment is cut at the first
keyframe after ``segment_s`` seconds. When the camera goes away the open segment is
closed, a gap is opened with the reason, and the recorder retries with backoff; the gap
ends at the first frame after it comes back. Wall-clock times come from the camera's RTCP
sender reports (FFmpeg's ``start_time_realtime``), which can arrive seconds after the
stream starts: until then times are our own receive times, and the segment says so
(``clock = 'local'``) until the camera's clock is known.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
from av.packet import Packet

from vms.media_errors import explain
from vms.recording.index import CLOSED, RecordingIndex, utc
from vms.recording.segment import SegmentWriter
from vms.wall.backoff import Backoff

log = logging.getLogger(__name__)

SEGMENT_S = 60.0
PROGRESS_S = 2.0  # how often an open segment's end time and counts reach the index
OPEN_TIMEOUT_S = 10.0
NOPTS = -(1 << 63)

# States shown to operators and in ``vms record``'s output.
STARTING, RECORDING, RETRYING, DISK_FULL, STOPPED = (
    "starting", "recording", "retrying", "disk full", "stopped")


@dataclass
class RecorderStatus:
    camera_id: int
    camera: str
    state: str = STARTING
    detail: str = ""
    segments: int = 0
    packets: int = 0
    bytes: int = 0
    last_frame_utc: str | None = None
    errors: list[str] = field(default_factory=list)


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


class CameraRecorder:
    def __init__(self, index: RecordingIndex, root: Path, camera_id: int, camera: str,
                 url: Callable[[], str], *, segment_s: float = SEGMENT_S,
                 on_status: Callable[[RecorderStatus], None] | None = None) -> None:
        """``url`` gives the RTSP URL with credentials each time it is needed (never logged)."""
        self.index = index
        self.root = root
        self.camera_id = camera_id
        self.camera = camera
        self.url = url
        self.segment_s = segment_s
        self.on_status = on_status
        self.status = RecorderStatus(camera_id, camera)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A gap left open by the last run ("recorder stopped") ends at our first frame.
        self._gap: int | None = index.open_gap_id(camera_id)
        self._last_wall: float | None = None

    # -- control ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"record-{self.camera}",
                                        daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _say(self, state: str, detail: str = "") -> None:
        if (state, detail) == (self.status.state, self.status.detail):
            return
        self.status.state, self.status.detail = state, detail
        if self.on_status is not None:
            self.on_status(self.status)

    # -- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                self._record_once(backoff)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    self._open_gap("disk full: recording stopped")
                    self._say(DISK_FULL, f"the recording disk is full ({self.root})")
                    log.error("%s: recording stopped, the disk is full", self.camera)
                    return
                self._failed(exc, backoff)
            except av.FFmpegError as exc:
                self._failed(exc, backoff)
        self._open_gap("recorder stopped")
        self._say(STOPPED)

    def _failed(self, exc: BaseException, backoff: Backoff) -> None:
        reason = explain(exc, self.camera)
        self._open_gap(f"camera offline: {reason}")
        delay = backoff.next_delay()
        self._say(RETRYING, f"{reason}; retrying in {delay:.0f} s")
        log.info("%s: %s; retry in %.1f s", self.camera, reason, delay)
        self._stop.wait(delay)

    def _open_gap(self, reason: str) -> None:
        if self._gap is None:
            start = utc(self._last_wall if self._last_wall is not None else time.time())
            self._gap = self.index.open_gap(self.camera_id, self.camera, start, reason)

    def _end_gap(self, wall: float) -> None:
        if self._gap is not None:
            self.index.end_gap(self._gap, utc(wall))
            self._gap = None

    def _record_once(self, backoff: Backoff) -> None:
        opts = {"rtsp_transport": "tcp", "timeout": str(int(OPEN_TIMEOUT_S * 1e6))}
        with av.open(self.url(), options=opts, timeout=(OPEN_TIMEOUT_S, OPEN_TIMEOUT_S)) as inp:
            video = next((s for s in inp.streams.video), None)
            if video is None:
                raise av.error.InvalidDataError(errno.EINVAL, "the stream carries no video")
            audio = next((s for s in inp.streams.audio), None)
            streams = [video] + ([audio] if audio is not None else [])
            merge = _Merge()
            seg: _Open | None = None
            clock = _Clock(inp)
            try:
                for pkt in inp.demux(streams):
                    if self._stop.is_set():
                        break
                    if pkt.dts is None or pkt.size == 0:
                        continue  # FFmpeg's flush packets, and packets with no time
                    now = time.time()
                    clock.saw(pkt, now)
                    self.status.packets += 1
                    if pkt.stream is audio:
                        if seg is not None:
                            seg.writer.write_audio(pkt)
                        continue
                    out = merge.push(pkt)
                    if out is None or out.pts is None:
                        continue
                    ts = float(out.pts * out.time_base)
                    if seg is None or (out.is_keyframe and ts - seg.first_s >= self.segment_s):
                        if seg is not None:
                            self._close(seg, clock)
                        if not out.is_keyframe:
                            continue  # a segment starts with a keyframe, so it plays alone
                        seg = self._open(video, audio, ts, clock)
                    seg.writer.write_video(out)
                    seg.last_s = ts
                    self._last_wall = clock.wall(ts)
                    if seg.writer.frames == 1:
                        self._end_gap(clock.wall(ts))
                        backoff.reset()
                        self._say(RECORDING)
                    if now - seg.progress_at >= PROGRESS_S:
                        seg.progress_at = now
                        self._progress(seg, clock)
            finally:
                if seg is not None:
                    self._close(seg, clock)
        if not self._stop.is_set():
            raise av.error.EOFError(errno.EPIPE, "the camera ended the stream")

    # -- segments ---------------------------------------------------------------------------
    def _open(self, video: av.video.stream.VideoStream, audio: av.audio.stream.AudioStream | None,
              first_s: float, clock: _Clock) -> _Open:
        wall = clock.wall(first_s)
        day = time.strftime("%Y-%m-%d", time.gmtime(wall))
        folder = self.root / f"camera-{self.camera_id}" / day
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(wall)) + f"{wall % 1:.3f}"[1:]
        path = folder / f"{self.camera}-{stamp}Z.mov"
        n = 1
        while path.exists():  # a camera whose clock went back: never overwrite
            path = folder / f"{self.camera}-{stamp}Z-{n}.mov"
            n += 1
        writer = SegmentWriter(path, video, audio, first_s)
        seg_id = self.index.open_segment(self.camera_id, self.camera, path,
                                         video.codec_context.name,
                                         audio.codec_context.name if audio is not None else None,
                                         utc(wall), clock.source)
        self.status.segments += 1
        return _Open(seg_id, writer, first_s, first_s, time.time())

    def _span(self, seg: _Open, clock: _Clock) -> dict[str, object]:
        """What the index knows of a segment so far, timed by the best clock known now."""
        return {"start_utc": utc(clock.wall(seg.first_s)), "end_utc": utc(clock.wall(seg.last_s)),
                "clock": clock.source, "frames": seg.writer.frames, "bytes": seg.writer.bytes}

    def _progress(self, seg: _Open, clock: _Clock) -> None:
        self.status.bytes = seg.writer.bytes
        self.status.last_frame_utc = utc(clock.wall(seg.last_s))
        self.index.update_segment(seg.id, **self._span(seg, clock))

    def _close(self, seg: _Open, clock: _Clock) -> None:
        try:
            digest = seg.writer.close()
        except OSError as exc:
            seg.writer.abandon()
            self.index.update_segment(seg.id, state=CLOSED, **self._span(seg, clock),
                                      note=f"the segment could not be finished: {exc.strerror}")
            raise
        self.index.update_segment(seg.id, state=CLOSED, **self._span(seg, clock), sha256=digest,
                                  closed_at=utc(time.time()))


class _Clock:
    """Input time to wall-clock time: the camera's RTCP clock once FFmpeg has it (it can
    arrive seconds after the stream starts), our receive time until then."""

    def __init__(self, inp: av.container.InputContainer) -> None:
        self.inp = inp
        self.local_base: float | None = None

    def saw(self, pkt: Packet, now: float) -> None:
        if self.local_base is None and pkt.pts is not None:
            self.local_base = now - float(pkt.pts * pkt.time_base)

    def _rtcp(self) -> float | None:
        rt = self.inp.start_time_realtime
        return None if rt in (None, NOPTS, 0) else rt / 1e6

    @property
    def source(self) -> str:
        return "rtcp" if self._rtcp() is not None else "local"

    def wall(self, t: float) -> float:
        base = self._rtcp()
        if base is None:
            base = self.local_base if self.local_base is not None else time.time() - t
        return base + t


@dataclass
class _Open:
    id: int
    writer: SegmentWriter
    first_s: float
    last_s: float
    progress_at: float
