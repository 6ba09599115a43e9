"""One SQLite connection per thread on one file, and IMMEDIATE transactions.

SQLite connections must not be shared between threads; the core loop, worker threads
and the GUI thread each get their own, opened on first use.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


def disk_full(exc: sqlite3.Error) -> bool:
    """SQLite's "database or disk is full": the disk under the database has no room."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL

class LocalConnections:
    def __init__(self, path: Path, busy_timeout_s: float = 10.0,
                 setup: Callable[[sqlite3.Connection], None] | None = None) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.setup = setup
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_s)
            c.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            if self.setup is not None:
                self.setup(c)
            self._local.conn = c
        return c

    def close(self) -> None:
        """Closes this thread's connection (others close with their threads)."""
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None
            self._local.synchronous = None

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """``durable=False`` for writes a power cut may lose (progress that the next write
        repeats): in WAL mode the commit then skips its fsync, which the next durable
        commit on the file does for both. An application crash loses neither."""
        c = self.conn
        level = "FULL" if durable else "NORMAL"
        if getattr(self._local, "synchronous", None) != level:
            c.execute(f"PRAGMA synchronous = {level}")
            self._local.synchronous = level
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
            c.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk does): a second ROLLBACK
            # would raise "no transaction is active" in place of the real error.
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise


class SqliteStore:
    """A store on one SQLite file: subclasses set ``_db`` and get the connection helpers."""

    _db: LocalConnections

    @property
    def conn(self) -> sqlite3.Connection:
        return self._db.conn

    def close(self) -> None:
        self._db.close()

    def transaction(self, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction(durable)


def rename_column(c: sqlite3.Connection, table: str, old: str, new: str) -> None:
    """Rename ``table.old`` to ``new`` if a database made by an older Beacon still has it (a
    schema made with ``CREATE TABLE IF NOT EXISTS`` has no version to migrate by)."""
    names = {r[1] for r in c.execute(f"PRAGMA table_info({table})")}
    if old in names and new not in names:
        c.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")


def add_column(c: sqlite3.Connection, table: str, name: str, decl: str) -> None:
    """Add ``table.name`` if a database made by an older Beacon lacks it."""
    if name not in {r[1] for r in c.execute(f"PRAGMA table_info({table})")}:
        c.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def rename_table(c: sqlite3.Connection, old: str, new: str) -> bool:
    """Rename table ``old`` to ``new`` if an older Beacon's database still has it (references
    to it in other tables follow); returns whether it did."""
    names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if old in names and new not in names:
        c.execute(f"ALTER TABLE {old} RENAME TO {new}")
        return True
    return False
