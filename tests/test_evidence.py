"""Evidence packages from real sim recordings: a sealed package verifies with our verifier
and with stock tools, and every tampering case of the profile is caught for its own reason."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Sim, signed_in, start_sim, vms_cmd, wait_for
from tests.evidence_helpers import OpenSslTsa, attacker_signer, reseal
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.access.session import Session
from vms.devices.commissioning import Commissioning
from vms.evidence.ca import EvidenceKeys, Signer, issue_signer
from vms.evidence.package import P7S, TSR, PackageBuilder, Request
from vms.evidence.service import EvidenceService, audit_extract, camera_facts
from vms.evidence.utc import parse as _t
from vms.evidence.verify import INVALID, PENDING, VALID, Report, verify
from vms.profile import Profile
from vms.recording.index import CLOSED, RecordingIndex, utc
from vms.recording.service import Recording
from vms.sim.config import DEFAULT_PASSWORD, DEFAULT_USER

OFFICER, OFFICER_PW = "officer", "officer-password-1"


@dataclass
class World:
    sim: Sim
    profile: Profile
    path: Path
    officer: Session
    officer_admin: Session  # the administrator: starts recorders
    ids: dict[str, int]
    index: RecordingIndex
    tsa: OpenSslTsa
    other_tsa: OpenSslTsa
    start: dt.datetime
    end: dt.datetime
    gap: tuple[str, str]
    base: Path  # a sealed two-camera package
    other: Path  # another package, for swapping seals and tokens
    keys: EvidenceKeys

    @property
    def roots(self) -> list[bytes]:
        return [self.keys.root_pem()]

    def check(self, package: Path, *, tsa_roots: list[bytes] | None = None) -> Report:
        return verify(package, self.roots, [self.tsa.root_pem] if tsa_roots is None
                      else tsa_roots)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("evidence")
    sim = start_sim(root / "site", clip_cache, "--cameras", "2", "--help-points", "0",
                    "--pid", "0")
    tsa = OpenSslTsa(root / "tsa")
    other_tsa = OpenSslTsa(root / "attacker-tsa", "Attacker TSA")
    profile, admin = signed_in(root / "profile")
    try:
        svc = Commissioning(profile, admin)
        ids = {n: svc.add(sim.address(n), DEFAULT_USER, DEFAULT_PASSWORD).device_id
               for n in ("cam1", "cam2")}
        UserAdmin(profile.access, admin).add(OFFICER, Role.EVIDENCE_OFFICER, OFFICER_PW)
        officer = profile.access.sign_in(OFFICER, OFFICER_PW, via="cli")
        rec = Recording(profile, admin, segment_s=4)
        rec.start(list(ids.values()))
        index = rec.index
        try:
            wait_for(lambda: all(len(index.segments(i, CLOSED)) >= 2 for i in ids.values()),
                     60, "two segments per camera")
            sim.cli("offline", "cam2")
            try:
                wait_for(lambda: any(g.reason.startswith("camera offline")
                                     for g in index.gaps(ids["cam2"])), 40, "cam2's gap")
                time.sleep(4)
            finally:
                sim.cli("online", "cam2")
            wait_for(lambda: all(g.end_utc for g in index.gaps(ids["cam2"])), 60, "cam2 back")
            gap = next(g for g in index.gaps(ids["cam2"]) if g.reason.startswith("camera"))
            wait_for(lambda: any(s.start_utc and s.start_utc > (gap.end_utc or "")
                                 for s in index.segments(ids["cam2"], CLOSED)), 40,
                     "a segment after the gap")
        finally:
            rec.stop()
        segs = index.segments()
        start = max(_t(min(s.start_utc for s in segs if s.camera_id == i and s.start_utc))
                    for i in ids.values()) + dt.timedelta(seconds=1)
        end = min(_t(max(s.end_utc for s in segs if s.camera_id == i and s.end_utc))
                  for i in ids.values()) - dt.timedelta(seconds=1)
        keys = EvidenceKeys(profile.data_dir, profile.credentials)
        keys.init("Test Council", "test-ws")
        service = EvidenceService(profile, officer, index)
        req = Request(purpose="Investigation of an assault", legal_basis="DPA 2018 s.35",
                      requesting_officer="PC 123 Smith", force="Test Police",
                      crime_reference="CR/1/26")
        base = service.export(cameras=list(ids.values()), start=start, end=end,
                              exhibit="ABC/1", out_dir=root / "out", request=req,
                              tsa_url=tsa.url).path
        other = service.export(cameras=[ids["cam1"]], start=start, end=end,
                               exhibit="ABC/2", out_dir=root / "out", request=req,
                               tsa_url=tsa.url).path
        yield World(sim, profile, root / "profile", officer, admin, ids, index, tsa, other_tsa,
                    start, end, (gap.start_utc, gap.end_utc or ""), base, other, keys)
    finally:
        tsa.stop()
        other_tsa.stop()
        profile.close()
        sim.stop()


@pytest.fixture()
def pkg(world: World, tmp_path: Path) -> Path:
    dest = tmp_path / world.base.name
    shutil.copytree(world.base, dest, symlinks=True)
    return dest


def failing(report: Report) -> str:
    return "\n".join(f"[{c.step}] {c.message} {c.file or ''}" for c in report.failures)


def assert_caught(report: Report, step: str, words: str, file: str | None = None) -> None:
    assert report.status == INVALID, report.text()
    hits = [c for c in report.failures if c.step == step and words in c.message
            and (file is None or c.file == file)]
    assert hits, f"expected a {step} failure about {words!r} ({file}); got:\n{failing(report)}"


# -- the good package ---------------------------------------------------------------------
def test_a_sealed_package_is_valid_and_says_what_it_holds(world: World) -> None:
    report = world.check(world.base)
    assert report.status == VALID, report.text()
    print(report.text())
    facts = json.loads((world.base / "data/metadata/export.json").read_text())
    assert facts["seal"]["state"] == "sealed"
    cams = {s["camera"] for s in facts["segments"]}
    assert cams == {"cam1", "cam2"}  # a multi-camera export
    assert len(facts["working_copies"]) == 2
    assert all(w["lossless"] and w["frame_hash_comparison"]["identical"]
               for w in facts["working_copies"])
    # cam2's outage inside the window is declared with its reason
    gaps = [g for g in facts["gaps"] if g["camera"] == "cam2"]
    assert any(g["reason"].startswith("camera offline") for g in gaps), facts["gaps"]
    # every master is the recorder's bytes
    by_hash = {s.sha256 for s in world.index.segments()}
    assert all(s["source_sha256"] in by_hash for s in facts["segments"])
    assert (world.base / "seal" / TSR).exists()
    assert report.trusted_time and report.signer
    names = sorted(p.name for p in (world.base / "data").rglob("*") if p.is_file())
    print("\n".join(names))
    assert any(n.startswith("frames_") for n in names) and "report.html" in names
    # the export and its start are in the audit trail
    actions = [e.action for e in world.profile.audit.entries() if e.user == OFFICER]
    assert "evidence.export.start" in actions and "evidence.export" in actions


def test_the_stock_tool_recipe_in_verify_txt_runs(world: World, tmp_path: Path) -> None:
    text = (world.base / "data/statement/VERIFY.txt").read_text()
    (tmp_path / "evidence-root.pem").write_bytes(world.keys.root_pem())
    (tmp_path / "tsa-root.pem").write_bytes(world.tsa.root_pem)
    # The three commands exactly as VERIFY.txt prints them (continuation lines joined).
    lines = text.replace("\\\n", " ").splitlines()
    cmds = [" ".join(line.split()) for line in lines
            if line.strip().startswith(("sha256sum -c", "openssl cms -verify",
                                        "openssl ts -verify"))]
    assert len(cmds) == 3, cmds
    pkg = shutil.copytree(world.base, tmp_path / "p")
    shutil.copy(tmp_path / "evidence-root.pem", pkg)
    shutil.copy(tmp_path / "tsa-root.pem", pkg)
    for cmd in cmds:
        parts = []
        for step in cmd.split(" && "):
            parts.append(step.split())
        for argv in parts:
            out = subprocess.run(argv, cwd=pkg, capture_output=True, text=True, check=False)
            print(" ".join(argv), "->", out.returncode, out.stdout[-200:], out.stderr[-300:])
            assert out.returncode == 0, out.stderr
            if argv[:2] == ["openssl", "ts"]:
                assert "Verification: OK" in out.stdout
            if argv[:2] == ["openssl", "cms"]:
                assert "Verification successful" in out.stderr
    # and the same recipe fails on a tampered file
    data = bytearray((pkg / "data/metadata/export.json").read_bytes())
    data[10] ^= 1
    (pkg / "data/metadata/export.json").write_bytes(data)
    out = subprocess.run(["sha256sum", "-c", "manifest-sha256.txt"], cwd=pkg,
                         capture_output=True, text=True, check=False)
    assert out.returncode != 0 and "FAILED" in out.stdout


def test_vms_verify_exit_status_and_json(world: World, tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(world.keys.root_pem())
    (tmp_path / "tsa.pem").write_bytes(world.tsa.root_pem)
    env = {k: v for k, v in os.environ.items() if k not in ("VMS_USER", "VMS_PASSWORD")}
    args = ["--data-dir", str(tmp_path / "nobody"), "verify", "--trust-root",
            str(tmp_path / "root.pem"), "--tsa-root", str(tmp_path / "tsa.pem"), "--json"]
    good = subprocess.run(vms_cmd(*args, str(world.base)), capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout)["status"] == VALID
    bad = shutil.copytree(world.base, tmp_path / "bad")
    (bad / "data/metadata/export.json").write_text("{}")
    out = subprocess.run(vms_cmd(*args, str(bad)), capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["status"] == INVALID and report["failures"]
    # no trust roots given: the signer and the TSA cannot be trusted, so never VALID
    bare = subprocess.run(vms_cmd("--data-dir", str(tmp_path / "nobody"), "verify",
                                  str(world.base)), capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert bare.returncode == 1 and "INVALID" in bare.stdout, bare.stdout


# -- tampering: T01-T19 --------------------------------------------------------------------
def _master(pkg: Path) -> Path:
    return sorted((pkg / "data/master").iterdir())[0]


def test_t01_bit_flipped_in_a_master(world: World, pkg: Path) -> None:
    m = _master(pkg)
    data = bytearray(m.read_bytes())
    data[len(data) // 2] ^= 0x01
    m.write_bytes(data)
    r = world.check(pkg)
    assert_caught(r, "integrity", "SHA-256 differs", f"data/master/{m.name}")
    # issue 23: the report of a tampered package must not also say, under checks passed,
    # that its segments match their recorder hashes
    assert not [c.message for c in r.checks if c.ok and "recorder hashes" in c.message]


def test_t02_bit_flipped_in_a_working_copy(world: World, pkg: Path) -> None:
    w = sorted((pkg / "data/working").iterdir())[0]
    data = bytearray(w.read_bytes())
    data[-100] ^= 0x80
    w.write_bytes(data)
    assert_caught(world.check(pkg), "integrity", "SHA-256 differs", f"data/working/{w.name}")


def test_t03_segment_truncated(world: World, pkg: Path) -> None:
    m = _master(pkg)
    with m.open("r+b") as f:
        f.truncate(m.stat().st_size // 2)
    r = world.check(pkg)
    assert_caught(r, "integrity", "SHA-256 differs", f"data/master/{m.name}")
    assert_caught(r, "integrity", "Payload-Oxum")


def test_t04_payload_file_deleted(world: World, pkg: Path) -> None:
    m = _master(pkg)
    m.unlink()
    assert_caught(world.check(pkg), "integrity", "listed in manifest-sha256.txt but missing",
                  f"data/master/{m.name}")


def test_t05_payload_file_added(world: World, pkg: Path) -> None:
    (pkg / "data/master/extra.mov").write_bytes(b"not from the recorder")
    r = world.check(pkg)
    assert_caught(r, "closed-world", "not listed in manifest-sha256.txt", "data/master/extra.mov")


def test_t06_payload_file_renamed(world: World, pkg: Path) -> None:
    m = _master(pkg)
    m.rename(m.with_name("renamed.mov"))
    r = world.check(pkg)
    assert_caught(r, "integrity", "but missing", f"data/master/{m.name}")
    assert_caught(r, "closed-world", "not listed", "data/master/renamed.mov")


def test_t07_file_added_outside_data(world: World, pkg: Path) -> None:
    (pkg / "README.txt").write_text("trust me")
    (pkg / "seal" / "note.bin").write_bytes(b"x")
    r = world.check(pkg)
    assert_caught(r, "closed-world", "does not allow", "README.txt")
    assert_caught(r, "closed-world", "does not allow", "seal/note.bin")


def test_t08_export_json_edited(world: World, pkg: Path) -> None:
    p = pkg / "data/metadata/export.json"
    p.write_text(p.read_text().replace("Investigation of an assault", "Routine check"))
    assert_caught(world.check(pkg), "integrity", "SHA-256 differs", "data/metadata/export.json")


def test_t09_bag_info_edited(world: World, pkg: Path) -> None:
    p = pkg / "bag-info.txt"
    p.write_text(p.read_text().replace("ABC/1", "ABC/9"))
    assert_caught(world.check(pkg), "integrity", "differs from tagmanifest-sha256.txt",
                  "bag-info.txt")


def _edit_metadata(pkg: Path) -> None:
    p = pkg / "data/metadata/export.json"
    p.write_text(p.read_text().replace("PC 123 Smith", "PC 999 Jones"))


def test_t10_metadata_edited_and_manifests_recomputed_without_the_key(world: World,
                                                                      pkg: Path) -> None:
    _edit_metadata(pkg)
    p7s = (pkg / "seal" / P7S).read_bytes()
    tsr = (pkg / "seal" / TSR).read_bytes()
    reseal(pkg, attacker_signer(world.keys.signer()), None)
    (pkg / "seal" / P7S).write_bytes(p7s)  # the old seal: the attacker has no key
    (pkg / "seal" / TSR).write_bytes(tsr)
    shutil.copy(world.base / "seal/chain/signer.crt", pkg / "seal/chain/signer.crt")
    r = world.check(pkg)
    assert_caught(r, "signature", "does not match tagmanifest-sha256.txt")


def test_t11_re_signed_with_a_self_made_certificate_of_the_same_name(world: World,
                                                                     pkg: Path) -> None:
    _edit_metadata(pkg)
    fake = attacker_signer(world.keys.signer())
    assert fake.cert.subject == world.keys.signer().cert.subject
    reseal(pkg, fake, None)
    tsr = world.base / "seal" / TSR
    shutil.copy(tsr, pkg / "seal" / TSR)  # the old token no longer fits
    r = world.check(pkg)
    assert_caught(r, "signature", "does not chain to a configured evidence root")
    assert_caught(r, "timestamp", "imprint differs")


def test_t12_timestamp_swapped_in_from_another_package(world: World, pkg: Path) -> None:
    shutil.copy(world.other / "seal" / TSR, pkg / "seal" / TSR)
    assert_caught(world.check(pkg), "timestamp", "not over this package's signature")


def test_t13_seal_removed(world: World, pkg: Path) -> None:
    shutil.rmtree(pkg / "seal")
    r = world.check(pkg)
    assert_caught(r, "signature", "not signed")
    assert_caught(r, "semantics", "declares the package sealed")


def test_t14_segment_re_encoded_bag_rebuilt_and_re_signed(world: World, pkg: Path,
                                                          tmp_path: Path) -> None:
    m = _master(pkg)
    out = tmp_path / "re.mov"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(m), "-c:v",
                    "libx264", "-crf", "35", "-f", "mov", str(out)], check=True)
    shutil.copy(out, m)
    reseal(pkg, attacker_signer(world.keys.signer()), world.tsa.url)
    r = world.check(pkg)
    assert_caught(r, "signature", "does not chain to a configured evidence root")
    assert_caught(r, "semantics", "differs from the hash its recorder took",
                  f"data/master/{m.name}")


def test_t15_seal_of_another_package_transplanted(world: World, pkg: Path) -> None:
    shutil.rmtree(pkg / "seal")
    shutil.copytree(world.other / "seal", pkg / "seal")
    assert_caught(world.check(pkg), "signature", "does not match tagmanifest-sha256.txt")


def test_t16_re_signed_and_re_stamped_by_an_attackers_own_tsa(world: World, pkg: Path) -> None:
    _edit_metadata(pkg)
    reseal(pkg, attacker_signer(world.keys.signer()), world.other_tsa.url)
    r = world.check(pkg)
    assert_caught(r, "timestamp", "does not chain to a configured TSA root")
    assert_caught(r, "signature", "does not chain to a configured evidence root")


def test_t17_self_signed_re_signing_with_a_token_from_a_trusted_tsa(world: World,
                                                                    pkg: Path) -> None:
    _edit_metadata(pkg)
    reseal(pkg, attacker_signer(world.keys.signer()), world.tsa.url)
    r = world.check(pkg)
    assert any(c.step == "timestamp" and c.ok for c in r.checks), r.text()  # the token is fine
    assert_caught(r, "signature", "does not chain to a configured evidence root")


def _builder(world: World, signer: Signer, clock: dt.datetime | None = None) -> PackageBuilder:
    return PackageBuilder(world.index, signer,
                          audit_extract=lambda ids, since, _u: audit_extract(
                              world.profile, ids, since, "none"),
                          clock=(lambda: clock) if clock else None)


def _job(world: World, exhibit: str, tsa: str | None):  # type: ignore[no-untyped-def]
    from vms.evidence.package import ExportJob, Producer
    return ExportJob(cameras=[camera_facts(world.profile, world.ids["cam1"])],
                     start=world.start, end=world.end, exhibit=exhibit,
                     producer=Producer(OFFICER, "evidence officer"), tsa_url=tsa)


def test_t18_declared_export_time_far_from_the_trusted_time(world: World,
                                                            tmp_path: Path) -> None:
    backdated = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    res = _builder(world, world.keys.signer(), backdated).build(
        _job(world, "T18", world.tsa.url), tmp_path)
    r = world.check(res.path)
    assert_caught(r, "semantics", "far after the declared export completion")
    assert not [c for c in r.failures if c.step in ("signature", "timestamp", "integrity")], \
        failing(r)


def test_t19_properly_sealed_but_a_master_differs_from_its_recorders_hash(
        world: World, pkg: Path) -> None:
    m = _master(pkg)
    data = bytearray(m.read_bytes())
    data[len(data) // 3] ^= 0x04
    m.write_bytes(data)
    reseal(pkg, world.keys.signer(), world.tsa.url)  # the real key: a careless exporter
    r = world.check(pkg)
    assert not [c for c in r.failures if c.step in ("signature", "timestamp", "integrity")], \
        failing(r)
    assert_caught(r, "semantics", "differs from the hash its recorder took",
                  f"data/master/{m.name}")


def test_a_recording_altered_since_it_was_closed_stops_the_export_leaving_nothing(
        world: World, tmp_path: Path) -> None:
    """The masters are copied on a helper thread while earlier ones are derived from: a
    mismatch found there still stops the whole export, and the half-built package goes."""
    from vms.errors import ExportError
    from vms.evidence.package import select

    segs, _holes = select(world.index, world.ids["cam1"], world.start, world.end)
    assert len(segs) >= 2
    victim = segs[-1].path  # the last one: earlier copies are done and being derived from
    original = victim.read_bytes()
    altered = bytearray(original)
    altered[len(altered) // 2] ^= 0x01
    try:
        victim.write_bytes(altered)
        with pytest.raises(ExportError, match="no longer matches the hash its recorder took"):
            _builder(world, world.keys.signer()).build(_job(world, "ALTERED", None), tmp_path)
    finally:
        victim.write_bytes(original)
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


def test_an_export_is_on_the_disk_before_it_is_named_complete(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a power cut an exhibit is whole or absent: every file and folder of the package
    is flushed before the hidden folder is renamed into place, and the folder that holds
    it after (so the rename holds too). The flushes are watched, not replaced."""
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, Path.rename

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(self: Path, target: str | os.PathLike[str]) -> Path:
        events.append(("rename", os.path.realpath(self)))
        return real_rename(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "rename", rename)
    res = _builder(world, world.keys.signer()).build(_job(world, "DURABLE", None), tmp_path)
    monkeypatch.undo()
    at = next(i for i, (kind, path) in enumerate(events)
              if kind == "rename" and path.endswith(".partial"))
    partial = Path(events[at][1])
    flushed_before = {path for kind, path in events[:at] if kind == "fsync"}
    wanted = {str(partial / p.relative_to(res.path)) for p in [res.path, *res.path.rglob("*")]}
    assert len(wanted) > 20
    assert sorted(wanted - flushed_before) == []
    assert ("fsync", os.path.realpath(tmp_path)) in events[at + 1:]
    assert world.check(res.path).status == PENDING


# -- X1-X8 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("when", ["expired", "not yet valid"])
def test_x1_signer_certificate_not_valid_at_the_trusted_time(world: World, tmp_path: Path,
                                                             when: str) -> None:
    from cryptography.hazmat.primitives import serialization
    folder = world.keys.folder
    root_key = serialization.load_pem_private_key((folder / "root.key").read_bytes(),
                                                  world.keys._passphrase())
    from cryptography import x509
    root = x509.load_pem_x509_certificate((folder / "root.crt").read_bytes())
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=30) if when == "expired" else now + dt.timedelta(days=2)
    key, cert = issue_signer(root_key, root, "Test Council", "test-ws evidence export",  # type: ignore[arg-type]
                             not_before=start, days=10)
    res = _builder(world, Signer(key, cert, [])).build(_job(world, "X1", world.tsa.url),
                                                         tmp_path)
    r = world.check(res.path)
    assert_caught(r, "signature", "was not valid at the trusted time")


def test_x2_md5_or_sha1_only_manifests_are_a_downgrade(world: World, pkg: Path) -> None:
    import hashlib
    for alg in ("sha256", "sha512"):
        (pkg / f"manifest-{alg}.txt").unlink()
        (pkg / f"tagmanifest-{alg}.txt").unlink()
    lines = []
    for f in sorted((pkg / "data").rglob("*")):
        if f.is_file():
            lines.append(f"{hashlib.md5(f.read_bytes()).hexdigest()}  "
                         f"{f.relative_to(pkg).as_posix()}\n")
    (pkg / "manifest-md5.txt").write_text("".join(lines))
    r = world.check(pkg)
    assert_caught(r, "integrity", "algorithm md5 is not allowed", "manifest-md5.txt")
    assert_caught(r, "integrity", "SHA-256 manifests are missing")


@pytest.mark.parametrize("kind", ["traversal", "symlink", "case"])
def test_x3_path_traversal_symlink_or_case_colliding_names(world: World, pkg: Path,
                                                           kind: str) -> None:
    if kind == "traversal":
        with (pkg / "manifest-sha256.txt").open("a") as f:
            f.write(f"{'0' * 64}  data/../../etc/passwd\n")
        assert_caught(world.check(pkg), "structure", "climbs out of the package")
    elif kind == "symlink":
        os.symlink("/etc/hostname", pkg / "data/stills/link.png")
        assert_caught(world.check(pkg), "structure", "symbolic link", "data/stills/link.png")
    else:
        still = sorted((pkg / "data/stills").iterdir())[0]
        shutil.copy(still, still.with_name(still.name.upper()))
        assert_caught(world.check(pkg), "structure", "case-insensitive")


@pytest.mark.parametrize("kind", ["overlap", "outside", "undeclared gap"])
def test_x4_overlapping_out_of_window_segments_or_an_undeclared_gap(world: World, pkg: Path,
                                                                    kind: str) -> None:
    p = pkg / "data/metadata/export.json"
    facts = json.loads(p.read_text())
    segs = [s for s in facts["segments"] if s["camera"] == "cam1"]
    if kind == "overlap":
        segs[1]["start_utc"] = segs[0]["start_utc"]
        words = "overlap in time"
    elif kind == "outside":
        segs[0]["start_utc"] = "2020-01-01T00:00:00.000+00:00"
        segs[0]["end_utc"] = "2020-01-01T00:01:00.000+00:00"
        words = "outside the exported window"
    else:
        facts["gaps"] = [g for g in facts["gaps"] if g["camera"] != "cam2"]
        words = "no gap declared"
    p.write_text(json.dumps(facts, indent=2))
    reseal(pkg, world.keys.signer(), world.tsa.url)  # sealed with the real key all the same
    assert_caught(world.check(pkg), "semantics", words)


def test_x7_a_pending_package_presented_as_sealed(world: World, pkg: Path) -> None:
    (pkg / "seal" / TSR).unlink()
    assert_caught(world.check(pkg), "semantics", "a pending package presented as sealed")


def test_x8_a_trust_root_shipped_inside_the_package_is_refused(world: World,
                                                               pkg: Path) -> None:
    (pkg / "seal/chain/root.crt").write_bytes(world.keys.root_pem())
    assert_caught(world.check(pkg), "trust", "root certificate is shipped inside")
    # and a package never vouches for itself: with no configured root it is not trusted
    r = verify(world.base, [], [world.tsa.root_pem])
    assert r.status == INVALID and any("no evidence root" in c.message for c in r.failures)


# -- hostile packages: the verifier opens only regular files inside the package -----------------
# Each package below is made in the test with real links, FIFOs and sparse files, and checked
# through the real ``vms verify`` in a subprocess: with a deadline (a hang fails the test rather
# than blocking it) and a 2 GiB address-space limit (so reading /dev/zero fails fast instead of
# eating the machine's memory). Its peak memory is the kernel's high-water mark of its own
# address space (VmHWM), written as it exits: wait4's ru_maxrss would include the pytest
# process it was forked from.
VERIFY_AS_LIMIT = 2 << 30
_LIMITED = """
import atexit, os, resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, ({n}, {n}))
def peak():
    with open("/proc/self/status") as f, open(os.environ["VERIFY_PEAK_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv = ["vms", *sys.argv[1:]]
runpy.run_module("vms", run_name="__main__", alter_sys=True)
"""


@dataclass
class VerifyRun:
    returncode: int
    stdout: bytes
    stderr: bytes
    peak_mb: float  # the verifier process's own peak resident memory (VmHWM)

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "backslashreplace")


def run_verify(world: World, package: Path, tmp_path: Path, *args: str,
               env: dict[str, str] | None = None, timeout: float = 90) -> VerifyRun:
    import sys
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "root.pem").write_bytes(world.keys.root_pem())
    (tmp_path / "tsa.pem").write_bytes(world.tsa.root_pem)
    base = {k: v for k, v in os.environ.items() if k not in ("VMS_USER", "VMS_PASSWORD")}
    cmd = [sys.executable, "-c", _LIMITED.format(n=VERIFY_AS_LIMIT), "--data-dir",
           str(tmp_path / "nobody"), "verify", "--trust-root", str(tmp_path / "root.pem"),
           "--tsa-root", str(tmp_path / "tsa.pem"), *args, str(package)]
    out, err = tmp_path / "verify.out", tmp_path / "verify.err"
    peak = tmp_path / "verify.peak"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, env={**base, **(env or {}),
                                                              "VERIFY_PEAK_FILE": str(peak)})
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.waitpid(proc.pid, 0)
            proc.returncode = -9
            pytest.fail(f"vms verify did not finish within {timeout:.0f} s (it hangs); "
                        f"output so far:\n{out.read_bytes()[-2000:]!r}")
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = VerifyRun(proc.returncode, out.read_bytes(), err.read_bytes(),
                    int(peak.read_text()) / 1024)  # kB
    print(run.text[-3000:], run.stderr.decode("utf-8", "backslashreplace")[-3000:],
          f"peak RSS {run.peak_mb:.0f} MB", sep="\n")
    return run


def assert_refused(run: VerifyRun, *words: str) -> None:
    """INVALID with the verifier's exit status, a report, every phrase in it, no traceback."""
    assert b"Traceback" not in run.stderr, run.stderr.decode("utf-8", "backslashreplace")
    assert run.returncode == 1, (run.returncode, run.text)
    assert run.text.startswith("INVALID: "), run.text
    for w in words:
        assert w in run.text, f"{w!r} not in the report:\n{run.text}"


def _first_chain_cert(pkg: Path) -> str:
    return "seal/chain/" + sorted(p.name for p in (pkg / "seal/chain").iterdir())[0]


@pytest.mark.parametrize("name", ["bagit.txt", "bag-info.txt", "tagmanifest-sha256.txt",
                                  "data/metadata/export.json", f"seal/{P7S}", f"seal/{TSR}",
                                  "chain-cert"])
def test_verify_never_follows_a_link_out_of_the_package(world: World, pkg: Path,
                                                        tmp_path: Path, name: str) -> None:
    # The link leads to a FIFO outside the package: whoever follows it and opens it waits for
    # a writer forever, so following it at all fails this test by its deadline.
    if name == "chain-cert":
        name = _first_chain_cert(pkg)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "fifo")
    (pkg / name).unlink()
    os.symlink(outside / "fifo", pkg / name)
    run = run_verify(world, pkg, tmp_path / "run", timeout=30)
    assert_refused(run, f"{name} is a symbolic link: refused, a package holds only regular "
                        "files")


def test_verify_never_follows_a_linked_folder_out_of_the_package(world: World, pkg: Path,
                                                                 tmp_path: Path) -> None:
    outside = tmp_path / "outside-chain"
    outside.mkdir()
    os.mkfifo(outside / "signer.crt")
    shutil.rmtree(pkg / "seal/chain")
    os.symlink(outside, pkg / "seal/chain")
    run = run_verify(world, pkg, tmp_path / "run", timeout=30)
    assert_refused(run, "seal/chain is a symbolic link: refused")


def test_verify_reads_nothing_through_a_link_to_dev_zero(world: World, pkg: Path,
                                                         tmp_path: Path) -> None:
    for name in ("bag-info.txt", "data/metadata/export.json", f"seal/{P7S}"):
        (pkg / name).unlink()
        os.symlink("/dev/zero", pkg / name)
    run = run_verify(world, pkg, tmp_path / "run", timeout=30)
    assert_refused(run, "bag-info.txt is a symbolic link: refused",
                   "data/metadata/export.json is a symbolic link: refused",
                   f"seal/{P7S} is a symbolic link: refused")
    assert run.peak_mb < 200


@pytest.mark.parametrize("name", ["bagit.txt", "bag-info.txt", "data/metadata/export.json",
                                  f"seal/{P7S}", f"seal/{TSR}", "chain-cert"])
def test_verify_does_not_wait_on_a_fifo_in_the_package(world: World, pkg: Path,
                                                       tmp_path: Path, name: str) -> None:
    if name == "chain-cert":
        name = _first_chain_cert(pkg)
    (pkg / name).unlink()
    os.mkfifo(pkg / name)
    run = run_verify(world, pkg, tmp_path / "run", timeout=30)
    assert_refused(run, f"{name} is a FIFO (named pipe): refused, a package holds only "
                        "regular files")


@pytest.mark.parametrize(("name", "limit"), [("bag-info.txt", "1 MiB"),
                                             ("bagit.txt", "64 KiB"),
                                             ("manifest-sha256.txt", "256 MiB"),
                                             ("data/metadata/export.json", "64 MiB")])
def test_verify_refuses_an_oversized_tag_file_before_reading_it(
        world: World, pkg: Path, tmp_path: Path, name: str, limit: str) -> None:
    with (pkg / name).open("r+b") as f:
        f.truncate(10 << 30)  # a 10 GB sparse file: costs no disk
    run = run_verify(world, pkg, tmp_path / "run", timeout=30)
    assert_refused(run, f"{name} is 10,737,418,240 bytes, over the {limit} limit for it: "
                        "not read")
    assert run.peak_mb < 200


def test_verify_checks_sizes_before_it_hashes(world: World, pkg: Path, tmp_path: Path) -> None:
    # A master grown to 1 TB (sparse): Payload-Oxum and export.json's declared size show it
    # is wrong at once, so the verifier does not spend hours hashing a terabyte of zeros.
    m = _master(pkg)
    declared = m.stat().st_size
    with m.open("r+b") as f:
        f.truncate(1 << 40)
    start = time.monotonic()
    run = run_verify(world, pkg, tmp_path / "run", timeout=30)
    took = time.monotonic() - start
    print(f"verified in {took:.1f} s")
    assert_refused(run, "Payload-Oxum",
                   f"data/master/{m.name} is 1,099,511,627,776 bytes, more than the "
                   f"{declared:,} bytes declared for it", "not hashed")


@pytest.mark.parametrize("io", ["strict", "utf8-mode", "locale"])
def test_verify_prints_a_name_that_is_not_utf8_safely(world: World, pkg: Path, tmp_path: Path,
                                                      io: str) -> None:
    env = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONUTF8": "1" if io == "utf8-mode"
           else "0"}
    if io == "strict":  # a strict UTF-8 terminal (what a full UTF-8 locale gives)
        env["PYTHONIOENCODING"] = "utf-8:strict"
    stills = os.fsencode(pkg / "data/stills")
    for raw in (b"\xff\xfe.png", b"evil\x1b[2J\n.png"):
        with open(stills + b"/" + raw, "wb") as f:
            f.write(b"not a still")
    run = run_verify(world, pkg, tmp_path / "run", timeout=60, env=env)
    run.stdout.decode("utf-8")  # strict: the report itself is valid UTF-8
    assert b"\x1b" not in run.stdout
    assert_refused(run, r"data/stills/\xff\xfe.png", r"data/stills/evil\x1b[2J\n.png",
                   "not valid UTF-8")
    as_json = run_verify(world, pkg, tmp_path / "json", "--json", timeout=60, env=env)
    assert as_json.returncode == 1 and b"Traceback" not in as_json.stderr
    files = json.loads(as_json.stdout)["files"]
    assert r"data/stills/\xff\xfe.png" in files, files


def test_verify_reads_a_million_line_manifest_in_bounded_memory(world: World, pkg: Path,
                                                                tmp_path: Path) -> None:
    # 1,000,000 entries for files that are not there (84 MB), written in blocks.
    with (pkg / "manifest-sha256.txt").open("a") as f:
        for block in range(100):
            f.write("".join(f"{'ab' * 32}  data/master/x{block * 10000 + i:07d}.mov\n"
                            for i in range(10000)))
    run = run_verify(world, pkg, tmp_path / "run", "--json", timeout=170)
    assert run.returncode == 1 and b"Traceback" not in run.stderr
    report = json.loads(run.stdout)
    missing = [c for c in report["failures"]
               if "listed in manifest-sha256.txt but missing" in c["message"]]
    assert "data/master/x0000000.mov" in {c["file"] for c in missing}
    assert any("999,900 more" in c["message"] for c in report["failures"]), missing[-3:]
    print(f"peak RSS of vms verify over a 1,000,000-line manifest: {run.peak_mb:.0f} MB")
    assert run.peak_mb < 200


# -- pending, then stamped --------------------------------------------------------------------
def test_offline_export_is_pending_and_vms_seal_completes_it(world: World,
                                                             tmp_path: Path) -> None:
    svc = EvidenceService(world.profile, world.officer, world.index)
    res = svc.export(cameras=[world.ids["cam1"]], start=world.start, end=world.end,
                     exhibit="P/1", out_dir=tmp_path, tsa_url="http://127.0.0.1:9/none")
    assert res.state == "pending-timestamp" and res.warnings
    facts = json.loads((res.path / "data/metadata/export.json").read_text())
    assert facts["seal"]["state"] == "pending-timestamp"
    r = world.check(res.path)
    assert r.status == PENDING, r.text()
    assert "self-asserted" in r.text()
    from vms.evidence.package import add_timestamp
    add_timestamp(res.path, world.tsa.url)
    r = world.check(res.path)
    assert r.status == VALID, r.text()


def test_an_export_across_the_uk_clock_change_shows_local_times_and_declares_it(
        world: World, tmp_path: Path) -> None:
    """Footage recorded across 01:00 UTC on 25 October 2026, when 01:59:59 BST became
    01:00:00 GMT. The index is on the recorder's own clock, so the recorder is run now and
    what it recorded is placed on that night, as a recorder whose host clock read then
    would have timed it: the thing under test is the export, not the recorder's clock."""
    change = dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC)
    cam = world.ids["cam1"]
    before = {s.id for s in world.index.segments(cam)}
    admin_rec = Recording(world.profile, world.officer_admin, segment_s=4)
    try:
        admin_rec.start([cam])
        wait_for(lambda: len([s for s in world.index.segments(cam, CLOSED)
                              if s.id not in before]) >= 6, 90, "24 s of footage")
    finally:
        admin_rec.stop()
    ours = [s for s in world.index.segments(cam) if s.id not in before and s.state == CLOSED
            and s.start_utc and s.end_utc]
    shift = (change - dt.timedelta(seconds=12)) - _t(ours[0].start_utc or "")
    for s in ours:
        world.index.update_segment(s.id, start_utc=utc((_t(s.start_utc or "") + shift).timestamp()),
                                   end_utc=utc((_t(s.end_utc or "") + shift).timestamp()))
    assert any(change < _t(s.end_utc or "") - dt.timedelta(seconds=12) for s in ours)
    svc = EvidenceService(world.profile, world.officer, world.index)
    res = svc.export(cameras=[cam], start=change - dt.timedelta(seconds=8),
                     end=change + dt.timedelta(seconds=8), exhibit="DST/1", out_dir=tmp_path,
                     tsa_url=world.tsa.url)
    r = world.check(res.path)
    assert r.status == VALID, r.text()
    assert any("clock change" in w for w in r.warnings), r.warnings
    facts = json.loads((res.path / "data/metadata/export.json").read_text())
    changes = facts["time"]["dst_changes"]
    assert len(changes) == 1 and changes[0]["at_utc"] == "2026-10-25T01:00:00.000Z"
    assert changes[0]["from"] == "BST" and changes[0]["to"] == "GMT"
    statement = (res.path / "data/statement/continuity_statement.txt").read_text()
    print(statement)
    assert "2026-10-25 01:59:52.000 BST" in statement  # the start, before the change
    assert "2026-10-25 01:00:08.000 GMT" in statement  # the end, after it
    assert "clocks went back" in statement
    html = (res.path / "data/statement/report.html").read_text()
    assert "BST" in html and "GMT" in html
    # the footage itself is timed across the change: frames before and after 01:00 UTC
    csvs = list((res.path / "data/metadata").glob("frames_*.csv"))
    times = [line.split(",")[4] for f in csvs for line in f.read_text().splitlines()[1:]]
    assert min(times) < "2026-10-25T01:00:00" < max(times), (min(times), max(times))


# -- the desktop: export wizard and verify window ---------------------------------------------
def _shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    """Saved when VMS_SCREENSHOT_DIR is set (docs/screenshots is made this way, under Xvfb)."""
    folder = os.environ.get("VMS_SCREENSHOT_DIR")
    if folder:
        widget.grab().save(str(Path(folder) / name))


def test_the_export_wizard_exports_a_valid_package_and_cancel_leaves_nothing(
        world: World, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QWizard

    from ui.evidence.export_wizard import ExportWizard

    service = EvidenceService(world.profile, world.officer, world.index)
    cams = [(i, n) for n, i in world.ids.items()]

    def wizard(out: Path) -> ExportWizard:
        wiz = ExportWizard(service, cams, [world.ids["cam1"]], world.start, world.end, out,
                           world.tsa.url)
        qtbot.addWidget(wiz)
        wiz.show()
        return wiz

    wiz = wizard(tmp_path / "a")
    next_button = wiz.button(QWizard.WizardButton.NextButton)
    assert not next_button.isEnabled()  # no exhibit reference yet
    wiz.what.exhibit.setText("GUI/1")
    assert "GMT" in wiz.what.start_note.text() or "BST" in wiz.what.start_note.text()
    assert next_button.isEnabled()
    _shot(wiz, "evidence-export-wizard.png")
    wiz.next()
    assert not next_button.isEnabled()  # purpose and legal basis are required
    wiz.why.purpose.setPlainText("Investigation of criminal damage")
    assert not next_button.isEnabled()
    wiz.why.basis.setCurrentIndex(1)
    wiz.why.officer.setText("PC 42 Jones")
    assert next_button.isEnabled()
    _shot(wiz, "evidence-export-request.png")
    wiz.next()
    wiz.button(QWizard.WizardButton.CommitButton).click()
    qtbot.waitUntil(lambda: wiz.finished_export, timeout=120_000)
    assert wiz.error is None, wiz.error
    assert wiz.result_ is not None and wiz.result_.state == "sealed"
    assert "Exported" in wiz.run_page.stage.text()
    _shot(wiz, "evidence-export-done.png")
    r = world.check(wiz.result_.path)
    assert r.status == VALID, r.text()
    facts = json.loads((wiz.result_.path / "data/metadata/export.json").read_text())
    assert facts["request"]["purpose"] == "Investigation of criminal damage"
    assert facts["request"]["requesting_officer"] == "PC 42 Jones"

    # Cancel: nothing half-written is left behind.
    out = tmp_path / "b"
    wiz = wizard(out)
    wiz.what.exhibit.setText("GUI/2")
    wiz.next()
    wiz.why.purpose.setPlainText("x")
    wiz.why.basis.setCurrentIndex(1)
    wiz.next()
    wiz.button(QWizard.WizardButton.CommitButton).click()
    wiz.run_page.cancel.click()
    qtbot.waitUntil(lambda: wiz.finished_export, timeout=120_000)
    assert "Cancelled" in wiz.run_page.stage.text(), wiz.run_page.stage.text()
    assert not out.exists() or list(out.iterdir()) == []  # no package, no .partial


def test_the_verify_window_reports_valid_and_lists_every_problem(
        world: World, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ui.evidence.verify_window import VerifyWindow

    (tmp_path / "tsa.pem").write_bytes(world.tsa.root_pem)
    win = VerifyWindow(world.keys.folder / "root.crt", tmp_path / "tsa.pem")
    qtbot.addWidget(win)
    win.resize(1000, 760)
    win.show()
    with qtbot.waitSignal(win.verified, timeout=120_000):
        win.open(world.base)
    assert win.last is not None and win.last.status == VALID
    assert win.status.text().startswith("VALID")
    assert "Trusted time" in win.report.toPlainText()
    _shot(win, "evidence-verify-valid.png")
    bad = shutil.copytree(world.base, tmp_path / "bad")
    m = _master(bad)
    m.write_bytes(m.read_bytes()[:-1000])
    (bad / "notes.txt").write_text("added")
    with qtbot.waitSignal(win.verified, timeout=120_000):
        win.open(bad)
    assert win.last is not None and win.last.status == INVALID
    text = win.report.toPlainText()
    assert "SHA-256 differs" in text and "notes.txt" in text, text
    assert win.status.text().startswith("INVALID")
    _shot(win, "evidence-verify-invalid.png")


# -- from an incident ---------------------------------------------------------------------------
def test_an_incident_exports_its_locked_footage_from_the_cli_and_the_wizard(
        world: World, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ui.evidence.export_wizard import ExportWizard
    from vms.events.engine import Event
    from vms.events.store import EventStore
    from vms.events.topics import DomainEvent
    from vms.incidents.queue import IncidentQueue

    admin = UserAdmin(world.profile.access, world.officer_admin)
    if world.profile.accounts.find("op1") is None:
        admin.add("op1", Role.OPERATOR, "operator-password-1")
    op = world.profile.access.sign_in("op1", "operator-password-1", via="cli")
    store = EventStore.for_profile(world.profile.data_dir)
    queue = IncidentQueue(world.profile, store)
    cam1, cam2 = world.ids["cam1"], world.ids["cam2"]
    ev = DomainEvent("intrusion", "Field1", True, False, False, None, "t")
    inc = queue.on_event(Event(1, cam1, "cam1", "test site", ev, 0.0))
    assert inc is not None
    queue.accept(op, inc.id)
    queue.escalate(op, inc.id, "CAD 4471/22NOV")
    # What accepting it locked (the recorder does this from the pre-roll): a window inside the
    # recordings, on the alarm camera and the camera linked to it.
    a = world.start + dt.timedelta(seconds=2)
    b = world.end - dt.timedelta(seconds=2)
    for cid, name in ((cam1, "cam1"), (cam2, "cam2")):
        world.index.lock(cid, name, a.isoformat(), b.isoformat(), f"incident {inc.id}", "op1",
                         inc.id)
    # One that locked nothing: its device from 30 s before it was raised.
    ev2 = DomainEvent("motion", "VideoSource1", True, False, False, None, "t")
    inc2 = queue.on_event(Event(2, cam2, "cam2", "test site", ev2, 0.0))
    assert inc2 is not None

    service = EvidenceService(world.profile, world.officer, world.index)
    scopes = {s.incident.id: s for s in service.incidents(store)}
    scope = scopes[inc.id]
    assert scope.from_locks and sorted(scope.cameras) == sorted([(cam1, "cam1"), (cam2, "cam2")])
    assert (scope.start, scope.end) == (a, b)
    other = scopes[inc2.id]
    assert not other.from_locks and other.cameras == [(cam2, "cam2")]
    raised = dt.datetime.fromisoformat(inc2.raised_utc.replace("Z", "+00:00"))
    assert other.start == raised - dt.timedelta(seconds=30)
    # An operator may not export, so sees no incidents to export.
    assert EvidenceService(world.profile, op, world.index).incidents(store) == []

    # The CLI: --incident gives the cameras, the range, the label and the police reference.
    env = {**os.environ, "VMS_USER": OFFICER, "VMS_PASSWORD": OFFICER_PW}
    res = subprocess.run(vms_cmd("--data-dir", str(world.path), "export", "--incident",
                                 str(inc.id), "--exhibit", "INC/1", "--out", str(tmp_path / "c"),
                                 "--tsa", world.tsa.url, "--json"),
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    package = Path(json.loads(res.stdout)["package"])
    assert world.check(package).status == VALID
    facts = json.loads((package / "data/metadata/export.json").read_text())
    assert {c["id"] for c in facts["cameras"]} == {cam1, cam2}
    assert facts["request"]["crime_reference"] == "CAD 4471/22NOV"
    assert f"Incident {inc.id}" in facts["exhibit"]["label"]
    audit = [e for e in world.profile.audit.entries() if e.action == "evidence.export"]
    assert json.loads(audit[-1].detail)["incident"] == inc.id
    bad = subprocess.run(vms_cmd("--data-dir", str(world.path), "export", "--incident", "99999",
                                 "--exhibit", "X", "--out", str(tmp_path / "d")),
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert bad.returncode != 0 and "no incident 99999" in bad.stderr, bad.stderr

    # The wizard: choosing the incident fills in what to export and the reference.
    cams = [(i, n) for n, i in world.ids.items()]
    wiz = ExportWizard(service, cams, [], world.start - dt.timedelta(hours=1), world.end,
                       tmp_path / "w", world.tsa.url, incidents=service.incidents(store))
    qtbot.addWidget(wiz)
    wiz.show()
    assert wiz.choose_incident(inc.id)
    assert sorted(wiz.what.chosen()) == sorted([cam1, cam2])
    got_a, got_b = wiz.what.range()
    assert abs((got_a - a).total_seconds()) < 1 and abs((got_b - b).total_seconds()) <= 1
    assert wiz.why.crime.text() == "CAD 4471/22NOV"
    assert wiz.what.label.text().startswith(f"Incident {inc.id}")
    wiz.what.exhibit.setText("INC/2")
    _shot(wiz, "evidence-export-incident.png")
    store.close()


def test_a_pkcs12_that_cannot_sign_evidence_is_refused_at_import(tmp_path: Path) -> None:
    """The import took any key and certificate: a TLS server's certificate, an expired one or
    a CA's was accepted, and every package sealed with it failed only when verified."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from vms.credentials import open_store
    from vms.errors import ConfigError
    from vms.evidence.ca import make_root

    root_key, root = make_root("Test Council", "Test Council evidence CA")
    now = dt.datetime.now(dt.UTC)

    def p12(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bytes:
        return pkcs12.serialize_key_and_certificates(b"signer", key, cert, [root],
                                                     BestAvailableEncryption(b"pw"))

    def cert(key: ec.EllipticCurvePrivateKey, eku: list[x509.ObjectIdentifier],
             start: dt.datetime, days: int) -> x509.Certificate:
        return (x509.CertificateBuilder().subject_name(root.subject).issuer_name(root.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
                .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
                .sign(root_key, hashes.SHA256()))

    (tmp_path / "profile").mkdir()
    keys = EvidenceKeys(tmp_path / "profile", open_store(tmp_path / "profile"))
    web = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConfigError, match="it is for TLS web servers, not for signing"):
        keys.import_pkcs12(p12(web, cert(web, [ExtendedKeyUsageOID.SERVER_AUTH], now, 30)),
                           b"pw")
    old = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConfigError, match=r"valid from .* not today"):
        keys.import_pkcs12(p12(old, cert(old, [ExtendedKeyUsageOID.EMAIL_PROTECTION],
                                          now - dt.timedelta(days=400), 365)), b"pw")
    mail = ec.generate_private_key(ec.SECP256R1())  # the verifier demands document signing
    with pytest.raises(ConfigError, match="it is for e-mail protection, not for signing"):
        keys.import_pkcs12(p12(mail, cert(mail, [ExtendedKeyUsageOID.EMAIL_PROTECTION], now,
                                          30)), b"pw")
    with pytest.raises(ConfigError, match="certificate authority"):
        keys.import_pkcs12(p12(root_key, root), b"pw")
    assert not (tmp_path / "profile" / "evidence" / "signer.crt").exists()  # nothing kept
    good_key, good = issue_signer(root_key, root, "Test Council", "ws1")
    assert keys.import_pkcs12(p12(good_key, good), b"pw").cert == good


def test_a_help_point_call_exported_as_evidence_is_counted_in_the_programme_report(
        world: World, tmp_path: Path) -> None:
    """Issue 27: "evidence exported" in the Help Point report is read from the audit trail's
    exports that named the call; recomputed here from the audit rows themselves."""
    from vms.events.engine import Event
    from vms.events.store import EventStore
    from vms.events.topics import DomainEvent
    from vms.incidents.queue import IncidentQueue
    from vms.loans.loans import today_london
    from vms.reports import helppoints
    from vms.reports.figures import Period

    admin = UserAdmin(world.profile.access, world.officer_admin)
    if world.profile.accounts.find("op1") is None:
        admin.add("op1", Role.OPERATOR, "operator-password-1")
    op = world.profile.access.sign_in("op1", "operator-password-1", via="cli")
    store = EventStore.for_profile(world.profile.data_dir)
    queue = IncidentQueue(world.profile, store)
    cam1 = world.ids["cam1"]
    press = DomainEvent("help_button", "DI_0", True, False, False, None, "t")
    called = queue.on_event(Event(11, cam1, "cam1", "test site", press, 0.0))
    quiet = queue.on_event(Event(12, world.ids["cam2"], "cam2", "test site", press, 0.0))
    assert called is not None and quiet is not None
    for inc in (called, quiet):
        queue.accept(op, inc.id)
        queue.close(op, inc.id, "assisted")
    a, b = world.start + dt.timedelta(seconds=2), world.end - dt.timedelta(seconds=2)
    world.index.lock(cam1, "cam1", a.isoformat(), b.isoformat(), f"incident {called.id}", "op1",
                     called.id)
    env = {**os.environ, "VMS_USER": OFFICER, "VMS_PASSWORD": OFFICER_PW}
    res = subprocess.run(vms_cmd("--data-dir", str(world.path), "export", "--incident",
                                 str(called.id), "--exhibit", "HP/1", "--out",
                                 str(tmp_path / "hp"), "--tsa", world.tsa.url, "--json"),
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr

    today = today_london()
    rep = helppoints.report(world.profile, world.officer_admin, store,
                            Period(today - dt.timedelta(days=1), today + dt.timedelta(days=1)))
    exported = {json.loads(e.detail).get("incident") for e in world.profile.audit.entries()
                if e.action == "evidence.export" and e.outcome == "ok"}
    calls = {c["id"]: c for c in rep["calls"]}
    assert {called.id, quiet.id} <= set(calls)
    for iid, c in calls.items():
        assert (c["evidence_exports"] > 0) == (iid in exported)
    assert calls[called.id]["evidence_exports"] == 1 and calls[quiet.id]["evidence_exports"] == 0
    assert rep["overall"]["evidence_exported"]["count"] == sum(i in exported for i in calls)
    store.close()
