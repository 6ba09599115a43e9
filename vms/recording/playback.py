"""Playing recordings back by wall-clock time, several cameras in step.

``CameraReader`` finds the segment that holds a moment, seeks to the keyframe before it
and decodes forward, so a seek lands on the exact frame, not the keyframe. ``Player``
owns one reader per camera on its own thread and moves a shared position at the chosen
speed; every camera shows its frame for that position, or none where its recording has a
gap. Frames are handed over as RGB arrays; the GUI makes images of them on its own thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

from vms.recording.index import RecordingIndex, Segment

log = logging.getLogger(__name__)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
TICK_S = 0.04
CATCH_UP_S = 2.0  # further behind than this, seek instead of decoding every frame
JOIN_S = 2.0  # segments closer than this play as one


def ts(utc: str) -> float:
    return dt.datetime.fromisoformat(utc).timestamp()


@dataclass(frozen=True)
class Frame:
    camera_id: int
    at: float  # wall-clock time (epoch seconds) of the frame
    rgb: np.ndarray  # H x W x 3, uint8


class CameraReader:
    def __init__(self, index: RecordingIndex, camera_id: int, width: int = 640) -> None:
        self.index = index
        self.camera_id = camera_id
        self.width = width
        self.segments: list[Segment] = []
        self._seg: Segment | None = None
        self._container: av.container.InputContainer | None = None
        self._frames: object = None  # the decode generator of the open segment
        self._next: Frame | None = None  # decoded but not yet due
        self.current: Frame | None = None
        self.refresh()

    def refresh(self) -> None:
        """Re-read the index: a recording still being written grows."""
        self.segments = sorted((s for s in self.index.segments(self.camera_id)
                                if s.start_utc and s.end_utc and s.frames),
                               key=lambda s: s.start_utc or "")

    def span(self) -> tuple[float, float] | None:
        if not self.segments:
            return None
        return ts(self.segments[0].start_utc or ""), ts(self.segments[-1].end_utc or "")

    def _segment_at(self, t: float) -> Segment | None:
        for s in self.segments:
            if ts(s.start_utc or "") - 0.05 <= t <= ts(s.end_utc or "") + 0.5:
                return s
        return None

    def _open(self, seg: Segment) -> None:
        self.close()
        self._container = av.open(str(seg.path))
        self._seg = seg
        self._frames = None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._seg, self._frames, self._next = None, None, None, None

    def _decode(self) -> Frame | None:
        """The next frame of the open segment, or None at its end."""
        if self._container is None or self._seg is None:
            return None
        if self._frames is None:
            self._frames = self._container.decode(video=0)
        try:
            f = next(self._frames)  # type: ignore[call-overload]
        except (StopIteration, av.FFmpegError):
            return None  # the end, or the last fragment of a damaged segment
        start = ts(self._seg.start_utc or "")
        at = start + float(f.time or 0.0)
        h = max(2, round(f.height * self.width / max(1, f.width) / 2) * 2)
        rgb = f.to_ndarray(format="rgb24", width=self.width, height=h)
        return Frame(self.camera_id, at, rgb)

    def seek(self, t: float) -> Frame | None:
        """The frame showing at ``t`` (None in a gap)."""
        seg = self._segment_at(t)
        if seg is None:
            self.close()
            self.current = None
            return None
        try:
            self._open(seg)
            assert self._container is not None
            stream = self._container.streams.video[0]
            offset = t - ts(seg.start_utc or "")
            if offset > 0.5 and stream.time_base:
                self._container.seek(int(offset / stream.time_base), stream=stream,
                                     backward=True)
        except (OSError, av.FFmpegError) as exc:
            log.warning("cannot play %s: %s", seg.path.name, exc)
            self.close()
            self.current = None
            return None
        self.current = None
        return self.advance(t)

    def advance(self, t: float) -> Frame | None:
        """Decode forward to the last frame at or before ``t``."""
        if self._seg is None or not (ts(self._seg.start_utc or "") - 0.05 <= t
                                     <= ts(self._seg.end_utc or "") + 0.5):
            if self._segment_at(t) is None:
                self.close()
                self.current = None
                return None
            if self._seg is None or self.current is None or t - self.current.at > CATCH_UP_S \
                    or t < self.current.at:
                return self.seek(t)
            # Next segment, continuing: open it from its start.
            nxt = self._segment_at(t)
            assert nxt is not None
            self._open(nxt)
        if self.current is not None and (t < self.current.at or t - self.current.at > CATCH_UP_S):
            return self.seek(t)
        while True:
            f = self._next or self._decode()
            self._next = None
            if f is None:
                return self.current
            if f.at > t + 0.001:
                self._next = f
                return self.current if self.current is not None else f
            self.current = f

    def step(self) -> Frame | None:
        """The next frame after the current one, across segment ends."""
        f = self._next or self._decode()
        self._next = None
        if f is None and self.current is not None:
            later = [s for s in self.segments if ts(s.start_utc or "") > self.current.at]
            if later:
                return self.seek(ts(later[0].start_utc or ""))
            return self.current
        if f is not None:
            self.current = f
        return self.current


FramesCallback = Callable[[float, dict[int, Frame | None]], None]


class Player:
    """Several cameras played in step on one thread. Control calls come from any thread."""

    def __init__(self, index: RecordingIndex, camera_ids: list[int], on_frames: FramesCallback,
                 width: int = 640) -> None:
        self.readers = {c: CameraReader(index, c, width) for c in camera_ids}
        self.on_frames = on_frames
        self.position = 0.0
        self.speed = 1.0
        self.playing = False
        self._cmds: list[tuple[str, float]] = []
        self._wake = threading.Condition()
        self._quit = False
        self._thread = threading.Thread(target=self._run, name="playback", daemon=True)
        self._thread.start()

    # -- control (any thread) ---------------------------------------------------------------
    def _send(self, cmd: str, value: float = 0.0) -> None:
        with self._wake:
            self._cmds.append((cmd, value))
            self._wake.notify()

    def seek(self, t: float) -> None:
        self._send("seek", t)

    def play(self) -> None:
        self._send("play")

    def pause(self) -> None:
        self._send("pause")

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"speed {speed}: one of {SPEEDS}")
        self._send("speed", speed)

    def step(self, direction: int) -> None:
        """One frame forward (1) or back (-1), paused."""
        self._send("step", float(direction))

    def close(self) -> None:
        with self._wake:
            self._quit = True
            self._wake.notify()
        self._thread.join(5)

    # -- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        last = time.monotonic()
        while True:
            with self._wake:
                if not self._cmds and not self.playing and not self._quit:
                    self._wake.wait()
                elif not self._cmds and not self._quit:
                    self._wake.wait(TICK_S)
                if self._quit:
                    break
                cmds, self._cmds = self._cmds, []
            now = time.monotonic()
            try:
                self._apply(cmds, now - last)
            except Exception:  # a bad file must not end playback of the others
                log.exception("playback")
            last = now
        for r in self.readers.values():
            r.close()

    def _apply(self, cmds: list[tuple[str, float]], elapsed: float) -> None:
        seek_to: float | None = None
        for cmd, value in cmds:
            if cmd == "seek":
                seek_to = value
            elif cmd == "play":
                self.playing = True
                elapsed = 0.0
            elif cmd == "pause":
                self.playing = False
            elif cmd == "speed":
                self.speed = value
            elif cmd == "step":
                self.playing = False
                self._step(int(value))
                return
        if seek_to is not None:
            self.position = seek_to
            for r in self.readers.values():
                r.refresh()
            frames = {c: r.seek(seek_to) for c, r in self.readers.items()}
            self.on_frames(self.position, frames)
            return
        if self.playing:
            self.position += elapsed * self.speed
            frames = {c: r.advance(self.position) for c, r in self.readers.items()}
            self.on_frames(self.position, frames)

    def _step(self, direction: int) -> None:
        if direction > 0:
            lead = next(iter(self.readers.values()))
            f = lead.step()
            if f is not None:
                self.position = f.at
        else:
            cur = next(iter(self.readers.values())).current
            at = cur.at if cur is not None else self.position
            self.position = at - 0.001
            # Back one frame: seek to just before the current one (decodes from a keyframe).
            lead = next(iter(self.readers.values()))
            f = lead.seek(self.position)
            if f is not None and f.at >= at - 0.001:
                f = lead.seek(at - 0.2)
            if f is not None:
                self.position = f.at
        frames = {c: r.advance(self.position) if c != next(iter(self.readers)) else r.current
                  for c, r in self.readers.items()}
        self.on_frames(self.position, frames)
