"""What an export derives from the masters: frame indexes, working copies and stills.

The working copy is a remux (no transcoding) of a camera's master segments into one MP4,
timed by wall clock, so that gaps stay gaps. Its losslessness is not assumed: every video
frame's bytes in the copy are hashed and compared with the master's, in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vms.evidence import bag
from vms.evidence.utc import parse
from vms.recording.index import Segment


@dataclass
class Derived:
    """What one pass over a camera's masters produced."""

    index: dict[Path, tuple[str, str | None]] = field(default_factory=dict)  # CSV, first UTC
    working: dict[str, Any] = field(default_factory=dict)
    hashes: bag.Hashes = field(default_factory=bag.Hashes)  # of the working copy file


_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _UtcText:
    """A packet's UTC time as text, exactly as ``iso(start + timedelta(seconds=t))`` gives
    it, without building and formatting a datetime for each of an hour's 90,000 frames:
    the text up to the second is made once per second."""

    def __init__(self, start: dt.datetime) -> None:
        self.start_us = (start - _EPOCH) // _US
        self._second = -1
        self._prefix = ""

    def at(self, seconds: float) -> str:
        us = self.start_us + dt.timedelta(seconds=seconds) // _US
        second, rest = divmod(us, 1_000_000)
        if second != self._second:
            self._second = second
            self._prefix = (_EPOCH + dt.timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._prefix}{rest // 1000:03d}Z"


def _frame_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        if not c.streams.video:
            return []
        # A packet is a buffer: hashed in place, not copied out first.
        return [hashlib.sha256(p).hexdigest() for p in c.demux(video=0) if p.size]


def derive(masters: Iterable[tuple[Path, Segment]], dest: Path) -> Derived:
    """One demux of each master (in time order) gives its frame index (every packet: stream,
    pts, time base, UTC, size, keyframe; a segment's first frame is at its index start
    time), the SHA-256 of each video frame, and the working copy: the video remuxed into
    ``dest`` (MP4), timed by wall clock so gaps stay gaps. The copy is then read back and
    its frames compared with the masters', so losslessness is measured, not assumed."""
    out_facts = Derived()
    first_start: dt.datetime | None = None
    audio_left_out: set[str] = set()
    master_hashes: list[str] = []
    with av.open(str(dest), "w", format="mp4") as out:
        ostream = None
        last_dts = None
        for path, seg in masters:
            start = parse(seg.start_utc or "")
            if first_start is None:
                first_start = start
            offset_s = (start - first_start).total_seconds()
            lines = ["stream,kind,pts,time_base,utc,size,keyframe\n"]
            first: str | None = None
            clock = _UtcText(start)
            with av.open(str(path)) as inp:
                v = inp.streams.video[0]
                for a in inp.streams.audio:
                    audio_left_out.add(a.codec_context.name)
                if ostream is None:
                    ostream = out.add_stream_from_template(v)
                vtb = v.time_base or Fraction(1, 90000)
                shift = round(Fraction(offset_s) / vtb)
                tbs: dict[int, tuple[Fraction, str]] = {}
                for pkt in inp.demux():
                    if pkt.size == 0 or pkt.pts is None:
                        continue
                    st = pkt.stream
                    tb, tb_text = tbs.get(st.index) or tbs.setdefault(st.index, (
                        st.time_base or vtb, f"{(st.time_base or vtb).numerator}/"
                                             f"{(st.time_base or vtb).denominator}"))
                    at = clock.at(float(pkt.pts * tb))
                    kind = st.type
                    lines.append(f"{st.index},{kind},{pkt.pts},{tb_text},{at},{pkt.size},"
                                 f"{int(pkt.is_keyframe)}\n")
                    if st is not v or pkt.dts is None:
                        continue
                    if first is None:
                        first = at
                    master_hashes.append(hashlib.sha256(pkt).hexdigest())
                    pkt.dts += shift
                    pkt.pts += shift
                    if last_dts is not None and pkt.dts <= last_dts:
                        # overlapping clocks (a camera's clock stepped back): keep order
                        step = last_dts + 1 - pkt.dts
                        pkt.dts += step
                        pkt.pts += step
                    last_dts = pkt.dts
                    pkt.stream = ostream
                    out.mux(pkt)
            out_facts.index[path] = ("".join(lines), first)
    # The copy's file hashes (for the manifests) are taken while its frames are read back:
    # the two are independent passes over the same cached bytes.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="working-copy-hash") as pool:
        file_hashes = pool.submit(bag.hash_file, dest)
        copy_hashes = _frame_hashes(dest)
        out_facts.hashes = file_hashes.result()
    identical = master_hashes == copy_hashes
    digest = hashlib.sha256("\n".join(master_hashes).encode()).hexdigest()
    facts: dict[str, Any] = {
        "tool": f"PyAV {av.__version__} (FFmpeg libavformat "
                f"{'.'.join(map(str, av.library_versions['libavformat']))})",
        "parameters": "video stream copied packet for packet (no transcoding) from each master "
                      "in time order into MP4; timestamps shifted by each segment's wall-clock "
                      "start so gaps remain gaps",
        "lossless": identical,
        "frame_hash_comparison": {
            "method": "SHA-256 of each video frame's bytes, in order, master vs working copy "
                      "(the copy read back from disk)",
            "frames_master": len(master_hashes), "frames_copy": len(copy_hashes),
            "identical": identical, "sha256_of_master_frame_hashes": digest,
        },
    }
    if audio_left_out:
        facts["note"] = (f"audio ({', '.join(sorted(audio_left_out))}) is only in the masters: "
                         "MP4 cannot carry G.711")
    out_facts.working = facts
    return out_facts


def stills(master: Path, seg: Segment, camera: str, folder: Path) -> list[Path]:
    """A PNG of the first frame, named by camera and UTC time."""
    start = parse(seg.start_utc or "")
    with av.open(str(master)) as c:
        c.streams.video[0].thread_type = "NONE"  # one frame: no frame-thread start-up delay
        for frame in c.decode(video=0):
            at = start + dt.timedelta(seconds=float(frame.time or 0.0))
            name = f"{camera}_{at.strftime('%Y%m%dT%H%M%S')}{at.microsecond // 1000:03d}Z.png"
            path = folder / "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
            frame.to_image().save(path, format="PNG")
            return [path]
    return []
