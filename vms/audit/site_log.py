"""The site's audit trail: one hash chain for every workstation and recording host of a
control room, in the site database (PostgreSQL), checked by the same ``vms audit verify``.

Appends from every computer take one transaction-scoped advisory lock, so the chain stays
one line. The chain has one seal key for the site, kept in each computer's keyring (the
first writer makes it); a computer without it never makes a second one, which would leave
the others unable to check its entries: it holds its entries and says so, until the key is
put in its keyring (``vms site seal-key``).

Signing in, locking and everything else audited must not wait on the database (a network
that drops can stall a connection for 25 s), and no entry may be lost. So an entry is first
kept in the profile (``site-audit-pending.db``, one SQLite insert) with the time it happened,
and a writer thread chains the kept entries on the site in order, at once while the site
answers. One the site cannot take (down, refusing us, or the key is missing) waits, marked
with why it waited, and is chained when the site takes it again; closing the log (the end of
a command, the desk quitting) tries once more. Each entry has an id the site remembers, so
one chained twice (a commit whose answer was lost, two processes on one profile) is kept
once. Reading the trail (a review, ``vms audit verify``) first chains what is pending.
Checkpoints of the head go to a file in the profile, one per site chain.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vms.audit.chain import AuditEntry, Checkpoint, Verdict, canonical_detail, key_id
from vms.audit.ledger import Actor, Connection, Ledger, utc_now, values
from vms.credentials import CredentialStore
from vms.errors import (
    AuditError,
    ConfigError,
    ProfileError,
    SealKeyMissing,
    SiteError,
    SiteUnavailable,
    VmsError,
)
from vms.paths import profile_key
from vms.site.database import PgConnection, SiteAddress, SiteDatabase
from vms.sqlite_local import LocalConnections

log = logging.getLogger(__name__)

# what makes an entry wait in the profile: the site down, refusing, newer than this code, or
# without this computer's seal key; or the pending file itself busy
_CANNOT = (SiteError, SiteUnavailable, SealKeyMissing, ConfigError, ProfileError, OSError,
           sqlite3.Error)
RETRY_AFTER_S = 10.0  # after the site failed, the writer asks it again this much later
PENDING_FILE = "site-audit-pending.db"


def _pending_schema(c: sqlite3.Connection) -> None:
    c.execute("CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, site TEXT NOT NULL, "
              "entry_id TEXT NOT NULL UNIQUE, entry TEXT NOT NULL, why TEXT)")


class SiteAuditLog(Ledger):
    _meta = "audit_meta"
    _errors = (SiteError, SiteUnavailable)

    def __init__(self, profile: Path, address: SiteAddress, credentials: CredentialStore,
                 uid_of: Callable[[int], str] | None = None) -> None:
        """``uid_of``: this profile's device id -> the device's site-wide key (the registry's
        uid), written into each entry about a camera so any profile can find it."""
        super().__init__(credentials)
        self._uid_of = uid_of
        self.address = address
        self._profile = profile
        self._db = SiteDatabase(address, credentials)
        self._pending = LocalConnections(profile / PENDING_FILE, busy_timeout_s=15.0,
                                         setup=_pending_schema)
        self._written_key = f"checkpoints_written:{profile_key(profile)}"
        self._chain: str | None = None
        self._retry_at = 0.0
        self.notice = ""  # why entries wait, while they do
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._checkpoint_due = False

    # -- the site ------------------------------------------------------------------
    def _joined(self) -> str:
        """The chain's id, read once (setting up the site's tables if need be)."""
        if self._chain is None:
            self._db.ensure_schema()
            row = self._db.conn.execute(
                "SELECT value FROM audit_meta WHERE key = 'chain_id'").fetchone()
            if row is None:
                raise SiteError(f"the site database {self.address} has no audit chain id")
            self._chain = str(row[0])
        return self._chain

    @property
    def chain_id(self) -> str:
        return self._joined()

    @property
    def checkpoint_path(self) -> Path:
        return self._profile / f"audit-checkpoints-site-{self._joined()[:12]}.jsonl"

    def _read(self) -> PgConnection:
        self._joined()
        return self._db.conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        self._joined()
        with self._db.transaction() as c:
            yield c

    def _serialise(self, c: Connection) -> None:
        # The head is read after the lock is taken: that needs READ COMMITTED, whatever the
        # server's default. A desk that died holding the lock (its transaction left open until
        # the server notices) must not stall every sign-in: after a few seconds the entry is held.
        c.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        c.execute("SET LOCAL lock_timeout = '4s'")
        c.execute("SET LOCAL statement_timeout = '10s'")
        c.execute("SET LOCAL idle_in_transaction_session_timeout = '10s'")
        c.execute("SELECT pg_advisory_xact_lock(hashtext('beacon-audit'))")

    def _device_where(self, device_id: int) -> tuple[str, list[object]]:
        """On a site a camera is found by its key in the (hashed) detail: the integer ids are
        each profile's own."""
        key = self._device_key(device_id)
        if key is None:
            return super()._device_where(device_id)
        text = f'"device_key":{json.dumps(key, ensure_ascii=False)}'
        escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
        return "detail LIKE ? ESCAPE '!'", [f"%{escaped}%"]

    def is_about(self, e: AuditEntry, device_ids: set[int]) -> bool:
        key = e.details().get("device_key")
        return key is not None and key in {self._device_key(i) for i in device_ids}

    def _missing_key(self, kid: str) -> bool:
        raise SealKeyMissing(f"this computer does not hold the site's audit seal key ({kid}): put it "
                        "in its keyring with 'vms site seal-key' (an administrator on a computer "
                        "that has it can show it)")

    def _open_credentials(self) -> CredentialStore:  # always given
        raise AssertionError("the site's audit log is made with its credential store")

    def _failed(self, doing: str, exc: BaseException) -> AuditError:
        return AuditError(f"could not {doing} the site's audit log: {exc}")

    def close(self) -> None:
        """Stop the writer and chain what is pending once more (what the site cannot take
        stays in the profile for the next process)."""
        self._stopping.set()
        self._wake.set()
        writer = self._writer
        if writer is not None:
            writer.join(30)
        try:
            self._drain()
        finally:
            self._db.close()
            self._pending.close()

    # -- writing ------------------------------------------------------------------
    def append(self, actor: Actor, action: str, *, outcome: str = "ok",
               device_id: int | None = None, device: str | None = None,
               area: str | None = None, detail: dict[str, Any] | None = None) -> AuditEntry | None:
        """Keep the entry in the profile now; the writer chains it on the site. Returns None:
        the entry is chained a moment later, not by the caller."""
        v = values(actor, action, outcome, device_id, device, area, detail)
        key = self._device_key(device_id)
        if key is not None:  # the camera as every profile of the site knows it (hashed)
            v["detail"] = canonical_detail({**json.loads(v["detail"]), "device_key": key})
        entry = json.dumps({**v, "at": utc_now()}, ensure_ascii=False)
        try:
            with self._pending.transaction() as c:
                c.execute("INSERT INTO pending (site, entry_id, entry) VALUES (?, ?, ?)",
                          [str(self.address), uuid.uuid4().hex, entry])
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"could not keep an audit entry in {self._pending.path}: "
                             f"{exc}") from None
        self._start_writer()
        self._wake.set()
        return None

    def _start_writer(self) -> None:
        """One writer per log, started at the first entry, and again if it ever died."""
        with self._writer_lock:
            if self._stopping.is_set() or (self._writer is not None and self._writer.is_alive()):
                return
            writer = threading.Thread(target=self._write_pending, daemon=True,
                                      name="vms-site-audit")
            try:
                writer.start()
            except RuntimeError:  # the interpreter is shutting down: close() drains
                return
            self._writer = writer

    def _write_pending(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.wait()
                self._wake.clear()
                wait = self._retry_at - time.monotonic()
                if wait > 0 and self._stopping.wait(wait):
                    return
                try:
                    self._drain()
                except Exception as exc:  # never die quietly with entries waiting
                    log.exception("the site audit writer failed; it tries again")
                    self._unavailable(exc)
                    self._wake.set()
        finally:  # this thread's connections
            self._db.close()
            self._pending.close()

    def _drain(self) -> None:
        """Chain what is pending, and checkpoint when one is due; a site that cannot take
        it now is tried again ``RETRY_AFTER_S`` later (a due checkpoint stays due)."""
        due, self._checkpoint_due = self._checkpoint_due, False
        try:
            last = self.flush()
            if due or (last is not None and self._checkpoint_wanted(last)):
                due = True
                super().checkpoint()
                due = False
        except (*_CANNOT, AuditError) as exc:
            self._unavailable(exc)
            if not self._stopping.is_set():
                self._wake.set()  # come back when it is time to try again
        finally:
            self._checkpoint_due = self._checkpoint_due or due

    def _device_key(self, device_id: int | None) -> str | None:
        if device_id is None or self._uid_of is None:
            return None
        try:
            return self._uid_of(device_id)
        except VmsError:  # removed meanwhile: the entry keeps its name and id
            return None

    def _write_entry(self, v: dict[str, Any], entry_id: str) -> AuditEntry | None:
        """Chain ``v`` under ``entry_id`` unless an entry of that id is chained already (a
        commit whose answer was lost, the same entry flushed by another process)."""
        try:
            with self._lock:
                self._key_before_locking()
            with self._lock, self._write() as c:
                self._serialise(c)
                if c.execute("SELECT 1 FROM audit_entry_ids WHERE entry_id = ?",
                             [entry_id]).fetchone() is not None:
                    return None
                kid, key, _ = self._current_key(c)
                e = self._insert(c, kid, key, v)
                c.execute("INSERT INTO audit_entry_ids (entry_id, seq) VALUES (?, ?)",
                          [entry_id, e.seq])
                return e
        except BaseException:
            self._key = None  # a key made in a transaction that did not commit is not the site's
            raise

    def _key_before_locking(self) -> None:
        """Find the site's key (the keyring may be slow) before the site's audit lock is
        taken, and say a missing one without taking it; inside, ``_current_key`` uses it
        (or, on a site with no key yet, makes one)."""
        if self._key is not None:
            return
        row = self._read().execute("SELECT value FROM audit_meta WHERE key = 'key_id'").fetchone()
        if row is not None:
            key = self.key_for(row[0])
            if key is None:
                self._missing_key(row[0])
            else:
                self._key = (row[0], key)

    def _unavailable(self, exc: BaseException) -> None:
        """Say once why entries wait, and mark the waiting ones with it."""
        self._retry_at = time.monotonic() + RETRY_AFTER_S
        if not self.notice:
            log.warning("audit entries are kept on this computer until the site takes them: %s",
                        exc)
        self.notice = str(exc)
        try:
            with self._pending.transaction() as c:
                c.execute("UPDATE pending SET why = ? WHERE site = ? AND why IS NULL",
                          [self.notice, str(self.address)])
        except sqlite3.DatabaseError:
            pass  # only the note of why: the entries themselves are kept

    def pending(self) -> int:
        """Entries kept in this profile for the site, not chained yet."""
        return int(self._pending.conn.execute("SELECT count(*) FROM pending WHERE site = ?",
                                              [str(self.address)]).fetchall()[0][0])

    def flush(self) -> AuditEntry | None:
        """Chain the pending entries, oldest first, each once; returns the last chained.
        Raises what the site raised (the rest wait)."""
        last = None
        site = str(self.address)
        while True:
            # fetchall: the statement ends, so no read lock outlives it
            rows = self._pending.conn.execute(
                "SELECT entry_id, entry, why FROM pending WHERE site = ? ORDER BY id LIMIT 1",
                [site]).fetchall()
            if not rows:
                self.notice = ""
                return last
            entry_id, entry, why = rows[0]
            v = json.loads(entry)
            if why:  # it waited: the entry says why (hashed with the rest)
                v["detail"] = canonical_detail({**json.loads(v["detail"]), "held": why})
            e = self._write_entry(v, entry_id)
            last = e or last
            # by its id, not the row's: another thread may have flushed it, and SQLite gives
            # a freed row number to the next entry kept
            self._pending.conn.execute("DELETE FROM pending WHERE entry_id = ?", [entry_id])

    def checkpoint(self) -> Checkpoint | None:
        """Due now: the writer takes it after what is pending (sign-out never waits on the
        site); None, as it is written a moment later."""
        self._checkpoint_due = True
        self._start_writer()
        self._wake.set()
        return None

    # -- the seal key ---------------------------------------------------------------
    def seal_key(self) -> tuple[str, bytes]:
        """The site's seal key (made now if the site has none yet): its id and the key."""
        try:
            with self._lock, self._write() as c:
                self._serialise(c)
                kid, key, _ = self._current_key(c)
        except BaseException:
            self._key = None
            raise
        return kid, key

    def install_key(self, key: bytes) -> str:
        """Keep the site's seal key in this computer's keyring, once it is checked to be the
        site's; the entries held for want of it are chained. Returns its id."""
        row = self._read().execute("SELECT value FROM audit_meta WHERE key = 'key_id'").fetchone()
        kid = key_id(key)
        if row is None:
            raise ConfigError("the site has no audit seal key yet: the first workstation that "
                              "writes to its audit trail makes one")
        if row[0] != kid:
            raise ConfigError(f"that is not the site's audit seal key (its id is {kid}, the "
                              f"site's is {row[0]})")
        self.credentials.set(self._store_key(kid), "audit", key.hex())
        self._key = None
        self._retry_at = 0.0
        self.flush()
        return kid

    # -- reading ------------------------------------------------------------------
    def entries(self, f: Any = None) -> list[AuditEntry]:
        """What is pending is chained first where the site takes it, so a review sees it."""
        try:
            self.flush()
        except _CANNOT as exc:
            self._unavailable(exc)
        try:
            return super().entries(f)
        except (SiteError, SiteUnavailable) as exc:
            raise self._failed("read", exc) from None

    def verify(self) -> Verdict:
        try:
            return super().verify()
        except (SiteError, SiteUnavailable) as exc:
            raise self._failed("check", exc) from None
