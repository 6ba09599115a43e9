"""Journey: an administrator's first start and user administration, through the windows only
(issue 23).

A new profile: the desktop asks for the first administrator, who signs in, opens
*Administration → Users…*, adds an operator with a temporary password, makes them a
supervisor, and signs out. The new supervisor signs in, must choose their own password, and
sees the desktop under their name.

Defect reproduced here (issue 23): *Add user does nothing* (the role came back from the combo
box as a plain string, so the dialog closed and added nobody); *Change role* had the same flaw.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.journeys.walk import answer, look_at, signing_in
from ui.desktop import Desktop
from ui.dialogs.sign_in import ChangePasswordDialog, FirstRunDialog, SignInDialog
from ui.dialogs.users import UserForm, UsersDialog
from ui.simulator_link import SimulatorLink
from vms.profile import Profile

ADMIN, ADMIN_PW = "ada-admin", "ada-keeps-the-keys-42"
NEW_USER, TEMP_PW, OWN_PW = "sam-supervisor", "temporary-pass-42", "sams-own-pass-4242"


def _users(dlg: UsersDialog) -> dict[str, list[str]]:
    m = dlg.model
    return {m.item(r, 0).text(): [m.item(r, c).text() for c in range(1, 3)]
            for r in range(m.rowCount())}


def test_first_start_adds_a_user_changes_their_role_and_they_sign_in(
        qtbot: QtBot, tmp_path: Path, site_of: Callable[..., Any]) -> None:
    profile = Profile(tmp_path / "profile")
    link = SimulatorLink(profile.data_dir)
    desktop = Desktop(QApplication.instance(), profile, link,  # type: ignore[arg-type]
                      site_of(profile, record=False))

    def first_run(dlg: FirstRunDialog) -> None:
        look_at(dlg, "journey-first-run.png")
        dlg.user.setText(ADMIN)
        dlg.password.setText(ADMIN_PW)
        dlg.again.setText(ADMIN_PW)
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)

    started: list[bool] = []
    answer(FirstRunDialog, first_run, lambda: started.append(desktop.start()))
    assert started == [True] and desktop.window is not None
    win = desktop.window
    assert ADMIN in win.who.text()

    def administer(dlg: UsersDialog) -> None:
        qtbot.waitUntil(lambda: ADMIN in _users(dlg), timeout=10000)

        def short_then_right(form: UserForm) -> None:
            form.name.setText(NEW_USER)
            form.role.setCurrentIndex(form.role.findText("Operator"))
            form.password.setText("short")
            form.again.setText("short")
            form.buttons_box.button(form.buttons_box.StandardButton.Ok).click()
            assert form.isVisible(), "a short password closed the form and lost what was typed"
            assert "at least" in form.error.text()
            form.password.setText(TEMP_PW)
            form.again.setText(TEMP_PW)
            look_at(form, "journey-add-user.png")
            form.buttons_box.button(form.buttons_box.StandardButton.Ok).click()

        answer(UserForm, short_then_right, lambda: qtbot.mouseClick(
            dlg.buttons["add"], Qt.MouseButton.LeftButton))
        qtbot.waitUntil(lambda: NEW_USER in _users(dlg), timeout=10000)
        assert _users(dlg)[NEW_USER][0] == "operator"
        assert dlg.status.text().startswith(f"Added operator '{NEW_USER}'")
        assert _users(dlg)[NEW_USER][1] == "must change password"

        row = list(_users(dlg)).index(NEW_USER)
        dlg.table.selectRow(row)

        def promote(form: UserForm) -> None:
            form.role.setCurrentIndex(form.role.findText("Supervisor"))
            form.buttons_box.button(form.buttons_box.StandardButton.Ok).click()

        answer(UserForm, promote, lambda: qtbot.mouseClick(
            dlg.buttons["role"], Qt.MouseButton.LeftButton))
        qtbot.waitUntil(lambda: _users(dlg).get(NEW_USER, [""])[0] == "supervisor",
                        timeout=10000)
        assert dlg.status.text() == f"'{NEW_USER}' is now supervisor."
        look_at(dlg, "journey-users.png")
        dlg.accept()

    answer(UsersDialog, administer, win.open_users.trigger)

    # -- the new supervisor signs in with the temporary password and chooses their own -------
    def own_password(dlg: ChangePasswordDialog) -> None:
        dlg.current.setText(TEMP_PW)
        dlg.new.setText(OWN_PW)
        dlg.again.setText(OWN_PW)
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)

    # Signing out brings up the sign-in dialog, and that the change-password one.
    answer(SignInDialog, signing_in(NEW_USER, TEMP_PW),
           lambda: answer(ChangePasswordDialog, own_password, win.sign_out.trigger))
    win = desktop.window
    assert win is not None and NEW_USER in win.who.text()
    desktop._end_session("journey over")
    profile.close()
    link.shutdown()
