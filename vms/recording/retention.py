"""Retention: delete footage past its camera's days, keep the disk under its quota, and warn
when the recording disk runs low.

Locked footage (calls, accepted alarms) and footage being exported are never deleted, by
age or by quota; if locked footage alone fills the quota, that is said rather than solved
by deleting evidence. Every deletion is a row in the index's ``deletions`` table and a
``retention`` gap, so a timeline shows where footage went and why.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from vms.recording.index import OPEN, RecordingIndex, Segment

log = logging.getLogger(__name__)

DEFAULT_DAYS = 31.0  # what UK control rooms commonly keep
GB = 1024**3


@dataclass
class RetentionReport:
    deleted: list[Segment] = field(default_factory=list)
    bytes_freed: int = 0
    kept_locked: int = 0  # segments past their days kept because of a lock
    kept_exporting: int = 0
    used_bytes: int = 0
    free_bytes: int = 0
    low_space: bool = False
    over_quota: bool = False
    alarms: list[str] = field(default_factory=list)


def _gb(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= GB / 10 else f"{n / 1024**2:.1f} MB"


def enforce(index: RecordingIndex, root: Path, *, now: dt.datetime | None = None,
            default_days: float = DEFAULT_DAYS, quota_bytes: int | None = None,
            low_space_bytes: int = 0) -> RetentionReport:
    now = now or dt.datetime.now(dt.UTC)
    days = index.retention_days()
    report = RetentionReport()
    every = index.segments()
    done = sorted((s for s in every if s.state != OPEN and s.start_utc),
                  key=lambda s: s.start_utc or "")
    report.used_bytes = sum(s.bytes for s in every)

    def removable(seg: Segment) -> bool:
        if index.locked(seg):
            report.kept_locked += 1
            return False
        if index.is_pinned(seg.id):
            report.kept_exporting += 1
            return False
        return True

    def delete(seg: Segment, reason: str) -> None:
        index.delete_segment(seg, reason)
        try:
            seg.path.unlink()
        except FileNotFoundError:
            pass  # already gone: the index row is what mattered
        except OSError as exc:  # the index no longer names it; say so, keep going
            log.error("could not delete %s after retention: %s", seg.path.name, exc.strerror)
        report.deleted.append(seg)
        report.bytes_freed += seg.bytes
        report.used_bytes -= seg.bytes

    kept: list[Segment] = []
    for seg in done:
        keep_days = days.get(seg.camera_id, default_days)
        end = dt.datetime.fromisoformat(seg.end_utc or seg.start_utc or "")
        if end < now - dt.timedelta(days=keep_days) and removable(seg):
            delete(seg, f"retention: older than {keep_days:g} days")
        else:
            kept.append(seg)

    if quota_bytes is not None and report.used_bytes > quota_bytes:
        for seg in kept:
            if report.used_bytes <= quota_bytes:
                break
            if removable(seg):
                delete(seg, f"retention: over the {_gb(quota_bytes)} quota")
        if report.used_bytes > quota_bytes:
            report.over_quota = True
            report.alarms.append(
                f"recordings use {_gb(report.used_bytes)}, over the {_gb(quota_bytes)} quota, "
                "and what is left is evidence-locked or being exported: raise the quota or "
                "release locks")

    if root.exists():
        report.free_bytes = shutil.disk_usage(root).free
        if report.free_bytes < low_space_bytes:
            report.low_space = True
            report.alarms.append(f"the recording disk ({root}) has {_gb(report.free_bytes)} "
                                 f"free, under the {_gb(low_space_bytes)} warning level")
    for a in report.alarms:
        log.warning("%s", a)
    if report.deleted:
        log.info("retention deleted %d segment(s), %s", len(report.deleted),
                 _gb(report.bytes_freed))
    return report
