"""The audit chain kept in a table: appending, checkpointing, reading and verifying, written
once for both stores (the profile's SQLite ``audit.db``, the site's PostgreSQL).

The SQL here runs unchanged on either: ``?`` placeholders (the site's connection turns them
into psycopg's), ``"user"`` quoted (a reserved word in PostgreSQL), no engine-only syntax.
A subclass says where the rows live (``_read``, ``_write``), how appends are serialised
(``_serialise``), which errors its engine raises, and where its checkpoints are kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

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
from vms.credentials import CredentialStore
from vms.errors import AuditError

CHECKPOINT_EVERY = 100
CHECKPOINT_SECONDS = 300.0

COLUMNS = ("seq", "at", "user", "role", "workstation", "via", "action", "outcome", "device_id",
           "device", "area", "detail", "prev_hash", "hash", "key_id", "mac")
_NULLABLE = {"device_id": "INTEGER", "device": "TEXT", "area": "TEXT"}


def audit_table(seq_type: str, if_not_exists: bool = False) -> str:
    """The audit table as both stores create it, from one list: its sequence SQLite's
    ``INTEGER PRIMARY KEY`` (the row id) or PostgreSQL's ``BIGINT``, every other column the
    same in each. A column added later is a migration of its own in each store, not a change
    to this list (which migrations already run have used)."""
    cols = [f"seq {seq_type} PRIMARY KEY",
            *(f'"{c}" {_NULLABLE.get(c, "TEXT NOT NULL")}' for c in COLUMNS[1:])]
    return (f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}audit (\n    "
            + ",\n    ".join(cols) + "\n)")


_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM audit"  # noqa: S608
_INSERT = ("INSERT INTO audit (" + ", ".join(f'"{c}"' for c in COLUMNS) + ") VALUES ("  # noqa: S608
           + ", ".join("?" * len(COLUMNS)) + ")")


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, query: str, params: Any = ..., /) -> Cursor: ...


@dataclass
class Actor:
    """Who did it: filled from a session, or the system itself (``user`` "system")."""

    user: str
    role: str
    workstation: str
    via: str


def values(actor: Actor, action: str, outcome: str, device_id: int | None, device: str | None,
           area: str | None, detail: dict[str, Any] | None) -> dict[str, Any]:
    """An entry's hashed fields but its time (stamped when it is chained)."""
    return {"user": actor.user, "role": actor.role,
            "workstation": actor.workstation, "via": actor.via, "action": action,
            "outcome": outcome, "device_id": device_id, "device": device, "area": area,
            "detail": canonical_detail(detail)}


def entry(row: Any) -> AuditEntry:
    """A row of ``_SELECT`` (a tuple, or the site's named row) as an entry."""
    return AuditEntry(*(row[i] for i in range(len(COLUMNS))))


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    """One hash-chained, sealed, append-only table and its checkpoints."""

    _meta = "meta"  # the table of chain_id, key_id and the count of checkpoints written
    _written_key = "checkpoints_written"
    # what the engine raises for a request that failed (a subclass's connection errors)
    _errors: tuple[type[BaseException], ...] = ()

    def __init__(self, credentials: CredentialStore | None) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()
        self._key: tuple[str, bytes] | None = None
        self._last_checkpoint: tuple[int, float] | None = None

    # -- where the rows live (subclasses) -------------------------------------------
    @property
    def chain_id(self) -> str:
        """The chain's identity, which names its seal keys in the keyring."""
        raise NotImplementedError

    @property
    def checkpoint_path(self) -> Path:
        """The file outside the table that the chain's head is checkpointed to."""
        raise NotImplementedError

    def _read(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _serialise(self, c: Connection) -> None:
        """Inside the append's transaction: make appends one at a time (SQLite's write lock
        already does)."""

    def _open_credentials(self) -> CredentialStore:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def credentials(self) -> CredentialStore:
        if self._credentials is None:
            self._credentials = self._open_credentials()
        return self._credentials

    def _failed(self, doing: str, exc: BaseException) -> AuditError:
        return AuditError(f"could not {doing} the audit log: {exc}")

    # -- seal keys ----------------------------------------------------------------
    def _store_key(self, kid: str) -> str:
        return f"audit-seal:{self.chain_id}:{kid}"

    def key_for(self, kid: str) -> bytes | None:
        got = self.credentials.get(self._store_key(kid))
        return bytes.fromhex(got[1]) if got else None

    def _missing_key(self, kid: str) -> bool:
        """The chain's key is not in this keyring: True to make a new one (and say so in
        the log); a site chain raises ``SealKeyMissing`` instead (its other computers seal with
        the one key)."""
        del kid
        return True

    def _current_key(self, c: Connection) -> tuple[str, bytes, bool]:
        """The sealing key, made on first use; returns (id, key, replaced)."""
        if self._key is not None:
            return (*self._key, False)
        row = c.execute(f"SELECT value FROM {self._meta} WHERE key = 'key_id'").fetchone()  # noqa: S608
        key = self.key_for(row[0]) if row else None
        replaced = row is not None and key is None and self._missing_key(row[0])
        if row is None or key is None:
            key = os.urandom(32)
            kid = key_id(key)
            self.credentials.set(self._store_key(kid), "audit", key.hex())
            c.execute(f"DELETE FROM {self._meta} WHERE key = 'key_id'")  # noqa: S608
            c.execute(f"INSERT INTO {self._meta} (key, value) VALUES ('key_id', ?)", [kid])  # noqa: S608
        else:
            kid = row[0]
        self._key = (kid, key)
        return kid, key, replaced

    # -- writing ------------------------------------------------------------------
    def append(self, actor: Actor, action: str, *, outcome: str = "ok",
               device_id: int | None = None, device: str | None = None,
               area: str | None = None, detail: dict[str, Any] | None = None) -> AuditEntry | None:
        """Write one entry, chained to the newest (None: held to be chained later)."""
        raise NotImplementedError

    def _append(self, values: dict[str, Any]) -> AuditEntry:
        """Chain ``values`` to the newest entry, in one transaction (stamped then, unless
        they carry the time they were held from)."""
        with self._lock, self._write() as c:
            self._serialise(c)
            kid, key, replaced = self._current_key(c)
            self._key = None  # kept once the transaction that may have made it commits
            if replaced:
                self._insert(c, kid, key, {
                    **values, "at": utc_now(), "user": "system", "role": "system",
                    "action": "audit.key_replaced", "outcome": "ok", "device_id": None,
                    "device": None, "area": None,
                    "detail": canonical_detail({"reason": "the previous seal key was not found "
                                                          "in the keyring"})})
            e = self._insert(c, kid, key, values)
        self._key = (kid, key)
        return e

    def _insert(self, c: Connection, kid: str, key: bytes, values: dict[str, Any]) -> AuditEntry:
        last = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        if "at" not in values:  # stamped under the lock: time order is chain order
            values = {**values, "at": utc_now()}
        h = entry_hash(values, prev)
        e = AuditEntry(seq=seq, prev_hash=prev, hash=h, key_id=kid, mac=seal(key, h), **values)
        c.execute(_INSERT, [getattr(e, k) for k in COLUMNS])
        return e

    def _maybe_checkpoint(self, e: AuditEntry) -> None:
        if self._checkpoint_wanted(e):
            self.checkpoint()

    def _checkpoint_wanted(self, e: AuditEntry) -> bool:
        """At the first entry, every ``CHECKPOINT_EVERY`` entries or ``CHECKPOINT_SECONDS``."""
        if self._last_checkpoint is None:
            cps = self.checkpoints()
            self._last_checkpoint = (cps[-1].seq, time.monotonic()) if cps else (0, 0.0)
        seq, when = self._last_checkpoint
        return (seq == 0 or e.seq - seq >= CHECKPOINT_EVERY
                or time.monotonic() - when >= CHECKPOINT_SECONDS)

    def checkpoint(self) -> Checkpoint | None:
        """Record the chain's head outside the table; returns it (None for an empty log)."""
        c = self._read()
        try:
            head = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            if head is None:
                return None
            kid, key, _ = self._current_key(c)
        except self._errors as exc:
            raise self._failed("checkpoint", exc) from None
        cp = Checkpoint(seq=head[0], hash=head[1], at=utc_now(), key_id=kid, mac="")
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
        try:
            c.execute(f"INSERT INTO {self._meta} (key, value) VALUES (?, '1') ON CONFLICT (key) "  # noqa: S608
                      f"DO UPDATE SET value = CAST(CAST({self._meta}.value AS INTEGER) + 1 AS TEXT)",
                      [self._written_key])
        except self._errors as exc:
            raise self._failed("checkpoint", exc) from None
        self._last_checkpoint = (cp.seq, time.monotonic())
        return cp

    def checkpoints_written(self) -> int:
        row = self._read().execute(f"SELECT value FROM {self._meta} WHERE key = ?",  # noqa: S608
                                   [self._written_key]).fetchone()
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
        row = self._read().execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def entries(self, f: Any = None) -> list[AuditEntry]:
        """Entries matching a ``log.Filter`` (all without one), oldest first."""
        where: list[str] = []
        params: list[object] = []
        if f is not None and f.user:
            where.append('lower("user") = lower(?)')
            params.append(f.user)
        if f is not None and f.device_id is not None:
            clause, args = self._device_where(f.device_id)
            where.append(clause)
            params += args
        if f is not None and f.action:
            if f.action.endswith("."):
                where.append("substr(action, 1, ?) = ?")
                params += [len(f.action), f.action]
            else:
                where.append("action = ?")
                params.append(f.action)
        if f is not None and f.since:
            where.append('"at" >= ?')
            params.append(f.since)
        if f is not None and f.until:
            where.append('"at" <= ?')
            params.append(f.until)
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        if f is not None and f.limit:
            sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT {int(f.limit)}) AS newest"  # noqa: S608
        sql += " ORDER BY seq"
        try:
            return [entry(r) for r in self._read().execute(sql, params)]
        except self._errors as exc:
            raise self._failed("read", exc) from None

    def _device_where(self, device_id: int) -> tuple[str, list[object]]:
        return "device_id = ?", [device_id]

    def is_about(self, e: AuditEntry, device_ids: set[int]) -> bool:
        """Whether the entry is about one of these cameras (ids of this profile)."""
        return e.device_id in device_ids

    def actions(self) -> list[str]:
        return [r[0] for r in self._read().execute("SELECT DISTINCT action FROM audit ORDER BY 1")]

    def users(self) -> list[str]:
        return [r[0] for r in self._read().execute('SELECT DISTINCT "user" FROM audit ORDER BY 1')]

    def verify(self) -> Verdict:
        # In this order: a checkpoint's line is written before its count, and records a head
        # no newer than the entries read after it, so a writer busy meanwhile (another
        # process, the site's writer thread) cannot make a sound chain look cut or shortened.
        written = self.checkpoints_written()
        cps = self.checkpoints()
        rows = self.entries()
        verdict = verify(rows, self.key_for, cps)
        name = self.checkpoint_path.name
        if rows and not cps:
            verdict.problems.append(Problem(None, "checkpoint", f"{name} is missing, so entries "
                                            "cut off the end could not be seen"))
        elif written > len(cps):
            verdict.problems.append(Problem(None, "checkpoint", f"{name} was deleted or shortened: "
                                            f"{written} checkpoints were written, {len(cps)} remain"))
        return verdict
