"""Journey: an installer adds eight devices at once, fixes one's login and removes another,
through the desktop's windows only (issue 23).

Defects reproduced here (issue 23): *no way to change a device's password or remove a device in
the desktop (re-adding silently skips it)*; *the find dialog says "scanning" before Scan is
pressed*; *double-clicking a camera in the tree opens a rename editor whose change is never
saved*. (*A scan found 8, 8, then 0 devices*: the desktop's Hello/Bye listener took the
simulator's unicast probes; ``test_discovery_hostile`` reproduces that on a shared port.)

Set-up outside the windows: the simulated site and the installer's account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, choose, logging_in, look_at, right_click, signing_in
from ui.desktop import Desktop
from ui.dialogs.credentials import CredentialsDialog, DeviceLoginDialog
from ui.dialogs.discovery import DiscoveryDialog
from ui.dialogs.sign_in import SignInDialog
from ui.simulator_link import SimulatorLink
from vms.access.roles import Role
from vms.profile import Profile

INSTALLER, INSTALLER_PW = "ivy-installer", "ivy-installs-42"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    # The default site: 4 cameras, 2 Help Points, 2 intrusion cameras.
    with simulated_site(tmp_path, clip_cache,
                        users={INSTALLER: (Role.INSTALLER, INSTALLER_PW)}) as both:
        yield both


def test_an_installer_adds_eight_cameras_changes_a_login_and_removes_one(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    _sim, profile = site
    link = SimulatorLink(profile.data_dir)
    link.watch()
    qtbot.waitUntil(lambda: link.last_status is not None, timeout=20000)
    desktop = Desktop(QApplication.instance(), profile, link,  # type: ignore[arg-type]
                      site_of(profile, record=False))

    started: list[bool] = []
    answer(SignInDialog, signing_in(INSTALLER, INSTALLER_PW),
           lambda: started.append(desktop.start()))
    assert started == [True] and desktop.window is not None
    win = desktop.window

    def find(dlg: DiscoveryDialog) -> None:
        assert "scanning" not in dlg.summary.text().lower(), dlg.summary.text()
        assert "press Scan" in dlg.summary.text()
        for attempt in range(2):  # a second scan finds them all again
            qtbot.mouseClick(dlg.scan, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: dlg.scan.isEnabled() and "finished" in dlg.summary.text(),
                            timeout=20000)
            names = sorted(dlg.model.item(r, 0).text() for r in range(dlg.model.rowCount()))
            assert len(names) == 8, f"scan {attempt + 1}: {names}"
        dlg.table.selectAll()
        sel = dlg.table.selectionModel()
        for r in range(dlg.model.rowCount()):
            sel.select(dlg.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                       | QItemSelectionModel.SelectionFlag.Rows)

        login = logging_in(PASSWORD)
        answer(CredentialsDialog, login, lambda: qtbot.mouseClick(dlg.add,
                                                                  Qt.MouseButton.LeftButton))
        statuses = lambda: [dlg.model.item(r, 4).text()  # noqa: E731
                            for r in range(dlg.model.rowCount())]
        qtbot.waitUntil(lambda: set(statuses()) == {"Added"}, timeout=120000)
        # Adding them again says so, instead of nothing.
        answer(CredentialsDialog, login, lambda: qtbot.mouseClick(dlg.add,
                                                                  Qt.MouseButton.LeftButton))
        assert set(statuses()) == {"Already registered: not added again"}
        look_at(dlg, "journey-eight-cameras-added.png")
        dlg.accept()

    answer(DiscoveryDialog, find,
           lambda: qtbot.mouseClick(win.cameras.find_button, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: win.cameras.title.text() == "Cameras (8)", timeout=15000)

    # Double-click shows the camera; it never opens an editor that saves nothing.
    tree = win.cameras.tree
    found = tree.model().match(tree.model().index(0, 0), Qt.ItemDataRole.DisplayRole, "cam3", 1,
                               Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly)
    assert found
    assert not tree.edit(found[0], tree.EditTrigger.DoubleClicked, None)  # type: ignore[call-overload]

    # -- cam3's login: a wrong password is refused on the device, the right one kept ---------
    def change_login(dlg: DeviceLoginDialog) -> None:
        dlg.password.setText("not-the-password")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.error.text() != "", timeout=20000)
        assert "password" in dlg.error.text().lower(), dlg.error.text()
        assert dlg.isVisible() and dlg.user.text() == "admin"
        look_at(dlg, "journey-change-login-refused.png")
        dlg.password.setText(PASSWORD)
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)

    menu = right_click(tree, "cam3")
    answer(DeviceLoginDialog, change_login, lambda: choose(menu, "Change login…"))
    qtbot.waitUntil(lambda: "new login works" in win.statusBar().currentMessage(), timeout=20000)

    # -- cam4 removed, after a question -------------------------------------------------------
    def confirm(box: QMessageBox) -> None:
        assert "Remove cam4" in box.text()
        look_at(box, "journey-remove-device.png")
        yes = box.button(QMessageBox.StandardButton.Yes)
        assert yes is not None
        yes.click()

    menu = right_click(tree, "cam4")
    answer(QMessageBox, confirm, lambda: choose(menu, "Remove…"))
    qtbot.waitUntil(lambda: win.cameras.title.text() == "Cameras (7)", timeout=15000)
    assert "Removed cam4" in win.statusBar().currentMessage()
    # The site service watches what was added here, and no longer what was removed.
    devices = win.devices.model
    qtbot.waitUntil(lambda: sorted(d.name for d in devices.rows if d.added and d.state == "Online")
                    == ["cam1", "cam2", "cam3", "hp1", "hp2", "pid1", "pid2"], timeout=60000)
    cam4 = next(d for d in devices.rows if d.name == "cam4")
    assert not cam4.added and cam4.events.startswith("not added"), cam4
    look_at(win, "journey-installer-cameras.png")
    actions = [e.action for e in profile.audit.entries()]
    assert actions.count("device.login") == 2 and "device.remove" in actions
    desktop._end_session("journey over")
    link.shutdown()
