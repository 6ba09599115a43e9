"""Which cameras are being recorded now, as the recording index shows it, for the wall's tiles.

Read from the index, not asked of the recorder: the site service may run in another process
(`vms serve`), and the index is what playback and export will find. A camera counts as
recording while its open segment grows; a segment left open by a recorder that died stops
growing, so it stops counting within ``STALE_S``. Clocks are not compared: a camera's own
clock (the segment's times) may be minutes out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from vms.recording.index import OPEN, RecordingIndex

STALE_S = 8.0  # progress reaches the index every 2 s (recorder.PROGRESS_S)


@dataclass(frozen=True)
class OnAir:
    recording: bool
    reason: str = ""  # why not, when the index holds an open gap


class RecordingWatch:
    def __init__(self, index: RecordingIndex) -> None:
        self.index = index
        self._seen: dict[int, tuple[tuple[int, int, int], float]] = {}

    def poll(self, now: float | None = None) -> dict[int, OnAir]:
        """Each camera with an open segment or an open gap; cameras with neither are absent
        (not recorded at all, or waiting for an event)."""
        now = time.monotonic() if now is None else now
        out: dict[int, OnAir] = {}
        for cam, reason in self.index.open_gaps().items():
            out[cam] = OnAir(False, reason)
        for seg in self.index.segments(state=OPEN):
            mark = (seg.id, seg.frames, seg.bytes)
            before = self._seen.get(seg.camera_id)
            since = now if before is None or before[0] != mark else before[1]
            self._seen[seg.camera_id] = (mark, since)
            if now - since <= STALE_S:
                out[seg.camera_id] = OnAir(True)
            elif seg.camera_id not in out:
                out[seg.camera_id] = OnAir(False, "the recorder stopped writing")
        return out
