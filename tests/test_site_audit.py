"""The site's audit trail on a real PostgreSQL started by the tests: one hash chain for every
workstation and recording host, written by real ``vms`` processes, checked by ``vms audit
verify``; an edited or deleted row is named once its guard trigger is dropped; entries written
while the database is away, or on a computer without the site's seal key, wait in the
profile and are chained once, later."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import ensure_admin, vms_cmd
from tests.pgcluster import SUPERUSER_PASSWORD, Cluster
from vms.audit.site_log import SiteAuditLog
from vms.profile import Profile
from vms.site.database import SiteAddress


class Site:
    """One profile joined to the site, its password kept, run as named workstations."""

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url
        self.env = {**ensure_admin(path), "VMS_SITE": url}
        address = SiteAddress.parse(url)
        p = Profile(path)
        try:
            p.credentials.set(address.credential_key, address.user, SUPERUSER_PASSWORD)
        finally:
            p.close()

    def vms(self, workstation: str, *args: str, stdin: str = "", path: Path | None = None,
            keyring: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``keyring``: another computer's (the tests' keyring is one per test run)."""
        env = {**self.env, "XDG_DATA_HOME": str(keyring)} if keyring else self.env
        return subprocess.run(vms_cmd("--data-dir", str(path or self.path), "--workstation",
                                      workstation, *args),
                              env=env, input=stdin, capture_output=True, text=True, timeout=90)

    def verify(self, workstation: str = "desk-1") -> tuple[int, dict[str, Any]]:
        r = self.vms(workstation, "audit", "verify", "--json")
        assert r.returncode in (0, 1), r.stderr
        return r.returncode, json.loads(r.stdout)

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, password=SUPERUSER_PASSWORD, autocommit=True) as c:
            cur = c.execute(query, params)
            return cur.fetchall() if cur.description else []

    def local_workstations(self) -> set[str]:
        p = Profile(self.path)
        try:
            return {e.workstation for e in p.audit.entries()}
        finally:
            p.close()

    def held(self, path: Path | None = None) -> int:
        p = Profile(path or self.path, site=SiteAddress.parse(self.url))
        try:
            assert isinstance(p.audit, SiteAuditLog)
            return p.audit.pending()
        finally:
            p.close()


def test_one_chain_for_the_site_from_three_desks_and_a_host_and_tampering_is_named(
        tmp_path: Path, site_url: str) -> None:
    site = Site(tmp_path / "site", site_url)
    for desk in ("desk-1", "desk-2", "desk-3"):
        r = site.vms(desk, "users", "list")
        assert r.returncode == 0 and r.stderr == "", r.stderr  # nothing held, nothing skipped
    r = subprocess.run(vms_cmd("--data-dir", str(site.path), "serve", "--site", site_url,
                               "--workstation", "rec-1", "--mode", "off", "--duration", "2"),
                       env=site.env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    code, v = site.verify()
    assert code == 0 and v["ok"], v["problems"]
    rows = site.sql('SELECT seq, workstation, "user", action FROM audit ORDER BY seq')
    assert {w for _s, w, _u, _a in rows} == {"desk-1", "desk-2", "desk-3", "rec-1"}
    assert [a for _s, w, _u, a in rows if w == "rec-1"] == ["service.start", "service.stop"]
    assert [s for s, *_ in rows] == list(range(1, len(rows) + 1))
    assert v["entries"] == len(rows) - 1  # and then the check itself is audited
    # none of it went to the profile's own trail (which holds only the first administrator)
    assert not site.local_workstations() & {"desk-1", "desk-2", "desk-3", "rec-1"}
    assert site.held() == 0
    checkpoints = list(site.path.glob("audit-checkpoints-site-*.jsonl"))
    assert len(checkpoints) == 1 and v["checkpoints"] >= 1
    (written,), = site.sql("SELECT value FROM audit_meta WHERE key LIKE 'checkpoints_written:%%'")
    assert int(written) == v["checkpoints"]

    for refused in ("UPDATE audit SET outcome = 'failed' WHERE seq = 3",
                    "DELETE FROM audit WHERE seq = 4", "TRUNCATE audit"):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            site.sql(refused)

    site.sql("DROP TRIGGER audit_no_update ON audit")
    (outcome,), = site.sql("SELECT outcome FROM audit WHERE seq = 3")
    site.sql("UPDATE audit SET outcome = 'failed' WHERE seq = 3")
    code, v = site.verify("desk-2")
    assert code == 1 and not v["ok"]
    assert [(p["seq"], p["kind"]) for p in v["problems"]] == [(3, "altered")], v["problems"]
    r = site.vms("desk-3", "audit", "verify")
    assert r.returncode == 1 and "AUDIT TRAIL TAMPERED" in r.stdout
    assert "entry 3 (" in r.stdout and "was altered" in r.stdout, r.stdout

    site.sql("UPDATE audit SET outcome = %s WHERE seq = 3", (outcome,))  # as it was
    assert site.verify()[0] == 0
    site.sql("DELETE FROM audit WHERE seq = 4")
    code, v = site.verify("desk-3")
    assert code == 1
    assert [(p["seq"], p["kind"]) for p in v["problems"]] == [(5, "deleted")], v["problems"]
    assert "entry 4 before entry 5" in v["problems"][0]["message"]


def test_entries_written_while_the_database_is_away_are_held_and_chained_once_it_answers(
        tmp_path: Path, site_url: str, pg_cluster: Cluster) -> None:
    site = Site(tmp_path / "site", site_url)
    assert site.vms("desk-1", "users", "list").returncode == 0
    pg_cluster.stop()
    try:
        r = site.vms("desk-2", "users", "list")  # signing in does not wait on the database
        assert r.returncode == 0, r.stderr
        assert "audit entries are kept on this computer" in r.stderr
        assert site.held() == 1  # the sign-in
        r = site.vms("desk-2", "audit", "list")  # a review needs the site: said in words
        assert r.returncode == 2 and "site database" in r.stderr and "cannot be reached" in r.stderr
    finally:
        pg_cluster.start()
    code, v = site.verify("desk-3")
    assert code == 0 and v["ok"], v["problems"]
    assert site.held() == 0
    rows = site.sql('SELECT seq, workstation, action, outcome, detail FROM audit ORDER BY seq')
    held = [r for r in rows if "held" in json.loads(r[4])]
    # both sign-ins at desk-2, in the order they happened, before the check's own sign-in
    assert [(w, a) for _s, w, a, _o, _d in held] == [("desk-2", "login")] * 2
    assert all("cannot be reached" in json.loads(d)["held"] for *_x, d in held)
    assert rows[-2][1:3] == ("desk-3", "login") and rows[-1][2] == "audit.verify"
    # every entry has the id it was made with (a held one kept it): each chained once
    ids = site.sql("SELECT count(*), count(DISTINCT entry_id) FROM audit_entry_ids")
    assert ids == [(len(rows), len(rows))]


def test_a_computer_without_the_sites_seal_key_holds_its_entries_until_it_is_given_it(
        tmp_path: Path, site_url: str) -> None:
    site = Site(tmp_path / "site", site_url)
    assert site.vms("desk-1", "users", "list").returncode == 0  # the key is made here
    # another computer on the shared profile: the same folder, a keyring of its own that
    # holds the database password (checked and kept as an installer would) and nothing else
    other, keyring = tmp_path / "other-computer", tmp_path / "other-keyring"
    shutil.copytree(site.path, other)
    r = site.vms("desk-9", "site", "password", "--password-stdin", path=other, keyring=keyring,
                 stdin=SUPERUSER_PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    (kid,), = site.sql("SELECT value FROM audit_meta WHERE key = 'key_id'")
    before = site.sql("SELECT count(*) FROM audit")[0][0]

    r = site.vms("desk-9", "users", "list", path=other, keyring=keyring)
    assert r.returncode == 0, r.stderr
    assert "does not hold the site's audit seal key" in r.stderr
    assert site.sql("SELECT count(*) FROM audit")[0][0] == before  # no second key, no entry
    assert site.sql("SELECT count(*) FROM audit_meta WHERE key = 'key_id'")[0][0] == 1
    assert site.held(other) == 3  # password: its sign-in and what it did; then this sign-in

    r = site.vms("desk-9", "site", "seal-key", "--key-stdin", stdin="00" * 32 + "\n", path=other,
                 keyring=keyring)
    assert r.returncode == 2 and "that is not the site's audit seal key" in r.stderr
    r = site.vms("desk-1", "site", "seal-key", "--show")
    assert r.returncode == 0, r.stderr
    shown_kid, key = r.stdout.split()
    assert shown_kid == kid and len(key) == 64
    r = site.vms("desk-9", "site", "seal-key", "--key-stdin", stdin=r.stdout, path=other,
                 keyring=keyring)
    assert r.returncode == 0, r.stderr
    assert f"seal key {kid} is kept" in r.stdout
    assert site.held(other) == 0
    r = site.vms("desk-9", "audit", "verify", path=other, keyring=keyring)
    assert r.returncode == 0 and "Audit trail intact" in r.stdout, r.stdout + r.stderr
    rows = [(a, json.loads(d)) for a, d in site.sql(
        "SELECT action, detail FROM audit WHERE workstation = 'desk-9' ORDER BY seq")]
    assert [a for a, _d in rows][:6] == ["login", "site.password", "login", "login", "login",
                                     "site.seal_key"]
    # 'vms site password' (its sign-in and its entry) waited for the password or the key,
    # as the writer first tried; the next two sign-ins waited for the key (the last one,
    # which put the key in, may have been chained as soon as it was there)
    assert all("wants a password" in d["held"] or "seal key" in d["held"] for _a, d in rows[:2])
    assert all("does not hold the site's audit seal key" in d["held"] for _a, d in rows[2:4])
