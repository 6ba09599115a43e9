"""Every window of the desktop, opened on whatever screen Qt has, must fit it (issue 23).

Not collected by itself: ``test_every_window_fits.py`` runs this file once per screen size
(1920x1080 and 1366x768) in a process of its own, since Qt's screen is fixed per process.

The windows are opened as people open them: an administrator's menus and buttons, an
evidence officer's export (the signing-key question, then the wizard), a supervisor's loan
report, a Help Point's and an intrusion's incident panes and the lock screen listing them,
an installer's device login, removal question and live events, and the dialogs of signing
in and locking. Each must lie within the screen, and be
able to shrink to fit a 1366x768 one. Every problem is collected, then all are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, choose, misfits, opened, right_click, sign_in
from ui.desktop import Desktop
from ui.dialogs.audio import MicrophoneDialog
from ui.dialogs.audit_viewer import AuditViewer
from ui.dialogs.credentials import DeviceLoginDialog
from ui.dialogs.device_details import DeviceDetailsDialog
from ui.dialogs.diagnostics import DiagnosticsDialog
from ui.dialogs.discovery import DiscoveryDialog
from ui.dialogs.events_watch import EventsWatchDialog
from ui.dialogs.preferences import PreferencesDialog
from ui.dialogs.sign_in import ChangePasswordDialog, LockDialog
from ui.dialogs.users import UserForm, UsersDialog
from ui.evidence.export_wizard import ExportWizard
from ui.evidence.signing_key import SigningKeyDialog
from ui.evidence.verify_window import VerifyWindow
from ui.loans.dashboard import ExtendDialog, LoansWindow, NewLoanDialog
from ui.loans.evaluation import EvaluationWindow
from ui.loans.feedback import AnswersDialog, FeedbackDialog
from ui.loans.report_dialog import ReportDialog
from ui.main_window import MainWindow
from ui.maps.window import MapWindow
from ui.playback.window import PlaybackWindow
from ui.reports.window import ReportsWindow
from ui.simulator_link import SimulatorLink
from vms.access.roles import Role
from vms.profile import Profile

ADMIN, ADMIN_PW = "ada-admin", "ada-administers-1"
OFFICER, OFFICER_PW = "eve-evidence", "eve-exports-77"
SUPERVISOR, SUPERVISOR_PW = "sam-supervisor", "sam-supervises-5"
INSTALLER, INSTALLER_PW = "ian-installer", "ian-installs-3"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, registered=("cam1", "hp1", "pid1"), users={
            ADMIN: (Role.ADMINISTRATOR, ADMIN_PW), OFFICER: (Role.EVIDENCE_OFFICER, OFFICER_PW),
            SUPERVISOR: (Role.SUPERVISOR, SUPERVISOR_PW),
            INSTALLER: (Role.INSTALLER, INSTALLER_PW)}) as both:
        yield both


def test_every_window_fits_this_screen(qtbot: QtBot, site: tuple[Sim, Profile],
                                       site_of: Callable[..., Any]) -> None:
    sim, profile = site
    problems: list[str] = []
    seen: list[str] = []

    def check(w: QWidget, name: str) -> None:
        qtbot.waitUntil(w.isVisible, timeout=10000)
        qtbot.wait(50)  # the window system places it
        seen.append(name)
        problems.extend(misfits(w, name))

    def check_and_close(name: str) -> Callable[[QDialog], None]:
        def act(dlg: QDialog) -> None:
            check(dlg, name)
            dlg.reject()
        return act

    link = SimulatorLink(profile.data_dir)
    desktop = Desktop(QApplication.instance(), profile, link,  # type: ignore[arg-type]
                      site_of(profile))

    def as_(user: str, password: str) -> MainWindow:
        sign_in(desktop, user, password)
        assert desktop.window is not None
        return desktop.window

    # -- an administrator's day ------------------------------------------------------------
    win = as_(ADMIN, ADMIN_PW)
    check(win, "main window")
    answer(UsersDialog, check_and_close("users"), win.open_users.trigger)
    answer(AuditViewer, check_and_close("audit trail"), win.open_audit.trigger)
    answer(DiagnosticsDialog, check_and_close("about / diagnostics"), win.open_about.trigger)
    answer(MicrophoneDialog, check_and_close("microphone"), win.open_microphone.trigger)
    answer(PreferencesDialog, check_and_close("sound and display"), win.open_preferences.trigger)
    answer(DiscoveryDialog, check_and_close("find cameras"), win.cameras.find_button.click)
    qtbot.waitUntil(lambda: win.cameras.tree.model().rowCount() > 0, timeout=15000)
    answer(DeviceDetailsDialog, check_and_close("device details"),
           lambda: choose(right_click(win.cameras.tree, "cam1"), "Device details…"))

    def form(dlg: UsersDialog) -> None:
        answer(UserForm, check_and_close("add user"), dlg.buttons["add"].click)
        dlg.reject()
    answer(UsersDialog, form, win.open_users.trigger)

    play = opened(qtbot, PlaybackWindow, win.open_playback.trigger)
    check(play, "playback")
    play.close()

    site_map = opened(qtbot, MapWindow, win.open_maps.trigger)
    check(site_map, "site map")
    site_map.close()

    loans = opened(qtbot, LoansWindow, win.open_loans.trigger)
    check(loans, "loans")
    qtbot.waitUntil(loans.new.isEnabled, timeout=10000)

    def new_loan(dlg: NewLoanDialog) -> None:
        check(dlg, "new loan")
        dlg.name.setText("Elm Road")
        dlg.address.setText("Elm Road, Northampton NN1 1AA")
        dlg.urn.setText("NP-ELM")
        kit = next(dlg.kit.item(i) for i in range(dlg.kit.count())
                   if dlg.kit.item(i).text() == "pid1")
        kit.setCheckState(Qt.CheckState.Checked)
        dlg.buttons.accepted.emit()
    answer(NewLoanDialog, new_loan, lambda: qtbot.mouseClick(loans.new, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: loans.all.rowCount() == 1, timeout=10000)
    loans.all.selectRow(0)
    answer(ExtendDialog, check_and_close("paid extension"),
           lambda: qtbot.mouseClick(loans.extend, Qt.MouseButton.LeftButton))
    evaluation = opened(qtbot, EvaluationWindow, lambda: qtbot.mouseClick(
        loans.evaluation, Qt.MouseButton.LeftButton), 15000)
    check(evaluation, "crime evaluation")
    evaluation.close()
    loans.close()
    reports = opened(qtbot, ReportsWindow, win.open_reports.trigger)
    with qtbot.waitSignal(reports.shown, timeout=30000):  # a report on screen, not just a form
        qtbot.mouseClick(reports.make_button, Qt.MouseButton.LeftButton)
    check(reports, "programme reports")
    reports.kind.setCurrentIndex(reports.kind.findData("loans"))  # the crime fields shown too
    check(reports, "programme reports (loans)")
    reports.close()

    def locked(dlg: LockDialog) -> None:
        check(dlg, "lock screen")
        dlg.password.setText(ADMIN_PW)
        dlg.ok.click()
    answer(LockDialog, locked, win.lock_now.trigger)
    answer(ChangePasswordDialog, check_and_close("change password"), win.change_password.trigger)
    desktop._end_session("next person")

    # -- an evidence officer: the key question, the wizard, the verify window ----------------
    win = as_(OFFICER, OFFICER_PW)

    def key(dlg: SigningKeyDialog) -> None:
        check(dlg, "evidence signing key")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=30000)
    wizard = opened(qtbot, ExportWizard,
                    lambda: answer(SigningKeyDialog, key, win.open_export.trigger))
    check(wizard, "export wizard")
    wizard.reject()
    verify = opened(qtbot, VerifyWindow, win.open_verify.trigger)
    check(verify, "verify evidence")
    verify.close()
    desktop._end_session("next person")

    # -- a supervisor: the loan's report -----------------------------------------------------
    win = as_(SUPERVISOR, SUPERVISOR_PW)
    check(win, "main window (supervisor)")
    loans = opened(qtbot, LoansWindow, win.open_loans.trigger)
    qtbot.waitUntil(lambda: loans.all.rowCount() == 1, timeout=10000)
    loans.all.selectRow(0)
    report = opened(qtbot, ReportDialog,
                    lambda: qtbot.mouseClick(loans.report, Qt.MouseButton.LeftButton))
    check(report, "loan report")
    report.close()
    feedback = opened(qtbot, FeedbackDialog,
                      lambda: qtbot.mouseClick(loans.feedback, Qt.MouseButton.LeftButton))
    check(feedback, "victim feedback")
    answers = opened(qtbot, AnswersDialog,
                     lambda: qtbot.mouseClick(feedback.read, Qt.MouseButton.LeftButton))
    check(answers, "feedback answers")
    answers.close()
    feedback.close()
    loans.close()

    # -- calls: a Help Point's pane, an intrusion's (the tall one), the lock screen listing both
    calls = desktop.calls
    assert calls is not None
    for device, act, name in (("hp1", ("press", "hp1"), "incident pane (Help Point call)"),
                              ("pid1", ("intrude", "pid1", "--duration", "1"),
                               "incident pane (intrusion)")):
        sim.cli(*act)
        qtbot.waitUntil(lambda d=device: any(p.isVisible() and p.incident.device == d  # type: ignore[misc]
                                             for p in calls.panes.values()), timeout=20000)
        check(next(p for p in calls.panes.values() if p.incident.device == device), name)

    def locked_with_calls(dlg: LockDialog) -> None:
        qtbot.waitUntil(lambda: dlg.answer.isVisible(), timeout=10000)
        check(dlg, "lock screen with calls waiting")
        dlg.password.setText(SUPERVISOR_PW)
        dlg.ok.click()
    answer(LockDialog, locked_with_calls, win.lock_now.trigger)
    sim.cli("release", "hp1")
    desktop._end_session("next person")

    # -- an installer: a device's login, its removal, its events live ------------------------
    win = as_(INSTALLER, INSTALLER_PW)
    qtbot.waitUntil(lambda: win.cameras.tree.model().rowCount() > 0, timeout=15000)
    answer(DeviceLoginDialog, check_and_close("change login"),
           lambda: choose(right_click(win.cameras.tree, "cam1"), "Change login…"))
    answer(QMessageBox, check_and_close("remove device?"),
           lambda: choose(right_click(win.cameras.tree, "cam1"), "Remove…"))

    def details(dlg: DeviceDetailsDialog) -> None:
        answer(EventsWatchDialog, check_and_close("watch events"), dlg.watch_button.click)
        dlg.reject()
    answer(DeviceDetailsDialog, details,
           lambda: choose(right_click(win.cameras.tree, "hp1"), "Device details…"))
    desktop._end_session("journey over")
    link.shutdown()
    print("checked:", ", ".join(seen))
    assert not problems, "\n".join(problems)
