"""Journey: the desktop on a site that is not the simulator's, as `vms-desktop` runs without
`--sim`: the Devices pane lists the devices registered on the profile and whether their events
arrive, as the site service reports it; nothing asks after a simulator.

Defect reproduced here (issue 23, issue 24): *on a non-simulated site the Devices pane said
"Waiting for the site…" for ever and the status bar repeated a failed simulator poll every
second*; the pane showed the simulator's devices, not the registered ones.

Set-up outside the windows: two of a simulated site's devices registered (they stand in for
real cameras; the desktop is never told there is a simulator) and the operator's account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import look_at, sign_in
from ui.desktop import Desktop
from ui.simulator_link import SimulatorLink
from vms.access.roles import Role
from vms.profile import Profile

OPERATOR, OPERATOR_PW = "nina-nights", "nina-watches-7"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam1", "hp1")) as both:
        yield both


def test_the_devices_pane_lists_registered_devices_and_their_events_without_a_simulator(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    sim, profile = site
    link = SimulatorLink(profile.data_dir)  # never started nor watched: no --sim
    desktop = Desktop(QApplication.instance(), profile, link,  # type: ignore[arg-type]
                      site_of(profile, record=False))
    messages: list[str] = []
    link.message.connect(messages.append)
    sign_in(desktop, OPERATOR, OPERATOR_PW)
    assert desktop.window is not None
    win = desktop.window
    pane, model = win.devices, win.devices.model

    def row(name: str) -> list[str]:
        r = next(i for i, d in enumerate(model.rows) if d.name == name)
        return [model.index(r, c).data() for c in range(model.columnCount())]

    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=20000)
    assert [d.name for d in model.rows] == ["cam1", "hp1"]
    qtbot.waitUntil(lambda: all(d.state == "Online" for d in model.rows), timeout=30000)
    events = row("hp1")[2]
    assert "(PullPoint)" in events and events.startswith(("arriving", "subscribed")), events
    assert pane.title.text() == "Devices — 2 added"
    assert pane.hint.text() == "2 of 2 online"
    assert "simulat" not in pane.title.text().lower() + pane.hint.text().lower()
    look_at(win, "journey-registered-devices.png")

    # A camera drops off the network: the pane says its events stopped, in words.
    sim.cli("offline", "cam1")
    qtbot.waitUntil(lambda: row("cam1")[1] == "Not reachable", timeout=60000)
    assert row("cam1")[2].startswith("not arriving"), row("cam1")
    assert pane.hint.text() == "1 of 2 online"
    sim.cli("online", "cam1")
    qtbot.waitUntil(lambda: row("cam1")[1] == "Online", timeout=90000)

    bar = win.statusBar().currentMessage().lower()
    assert messages == [] and "sim" not in bar, (messages, bar)
    desktop._end_session("journey over")
    link.shutdown()
