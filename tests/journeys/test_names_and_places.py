"""Journey: an installer renames a camera and moves it to another area from the camera tree,
and the new name is what everyone sees, after a restart too (issue 26, "Names and places").

The tree's right-click menu opens "Name and place…"; the name is saved in the registry and
audited with the old and new; the tree regroups it under its new area and the wall's caption
says the new name at once. A second camera given the same name is refused in the dialog with
what was typed kept. Then the desktop is closed and an operator signs in: the tree and the
wall say the new name and place.

Set-up outside the windows: the simulated site, cam1 and cam2 registered, the two accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeView
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, choose, look_at, right_click
from ui.dialogs.device_place import DevicePlaceDialog
from ui.wall.pane import WallPane
from vms.access.roles import Role
from vms.audit.log import Filter
from vms.profile import Profile

INSTALLER, INSTALLER_PW = "ivy-installer", "ivy-installs-42"
OPERATOR, OPERATOR_PW = "olu-operator", "olu-watches-42"
NEW_NAME, AREA, PLACE = "Market Sq North", "Town Centre", "Market Square, north side"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache,
                        users={INSTALLER: (Role.INSTALLER, INSTALLER_PW),
                               OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam1", "cam2")) as both:
        yield both


def tree_rows(tree: QTreeView) -> set[tuple[str, str, str]]:
    """(area, place, camera) as the tree shows them."""
    model = tree.model()
    out = set()
    for a in range(model.rowCount()):
        area = model.index(a, 0)
        for p in range(model.rowCount(area)):
            place = model.index(p, 0, area)
            for c in range(model.rowCount(place)):
                out.add((str(area.data()), str(place.data()), str(model.index(c, 0, place).data())))
    return out


def captions(wall: WallPane) -> list[str]:
    return [t.name for t in wall.wall.tiles if t.device_id is not None]


@pytest.mark.timeout(300)
def test_a_renamed_and_moved_camera_is_shown_so_everywhere_after_a_restart(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    _sim, profile = site
    service = site_of(profile, record=False)
    desktop, win, _link = at_desk(profile, service, INSTALLER, INSTALLER_PW)
    tree, wall = win.cameras.tree, desktop.live.pane
    qtbot.waitUntil(lambda: sorted(captions(wall)) == ["cam1", "cam2"], timeout=20000)
    cam1 = next(r.id for r in profile.registry.devices() if r.name == "cam1")
    qtbot.waitUntil(lambda: service.health.get(cam1) is not None
                    and service.health[cam1].subscriptions > 0, timeout=20000)
    watching = service.health[cam1]
    subscriptions = watching.subscriptions

    # -- cam1 gets the name operators know it by, in the town centre ---------------------------
    def rename(dlg: DevicePlaceDialog) -> None:
        assert dlg.name.text() == "cam1"
        dlg.name.setText(NEW_NAME)
        dlg.area.setCurrentText(AREA)  # a new area, typed in
        dlg.location.setText(PLACE)
        look_at(dlg, "journey-name-and-place.png")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)

    answer(DevicePlaceDialog, rename, lambda: choose(right_click(tree, "cam1"), "Name and place…"))
    qtbot.waitUntil(lambda: (AREA, PLACE, NEW_NAME) in tree_rows(tree), timeout=15000)
    assert win.statusBar().currentMessage() == \
        "Saved: Market Sq North, Market Square, north side, in Town Centre."
    qtbot.waitUntil(lambda: NEW_NAME in captions(wall), timeout=5000)  # at once, not at restart
    assert wall.wall.tiles[wall.wall.selected].name == NEW_NAME  # the first tile, selected
    qtbot.waitUntil(lambda: wall.ptz.title.text() == f"PTZ — {NEW_NAME}", timeout=5000)
    look_at(win, "journey-renamed-camera.png")

    # -- cam2 given the same name: refused in words, what was typed kept -----------------------
    def clash(dlg: DevicePlaceDialog) -> None:
        dlg.name.setText("market sq north")
        qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.error.text() != "", timeout=10000)
        assert "already called 'market sq north'" in dlg.error.text(), dlg.error.text()
        assert dlg.isVisible() and dlg.name.text() == "market sq north"
        dlg.reject()

    # The site service follows the rename without restarting the camera's subscription
    # (a restart could miss a press): events carry the new name from now on.
    qtbot.waitUntil(lambda: service.health[cam1].device == NEW_NAME, timeout=15000)
    assert service.health[cam1] is watching and watching.subscriptions == subscriptions

    answer(DevicePlaceDialog, clash, lambda: choose(right_click(tree, "cam2"), "Name and place…"))
    assert any(row[2] == "cam2" for row in tree_rows(tree))
    desktop._end_session("the installer is done")

    # -- after a restart, an operator sees the new name and place ------------------------------
    desktop, win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR, OPERATOR_PW)
    tree, wall = win.cameras.tree, desktop.live.pane
    qtbot.waitUntil(lambda: (AREA, PLACE, NEW_NAME) in tree_rows(tree), timeout=20000)
    assert not any(row[2] == "cam1" for row in tree_rows(tree))
    qtbot.waitUntil(lambda: sorted(captions(wall)) == ["Market Sq North", "cam2"], timeout=20000)
    tile = next(t for t in wall.wall.tiles if t.name == NEW_NAME)
    assert tile.place == PLACE
    qtbot.waitUntil(lambda: tile.shown >= 3, timeout=30000)  # live, under its new name
    menu = right_click(tree, NEW_NAME)
    place_item = next(a for a in menu.actions() if a.text() == "Name and place…")
    assert not place_item.isEnabled(), "an operator cannot rename cameras"
    look_at(win, "journey-renamed-camera-after-restart.png")
    desktop._end_session("journey over")

    entries = profile.audit.entries(Filter(action="device.rename"))
    assert [(e.user, e.detail) for e in entries] == [
        (INSTALLER, '{"from":"cam1","to":"Market Sq North"}')], entries
    moved = profile.audit.entries(Filter(action="device.move"))
    assert len(moved) == 1 and '"to_area":"Town Centre"' in moved[0].detail
