"""The audit log: an append-only, hash-chained table in the profile's ``audit.db``.

Appends from every process on the profile (desktop, CLI, recorder) serialise on SQLite's
write lock, so the chain stays one line. Triggers refuse UPDATE and DELETE; that stops
mistakes, and the chain and its seals catch anyone who drops them. The head of the chain
is checkpointed into ``audit-checkpoints.jsonl`` beside the database at the first entry,
every ``CHECKPOINT_EVERY`` entries or ``CHECKPOINT_SECONDS``, and whenever a user signs
out, so that cutting off the newest entries is caught; evidence packages carry a copy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
import threading
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vms.audit.chain import (
    GENESIS,
    AuditEntry,
    Checkpoint,
    Problem,
    Verdict,
    canonical_detail,
    entry_hash,
    key_id,
    seal,
    verify,
)
from vms.credentials import CredentialStore, open_store
from vms.errors import AuditError
from vms.safety.spreadsheet import cell
from vms.sqlite_local import LocalConnections, rename_column

CHECKPOINT_EVERY = 100
CHECKPOINT_SECONDS = 300.0
LONDON = ZoneInfo("Europe/London")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    workstation TEXT NOT NULL,
    via TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    device_id INTEGER,
    device TEXT,
    area TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_user ON audit(user);
CREATE INDEX IF NOT EXISTS audit_device ON audit(device_id);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
_COLUMNS = ("seq", "at", "user", "role", "workstation", "via", "action", "outcome", "device_id",
            "device", "area", "detail", "prev_hash", "hash", "key_id", "mac")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def london(at: str, ms: bool = False) -> str:
    """An audit time as control rooms read it: Europe/London, GMT or BST marked (the zone's
    name also settles the hour that repeats when the clocks go back)."""
    t = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(LONDON)
    frac = f".{t.microsecond // 1000:03d}" if ms else ""
    return t.strftime("%Y-%m-%d %H:%M:%S") + f"{frac} " + (t.tzname() or "")


@dataclass
class Actor:
    """Who did it: filled from a session, or the system itself (``user`` "system")."""

    user: str
    role: str
    workstation: str
    via: str


@dataclass
class Filter:
    user: str | None = None
    device_id: int | None = None
    action: str | None = None  # an exact action, or a prefix ending in "." ("live.")
    since: str | None = None  # UTC ISO
    until: str | None = None
    limit: int | None = None


class AuditLog:
    def __init__(self, profile: Path, credentials: CredentialStore | None = None) -> None:
        self.path = profile / "audit.db"
        self.checkpoint_path = profile / "audit-checkpoints.jsonl"
        self._credentials = credentials
        self._profile = profile
        self._db = LocalConnections(self.path, busy_timeout_s=15.0)
        self._lock = threading.Lock()
        self._key: tuple[str, bytes] | None = None
        self._last_checkpoint: tuple[int, float] | None = None
        try:
            conn = self._conn
            conn.execute("PRAGMA journal_mode = WAL")
            with self._tx() as c:
                for stmt in _SCHEMA.split(";\n"):
                    if stmt.strip():
                        c.execute(stmt)
                rename_column(c, "audit", "site", "area")  # a device's grouping, before v6
                if c.execute("SELECT value FROM meta WHERE key = 'chain_id'").fetchone() is None:
                    c.execute("INSERT INTO meta VALUES ('chain_id', ?)", [uuid.uuid4().hex])
                    c.execute("INSERT INTO meta VALUES ('created_at', ?)", [utc_now()])
            self.chain_id: str = conn.execute(
                "SELECT value FROM meta WHERE key = 'chain_id'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"the audit log {self.path} cannot be opened: {exc}") from None

    # -- storage ------------------------------------------------------------------
    @property
    def _conn(self) -> sqlite3.Connection:
        return self._db.conn

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    @property
    def credentials(self) -> CredentialStore:
        if self._credentials is None:
            self._credentials = open_store(self._profile)
        return self._credentials

    # -- seal keys ----------------------------------------------------------------
    def _store_key(self, kid: str) -> str:
        return f"audit-seal:{self.chain_id}:{kid}"

    def key_for(self, kid: str) -> bytes | None:
        got = self.credentials.get(self._store_key(kid))
        return bytes.fromhex(got[1]) if got else None

    def _current_key(self, c: sqlite3.Connection) -> tuple[str, bytes, bool]:
        """The sealing key; a new one if this profile's is missing (then said in the log)."""
        if self._key is not None:
            return (*self._key, False)
        row = c.execute("SELECT value FROM meta WHERE key = 'key_id'").fetchone()
        key = self.key_for(row[0]) if row else None
        replaced = row is not None and key is None
        if row is None or key is None:
            key = os.urandom(32)
            kid = key_id(key)
            self.credentials.set(self._store_key(kid), "audit", key.hex())
            c.execute("INSERT OR REPLACE INTO meta VALUES ('key_id', ?)", [kid])
        else:
            kid = row[0]
        self._key = (kid, key)
        return kid, key, replaced

    # -- writing ------------------------------------------------------------------
    def append(self, actor: Actor, action: str, *, outcome: str = "ok", device_id: int | None = None,
               device: str | None = None, area: str | None = None,
               detail: dict[str, Any] | None = None) -> AuditEntry:
        """Write one entry, chained to the newest; returns it once it is committed."""
        values: dict[str, Any] = {
            "user": actor.user, "role": actor.role, "workstation": actor.workstation,
            "via": actor.via, "action": action, "outcome": outcome, "device_id": device_id,
            "device": device, "area": area, "detail": canonical_detail(detail)}
        try:
            with self._lock, self._tx() as c:
                kid, key, replaced = self._current_key(c)
                if replaced:
                    self._insert(c, kid, key, {
                        **values, "user": "system", "role": "system", "action": "audit.key_replaced",
                        "outcome": "ok", "device_id": None, "device": None, "area": None,
                        "detail": canonical_detail({"reason": "the previous seal key was not found "
                                                              "in the keyring"})})
                entry = self._insert(c, kid, key, values)
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"could not write to the audit log: {exc}") from None
        self._maybe_checkpoint(entry)
        return entry

    def _insert(self, c: sqlite3.Connection, kid: str, key: bytes,
                values: dict[str, Any]) -> AuditEntry:
        last = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        values = {**values, "at": utc_now()}
        h = entry_hash(values, prev)
        entry = AuditEntry(seq=seq, prev_hash=prev, hash=h, key_id=kid, mac=seal(key, h), **values)
        c.execute(f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608
                  f"({', '.join('?' * len(_COLUMNS))})", [getattr(entry, k) for k in _COLUMNS])
        return entry

    def _maybe_checkpoint(self, entry: AuditEntry) -> None:
        if self._last_checkpoint is None:
            cps = self.checkpoints()
            self._last_checkpoint = (cps[-1].seq, time.monotonic()) if cps else (0, 0.0)
        seq, when = self._last_checkpoint
        if (seq == 0 or entry.seq - seq >= CHECKPOINT_EVERY
                or time.monotonic() - when >= CHECKPOINT_SECONDS):
            self.checkpoint()

    def checkpoint(self) -> Checkpoint | None:
        """Record the chain's head outside the table; returns it (None for an empty log)."""
        head = self._conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        if head is None:
            return None
        kid, key, _ = self._current_key(self._conn)
        at = utc_now()
        cp = Checkpoint(seq=head[0], hash=head[1], at=at, key_id=kid, mac="")
        cp.mac = seal(key, cp.sealed_text())
        line = json.dumps(asdict(cp), separators=(",", ":")) + "\n"
        # One short O_APPEND write: atomic with respect to other writers on the profile.
        fd = os.open(self.checkpoint_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        # How many were written, so that a deleted or shortened file is noticed.
        self._conn.execute("INSERT INTO meta VALUES ('checkpoints_written', '1') ON CONFLICT(key) "
                           "DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        self._last_checkpoint = (cp.seq, time.monotonic())
        return cp

    def checkpoints_written(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'checkpoints_written'").fetchone()
        return int(row[0]) if row else 0

    # -- reading ------------------------------------------------------------------
    def checkpoints(self) -> list[Checkpoint]:
        try:
            text = self.checkpoint_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(Checkpoint(**json.loads(line)))
            except (ValueError, TypeError):
                raise AuditError(f"{self.checkpoint_path} line {n} is not a checkpoint") from None
        return out

    def head(self) -> tuple[int, str]:
        row = self._conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def entries(self, f: Filter | None = None) -> list[AuditEntry]:
        f = f or Filter()
        where: list[str] = []
        params: list[object] = []
        if f.user:
            where.append("user = ? COLLATE NOCASE")
            params.append(f.user)
        if f.device_id is not None:
            where.append("device_id = ?")
            params.append(f.device_id)
        if f.action:
            if f.action.endswith("."):
                where.append("substr(action, 1, ?) = ?")
                params += [len(f.action), f.action]
            else:
                where.append("action = ?")
                params.append(f.action)
        if f.since:
            where.append("at >= ?")
            params.append(f.since)
        if f.until:
            where.append("at <= ?")
            params.append(f.until)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM audit"  # noqa: S608
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if f.limit:
            sql = f"SELECT * FROM ({sql} DESC LIMIT {int(f.limit)}) ORDER BY seq"  # noqa: S608
        try:
            return [AuditEntry(*r) for r in self._conn.execute(sql, params)]
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"could not read the audit log: {exc}") from None

    def actions(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT action FROM audit ORDER BY 1")]

    def users(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT user FROM audit ORDER BY 1")]

    def verify(self) -> Verdict:
        rows = self.entries()
        cps = self.checkpoints()
        written = self.checkpoints_written()
        verdict = verify(rows, self.key_for, cps)
        name = self.checkpoint_path.name
        if rows and not cps:
            verdict.problems.append(Problem(None, "checkpoint", f"{name} is missing, so entries "
                                            "cut off the end could not be seen"))
        elif written > len(cps):
            verdict.problems.append(Problem(None, "checkpoint", f"{name} was deleted or shortened: "
                                            f"{written} checkpoints were written, {len(cps)} remain"))
        return verdict


_CSV_COLUMNS = ("seq", "time_utc", "time_uk", "user", "role", "workstation", "via", "action",
                "outcome", "camera_id", "camera", "area", "detail", "hash")


_cell = cell  # spreadsheets run cells starting with = + - @ as formulas: defused


def to_csv(entries: list[AuditEntry]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(_CSV_COLUMNS)
    for e in entries:
        w.writerow([_cell(v) for v in (e.seq, e.at, london(e.at), e.user, e.role, e.workstation,
                                        e.via, e.action, e.outcome, e.device_id, e.device, e.area,
                                        e.detail, e.hash)])
    return out.getvalue()
