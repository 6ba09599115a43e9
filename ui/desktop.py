"""The desktop's session lifecycle: first run, sign in, the main window, lock and sign out.

A session locks after the profile's idle time without keyboard or mouse input (and on
Ctrl+L): the window's contents are hidden until the same user's password is given, or
the user signs out and someone else signs in. Signing out closes the window; the site
service (calls, recording, evidence locks) and a simulated site carry on for the next
user: they run from start to quit, whoever is signed in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from ui import tasks
from ui.calls.centre import CallCentre
from ui.calls.desk import CallDesk
from ui.dialogs.audio import MicrophoneDialog
from ui.dialogs.audit_viewer import AuditViewer
from ui.dialogs.credentials import DeviceLoginDialog
from ui.dialogs.device_details import DeviceDetailsDialog
from ui.dialogs.diagnostics import DiagnosticsDialog
from ui.dialogs.discovery import DiscoveryDialog, defaults_for
from ui.dialogs.events_watch import EventsWatchDialog
from ui.dialogs.links import LinksDialog
from ui.dialogs.sign_in import ChangePasswordDialog, FirstRunDialog, LockDialog, SignInDialog
from ui.dialogs.users import UsersDialog
from ui.evidence.export_wizard import ExportWizard
from ui.evidence.signing_key import SigningKeyDialog
from ui.evidence.verify_window import VerifyWindow
from ui.loans.dashboard import LoansWindow
from ui.loans.evaluation import EvaluationWindow
from ui.loans.report_dialog import ReportDialog
from ui.main_window import MainWindow
from ui.playback.window import PlaybackWindow
from ui.site_link import SiteLink
from ui.wall.assembly import LiveWall, assemble
from vms.access.admin import UserAdmin
from vms.access.roles import Permission
from vms.access.session import Session
from vms.audit.trail import AuditTrail
from vms.devices.commissioning import Commissioning
from vms.devices.links import CameraLinks
from vms.errors import VmsError
from vms.events.inspect import EventInspector
from vms.evidence.service import TSA_SETTING, EvidenceService
from vms.evidence.signing import SigningKeySetup
from vms.evidence.verify import Report
from vms.loans.loans import Deployment, Loans, Site
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.recording.onair import RecordingWatch
from vms.recording.timeline_data import TimelineData
from vms.registry.repo import DeviceRow
from vms.site.client import SiteClient
from vms.site.service import SiteService

T = TypeVar("T")


@dataclass(frozen=True)
class _ExportInputs:
    key_ready: bool
    cameras: list[tuple[int, str]]
    tsa: str
    incidents: list[Any]


CHECK_IDLE_MS = 2000
_INPUT = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
          QEvent.Type.Wheel, QEvent.Type.TouchBegin}


class IdleWatch(QObject):
    """Counts keyboard and mouse input as activity; locks the session when it runs out."""

    def __init__(self, session: Session, on_idle: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self.session = session
        self.on_idle = on_idle
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_IDLE_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self.session.touch()
        return False

    def check(self) -> None:
        """Locked or idle, and the lock screen not up yet: show it. The session may have been
        locked already by a worker that found it idle first; the screen must still lock."""
        s = self.session
        if not s.ended and (s.locked or s.idle_expired()):
            self.on_idle()


class Desktop(QObject):
    def __init__(self, app: QApplication, profile: Profile, link: SiteLink,
                 site: SiteService | SiteClient) -> None:
        super().__init__()
        self.app = app
        self.site = site
        self.profile = profile
        self.access = profile.access
        self.link = link
        self.session: Session | None = None
        self.window: MainWindow | None = None
        self.watch: IdleWatch | None = None
        self.lock_screen_up = False  # its dialog runs a nested event loop: lock only once
        self.svc: Commissioning | None = None
        self.live: LiveWall | None = None
        self.calls: CallDesk | None = None
        self.recordings: RecordingIndex | None = None
        self.export_draft: dict[str, str] = {}  # the export wizard's fields, kept for reopening
        app.setQuitOnLastWindowClosed(False)

    # -- signing in ---------------------------------------------------------------
    def sign_in(self, note: str = "") -> Session | None:
        """Environment (scripted runs), else first run or the sign-in dialog."""
        session: Session | None = None
        user, pw = os.environ.get("VMS_USER", ""), os.environ.get("VMS_PASSWORD")
        if user and pw is not None and not note and self.profile.accounts.count():
            try:
                session = self.access.sign_in(user, pw, via="desktop")
            except VmsError as exc:
                note = f"Could not sign in as {user}: {exc}."
        if session is None:
            if self.profile.accounts.count() == 0:
                first = FirstRunDialog(self.access)
                first.exec()
                session = first.session
            else:
                dlg = SignInDialog(self.access, note=note)
                dlg.exec()
                session = dlg.session
        if session is not None and session.must_change_password:
            change = ChangePasswordDialog(self.access, session, required=True)
            if change.exec() != QDialog.DialogCode.Accepted:
                self.access.sign_out(session, "did not change a temporary password")
                return None
        return session

    def start(self, note: str = "") -> bool:
        session = self.sign_in(note)
        if session is None:
            return False
        self.open_window(session)
        return True

    # -- the window ---------------------------------------------------------------
    def open_window(self, session: Session) -> MainWindow:
        self.session = session
        self.svc = Commissioning(self.profile, session)
        self.live = assemble(self.profile, session)
        # Calls, alarms and health come from the site service (this process's or another's);
        # it also records and locks. The index is opened here for playback and export.
        centre = CallCentre(self.profile, session, self.site)
        self.recordings = RecordingIndex(self.profile.data_dir / "recordings.db")
        self.live.pane.watch_recording(RecordingWatch(self.recordings).poll)
        self.calls = CallDesk(self.profile, centre, self.live.hub, self.recordings)
        win = MainWindow(self.link, self.svc, self.live.pane, self.calls.queue_pane)
        self.calls.message.connect(lambda text: win.statusBar().showMessage(text, 10000))
        self.calls.pane_shown.connect(lambda _iid, _t: self._call_over_fullscreen())
        centre.health_changed.connect(win.devices.update_health)
        for h in list(centre.health.values()):
            win.devices.update_health(dataclasses.replace(h))
        tasks.run(self.svc.devices, self.calls.start,
                  lambda e: win.statusBar().showMessage(f"Events are not watched: {e}"))
        self.window = win
        win.open_about.triggered.connect(self.show_about)
        win.cameras.find_requested.connect(self.find_cameras)
        win.cameras.links_requested.connect(self.show_links)
        win.cameras.details_requested.connect(self.show_device_details)
        win.cameras.login_requested.connect(self.change_device_login)
        win.cameras.remove_requested.connect(self.remove_device)
        win.lock_now.triggered.connect(lambda: self.lock("locked by the user"))
        win.sign_out.triggered.connect(lambda: self.sign_out("signed out"))
        win.change_password.triggered.connect(
            lambda: ChangePasswordDialog(self.access, session, win).exec())
        win.open_audit.triggered.connect(self.show_audit)
        win.open_playback.triggered.connect(self.show_playback)
        win.open_export.triggered.connect(lambda: self.show_export([], None, None))
        win.open_verify.triggered.connect(self.show_verify)
        win.open_users.triggered.connect(self.show_users)
        win.open_loans.triggered.connect(self.show_loans)
        win.open_evaluation.triggered.connect(lambda: self.show_evaluation(None))
        win.open_microphone.triggered.connect(
            lambda: MicrophoneDialog(self.access, session, win).exec())
        win.closed.connect(self.quit)
        win.confirm_close = self._confirm_close
        self.watch = IdleWatch(session, lambda: self.lock("inactivity"), win)
        self.app.installEventFilter(self.watch)
        win.showMaximized()  # a control-room desk uses the whole screen
        return win

    def find_cameras(self) -> None:
        if self.svc and self.window:
            DiscoveryDialog(self.svc, defaults_for(self.link.last_status), self.window).exec()

    def _after(self, read: Callable[[], T], show: Callable[[T], None], what: str) -> None:
        """Read what a window needs off the GUI thread (the registry, the keyring, the
        incidents), then open it; if reading fails, say so in the status bar."""
        win = self.window
        if win is None:
            return

        def shown(value: T) -> None:
            if self.window is win:  # still the same session's window
                show(value)

        tasks.run(read, shown,
                  lambda e: win.statusBar().showMessage(f"Cannot open {what}: {e}", 10000))

    def show_links(self, device_id: int) -> None:
        svc, session, live = self.svc, self.session, self.live
        if not (session and self.window and svc and live):
            return

        def show(rows: list[DeviceRow]) -> None:
            device = next((r for r in rows if r.id == device_id), None)
            if device is not None and self.window is not None:
                links = CameraLinks(self.profile, session, live.ptz)  # the wall's PTZ clients
                LinksDialog(links, device, rows, self.window).exec()
        self._after(svc.devices, show, "the linked cameras")

    def show_device_details(self, device_id: int) -> None:
        session, profile = self.session, self.profile

        def watch(device: DeviceRow, parent: QWidget) -> object:
            assert session is not None
            return EventsWatchDialog(EventInspector(profile, session), device, parent).exec()
        offer = session is not None and self.access.can(session, Permission.DEVICE_DISCOVER)
        self._with_device(device_id, lambda svc, win, device, _user: DeviceDetailsDialog(
            device, win, watch if offer else None).exec(), "the device details")

    def _with_device(self, device_id: int,
                     show: Callable[[Commissioning, MainWindow, DeviceRow, str | None], object],
                     what: str, login: bool = False) -> None:
        """``show(service, window, device, stored user name)``, the device (and, if ``login``,
        the user name kept in the keyring) read off the GUI thread."""
        svc, win = self.svc, self.window
        if not (svc and win):
            return

        def read() -> tuple[DeviceRow, str | None] | None:
            device = next((r for r in svc.devices() if r.id == device_id), None)
            if device is None:
                return None
            return device, svc.kept_user(device) if login else None

        def shown(found: tuple[DeviceRow, str | None] | None) -> None:
            if found is not None:
                show(svc, win, *found)
        self._after(read, shown, what)

    def change_device_login(self, device_id: int) -> None:
        def show(svc: Commissioning, win: MainWindow, device: DeviceRow, user: str | None) -> None:
            dlg = DeviceLoginDialog(device.name, user or "admin",
                                    lambda user, pw: svc.change_login(device_id, user, pw), win)
            if dlg.exec() == QDialog.DialogCode.Accepted:
                win.statusBar().showMessage(f"{device.name}: the new login works and is kept "
                                            "in the keyring.", 10000)
        self._with_device(device_id, show, "the device's login", login=True)

    def remove_device(self, device_id: int) -> None:
        def show(svc: Commissioning, win: MainWindow, device: DeviceRow, _user: str | None) -> None:
            answer = QMessageBox.question(
                win, "Remove device — Beacon VMS",
                f"Remove {device.name} ({device.location or device.site})? Beacon stops showing "
                "and recording it and deletes its password from the keyring. Its recordings and "
                "its audit stay.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
            tasks.run(lambda: svc.remove(device_id),
                      lambda name: win.statusBar().showMessage(f"Removed {name}.", 10000),
                      lambda e: win.statusBar().showMessage(
                          f"{device.name} was not removed: {e}"))
        self._with_device(device_id, show, "the device")

    def show_audit(self) -> None:
        svc, session = self.svc, self.session
        if not (session and self.window and svc):
            return

        def show(cams: list[tuple[int, str]]) -> None:
            AuditViewer(AuditTrail(self.access, session), cams, self.window).exec()
        self._after(lambda: [(d.id, d.name) for d in svc.devices()], show, "the audit trail")

    def show_playback(self) -> None:
        svc, session, calls, index = self.svc, self.session, self.calls, self.recordings
        if not (session and self.window and svc and calls and index):
            return

        def read() -> tuple[list[tuple[int, str]], set[int]]:
            cams = [(d.id, d.name) for d in svc.devices()
                    if self.access.can(session, Permission.PLAYBACK, d)]
            return cams, index.cameras()

        def show(got: tuple[list[tuple[int, str]], set[int]]) -> None:
            cams, have = got
            data = TimelineData(index, calls.centre.store, session.user)
            win = PlaybackWindow(data, cams, self.window)
            win.export_requested.connect(lambda ids, a, b: self.show_export(ids, a, b, win))
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            win.show()
            win.choose([cid for cid, _ in cams if cid in have][:1])
        self._after(read, show, "playback")

    def show_export(self, chosen: list[int], start: float | None, end: float | None,
                    parent: QWidget | None = None, incident_id: int | None = None) -> None:
        """The export wizard, from a timeline selection, an incident or the menu. What it
        needs (the right, the key's state, cameras, incidents) is read off the GUI thread."""
        svc, session, index, calls = self.svc, self.session, self.recordings, self.calls
        if not (session and self.window and svc and index):
            return
        service = EvidenceService(self.profile, session, index)
        keys = SigningKeySetup(self.profile, session)

        def read() -> _ExportInputs | None:
            if not self.access.can(session, Permission.EVIDENCE_EXPORT):
                return None
            cams = [(d.id, d.name) for d in svc.devices()
                    if self.access.can(session, Permission.EVIDENCE_EXPORT, d)]
            return _ExportInputs(keys.ready, cams,
                                 self.access.accounts.settings().value(TSA_SETTING),
                                 service.incidents(calls.centre.store) if calls else [])

        def show(got: _ExportInputs | None) -> None:
            owner = parent or self.window
            if got is None:
                QMessageBox.information(owner, "Export evidence — Beacon VMS",
                                        "Exporting evidence needs the evidence officer role. "
                                        "The selected footage is kept; ask an evidence "
                                        "officer to export it.")
                return
            if not got.key_ready:  # asked now, not on the wizard's last page
                ask = SigningKeyDialog(keys, parent=owner)
                if ask.exec() != QDialog.DialogCode.Accepted or self.window is None:
                    return
                self.window.statusBar().showMessage(
                    "Evidence signing key set up: give recipients evidence/root.crt from this "
                    "profile to check packages.", 15000)
            now = dt.datetime.now(dt.UTC)
            a = dt.datetime.fromtimestamp(start, dt.UTC) if start else \
                now - dt.timedelta(minutes=10)
            b = dt.datetime.fromtimestamp(end, dt.UTC) if end else now
            wiz = ExportWizard(service, got.cameras, chosen, a, b,
                               Path.home() / "Evidence exports", got.tsa, owner, got.incidents)
            if incident_id is not None:
                wiz.choose_incident(incident_id)
            wiz.restore(self.export_draft)
            wiz.finished.connect(lambda _r: setattr(self, "export_draft", wiz.draft()))
            wiz.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            wiz.show()
        self._after(read, show, "the export")

    def show_loans(self) -> None:
        svc, session = self.svc, self.session
        if not (session and svc and self.window):
            return

        def read() -> tuple[Loans, list[tuple[int, str]]]:
            return Loans(self.profile, session), [(d.id, d.name) for d in svc.devices()]

        def show(got: tuple[Loans, list[tuple[int, str]]]) -> None:
            loans, cams = got
            win = LoansWindow(loans, cams, parent=self.window)
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            win.destroyed.connect(lambda _o=None: loans.close())
            win.report_requested.connect(lambda did: self.show_loan_report(did, win))
            win.evaluation_requested.connect(self.show_evaluation)
            win.show()
        self._after(read, show, "the loans")

    def show_loan_report(self, deployment_id: int, parent: QWidget | None = None) -> None:
        triage = self.calls.triage if self.calls else None
        if triage is None or not self.window:
            return
        dlg = ReportDialog(triage, deployment_id, parent or self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()

    def show_evaluation(self, site_id: int | None) -> None:
        """Crime around a loan's site; the crime files' folder is the ``crimes_dir`` setting."""
        if not (self.session and self.window):
            return
        session = self.session

        def read() -> tuple[list[Site], list[Deployment], str]:
            loans = Loans(self.profile, session)
            try:
                return (loans.sites(), loans.deployments(include_removed=True),
                        self.access.accounts.settings().value("crimes_dir"))
            finally:
                loans.close()

        def show(got: tuple[list[Site], list[Deployment], str]) -> None:
            win = EvaluationWindow(got[2], got[0], got[1], self.window)
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            if site_id is not None:
                win.choose_site(site_id)
            win.show()
        win = self.window
        tasks.run(read, show, lambda e: win.statusBar().showMessage(
            f"Cannot open the evaluation: {e}", 10000))

    def show_verify(self) -> VerifyWindow | None:
        if not (self.session and self.window):
            return None
        own = self.profile.data_dir / "evidence"
        root = own / "root.crt" if (own / "root.crt").exists() else None
        tsa = own / "tsa-root.pem" if (own / "tsa-root.pem").exists() else None
        win = VerifyWindow(root, tsa, self.window)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        win.verified.connect(self._audit_verify)
        win.show()
        return win

    def _audit_verify(self, r: Report) -> None:
        session, win = self.session, self.window
        if session and win:
            tasks.run(lambda: self.access.record(session, "evidence.verify",
                                                 detail={"package": r.package,
                                                         "status": r.status,
                                                         "exhibit": r.exhibit}),
                      lambda _r: None,
                      lambda e: win.statusBar().showMessage(
                          f"The verification was not written to the audit trail: {e}"))

    def show_about(self) -> None:
        if self.window and self.live:
            DiagnosticsDialog(self.live.report, self.live.hub, self.window).exec()

    def show_users(self) -> None:
        if self.session and self.window:
            UsersDialog(UserAdmin(self.access, self.session), self.window).exec()

    def _call_over_fullscreen(self) -> None:
        """A caller must be seen at once: a fullscreen wall goes back into the main window
        (a fullscreen window would stay over the call's window, or hide behind it)."""
        win, calls = self.window, self.calls
        if win is None or calls is None or not win.wall.fullscreen:
            return
        win.wall.leave_fullscreen()
        calls.raise_front()
        win.statusBar().showMessage("Left fullscreen for a call. Press F on the wall to go back "
                                    "to fullscreen.", 15000)

    # -- locking and signing out --------------------------------------------------
    def lock(self, reason: str) -> None:
        session, win = self.session, self.window
        if session is None or win is None or session.ended or self.lock_screen_up:
            return
        self.lock_screen_up = True
        try:
            self._lock(session, win, reason)
        finally:
            self.lock_screen_up = False

    def _lock(self, session: Session, win: MainWindow, reason: str) -> None:
        self.access.lock(session, reason)
        win.wall.hide_windows(True)  # fullscreen and pop-out walls too
        if self.calls is not None:
            self.calls.hide_windows(True)
        central = win.centralWidget()
        assert central is not None
        central.hide()  # nothing on screen while locked
        calls = self.calls
        dlg = LockDialog(self.access, session, win, idle=reason == "inactivity",
                         waiting=calls.waiting_lines if calls is not None and calls.handles_calls
                         else None)
        code = dlg.exec()
        if code == LockDialog.SIGNED_OUT or session.ended:
            self.sign_out("signed out from the lock screen")
            return
        central.show()
        win.wall.hide_windows(False)
        if calls is not None:
            calls.hide_windows(False)
            if dlg.answer_after:
                calls.answer_next()

    def sign_out(self, reason: str) -> None:
        self._end_session(reason)
        if not self.start():
            self.quit()

    def _end_session(self, reason: str) -> None:
        session, win = self.session, self.window
        self.session = self.window = self.svc = None
        if self.watch is not None:
            self.app.removeEventFilter(self.watch)
            self.watch = None
        if self.calls is not None:
            self.calls.hold_mine(reason)  # while the session can still sign for it
        if session is not None:
            try:
                self.access.sign_out(session, reason)
            except VmsError as exc:
                QMessageBox.warning(None, "Beacon VMS", f"Signing out was not recorded: {exc}")
        if self.calls is not None:
            self.calls.shutdown()
            self.calls = None
        if self.recordings is not None:
            self.recordings.close()
            self.recordings = None
        if self.live is not None:
            self.live.shutdown()
            self.live = None
        if win is not None:
            win.closed.disconnect(self.quit)
            win.close()
            win.deleteLater()

    def _confirm_close(self) -> bool:
        """Closing with a call in hand: say what happens to it and let the operator choose."""
        mine = self.calls.my_calls() if self.calls is not None else []
        if not mine:
            return True
        names = ", ".join(i.device for i in mine)
        answer = QMessageBox.question(
            self.window, "Calls are open — Beacon VMS",
            f"You are handling {len(mine)} call{'s' if len(mine) != 1 else ''} ({names}).\n\n"
            "If you quit now, they go on hold in the queue for another operator to pick up. "
            "Quit anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def quit(self) -> None:
        self._end_session("desktop closed")
        tasks.wait_all()
        self.app.quit()

    def close_site(self) -> None:
        """The site service this desktop ran stops with it (its calls stay in the queue for
        the next start, or for ``vms serve``); a client just hangs up."""
        if isinstance(self.site, SiteService):
            self.site.stop()
        else:
            self.site.close()
