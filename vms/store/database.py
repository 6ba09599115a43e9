"""The profile database: one SQLite file per profile holding every table the profile keeps
(devices and what was learnt of them, users, camera groups, settings, layouts, links, event
rules; ``schema.py``). It is ``registry.db`` on disk, a name from when it held only devices,
kept so every existing profile opens as it is.

sqlite-utils on a WAL database. One connection per thread (the GUI reads, workers and the
CLI write); every change that spans tables is one transaction, so a failed add leaves
nothing behind.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import sqlite_utils

from vms.errors import ProfileError
from vms.store.schema import check_version, migrate

FILE_NAME = "registry.db"


class ProfileStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = self.db
            check_version(db.conn)  # before anything writes to a newer database
            db.enable_wal()
            migrate(db.conn)
        except sqlite3.DatabaseError as exc:
            raise ProfileError(f"the profile database {path} cannot be opened: {exc}") from None

    @classmethod
    def for_profile(cls, profile: Path) -> Self:
        return cls(profile / FILE_NAME)

    @staticmethod
    def _table(db: sqlite_utils.Database, name: str) -> sqlite_utils.db.Table:
        return db.table(name)

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 10000")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        db = self.db
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
