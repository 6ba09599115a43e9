"""Workstations on a site, and what happens to a call when its desk goes silent.

Every desk (and ``vms serve``) writes a heartbeat every ``HEARTBEAT_S`` on the database's
clock. A workstation silent for ``LOST_AFTER_S`` has lost its operator: each of its
accepted calls goes on hold with "operator lost" in its log, so every other desk shows it
and any operator may take it. Whoever beats next does that sweep; one conditional update
marks each call once, however many desks notice at the same moment.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any

from vms.errors import ConfigError, SiteUnavailable, VmsError
from vms.events.store import utc_now
from vms.incidents.queue import ACCEPTED, CHANNEL, ON_HOLD
from vms.site.database import SiteDatabase

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
LOST_AFTER_S = 15.0
WORKSTATIONS_CHANNEL = "beacon_workstations"
OPERATOR_LOST = "operator lost"


def _running(pid: int) -> bool:
    """Whether a process of this computer still runs (a desk restarted after a crash may
    take its old name at once; another program using that name may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


class Workstations:
    def __init__(self, db: SiteDatabase, lost_after_s: float = LOST_AFTER_S) -> None:
        self.db = db
        self.lost_after_s = lost_after_s
        self._last_beat: float | None = None  # monotonic time of our last beat that landed

    def join(self, name: str, user: str | None = None) -> None:
        """Put this process on the site as ``name``; refused while another live process
        (another computer, or another program here) uses that name."""
        host, pid = socket.gethostname(), os.getpid()
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT host, pid, seen > now() - make_interval(secs => ?) AS live "
                "FROM workstations WHERE name = ? FOR UPDATE",
                (self.lost_after_s, name)).fetchone()
            if row is not None and row["live"] and (row["host"], row["pid"]) != (host, pid) \
                    and not (row["host"] == host and not _running(row["pid"])):
                raise ConfigError(f"the workstation name '{name}' is in use on the site by "
                                  f"{row['host']} (process {row['pid']}): give this one another "
                                  "name with --workstation or VMS_WORKSTATION")
            tx.execute(
                'INSERT INTO workstations (name, "user", host, pid) VALUES (?,?,?,?) '
                'ON CONFLICT (name) DO UPDATE SET "user" = EXCLUDED."user", host = EXCLUDED.host, '
                "pid = EXCLUDED.pid, started = now(), seen = now()", (name, user, host, pid))
            tx.notify(WORKSTATIONS_CHANNEL, name)
        if row is not None and (row["host"], row["pid"]) != (host, pid):
            self._lost(name)  # taken back after a crash: its calls lost their operator

    def beat(self, name: str, user: str | None, says_user: bool = True) -> list[int]:
        """Say ``name`` is alive (and who is signed in there, unless ``says_user`` is False:
        the site service inside a desktop beats for the same workstation, and only the desk
        knows who sits at it), then sweep: returns the ids of calls this beat found their
        operator lost on."""
        with self.db.transaction() as tx:
            mine = (name, socket.gethostname(), os.getpid())  # only our own row
            if says_user:
                was = tx.execute('SELECT "user" FROM workstations WHERE name = ? AND host = ? '
                                 "AND pid = ? FOR UPDATE", mine).fetchone()
                row = tx.execute('UPDATE workstations SET seen = now(), "user" = ? WHERE '
                                 "name = ? AND host = ? AND pid = ? RETURNING name",
                                 (user, *mine)).fetchone()
                if was is not None and was["user"] != user:  # signed in or out: say so
                    tx.notify(WORKSTATIONS_CHANNEL, name)
            else:
                row = tx.execute("UPDATE workstations SET seen = now() WHERE name = ? AND "
                                 "host = ? AND pid = ? RETURNING name", mine).fetchone()
        if row is None:  # removed, replaced, or taken back after a crash: join again
            self.join(name, user)
        # Sweep only when our own last beat was recent: after the database was away, every
        # desk's heartbeat is old, and the first to beat again must not call them all lost.
        now = time.monotonic()
        fresh = self._last_beat is not None and now - self._last_beat < self.lost_after_s
        self._last_beat = now
        return self.sweep() if fresh else []

    def leave(self, name: str) -> None:
        """A desk closing properly: its calls are not "lost", they were left as they are."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM workstations WHERE name = ? AND host = ? AND pid = ?",
                       (name, socket.gethostname(), os.getpid()))
            tx.notify(WORKSTATIONS_CHANNEL, name)

    def sweep(self) -> list[int]:
        return self._lost(None)

    def _lost(self, name: str | None) -> list[int]:
        """Put back the accepted calls of silent workstations (or of ``name``, which a new
        process of that workstation has just taken over)."""
        silent = ("(SELECT name FROM workstations WHERE seen < now() - make_interval(secs => ?))"
                  if name is None else "(?)")
        with self.db.transaction() as tx:
            rows = tx.execute(
                "UPDATE incidents SET state = ?, lost_from = workstation "  # noqa: S608
                f"WHERE state = ? AND workstation IN {silent} "
                "RETURNING id, owner, workstation",
                (ON_HOLD, ACCEPTED, self.lost_after_s if name is None else name)).fetchall()
            for r in rows:
                tx.execute('INSERT INTO incident_actions (incident_id, utc, "user", action, detail) '
                           "VALUES (?,?,?,?,?)",
                           (r["id"], utc_now(), r["owner"] or "system", OPERATOR_LOST,
                            json.dumps({"owner": r["owner"], "workstation": r["workstation"]})))
                tx.notify(CHANNEL, str(r["id"]))
        return [int(r["id"]) for r in rows]

    def all(self) -> list[dict[str, Any]]:
        rows = self.db.conn.execute(
            'SELECT name, "user", host, pid, '
            "to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS seen_utc, "
            "seen < now() - make_interval(secs => ?) AS lost FROM workstations ORDER BY name",
            (self.lost_after_s,)).fetchall()
        return [dict(r) for r in rows]


class Heartbeat:
    """Beats for one workstation on its own thread until stopped; a database that is away
    is logged once and tried again at the next beat (the desk says so from its listener)."""

    def __init__(self, stations: Workstations, name: str, user: str | None = None,
                 every_s: float = HEARTBEAT_S, says_user: bool = True) -> None:
        self.stations = stations
        self.name = name
        self.user = user
        self.says_user = says_user
        self.every_s = every_s
        self._stop = threading.Event()
        self._now = threading.Event()  # beat at once (someone signed in or out)
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="vms-heartbeat", daemon=True)

    def say_user(self, user: str | None) -> None:
        """Who is signed in here now: told to the site at once, not at the next beat."""
        self.user = user
        self._now.set()

    def start(self) -> Heartbeat:
        """Join at once (a name in use is refused here); a database that is away is joined
        at the first beat it answers."""
        try:
            if self.says_user:
                self.stations.join(self.name, self.user)
            else:
                self.stations.beat(self.name, None, says_user=False)
        except SiteUnavailable as exc:
            log.warning("%s joins the site when it answers: %s", self.name, exc)
            self._failing = True
        self._thread.start()
        return self

    def stop(self, leave: bool = True) -> None:
        self._stop.set()
        self._now.set()
        self._thread.join(5.0)
        if leave:
            try:
                self.stations.leave(self.name)
            except VmsError as exc:
                log.warning("could not take %s off the site: %s", self.name, exc)

    def _run(self) -> None:
        while True:
            self._now.wait(self.every_s)
            self._now.clear()
            if self._stop.is_set():
                break
            try:
                self.stations.db.ensure_schema()
                self.stations.beat(self.name, self.user, self.says_user)
                self._failing = False
            except Exception as exc:  # the beat must outlive any one failure
                if not self._failing:
                    log.warning("heartbeat of %s: %s", self.name, exc)
                self._failing = True
        self.stations.db.close()  # this thread's connection
