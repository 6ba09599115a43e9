"""The audit log: an append-only, hash-chained table in the profile's ``audit.db``.

Appends from every process on the profile (desktop, CLI, recorder) serialise on SQLite's
write lock, so the chain stays one line. Triggers refuse UPDATE and DELETE; that stops
mistakes, and the chain and its seals catch anyone who drops them. The head of the chain
is checkpointed into ``audit-checkpoints.jsonl`` beside the database at the first entry,
every ``ledger.CHECKPOINT_EVERY`` entries or ``CHECKPOINT_SECONDS``, and whenever a user signs
out, so that cutting off the newest entries is caught; evidence packages carry a copy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vms.audit.chain import AuditEntry
from vms.audit.ledger import Actor, Ledger, audit_table, utc_now, values
from vms.credentials import CredentialStore, open_store
from vms.errors import AuditError
from vms.safety.spreadsheet import cell
from vms.sqlite_local import LocalConnections, rename_column

__all__ = ["Actor", "AuditLog", "Filter", "london", "to_csv", "utc_now"]

LONDON = ZoneInfo("Europe/London")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
{audit_table("INTEGER", if_not_exists=True)};
CREATE INDEX IF NOT EXISTS audit_user ON audit(user);
CREATE INDEX IF NOT EXISTS audit_device ON audit(device_id);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def london(at: str, ms: bool = False) -> str:
    """An audit time as control rooms read it: Europe/London, GMT or BST marked (the zone's
    name also settles the hour that repeats when the clocks go back)."""
    t = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(LONDON)
    frac = f".{t.microsecond // 1000:03d}" if ms else ""
    return t.strftime("%Y-%m-%d %H:%M:%S") + f"{frac} " + (t.tzname() or "")


@dataclass
class Filter:
    user: str | None = None
    device_id: int | None = None
    action: str | None = None  # an exact action, or a prefix ending in "." ("live.")
    since: str | None = None  # UTC ISO
    until: str | None = None
    limit: int | None = None


class AuditLog(Ledger):
    """The profile's own chain, in ``audit.db``."""

    _errors = (sqlite3.DatabaseError,)

    def __init__(self, profile: Path, credentials: CredentialStore | None = None) -> None:
        super().__init__(credentials)
        self.path = profile / "audit.db"
        self._checkpoint_path = profile / "audit-checkpoints.jsonl"
        self._profile = profile
        self._db = LocalConnections(self.path, busy_timeout_s=15.0)
        try:
            conn = self._db.conn
            conn.execute("PRAGMA journal_mode = WAL")
            with self._db.transaction() as c:
                for stmt in _SCHEMA.split(";\n"):
                    if stmt.strip():
                        c.execute(stmt)
                rename_column(c, "audit", "site", "area")  # a device's grouping, before v6
                if c.execute("SELECT value FROM meta WHERE key = 'chain_id'").fetchone() is None:
                    c.execute("INSERT INTO meta VALUES ('chain_id', ?)", [uuid.uuid4().hex])
                    c.execute("INSERT INTO meta VALUES ('created_at', ?)", [utc_now()])
            self._chain_id: str = conn.execute(
                "SELECT value FROM meta WHERE key = 'chain_id'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"the audit log {self.path} cannot be opened: {exc}") from None

    @property
    def chain_id(self) -> str:
        return self._chain_id

    @property
    def checkpoint_path(self) -> Path:
        return self._checkpoint_path

    def _read(self) -> sqlite3.Connection:
        return self._db.conn

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    def _open_credentials(self) -> CredentialStore:
        return open_store(self._profile)

    def close(self) -> None:
        self._db.close()

    def append(self, actor: Actor, action: str, *, outcome: str = "ok", device_id: int | None = None,
               device: str | None = None, area: str | None = None,
               detail: dict[str, Any] | None = None) -> AuditEntry:
        """Write one entry, chained to the newest; returns it once it is committed."""
        try:
            e = self._append(values(actor, action, outcome, device_id, device, area, detail))
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"could not write to the audit log: {exc}") from None
        self._maybe_checkpoint(e)
        return e


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
