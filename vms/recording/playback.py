"""Playing recordings back by wall-clock time, several cameras in step.

``CameraReader`` finds the segment that holds a moment, seeks to the keyframe before it
and decodes forward, so a seek lands on the exact frame, not the keyframe. ``Player``
owns one reader per camera on its own thread and moves a shared position at the chosen
speed; every camera shows its frame for that position, or none where its recording has a
gap. Frames are handed over as RGB arrays; the GUI makes images of them on its own thread.
"""

from __future__ import annotations

import bisect
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
        # (start, end, segment) by start; times parsed once, not per frame or tick
        self._spans: list[tuple[float, float, Segment]] = []
        self._starts: list[float] = []
        self._seg: Segment | None = None
        self._seg_span = (0.0, 0.0)
        self._container: av.container.InputContainer | None = None
        self._frames: object = None  # the decode generator of the open segment
        self._next: Frame | None = None  # decoded but not yet due
        self.current: Frame | None = None
        self.refresh()

    def refresh(self) -> None:
        """Re-read the index: a recording still being written grows."""
        self._spans = sorted((ts(s.start_utc), ts(s.end_utc), s)
                             for s in self.index.segments(self.camera_id)
                             if s.start_utc and s.end_utc and s.frames)
        self._starts = [a for a, _, _ in self._spans]

    def recorded_from(self, t: float) -> float | None:
        """The first recorded moment at or after ``t`` (None: nothing recorded from then)."""
        for a, b, _seg in self._spans:
            if b >= t:
                return max(a, t)
        return None

    def span(self) -> tuple[float, float] | None:
        if not self._spans:
            return None
        return self._spans[0][0], self._spans[-1][1]

    @staticmethod
    def _covers(start: float, end: float, t: float) -> bool:
        return start - 0.05 <= t <= end + 0.5

    def _segment_at(self, t: float) -> tuple[float, float, Segment] | None:
        i = bisect.bisect_right(self._starts, t + 0.05) - 1
        for j in (i - 1, i):  # the earlier first: it may still hold frames up to t
            if j >= 0 and self._covers(self._spans[j][0], self._spans[j][1], t):
                return self._spans[j]
        return None

    def _open(self, span: tuple[float, float, Segment]) -> None:
        self.close()
        self._container = av.open(str(span[2].path))
        self._seg, self._seg_span = span[2], (span[0], span[1])
        self._frames = None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._seg, self._frames, self._next = None, None, None, None

    def _gap(self) -> None:
        self.close()
        self.current = None

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
        at = self._seg_span[0] + float(f.time or 0.0)
        h = max(2, round(f.height * self.width / max(1, f.width) / 2) * 2)
        rgb = f.to_ndarray(format="rgb24", width=self.width, height=h)
        return Frame(self.camera_id, at, rgb)

    def _decode_to(self, t: float) -> Frame | None:
        """Decode forward to the last frame at or before ``t``."""
        while True:
            f = self._next or self._decode()
            self._next = None
            if f is None:
                return self.current
            if f.at > t + 0.001:
                self._next = f
                return self.current if self.current is not None else f
            self.current = f

    def seek(self, t: float) -> Frame | None:
        """The frame showing at ``t`` (None in a gap)."""
        span = self._segment_at(t)
        if span is None:
            self._gap()
            return None
        try:
            self._open(span)
            assert self._container is not None
            stream = self._container.streams.video[0]
            offset = t - span[0]
            if offset > 0.5 and stream.time_base:
                self._container.seek(int(offset / stream.time_base), stream=stream,
                                     backward=True)
        except (OSError, av.FFmpegError) as exc:
            log.warning("cannot play %s: %s", span[2].path.name, exc)
            self._gap()
            return None
        self.current = None
        return self._decode_to(t)

    def advance(self, t: float) -> Frame | None:
        """The frame showing at ``t``, decoding on from the current one when ``t`` is a little
        later (playing), seeking when it is earlier or far ahead."""
        cur = self.current
        if self._seg is None or cur is None or t < cur.at or t - cur.at > CATCH_UP_S:
            return self.seek(t)
        if not self._covers(*self._seg_span, t):
            span = self._segment_at(t)
            if span is None:
                self._gap()
                return None
            self._open(span)  # the next segment, continuing from its start
        return self._decode_to(t)

    def step(self) -> Frame | None:
        """The next frame after the current one, across segment ends."""
        f = self._next or self._decode()
        self._next = None
        if f is None and self.current is not None:
            i = bisect.bisect_right(self._starts, self.current.at)
            if i < len(self._spans):
                return self.seek(self._spans[i][0])
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

    def seek_recorded(self, t: float) -> None:
        """Seek to ``t``, or past a gap there to the first recorded moment after it: a clip
        that starts before the recording did must not open on seconds of nothing."""
        self._send("seek_recorded", t)

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
            elif cmd == "seek_recorded":
                for r in self.readers.values():
                    r.refresh()
                found = [f for f in (r.recorded_from(value) for r in self.readers.values())
                         if f is not None]
                seek_to = min(found) if found else value
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
        """The first camera steps a frame; the others follow to its time."""
        lead_id, lead = next(iter(self.readers.items()))
        if direction > 0:
            f = lead.step()
        else:
            # Back one frame: the frame showing just before the current one (from a keyframe).
            at = lead.current.at if lead.current is not None else self.position
            f = lead.seek(at - 0.001)
            if f is not None and f.at >= at:  # it was the segment's first: go before it
                f = lead.seek(at - 0.2)
        if f is not None:
            self.position = f.at
        frames = {c: f if c == lead_id else r.advance(self.position)
                  for c, r in self.readers.items()}
        self.on_frames(self.position, frames)
