"""``vms verify``: the package checked against the profile, failing closed.

Every step runs and every failure is reported, not only the first. Trust comes only from
roots configured outside the package; a root found inside it is itself a failure. The
signature and the time-stamp are checked with pyHanko's CMS validation and its certificate
path validation (at the trusted time), not by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as ax509

from vms.evidence import bag
from vms.evidence.documents import dst_changes, london
from vms.evidence.package import GAP_TOLERANCE_S, P7S, TSR
from vms.evidence.utc import parse

VALID, INVALID, PENDING = "VALID", "INVALID", "VALID-PENDING-TIMESTAMP"
TAG_FILES = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
             "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"}
BEFORE_START = dt.timedelta(minutes=10)  # clocks: the workstation may run a little fast
AFTER_COMPLETION = dt.timedelta(hours=1)  # the TSA is asked as soon as the export completes
LARGE_CLOCK_OFFSET_MS = 2000
DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"


@dataclass
class Check:
    step: str
    ok: bool
    message: str
    file: str | None = None


@dataclass
class Report:
    package: str
    status: str = INVALID
    exhibit: str | None = None
    signer: str | None = None
    signer_sha256: str | None = None
    tsa: str | None = None
    tsa_sha256: str | None = None
    trusted_time: str | None = None
    trusted_time_london: str | None = None
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> ok | failure

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["failures"] = [asdict(c) for c in self.failures]
        return d

    def text(self) -> str:
        lines = [f"{self.status}: {self.package}"]
        if self.exhibit:
            lines.append(f"Exhibit: {self.exhibit}")
        if self.signer:
            lines.append(f"Signed by: {self.signer} (certificate SHA-256 {self.signer_sha256})")
        if self.trusted_time:
            lines.append(f"Trusted time: {self.trusted_time} ({self.trusted_time_london}) "
                         f"from {self.tsa}")
        else:
            lines.append("Trusted time: none (time self-asserted only)")
        for c in self.failures:
            lines.append(f"FAIL [{c.step}] {c.message}" + (f" ({c.file})" if c.file else ""))
        for w in self.warnings:
            lines.append(f"warning: {w}")
        passed = sum(1 for c in self.checks if c.ok)
        lines.append(f"{passed} check(s) passed, {len(self.failures)} failed; "
                     f"{len(self.files)} file(s) checked.")
        return "\n".join(lines)


class Verifier:
    def __init__(self, package: Path, trust_roots: list[bytes], tsa_roots: list[bytes]) -> None:
        self.root = package
        self.trust_roots = trust_roots
        self.tsa_roots = tsa_roots
        self.r = Report(str(package))
        self.facts: dict[str, Any] | None = None
        self.sha256: dict[str, str] = {}

    def ok(self, step: str, message: str, file: str | None = None) -> None:
        self.r.checks.append(Check(step, True, message, file))

    def fail(self, step: str, message: str, file: str | None = None) -> None:
        self.r.checks.append(Check(step, False, message, file))
        if file:
            self.r.files[file] = message

    # -- 1. structure ---------------------------------------------------------------------
    def structure(self) -> list[str]:
        """All regular files, relative, POSIX; symlinks and oddities are failures."""
        if not self.root.is_dir():
            self.fail("structure", "not a folder")
            return []
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                rel = full.relative_to(self.root).as_posix()
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    self.fail("structure", "a symbolic link is not allowed in a package", rel)
                elif name in filenames and not stat.S_ISREG(st.st_mode):
                    self.fail("structure", "not a regular file", rel)
                elif name in filenames:
                    found.append(rel)
        lowered: dict[str, str] = {}
        for rel in found:
            other = lowered.setdefault(rel.casefold(), rel)
            if other != rel:
                self.fail("structure", f"names collide on a case-insensitive file system: "
                                       f"{other} and {rel}", rel)
        try:
            text = (self.root / "bagit.txt").read_text("utf-8")
            info = bag.parse_bag_info(text)
            if info.get("BagIt-Version") != "1.0" or \
                    info.get("Tag-File-Character-Encoding", "").upper() != "UTF-8":
                self.fail("structure", "bagit.txt does not declare BagIt 1.0 in UTF-8",
                          "bagit.txt")
            else:
                self.ok("structure", "BagIt 1.0")
        except (OSError, UnicodeDecodeError):
            self.fail("structure", "bagit.txt is missing or unreadable", "bagit.txt")
        return found

    @staticmethod
    def bad_path(name: str) -> str | None:
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            return "an absolute path"
        if "\\" in name:
            return "a backslash in a path"
        if ".." in PurePosixPath(name).parts:
            return "a path that climbs out of the package (..)"
        return None

    # -- 2. manifests -----------------------------------------------------------------------
    def manifests(self, found: list[str]) -> None:
        top = [f for f in found if "/" not in f]
        for f in top:
            if f.startswith(("manifest-", "tagmanifest-")):
                alg = f.split("-", 1)[1].rsplit(".", 1)[0]
                if alg not in bag.ALGORITHMS:
                    self.fail("integrity", f"manifest algorithm {alg} is not allowed (only "
                                           "SHA-256 and SHA-512): a downgrade is refused", f)
        if "manifest-sha256.txt" not in top or "tagmanifest-sha256.txt" not in top:
            self.fail("integrity", "the SHA-256 manifests are missing (they are what the "
                                   "signature covers)")
        payload = {f for f in found if f.startswith("data/")}
        for alg in bag.ALGORITHMS:
            name = f"manifest-{alg}.txt"
            if name not in top:
                if alg == "sha512":
                    self.r.warnings.append("no SHA-512 manifest")
                continue
            entries = self._read_manifest(name)
            for rel in sorted(set(entries) - payload):
                self.fail("integrity", f"listed in {name} but missing", rel)
            for rel in sorted(payload - set(entries)):
                self.fail("closed-world", f"a file not listed in {name}", rel)
            for rel, digest in sorted(entries.items()):
                if rel not in payload:
                    continue
                got = bag.hash_file(self.root / rel, [alg]).digests[alg]
                if got != digest:
                    self.fail("integrity", f"{_pretty(alg)} differs from {name}", rel)
                else:
                    self.r.files.setdefault(rel, "ok")
                    if alg == "sha256":
                        self.sha256[rel] = got
        self._oxum(payload)
        for alg in bag.ALGORITHMS:
            name = f"tagmanifest-{alg}.txt"
            if name not in top:
                continue
            entries = self._read_manifest(name)
            tags = {f for f in top if f in TAG_FILES and not f.startswith("tagmanifest-")}
            for rel in sorted(tags - set(entries)):
                self.fail("integrity", f"tag file not covered by {name}", rel)
            for rel, digest in sorted(entries.items()):
                if rel not in found:
                    self.fail("integrity", f"listed in {name} but missing", rel)
                elif rel.startswith("tagmanifest-") or rel.startswith("seal/"):
                    self.fail("integrity", f"{name} lists a file it cannot cover", rel)
                elif bag.hash_file(self.root / rel, [alg]).digests[alg] != digest:
                    self.fail("integrity", f"{_pretty(alg)} differs from {name}", rel)
        if not any(c.step == "integrity" and not c.ok for c in self.r.checks):
            self.ok("integrity", f"{len(payload)} payload file(s) and the tag files match "
                                 "their SHA-256 and SHA-512")

    def _read_manifest(self, name: str) -> dict[str, str]:
        try:
            text = (self.root / name).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            self.fail("integrity", "unreadable manifest", name)
            return {}
        entries, bad = bag.parse_manifest(text)
        for b in bad:
            self.fail("integrity", f"unreadable manifest line {b}", name)
        for rel in list(entries):
            why = self.bad_path(rel)
            if why:
                self.fail("structure", f"{name} names {why}", rel)
                del entries[rel]
        return entries

    def _oxum(self, payload: set[str]) -> None:
        try:
            info = bag.parse_bag_info((self.root / "bag-info.txt").read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            self.fail("integrity", "bag-info.txt is missing or unreadable", "bag-info.txt")
            return
        if info.get("Evidence-Package-Profile") != "1":
            self.fail("structure", "bag-info.txt does not declare Evidence-Package-Profile 1",
                      "bag-info.txt")
        size = sum((self.root / p).stat().st_size for p in payload)
        if info.get("Payload-Oxum") != f"{size}.{len(payload)}":
            self.fail("integrity", f"Payload-Oxum {info.get('Payload-Oxum')} does not match "
                                   f"the payload ({size}.{len(payload)})", "bag-info.txt")

    # -- 3. closed world ---------------------------------------------------------------------
    def closed_world(self, found: list[str]) -> None:
        bad = False
        for rel in found:
            if rel.startswith("data/"):
                continue
            if "/" not in rel:
                if rel not in TAG_FILES:
                    self.fail("closed-world", "a file the profile does not allow", rel)
                    bad = True
                continue
            parts = rel.split("/")
            allowed = (rel in (f"seal/{P7S}", f"seal/{TSR}") or
                       (len(parts) == 3 and parts[0] == "seal" and parts[1] in ("chain", "tsa")
                        and parts[2].endswith((".crt", ".pem"))))
            if not allowed:
                self.fail("closed-world", "a file outside data/ that the profile does not "
                                          "allow", rel)
                bad = True
        if not bad:
            self.ok("closed-world", "nothing but payload, tag and seal files")

    # -- 4/5. seal ------------------------------------------------------------------------------
    def _certs_in(self, folder: str) -> list[ax509.Certificate]:
        out: list[ax509.Certificate] = []
        d = self.root / "seal" / folder
        if not d.is_dir():
            return out
        from cryptography import x509 as cx509
        from cryptography.hazmat.primitives.serialization import Encoding
        for f in sorted(d.iterdir()):
            try:
                for c in cx509.load_pem_x509_certificates(f.read_bytes()):
                    out.append(ax509.Certificate.load(c.public_bytes(Encoding.DER)))
            except (ValueError, OSError):
                self.fail("signature", "an unreadable certificate file",
                          f.relative_to(self.root).as_posix())
        return out

    def no_roots_inside(self) -> None:
        shipped = []
        for folder in ("chain", "tsa"):
            for c in self._certs_in(folder):
                if c.self_signed in ("maybe", "yes"):
                    shipped.append((folder, c))
        for folder, c in shipped:
            self.fail("trust", f"a root certificate is shipped inside the package "
                               f"(seal/{folder}: {c.subject.human_friendly}); roots are "
                               "configured outside a package and never taken from it")

    def seal(self) -> tuple[dt.datetime | None, bool]:
        """(trusted time, whether a token is present)."""
        p7s_path, tsr_path = self.root / "seal" / P7S, self.root / "seal" / TSR
        if not p7s_path.exists():
            self.fail("signature", "the package is not signed (seal/ is missing its signature)",
                      f"seal/{P7S}")
            return None, tsr_path.exists()
        p7s = p7s_path.read_bytes()
        when: dt.datetime | None = None
        if tsr_path.exists():
            when = self._timestamp(p7s, tsr_path.read_bytes())
        self._signature(p7s, when)
        return when, tsr_path.exists()

    def _vc(self, roots: list[bytes], others: list[ax509.Certificate],
            moment: dt.datetime | None) -> Any:
        from pyhanko_certvalidator import ValidationContext
        return ValidationContext(trust_roots=[_load_cert(r) for r in roots], other_certs=others,
                                 moment=moment, allow_fetching=False,
                                 revocation_mode="soft-fail")

    def _timestamp(self, p7s: bytes, tsr: bytes) -> dt.datetime | None:
        from pyhanko.sign.validation.errors import SignatureValidationError
        from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
        try:
            resp = tsp.TimeStampResp.load(tsr)
            token = resp["time_stamp_token"]
            signed = token["content"]
            info = signed["encap_content_info"]["content"].parsed
            gen_time: dt.datetime = info["gen_time"].native
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.fail("timestamp", f"the time-stamp cannot be read ({exc})", f"seal/{TSR}")
            return None
        if not self.tsa_roots:
            self.fail("timestamp", "no TSA root is configured (--tsa-root), so the time-stamp "
                                   "cannot be trusted")
            return None
        imprint = hashlib.sha256(p7s).digest()
        mi = info["message_imprint"]
        if mi["hash_algorithm"]["algorithm"].native != "sha256" or \
                mi["hashed_message"].native != imprint:
            self.fail("timestamp", "the time-stamp is not over this package's signature "
                                   "(imprint differs)", f"seal/{TSR}")
            return None
        try:
            status = asyncio.run(validate_tst_signed_data(
                signed, self._vc(self.tsa_roots, self._certs_in("tsa"), gen_time),
                lambda _alg: imprint))
        except (SignatureValidationError, ValueError) as exc:
            self.fail("timestamp", f"the time-stamp's signature is not valid ({exc})",
                      f"seal/{TSR}")
            return None
        if not (status.get("intact") and status.get("valid")):
            self.fail("timestamp", "the time-stamp's signature is not valid", f"seal/{TSR}")
            return None
        if status.get("trust_problem_indic") is not None or status.get("validation_path") is None:
            self.fail("timestamp", "the time-stamp authority does not chain to a configured "
                                   "TSA root with the timeStamping usage", f"seal/{TSR}")
            return None
        cert = status.get("signing_cert")
        if cert is not None:
            self.r.tsa = cert.subject.human_friendly
            self.r.tsa_sha256 = hashlib.sha256(cert.dump()).hexdigest()
        self.ok("timestamp", f"RFC 3161 time-stamp from a trusted TSA at {gen_time.isoformat()}")
        self.r.trusted_time = gen_time.isoformat()
        self.r.trusted_time_london = london(gen_time.isoformat())
        return gen_time

    def _signature(self, p7s: bytes, when: dt.datetime | None) -> None:
        from pyhanko.sign.validation.errors import SignatureValidationError
        from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
        from pyhanko.sign.validation.settings import KeyUsageConstraints
        content = (self.root / "tagmanifest-sha256.txt").read_bytes() \
            if (self.root / "tagmanifest-sha256.txt").exists() else b""
        try:
            info = cms.ContentInfo.load(p7s)
            sd = info["content"]
            signers = list(sd["signer_infos"])
        except (ValueError, KeyError, TypeError) as exc:
            self.fail("signature", f"the signature cannot be read ({exc})", f"seal/{P7S}")
            return
        if info["content_type"].native != "signed_data" or len(signers) != 1:
            self.fail("signature", f"the signature must have exactly one signer "
                                   f"(it has {len(signers)})", f"seal/{P7S}")
            return
        if sd["encap_content_info"]["content"].native is not None:
            self.fail("signature", "the signature is not detached", f"seal/{P7S}")
        moment = when
        if moment is None:
            moment = _signing_time(signers[0]) or dt.datetime.now(dt.UTC)
        if not self.trust_roots:
            self.fail("signature", "no evidence root is configured (--trust-root), so the "
                                   "signer cannot be trusted")
        kus = KeyUsageConstraints(key_usage={"digital_signature"},
                                  extd_key_usage={DOCUMENT_SIGNING},
                                  explicit_extd_key_usage_required=True)
        try:
            status = asyncio.run(async_validate_detached_cms(
                content, sd, signer_validation_context=self._vc(
                    self.trust_roots, self._certs_in("chain"), moment),
                key_usage_settings=kus))
        except (SignatureValidationError, ValueError) as exc:
            self.fail("signature", f"the signature is not valid ({exc})", f"seal/{P7S}")
            return
        cert = status.signing_cert
        self.r.signer = cert.subject.human_friendly
        self.r.signer_sha256 = hashlib.sha256(cert.dump()).hexdigest()
        if not status.intact:
            self.fail("signature", "the signature does not match tagmanifest-sha256.txt "
                                   "(messageDigest differs)", "tagmanifest-sha256.txt")
        elif not status.valid:
            self.fail("signature", "the signature is not valid", f"seal/{P7S}")
        elif not status.trusted and self.trust_roots:
            why = _why_untrusted(status)
            at = "the trusted time" if when else "its self-asserted signing time"
            self.fail("signature", f"the signer's certificate does not chain to a configured "
                                   f"evidence root, or was not valid at {at} "
                                   f"({moment.isoformat()}): {why}", f"seal/{P7S}")
        elif status.trusted:
            self.ok("signature", f"signed by {self.r.signer}, trusted at {moment.isoformat()}")

    # -- 6. semantics ----------------------------------------------------------------------------
    def semantics(self, when: dt.datetime | None, has_token: bool) -> None:
        try:
            facts = json.loads((self.root / "data/metadata/export.json").read_text("utf-8"))
            self.facts = facts
            self.r.exhibit = facts["exhibit"]["reference"]
            exp = facts["export"]
            start, end = parse(exp["from_utc"]), parse(exp["to_utc"])
            started, completed = parse(exp["started_utc"]), parse(exp["completed_utc"])
            declared = facts["seal"]["state"]
            segments, gaps = facts["segments"], facts["gaps"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.fail("semantics", f"export.json is missing or unreadable ({exc})",
                      "data/metadata/export.json")
            return
        if declared == "sealed" and not has_token:
            self.fail("semantics", "export.json declares the package sealed, but it carries no "
                                   "time-stamp (a pending package presented as sealed)",
                      f"seal/{TSR}")
        if when is not None:
            late_ok = declared == "pending-timestamp"
            if when < started - BEFORE_START:
                self.fail("semantics", f"the trusted time {when.isoformat()} is before the "
                                       f"declared export start {exp['started_utc']}")
            elif when > completed + AFTER_COMPLETION and not late_ok:
                self.fail("semantics", f"the trusted time {when.isoformat()} is far after the "
                                       f"declared export completion {exp['completed_utc']}")
            elif when > completed + AFTER_COMPLETION:
                self.r.warnings.append(f"time-stamped {when - completed} after the export "
                                       "(declared pending at export)")
            else:
                self.ok("semantics", "the trusted time agrees with the declared export time")
        masters = {f for f in self.sha256 if f.startswith("data/master/")}
        declared_files = set()
        by_cam: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = {}
        bad = False
        for s in segments:
            f = s.get("file", "")
            declared_files.add(f)
            got = self.sha256.get(f)
            if got is None:
                if self.bad_path(f) or not (self.root / f).is_file():
                    self.fail("semantics", "a declared segment is not in the payload", f)
                    bad = True  # (a present file that failed its hash is reported above)
            elif got != s.get("source_sha256"):
                self.fail("semantics", "the master differs from the hash its recorder took "
                                       f"({s.get('source_sha256')})", f)
                bad = True
            try:
                a, b = parse(s["start_utc"]), parse(s["end_utc"])
            except (KeyError, ValueError, TypeError):
                self.fail("semantics", "a segment without readable times", f)
                bad = True
                continue
            if b < start or a > end or b < a:
                self.fail("semantics", f"a segment outside the exported window "
                                       f"({s['start_utc']} - {s['end_utc']})", f)
                bad = True
            by_cam.setdefault(s.get("camera", "?"), []).append((a, b, f))
        for f in sorted(masters - declared_files):
            self.fail("semantics", "a master file not declared in export.json", f)
            bad = True
        for cam, spans in by_cam.items():
            if spans != sorted(spans):
                self.fail("semantics", f"{cam}: segments are not in time order")
                bad = True
            spans = sorted(spans)
            for (_a1, b1, f1), (a2, _b2, f2) in itertools.pairwise(spans):
                if a2 < b1:
                    self.fail("semantics", f"{cam}: {f1} and {f2} overlap in time", f2)
                    bad = True
            holes = _holes(spans, start, end)
            declared_gaps = [(parse(g["from"]), parse(g["to"])) for g in gaps
                             if g.get("camera") == cam]
            for a, b in holes:
                if not any(ga <= a + dt.timedelta(seconds=GAP_TOLERANCE_S)
                           and gb >= b - dt.timedelta(seconds=GAP_TOLERANCE_S)
                           for ga, gb in declared_gaps):
                    self.fail("semantics", f"{cam}: no footage from {a.isoformat()} to "
                                           f"{b.isoformat()} and no gap declared for it")
                    bad = True
        for w in facts.get("working_copies", []):
            if w.get("file") not in self.sha256:
                self.fail("semantics", "a declared working copy is missing", w.get("file"))
                bad = True
            elif not w.get("lossless"):
                self.r.warnings.append(f"{w['file']}: the working copy is not frame-identical "
                                       "to the masters")
        audit = facts.get("audit", {})
        if audit.get("last_entry_hash"):
            try:
                lines = (self.root / "data/metadata/audit_extract.jsonl").read_text("utf-8")
                last = json.loads(lines.strip().splitlines()[-1])["hash"]
                if last != audit["last_entry_hash"]:
                    raise ValueError("differs")
            except (OSError, ValueError, KeyError, IndexError):
                self.fail("semantics", "the audit extract's last entry is not the one "
                                       "export.json names", "data/metadata/audit_extract.jsonl")
                bad = True
        if not bad:
            self.ok("semantics", f"{len(segments)} segment(s) match their recorder hashes, in "
                                 "order, inside the window; every hole is declared")
        for c in facts.get("time", {}).get("clock_checks", []):
            if c.get("offset_ms") is not None and abs(c["offset_ms"]) > LARGE_CLOCK_OFFSET_MS:
                self.r.warnings.append(f"{c['device']}: camera clock was {c['offset_ms']} ms "
                                       "off the workstation when measured")
        for ch in dst_changes(start, end):
            self.r.warnings.append(f"the range crosses a UK clock change ({ch['description']}); "
                                   "local times are shown with GMT/BST")

    def run(self) -> Report:
        found = self.structure()
        self.manifests(found)
        self.closed_world(found)
        self.no_roots_inside()
        when, has_token = self.seal()
        self.semantics(when, has_token)
        if not self.r.failures:
            self.r.status = VALID if when is not None else PENDING
            if when is None:
                self.r.warnings.append("no time-stamp yet: the package's time is self-asserted "
                                       "only (vms seal --timestamp completes it)")
        return self.r


def verify(package: Path, trust_roots: list[bytes], tsa_roots: list[bytes]) -> Report:
    return Verifier(package, trust_roots, tsa_roots).run()


def _pretty(alg: str) -> str:
    return alg.upper().replace("SHA", "SHA-")


def _holes(spans: list[tuple[dt.datetime, dt.datetime, str]], start: dt.datetime,
           end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    cursor = start
    for a, b, _f in spans:
        if (a - cursor).total_seconds() > GAP_TOLERANCE_S:
            out.append((cursor, min(a, end)))
        cursor = max(cursor, b)
    if (end - cursor).total_seconds() > GAP_TOLERANCE_S:
        out.append((cursor, end))
    return out


def _signing_time(signer: cms.SignerInfo) -> dt.datetime | None:
    for attr in signer["signed_attrs"]:
        if attr["type"].native == "signing_time":
            value: dt.datetime = attr["values"][0].native
            return value
    return None


def _why_untrusted(status: Any) -> str:
    problem = getattr(status, "trust_problem_indic", None)
    return str(problem) if problem is not None else "no valid path"


def _load_cert(data: bytes) -> ax509.Certificate:
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives.serialization import Encoding
    try:
        c = cx509.load_pem_x509_certificate(data)
    except ValueError:
        c = cx509.load_der_x509_certificate(data)
    return ax509.Certificate.load(c.public_bytes(Encoding.DER))
