"""``vms verify``: the package checked against the profile, failing closed.

Every step runs and every failure is reported, not only the first. Trust comes only from
roots configured outside the package; a root found inside it is itself a failure. The
signature and the time-stamp are checked with pyHanko's CMS validation and its certificate
path validation (at the trusted time), not by hand.

The package itself is hostile input. Every file is opened through ``vms.evidence.files``: only
regular files inside the package, never through a link, never a device or a FIFO, each with a
size limit known before it is read (the limits below). What is hashed is streamed; manifests are
read a line at a time, holding only the entries for files that are there; sizes (Payload-Oxum,
the sizes export.json declares) are checked before anything is hashed, and a file larger than
declared is not hashed at all. Every file name is printed through ``files.show``. A refusal is
a finding like any other, so the package is INVALID and the report says why.
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

from vms.evidence import bag, files
from vms.evidence.documents import dst_changes, london
from vms.evidence.files import KIB, MIB, Missing, Refused, show
from vms.evidence.package import GAP_TOLERANCE_S, P7S, TSR
from vms.evidence.utc import parse

VALID, INVALID, PENDING = "VALID", "INVALID", "VALID-PENDING-TIMESTAMP"
TAG_FILES = {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
             "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"}
BEFORE_START = dt.timedelta(minutes=10)  # clocks: the workstation may run a little fast
AFTER_COMPLETION = dt.timedelta(hours=1)  # the TSA is asked as soon as the export completes
LARGE_CLOCK_OFFSET_MS = 2000
DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"
# What the verifier reads whole, at most (a legitimate package is far below each):
BAGIT_LIMIT = 64 * KIB
BAG_INFO_LIMIT = 1 * MIB
MANIFEST_LIMIT = 256 * MIB  # read a line at a time: about 1.5 million files
TAGMANIFEST_LIMIT = 1 * MIB  # it lists four files
EXPORT_JSON_LIMIT = 64 * MIB
SEAL_LIMIT = 1 * MIB  # the .p7s, the .tsr and each certificate file
LINE_LIMIT = 64 * KIB  # one manifest line (a path is at most 4 KiB on any file system)
AUDIT_LINE_LIMIT = 1 * MIB
MAX_NAMED = 100  # findings of one kind named one by one in one manifest; the rest counted
TAG_LIMITS = {"bagit.txt": BAGIT_LIMIT, "bag-info.txt": BAG_INFO_LIMIT,
              "manifest-sha256.txt": MANIFEST_LIMIT, "manifest-sha512.txt": MANIFEST_LIMIT}


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
        cleaned: dict[str, Any] = _printable_all(d)
        return cleaned

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
        return "\n".join(files.printable(line) for line in lines)


class Verifier:
    def __init__(self, package: Path, trust_roots: list[bytes], tsa_roots: list[bytes]) -> None:
        self.root = package
        self.trust_roots = trust_roots
        self.tsa_roots = tsa_roots
        self.r = Report(show(str(package)))
        self.facts: dict[str, Any] | None = None
        self.facts_error: str | None = None
        self.sha256: dict[str, str] = {}
        self.sizes: dict[str, int] = {}  # every regular file found -> its size (lstat)
        self.info: dict[str, str] | None = None  # bag-info.txt, once read
        self.certs: dict[str, list[ax509.Certificate]] = {}
        self._said: set[tuple[str, str | None]] = set()

    def ok(self, step: str, message: str, file: str | None = None) -> None:
        self.r.checks.append(Check(step, True, message, file))

    def fail(self, step: str, message: str, file: str | None = None) -> None:
        """A finding; ``file`` is the name as found (it is shown escaped where needed).
        The same words about the same file are said once (a link found by the walk is
        refused again when a step would have read it)."""
        shown = show(file) if file is not None else None
        if (message, shown) in self._said:
            return
        self._said.add((message, shown))
        self.r.checks.append(Check(step, False, message, shown))
        if shown:
            self.r.files[shown] = message

    def read(self, rel: str, limit: int) -> bytes:
        """A small file of the package, whole: ``Refused`` unless it is a regular file inside
        the package no larger than ``limit``."""
        return files.read_limited(self.root, rel, limit)

    # -- 1. structure ---------------------------------------------------------------------
    def structure(self) -> list[str]:
        """All regular files, relative, POSIX; symlinks and oddities are failures."""
        if not self.root.is_dir():
            self.fail("structure", "not a folder")
            return []
        found: list[str] = []

        def unreadable(exc: OSError) -> None:
            where = Path(exc.filename or self.root)
            rel = where.relative_to(self.root).as_posix() if where != self.root else "."
            self.fail("structure", f"a folder that cannot be read ({exc.strerror}), so what "
                                   "it holds cannot be checked", files.utf8_name(rel))

        for dirpath, dirnames, filenames in os.walk(self.root, onerror=unreadable,
                                                    followlinks=False):
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                rel = files.utf8_name(full.relative_to(self.root).as_posix())
                try:
                    st = os.lstat(full)
                except OSError as exc:
                    self.fail("structure", f"{show(rel)} cannot be read ({exc.strerror})", rel)
                    continue
                if not files.is_utf8(rel):
                    self.fail("structure", f"{show(rel)}: a file name that is not valid UTF-8 "
                                           "cannot be listed in a manifest", rel)
                if stat.S_ISLNK(st.st_mode) or (name in filenames
                                                and not stat.S_ISREG(st.st_mode)):
                    self.fail("structure", f"{show(rel)} is {files.kind(st.st_mode)}: "
                                           f"{files.REGULAR_ONLY}", rel)
                elif name in filenames:
                    found.append(rel)
                    self.sizes[rel] = st.st_size
        lowered: dict[str, str] = {}
        for rel in found:
            other = lowered.setdefault(rel.casefold(), rel)
            if other != rel:
                self.fail("structure", f"names collide on a case-insensitive file system: "
                                       f"{show(other)} and {show(rel)}", rel)
        try:
            info = bag.parse_bag_info(self.read("bagit.txt", BAGIT_LIMIT).decode("utf-8"))
            if info.get("BagIt-Version") != "1.0" or \
                    info.get("Tag-File-Character-Encoding", "").upper() != "UTF-8":
                self.fail("structure", "bagit.txt does not declare BagIt 1.0 in UTF-8",
                          "bagit.txt")
            else:
                self.ok("structure", "BagIt 1.0")
        except Missing:
            self.fail("structure", "bagit.txt is missing", "bagit.txt")
        except Refused as exc:
            self.fail("structure", str(exc), "bagit.txt")
        except UnicodeDecodeError:
            self.fail("structure", "bagit.txt is not UTF-8", "bagit.txt")
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
        # Sizes first: they cost nothing, and a file larger than declared is not hashed.
        octets = self._oxum(payload)
        declared = self._declared_sizes()
        listed: dict[str, dict[str, str]] = {}
        for alg in bag.ALGORITHMS:
            name = f"manifest-{alg}.txt"
            if name not in top:
                if alg == "sha512":
                    self.r.warnings.append("no SHA-512 manifest")
                continue
            entries = listed[alg] = self._read_manifest(name, payload, MANIFEST_LIMIT)
            for rel in sorted(payload - set(entries)):
                self.fail("closed-world", f"a file not listed in {name}", rel)
        for rel in sorted(set().union(*listed.values()) if listed else set()):
            size = self.sizes[rel]
            want = declared.get(rel)
            if want is not None and size > want:
                self.fail("integrity", f"{show(rel)} is {size:,} bytes, more than the "
                                       f"{want:,} bytes declared for it in export.json: "
                                       "not hashed", rel)
                continue
            if octets is not None and size > octets:
                self.fail("integrity", f"{show(rel)} is {size:,} bytes, more than the "
                                       f"{octets:,} bytes Payload-Oxum declares for the whole "
                                       "payload: not hashed", rel)
                continue
            if want is not None and size != want:
                self.fail("integrity", f"{show(rel)} is {size:,} bytes where export.json "
                                       f"declares {want:,}", rel)
            algs = [a for a in bag.ALGORITHMS if rel in listed.get(a, {})]
            got = self._hash(rel, algs, "integrity")
            if got is None:
                continue
            for alg in algs:
                if got[alg] != listed[alg][rel]:
                    self.fail("integrity", f"{_pretty(alg)} differs from manifest-{alg}.txt",
                              rel)
                elif alg == "sha256":
                    self.sha256[rel] = got[alg]
            if all(got[a] == listed[a][rel] for a in algs):
                self.r.files.setdefault(show(rel), "ok")
        tags = {f for f in top if f in TAG_FILES and not f.startswith("tagmanifest-")}
        for alg in bag.ALGORITHMS:
            name = f"tagmanifest-{alg}.txt"
            if name not in top:
                continue
            entries = self._read_manifest(name, set(found), TAGMANIFEST_LIMIT)
            for rel in sorted(tags - set(entries)):
                self.fail("integrity", f"tag file not covered by {name}", rel)
            for rel, digest in sorted(entries.items()):
                if rel.startswith("tagmanifest-") or rel.startswith("seal/"):
                    self.fail("integrity", f"{name} lists a file it cannot cover", rel)
                    continue
                got = self._hash(rel, [alg], "integrity", TAG_LIMITS.get(rel, TAGMANIFEST_LIMIT))
                if got is not None and got[alg] != digest:
                    self.fail("integrity", f"{_pretty(alg)} differs from {name}", rel)
        if not any(c.step == "integrity" and not c.ok for c in self.r.checks):
            self.ok("integrity", f"{len(payload)} payload file(s) and the tag files match "
                                 "their SHA-256 and SHA-512")

    def _hash(self, rel: str, algs: list[str], step: str,
              limit: int | None = None) -> dict[str, str] | None:
        """The digests of a file, streamed through a descriptor opened safely; None (and a
        finding) when it is refused (larger than ``limit``, say) or changes while read."""
        try:
            f, size = files.open_regular(self.root, rel, limit)
            with f:
                mh = bag.MultiHash(algs)
                for block in files.blocks(f, size, rel):
                    mh.update(block)
        except Refused as exc:
            self.fail(step, str(exc), rel)
            return None
        return mh.result().digests

    def _read_manifest(self, name: str, present: set[str], limit: int) -> dict[str, str]:
        """The entries of a manifest for files that are ``present``, read a line at a time;
        every other entry is a finding. Only the first MAX_NAMED findings of each kind are
        named, the rest counted, so a manifest of a million lines costs no more memory than
        one of a hundred."""
        entries: dict[str, str] = {}
        absent: set[str] = set()
        counts: dict[str, int] = {}

        def finding(kind: str, step: str, message: str, file: str) -> None:
            counts[kind] = counts.get(kind, 0) + 1
            if counts[kind] <= MAX_NAMED:
                self.fail(step, message, file)

        try:
            f, size = files.open_regular(self.root, name, limit)
            with f:
                for n, raw in enumerate(files.lines(f, size, name, LINE_LIMIT), 1):
                    if raw is None:
                        finding("bad", "integrity", f"unreadable manifest line {n}: longer than "
                                                    f"{files.size_words(LINE_LIMIT)}", name)
                        continue
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        shown = show(raw[:80].decode("utf-8", "surrogateescape"))
                        finding("bad", "integrity", f"unreadable manifest line {n}: not UTF-8: "
                                                    f"{shown}", name)
                        continue
                    entry = bag.parse_manifest_line(line)
                    if entry is None:
                        if line.strip():
                            finding("bad", "integrity", f"unreadable manifest line {n}: "
                                                        f"{show(line[:80])!r}", name)
                        continue
                    digest, rel = entry
                    why = self.bad_path(rel)
                    if why:
                        finding("path", "structure", f"{name} names {why}", rel)
                    elif rel in entries or rel in absent:
                        finding("bad", "integrity", f"unreadable manifest line {n}: "
                                                    f"{show(rel)} is listed twice", name)
                    elif rel in present:
                        entries[rel] = digest
                    else:
                        if len(absent) < MAX_NAMED:
                            absent.add(rel)
                        there = counts.get("missing", 0) < MAX_NAMED and \
                            os.path.lexists(self.root / rel)  # a link, a FIFO: said by the walk
                        finding("missing", "integrity", f"listed in {name} but "
                                f"{'not a regular file' if there else 'missing'}", rel)
        except Refused as exc:
            self.fail("integrity", f"unreadable manifest: {exc}", name)
            return {}
        said = {"bad": f"unreadable line(s) in {name}",
                "path": f"entries of {name} naming a path outside the package",
                "missing": f"file(s) listed in {name} but missing"}
        for kind, n in counts.items():
            if n > MAX_NAMED:
                self.fail("integrity" if kind != "path" else "structure",
                          f"{n - MAX_NAMED:,} more {said[kind]} (only the first {MAX_NAMED} "
                          "are named)", name)
        return entries

    def _bag_info(self) -> dict[str, str] | None:
        if self.info is None:
            try:
                text = self.read("bag-info.txt", BAG_INFO_LIMIT).decode("utf-8")
            except Missing:
                self.fail("integrity", "bag-info.txt is missing or unreadable", "bag-info.txt")
                return None
            except Refused as exc:
                self.fail("integrity", str(exc), "bag-info.txt")
                return None
            except UnicodeDecodeError:
                self.fail("integrity", "bag-info.txt is not UTF-8", "bag-info.txt")
                return None
            self.info = bag.parse_bag_info(text)
        return self.info

    def _oxum(self, payload: set[str]) -> int | None:
        """Checks Payload-Oxum against the sizes found; the octets it declares, if readable."""
        info = self._bag_info()
        if info is None:
            return None
        if info.get("Evidence-Package-Profile") != "1":
            self.fail("structure", "bag-info.txt does not declare Evidence-Package-Profile 1",
                      "bag-info.txt")
        size = sum(self.sizes[p] for p in payload)
        oxum = info.get("Payload-Oxum", "")
        if oxum != f"{size}.{len(payload)}":
            self.fail("integrity", f"Payload-Oxum {show(oxum)} does not match "
                                   f"the payload ({size}.{len(payload)})", "bag-info.txt")
        octets, _, _count = oxum.partition(".")
        return int(octets) if octets.isdigit() and octets.isascii() else None

    def _export_json(self) -> dict[str, Any] | None:
        """export.json, parsed once (None, with the reason kept, when it cannot be)."""
        if self.facts is None and self.facts_error is None:
            rel = "data/metadata/export.json"
            try:
                facts = json.loads(self.read(rel, EXPORT_JSON_LIMIT).decode("utf-8"))
                if not isinstance(facts, dict):
                    raise TypeError("not a JSON object")
                self.facts = facts
            except (Refused, ValueError, TypeError, RecursionError) as exc:
                self.facts_error = str(exc) or type(exc).__name__
        return self.facts

    def _declared_sizes(self) -> dict[str, int]:
        """The size export.json declares for each master segment (``bytes``), if readable.
        Only a cheap guide for what is worth hashing: the hashes decide."""
        facts = self._export_json()
        segments = facts.get("segments") if facts else None
        out: dict[str, int] = {}
        for s in segments if isinstance(segments, list) else []:
            if isinstance(s, dict) and isinstance(s.get("file"), str) and \
                    type(s.get("bytes")) is int:
                out[s["file"]] = s["bytes"]
        return out

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
        """The certificates in the regular files directly inside ``seal/<folder>`` (as the
        walk found them: a linked folder or file is not looked into)."""
        if folder in self.certs:
            return self.certs[folder]
        from cryptography import x509 as cx509
        from cryptography.hazmat.primitives.serialization import Encoding
        out: list[ax509.Certificate] = []
        prefix = f"seal/{folder}/"
        for rel in sorted(f for f in self.sizes if f.startswith(prefix)
                          and "/" not in f[len(prefix):]):
            try:
                for c in cx509.load_pem_x509_certificates(self.read(rel, SEAL_LIMIT)):
                    out.append(ax509.Certificate.load(c.public_bytes(Encoding.DER)))
            except Refused as exc:
                self.fail("signature", str(exc), rel)
            except ValueError:
                self.fail("signature", "an unreadable certificate file", rel)
        self.certs[folder] = out
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
        tsr: bytes | None = None
        has_token = True
        try:
            tsr = self.read(f"seal/{TSR}", SEAL_LIMIT)
        except Missing:
            has_token = False
        except Refused as exc:
            self.fail("timestamp", f"the time-stamp cannot be read: {exc}", f"seal/{TSR}")
        try:
            p7s = self.read(f"seal/{P7S}", SEAL_LIMIT)
        except Missing:
            self.fail("signature", "the package is not signed (seal/ is missing its signature)",
                      f"seal/{P7S}")
            return None, has_token
        except Refused as exc:
            self.fail("signature", f"the signature cannot be read: {exc}", f"seal/{P7S}")
            return None, has_token
        when: dt.datetime | None = None
        if tsr is not None:
            when = self._timestamp(p7s, tsr)
        self._signature(p7s, when)
        return when, has_token

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
        try:
            content = self.read("tagmanifest-sha256.txt", TAGMANIFEST_LIMIT)
        except Refused:
            content = b""  # said by the integrity step
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
            facts = self._export_json()
            if facts is None:
                raise ValueError(self.facts_error)
            self.r.exhibit = facts["exhibit"]["reference"]
            exp = facts["export"]
            start, end = parse(exp["from_utc"]), parse(exp["to_utc"])
            started, completed = parse(exp["started_utc"]), parse(exp["completed_utc"])
            declared = facts["seal"]["state"]
            segments, gaps = facts["segments"], facts["gaps"]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
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
                bad = True  # never said to match: a present file that failed its hash was
                if self.bad_path(f) or f not in self.sizes:  # reported above, once
                    self.fail("semantics", "a declared segment is not in the payload", f)
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
                last = json.loads(self._last_line("data/metadata/audit_extract.jsonl"))["hash"]
                if last != audit["last_entry_hash"]:
                    raise ValueError("differs")
            except (Refused, ValueError, KeyError, TypeError, RecursionError):
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

    def _last_line(self, rel: str) -> bytes:
        """The last non-empty line of a payload file, read a line at a time."""
        f, size = files.open_regular(self.root, rel)
        last = b""
        with f:
            for line in files.lines(f, size, rel, AUDIT_LINE_LIMIT):
                if line is None:
                    raise ValueError("a line too long")
                if line.strip():
                    last = line
        return last

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


def _printable_all(value: Any) -> Any:
    if isinstance(value, str):
        return files.printable(value)
    if isinstance(value, dict):
        return {_printable_all(k): _printable_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_all(v) for v in value]
    return value


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
