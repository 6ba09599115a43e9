"""The recording index: every segment file with its times, counts, codecs and SHA-256, and
every gap with its reason. SQLite in WAL mode, shared by the desktop and ``vms record``.

A segment row is written when its file is created (state ``open``) and completed when
it is closed, so after a crash the index still names the file that was being written;
``recover`` then hashes what reached the disk and says so. Times are UTC ISO 8601 with
milliseconds, of the first and last frame.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
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
]


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
    clock: str  # "rtcp": from the camera's sender reports; "local": our receive time
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

    def update_segment(self, seg_id: int, **fields: Any) -> None:
        """Progress of an open segment (times, counts), or its final values when closed."""
        allowed = {"state", "start_utc", "end_utc", "clock", "frames", "bytes", "sha256", "note",
                   "closed_at"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"not segment fields: {bad}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as c:
            c.execute(f"UPDATE segments SET {cols} WHERE id = ?",  # noqa: S608 (names checked)
                      (*fields.values(), seg_id))

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

    # -- gaps ------------------------------------------------------------------------------
    def open_gap(self, camera_id: int, camera: str, start_utc: str, reason: str) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO gaps (camera_id, camera, start_utc, reason) "
                            "VALUES (?, ?, ?, ?)", (camera_id, camera, start_utc, reason))
            return int(cur.lastrowid or 0)

    def open_gap_id(self, camera_id: int) -> int | None:
        row = self.conn.execute("SELECT id FROM gaps WHERE camera_id = ? AND end_utc IS NULL "
                                "ORDER BY id DESC LIMIT 1", (camera_id,)).fetchone()
        return int(row[0]) if row else None

    def end_gap(self, gap_id: int, end_utc: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE gaps SET end_utc = ? WHERE id = ? AND end_utc IS NULL",
                      (end_utc, gap_id))

    def gaps(self, camera_id: int | None = None) -> list[Gap]:
        sql = "SELECT * FROM gaps" + (" WHERE camera_id = ?" if camera_id is not None else "") + \
            " ORDER BY id"  # noqa: S608 (fixed clauses, values bound)
        rows = self.conn.execute(sql, [] if camera_id is None else [camera_id])
        return [Gap(r["id"], r["camera_id"], r["camera"], r["start_utc"], r["end_utc"],
                    r["reason"]) for r in rows]


def _row_factory(c: sqlite3.Connection) -> None:
    c.row_factory = sqlite3.Row


def _segment(r: sqlite3.Row) -> Segment:
    return Segment(r["id"], r["camera_id"], r["camera"], Path(r["path"]), r["state"],
                   r["start_utc"], r["end_utc"], r["clock"], r["frames"], r["bytes"],
                   r["video_codec"], r["audio_codec"], r["sha256"], r["note"])
