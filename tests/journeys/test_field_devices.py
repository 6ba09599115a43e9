"""Journey: an installer commissions Help Points that behave like real field devices, and an
operator answers their calls, all through the desktop's windows (issues 29 and 22).

The simulated site has a Help Point without PullPoint (it can only push its events), one that
names its button's state ``State``, and a street camera. The installer signs in, finds them
with *Find cameras…*, adds them with their login, and opens *Device details…* on the push-only
Help Point to see what it claims beside what worked, and watches its events live (*Watch
events…*) while its blue light is switched. The installer signs out; an operator signs
in, and each Help Point's press arrives as a call that is accepted and closed.

Set-up outside the windows: the simulated site (started as ``vms sim`` would be) and the two
accounts (adding users in the desktop is issue 23's journey).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, Sim
from tests.helppoint_helpers import FIELD_HELP_POINTS
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, choose, logging_in, look_at, right_click, signing_in
from ui.desktop import Desktop
from ui.dialogs.credentials import CredentialsDialog
from ui.dialogs.device_details import DeviceDetailsDialog
from ui.dialogs.discovery import DiscoveryDialog
from ui.dialogs.events_watch import EventsWatchDialog
from ui.dialogs.sign_in import SignInDialog
from ui.simulator_link import SimulatorLink
from vms.access.roles import Role
from vms.profile import Profile

SITE = FIELD_HELP_POINTS + """
[[device]]
name = "cam1"
kind = "camera"
location = "Market Square"
"""
INSTALLER, INSTALLER_PW = "ivy-installer", "ivy-installs-42"
OPERATOR, OPERATOR_PW = "olga-operator", "olga-answers-42"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, config=SITE, users={
            INSTALLER: (Role.INSTALLER, INSTALLER_PW), OPERATOR: (Role.OPERATOR, OPERATOR_PW)}
            ) as both:
        yield both


def test_an_installer_commissions_field_devices_and_an_operator_answers_them(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    sim, profile = site
    link = SimulatorLink(profile.data_dir)
    link.watch()  # what the desktop does on a simulated site: its status tells discovery where
    qtbot.waitUntil(lambda: link.last_status is not None, timeout=20000)
    desktop = Desktop(QApplication.instance(), profile, link, site_of(profile))  # type: ignore[arg-type]

    # -- the installer ------------------------------------------------------------------------
    started: list[bool] = []
    answer(SignInDialog, signing_in(INSTALLER, INSTALLER_PW),
           lambda: started.append(desktop.start()))
    assert started == [True] and desktop.window is not None
    win = desktop.window  # the desktop closes its windows itself (sign-out, end of session)
    assert "ivy-installer" in win.who.text()

    def find(dlg: DiscoveryDialog) -> None:
        assert "Simulated site" in dlg.summary.text()
        qtbot.mouseClick(dlg.scan, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.model.rowCount() == 3 and dlg.scan.isEnabled(),
                        timeout=15000)
        sel = dlg.table.selectionModel()
        for r in range(dlg.model.rowCount()):
            sel.select(dlg.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                       | QItemSelectionModel.SelectionFlag.Rows)
        assert dlg.add.isEnabled()

        answer(CredentialsDialog, logging_in(PASSWORD), lambda: qtbot.mouseClick(dlg.add,
                                                                  Qt.MouseButton.LeftButton))
        rows = lambda: {dlg.model.item(r, 0).text(): dlg.model.item(r, 4).text()  # noqa: E731
                        for r in range(dlg.model.rowCount())}
        qtbot.waitUntil(lambda: set(rows().values()) == {"Added"}, timeout=90000)
        look_at(dlg, "journey-find-cameras-added.png")
        dlg.accept()

    answer(DiscoveryDialog, find,
           lambda: qtbot.mouseClick(win.cameras.find_button, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: win.cameras.title.text() == "Cameras (3)", timeout=15000)

    seen: dict[str, object] = {}

    def details(dlg: DeviceDetailsDialog) -> None:
        m = dlg.model
        seen["rows"] = {m.index(r, 0).data(): [m.index(r, c).data() for c in range(1, 4)]
                        for r in range(m.rowCount())}
        seen["events"] = dlg.events_label.text()
        look_at(dlg, "device-details.png")
        answer(EventsWatchDialog, watch, lambda: qtbot.mouseClick(dlg.watch_button,
                                                                  Qt.MouseButton.LeftButton))
        dlg.reject()

    def watch(w: EventsWatchDialog) -> None:
        """Issue 23: *no per-device commissioning view (... event inspector: today only vms
        events)*. The push-only Help Point's events, live, in the desktop: its state when
        subscribed, then its blue light switched at the device."""
        qtbot.waitUntil(lambda: "Subscribed" in w.state.text(), timeout=20000)
        seen["subscribed"] = w.state.text()
        qtbot.waitUntil(lambda: any("state at subscription" in r[1] for r in w.rows()),
                        timeout=15000)
        sim.cli("relay", "hp-push", "on")
        qtbot.waitUntil(lambda: any("Relay" in r[2] and r[3] == "Changed" for r in w.rows()),
                        timeout=15000)
        sim.cli("relay", "hp-push", "off")
        seen["watched"] = w.rows()
        look_at(w, "journey-watch-events.png")
        w.reject()

    menu = right_click(win.cameras.tree, "hp-push")
    answer(DeviceDetailsDialog, details, lambda: choose(menu, "Device details…"))
    rows = seen["rows"]
    assert isinstance(rows, dict)
    assert rows["events: PullPoint"][:2] == ["no", "failed"]
    assert rows["events: WS-BaseNotification"][:2] == ["yes", "worked"]
    assert rows["talk-back (audio backchannel)"][:2] == ["yes", "worked"]
    assert seen["events"] == "WS-BaseNotification"
    assert "pushes its events to us (WS-BaseNotification" in str(seen["subscribed"])
    watched = seen["watched"]
    assert isinstance(watched, list)
    assert any(r[1].startswith("help_button") for r in watched), watched

    # -- the operator, after the installer signs out -----------------------------------------
    answer(SignInDialog, signing_in(OPERATOR, OPERATOR_PW), win.sign_out.trigger)
    win = desktop.window
    assert win is not None and "olga-operator" in win.who.text()
    calls = desktop.calls
    assert calls is not None
    qtbot.waitUntil(lambda: len(calls.service.health) == 3 and all(
        h.state == "ok" for h in calls.service.health.values()), timeout=30000)

    for name in ("hp-push", "hp-state"):
        sim.cli("press", name)  # a member of the public presses Request Assistance
        qtbot.waitUntil(lambda n=name: any(p.isVisible() and p.incident.device == n  # type: ignore[misc]
                                           for p in calls.panes.values()), timeout=15000)
        pane = next(p for p in calls.panes.values() if p.incident.device == name)
        assert pane.incident.kind == "help_button"
        if name == "hp-push":
            look_at(pane, "journey-call-from-push-only-help-point.png")
        qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda p=pane: p.incident.state == "accepted", timeout=10000)  # type: ignore[misc]
        pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("test"))
        iid = pane.incident.id
        qtbot.mouseClick(pane.record.close_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda i=iid: i not in calls.panes, timeout=10000)  # type: ignore[misc]
        sim.cli("release", name)
    assert calls.queue_pane.items == {}
    desktop._end_session("journey over")
    link.shutdown()
