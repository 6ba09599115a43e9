"""Journey: a loans coordinator records a loan of a perimeter camera, then tries to lend the same
camera again, through the desktop's Loans window (issue 22: a loan that failed its checks still
saved the victim's name and phone number as an orphan site).

Set-up outside the windows: the simulated site, the coordinator's account and the registered
perimeter camera (adding users and devices are other journeys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, USER, Sim, signed_in
from tests.journeys.walk import answer, look_at, shown
from ui.desktop import Desktop
from ui.dialogs.sign_in import SignInDialog
from ui.loans.dashboard import LoansWindow, NewLoanDialog
from ui.site_link import SiteLink
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.commissioning import Commissioning
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


def _fill(name: str, urn: str, contact: str) -> Callable[[NewLoanDialog], None]:
    def act(dlg: NewLoanDialog) -> None:
        dlg.name.setText(name)
        dlg.address.setText(f"{name}, Northampton NN1 1AA")
        dlg.urn.setText(urn)
        dlg.contact.setText(contact)
        kit = next(dlg.kit.item(i) for i in range(dlg.kit.count())
                   if dlg.kit.item(i).text() == "pid1")
        kit.setCheckState(Qt.CheckState.Checked)
        look_at(dlg, "journey-new-loan.png")
        dlg.buttons.accepted.emit()  # OK
    return act


def test_a_coordinator_lends_a_camera_and_cannot_lend_it_twice(
        qtbot: QtBot, profile: Profile, site_of: Callable[..., Any]) -> None:
    desktop = Desktop(QApplication.instance(), profile, SiteLink(profile.data_dir),  # type: ignore[arg-type]
                      site_of(profile))

    def sign_in(dlg: SignInDialog) -> None:
        dlg.user.setText(COORDINATOR)
        dlg.password.setText(COORDINATOR_PW)
        dlg.ok.click()

    answer(SignInDialog, sign_in, desktop.start)
    win = desktop.window
    assert win is not None and win.open_loans.isEnabled()
    win.open_loans.trigger()
    loans = shown(LoansWindow)
    assert loans is not None
    qtbot.waitUntil(lambda: loans.new.isEnabled(), timeout=10000)

    answer(NewLoanDialog, _fill("Elm Road", "NP-ELM", "Mrs A Example, 07700 900123"),
           lambda: qtbot.mouseClick(loans.new, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: "Elm Road: loan recorded" in loans.status.text(), timeout=10000)

    def sites() -> list[str]:
        return [loans.all.item(r, 0).text() for r in range(loans.all.rowCount())]
    qtbot.waitUntil(lambda: sites() == ["Elm Road"], timeout=10000)

    said: list[str] = []

    def read(box: QMessageBox) -> None:
        said.append(box.text())
        box.accept()

    def second_loan() -> None:
        answer(NewLoanDialog, _fill("Rowan Walk", "NP-ROWAN", "Mr B Victim, 07700 900456"),
               lambda: qtbot.mouseClick(loans.new, Qt.MouseButton.LeftButton))
        qtbot.waitUntil(lambda: bool(said), timeout=10000)

    answer(QMessageBox, read, second_loan)
    assert "pid1 is already deployed elsewhere" in said[0]
    loans.refresh()
    qtbot.wait(500)
    assert sites() == ["Elm Road"]  # the refused loan left no site, and no name or phone
    look_at(loans, "journey-loans-after-refusal.png")
    loans.close()
    desktop._end_session("journey over")
