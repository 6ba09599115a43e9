"""A throwaway PostgreSQL for tests: ``initdb`` and ``pg_ctl`` in a temporary directory.

CI runs as root and ``initdb`` refuses root, so as root the cluster belongs to the
unprivileged ``postgres`` user (Debian's package makes it) and its programs run through
``runuser``. The superuser ``beacon`` signs in with a password over TCP (scram-sha-256),
as a site's desks do; each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "beacon"
SUPERUSER_PASSWORD = "pg-test-secret"  # a throwaway cluster's own


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: apt install "
                           "postgresql-15; scripts/setup.sh does it)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One running server; ``url(db)`` names a database on it without its password."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vms-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        pwfile = self.dir / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self._as:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                  "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()
        self.start()
        self._dbs = 0

    def _run(self, *cmd: str) -> None:
        out = subprocess.run([*self._as, *cmd], capture_output=True, text=True, timeout=120,
                             check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {out.stderr.strip() or out.stdout}")

    def start(self) -> None:
        # fsync off: a test cluster needs no durability, and the tests run on two cores
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                  str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self) -> str:
        """A new empty database; returns its address (no password in it)."""
        import psycopg

        self._dbs += 1
        name = f"site{self._dbs}"
        with psycopg.connect(self.url("postgres"), password=SUPERUSER_PASSWORD,
                             autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{db}"

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
