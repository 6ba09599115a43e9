"""One segment file: the camera's packets remuxed, without transcoding, into fragmented MOV.

Why fragmented MOV: an MP4 whose index is written at the end is unreadable after a crash,
and MP4 and Matroska refuse G.711 (Help Point audio); MOV takes it, and fragments of at
most a second each reach the disk as they are made, so a SIGKILL loses under a second.
Timestamps are rebased so each segment starts at 0; the wall-clock time of its frames is
kept in the index.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.packet import Packet
from av.video.stream import VideoStream

from vms.recording.sink import HashingSink

MUX_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": "1000000",  # µs: a fragment at least every second, keyframe or not
    "flush_packets": "1",
}


class SegmentWriter:
    def __init__(self, path: Path, video: VideoStream, audio: AudioStream | None,
                 start_s: float) -> None:
        """``start_s``: the input time (seconds) that becomes 0 in this segment."""
        self.path = path
        self.sink = HashingSink(path)
        try:
            self.out = av.open(self.sink, "w", format="mov", options=MUX_OPTIONS)
            self.v = self.out.add_stream_from_template(video)
            self.a = self.out.add_stream_from_template(audio) if audio is not None else None
        except BaseException:
            self.sink.close()
            raise
        self.start_s = start_s
        # Packets keep their input stream's time base; the shift is worked out once, since
        # Fraction arithmetic per packet was a third of the recorder's own CPU.
        self._vshift = self._shift(video.time_base, start_s)
        self._ashift = self._shift(audio.time_base, start_s) if audio is not None else 0
        self.frames = 0
        self.closed = False

    @staticmethod
    def _shift(tb: Fraction | None, start_s: float) -> int:
        return round(Fraction(start_s) / (tb or Fraction(1, 90000)))

    @staticmethod
    def _rebase(pkt: Packet, shift: int) -> bool:
        if pkt.dts is not None:
            if pkt.dts < shift:
                return False  # from before this segment's first keyframe
            pkt.dts -= shift
        if pkt.pts is not None:
            pkt.pts -= shift
        return True

    def _usable(self) -> None:
        """FFmpeg must not be handed a packet after a write failed: it can crash the process."""
        if self.sink.error is not None:
            raise self.sink.error
        if self.closed:
            raise ValueError("the segment is closed")

    def write_video(self, pkt: Packet) -> None:
        self._usable()
        if self._rebase(pkt, self._vshift):
            pkt.stream = self.v
            self.out.mux(pkt)
            self.frames += 1

    def write_audio(self, pkt: Packet) -> None:
        self._usable()
        if self.a is not None and self._rebase(pkt, self._ashift):
            pkt.stream = self.a
            self.out.mux(pkt)

    @property
    def bytes(self) -> int:
        return self.sink.bytes

    def close(self) -> str:
        """Finish the file, make it durable; returns its SHA-256."""
        if not self.closed:
            self.closed = True
            try:
                self.out.close()
                if self.sink.error is not None:
                    raise self.sink.error
                self.sink.sync()
            finally:
                self.sink.close()
        return self.sink.hexdigest()

    def abandon(self) -> None:
        """After a write failed (a full disk): close what can be closed, write nothing more."""
        if self.closed:
            return
        self.closed = True
        try:
            self.out.close()
        except (av.FFmpegError, OSError, ValueError):
            pass  # the write already failed and was reported; the file holds what it holds
        finally:
            self.sink.close()
