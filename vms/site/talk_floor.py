"""Who talks to a caller, across the site: one operator per Help Point at a time.

A session-level advisory lock, held on a connection of the desk's own (a pooled or shared
connection would hand it to someone else): a desk that crashes drops its connection and the
database frees the lock at once, with no timeout to wait for. A row beside the lock says who
holds it, so a refused operator is told who is talking; a row left by a crashed desk is
simply overwritten by the next holder, since the lock, not the row, decides.

A caller is named by the device's site-wide key (the registry's uid), so desks on different
profiles lock the same Help Point; the lock's number is a 64-bit hash of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg

from vms.errors import TalkTaken
from vms.site.database import Row, SiteDatabase, unreachable

_LOCK = "SELECT pg_{}advisory_{}lock(hashtextextended('beacon-talk:' || %s, 0))"


class TalkFloor:
    def __init__(self, db: SiteDatabase, workstation: str, uid_of: Callable[[int], str]) -> None:
        """``uid_of``: a device id of this profile -> the device's site-wide key."""
        self.db = db
        self.workstation = workstation
        self.uid_of = uid_of
        self._conn: psycopg.Connection[Row] | None = None
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Row]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._held.clear()  # a dropped connection dropped its locks with it
            self._conn = self.db.connect()
        return self._conn

    def take(self, device_id: int, user: str) -> None:
        """Take the floor for this caller, or say who has it (TalkTaken)."""
        uid = self.uid_of(device_id)
        with self._lock:
            try:
                c = self._connection()
                got = c.execute(_LOCK.format("try_", ""), (uid,)).fetchone()
                if not (got and got[0]):
                    row = c.execute('SELECT "user", workstation FROM talking WHERE device_uid = %s',
                                    (uid,)).fetchone()
                    who = f"{row['user']} at {row['workstation']}" if row else "another desk"
                    raise TalkTaken(f"{who} is talking to this caller; only one operator talks "
                                    "at a time")
                if uid in self._held:  # already ours: advisory locks count, keep one
                    c.execute(_LOCK.format("", "un"), (uid,))
                self._held.add(uid)
                c.execute('INSERT INTO talking (device_uid, "user", workstation) '
                          "VALUES (%s, %s, %s) ON CONFLICT (device_uid) DO UPDATE SET "
                          '"user" = EXCLUDED."user", workstation = EXCLUDED.workstation, '
                          "since = now()", (uid, user, self.workstation))
            except psycopg.OperationalError as exc:
                raise unreachable(self.db.address, exc) from None

    def give_back(self, device_id: int) -> None:
        uid = self.uid_of(device_id)
        with self._lock:
            if uid not in self._held or self._conn is None or self._conn.closed:
                return
            self._held.discard(uid)
            try:
                self._conn.execute("DELETE FROM talking WHERE device_uid = %s AND workstation = %s",
                                   (uid, self.workstation))
                self._conn.execute(_LOCK.format("", "un"), (uid,))
            except psycopg.OperationalError:
                pass  # the connection is gone, and the lock with it

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()  # every lock it held is freed
                self._conn = None
            self._held.clear()
