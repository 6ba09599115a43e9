"""The site's shared database: one PostgreSQL that every workstation and recording host of a
control room joins with ``--site postgresql://user@host:port/db`` (or ``VMS_SITE``).

The address never holds the password: addresses are shown on screen and written to logs,
so the password lives in the profile's credential store (the OS keyring), put there by
``vms site password``. Connections are autocommit, one per thread; a change that spans
rows is one ``transaction()``. The queue's SQL is written once, with SQLite's ``?``
placeholders, and runs here unchanged (``PgConnection`` turns them into psycopg's).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg
from psycopg import pq
from psycopg import sql as pgsql

from vms.credentials import CredentialStore
from vms.errors import ConfigError, SiteError, SiteUnavailable

CONNECT_TIMEOUT_S = 5
SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class SiteAddress:
    user: str
    host: str
    port: int
    dbname: str

    @classmethod
    def parse(cls, text: str) -> SiteAddress:
        """``postgresql://user@host[:port]/db``; a password in it is refused, in words."""
        shown = _redacted(text.strip())  # what an error may repeat: never a password
        try:
            u = urlsplit(text.strip())
            port = u.port or 5432
        except ValueError:
            raise ConfigError(f"'{shown}' is not a site address "
                              "(postgresql://user@host:port/database)") from None
        if u.scheme not in SCHEMES:
            raise ConfigError(f"'{shown}' is not a site address: it should start with "
                              "postgresql:// (postgresql://user@host:port/database)")
        if u.password is not None:
            raise ConfigError("the site address must not hold the database password (addresses "
                              "are shown on screen and in logs): give the address without it and "
                              "keep the password in the keyring with 'vms site password'")
        db = unquote(u.path.lstrip("/"))
        if not u.hostname or not u.username or not db or "/" in db:
            raise ConfigError(f"'{shown}' is not a complete site address: it needs a user, a "
                              "host and a database (postgresql://user@host:port/database)")
        if u.query or u.fragment:
            raise ConfigError(f"'{shown}': a site address takes no options after '?' or '#'")
        return cls(unquote(u.username), u.hostname, port, db)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"postgresql://{quote(self.user, safe='')}@{host}:{self.port}/"
                f"{quote(self.dbname, safe='')}")

    @property
    def credential_key(self) -> str:
        """The key of its password in the credential store (beside cameras' device uids)."""
        return f"site:{self}"


def _redacted(text: str) -> str:
    """The address with anything between '//' and '@' that holds a ':' blanked."""
    head, sep, rest = text.partition("//")
    who, at, where = rest.rpartition("@")
    if sep and at and ":" in who:
        return f"{head}//{who.split(':', 1)[0]}:***@{where}"
    return text


class Row(dict[str, Any]):
    """A row readable by name, like sqlite3.Row, and by position; ``dict(row)`` works."""

    __slots__ = ("_values",)

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        super().__init__(zip(names, values, strict=True))
        self._values = tuple(values)

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self._values[key]
        return super().__getitem__(key)


def _rows(cursor: psycopg.Cursor[Any]) -> Callable[[Sequence[Any]], Row]:
    names = [c.name for c in cursor.description or ()]
    return lambda values: Row(names, values)


@lru_cache(maxsize=256)
def _placeholders(query: str) -> str:
    # The queue's statements hold no quoted '?' or '%': placeholders only.
    return query.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """The slice of sqlite3.Connection the stores use, over one psycopg connection that is
    made again when the server went away (restarted, or the network dropped). Only what is
    safe to repeat is repeated: a read outside a transaction, or a transaction that failed
    to begin; a transaction that fails part-way raises, and nothing of it was kept."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Row]],
                 address: SiteAddress) -> None:
        self._connect = connect
        self.address = address
        self.raw = connect()

    def _again(self) -> None:
        self.raw.close()
        self.raw = self._connect()

    def execute(self, query: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Row]:
        q = _placeholders(query)
        if self.raw.closed:
            self._again()
        in_transaction = self.raw.info.transaction_status != pq.TransactionStatus.IDLE
        try:
            return self.raw.execute(q, tuple(params))
        except psycopg.OperationalError as exc:
            if in_transaction or not self.raw.broken:
                raise unreachable(self.address, exc) from None
        except psycopg.Error as exc:  # refused (a bug, or tables not set up): words, not a trace
            raise SiteError(f"the site database {self.address} refused a request: "
                            f"{str(exc).strip().splitlines()[0]}") from exc
        if not query.lstrip().upper().startswith("SELECT"):
            raise SiteUnavailable(f"the site database {self.address} went away; it was "
                                  "reconnected, but this change may not have been kept: check it")
        self._again()
        return self.raw.execute(q, tuple(params))

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        try:
            with ExitStack() as stack:
                try:
                    if self.raw.closed:
                        self._again()
                    stack.enter_context(self.raw.transaction())
                except psycopg.OperationalError:
                    self._again()  # nothing was done yet: begin on a new connection
                    stack.enter_context(self.raw.transaction())
                yield self
        except psycopg.OperationalError as exc:  # in the body, or at COMMIT
            raise SiteUnavailable(f"the site database {self.address} went away during a "
                                  f"change, which may or may not have been kept: look again "
                                  f"({str(exc).strip().splitlines()[-1] if str(exc).strip() else exc})"
                                  ) from None

    def notify(self, channel: str, payload: str) -> None:
        """Sent at commit, with the change it announces (ids only; readers re-read)."""
        self.raw.execute("SELECT pg_notify(%s, %s)", (channel, payload))


def unreachable(address: SiteAddress, exc: BaseException) -> SiteUnavailable:
    """The plain sentence for a database that is down, refuses us, or went away."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    text = text.removeprefix("connection failed: ")
    return SiteUnavailable(f"the site database {address} cannot be reached: {text}")


class SiteDatabase:
    def __init__(self, address: SiteAddress | str, credentials: CredentialStore) -> None:
        self.address = address if isinstance(address, SiteAddress) else SiteAddress.parse(address)
        self.credentials = credentials
        self._local = threading.local()
        self._migrated = False

    @classmethod
    def open(cls, address: SiteAddress | str, credentials: CredentialStore) -> SiteDatabase:
        """Join the site: connect, and set up or bring up to date its tables."""
        db = cls(address, credentials)
        db.ensure_schema()
        return db

    def ensure_schema(self) -> None:
        """Set up or update the tables once (``open`` does it at once; a desk or host that
        starts while the database is away does it when it answers)."""
        from vms.site import schema

        if not self._migrated:
            self.migrate(schema.MIGRATIONS, schema.NAME)
            self._migrated = True

    def notify(self, tx: PgConnection, channel: str, payload: str) -> None:
        tx.notify(channel, payload)

    def connect(self) -> psycopg.Connection[Row]:
        """A new autocommit connection (listeners and advisory locks need their own)."""
        a = self.address
        stored = self.credentials.get(a.credential_key)
        try:
            return psycopg.connect(host=a.host, port=a.port, dbname=a.dbname, user=a.user,
                                   password=stored[1] if stored else None,
                                   connect_timeout=CONNECT_TIMEOUT_S, autocommit=True,
                                   application_name="beacon-vms", row_factory=_rows,
                                   # a link that died silently (a firewall's idle timeout, a
                                   # desk that lost power) is noticed in about 25 s, not 2 h:
                                   # listeners hear again and a dead desk's talk lock frees
                                   keepalives=1, keepalives_idle=10, keepalives_interval=5,
                                   keepalives_count=3, tcp_user_timeout=25000)
        except psycopg.OperationalError as exc:
            if stored is None and "password" in str(exc):
                raise SiteUnavailable(
                    f"the site database {a} wants a password and none is stored for it on this "
                    "computer: store it with 'vms site password'") from None
            raise unreachable(a, exc) from None

    def check_password(self, password: str) -> None:
        """Sign in once with ``password`` (before it is kept); refused in words."""
        a = self.address
        try:
            psycopg.connect(host=a.host, port=a.port, dbname=a.dbname, user=a.user,
                            password=password, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.OperationalError as exc:
            raise unreachable(a, exc) from None

    @property
    def conn(self) -> PgConnection:
        """This thread's connection, opened on first use."""
        c: PgConnection | None = getattr(self._local, "conn", None)
        if c is None:
            c = PgConnection(self.connect, self.address)
            self._local.conn = c
        return c

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[PgConnection]:
        """One transaction on this thread's connection. ``durable`` is SQLite's (an fsync
        choice); PostgreSQL commits durably either way."""
        del durable
        with self.conn.transaction() as c:
            yield c

    def close(self) -> None:
        c: PgConnection | None = getattr(self._local, "conn", None)
        if c is not None:
            c.raw.close()
            self._local.conn = None

    def migrate(self, migrations: Sequence[str], name: str) -> int:
        """Bring schema ``name`` up to ``len(migrations)``, each step once, in one transaction,
        under a lock held by one process at a time; a database newer than this code is refused
        rather than damaged. Returns the version."""
        try:
            with self.transaction() as c:
                c.raw.execute("SELECT pg_advisory_xact_lock(hashtext('beacon-schema'))")
                c.raw.execute("CREATE TABLE IF NOT EXISTS schema_versions "
                              "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
                row = c.raw.execute("SELECT version FROM schema_versions WHERE name = %s",
                                    (name,)).fetchone()
                have = int(row[0]) if row else 0
                if have > len(migrations):
                    raise ConfigError(f"the site database {self.address} was set up by a newer Beacon "
                                      f"(its {name} schema is version {have}, this one knows "
                                      f"{len(migrations)}): update Beacon on this computer")
                for step in migrations[have:]:
                    for stmt in re.split(r";[ \t]*$", step, flags=re.MULTILINE):
                        if stmt.strip():
                            c.raw.execute(pgsql.SQL(stmt))
                c.raw.execute("INSERT INTO schema_versions (name, version) VALUES (%s, %s) "
                              "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version",
                              (name, len(migrations)))
        except psycopg.Error as exc:  # not allowed to create tables, a server too old...
            raise SiteError(f"the site database {self.address} could not be set up: "
                            f"{str(exc).strip().splitlines()[0]}") from exc
        return len(migrations)
