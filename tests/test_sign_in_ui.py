"""Sign-in, lock and audit screens with real widgets on real profiles (pytest-qt)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import ADMIN, ADMIN_PASSWORD, ensure_admin, signed_in
from ui.calls.microphone import inputs
from ui.desktop import Desktop
from ui.dialogs.audio import MicrophoneDialog
from ui.dialogs.audit_viewer import AuditViewer
from ui.dialogs.sign_in import ChangePasswordDialog, FirstRunDialog, LockDialog, SignInDialog
from ui.dialogs.users import UsersDialog
from ui.main_window import MainWindow
from ui.simulator_link import SimulatorLink
from ui.wall.assembly import assemble
from vms.access.admin import UserAdmin, change_setting
from vms.access.roles import Permission, Role
from vms.audit.trail import AuditTrail
from vms.devices.commissioning import Commissioning
from vms.errors import SessionExpired
from vms.profile import Profile


def test_first_run_creates_the_administrator_and_signs_in(qtbot: QtBot, tmp_path: Path) -> None:
    p = Profile(tmp_path)
    dlg = FirstRunDialog(p.access)
    qtbot.addWidget(dlg)
    dlg.user.setText("chief")
    dlg.password.setText("chief-passphrase")
    dlg.again.setText("chief-passphrase-typo")
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    assert dlg.error.text() == "The two passwords differ." and p.accounts.count() == 0
    dlg.again.setText("chief-passphrase")
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.session is not None, timeout=5000)
    assert dlg.session and (dlg.session.user, dlg.session.role) == ("chief", Role.ADMINISTRATOR)
    assert [e.action for e in p.audit.entries()] == ["user.add", "login"]
    p.close()


def test_sign_in_says_what_went_wrong(qtbot: QtBot, tmp_path: Path) -> None:
    ensure_admin(tmp_path)
    p = Profile(tmp_path)
    dlg = SignInDialog(p.access)
    qtbot.addWidget(dlg)
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    assert dlg.error.text() == "Enter your user name."
    dlg.user.setText(ADMIN)
    dlg.password.setText("not the password")
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.ok.isEnabled() and dlg.error.text() != "", timeout=5000)
    assert dlg.error.text() == "Wrong user name or password." and dlg.password.text() == ""
    for _ in range(4):
        dlg.password.setText("still wrong")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.ok.isEnabled(), timeout=5000)
    assert dlg.error.text().startswith(f"The account '{ADMIN}' is locked after 5 failed sign-ins")
    p.accounts.update(ADMIN, failed_count=0, locked_until=None)
    dlg.password.setText(ADMIN_PASSWORD)
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.session is not None, timeout=5000)
    p.close()


def test_roles_shape_the_menus_but_the_core_decides(qtbot: QtBot, tmp_path: Path) -> None:
    p, admin = signed_in(tmp_path)
    UserAdmin(p.access, admin).add("olga", Role.OPERATOR, "olga-password-1")
    op = p.access.sign_in("olga", "olga-password-1", via="desktop")
    link = SimulatorLink(tmp_path)
    live = assemble(p, op)
    win = MainWindow(link, Commissioning(p, op), live.pane)
    qtbot.addWidget(win)
    assert not win.cameras.find_button.isEnabled() and "installer" in win.cameras.find_button.toolTip()
    assert not win.open_users.isEnabled() and not win.open_audit.isEnabled()
    assert not win.open_microphone.isEnabled() and not win.cameras.can_link
    assert win.who.text() == "Signed in as olga (operator)"
    live_admin = assemble(p, admin)
    win_admin = MainWindow(link, Commissioning(p, admin), live_admin.pane)
    qtbot.addWidget(win_admin)
    assert win_admin.open_users.isEnabled() and win_admin.open_audit.isEnabled()
    assert win_admin.open_microphone.isEnabled()
    # The camera menu offers what the role may do: an operator changes no device; an
    # administrator removes devices (as 'vms devices remove' lets them) but changes no login.
    def offered(w: MainWindow) -> dict[str, bool]:
        return {a.text(): a.isEnabled() for a in w.cameras.context_menu(1).actions() if a.text()}
    assert offered(win)["Remove…"] is False and offered(win)["Change login…"] is False
    assert offered(win_admin)["Remove…"] is True and offered(win_admin)["Change login…"] is False
    # The PTZ panel follows the role too: administrators are not camera operators.
    assert live.pane.ptz.allowed and not live_admin.pane.ptz.allowed
    live.shutdown()
    live_admin.shutdown()
    p.close()


@pytest.mark.parametrize("worker_first", [False, True], ids=["timer", "worker-found-it-first"])
def test_idle_session_locks_the_window_and_only_its_password_unlocks(
        qtbot: QtBot, tmp_path: Path, worker_first: bool, site_of: Callable[..., Any]) -> None:
    p, admin = signed_in(tmp_path)
    desktop = Desktop(QApplication.instance(), p, SimulatorLink(tmp_path),  # type: ignore[arg-type]
                      site_of(p, record=False))
    win = desktop.open_window(admin)
    qtbot.addWidget(win)
    central = win.centralWidget()
    assert central is not None and central.isVisible()
    seen: dict[str, object] = {}

    def on_lock_screen() -> None:
        dlg = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, LockDialog) and w.isVisible()), None)
        if dlg is None or "started" in seen:
            return
        seen["started"] = True
        seen["hidden"] = not central.isVisible()
        seen["text"] = dlg.text.text()
        dlg.password.setText("wrong one")
        dlg.ok.click()
        qtbot.waitUntil(lambda: dlg.error.isVisible(), timeout=5000)
        seen["error"] = dlg.error.text()
        dlg.password.setText(ADMIN_PASSWORD)
        dlg.ok.click()

    admin.idle_limit_s = 600
    admin.last_active = time.monotonic() - 601
    timer_started = time.monotonic()
    poll = QTimer()
    poll.timeout.connect(on_lock_screen)
    poll.start(100)
    assert desktop.watch is not None
    if worker_first:  # a background read found the session idle before the timer did
        with pytest.raises(SessionExpired):
            p.access.require(admin, Permission.LIVE_VIEW)
        assert admin.locked
    desktop.watch.check()  # what the 2-second timer does; returns once unlocked
    poll.stop()
    assert seen["hidden"] and "Locked after 10 minutes without activity" in str(seen["text"])
    assert seen["error"] == "Wrong password."
    assert central.isVisible() and not admin.locked and time.monotonic() - timer_started < 30
    outcomes = [(e.action, e.outcome) for e in p.audit.entries()][-3:]
    assert outcomes == [("session.locked", "ok"), ("session.unlock", "failed"),
                        ("session.unlocked", "ok")]
    desktop._end_session("test over")
    assert p.audit.entries()[-1].action == "logout"
    p.close()


def test_a_temporary_password_is_changed_in_the_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    p, admin = signed_in(tmp_path)
    UserAdmin(p.access, admin).add("tom", Role.INSTALLER, "tom-first-pass")
    UserAdmin(p.access, admin).reset_password("tom", "tom-temporary-1")
    s = p.access.sign_in("tom", "tom-temporary-1", via="desktop")
    assert s.must_change_password
    dlg = ChangePasswordDialog(p.access, s, required=True)
    qtbot.addWidget(dlg)
    assert "temporary password" in dlg.text.text()
    dlg.current.setText("tom-temporary-1")
    dlg.new.setText("short")
    dlg.again.setText("short")
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.ok.isEnabled() and dlg.error.isVisibleTo(dlg), timeout=5000)
    assert dlg.error.text() == "A password needs at least 10 characters."
    dlg.new.setText("tom-own-password")
    dlg.again.setText("tom-own-password")
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not s.must_change_password, timeout=5000)
    p.close()


def test_audit_viewer_filters_verifies_and_exports(qtbot: QtBot, tmp_path: Path) -> None:
    p, admin = signed_in(tmp_path)
    UserAdmin(p.access, admin).add("olga", Role.OPERATOR, "olga-password-1")
    p.access.sign_in("olga", "olga-password-1", via="desktop")
    viewer = AuditViewer(AuditTrail(p.access, admin), [(1, "cam1")])
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.model.rowCount() > 0 and viewer.user.count() > 1, timeout=5000)
    assert viewer.model.item(0, 5).text() in ("login", "user.add", "audit.view")
    assert viewer.model.item(0, 1).text().endswith(("GMT", "BST"))
    viewer.user.setCurrentIndex(viewer.user.findData("olga"))
    viewer.load()
    qtbot.waitUntil(lambda: {viewer.model.item(r, 2).text() for r in range(viewer.model.rowCount())}
                    == {"olga"}, timeout=5000)
    viewer.verify()
    qtbot.waitUntil(lambda: viewer.verdict.text().startswith("Intact"), timeout=5000)
    viewer.export_to(tmp_path / "olga.csv")
    qtbot.waitUntil(lambda: (tmp_path / "olga.csv").exists(), timeout=5000)
    assert "olga" in (tmp_path / "olga.csv").read_text(encoding="utf-8-sig")
    con = sqlite3.connect(tmp_path / "audit.db")
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("UPDATE audit SET user = 'nobody' WHERE seq = 2")
    con.commit()
    con.close()
    viewer.verify()
    qtbot.waitUntil(lambda: viewer.verdict.text().startswith("TAMPERED"), timeout=5000)
    assert "entry 2 (" in viewer.verdict.text() and "was altered" in viewer.verdict.text()
    p.close()


def test_users_dialog_lists_and_disables(qtbot: QtBot, tmp_path: Path) -> None:
    p, admin = signed_in(tmp_path)
    UserAdmin(p.access, admin).add("olga", Role.OPERATOR, "olga-password-1")
    dlg = UsersDialog(UserAdmin(p.access, admin))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 2, timeout=5000)
    assert [dlg.model.item(r, 0).text() for r in range(2)] == ["olga", ADMIN]
    dlg.table.selectRow(0)
    assert dlg.buttons["toggle"].text() == "Disable" and not dlg.buttons["unlock"].isEnabled()
    dlg.toggle()
    qtbot.waitUntil(lambda: dlg.model.item(0, 2).text() == "disabled", timeout=5000)
    assert p.accounts.user("olga").disabled
    p.close()


def test_microphone_dialog_saves_the_setting_and_keeps_an_unplugged_choice(
        qtbot: QtBot, tmp_path: Path) -> None:
    p, admin = signed_in(tmp_path)
    change_setting(p.access, admin, "microphone", "USB Desk Mic (Jabra)")
    dlg = MicrophoneDialog(p.access, admin)
    qtbot.addWidget(dlg)
    names = [dlg.choice.itemText(i) for i in range(dlg.choice.count())]
    assert names[0] == "System default input"
    assert dlg.choice.currentText() == "USB Desk Mic (Jabra) (not connected)"  # not lost
    if not inputs():  # this machine has no sound card: the dialog says so
        assert "No microphone is connected" in dlg.status.text()
    dlg.choice.setCurrentIndex(0)
    dlg.save()
    qtbot.waitUntil(lambda: dlg.status.text().startswith("Saved"), timeout=5000)
    assert p.accounts.settings()["microphone"] == ""
    change = [e for e in p.audit.entries() if e.action == "settings.change"][-1]
    detail = json.loads(change.detail)
    assert detail["old"] == "USB Desk Mic (Jabra)" and detail["new"] == ""
    UserAdmin(p.access, admin).add("olga", Role.OPERATOR, "olga-password-1")
    op = p.access.sign_in("olga", "olga-password-1", via="desktop")
    dlg = MicrophoneDialog(p.access, op)  # the menu is off for operators; the core refuses too
    qtbot.addWidget(dlg)
    dlg.save()
    qtbot.waitUntil(lambda: dlg.status.text().startswith("Not saved"), timeout=5000)
    p.close()
