"""Credential stores and the registry schema, on real files."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vms.credentials import EncryptedFileStore, KeyringStore, open_store
from vms.discovery.wsd import Sighting
from vms.errors import ProfileError
from vms.store import Registry
from vms.store.schema import VERSION


def test_tests_use_the_file_keyring_backend(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert isinstance(store, KeyringStore) and "PlaintextKeyring" in store.name
    store.set("urn:uuid:1", "admin", "s3cret")
    assert store.get("urn:uuid:1") == ("admin", "s3cret")
    store.delete("urn:uuid:1")
    assert store.get("urn:uuid:1") is None
    assert not list(tmp_path.iterdir()), "a keyring store writes nothing into the profile"


def _fallback(profile: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.run([sys.executable, "-c", code, str(profile)], env=env, capture_output=True,
                          text=True, timeout=60, check=True)


def test_no_os_keyring_falls_back_to_an_encrypted_file_and_says_so_once(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from vms.credentials import open_store\n"
            "s = open_store(Path(sys.argv[1])); print(type(s).__name__); print(s.notice or '-')\n"
            "s.set('cam', 'admin', 'hunter2-pw') if s.get('cam') is None else print(s.get('cam'))\n")
    first = _fallback(tmp_path, code).stdout.splitlines()
    assert first[0] == "EncryptedFileStore"
    assert "no system keyring" in first[1] and "encrypted file" in first[1]
    second = _fallback(tmp_path, code).stdout.splitlines()
    assert second == ["EncryptedFileStore", "-", "('admin', 'hunter2-pw')"]  # no second notice
    blob = (tmp_path / "credentials.enc").read_bytes()
    assert b"hunter2" not in blob and b"admin" not in blob
    for f in ("credentials.enc", "credentials.key"):
        assert stat.S_IMODE((tmp_path / f).stat().st_mode) == 0o600


def test_an_encrypted_store_with_a_changed_key_is_refused_in_plain_words(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path)
    store.set("cam", "admin", "pw")
    (tmp_path / "credentials.key").write_bytes(os.urandom(32))
    with pytest.raises(ProfileError, match="cannot be decrypted on this computer"):
        EncryptedFileStore(tmp_path).get("cam")


def test_registry_is_wal_and_migrated_to_the_current_version(tmp_path: Path) -> None:
    reg = Registry.for_profile(tmp_path)
    assert reg.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reg.db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert {"areas", "devices", "streams", "capabilities", "sightings"} <= set(reg.db.table_names())
    reg.close()
    Registry.for_profile(tmp_path)  # opening again migrates nothing and loses nothing


def test_a_registry_from_a_newer_version_is_refused_not_damaged(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {VERSION + 1}")
    con.close()
    before = db.read_bytes()
    with pytest.raises(ProfileError, match="newer than this Beacon VMS"):
        Registry(db)
    assert db.read_bytes() == before


def test_a_corrupt_registry_is_reported(tmp_path: Path) -> None:
    (tmp_path / "registry.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProfileError, match="cannot be opened"):
        Registry.for_profile(tmp_path)


def test_sightings_are_upserted_by_endpoint_reference(tmp_path: Path) -> None:
    reg = Registry.for_profile(tmp_path)

    def seen(port: int) -> Sighting:
        return Sighting(endpoint="urn:uuid:a", xaddrs=[f"http://127.0.0.1:{port}/onvif/device_service"],
                        types=["dn:NetworkVideoTransmitter"], metadata_version=1, senders=["127.0.0.1"],
                        scopes=["onvif://www.onvif.org/name/cam1",
                                "onvif://www.onvif.org/location/Market_Square"])
    reg.record_sighting(seen(1), "probe")
    first = reg.sightings()[0].first_seen
    reg.record_sighting(seen(2), "hello")
    reg.mark_gone("urn:uuid:a")
    (s,) = reg.sightings()
    assert s.xaddrs == ["http://127.0.0.1:2/onvif/device_service"] and not s.present
    assert s.first_seen == first and s.source == "bye"
    # A Bye keeps what the device told us about itself.
    assert (s.name, s.location, s.sender) == ("cam1", "Market Square", "127.0.0.1")
    reg.mark_gone("urn:uuid:never-seen")
    assert len(reg.sightings()) == 1


_STORE_MANY = """
import sys, threading
from pathlib import Path
from vms.credentials import open_store
store = open_store(Path(sys.argv[1]))
tag = sys.argv[2]
def put(i):
    store.set(f"urn:{tag}:{i}", "admin", f"pw-{tag}-{i}")
threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
for t in threads: t.start()
for t in threads: t.join()
print(type(store).__name__)
"""


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", None],
                         ids=["encrypted-file", "file-keyring"])
def test_passwords_stored_at_once_by_threads_and_processes_are_all_kept(
        tmp_path: Path, backend: str | None) -> None:
    """Issue 22: 16 threads storing passwords at once lost 15 of them (read, change, rewrite
    with no lock); here 3 processes of 16 threads each store 48, and every one is kept."""
    env = dict(os.environ)
    if backend:
        env["PYTHON_KEYRING_BACKEND"] = backend
    run = tmp_path.name  # the file keyring outlives the test: keys unique to this run
    procs = [subprocess.Popen([sys.executable, "-c", _STORE_MANY, str(tmp_path), run + tag],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("a", "b", "c")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    code = ("import sys; from pathlib import Path; from vms.credentials import open_store\n"
            "s = open_store(Path(sys.argv[1]))\n"
            "print(sum(s.get(f'urn:{t}:{i}') == ('admin', f'pw-{t}-{i}') "
            "for t in (sys.argv[2] + x for x in 'abc') for i in range(16)))\n")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path), run], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert res.stdout.strip() == "48"
