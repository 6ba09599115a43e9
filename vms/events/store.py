"""events.db: every event as it arrived, and the incidents and actions built on them.

A separate file from the registry so a flood of events never holds the registry's
write lock. WAL, one connection per thread. An event row is committed before
anyone is told about it: what an operator saw is always in the database.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vms.errors import ProfileError
from vms.sqlite_local import LocalConnections, SqliteStore, add_column, rename_column

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    token TEXT NOT NULL,
    active INTEGER NOT NULL,
    pulse INTEGER NOT NULL,
    initial INTEGER NOT NULL,
    synthetic TEXT,                 -- why we made it up (e.g. no "off" arrived in time)
    device_time TEXT,
    received_utc TEXT NOT NULL,
    topic TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_device ON events(device_id, id);
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL,
    device TEXT NOT NULL,
    area TEXT NOT NULL,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state TEXT NOT NULL,            -- new, accepted, on_hold, closed
    owner TEXT,
    workstation TEXT,               -- where the owner took it (several desks: issue 25)
    lost_from TEXT,                 -- the silent workstation whose operator was lost
    event_id INTEGER REFERENCES events(id),
    raised_utc TEXT NOT NULL,
    accepted_utc TEXT,
    closed_utc TEXT,
    outcome TEXT,
    notes TEXT NOT NULL DEFAULT '',
    police_informed_utc TEXT,
    police_ref TEXT,
    units TEXT
);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents(state, priority, id);
CREATE TABLE IF NOT EXISTS incident_actions (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    utc TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_incident ON incident_actions(incident_id, id);
"""


def _setup(c: sqlite3.Connection) -> None:
    c.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoint, never corrupt
    c.row_factory = sqlite3.Row


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = LocalConnections(path, setup=_setup)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            c = self.conn
            c.execute("PRAGMA journal_mode=WAL")
            c.executescript(SCHEMA)
            with self.transaction() as t:  # two processes opening an old store: one renames
                rename_column(t, "incidents", "site", "area")  # a device's grouping, before v6
                add_column(t, "incidents", "workstation", "TEXT")
                add_column(t, "incidents", "lost_from", "TEXT")
        except sqlite3.DatabaseError as exc:
            raise ProfileError(f"the event store {path} cannot be opened: {exc}") from None

    @classmethod
    def for_profile(cls, data_dir: Path) -> EventStore:
        return cls(data_dir / "events.db")

    def notify(self, tx: sqlite3.Connection, channel: str, payload: str) -> None:
        """Nothing to do: one process writes a profile's queue (the site database's
        ``notify`` tells the other desks)."""

    def add_events(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert a batch in one transaction; returns their ids in order."""
        ids = []
        with self.transaction() as c:
            for r in rows:
                cur = c.execute(
                    "INSERT INTO events (device_id, device, kind, token, active, pulse, initial, "
                    "synthetic, device_time, received_utc, topic, data) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (r["device_id"], r["device"], r["kind"], r["token"], int(r["active"]),
                     int(r["pulse"]), int(r["initial"]), r.get("synthetic"), r.get("device_time"),
                     r["received_utc"], r["topic"], json.dumps(r.get("data") or {})))
                ids.append(int(cur.lastrowid or 0))
        return ids

    def events(self, device_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        q = "SELECT * FROM events"
        args: list[Any] = []
        if device_id is not None:
            q += " WHERE device_id = ?"
            args.append(device_id)
        q += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [dict(r) for r in self.conn.execute(q, args)]

    def count_events(self, kind: str | None = None) -> int:
        if kind is None:
            return int(self.conn.execute("SELECT count(*) FROM events").fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM events WHERE kind = ?",
                                     (kind,)).fetchone()[0])
