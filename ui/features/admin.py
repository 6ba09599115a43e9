"""Accounts and administration: users, the audit trail, the microphone, diagnostics and the
user's own password."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from shiboken6 import isValid

from ui.dialogs.audio import MicrophoneDialog
from ui.dialogs.audit_viewer import AuditViewer
from ui.dialogs.diagnostics import DiagnosticsDialog
from ui.dialogs.sign_in import ChangePasswordDialog
from ui.dialogs.users import UsersDialog
from ui.dialogs.workstations import WorkstationsDialog
from ui.features.signed_in import SignedIn
from vms.access.admin import UserAdmin
from vms.audit.trail import AuditTrail

CLOSES_ON_LOCK = "closesOnLock"  # a side window the lock screen shuts


class AdminFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        self._side: QDialog | None = None
        win = ctx.window
        win.open_users.triggered.connect(
            lambda: UsersDialog(UserAdmin(ctx.access, ctx.session), win).exec())
        win.open_audit.triggered.connect(self.show_audit)
        win.open_about.triggered.connect(
            lambda: DiagnosticsDialog(ctx.live.report, ctx.live.hub, win).exec())
        desk = ctx.calls.service.desk
        if desk is None:  # this profile alone: no other workstation to show
            win.open_workstations.setEnabled(False)
            win.open_workstations.setStatusTip("Only on a control room's site (--site or "
                                               "VMS_SITE)")
        else:
            win.open_workstations.triggered.connect(
                lambda: self._open_once(lambda: WorkstationsDialog(ctx.calls.service, desk, win)))
        win.open_microphone.triggered.connect(
            lambda: MicrophoneDialog(ctx.access, ctx.session, win).exec())
        win.change_password.triggered.connect(
            lambda: ChangePasswordDialog(ctx.access, ctx.session, win).exec())

    def _open_once(self, make: Callable[[], QDialog]) -> None:
        """Shown beside the desk, not over it (calls keep coming while a supervisor looks);
        one of it, raised if already open, and shut when the desk locks."""
        if self._side is not None and isValid(self._side) and self._side.isVisible():
            self._side.raise_()
            self._side.activateWindow()
            return
        dialog = make()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setProperty(CLOSES_ON_LOCK, True)
        self._side = dialog
        dialog.show()

    def show_audit(self) -> None:
        ctx = self.ctx

        def show(cams: list[tuple[int, str]]) -> None:
            AuditViewer(AuditTrail(ctx.access, ctx.session), cams, ctx.window).exec()
        ctx.after(lambda: [(d.id, d.name) for d in ctx.svc.devices()], show, "the audit trail")
