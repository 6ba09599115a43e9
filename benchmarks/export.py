"""Exporting one hour of 4 Mbit/s recording as a sealed evidence package, against ``cp``.

Makes the recording with PyAV: a 10 s 1280x720 25 fps H.264 clip at 4 Mbit/s, encoded once,
remuxed end to end into sixty one-minute fragmented-MOV segments by the recorder's own
segment writer (hashed as written) and indexed as the recorder indexes them. Then, in the
same run and each from a cold page cache where the machine allows dropping it:

- the export: ``PackageBuilder`` (masters copied and re-hashed, frame indexes, the working
  copy with its frame-by-frame comparison, stills, manifests, signature; no TSA), until
  the package is flushed to the disk and renamed into place;
- the reference: ``cp`` of the same segment files, until they are flushed to the disk;
- verification of the package (``vms.evidence.verify``), as MB/s of payload;
- two lower bounds on any export of that profile on this machine, measured in the same run:
  ``io_floor_s``, ``cp`` of the segments to two places (the package holds the masters and a
  working copy of the same size) until flushed; and ``hash_floor_s``, the hashing the
  profile asks for (SHA-256 and SHA-512 of the masters and of the working copy, SHA-256 of
  every frame of each), timed on one core and shared perfectly over all of them.
  ``floor_ratio`` is the export against the larger of the two (issue 28: <= 1.3), and
  ``floors_vs_cp`` the larger floor against ``cp_s``: no export of the profile beats it here.
- ``cpu_floor_s``: the processor time of both (the two copies' user and system time, and the
  hashing), shared perfectly over every core: on a machine where the export is bound by the
  processor, the floor that counts. ``export_cpu_s`` is the export's own processor time.

Where the export's time goes is printed too (``stages_s``, from its own progress reports):
until the last master is copied and checked, until every working copy is derived and
compared, and the final flush of the package to the disk.

Prints one JSON object. Targets: ratio <= 1.3 (issue 8), floor_ratio <= 1.3 (issue 28).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGETS = {"ratio": 1.3, "floor_ratio": 1.3}


def drop_caches() -> bool:
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def make_clip(path: Path, seconds: int, rate: int, bitrate: int) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w", format="mov") as out:
        kbit = bitrate // 1000
        s = out.add_stream("libx264", rate=rate, options={
            "preset": "ultrafast", "g": str(rate * 2), "bf": "0",  # a keyframe every 2 s
            "x264-params": f"nal-hrd=cbr:bitrate={kbit}:vbv-maxrate={kbit}:vbv-bufsize={kbit}"})
        s.width, s.height, s.pix_fmt, s.bit_rate = 1280, 720, "yuv420p", bitrate
        rng = np.random.default_rng(1)
        for i in range(seconds * rate):
            img = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)  # noise: real bitrate
            img[:, : (i * 4) % 1280] //= 2
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


def make_recording(clip: Path, root: Path, index_path: Path, minutes: int,
                   start: dt.datetime) -> int:
    import av

    from vms.recording.index import CLOSED, RecordingIndex, utc
    from vms.recording.segment import SegmentWriter

    index = RecordingIndex(index_path)
    with av.open(str(clip)) as c:
        v = c.streams.video[0]
        packets = [p for p in c.demux(v) if p.size]
        tb = v.time_base or Fraction(1, 12800)
        clip_s = float(packets[-1].pts * tb) + float(1 / (v.average_rate or 25))
        per_min = round(60 / clip_s)
        total = 0
        for m in range(minutes):
            t0 = start + dt.timedelta(minutes=m)
            folder = root / "camera-1" / t0.strftime("%Y-%m-%d")
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"cam1-{t0.strftime('%Y%m%dT%H%M%S')}Z.mov"
            w = SegmentWriter(path, v, None, 0.0)
            frames = 0
            last = 0.0
            for rep in range(per_min):
                shift = round(Fraction(rep * clip_s) / tb)
                for p in packets:
                    q = av.Packet(bytes(p))
                    q.pts, q.dts, q.time_base = p.pts + shift, p.dts + shift, tb
                    q.is_keyframe = p.is_keyframe
                    w.write_video(q)
                    frames += 1
                    last = float((p.pts + shift) * tb)
            digest = w.close()
            seg = index.open_segment(1, "cam1", path, "h264", None, utc(t0.timestamp()), "rtcp")
            index.update_segment(seg, state=CLOSED, end_utc=utc(t0.timestamp() + last),
                                 frames=frames, bytes=w.bytes, sha256=digest,
                                 closed_at=utc(time.time()))
            total += w.bytes
    index.close()
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--mbit", type=float, default=4.0)
    args = ap.parse_args()

    from vms.credentials import EncryptedFileStore
    from vms.evidence.ca import EvidenceKeys
    from vms.evidence.package import CameraFacts, ExportJob, PackageBuilder, Producer, Progress
    from vms.evidence.verify import verify
    from vms.recording.index import RecordingIndex

    with tempfile.TemporaryDirectory(prefix="vms-exportbench-", dir=os.environ.get("TMPDIR")) \
            as tmp_s:
        tmp = Path(tmp_s)
        clip = tmp / "clip.mov"
        make_clip(clip, 10, 25, int(args.mbit * 1e6))
        start = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
        size = make_recording(clip, tmp / "rec", tmp / "recordings.db", args.minutes, start)
        keys = EvidenceKeys(tmp / "profile", EncryptedFileStore(_mk(tmp / "profile")))
        keys.init("Benchmark Council", "bench")
        index = RecordingIndex(tmp / "recordings.db")
        job = ExportJob(cameras=[CameraFacts(1, "cam1")], start=start,
                        end=start + dt.timedelta(minutes=args.minutes), exhibit="BENCH/1",
                        producer=Producer("bench", "evidence officer"))
        marks: dict[str, float] = {}

        def progress(p: Progress) -> None:
            stage = p.stage.split(" ", 1)[0]  # "copied", "working", "writing"
            if p.stage.endswith("checked"):
                stage = "checked"
            marks[stage] = time.perf_counter()
        builder = PackageBuilder(index, keys.signer(), audit_extract=lambda *_a: [],
                                 on_progress=progress)
        cold = drop_caches()
        t = time.perf_counter()
        used = resource.getrusage(resource.RUSAGE_SELF)
        result = builder.build(job, tmp / "out")
        export_s = time.perf_counter() - t
        done = resource.getrusage(resource.RUSAGE_SELF)
        export_cpu_s = (done.ru_utime - used.ru_utime) + (done.ru_stime - used.ru_stime)
        stages = {"masters_copied": marks["copied"] - t,
                  "working_copy_checked": marks["checked"] - t,
                  "flush_to_disk": t + export_s - marks["writing"]}
        index.close()

        drop_caches()
        t = time.perf_counter()
        subprocess.run(["cp", "-r", str(tmp / "rec"), str(tmp / "cp")], check=True)
        subprocess.run(["sync", "-f", str(tmp / "cp")], check=False)
        cp_s = time.perf_counter() - t

        drop_caches()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        for copy in ("floor-a", "floor-b"):
            subprocess.run(["cp", "-r", str(tmp / "rec"), str(tmp / copy)], check=True)
        subprocess.run(["sync", "-f", str(tmp / "floor-a")], check=False)
        io_floor_s = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        io_cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        one_pass = _one_pass_s(sorted((tmp / "rec").rglob("*.mov")))
        hash_cpu_s = 4 * one_pass["sha256"] + 2 * one_pass["sha512"]
        cores = os.cpu_count() or 1
        hash_floor_s = hash_cpu_s / cores
        # Both at once on the same cores: the processor time of the copying and of the
        # hashing, shared perfectly over every core. Where the export is bound by the
        # processor (two cores), no export of the profile can beat this either.
        cpu_floor_s = (io_cpu_s + hash_cpu_s) / cores

        drop_caches()
        payload = sum(f.stat().st_size for f in (result.path / "data").rglob("*") if f.is_file())
        t = time.perf_counter()
        report = verify(result.path, [keys.root_pem()], [])
        verify_s = time.perf_counter() - t

    out = {
        "bytes": size,
        "minutes": args.minutes,
        "mbit_s": args.mbit,
        "export_s": round(export_s, 2),
        "cp_s": round(cp_s, 2),
        "ratio": round(export_s / cp_s, 2),
        "io_floor_s": round(io_floor_s, 2),
        "hash_floor_s": round(hash_floor_s, 2),
        "cores": os.cpu_count(),
        "floor_ratio": round(export_s / max(io_floor_s, hash_floor_s), 2),
        "floors_vs_cp": round(max(io_floor_s, hash_floor_s) / cp_s, 2),
        "cpu_floor_s": round(cpu_floor_s, 2),
        "cpu_floor_ratio": round(export_s / cpu_floor_s, 2),
        "export_cpu_s": round(export_cpu_s, 2),
        "io_cpu_s": round(io_cpu_s, 2),
        "hash_cpu_s": round(hash_cpu_s, 2),
        # one pass over the hour on one core: the working copy's SHA-512 can only begin once
        # the copy is complete (the MP4 muxer writes its header last), so it is a tail no
        # other work overlaps
        "sha256_pass_s": round(one_pass["sha256"], 2),
        "sha512_pass_s": round(one_pass["sha512"], 2),
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "package_bytes": payload,
        "verify_s": round(verify_s, 2),
        "verify_mb_s": round(payload / 1e6 / verify_s, 1),
        "verify_status": report.status,
        "cold_cache": cold,
        "targets": TARGETS,
    }
    out["meets_targets"] = all(out[k] <= v for k, v in TARGETS.items())
    print(json.dumps(out, indent=2))
    return 0


def _one_pass_s(files: list[Path]) -> dict[str, float]:
    """CPU seconds of one pass of SHA-256 and of SHA-512 over the masters' bytes (warm). The
    profile's hashing of an hour is four SHA-256 passes (masters and working copy as files,
    then every frame of each) and two SHA-512 (masters and working copy as files)."""
    from vms.evidence.bag import hash_file

    took = {}
    for alg in ("sha256", "sha512"):
        t = time.thread_time()  # one algorithm: hash_file hashes on this thread
        for f in files:
            hash_file(f, (alg,))
        took[alg] = time.thread_time() - t
    return took


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


if __name__ == "__main__":
    sys.exit(main())
