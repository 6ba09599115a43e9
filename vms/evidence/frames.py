"""What an export derives from the masters: frame indexes, working copies and stills.

The working copy is a remux (no transcoding) of a camera's master segments into one MP4,
timed by wall clock, so that gaps stay gaps. Its losslessness is not assumed: every video
frame's bytes in the copy are hashed and compared with the master's, in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vms.recording.index import Segment


def _parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def frame_index(path: Path, start: dt.datetime) -> tuple[str, str | None]:
    """CSV of every packet (stream, pts, time base, UTC, size, keyframe) and the UTC time
    of the first video frame. The segment's first frame is at the index's start time."""
    lines = ["stream,kind,pts,time_base,utc,size,keyframe\n"]
    first: str | None = None
    with av.open(str(path)) as c:
        for pkt in c.demux():
            if pkt.size == 0 or pkt.pts is None:
                continue
            tb = pkt.time_base or Fraction(1, 90000)
            at = start + dt.timedelta(seconds=float(pkt.pts * tb))
            kind = pkt.stream.type
            if kind == "video" and first is None:
                first = _iso(at)
            lines.append(f"{pkt.stream.index},{kind},{pkt.pts},{tb.numerator}/{tb.denominator},"
                         f"{_iso(at)},{pkt.size},{int(pkt.is_keyframe)}\n")
    return "".join(lines), first


def _frame_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        if not c.streams.video:
            return []
        return [hashlib.sha256(bytes(p)).hexdigest() for p in c.demux(video=0) if p.size]


def working_copy(masters: list[tuple[Path, Segment]], dest: Path) -> dict[str, Any]:
    """Remux the video of ``masters`` (in time order) into ``dest`` (MP4); returns the facts
    export.json records: tool, parameters, lossless flag and the frame-hash comparison."""
    first_start = _parse(masters[0][1].start_utc or "")
    audio_left_out: set[str] = set()
    with av.open(str(dest), "w", format="mp4") as out:
        ostream = None
        last_dts = None
        for path, seg in masters:
            offset_s = (_parse(seg.start_utc or "") - first_start).total_seconds()
            with av.open(str(path)) as inp:
                v = inp.streams.video[0]
                for a in inp.streams.audio:
                    audio_left_out.add(a.codec_context.name)
                if ostream is None:
                    ostream = out.add_stream_from_template(v)
                shift = round(Fraction(offset_s) / (v.time_base or Fraction(1, 90000)))
                for pkt in inp.demux(v):
                    if pkt.size == 0 or pkt.dts is None:
                        continue
                    pkt.dts += shift
                    if pkt.pts is not None:
                        pkt.pts += shift
                    if last_dts is not None and pkt.dts <= last_dts:
                        # overlapping clocks (a camera's clock stepped back): keep order
                        step = last_dts + 1 - pkt.dts
                        pkt.dts += step
                        if pkt.pts is not None:
                            pkt.pts += step
                    last_dts = pkt.dts
                    pkt.stream = ostream
                    out.mux(pkt)
    master_hashes = [h for p, _s in masters for h in _frame_hashes(p)]
    copy_hashes = _frame_hashes(dest)
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
            "method": "SHA-256 of each video frame's bytes, in order, master vs working copy",
            "frames_master": len(master_hashes), "frames_copy": len(copy_hashes),
            "identical": identical, "sha256_of_master_frame_hashes": digest,
        },
    }
    if audio_left_out:
        facts["note"] = (f"audio ({', '.join(sorted(audio_left_out))}) is only in the masters: "
                         "MP4 cannot carry G.711")
    return facts


def stills(master: Path, seg: Segment, camera: str, folder: Path) -> list[Path]:
    """A PNG of the first frame, named by camera and UTC time."""
    start = _parse(seg.start_utc or "")
    with av.open(str(master)) as c:
        for frame in c.decode(video=0):
            at = start + dt.timedelta(seconds=float(frame.time or 0.0))
            name = f"{camera}_{at.strftime('%Y%m%dT%H%M%S')}{at.microsecond // 1000:03d}Z.png"
            path = folder / "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
            frame.to_image().save(path, format="PNG")
            return [path]
    return []
