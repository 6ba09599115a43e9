"""Who talks to a caller, across the site: one operator per Help Point at a time.

A session-level advisory lock, held on a connection of the desk's own (a pooled or shared
connection would hand it to someone else): a desk that crashes drops its connection and the
database frees the lock at once, with no timeout to wait for. A row beside the lock says who
holds it, so a refused operator is told who is talking; a row left by a crashed desk is
simply overwritten by the next holder, since the lock, not the row, decides.
"""

from __future__ import annotations

import threading

import psycopg

from vms.errors import TalkTaken
from vms.site.database import Row, SiteDatabase, unreachable

LOCK_CLASS = 0x7A1C  # the talk locks' class in pg_advisory_lock(int, int)


class TalkFloor:
    def __init__(self, db: SiteDatabase, workstation: str) -> None:
        self.db = db
        self.workstation = workstation
        self._conn: psycopg.Connection[Row] | None = None
        self._held: set[int] = set()
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Row]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._held.clear()  # a dropped connection dropped its locks with it
            self._conn = self.db.connect()
        return self._conn

    def take(self, device_id: int, user: str) -> None:
        """Take the floor for this caller, or say who has it (TalkTaken)."""
        with self._lock:
            try:
                c = self._connection()
                got = c.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                (LOCK_CLASS, device_id)).fetchone()
                if not (got and got[0]):
                    row = c.execute('SELECT "user", workstation FROM talking WHERE device_id = %s',
                                    (device_id,)).fetchone()
                    who = f"{row['user']} at {row['workstation']}" if row else "another desk"
                    raise TalkTaken(f"{who} is talking to this caller; only one operator talks "
                                    "at a time")
                if device_id in self._held:  # already ours: advisory locks count, keep one
                    c.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, device_id))
                self._held.add(device_id)
                c.execute('INSERT INTO talking (device_id, "user", workstation) VALUES (%s,%s,%s) '
                          'ON CONFLICT (device_id) DO UPDATE SET "user" = EXCLUDED."user", '
                          "workstation = EXCLUDED.workstation, since = now()",
                          (device_id, user, self.workstation))
            except psycopg.OperationalError as exc:
                raise unreachable(self.db.address, exc) from None

    def give_back(self, device_id: int) -> None:
        with self._lock:
            if device_id not in self._held or self._conn is None or self._conn.closed:
                return
            self._held.discard(device_id)
            try:
                self._conn.execute("DELETE FROM talking WHERE device_id = %s AND workstation = %s",
                                   (device_id, self.workstation))
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, device_id))
            except psycopg.OperationalError:
                pass  # the connection is gone, and the lock with it

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # every lock it held is freed
                self._conn = None
            self._held.clear()
