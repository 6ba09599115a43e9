"""Exporting evidence as a signed-in user: permission, the cameras' facts from the registry,
the audit extract, the workstation's key, and the audit of the export itself. The CLI and
the export wizard both come through here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vms.access.roles import Permission
from vms.access.session import Session
from vms.audit.log import Filter
from vms.errors import ConfigError, IncidentError
from vms.events.store import EventStore
from vms.evidence.ca import EvidenceKeys
from vms.evidence.incident_scope import IncidentScope, recent_incidents, scope_of
from vms.evidence.package import (
    CameraFacts,
    ExportError,
    ExportJob,
    PackageBuilder,
    Producer,
    Progress,
    Request,
    Result,
)
from vms.incidents.queue import IncidentQueue
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.store.devices import DeviceRow

VIEWING = ("live.", "playback.", "recording.", "evidence.", "ptz.")
TSA_SETTING = "evidence_tsa_url"


def parse_time(text: str) -> dt.datetime:
    """ISO 8601; a time without a zone is read as Europe/London local time (what an
    operator means), and a time that does not exist or is ambiguous locally is refused."""
    from zoneinfo import ZoneInfo
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a date and time (use ISO 8601, e.g. "
                          "2026-10-25T01:30:00Z)") from None
    if t.tzinfo is None:
        zone = ZoneInfo("Europe/London")
        a, b = t.replace(tzinfo=zone, fold=0), t.replace(tzinfo=zone, fold=1)
        if a.utcoffset() != b.utcoffset():
            raise ConfigError(f"{text} happens twice in London (the clocks went back): add "
                              "'Z' or an offset, e.g. +01:00 (BST) or +00:00 (GMT)")
        if a.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != t:
            raise ConfigError(f"{text} does not exist in London (the clocks went forward)")
        t = a
    return t.astimezone(dt.UTC)


def camera_facts(profile: Profile, camera_id: int) -> CameraFacts:
    row = profile.registry.device(camera_id)
    if row is None:
        raise ConfigError(f"there is no device {camera_id}")
    main = row.stream("main")
    return CameraFacts(
        id=row.id, name=row.name, location=row.location, make=row.manufacturer,
        model=row.model, serial=row.serial, firmware=row.firmware,
        stream={"codec": main.encoding, "width": main.width, "height": main.height,
                "fps": main.fps} if main else {},
        clock_offset_s=row.clock_offset_s, clock_measured_at=row.added_at)


def audit_extract(profile: Profile, cameras: list[int], since: str,
                  package_marker: str) -> list[dict[str, Any]]:
    """Audit entries about these cameras' viewing and recording, and this export's own
    start, each as stored with its chain hash."""
    out = []
    ids = set(cameras)
    for e in profile.audit.entries(Filter(since=since)):  # viewing footage follows its time
        if (e.action.startswith(VIEWING) and profile.audit.is_about(e, ids)) or \
                package_marker in e.detail:
            out.append(e.to_json())
    return out


class EvidenceService:
    def __init__(self, profile: Profile, session: Session, index: RecordingIndex) -> None:
        self.profile = profile
        self.session = session
        self.index = index
        self.keys = EvidenceKeys(profile.data_dir, profile.credentials)

    def incidents(self, store: EventStore, limit: int = 100) -> list[IncidentScope]:
        """Recent incidents with what an export of each would take, limited to the cameras
        this user may export (an incident none of whose cameras are theirs is left out)."""
        locks, devices = self.index.locks(), self._devices()
        scopes = (self._mine(scope_of(inc, self.index, self.profile.registry, all_locks=locks),
                             devices)
                  for inc in recent_incidents(store, limit))
        return [s for s in scopes if s.cameras]

    def incident(self, store: EventStore, incident_id: int) -> IncidentScope:
        try:
            inc = IncidentQueue(self.profile, store).get(incident_id)
        except IncidentError as exc:
            raise ConfigError(str(exc)) from None
        scope = self._mine(scope_of(inc, self.index, self.profile.registry), self._devices())
        if not scope.cameras:
            raise ConfigError(f"none of incident {incident_id}'s cameras may be exported by "
                              f"{self.session.user}")
        return scope

    def _devices(self) -> dict[int, DeviceRow]:
        return {d.id: d for d in self.profile.registry.devices()}

    def _mine(self, scope: IncidentScope, devices: dict[int, DeviceRow]) -> IncidentScope:
        """Only cameras still registered (a removed one is nobody's) that this user may export."""
        mine = [(cid, name) for cid, name in scope.cameras if cid in devices and
                self.profile.access.can(self.session, Permission.EVIDENCE_EXPORT, devices[cid])]
        return dataclasses.replace(scope, cameras=mine)

    def export(self, *, cameras: list[int], start: dt.datetime, end: dt.datetime,
               exhibit: str, out_dir: Path, request: Request | None = None,
               tsa_url: str | None = None, label: str = "",
               on_progress: Callable[[Progress], None] | None = None,
               cancelled: Callable[[], bool] | None = None,
               require_request: bool = False, incident_id: int | None = None) -> Result:
        access = self.profile.access
        access.require(self.session, Permission.EVIDENCE_EXPORT, action="evidence.export")
        request = request or Request()
        if require_request and not (request.purpose.strip() and request.legal_basis.strip()):
            raise ConfigError("the request's purpose and legal basis are required")
        facts = [camera_facts(self.profile, c) for c in cameras]
        for f in facts:
            access.require(self.session, Permission.EVIDENCE_EXPORT,
                           self.profile.registry.device(f.id), action="evidence.export")
        signer = self.keys.signer()
        tsa = tsa_url or self.profile.access.accounts.settings().get(TSA_SETTING) or None
        marker = f"export-{dt.datetime.now(dt.UTC).timestamp():.6f}"
        detail: dict[str, Any] = {"exhibit": exhibit, "cameras": [f.name for f in facts],
                  "from": start.isoformat(), "to": end.isoformat(),
                  "purpose": request.purpose, "legal_basis": request.legal_basis,
                  "request": request.crime_reference, "marker": marker}
        if incident_id is not None:
            detail["incident"] = incident_id
        access.record(self.session, "evidence.export.start", detail=detail)
        job = ExportJob(cameras=facts, start=start, end=end, exhibit=exhibit, label=label,
                        producer=Producer(self.session.user, self.session.role.words),
                        request=request, tsa_url=tsa,
                        workstation=self.session.actor.workstation)
        builder = PackageBuilder(
            self.index, signer, on_progress=on_progress, cancelled=cancelled,
            audit_extract=lambda ids, since, _until: audit_extract(self.profile, ids, since,
                                                                   marker))
        try:
            result = builder.build(job, out_dir)
        except ExportError as exc:
            access.record(self.session, "evidence.export", outcome="failed",
                          detail={**detail, "error": str(exc)})
            raise
        access.record(self.session, "evidence.export",
                      detail={**detail, "package": str(result.path), "id": result.package_id,
                              "state": result.state, "bytes": result.bytes,
                              "tagmanifest_sha256": _sha256(result.path /
                                                            "tagmanifest-sha256.txt")})
        return result


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_request(path: Path) -> Request:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the request file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the request file {path} must hold a JSON object")
    return Request.from_json(data)
