"""Journey: a loans coordinator records a loan of a perimeter camera, then tries to lend the same
camera again, records a paid extension and reads the loan's report, through the desktop's
windows (issue 22: a loan that failed its checks still saved the victim's name and phone number
as an orphan site; issue 23: it also threw the form away, and the loan report counted an alarm
from before the loan existed, and its times were raw UTC ISO).

The camera is tested before it goes out: its alarm is triaged as false before the loan is
recorded, and must not appear in the loan's report. An alarm after the loan does.

Set-up outside the windows: the simulated site, the coordinator's account and the registered
perimeter camera (adding users and devices are other journeys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QListWidgetItem
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, USER, Sim, signed_in
from tests.journeys.walk import answer, intrusion_accepted, look_at, opened, shown
from ui.desktop import Desktop
from ui.dialogs.sign_in import SignInDialog
from ui.loans.dashboard import ExtendDialog, LoansWindow, NewLoanDialog
from ui.loans.report_dialog import ReportDialog
from ui.simulator_link import SimulatorLink
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.commissioning import Commissioning
from vms.profile import Profile

COORDINATOR, COORDINATOR_PW = "cara-coordinator", "cara-lends-42"


@pytest.fixture()
def profile(sim: Sim, tmp_path: Path) -> Iterator[Profile]:
    p, admin = signed_in(tmp_path / "profile")
    Commissioning(p, admin).add(sim.address("pid1"), USER, PASSWORD)
    UserAdmin(p.access, admin).add(COORDINATOR, Role.SUPERVISOR, COORDINATOR_PW)
    p.access.sign_out(admin, "set-up done")
    yield p
    p.close()


def _box_contrast(dlg: NewLoanDialog, item: QListWidgetItem) -> float:
    """How far the unticked tick box stands out from the list behind it (lightness, 0..1):
    the box is the left of the row, before its text."""
    rect = dlg.kit.visualItemRect(item)
    image = dlg.kit.viewport().grab().toImage()
    seen = [image.pixelColor(x, y).lightnessF()
            for x in range(rect.left(), rect.left() + min(24, rect.height()))
            for y in range(rect.top(), rect.bottom())]
    return max(seen) - min(seen)


def _fill(name: str, urn: str, contact: str) -> Callable[[NewLoanDialog], None]:
    def act(dlg: NewLoanDialog) -> None:
        dlg.name.setText(name)
        dlg.address.setText(f"{name}, Northampton NN1 1AA")
        dlg.urn.setText(urn)
        dlg.contact.setText(contact)
        kit = next(dlg.kit.item(i) for i in range(dlg.kit.count())
                   if dlg.kit.item(i).text() == "pid1")
        assert _box_contrast(dlg, kit) > 0.15, "issue 23: kit tick boxes invisible until ticked"
        kit.setCheckState(Qt.CheckState.Checked)
        look_at(dlg, "journey-new-loan.png")
        dlg.buttons.accepted.emit()  # OK
    return act


def _false_alarm(qtbot: QtBot, desktop: Desktop, sim: Sim, cause: str) -> None:
    """An intrusion on the loaned camera, answered and triaged false in its window."""
    iid, _pane, box = intrusion_accepted(qtbot, desktop, sim)
    box.cause.setCurrentIndex(box.cause.findData(cause))
    qtbot.mouseClick(box.false_button, Qt.MouseButton.LeftButton)
    assert desktop.calls is not None
    calls = desktop.calls
    qtbot.waitUntil(lambda: iid not in calls.panes, timeout=10000)


def test_a_coordinator_lends_a_camera_cannot_lend_it_twice_extends_it_and_reports(
        qtbot: QtBot, sim: Sim, profile: Profile, site_of: Callable[..., Any]) -> None:
    desktop = Desktop(QApplication.instance(), profile, SimulatorLink(profile.data_dir),  # type: ignore[arg-type]
                      site_of(profile))

    def sign_in(dlg: SignInDialog) -> None:
        dlg.user.setText(COORDINATOR)
        dlg.password.setText(COORDINATOR_PW)
        dlg.ok.click()

    answer(SignInDialog, sign_in, desktop.start)
    win = desktop.window
    assert win is not None and win.open_loans.isEnabled() and desktop.calls is not None
    service = desktop.calls.service
    qtbot.waitUntil(lambda: [h.state for h in service.health.values()] == ["ok"], timeout=30000)
    _false_alarm(qtbot, desktop, sim, "authorised")  # tested in the store before it goes out
    loans = opened(qtbot, LoansWindow, win.open_loans.trigger)
    qtbot.waitUntil(lambda: loans.new.isEnabled(), timeout=10000)

    answer(NewLoanDialog, _fill("Elm Road", "NP-ELM", "Mrs A Example, 07700 900123"),
           lambda: qtbot.mouseClick(loans.new, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: "Elm Road: loan recorded" in loans.status.text(), timeout=10000)

    def sites() -> list[str]:
        items = [loans.all.item(r, 0) for r in range(loans.all.rowCount())]
        return [i.text() if i is not None else "" for i in items]
    qtbot.waitUntil(lambda: sites() == ["Elm Road"], timeout=10000)

    def refused(dlg: NewLoanDialog) -> None:
        """Issue 23: a loan that failed its checks threw the whole form away; it now stays
        open with the reason in it and every field kept, until corrected or cancelled."""
        _fill("Rowan Walk", "NP-ROWAN", "Mr B Victim, 07700 900456")(dlg)
        qtbot.waitUntil(dlg.error.isVisible, timeout=10000)
        assert "pid1 is already deployed elsewhere" in dlg.error.text()
        assert dlg.isVisible() and dlg.buttons.isEnabled()
        assert (dlg.name.text(), dlg.urn.text(), dlg.contact.text()) == (
            "Rowan Walk", "NP-ROWAN", "Mr B Victim, 07700 900456")
        look_at(dlg, "journey-new-loan-refused.png")
        dlg.buttons.rejected.emit()  # Cancel: the camera is out on loan

    answer(NewLoanDialog, refused, lambda: qtbot.mouseClick(loans.new, Qt.MouseButton.LeftButton))
    loans.refresh()
    qtbot.wait(500)
    assert sites() == ["Elm Road"]  # the refused loan left no site, and no name or phone
    look_at(loans, "journey-loans-after-refusal.png")

    # -- a paid extension, an alarm while on loan, and the loan's report ------------------------
    loans.all.selectRow(0)
    assert loans.extend.isEnabled()

    def extend(dlg: ExtendDialog) -> None:
        dlg.reference.setText("INV-2026-118")
        look_at(dlg, "journey-loan-extension.png")
        dlg.buttons.accepted.emit()

    answer(ExtendDialog, extend, lambda: qtbot.mouseClick(loans.extend, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: "Elm Road: extended to" in loans.status.text(), timeout=10000)
    _false_alarm(qtbot, desktop, sim, "animal")
    loans.all.selectRow(0)
    qtbot.mouseClick(loans.report, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(ReportDialog) is not None, timeout=10000)
    report = shown(ReportDialog)
    assert report is not None
    qtbot.waitUntil(lambda: bool(report.page), timeout=15000)
    text = report.view.toPlainText()
    assert "Alarms: 1" in text, text  # the test before the loan is not the loan's alarm
    assert "Animal 1" in text and "Authorised" not in text, text
    assert "INV-2026-118" in text and "extended to" in text
    assert "False alarms on this URN in the last 12 months, all loans: 1" in text, text
    assert "T0" not in text and "T1" not in text and "T2" not in text, text  # no raw ISO times
    assert "Dec 20" in text or "Jan 20" in text or "Nov 20" in text, text
    look_at(report, "journey-loan-report.png")
    report.close()
    loans.close()
    desktop._end_session("journey over")
