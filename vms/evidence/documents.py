"""The package's documents: export.json, the clock report, the continuity statement,
VERIFY.txt and report.html. Times are stored in UTC and shown in Europe/London with GMT or
BST named, and a range that crosses a clock change says so."""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any

from vms.audit.log import LONDON
from vms.audit.log import london as audit_london
from vms.evidence.utc import iso

if TYPE_CHECKING:
    from vms.evidence.ca import Signer
    from vms.evidence.package import ExportJob

def london(utc_text: str) -> str:
    """``2026-10-25 01:30:00.000 GMT``: the audit trail's London time, to the millisecond."""
    return audit_london(utc_text, ms=True)


def dst_changes(start: dt.datetime, end: dt.datetime) -> list[dict[str, str]]:
    """UK clock changes inside [start, end] (they happen on the hour, at 01:00 UTC)."""
    out: list[dict[str, str]] = []
    t = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    prev = t.astimezone(LONDON).utcoffset()
    while t <= end:
        t += dt.timedelta(hours=1)
        off = t.astimezone(LONDON).utcoffset()
        if off != prev and start <= t <= end:
            local_before = (t - dt.timedelta(microseconds=1)).astimezone(LONDON)
            after = t.astimezone(LONDON)
            way = "forward" if (off or dt.timedelta()) > (prev or dt.timedelta()) else "back"
            out.append({
                "at_utc": iso(t),
                "from": local_before.tzname() or "", "to": after.tzname() or "",
                "description": (f"clocks went {way} "
                                f"at {iso(t)}: {local_before.strftime('%H:%M')} "
                                f"{local_before.tzname()} became {after.strftime('%H:%M')} "
                                f"{after.tzname()}"),
            })
        prev = off
    return out


def clock_report(job: ExportJob, segments: list[dict[str, Any]],
                 started: dt.datetime) -> dict[str, Any]:
    cams = []
    for cam in job.cameras:
        clocks = sorted({s["clock"] for s in segments if s["camera_id"] == cam.id})
        cams.append({
            "camera": cam.name,
            "device_clock_offset_ms": None if cam.clock_offset_s is None
            else round(cam.clock_offset_s * 1000),
            "reference": "this workstation's clock (ONVIF GetSystemDateAndTime at "
                         "commissioning)",
            "measured_at": cam.clock_measured_at,
            "segment_time_source": clocks,
            "segment_time_source_meaning": {
                "recorder": "frame times on the recorder's clock: each frame's arrival less "
                            "the lowest network delay seen on its connection; steps in the "
                            "camera's own clock are taken out",
                "rtcp": "frame times from the camera's own RTCP sender reports",
                "local": "frame times from the recorder's receive time (the camera's clock "
                         "was not yet known)"},
        })
    return {
        "time_base": "UTC",
        "display_zone": "Europe/London",
        "cameras": cams,
        "workstation": {"name": job.workstation, "export_started_utc": iso(started),
                        "note": "checked against trusted time by the RFC 3161 time-stamp "
                                "over the seal (see VERIFY.txt)"},
    }


def export_facts(job: ExportJob, *, package_id: str, profile: str, software: str,
                 started: str, completed: str, segments: list[dict[str, Any]],
                 gaps: list[dict[str, str]], working: list[dict[str, Any]],
                 audit: list[dict[str, Any]], signer: Signer, state: str) -> dict[str, Any]:
    r = job.request
    checks = [{"device": c.name, "offset_ms": None if c.clock_offset_s is None
               else round(c.clock_offset_s * 1000),
               "reference": "workstation clock", "measured_at": c.clock_measured_at}
              for c in job.cameras]
    return {
        "package": {"profile": profile, "id": package_id},
        "exhibit": {"reference": job.exhibit, "label": job.label,
                    "producer": {"name": job.producer.name, "role": job.producer.role,
                                 "staff_id": job.producer.staff_id,
                                 "organisation": job.producer.organisation or job.organisation}},
        "request": {"requesting_officer": r.requesting_officer, "force": r.force,
                    "crime_reference": r.crime_reference, "received_utc": r.received_utc,
                    "purpose": r.purpose, "legal_basis": r.legal_basis,
                    "authoriser": r.authoriser},
        "export": {"from_utc": iso(job.start), "to_utc": iso(job.end),
                   "started_utc": started, "completed_utc": completed,
                   "operator": job.producer.name, "workstation": job.workstation,
                   "software": software,
                   "method": "master segments copied bit for bit from the recording store and "
                             "re-hashed against the recorder's SHA-256; working copies remuxed "
                             "without transcoding"},
        "cameras": [{"id": c.id, "name": c.name, "location": c.location, "lat": c.lat,
                     "lon": c.lon, "make": c.make, "model": c.model, "serial": c.serial,
                     "mac": c.mac, "firmware": c.firmware, "stream": c.stream}
                    for c in job.cameras],
        "segments": segments,
        "gaps": gaps,
        "time": {"base": "UTC", "display_zone": "Europe/London",
                 "dst_changes": dst_changes(job.start, job.end), "clock_checks": checks},
        "working_copies": working,
        "audit": {"event_ids": [e.get("seq") for e in audit],
                  "last_entry_hash": audit[-1]["hash"] if audit else None,
                  "file": "data/metadata/audit_extract.jsonl"},
        "handling": {"protective_marking": job.marking, "retention": job.retention},
        "seal": {"manifests": ["sha256", "sha512"],
                 "signature": "CMS SignedData, detached, DER, over tagmanifest-sha256.txt",
                 "signature_algorithm": _algorithm(signer),
                 "signer_certificate_sha256": signer.fingerprint,
                 "signer_subject": signer.cert.subject.rfc4514_string(),
                 "tsa": job.tsa_url, "state": state},
    }


def _algorithm(signer: Signer) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec
    if isinstance(signer.key, ec.EllipticCurvePrivateKey):
        return f"ECDSA {signer.key.curve.name} with SHA-256"
    return f"RSA {signer.key.key_size} with SHA-256"


VERIFY = """\
HOW TO VERIFY THIS EVIDENCE PACKAGE (Evidence package profile v1)
=================================================================

Exhibit {exhibit}   Package {package}

You need only stock tools (GNU coreutils `sha256sum` and OpenSSL 1.1 or later) and two
certificates given to you separately by the producer, never taken from this package:
  evidence-root.pem   the producer's evidence root certificate
                      (signer certificate SHA-256: {signer_fp})
  tsa-root.pem        the root certificate of the time-stamp authority ({tsa})

Run these in the package folder (the one holding bagit.txt):

  sha256sum -c tagmanifest-sha256.txt && sha256sum -c manifest-sha256.txt
  openssl cms -verify -binary -inform DER -in seal/tagmanifest-sha256.txt.p7s \\
    -content tagmanifest-sha256.txt -CAfile evidence-root.pem -out /dev/null
  openssl ts -verify -data seal/tagmanifest-sha256.txt.p7s -in seal/tagmanifest-sha256.txt.p7s.tsr \\
    -CAfile tsa-root.pem -untrusted seal/tsa/tsa.crt

1. The first line checks every file: the tag manifest covers bagit.txt, bag-info.txt and the
   payload manifests; the payload manifest covers every file under data/.
2. The second checks the signature over tagmanifest-sha256.txt ("Verification successful").
3. The third checks the RFC 3161 time-stamp over the signature ("Verification: OK"); its
   time is the trusted time of the seal (show it with
   `openssl ts -reply -in seal/tagmanifest-sha256.txt.p7s.tsr -text`).
Also make sure no file exists that the manifests do not list, apart from the seal/ folder.
`vms verify PACKAGE --trust-root evidence-root.pem --tsa-root tsa-root.pem` does all of this
and more (closed world, window, gaps, the recorder's hashes) and lists every failure.

{pending}WHAT THE SEAL PROVES, AND WHAT IT DOES NOT
It proves that these exact bytes were sealed by the holder of the signing key named above no
later than the time-stamp's time. It does not prove what happened before the export: that
rests on the recorder's own hashes (export.json, segments[].source_sha256, taken when each
segment was closed and checked again by the export), access control, and the audit trail
(data/metadata/audit_extract.jsonl).

Times are in UTC; Europe/London (GMT/BST) is shown alongside for reading.
"""


def statements(facts: dict[str, Any]) -> dict[str, str]:
    ex, exp, seal = facts["exhibit"], facts["export"], facts["seal"]
    pending = ""
    if seal["state"] == "pending-timestamp":
        pending = ("NOTE: this package was sealed without a time-stamp (state pending-timestamp):\n"
                   "until `vms seal --timestamp` adds seal/tagmanifest-sha256.txt.p7s.tsr, its time\n"
                   "is self-asserted only and the third command cannot be run.\n\n")
    verify = VERIFY.format(exhibit=ex["reference"], package=facts["package"]["id"],
                           signer_fp=seal["signer_certificate_sha256"],
                           tsa=seal["tsa"] or "none configured at export", pending=pending)
    lines = [
        "CONTINUITY STATEMENT (DRAFT FOR THE PRODUCER TO REVIEW AND SIGN)",
        "",
        f"Exhibit reference: {ex['reference']}   {ex['label']}".rstrip(),
        f"Produced by: {ex['producer']['name']} ({ex['producer']['role']})"
        + (f", staff id {ex['producer']['staff_id']}" if ex['producer']['staff_id'] else "")
        + f", {ex['producer']['organisation']}",
        f"Requested by: {facts['request']['requesting_officer'] or 'not given'}"
        f" ({facts['request']['force'] or 'force not given'}),"
        f" reference {facts['request']['crime_reference'] or 'not given'}",
        f"Purpose: {facts['request']['purpose'] or 'not given'}",
        f"Legal basis: {facts['request']['legal_basis'] or 'not given'}",
        "",
        f"Footage from {exp['from_utc']} ({london(exp['from_utc'])}) "
        f"to {exp['to_utc']} ({london(exp['to_utc'])}).",
    ]
    for ch in facts["time"]["dst_changes"]:
        lines.append(f"The range includes a UK clock change: {ch['description']}.")
    lines += ["", f"I exported it on workstation {exp['workstation']} with {exp['software']},",
              f"starting {exp['started_utc']} ({london(exp['started_utc'])}) and finishing "
              f"{exp['completed_utc']} ({london(exp['completed_utc'])}).", "",
              "Master recordings (copied bit for bit; SHA-256 as taken by the recorder when each "
              "segment was closed, and checked again on export):"]
    for s in facts["segments"]:
        lines.append(f"  {s['file']}  {s['camera']}  {s['start_utc']} - {s['end_utc']}  "
                     f"{s['frames']} frames  SHA-256 {s['source_sha256']}")
    if facts["gaps"]:
        lines += ["", "Periods inside the range with no footage:"]
        lines += [f"  {g['camera']}: {g['from']} - {g['to']}: {g['reason']}" for g in facts["gaps"]]
    lines += ["", "Working copies (for viewing; the masters are the exhibit):"]
    for w in facts["working_copies"]:
        lines.append(f"  {w['file']}  lossless: {'yes' if w['lossless'] else 'NO'} "
                     f"({w['frame_hash_comparison']['frames_copy']} of "
                     f"{w['frame_hash_comparison']['frames_master']} frames identical by hash)")
    lines += ["", f"Protective marking: {facts['handling']['protective_marking']}",
              f"Sealed by certificate SHA-256 {seal['signer_certificate_sha256']} "
              f"({seal['signer_subject']}); seal state at export: {seal['state']}.", "",
              "Signed: ______________________   Date: ______________", ""]
    return {"continuity_statement.txt": "\n".join(lines), "VERIFY.txt": verify,
            "report.html": report_html(facts)}


def report_html(facts: dict[str, Any]) -> str:
    e = html.escape
    ex, exp = facts["exhibit"], facts["export"]
    rows = "".join(
        f"<tr><td>{e(s['camera'])}</td><td>{e(s['file'].rsplit('/', 1)[-1])}</td>"
        f"<td>{e(london(s['start_utc']))}</td><td>{e(london(s['end_utc']))}</td>"
        f"<td>{s['frames']}</td><td><code>{e(s['source_sha256'])}</code></td></tr>"
        for s in facts["segments"])
    gaps = "".join(f"<li>{e(g['camera'])}: {e(london(g['from']))} to {e(london(g['to']))}: "
                   f"{e(g['reason'])}</li>" for g in facts["gaps"]) or "<li>none</li>"
    dst = "".join(f"<li>{e(c['description'])}</li>" for c in facts["time"]["dst_changes"])
    stills = "".join(
        f'<figure><img src="../stills/{e(n)}" width="320"><figcaption>{e(n)}</figcaption></figure>'
        for n in facts.get("stills", []))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Exhibit {e(ex['reference'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}td,th{{border:1px solid #999;
padding:.3em .5em;font-size:90%}}table{{border-collapse:collapse}}code{{font-size:80%}}</style>
</head><body>
<h1>Exhibit {e(ex['reference'])}</h1>
<p>{e(ex['label'])}</p>
<p><b>{e(facts['handling']['protective_marking'])}</b>. Package {e(facts['package']['id'])},
evidence package profile v{e(facts['package']['profile'])}.</p>
<p>Footage from {e(london(exp['from_utc']))} to {e(london(exp['to_utc']))}
(UTC {e(exp['from_utc'])} to {e(exp['to_utc'])}).</p>
{f'<p>UK clock changes in this range:</p><ul>{dst}</ul>' if dst else ''}
<p>Exported by {e(ex['producer']['name'])} ({e(ex['producer']['role'])}) on
{e(exp['workstation'])}, finished {e(london(exp['completed_utc']))}.
Purpose: {e(facts['request']['purpose'] or 'not given')}.</p>
<h2>Master recordings</h2>
<table><tr><th>Camera</th><th>File</th><th>First frame</th><th>Last frame</th><th>Frames</th>
<th>SHA-256 (recorder)</th></tr>{rows}</table>
<h2>No footage</h2><ul>{gaps}</ul>
{f'<h2>Stills</h2>{stills}' if stills else ''}
<h2>Verification</h2><p>See <code>VERIFY.txt</code>: the package can be checked with
<code>sha256sum</code> and <code>openssl</code> alone.</p>
</body></html>
"""
