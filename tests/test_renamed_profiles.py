"""Names that say what they hold (issue 24): "site" is the whole installation (the site
service, the simulated site); a device grouping is an *area*; a loaned camera's place is its
*premises*. Profiles made before the renames open with nothing lost: the profile database
migrates (schema 6); the audit trail, the call store and the loans store, which have no
schema version, rename in place. The audit chain hashes its fields by position, so a trail
written before still verifies."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vms.audit.log import Actor, AuditLog
from vms.events import store as event_store
from vms.events.store import EventStore
from vms.loans import store as loan_store
from vms.loans.store import LoanStore
from vms.profile import Profile
from vms.store.schema import MIGRATIONS, VERSION


def _v5_profile(folder: Path) -> None:
    """A profile database exactly as schema 5 left it: two areas (then "sites"), two devices,
    a camera group by area, and a restricted user in it."""
    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(folder / "registry.db", isolation_level=None)
    for i, m in enumerate(MIGRATIONS[:5]):
        m(con)
        con.execute(f"PRAGMA user_version = {i + 1}")
    stamp = "2026-01-01T00:00:00+00:00"
    con.execute("INSERT INTO sites VALUES (1, 'Default site', ?), (2, 'Riverside', ?)",
                (stamp, stamp))
    for dev, site in ((1, 1), (2, 2)):
        con.execute("INSERT INTO devices (id, uid, name, site_id, address, host, port, auth_method, "
                    "added_at, updated_at) VALUES (?, ?, ?, ?, ?, '127.0.0.1', ?, 'digest', ?, ?)",
                    (dev, f"uid{dev}", f"cam{dev}", site, f"127.0.0.1:{8000 + dev}", 8000 + dev,
                     stamp, stamp))
    con.execute("INSERT INTO camera_groups VALUES (1, 'River', ?)", (stamp,))
    con.execute("INSERT INTO group_sites VALUES (1, 2)")
    con.execute("INSERT INTO users (id, name, role, password_hash, all_cameras, created_at, "
                "password_changed_at) VALUES (1, 'op', 'operator', 'x', 0, ?, ?)", (stamp, stamp))
    con.execute("INSERT INTO user_groups VALUES (1, 1)")
    con.close()


def test_a_profile_from_before_the_rename_keeps_its_areas_groups_and_access(
        tmp_path: Path) -> None:
    _v5_profile(tmp_path)
    profile = Profile(tmp_path)
    try:
        db = profile.store.db
        assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION >= 6
        assert {"areas", "group_areas"} <= set(db.table_names())
        assert not {"sites", "group_sites"} & set(db.table_names())
        assert [(d.name, d.area) for d in profile.registry.devices()] == [
            ("cam1", "Default area"), ("cam2", "Riverside")]
        assert [(g.name, g.areas) for g in profile.accounts.groups()] == [("River", ["Riverside"])]
        assert profile.accounts.camera_ids(1) == {2}  # still reaches the area's camera, only it
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        profile.close()


def test_an_audit_trail_from_before_the_rename_still_verifies(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    actor = Actor("admin", "administrator", "desk-1", "cli")
    for i in range(3):
        log.append(actor, "live.start", device_id=i, device=f"cam{i}", area="Town Centre")
    log.close()
    con = sqlite3.connect(tmp_path / "audit.db")
    con.execute("ALTER TABLE audit RENAME COLUMN area TO site")  # as written before the rename
    con.commit()
    con.close()

    log = AuditLog(tmp_path)
    try:
        assert [e.area for e in log.entries()] == ["Town Centre"] * 3
        verdict = log.verify()
        assert verdict.ok and verdict.entries == 3, verdict.problems
        log.append(actor, "live.stop", device_id=0, device="cam0", area="Town Centre")
        assert log.verify().ok
    finally:
        log.close()


def test_a_call_store_from_before_the_rename_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    con = sqlite3.connect(path)
    con.executescript(event_store.SCHEMA.replace("    area TEXT NOT NULL,", "    site TEXT NOT NULL,"))
    con.execute("INSERT INTO incidents (device_id, device, site, kind, priority, state, "
                "raised_utc) VALUES (7, 'hp1', 'Riverside', 'help', 1, 'new', '2026-01-01T00:00Z')")
    con.commit()
    con.close()
    store = EventStore(path)
    try:
        row = store.conn.execute("SELECT device, area FROM incidents").fetchone()
        assert tuple(row) == ("hp1", "Riverside")
    finally:
        store.close()


def test_a_loans_store_from_before_the_rename_keeps_its_premises_and_loans(
        tmp_path: Path) -> None:
    path = tmp_path / "loans.db"
    old = (loan_store.SCHEMA.replace("EXISTS premises (", "EXISTS sites (")
           .replace("REFERENCES premises(id)", "REFERENCES sites(id)")
           .replace("premises_id INTEGER", "site_id INTEGER"))
    con = sqlite3.connect(path)
    con.executescript(old)
    con.execute("INSERT INTO sites (id, name, address, lat, lon, contact, reason, urn, "
                "response_level, created_utc) VALUES (3, 'Elm Road', '14 Elm Road', 52.2, -0.9, "
                "'Mrs A Example', 'repeat burglary', 'NN-1', 'standard', '2026-01-01T00:00Z')")
    con.execute("INSERT INTO deployments (id, site_id, installed, funded_end, signage) "
                "VALUES (5, 3, '2026-01-02', '2026-01-31', 1)")
    con.execute("INSERT INTO alarm_decisions (incident_id, deployment_id, site_id, urn, on_test, "
                "decision, user, utc) VALUES (9, 5, 3, 'NN-1', 0, 'false', 'op', '2026-01-03')")
    con.commit()
    con.close()
    store = LoanStore(path)
    try:
        c = store.conn
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "premises" in tables and "sites" not in tables
        assert tuple(c.execute("SELECT d.id, p.name, p.contact FROM deployments d JOIN premises p "
                               "ON p.id = d.premises_id").fetchone()) == (5, "Elm Road",
                                                                          "Mrs A Example")
        assert c.execute("SELECT premises_id FROM alarm_decisions").fetchone()[0] == 3
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        store.close()
    LoanStore(path).close()  # opened again: nothing more to rename, nothing lost
