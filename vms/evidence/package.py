"""Building an evidence package (profile v1, ``../shared/spec/evidence-package.md``).

The package is built in a hidden temporary folder beside its destination and renamed into
place only when it is complete, sealed and flushed to the disk, so a cancelled or failed
export, or a power cut, leaves nothing half-written. Master segments are copied bit for bit
and hashed as they pass; a copy whose SHA-256 differs from the one the recorder took when
it closed the segment stops the export.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from vms import __version__
from vms.errors import Cancelled, ExportError, TimestampError  # defined with every other error
from vms.evidence import bag, documents, durable, frames
from vms.evidence.ca import Signer
from vms.evidence.seal import cert_der_to_pem, request_timestamp, sign_detached
from vms.evidence.utc import iso, parse
from vms.recording.index import CLOSED, DAMAGED, RECOVERED, RecordingIndex, Segment

PROFILE_VERSION = "1"
SOFTWARE = f"Beacon VMS {__version__}"
P7S = "tagmanifest-sha256.txt.p7s"
TSR = P7S + ".tsr"
SEALABLE = (CLOSED, RECOVERED, DAMAGED)
GAP_TOLERANCE_S = 2.0  # a hole in the footage shorter than this is frame spacing, not a gap


@dataclass
class Request:
    """Who asked for the footage and why (``--request FILE.json`` or the wizard)."""

    purpose: str = ""
    legal_basis: str = ""
    requesting_officer: str = ""
    force: str = ""
    crime_reference: str = ""
    received_utc: str = ""
    authoriser: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        known = {k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ExportError(f"the request file has fields this version does not know: "
                              f"{', '.join(unknown)} (known: "
                              f"{', '.join(cls.__dataclass_fields__)})")
        return cls(**known)


@dataclass
class Producer:
    name: str
    role: str
    staff_id: str = ""
    organisation: str = ""


@dataclass
class CameraFacts:
    id: int
    name: str
    location: str | None = None
    lat: float | None = None
    lon: float | None = None
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    mac: str | None = None
    firmware: str | None = None
    stream: dict[str, Any] = field(default_factory=dict)
    clock_offset_s: float | None = None
    clock_measured_at: str | None = None


@dataclass
class ExportJob:
    cameras: list[CameraFacts]
    start: dt.datetime  # UTC
    end: dt.datetime
    exhibit: str
    producer: Producer
    request: Request = field(default_factory=Request)
    label: str = ""
    marking: str = "OFFICIAL-SENSITIVE"
    retention: str = "Retain as an exhibit until the case and any appeal are concluded."
    organisation: str = "Beacon VMS control room"
    workstation: str = field(default_factory=socket.gethostname)
    tsa_url: str | None = None
    stills: bool = True


@dataclass
class Progress:
    done_bytes: int
    total_bytes: int
    stage: str


@dataclass
class Result:
    path: Path
    package_id: str
    state: str  # sealed | pending-timestamp
    bytes: int
    segments: int
    warnings: list[str]


def safe_name(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip())
    return out.strip(".-") or "exhibit"


def select(index: RecordingIndex, camera_id: int, start: dt.datetime,
           end: dt.datetime) -> tuple[list[Segment], list[dict[str, str]]]:
    """The camera's sealable segments that overlap the window, in time order, and the holes
    in the window they leave, each with the index's reason where it has one."""
    segs = [s for s in index.segments(camera_id)
            if s.state in SEALABLE and s.start_utc and s.end_utc and s.frames
            and parse(s.start_utc) <= end and parse(s.end_utc) >= start]
    segs.sort(key=lambda s: (s.start_utc or "", s.id))
    known = index.gaps(camera_id)
    open_segs = index.segments(camera_id, state="open")
    holes: list[dict[str, str]] = []
    cursor = start
    for s in [*segs, None]:
        nxt = end if s is None else parse(s.start_utc or "")
        if (nxt - cursor).total_seconds() > GAP_TOLERANCE_S:
            holes.append({"from": iso(cursor), "to": iso(min(nxt, end)),
                          "reason": _reason(known, open_segs, cursor, nxt)})
        if s is not None:
            cursor = max(cursor, parse(s.end_utc or ""))
    return segs, holes


def _reason(known: list[Any], open_segs: list[Segment], a: dt.datetime,
            b: dt.datetime) -> str:
    reasons = []
    for g in known:
        gs = parse(g.start_utc)
        ge = parse(g.end_utc) if g.end_utc else dt.datetime.max.replace(tzinfo=dt.UTC)
        if gs < b and ge > a:
            reasons.append(g.reason)
    for s in open_segs:
        if s.start_utc and parse(s.start_utc) < b:
            reasons.append("still being recorded: the open segment is not sealed yet")
    if not reasons:
        reasons.append("no recording (the recorder was not running, or the camera recorded "
                       "on events only)")
    return "; ".join(dict.fromkeys(reasons))


class PackageBuilder:
    def __init__(self, index: RecordingIndex, signer: Signer, *,
                 audit_extract: Callable[[list[int], str, str], list[dict[str, Any]]],
                 on_progress: Callable[[Progress], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.index = index
        self.signer = signer
        self.audit_extract = audit_extract
        self.on_progress = on_progress
        self.cancelled = cancelled or (lambda: False)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def _check(self) -> None:
        if self.cancelled():
            raise Cancelled("the export was cancelled; nothing was written")

    def build(self, job: ExportJob, out_dir: Path) -> Result:
        if job.end <= job.start:
            raise ExportError("the end of the range must be after its start")
        if not job.cameras:
            raise ExportError("choose at least one camera")
        if not job.exhibit.strip():
            raise ExportError("an exhibit reference is required")
        out_dir.mkdir(parents=True, exist_ok=True)
        package_id = str(uuid.uuid4())
        final = out_dir / f"{safe_name(job.exhibit)}_{package_id[:8]}"
        tmp = out_dir / f".{final.name}.partial"
        plan: list[tuple[CameraFacts, list[Segment], list[dict[str, str]]]] = []
        for cam in job.cameras:
            segs, holes = select(self.index, cam.id, job.start, job.end)
            plan.append((cam, segs, holes))
        all_segs = [s for _c, segs, _h in plan for s in segs]
        if not all_segs:
            raise ExportError("there is no recorded footage of the chosen cameras in that range")
        unsealed = [s for s in all_segs if not s.sha256]
        if unsealed:
            raise ExportError(f"{len(unsealed)} segment(s) have no recorder hash "
                              f"({unsealed[0].path.name}); they cannot be exported as masters")
        try:
            with self.index.pinned([s.id for s in all_segs], f"export {package_id}"), \
                    durable.Flusher() as flusher:
                tmp.mkdir()
                result = self._build(job, package_id, tmp, plan, flusher)
                self._say(1, 1, "writing the package to the disk")
                flusher.finish(tmp)
            tmp.rename(final)
            durable.flush_folder(out_dir)  # the rename, too, survives a power cut
        except OSError as exc:
            for path in (tmp, final):
                shutil.rmtree(path, ignore_errors=True)
            where = f" ({exc.filename})" if exc.filename else ""
            raise ExportError(f"the package could not be built: {exc.strerror or exc}{where}; "
                              "nothing was left behind") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        result.path = final
        return result

    # -- the steps ------------------------------------------------------------------------
    def _build(self, job: ExportJob, package_id: str, root: Path,
               plan: list[tuple[CameraFacts, list[Segment], list[dict[str, str]]]],
               flusher: durable.Flusher) -> Result:
        started = self.clock()
        data = root / "data"
        for sub in ("master", "working", "stills", "metadata", "statement"):
            (data / sub).mkdir(parents=True)
        payload: dict[str, bag.Hashes] = {}
        # copying the masters, then deriving from them (index, working copy): two passes
        total = 2 * sum(s.bytes or s.path.stat().st_size for _c, segs, _h in plan for s in segs)
        done = 0
        seg_facts: list[dict[str, Any]] = []
        gaps: list[dict[str, str]] = []
        working: list[dict[str, Any]] = []
        warnings: list[str] = []
        still_names: list[str] = []
        # Masters are copied (and hashed) on a helper thread, one after another, while this
        # thread derives from each as soon as its copy is checked: the copy of the next
        # segment overlaps the frame index and working copy of this one. Derivation reads
        # only checked master copies, never the recorder's files.
        copies: list[list[tuple[Segment, str, Path]]] = []  # per camera, in plan order
        for cam, segs, holes in plan:
            gaps += [{"camera": cam.name, **h} for h in holes]
            copies.append([])
            for seq, seg in enumerate(segs, 1):
                start = parse(seg.start_utc or "")
                name = (f"{safe_name(cam.name)}_{start.strftime('%Y%m%dT%H%M%S')}"
                        f"{start.microsecond // 1000:03d}Z_{seq:03d}{seg.path.suffix}")
                copies[-1].append((seg, name, data / "master" / name))
        stop = threading.Event()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-masters")
        try:
            pending = [[pool.submit(self._copy_master, seg, dest, stop, flusher)
                        for seg, _name, dest in cam_copies] for cam_copies in copies]

            def checked(cam: CameraFacts, n: int, wc: Path) -> Iterator[tuple[Path, Segment]]:
                """The camera's masters, each once its copy is checked, recorded as it comes;
                the working copy so far is flushed to the disk while the next is remuxed."""
                nonlocal done
                for k, ((seg, name, dest), fut) in enumerate(zip(copies[n], pending[n],
                                                                 strict=True)):
                    self._check()
                    if k:
                        flusher.soon(wc)
                    hashes = payload[f"data/master/{name}"] = fut.result()
                    done += hashes.size
                    self._say(done, total, f"copied {name}")
                    seg_facts.append(self._segment_fact(cam, seg, name, dest, hashes))
                    if seg.state != CLOSED:
                        warnings.append(f"{name}: the recorder marked this segment "
                                        f"{seg.state}: {seg.note or ''}".strip())
                    yield dest, seg

            for n, (cam, segs, _h) in enumerate(plan):
                if not segs:
                    continue
                self._check()
                self._say(done, total, f"working copy of {cam.name}")
                wc_name = f"{safe_name(job.exhibit)}_WC{n + 1}_{safe_name(cam.name)}.mp4"
                wc_path = data / "working" / wc_name
                derived = frames.derive(checked(cam, n, wc_path), wc_path)
                flusher.soon(wc_path)
                masters = [(dest, seg) for seg, _name, dest in copies[n]]
                done += sum(payload[f"data/master/{nm}"].size for _s, nm, _d in copies[n])
                wc = derived.working
                self._say(done, total, f"working copy of {cam.name} checked")
                for path, (rows, first_frame) in derived.index.items():
                    csv_name = f"frames_{path.stem}.csv"
                    payload[f"data/metadata/{csv_name}"] = bag.write_bytes_hashed(
                        data / "metadata" / csv_name, rows.encode())
                    fact = next(f for f in seg_facts
                                if f["file"] == f"data/master/{path.name}")
                    fact["first_frame_utc"] = first_frame
                payload[f"data/working/{wc_name}"] = derived.hashes
                working.append({"file": f"data/working/{wc_name}", "camera": cam.name,
                                "derived_from": [f"data/master/{p.name}" for p, _s in masters],
                                **wc})
                if job.stills:
                    for still in frames.stills(masters[0][0], masters[0][1], cam.name,
                                               data / "stills"):
                        payload[f"data/stills/{still.name}"] = bag.hash_file(still)
                        still_names.append(still.name)
        finally:
            stop.set()  # a failure or a cancel: copies not yet begun are not begun
            pool.shutdown(wait=True, cancel_futures=True)
        audit = self.audit_extract([c.id for c, _s, _h in plan], iso(job.start), iso(job.end))
        audit_text = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n"
                             for e in audit)
        payload["data/metadata/audit_extract.jsonl"] = bag.write_bytes_hashed(
            data / "metadata" / "audit_extract.jsonl", audit_text.encode())
        clock = documents.clock_report(job, seg_facts, started)
        payload["data/metadata/clock_report.json"] = bag.write_bytes_hashed(
            data / "metadata" / "clock_report.json", _json(clock))
        completed = self.clock()
        state = "sealed" if job.tsa_url else "pending-timestamp"
        facts = documents.export_facts(
            job, package_id=package_id, profile=PROFILE_VERSION, software=SOFTWARE,
            started=iso(started), completed=iso(completed), segments=seg_facts, gaps=gaps,
            working=working, audit=audit, signer=self.signer, state=state)
        facts["stills"] = still_names
        stamp = None
        for _attempt in range(2):
            files = dict(payload)
            files["data/metadata/export.json"] = bag.write_bytes_hashed(
                data / "metadata" / "export.json", _json(facts))
            for name, text in documents.statements(facts).items():
                files[f"data/statement/{name}"] = bag.write_bytes_hashed(
                    data / "statement" / name, text.encode())
            self._write_bag(root, job, facts, files)
            p7s = sign_detached((root / "tagmanifest-sha256.txt").read_bytes(), self.signer)
            (root / "seal").mkdir(exist_ok=True)
            (root / "seal" / P7S).write_bytes(p7s)
            if state == "pending-timestamp" or job.tsa_url is None:
                break
            try:
                stamp = request_timestamp(p7s, job.tsa_url)
                break
            except TimestampError as exc:
                # Declared sealed, but no token: say pending in the signed facts instead.
                warnings.append(f"{exc}; the package is pending a time-stamp "
                                "(complete it later with: vms seal --timestamp PACKAGE)")
                state = facts["seal"]["state"] = "pending-timestamp"
        self._write_seal(root, stamp)
        size = sum(h.size for h in payload.values())
        return Result(root, package_id, state, size, len(seg_facts), warnings)

    def _copy_master(self, seg: Segment, dest: Path, stop: threading.Event,
                     flusher: durable.Flusher) -> bag.Hashes:
        """On the copying thread: one master, bit for bit, checked against the recorder."""
        if stop.is_set() or self.cancelled():
            raise Cancelled("the export was cancelled; nothing was written")
        if not seg.path.exists():
            raise ExportError(f"the recording {seg.path} is missing from the disk")
        hashes = bag.copy_hashed(seg.path, dest)
        if hashes.digests["sha256"] != seg.sha256:
            raise ExportError(
                f"the recording {seg.path.name} no longer matches the hash its recorder "
                f"took when it was closed (recorder {seg.sha256}, now "
                f"{hashes.digests['sha256']}): it may have been altered or damaged, so "
                "the export was stopped")
        flusher.soon(dest)
        return hashes

    @staticmethod
    def _segment_fact(cam: CameraFacts, seg: Segment, name: str, dest: Path,
                      hashes: bag.Hashes) -> dict[str, Any]:
        return {
            "file": f"data/master/{name}", "camera": cam.name, "camera_id": cam.id,
            "start_utc": seg.start_utc, "end_utc": seg.end_utc,
            "frames": seg.frames, "bytes": hashes.size, "clock": seg.clock,
            "video_codec": seg.video_codec, "audio_codec": seg.audio_codec,
            "source_sha256": seg.sha256, "recorder_state": seg.state,
            "recorder_note": seg.note, "frame_index": f"data/metadata/frames_{dest.stem}.csv",
            "copy_check": "bit-for-bit copy; SHA-256 equals the recorder's",
        }

    def _say(self, done: int, total: int, stage: str) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(done, total, stage))

    def _write_bag(self, root: Path, job: ExportJob, facts: dict[str, Any],
                   files: dict[str, bag.Hashes]) -> None:
        (root / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: "
                                        "UTF-8\n", encoding="utf-8")
        oxum = f"{sum(h.size for h in files.values())}.{len(files)}"
        info = bag.bag_info_text([
            ("Source-Organization", job.organisation),
            ("Contact-Name", job.producer.name),
            ("External-Identifier", job.exhibit),
            ("Bag-Group-Identifier", job.request.crime_reference or "not given"),
            ("Internal-Sender-Identifier", facts["package"]["id"]),
            ("Bagging-Date", facts["export"]["completed_utc"][:10]),
            ("Payload-Oxum", oxum),
            ("Bag-Software-Agent", SOFTWARE),
            ("External-Description", f"Evidence export of {len(job.cameras)} camera(s), "
                                     f"{iso(job.start)} to {iso(job.end)}"),
            ("Evidence-Package-Profile", PROFILE_VERSION),
        ])
        (root / "bag-info.txt").write_text(info, encoding="utf-8")
        tags: dict[str, bag.Hashes] = {}
        for name in ("bagit.txt", "bag-info.txt"):
            tags[name] = bag.hash_file(root / name)
        for alg in bag.ALGORITHMS:
            name = f"manifest-{alg}.txt"
            (root / name).write_text(bag.manifest_text(files, alg), encoding="utf-8")
            tags[name] = bag.hash_file(root / name)
        for alg in bag.ALGORITHMS:
            (root / f"tagmanifest-{alg}.txt").write_text(bag.manifest_text(tags, alg),
                                                         encoding="utf-8")

    def _write_seal(self, root: Path, stamp: Any) -> None:
        seal = root / "seal"
        (seal / "chain").mkdir(exist_ok=True)
        (seal / "chain" / "signer.crt").write_bytes(self.signer.cert.public_bytes(Encoding.PEM))
        for n, c in enumerate(self.signer.chain, 1):
            (seal / "chain" / f"intermediate-{n}.crt").write_bytes(c.public_bytes(Encoding.PEM))
        if stamp is not None:
            write_stamp(root, stamp)


def write_stamp(root: Path, stamp: Any) -> None:
    seal = root / "seal"
    (seal / "tsa").mkdir(parents=True, exist_ok=True)
    for n, der in enumerate(stamp.tsa_certs):
        name = "tsa.crt" if n == 0 else f"chain-{n}.crt"
        (seal / "tsa" / name).write_bytes(cert_der_to_pem(der))
    (seal / TSR).write_bytes(stamp.reply)


def add_timestamp(package: Path, tsa_url: str) -> str:
    """``vms seal --timestamp``: complete a pending package; returns the trusted time."""
    p7s = package / "seal" / P7S
    if not p7s.exists():
        raise ExportError(f"{package} has no signature to time-stamp (seal/{P7S})")
    if (package / "seal" / TSR).exists():
        raise ExportError(f"{package} is already time-stamped")
    stamp = request_timestamp(p7s.read_bytes(), tsa_url)
    write_stamp(package, stamp)
    return stamp.gen_time


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

