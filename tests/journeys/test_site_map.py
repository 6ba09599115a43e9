"""Journey: an installer gives the town centre its plan and pins a Help Point and a camera on
it; an operator opens the map, a press makes the Help Point's pin flash, clicking it opens the
call, and clicking the camera's pin puts it on the wall (issue 26: "a map pin flashing on a
press and opening the call"). The flashing is read off the painted pixels.

Set-up outside the windows: the simulated site, cam1 and hp1 registered, an installer and an
operator.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QContextMenuEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QLineEdit, QMenu
from pytestqt.qtbot import QtBot

from tests.conftest import ADMIN, ADMIN_PASSWORD, Sim, shared_path
from tests.journeys.setup_site import lend, simulated_site
from tests.journeys.walk import answer, at_desk, look_at, opened, shown, sign_in
from tests.plan_files import plans_pdf
from ui.desktop import Desktop
from ui.features.maps import LOANS_EVERY_MS
from ui.maps.window import MapWindow, PinItem
from vms.access.roles import Role
from vms.loans.loans import Loans
from vms.profile import Profile

INSTALLER, INSTALLER_PW = "ines-installer", "ines-installs-42"
OPERATOR, OPERATOR_PW = "omar-operator", "omar-watches-42"
PLAN = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" viewBox="0 0 1200 800">
  <rect width="1200" height="800" fill="#1d232c"/>
  <g stroke="#4a5566" stroke-width="70" fill="none">
    <path d="M0 400 H1200"/><path d="M600 0 V800"/><path d="M150 0 L420 800"/>
  </g>
  <rect x="640" y="80" width="360" height="240" fill="#26303d" stroke="#5d6b7d"/>
  <g font-family="DejaVu Sans" font-size="30" fill="#9fb0c4">
    <text x="660" y="210">Market Square</text><text x="20" y="470">High Street</text>
    <text x="620" y="760">Station Road</text>
  </g>
</svg>
"""


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache,
                        users={INSTALLER: (Role.INSTALLER, INSTALLER_PW),
                               OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam1", "hp1")) as (sim, profile):
        lend(profile, "cam1")  # its pin says so
        # the police.uk files the crime evaluation reads, for loaned kit by coordinates
        profile.accounts.set_setting("crimes_dir", str(shared_path("data/policeuk")), by="test")
        yield sim, profile


def pin_of(win: MapWindow, name: str) -> PinItem:
    return next(i for i in win.items.values() if i.label.endswith(name))


def on_screen(win: MapWindow, item: PinItem) -> QPoint:
    return win.view.mapFromScene(item.pos())


def pin_colour(win: MapWindow, item: PinItem) -> QColor:
    """What is painted at the pin's centre, a little off the middle (the ring is white)."""
    image = win.view.viewport().grab().toImage()
    at = on_screen(win, item)
    return image.pixelColor(at.x() - 4, at.y() + 2)


def drop(win: MapWindow, name: str, fx: float, fy: float) -> None:
    """Drag ``name`` from the list of devices not on the plan onto it, at (fx, fy) of the plan."""
    lst = win.unplaced
    row = next(i for i in range(lst.count()) if lst.item(i).text().startswith(name))
    mime = lst.mimeData([lst.item(row)])
    rect = win.view.plan_rect
    at = win.view.mapFromScene(QPointF(rect.width() * fx, rect.height() * fy))
    vp = win.view.viewport()
    how = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
           Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(at, *how), QDragMoveEvent(at, *how),
                  QDropEvent(QPointF(at), *how)):  # as a drag arrives and is let go
        QApplication.sendEvent(vp, event)


def take_off(qtbot: QtBot, win: MapWindow, item: PinItem) -> None:
    """Right-click the pin and choose "Take … off the plan" with the keyboard."""
    def pick() -> None:
        menu = shown(QMenu)
        if menu is None:
            QTimer.singleShot(20, pick)
            return
        assert menu.actions()[0].text() == f"Take {item.label} off the plan"
        QTest.keyClick(menu, Qt.Key.Key_Down)
        QTest.keyClick(menu, Qt.Key.Key_Return)

    QTimer.singleShot(20, pick)
    at = on_screen(win, item)
    vp = win.view.viewport()
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at,
                                                 vp.mapToGlobal(at)))


def choosing(path: Path) -> Callable[[QFileDialog], None]:
    """Type the plan's path into the file dialog's name box and press Enter."""
    def act(dlg: QFileDialog) -> None:
        name = dlg.findChild(QLineEdit, "fileNameEdit")
        assert name is not None
        name.setFocus()
        name.setText(str(path))
        QTest.keyClick(name, Qt.Key.Key_Return)
    return act


@pytest.mark.timeout(300)
def test_an_installer_pins_devices_and_an_operator_answers_a_call_from_the_map(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any],
        tmp_path: Path) -> None:
    sim, profile = site
    plan = tmp_path / "town-centre.svg"
    plan.write_text(PLAN, encoding="utf-8")
    desktop, _win, _link = at_desk(profile, site_of(profile, record=False), INSTALLER,
                                   INSTALLER_PW)
    try:
        walk(qtbot, sim, profile, desktop, plan)
    finally:
        desktop._end_session("journey over", wait=0.0)


def walk(qtbot: QtBot, sim: Sim, profile: Profile, desktop: Desktop, plan: Path) -> None:
    win = desktop.window
    assert win is not None
    # -- the installer: a plan for the area, two pins, one moved -----------------------------
    themap = opened(qtbot, MapWindow, win.open_maps.trigger)
    qtbot.waitUntil(lambda: themap.area_box.count() == 2, timeout=10000)
    assert themap.area_box.itemText(1) == "Loaned kit, by coordinates"  # installers see loans
    assert themap.area_box.currentText() == "Default area (no plan yet)"
    # first the architect's PDF: its second page is the plan (the first is a cover)
    pdf = plan.with_name("town-centre-plans.pdf")
    plans_pdf(pdf)
    offered: list[int] = []

    def second_page(dlg: QInputDialog) -> None:
        offered.append(dlg.intMaximum())
        dlg.setIntValue(2)
        dlg.accept()
    answer(QInputDialog, second_page,
           lambda: answer(QFileDialog, choosing(pdf), themap.plan_button.click))
    assert offered == [2], "the pages of the PDF were not offered"
    qtbot.waitUntil(lambda: themap.view.plan_rect.height() > 1650, timeout=10000)  # A4
    assert themap.area_box.currentText() == "Default area"
    # then a better drawing came, as an SVG
    answer(QFileDialog, choosing(plan), themap.plan_button.click)
    qtbot.waitUntil(lambda: themap.view.plan_rect.height() == 1600, timeout=10000)
    assert themap.unplaced.count() == 2
    drop(themap, "hp1", 0.62, 0.42)
    drop(themap, "cam1", 0.20, 0.60)
    qtbot.waitUntil(lambda: len(themap.items) == 2 and themap.unplaced.count() == 0,
                    timeout=10000)
    # put in the wrong place first: taken off from its right-click menu, and dropped again
    take_off(qtbot, themap, pin_of(themap, "hp1"))
    qtbot.waitUntil(lambda: len(themap.items) == 1 and themap.unplaced.count() == 1,
                    timeout=10000)
    drop(themap, "hp1", 0.62, 0.42)
    qtbot.waitUntil(lambda: len(themap.items) == 2 and themap.unplaced.count() == 0,
                    timeout=10000)
    cam = pin_of(themap, "cam1")
    start = on_screen(themap, cam)
    vp = themap.view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 9):  # dragged up the High Street by hand
        QTest.mouseMove(vp, start + QPoint(4 * step, -5 * step))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(32, -40))
    qtbot.waitUntil(lambda: themap.pins[cam.device_id].y < 0.59, timeout=10000)
    moved_to = themap.pins[cam.device_id]
    look_at(themap, "journey-map-installer.png")
    desktop._end_session("installer done", wait=0.0)  # Account > Sign out
    assert shown(MapWindow) is None, "the installer's map stayed open after signing out"

    # -- the operator: the map as left, live, a press, the call, a camera on the wall -------
    sign_in(desktop, OPERATOR, OPERATOR_PW)
    win = desktop.window
    calls = desktop.calls
    assert win is not None and calls is not None
    themap = opened(qtbot, MapWindow, win.open_maps.trigger)
    qtbot.waitUntil(lambda: len(themap.items) == 2, timeout=10000)
    assert not themap.plan_button.isVisible() and not themap.unplaced.isVisible()
    assert themap.pins[cam.device_id] == moved_to, "the installer's move was not kept"
    hp = pin_of(themap, "hp1")
    lent = pin_of(themap, "cam1")
    qtbot.waitUntil(lambda: lent.state.loan.startswith("12 Elm Road until "), timeout=10000)
    assert not hp.state.loan and "On loan: 12 Elm Road" in lent.toolTip()
    at = on_screen(themap, lent)
    label = themap.view.viewport().grab().toImage().pixelColor(
        at.x() - int(lent.text_w / 2) + 3, at.y() + 17)
    assert label.blue() > 150 and label.red() < 80, f"the loan's label is {label.name()}"
    qtbot.waitUntil(lambda: hp.state.online is True, timeout=30000)
    qtbot.wait(200)
    green = pin_colour(themap, hp)
    assert green.green() > 150 and green.red() < 100, green.name()

    sim.cli("press", "hp1")
    try:
        qtbot.waitUntil(lambda: hp.state.alarm == "waiting", timeout=20000)
        seen = []
        end = time.monotonic() + 1.6
        while time.monotonic() < end:
            qtbot.wait(100)
            seen.append(pin_colour(themap, hp))
        red = [c for c in seen if c.red() > 200 and c.green() < 90]
        dark = [c for c in seen if c.red() < 90 and c.green() < 60]
        assert red and dark, f"the pin does not flash red: {[c.name() for c in seen]}"
        qtbot.waitUntil(lambda: pin_colour(themap, hp).red() > 200, timeout=3000)
        look_at(themap, "journey-map-in-alarm.png")

        # clicking the pin opens the call (its window to the front)
        for pane in calls.panes.values():
            pane.hide()  # as if the operator had put it behind the map
        at = on_screen(themap, hp)
        QTest.mouseClick(themap.view.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, at)
        qtbot.waitUntil(lambda: any(p.isVisible() and p.incident.device == "hp1"
                                    for p in calls.panes.values()), timeout=5000)
        pane = next(p for p in calls.panes.values() if p.incident.device == "hp1")
        qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: hp.state.alarm == "handled", timeout=10000)
        qtbot.wait(100)
        amber = pin_colour(themap, hp)
        assert amber.red() > 200 and 120 < amber.green() < 190, amber.name()
    finally:
        sim.cli("release", "hp1")

    # clicking the camera's pin puts it on the wall's selected tile
    wall = win.wall.wall
    wall.select(3)
    QTest.mouseClick(themap.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, on_screen(themap, pin_of(themap, "cam1")))
    qtbot.waitUntil(lambda: wall.tiles[3].name == "cam1", timeout=5000)
    assert "cam1 is on tile 4" in win.statusBar().currentMessage()

    # -- loaned kit by coordinates: cam1 at 12 Elm Road, with the street crime around it ------
    box = themap.area_box
    kit_entry = box.findText("Loaned kit, by coordinates")
    assert kit_entry >= 0, [box.itemText(i) for i in range(box.count())]
    box.setCurrentIndex(kit_entry)  # as a choice in the list does
    qtbot.waitUntil(lambda: themap.kit is not None and "cam1" in
                    [i.label.split(" · ")[-1] for i in themap.items.values()], timeout=15000)
    kit = themap.kit
    assert kit is not None and [k.device for k in kit.kit] == ["cam1"]
    assert kit.months and len(kit.crimes) > 50 and kit.burglaries() > 0, kit.note
    status = themap.status.text()
    assert "1 camera on loan at 1 premises" in status and "was a burglary" in status, status
    lent = pin_of(themap, "cam1")
    assert lent.state.loan.startswith("12 Elm Road until ")
    # the crimes are dots round it, burglaries magenta: read off the painted pixels
    image = themap.view.viewport().grab().toImage()
    magenta = sum(1 for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
                  if (c := image.pixelColor(x, y)).red() > 180 and c.green() < 110
                  and c.blue() > 200)
    assert magenta > 3, "no burglary dot is drawn"
    look_at(themap, "journey-map-loaned-kit.png")
    wall.select(2)
    QTest.mouseClick(themap.view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, on_screen(themap, lent))
    qtbot.waitUntil(lambda: wall.tiles[2].name == "cam1", timeout=5000)

    # the loan ends while the kit is on screen: at the next reading of the loans (every
    # minute; its timer fired here) the view is drawn again without it
    coordinator = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    loans = Loans(profile, coordinator)
    try:
        (deployment,) = loans.deployments()
        loans.remove(deployment.id, dt.date.today())
    finally:
        loans.close()
    reading = next(t for t in themap.findChildren(QTimer) if t.interval() == LOANS_EVERY_MS)
    reading.timeout.emit()
    qtbot.waitUntil(lambda: themap.kit is not None and themap.kit.kit == [], timeout=15000)
    assert "0 cameras on loan at 0 premises" in themap.status.text(), themap.status.text()
    assert not [i for i in themap.items.values() if i.label.endswith("cam1")]
