"""The site's audit trail: one hash chain for every workstation and recording host of a
control room, in the site database (PostgreSQL), checked by the same ``vms audit verify``.

Appends from every computer take one transaction-scoped advisory lock, so the chain stays
one line. The chain has one seal key for the site, kept in each computer's keyring (the
first writer makes it); a computer without it never makes a second one, which would leave
the others unable to check its entries: it holds its entries and says so, until the key is
put in its keyring (``vms site seal-key``).

Signing in, locking and everything else audited must not wait on the database, and no
entry may be lost: an entry the site cannot take now (the database is down, refuses us, or
the key is missing) is held in the profile (``site-audit-held.db``) with the time it
happened and why it was held, and chained before anything newer from this profile once
the site answers. Each held entry has an id the site remembers, so one flushed twice (a
crash between the site's commit and the local delete, or two processes at once) is
chained once. Checkpoints of the head go to a file in the profile, one per site chain.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vms.audit.chain import AuditEntry, Checkpoint, Verdict, canonical_detail, key_id
from vms.audit.ledger import Actor, Connection, Ledger, utc_now, values
from vms.credentials import CredentialStore
from vms.errors import AuditError, ConfigError, SealKeyMissing, SiteError, SiteUnavailable
from vms.site.database import PgConnection, SiteAddress, SiteDatabase, profile_key
from vms.sqlite_local import LocalConnections

log = logging.getLogger(__name__)

RETRY_AFTER_S = 10.0  # after the site failed, entries are held without asking it again
HELD_FILE = "site-audit-held.db"


def _held_schema(c: sqlite3.Connection) -> None:
    c.execute("CREATE TABLE IF NOT EXISTS held (id INTEGER PRIMARY KEY, site TEXT NOT NULL, "
              "hold_id TEXT NOT NULL UNIQUE, entry TEXT NOT NULL)")


class SiteAuditLog(Ledger):
    _meta = "audit_meta"
    _errors = (SiteError, SiteUnavailable)

    def __init__(self, profile: Path, address: SiteAddress, credentials: CredentialStore) -> None:
        super().__init__(credentials)
        self.address = address
        self._profile = profile
        # the profile is checked like the calls' (a site refuses a second profile in words)
        self._db = SiteDatabase(address, credentials, profile_key(profile))
        self._held = LocalConnections(profile / HELD_FILE, busy_timeout_s=15.0,
                                      setup=_held_schema)
        self._written_key = f"checkpoints_written:{profile_key(profile)}"
        self._chain: str | None = None
        self._retry_at = 0.0
        self.notice = ""  # why entries are held, while they are

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
        c.execute("SELECT pg_advisory_xact_lock(hashtext('beacon-audit'))")

    def _missing_key(self, kid: str) -> bool:
        raise SealKeyMissing(f"this computer does not hold the site's audit seal key ({kid}): put it "
                        "in its keyring with 'vms site seal-key' (an administrator on a computer "
                        "that has it can show it)")

    def _open_credentials(self) -> CredentialStore:  # always given
        raise AssertionError("the site's audit log is made with its credential store")

    def _failed(self, doing: str, exc: BaseException) -> AuditError:
        return AuditError(f"could not {doing} the site's audit log: {exc}")

    def close(self) -> None:
        self._db.close()
        self._held.close()

    # -- writing ------------------------------------------------------------------
    def append(self, actor: Actor, action: str, *, outcome: str = "ok",
               device_id: int | None = None, device: str | None = None,
               area: str | None = None, detail: dict[str, Any] | None = None) -> AuditEntry | None:
        """Chain one entry on the site; None when it was held in the profile instead."""
        v = values(actor, action, outcome, device_id, device, area, detail)
        if time.monotonic() >= self._retry_at:
            try:
                self.flush()  # what was held first: this profile's order is kept
                e = self._append(v)
            except (SiteError, SiteUnavailable, SealKeyMissing) as exc:
                self._unavailable(exc)
            else:
                self._maybe_checkpoint_quietly(e)
                return e
        self._hold({**v, "at": utc_now()}, self.notice)
        return None

    def _unavailable(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + RETRY_AFTER_S
        if not self.notice:
            log.warning("audit entries are held on this computer until the site takes them: %s",
                        exc)
        self.notice = str(exc)

    def _hold(self, v: dict[str, Any], why: str) -> None:
        d = json.loads(v["detail"])
        d = d if isinstance(d, dict) else {"value": d}
        d["held"] = why or "the site database could not take it"
        entry = json.dumps({**v, "detail": canonical_detail(d)}, ensure_ascii=False)
        try:
            with self._held.transaction() as c:
                c.execute("INSERT INTO held (site, hold_id, entry) VALUES (?, ?, ?)",
                          [str(self.address), uuid.uuid4().hex, entry])
        except sqlite3.DatabaseError as exc:
            raise AuditError(f"the site's audit log cannot be reached and the entry could not be "
                             f"held in {self._held.path}: {exc}") from None

    def held(self) -> int:
        """Entries held in this profile for the site, not chained yet."""
        return int(self._held.conn.execute("SELECT count(*) FROM held WHERE site = ?",
                                           [str(self.address)]).fetchone()[0])

    def flush(self) -> int:
        """Chain the held entries, oldest first, each once; returns how many were chained.
        Raises what the site raised (the rest stay held)."""
        done = 0
        site = str(self.address)
        while True:
            row = self._held.conn.execute("SELECT id, hold_id, entry FROM held WHERE site = ? "
                                          "ORDER BY id LIMIT 1", [site]).fetchone()
            if row is None:
                if done:
                    log.warning("%d held audit entries were written to the site", done)
                self.notice = ""
                return done
            v = json.loads(row[2])
            with self._lock, self._write() as c:
                self._serialise(c)
                if c.execute("SELECT 1 FROM audit_held WHERE hold_id = ?",
                             [row[1]]).fetchone() is None:
                    kid, key, _ = self._current_key(c)
                    e = self._insert(c, kid, key, v)
                    c.execute("INSERT INTO audit_held (hold_id, seq) VALUES (?, ?)",
                              [row[1], e.seq])
                    done += 1
            self._held.conn.execute("DELETE FROM held WHERE id = ?", [row[0]])

    def _maybe_checkpoint_quietly(self, e: AuditEntry) -> None:
        try:
            self._maybe_checkpoint(e)
        except (AuditError, SealKeyMissing, SiteError, SiteUnavailable) as exc:
            log.warning("the site audit checkpoint was not written: %s", exc)

    def checkpoint(self) -> Checkpoint | None:
        """As the profile's, after flushing what was held; a site that cannot be reached
        skips it (sign-out must not fail) and the next one covers it."""
        try:
            self.flush()
            return super().checkpoint()
        except (AuditError, SealKeyMissing, SiteError, SiteUnavailable) as exc:
            self._unavailable(exc)
            return None

    # -- the seal key ---------------------------------------------------------------
    def seal_key(self) -> tuple[str, bytes]:
        """The site's seal key (made now if the site has none yet): its id and the key."""
        with self._lock, self._write() as c:
            self._serialise(c)
            kid, key, _ = self._current_key(c)
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
        """What was held is chained first where the site takes it, so a review sees it."""
        try:
            self.flush()
        except (SiteError, SiteUnavailable, SealKeyMissing) as exc:
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
