"""The recording index: every segment file with its times, counts, codecs and SHA-256, and
every gap with its reason. SQLite in WAL mode, shared by the desktop and ``vms record``.

A segment row is written when its file is created (state ``open``) and completed when
it is closed, so after a crash the index still names the file that was being written;
``recover`` then hashes what reached the disk and says so. Times are UTC ISO 8601 with
milliseconds, of the first and last frame.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vms.errors import ProfileError
from vms.sqlite_local import LocalConnections, SqliteStore

OPEN, CLOSED, RECOVERED, DAMAGED = "open", "closed", "recovered", "damaged"

_SCHEMA = [
    """
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        camera_id INTEGER NOT NULL,
        camera TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        start_utc TEXT,
        end_utc TEXT,
        clock TEXT NOT NULL DEFAULT 'rtcp',
        frames INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        video_codec TEXT,
        audio_codec TEXT,
        sha256 TEXT,
        note TEXT,
        opened_at TEXT NOT NULL,
        closed_at TEXT
    );
    CREATE INDEX segments_camera_time ON segments(camera_id, start_utc);
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY,
        camera_id INTEGER NOT NULL,
        camera TEXT NOT NULL,
        start_utc TEXT NOT NULL,
        end_utc TEXT,
        reason TEXT NOT NULL
    );
    CREATE INDEX gaps_camera_time ON gaps(camera_id, start_utc)
    """,
    """
    CREATE TABLE locks (
        id INTEGER PRIMARY KEY,
        camera_id INTEGER NOT NULL,
        camera TEXT NOT NULL,
        start_utc TEXT NOT NULL,
        end_utc TEXT,
        reason TEXT NOT NULL,
        incident_id INTEGER,
        locked_by TEXT NOT NULL,
        locked_at TEXT NOT NULL
    );
    CREATE INDEX locks_camera_time ON locks(camera_id, start_utc);
    CREATE TABLE pins (
        id INTEGER PRIMARY KEY,
        segment_id INTEGER NOT NULL,
        holder TEXT NOT NULL,
        since TEXT NOT NULL
    );
    CREATE TABLE deletions (
        id INTEGER PRIMARY KEY,
        segment_id INTEGER NOT NULL,
        camera_id INTEGER NOT NULL,
        camera TEXT NOT NULL,
        path TEXT NOT NULL,
        start_utc TEXT,
        end_utc TEXT,
        bytes INTEGER NOT NULL,
        sha256 TEXT,
        reason TEXT NOT NULL,
        deleted_at TEXT NOT NULL
    );
    CREATE TABLE retention (
        camera_id INTEGER PRIMARY KEY,
        days REAL NOT NULL
    );
    CREATE TABLE bookmarks (
        id INTEGER PRIMARY KEY,
        camera_id INTEGER,
        utc TEXT NOT NULL,
        label TEXT NOT NULL,
        made_by TEXT NOT NULL,
        made_at TEXT NOT NULL
    )
    """,
]


PIN_STALE_S = 12 * 3600  # an export pin older than this was left by a process that died


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Segment:
    id: int
    camera_id: int
    camera: str
    path: Path
    state: str
    start_utc: str | None
    end_utc: str | None
    clock: str  # "recorder": the recorder's clock; older rows: "rtcp" (the camera's), "local"
    frames: int
    bytes: int
    video_codec: str | None
    audio_codec: str | None
    sha256: str | None
    note: str | None


@dataclass(frozen=True)
class Gap:
    id: int
    camera_id: int
    camera: str
    start_utc: str
    end_utc: str | None
    reason: str


class RecordingIndex(SqliteStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = LocalConnections(path, setup=_row_factory)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn.execute("PRAGMA journal_mode = WAL")
            found = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if found > len(_SCHEMA):
                raise ProfileError(f"the recording index {path} is newer than this Beacon VMS")
            for i in range(found, len(_SCHEMA)):
                with self.transaction() as c:
                    for stmt in _SCHEMA[i].split(";"):
                        if stmt.strip():
                            c.execute(stmt)
                    c.execute(f"PRAGMA user_version = {i + 1}")
        except sqlite3.DatabaseError as exc:
            raise ProfileError(f"the recording index {path} cannot be opened: {exc}") from None

    # -- segments ------------------------------------------------------------------------
    def open_segment(self, camera_id: int, camera: str, path: Path, video_codec: str | None,
                     audio_codec: str | None, start_utc: str, clock: str) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO segments (camera_id, camera, path, state, start_utc, end_utc, clock, "
                "video_codec, audio_codec, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (camera_id, camera, str(path), OPEN, start_utc, start_utc, clock, video_codec,
                 audio_codec, now_utc()))
            return int(cur.lastrowid or 0)

    def update_segment(self, seg_id: int, *, durable: bool = True, **fields: Any) -> None:
        """Progress of an open segment (times, counts), or its final values when closed.
        Progress is written ``durable=False``: a power cut may lose the last few seconds of
        it, which recovery re-reads from the file, and every camera's progress every two
        seconds each with its own disk flush cost the recorder a quarter of its CPU."""
        allowed = {"state", "start_utc", "end_utc", "clock", "frames", "bytes", "sha256", "note",
                   "closed_at"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"not segment fields: {bad}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction(durable) as c:
            c.execute(f"UPDATE segments SET {cols} WHERE id = ?",  # noqa: S608 (names checked)
                      (*fields.values(), seg_id))

    def recovered(self, seg: Segment, *, frames: int, size: int, sha256: str | None,
                  note: str) -> None:
        """A segment a dead recorder left open, as found on disk, and the gap from its last
        frame, in one transaction: a full disk between the two would leave the segment
        recovered with no gap, and a second recovery would not add it."""
        with self.transaction() as c:
            c.execute("UPDATE segments SET state = ?, frames = ?, bytes = ?, sha256 = ?, "
                      "note = ?, closed_at = ? WHERE id = ?",
                      (RECOVERED, frames, size, sha256, note, now_utc(), seg.id))
            if seg.end_utc:
                c.execute("INSERT INTO gaps (camera_id, camera, start_utc, reason) "
                          "VALUES (?, ?, ?, ?)", (seg.camera_id, seg.camera, seg.end_utc,
                                                  "recorder stopped unexpectedly"))

    def segments(self, camera_id: int | None = None, state: str | None = None) -> list[Segment]:
        where: list[str] = []
        args: list[object] = []
        if camera_id is not None:
            where.append("camera_id = ?")
            args.append(camera_id)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        sql = "SELECT * FROM segments" + (" WHERE " + " AND ".join(where) if where else "") + \
            " ORDER BY camera_id, id"  # noqa: S608 (fixed clauses, values bound)
        return [_segment(r) for r in self.conn.execute(sql, args)]

    def cameras(self) -> set[int]:
        """Cameras with footage in the index."""
        return {int(r[0]) for r in self.conn.execute("SELECT DISTINCT camera_id FROM segments")}

    # -- gaps ------------------------------------------------------------------------------
    def open_gap(self, camera_id: int, camera: str, start_utc: str, reason: str) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO gaps (camera_id, camera, start_utc, reason) "
                            "VALUES (?, ?, ?, ?)", (camera_id, camera, start_utc, reason))
            return int(cur.lastrowid or 0)

    def add_gap(self, camera_id: int, camera: str, start_utc: str, end_utc: str,
                reason: str) -> int:
        """A gap already over (a pause in the camera's video between two segments)."""
        with self.transaction() as c:
            cur = c.execute("INSERT INTO gaps (camera_id, camera, start_utc, end_utc, reason) "
                            "VALUES (?, ?, ?, ?, ?)", (camera_id, camera, start_utc, end_utc,
                                                       reason))
            return int(cur.lastrowid or 0)

    def open_gap_id(self, camera_id: int) -> int | None:
        row = self.conn.execute("SELECT id FROM gaps WHERE camera_id = ? AND end_utc IS NULL "
                                "ORDER BY id DESC LIMIT 1", (camera_id,)).fetchone()
        return int(row[0]) if row else None

    def open_gaps(self) -> dict[int, str]:
        """Each camera's newest open gap (recording stopped and not yet resumed): its reason."""
        return {int(r[0]): str(r[1]) for r in self.conn.execute(
            "SELECT camera_id, reason FROM gaps WHERE end_utc IS NULL ORDER BY id")}

    def _end(self, table: str, row_id: int, end_utc: str) -> None:
        """Give an open gap or lock its end (once)."""
        with self.transaction() as c:
            c.execute(f"UPDATE {table} SET end_utc = ? WHERE id = ? "  # noqa: S608 (fixed names)
                      "AND end_utc IS NULL", (end_utc, row_id))

    def _of_camera(self, table: str, camera_id: int | None) -> list[sqlite3.Row]:
        where = " WHERE camera_id = ?" if camera_id is not None else ""
        sql = f"SELECT * FROM {table}{where} ORDER BY id"  # noqa: S608 (fixed names, bound values)
        return list(self.conn.execute(sql, [] if camera_id is None else [camera_id]))

    def end_gap(self, gap_id: int, end_utc: str) -> None:
        self._end("gaps", gap_id, end_utc)

    def retime_gap_end(self, gap_id: int, end_utc: str) -> None:
        """A gap's end given by our receive time, moved to the camera's own time of the same
        frame once the camera's clock is known (its segments are timed by it)."""
        with self.transaction() as c:
            c.execute("UPDATE gaps SET end_utc = MAX(?, start_utc) WHERE id = ? "
                      "AND end_utc IS NOT NULL", (end_utc, gap_id))

    def gaps(self, camera_id: int | None = None) -> list[Gap]:
        return [Gap(r["id"], r["camera_id"], r["camera"], r["start_utc"], r["end_utc"],
                    r["reason"]) for r in self._of_camera("gaps", camera_id)]

    # -- evidence locks ----------------------------------------------------------------------
    def lock(self, camera_id: int, camera: str, start_utc: str, end_utc: str | None, reason: str,
             by: str, incident_id: int | None = None) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO locks (camera_id, camera, start_utc, end_utc, reason, incident_id, "
                "locked_by, locked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (camera_id, camera, start_utc, end_utc, reason, incident_id, by, now_utc()))
            return int(cur.lastrowid or 0)

    def end_lock(self, lock_id: int, end_utc: str) -> None:
        """An open lock (an incident still running) gets its end; it stays a lock."""
        self._end("locks", lock_id, end_utc)

    def locks(self, camera_id: int | None = None) -> list[Lock]:
        return [Lock(**dict(r)) for r in self._of_camera("locks", camera_id)]

    def incident_locks(self, incident_id: int) -> list[Lock]:
        """The locks an incident made (one per camera), ended or not."""
        rows = self.conn.execute("SELECT * FROM locks WHERE incident_id = ? ORDER BY id",
                                 (incident_id,))
        return [Lock(**dict(r)) for r in rows]

    def open_incident_locks(self) -> list[Lock]:
        """Locks of incidents that had not closed when they were last seen."""
        rows = self.conn.execute("SELECT * FROM locks WHERE incident_id IS NOT NULL AND "
                                 "end_utc IS NULL ORDER BY id")
        return [Lock(**dict(r)) for r in rows]

    def locked(self, seg: Segment) -> bool:
        """Does any evidence lock overlap this segment?"""
        row = self.conn.execute(
            "SELECT 1 FROM locks WHERE camera_id = ? AND start_utc <= ? AND "
            "(end_utc IS NULL OR end_utc >= ?) LIMIT 1",
            (seg.camera_id, seg.end_utc or seg.start_utc or "", seg.start_utc or "")).fetchone()
        return row is not None

    # -- export pins -------------------------------------------------------------------------
    @contextlib.contextmanager
    def pinned(self, segment_ids: list[int], holder: str) -> Iterator[None]:
        """Segments being exported: retention leaves them alone until the export ends."""
        with self.transaction() as c:
            ids = [int(c.execute("INSERT INTO pins (segment_id, holder, since) VALUES (?, ?, ?)",
                                 (sid, holder, now_utc())).lastrowid or 0) for sid in segment_ids]
        try:
            yield
        finally:
            with self.transaction() as c:
                c.executemany("DELETE FROM pins WHERE id = ?", [(i,) for i in ids])

    def is_pinned(self, seg_id: int) -> bool:
        fresh = utc(time.time() - PIN_STALE_S)
        return self.conn.execute("SELECT 1 FROM pins WHERE segment_id = ? AND since > ?",
                                 (seg_id, fresh)).fetchone() is not None

    # -- retention ---------------------------------------------------------------------------
    def set_retention(self, camera_id: int, days: float | None) -> None:
        """Days to keep one camera's footage; None returns it to the site default."""
        with self.transaction() as c:
            if days is None:
                c.execute("DELETE FROM retention WHERE camera_id = ?", (camera_id,))
            else:
                c.execute("INSERT INTO retention (camera_id, days) VALUES (?, ?) ON CONFLICT"
                          "(camera_id) DO UPDATE SET days = excluded.days", (camera_id, days))

    def retention_days(self) -> dict[int, float]:
        return {int(r[0]): float(r[1])
                for r in self.conn.execute("SELECT camera_id, days FROM retention")}

    def delete_segment(self, seg: Segment, reason: str) -> None:
        """Forget a segment and record why, in one transaction; the file goes after, so a
        crash between the two leaves an unindexed file, never an index naming a lost one.
        The footage it held becomes a gap with the same reason."""
        with self.transaction() as c:
            c.execute("DELETE FROM segments WHERE id = ?", (seg.id,))
            c.execute("INSERT INTO deletions (segment_id, camera_id, camera, path, start_utc, "
                      "end_utc, bytes, sha256, reason, deleted_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (seg.id, seg.camera_id, seg.camera, str(seg.path), seg.start_utc,
                       seg.end_utc, seg.bytes, seg.sha256, reason, now_utc()))
            start, end = seg.start_utc or now_utc(), seg.end_utc or seg.start_utc or now_utc()
            prev = c.execute("SELECT id, end_utc FROM gaps WHERE camera_id = ? AND reason = ? "
                             "ORDER BY end_utc DESC LIMIT 1", (seg.camera_id, reason)).fetchone()
            if prev is not None and prev["end_utc"] is not None and \
                    _seconds(prev["end_utc"], start) < 5.0:
                c.execute("UPDATE gaps SET end_utc = max(end_utc, ?) WHERE id = ?",
                          (end, prev["id"]))
            else:
                c.execute("INSERT INTO gaps (camera_id, camera, start_utc, end_utc, reason) "
                          "VALUES (?, ?, ?, ?, ?)", (seg.camera_id, seg.camera, start, end, reason))

    # -- bookmarks ---------------------------------------------------------------------------
    def bookmark(self, camera_id: int | None, at_utc: str, label: str, by: str) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO bookmarks (camera_id, utc, label, made_by, made_at) "
                            "VALUES (?, ?, ?, ?, ?)", (camera_id, at_utc, label, by, now_utc()))
            return int(cur.lastrowid or 0)

    def bookmarks(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM bookmarks ORDER BY utc")]

    def deletions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM deletions ORDER BY id")]


@dataclass(frozen=True)
class Lock:
    """Footage that retention must keep: a call, an accepted alarm, an officer's hold.
    ``end_utc`` is None while the incident is still open."""

    id: int
    camera_id: int
    camera: str
    start_utc: str
    end_utc: str | None
    reason: str
    incident_id: int | None
    locked_by: str
    locked_at: str


def _row_factory(c: sqlite3.Connection) -> None:
    c.row_factory = sqlite3.Row


def _seconds(a: str, b: str) -> float:
    """b - a, in seconds, for two of the index's UTC strings."""
    return (dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds()


def _segment(r: sqlite3.Row) -> Segment:
    return Segment(r["id"], r["camera_id"], r["camera"], Path(r["path"]), r["state"],
                   r["start_utc"], r["end_utc"], r["clock"], r["frames"], r["bytes"],
                   r["video_codec"], r["audio_codec"], r["sha256"], r["note"])
