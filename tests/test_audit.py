"""The audit trail: append-only, hash-chained, sealed, checkpointed; tampering is named.

Each tamper test edits ``audit.db`` the way an attacker with the file would (dropping
the append-only triggers first), then runs the real ``vms audit verify``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ADMIN_PASSWORD, REPO, ensure_admin, signed_in, vms_cmd
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.audit.chain import FIELDS, entry_hash
from vms.audit.log import Filter
from vms.audit.trail import AuditTrail

ENTRIES = 30


class FakeDevice:
    def __init__(self, i: int) -> None:
        self.id, self.name, self.area = i, f"cam{i}", "Town Centre"


def build(profile: Path) -> None:
    """A profile whose trail holds ENTRIES entries, then a checkpoint of its head."""
    p, s = signed_in(profile, via="cli")
    while p.audit.head()[0] < ENTRIES:
        n = p.audit.head()[0]
        p.access.record(s, "live.start" if n % 2 else "live.stop", device=FakeDevice(n % 4 + 1),
                        detail={"quality": "sub"})
    p.audit.checkpoint()
    p.close()


def attack(profile: Path, *sql: str | tuple[str, list[object]]) -> None:
    con = sqlite3.connect(profile / "audit.db")
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("DROP TRIGGER audit_no_delete")
    for stmt in sql:
        if isinstance(stmt, tuple):
            con.execute(*stmt)
        else:
            con.execute(stmt)
    con.commit()
    con.close()


def row(profile: Path, seq: int) -> dict[str, object]:
    con = sqlite3.connect(profile / "audit.db")
    con.row_factory = sqlite3.Row
    r = dict(con.execute("SELECT * FROM audit WHERE seq = ?", [seq]).fetchone())
    con.close()
    return r


def verify(profile: Path) -> tuple[int, str, dict]:
    env = ensure_admin(profile)
    text = subprocess.run(vms_cmd("--data-dir", str(profile), "audit", "verify"), env=env,
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    js = subprocess.run(vms_cmd("--data-dir", str(profile), "audit", "verify", "--json"), env=env,
                        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert js.returncode == text.returncode, js.stderr
    return text.returncode, text.stdout + text.stderr, json.loads(js.stdout)


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    build(tmp_path)
    return tmp_path


def test_untouched_trail_verifies(trail: Path) -> None:
    code, out, js = verify(trail)
    assert code == 0, out
    assert "Audit trail intact" in out and js["ok"] and js["problems"] == []
    assert js["entries"] >= ENTRIES + 1 and js["checkpoints"] >= 2


def test_the_table_refuses_updates_and_deletes(trail: Path) -> None:
    con = sqlite3.connect(trail / "audit.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE audit SET user = 'x' WHERE seq = 3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit WHERE seq = 3")
    con.close()


def test_edited_entry_is_named(trail: Path) -> None:
    attack(trail, "UPDATE audit SET user = 'mallory' WHERE seq = 12")
    code, out, js = verify(trail)
    assert code == 1 and "AUDIT TRAIL TAMPERED" in out
    assert [(p["seq"], p["kind"]) for p in js["problems"]] == [(12, "altered")]
    assert "entry 12 (" in out and "was altered" in out


def test_edited_entry_with_its_hash_recomputed_is_named_as_forged(trail: Path) -> None:
    r = row(trail, 12)
    r["detail"] = json.dumps({"quality": "main"}, separators=(",", ":"))
    forged = entry_hash({f: r[f] for f in FIELDS}, str(r["prev_hash"]))
    attack(trail, ("UPDATE audit SET detail = ?, hash = ? WHERE seq = 12", [r["detail"], forged]))
    code, out, js = verify(trail)
    assert code == 1
    assert [(p["seq"], p["kind"]) for p in js["problems"]] == [(12, "forged")]
    assert "entry 12 (" in out and "was not written by Beacon VMS" in out


def test_deleted_entry_is_named(trail: Path) -> None:
    attack(trail, "DELETE FROM audit WHERE seq = 12")
    code, out, js = verify(trail)
    assert code == 1
    assert [(p["seq"], p["kind"]) for p in js["problems"]] == [(13, "deleted")]
    assert "entry 12 before entry 13" in out and "missing: deleted" in out


def test_inserted_entry_is_named(trail: Path) -> None:
    prev = row(trail, 11)
    fake = {**row(trail, 12), "user": "mallory", "action": "evidence.export"}
    fake["prev_hash"] = prev["hash"]
    fake["hash"] = entry_hash({f: fake[f] for f in FIELDS}, str(prev["hash"]))
    fake["mac"] = "0" * 64  # the attacker has the database, not the keyring's seal key
    fake["seq"] = 12
    cols = ", ".join(fake)
    attack(trail, "UPDATE audit SET seq = seq + 1000 WHERE seq >= 12",
           "UPDATE audit SET seq = seq - 999 WHERE seq >= 1000",
           (f"INSERT INTO audit ({cols}) VALUES ({', '.join('?' * len(fake))})",  # noqa: S608
            list(fake.values())))
    code, out, js = verify(trail)
    assert code == 1
    assert [(p["seq"], p["kind"]) for p in js["problems"]] == [(12, "forged"), (12, "inserted")]
    assert "entry 12 was inserted: entry 13" in out and "follows entry 11" in out


def test_reordered_entries_are_named(trail: Path) -> None:
    attack(trail, "UPDATE audit SET seq = -1 WHERE seq = 12",
           "UPDATE audit SET seq = 12 WHERE seq = 13",
           "UPDATE audit SET seq = 13 WHERE seq = -1")
    code, out, js = verify(trail)
    assert code == 1
    assert [(p["seq"], p["kind"]) for p in js["problems"]] == [(12, "reordered")]
    assert "entry 12 (" in out and "is out of order: it was written after entry 13" in out


def test_cutting_off_the_newest_entries_is_caught_by_the_checkpoint(trail: Path) -> None:
    attack(trail, ("DELETE FROM audit WHERE seq > ?", [ENTRIES - 5]))
    code, out, js = verify(trail)
    assert code == 1
    kinds = {p["kind"] for p in js["problems"]}
    assert kinds == {"truncated"}, js["problems"]
    assert "the newest entries were cut off" in out and f"recorded entry {ENTRIES}" in out


def test_an_altered_or_missing_checkpoint_file_is_reported(trail: Path) -> None:
    cp = trail / "audit-checkpoints.jsonl"
    lines = cp.read_text().splitlines()
    first = json.loads(lines[0])
    first["seq"] += 1
    cp.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    code, out, _js = verify(trail)
    assert code == 1 and "checkpoint written" in out and "was altered" in out
    cp.unlink()  # the next sign-in starts a new file: the count of checkpoints written tells
    code, out, _js = verify(trail)
    assert code == 1 and "audit-checkpoints.jsonl was deleted or shortened" in out, out


def test_audit_list_filters_and_csv_export(trail: Path) -> None:
    p, s = signed_in(trail)
    t = AuditTrail(p.access, s)
    cam2 = t.entries(Filter(device_id=2, action="live."))
    assert cam2 and {e.device for e in cam2} == {"cam2"}
    assert {e.action for e in cam2} <= {"live.start", "live.stop"}
    assert all(e.user == ADMIN for e in t.entries(Filter(user=ADMIN.upper(), limit=3)))
    since = t.entries()[10].at
    assert all(e.at >= since for e in t.entries(Filter(since=since)))
    # A hostile detail cannot become a spreadsheet formula.
    p.access.record(s, "settings.change", detail={"note": "=HYPERLINK(\"http://x\")"})
    n = t.export_csv(Filter(), trail / "review.csv")
    text = (trail / "review.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == n and rows[0]["time_uk"].endswith(("GMT", "BST"))
    assert not any(v.startswith("=") for r in rows for v in r.values())
    last = t.entries()[-1]
    assert last.action == "audit.export" and last.details()["entries"] == n
    p.close()


def test_no_password_is_stored_or_logged_in_clear(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                  ) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ["operator-secret-77", "temporary-secret-88", "wrong-guess-secret-99", ADMIN_PASSWORD]
    env = ensure_admin(tmp_path)
    outputs = []
    for args, stdin, e in (
        (("users", "add", "olive", "--role", "operator", "--password-stdin"), secrets[0], env),
        (("users", "list"), None, {**env, "VMS_USER": "olive", "VMS_PASSWORD": secrets[2]}),
        (("users", "reset", "olive", "--password-stdin"), secrets[1], env),
        (("audit", "list"), None, env),
    ):
        res = subprocess.run(vms_cmd("--data-dir", str(tmp_path), *args), input=stdin, env=e,
                             capture_output=True, text=True, timeout=60, cwd=REPO)
        outputs.append(res.stdout + res.stderr)
    p, s = signed_in(tmp_path)
    with pytest.raises(Exception, match="wrong user name or password"):
        p.access.sign_in("olive", secrets[2], via="desktop")
    UserAdmin(p.access, s).add("eve", Role.EVIDENCE_OFFICER, secrets[2] + "x")
    hashes = [r[0] for r in p.registry.db.execute("SELECT password_hash FROM users")]
    assert len(hashes) == 3 and all(h.startswith("$argon2id$v=19$m=65536,t=3,p=4$") for h in hashes)
    p.close()  # then read the files (closing our own handles would drop SQLite's locks)
    blobs = {f.name: f.read_bytes() for f in tmp_path.rglob("*") if f.is_file()}
    assert {"registry.db", "audit.db", "audit-checkpoints.jsonl"} <= set(blobs)
    for secret in secrets:
        for name, blob in blobs.items():
            assert secret.encode() not in blob, f"{secret} in {name}"
        assert all(secret not in out for out in outputs)
        assert secret not in caplog.text
    assert os.environ.get("VMS_PASSWORD") is None or os.environ["VMS_PASSWORD"] not in caplog.text


def test_times_are_shown_in_uk_time_with_gmt_or_bst() -> None:
    from vms.audit.log import london

    assert london("2026-07-01T12:00:00.000Z") == "2026-07-01 13:00:00 BST"
    assert london("2026-01-10T12:00:00.000Z") == "2026-01-10 12:00:00 GMT"
    assert london("2026-10-25T00:59:59.000Z") == "2026-10-25 01:59:59 BST"  # the last BST second
    assert london("2026-10-25T01:00:00.000Z") == "2026-10-25 01:00:00 GMT"
