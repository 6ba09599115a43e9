"""``vms export``, ``vms verify``, ``vms seal --timestamp`` and ``vms evidence-ca``.

``vms verify`` needs no Beacon account: a court's or a defence expert's copy of the tool
checks a package against the roots they were given, and nothing else.
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import os
import sys
from pathlib import Path

from vms.access.roles import Permission
from vms.access.session import Session
from vms.cli.common import Subparsers, command
from vms.errors import ConfigError
from vms.profile import Profile

EXIT_INVALID = 1


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("export", parents=[common], help="export a sealed evidence package",
                       description="Export recorded footage as an evidence package (profile v1): "
                                   "the master segments bit for bit, lossless working copies, "
                                   "frame indexes, clock report, audit extract and statements, "
                                   "in a BagIt bag signed by this workstation's evidence key "
                                   "and time-stamped by the TSA. Times without a zone are "
                                   "London local time.")
    p.add_argument("--camera", action="append", metavar="ID|NAME",
                   help="camera to export (repeatable; required unless --incident)")
    p.add_argument("--from", dest="start", metavar="ISO",
                   help="start, e.g. 2026-10-25T00:30:00Z (required unless --incident)")
    p.add_argument("--to", dest="end", metavar="ISO", help="end (required unless --incident)")
    p.add_argument("--incident", type=int, metavar="ID",
                   help="export an incident: its locked footage (its device and linked cameras, "
                        "pre-roll to post-roll); --camera/--from/--to narrow it")
    p.add_argument("--exhibit", required=True, metavar="REF", help="exhibit reference")
    p.add_argument("--label", default="", help="exhibit label")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="folder to write the package into")
    p.add_argument("--request", type=Path, metavar="FILE.json",
                   help="the request: purpose, legal_basis, requesting_officer, force, "
                        "crime_reference, received_utc, authoriser")
    p.add_argument("--tsa", metavar="URL", help="RFC 3161 time-stamp authority (default: the "
                                                "evidence_tsa_url setting; none: pending)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")

    v = sub.add_parser("verify", parents=[common], help="verify an evidence package",
                       description="Check an evidence package against the profile: structure, "
                                   "every hash, the closed world, the time-stamp, the signature "
                                   "and the facts. Exit status 0 only when VALID; every failure "
                                   "is listed. Needs no sign-in.")
    v.add_argument("package", type=Path)
    v.add_argument("--trust-root", action="append", default=[], type=Path, metavar="PEM",
                   help="evidence root certificate(s) to trust (default: this profile's own)")
    v.add_argument("--tsa-root", action="append", default=[], type=Path, metavar="PEM",
                   help="TSA root certificate(s) to trust (default: this profile's "
                        "evidence/tsa-root.pem, if any)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")

    s = sub.add_parser("seal", parents=[common], help="time-stamp a pending evidence package",
                       description="Add the RFC 3161 time-stamp to a package exported while the "
                                   "TSA could not be reached.")
    s.add_argument("--timestamp", required=True, type=Path, metavar="PACKAGE")
    s.add_argument("--tsa", metavar="URL", help="time-stamp authority (default: the setting)")

    ca = sub.add_parser("evidence-ca", parents=[common], help="the evidence signing key",
                        description="Create a local evidence CA and this workstation's "
                                    "signing certificate, import the council's PKCS#12, or "
                                    "print the root certificate to give to recipients.")
    acts = ca.add_subparsers(dest="ca_action", required=True, metavar="ACTION")
    i = acts.add_parser("init", parents=[common], help="create a local evidence CA")
    i.add_argument("--organisation", default="Beacon VMS control room")
    i.add_argument("--force", action="store_true", help="replace an existing key")
    acts.add_parser("root", parents=[common], help="print the root certificate (PEM)")
    im = acts.add_parser("import", parents=[common], help="import a PKCS#12 key and certificate")
    im.add_argument("file", type=Path)
    im.add_argument("--password-stdin", action="store_true",
                    help="read the PKCS#12 password from standard input")
    command(p, run)
    command(v, verify, needs="data_dir")
    command(s, run)
    command(ca, run)


def verify(args: argparse.Namespace, data_dir: Path) -> int:
    from vms.evidence.verify import VALID
    from vms.evidence.verify import verify as run_verify

    roots = [_read(p) for p in args.trust_root]
    tsa_roots = [_read(p) for p in args.tsa_root]
    own = data_dir / "evidence"
    if not roots and (own / "root.crt").exists():
        roots = [(own / "root.crt").read_bytes()]
    if not tsa_roots and (own / "tsa-root.pem").exists():
        tsa_roots = [(own / "tsa-root.pem").read_bytes()]
    report = run_verify(args.package, roots, tsa_roots)
    if isinstance(sys.stdout, io.TextIOWrapper):  # the report is printed whatever the locale
        sys.stdout.reconfigure(errors="backslashreplace")
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.text())
    return 0 if report.status == VALID else EXIT_INVALID


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    if args.command == "export":
        return _export(args, profile, session)
    if args.command == "seal":
        return _seal(args, profile, session)
    return _ca(args, profile, session)


def _export(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.cli.common import device_ref
    from vms.devices.commissioning import Commissioning
    from vms.events.store import EventStore
    from vms.evidence.package import Progress, Request
    from vms.evidence.service import EvidenceService, load_request, parse_time
    from vms.recording.index import RecordingIndex

    svc = Commissioning(profile, session)
    ids = [device_ref(svc, c) for c in args.camera or []]
    start = parse_time(args.start) if args.start else None
    end = parse_time(args.end) if args.end else None
    request = load_request(args.request) if args.request else None
    label = args.label
    last = [-1]

    def progress(p: Progress) -> None:
        if args.json or not p.total_bytes:
            return
        pct = int(100 * p.done_bytes / p.total_bytes)
        if pct != last[0]:
            last[0] = pct
            print(f"  {pct:3d}%  {p.stage}", file=sys.stderr, flush=True)

    index = RecordingIndex(profile.data_dir / "recordings.db")
    try:
        evidence = EvidenceService(profile, session, index)
        if args.incident is not None:
            store = EventStore.for_profile(profile.data_dir)
            try:
                scope = evidence.incident(store, args.incident)
            finally:
                store.close()
            ids = ids or [cid for cid, _name in scope.cameras]
            start, end = start or scope.start, end or scope.end
            if request is None and scope.incident.police_ref:
                request = Request(crime_reference=scope.incident.police_ref)
            label = label or scope.label
        if not ids or start is None or end is None:
            raise ConfigError("say what to export: --camera, --from and --to, or --incident ID")
        result = evidence.export(
            cameras=ids, start=start, end=end, exhibit=args.exhibit, label=label,
            out_dir=args.out, request=request, tsa_url=args.tsa, on_progress=progress,
            incident_id=args.incident)
    finally:
        index.close()
    if args.json:
        print(json.dumps({"package": str(result.path), "id": result.package_id,
                          "state": result.state, "bytes": result.bytes,
                          "segments": result.segments, "warnings": result.warnings}, indent=2))
    else:
        for w in result.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(f"Exported {result.segments} segment(s), {result.bytes:,} bytes, to {result.path} "
              f"({result.state}).")
    return 0


def _seal(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.evidence.package import add_timestamp
    from vms.evidence.service import TSA_SETTING

    profile.access.require(session, Permission.EVIDENCE_EXPORT, action="evidence.seal")
    url = args.tsa or profile.access.accounts.settings().get(TSA_SETTING)
    if not url:
        raise ConfigError("no time-stamp authority: give --tsa URL or set evidence_tsa_url")
    when = add_timestamp(args.timestamp, url)
    profile.access.record(session, "evidence.seal", detail={"package": str(args.timestamp),
                                                            "trusted_time": when})
    print(f"Time-stamped {args.timestamp} at {when}.")
    return 0


def _ca(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.evidence.signing import SigningKeySetup

    setup = SigningKeySetup(profile, session)
    if args.ca_action == "root":
        sys.stdout.write(setup.keys.root_pem().decode())
        return 0
    if args.ca_action == "init":
        signer = setup.create(args.organisation, force=args.force)
        print(f"Created a local evidence CA in {setup.keys.folder}.\nSigning certificate "
              f"SHA-256 {signer.fingerprint}\nGive recipients the root: vms evidence-ca root > "
              "evidence-root.pem")
    else:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else \
            os.environ.get("VMS_P12_PASSWORD") or getpass.getpass("PKCS#12 password: ")
        signer = setup.import_pkcs12(_read(args.file), password.encode() or None)
        print(f"Imported {signer.cert.subject.rfc4514_string()} "
              f"(SHA-256 {signer.fingerprint}).")
    return 0
