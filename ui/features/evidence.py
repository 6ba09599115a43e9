"""Recordings: playback, evidence export (the signing key asked for first) and verifying."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ui import tasks
from ui.evidence.export_wizard import ExportWizard
from ui.evidence.signing_key import SigningKeyDialog
from ui.evidence.verify_window import VerifyWindow
from ui.features.signed_in import SignedIn
from ui.playback.window import PlaybackWindow
from vms.access.roles import Permission
from vms.evidence.service import TSA_SETTING, EvidenceService
from vms.evidence.signing import SigningKeySetup
from vms.evidence.verify import Report
from vms.recording.timeline_data import TimelineData


@dataclass(frozen=True)
class _ExportInputs:
    key_ready: bool
    cameras: list[tuple[int, str]]
    tsa: str
    incidents: list[Any]


class EvidenceFeature:
    def __init__(self, ctx: SignedIn, export_draft: dict[str, str]) -> None:
        """``export_draft``: the export wizard's fields, kept for reopening it."""
        self.ctx = ctx
        self.export_draft = export_draft
        win = ctx.window
        win.open_playback.triggered.connect(self.show_playback)
        win.open_export.triggered.connect(lambda: self.show_export([], None, None))
        win.open_verify.triggered.connect(self.show_verify)

    def show_playback(self) -> None:
        ctx = self.ctx
        svc, session, index = ctx.svc, ctx.session, ctx.recordings

        def read() -> tuple[list[tuple[int, str]], set[int]]:
            cams = [(d.id, d.name) for d in svc.devices()
                    if ctx.access.can(session, Permission.PLAYBACK, d)]
            return cams, index.cameras()

        def show(got: tuple[list[tuple[int, str]], set[int]]) -> None:
            cams, have = got
            data = TimelineData(index, ctx.calls.service.store, session.user)
            win = PlaybackWindow(data, cams, ctx.window)
            win.export_requested.connect(lambda ids, a, b: self.show_export(ids, a, b, win))
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            win.show()
            win.choose([cid for cid, _ in cams if cid in have][:1])
        ctx.after(read, show, "playback")

    def show_export(self, chosen: list[int], start: float | None, end: float | None,
                    parent: QWidget | None = None, incident_id: int | None = None) -> None:
        """The export wizard, from a timeline selection, an incident or the menu. What it
        needs (the right, the key's state, cameras, incidents) is read off the GUI thread."""
        ctx = self.ctx
        svc, session, calls = ctx.svc, ctx.session, ctx.calls
        service = EvidenceService(ctx.profile, session, ctx.recordings)
        keys = SigningKeySetup(ctx.profile, session)

        def read() -> _ExportInputs | None:
            if not ctx.access.can(session, Permission.EVIDENCE_EXPORT):
                return None
            cams = [(d.id, d.name) for d in svc.devices()
                    if ctx.access.can(session, Permission.EVIDENCE_EXPORT, d)]
            return _ExportInputs(keys.ready, cams,
                                 ctx.access.accounts.settings().value(TSA_SETTING),
                                 service.incidents(calls.service.store))

        def show(got: _ExportInputs | None) -> None:
            owner = parent or ctx.window
            if got is None:
                QMessageBox.information(owner, "Export evidence — Beacon VMS",
                                        "Exporting evidence needs the evidence officer role. "
                                        "The selected footage is kept; ask an evidence "
                                        "officer to export it.")
                return
            if not got.key_ready:  # asked now, not on the wizard's last page
                ask = SigningKeyDialog(keys, parent=owner)
                if ask.exec() != QDialog.DialogCode.Accepted or ctx.ended:
                    return
                ctx.say("Evidence signing key set up: give recipients evidence/root.crt from "
                        "this profile to check packages.", 15000)
            now = dt.datetime.now(dt.UTC)
            a = dt.datetime.fromtimestamp(start, dt.UTC) if start else \
                now - dt.timedelta(minutes=10)
            b = dt.datetime.fromtimestamp(end, dt.UTC) if end else now
            wiz = ExportWizard(service, got.cameras, chosen, a, b,
                               Path.home() / "Evidence exports", got.tsa, owner, got.incidents)
            if incident_id is not None:
                wiz.choose_incident(incident_id)
            wiz.restore(self.export_draft)

            def keep(_result: int) -> None:
                self.export_draft.clear()
                self.export_draft.update(wiz.draft())
            wiz.finished.connect(keep)
            wiz.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            wiz.show()
        ctx.after(read, show, "the export")

    def show_verify(self) -> VerifyWindow:
        own = self.ctx.profile.data_dir / "evidence"
        root = own / "root.crt" if (own / "root.crt").exists() else None
        tsa = own / "tsa-root.pem" if (own / "tsa-root.pem").exists() else None
        win = VerifyWindow(root, tsa, self.ctx.window)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        win.verified.connect(self._audit_verify)
        win.show()
        return win

    def _audit_verify(self, r: Report) -> None:
        ctx = self.ctx
        if ctx.ended:
            return
        tasks.run(lambda: ctx.access.record(ctx.session, "evidence.verify",
                                            detail={"package": r.package, "status": r.status,
                                                    "exhibit": r.exhibit}),
                  lambda _r: None,
                  lambda e: ctx.say(f"The verification was not written to the audit trail: {e}",
                                    0))
