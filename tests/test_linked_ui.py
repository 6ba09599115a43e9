"""Linked cameras in the desktop: the installer links them in the dialog; a press pops the
pane with them live beside the caller, and accepting sends them to their presets."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.conftest import ADMIN, ADMIN_PASSWORD, Sim
from tests.wall_helpers import at, register, steer
from ui.calls.desk import CallDesk
from ui.calls.service_link import ServiceLink
from ui.dialogs.links import NO_PRESET, LinksDialog
from ui.wall.assembly import assemble
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.links import CameraLinks
from vms.devices.ptz import PtzControl
from vms.events.engine import OK


def test_link_in_the_dialog_then_a_call_shows_and_steers_them(qtbot: QtBot, sim: Sim,
                                                              tmp_path: Path) -> None:
    site = register(sim, tmp_path / "profile", ["hp1", "cam1", "cam2"])
    profile = site.profile
    admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="test")
    UserAdmin(profile.access, admin).add("ui-installer", Role.INSTALLER, "ui-installer-pass")
    inst = profile.access.sign_in("ui-installer", "ui-installer-pass", via="desktop")
    hp, cam1, cam2 = site.ids["hp1"], site.ids["cam1"], site.ids["cam2"]
    ptz = PtzControl(profile, inst)
    live = desk = None
    try:
        target = steer(ptz, sim, cam1, "cam1", 0.5, -0.4)
        name = f"Help Point {uuid.uuid4().hex[:6]}"  # the shared sim keeps presets
        ptz.save_preset(cam1, name).result(10)
        steer(ptz, sim, cam1, "cam1", -0.7, 0.6)

        # The installer's dialog: pick the camera, its presets are read from it, link.
        rows = profile.registry.devices()
        dlg = LinksDialog(CameraLinks(profile, inst, ptz), profile.registry.device(hp), rows)
        qtbot.addWidget(dlg)
        dlg.show()
        assert dlg.camera.findData(hp) == -1  # not itself
        dlg.camera.setCurrentIndex(dlg.camera.findData(cam1))
        qtbot.waitUntil(lambda: dlg.preset.findText(name) >= 0, timeout=10000)
        dlg.preset.setCurrentIndex(dlg.preset.findText(name))
        qtbot.mouseClick(dlg.link_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.model.rowCount() == 1, timeout=10000)
        assert dlg.model.item(0, 1).text() == name and f"Linked cam1 at preset '{name}'" in \
            dlg.status.text()
        dlg.camera.setCurrentIndex(dlg.camera.findData(cam2))
        qtbot.waitUntil(lambda: dlg.preset.isEnabled(), timeout=10000)
        dlg.preset.setCurrentIndex(dlg.preset.findText(NO_PRESET))
        qtbot.mouseClick(dlg.link_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dlg.model.rowCount() == 2, timeout=10000)
        assert dlg.model.item(1, 1).text() == "fixed view"
        dlg.close()

        # The operator's desk: a press pops the pane with both cameras live.
        live = assemble(profile, site.operator)
        desk = CallDesk(profile, ServiceLink(profile, site.operator), live.hub)
        desk.start([profile.registry.device(hp)])
        qtbot.waitUntil(lambda: len(desk.service.health) == 1 and all(
            h.state == OK for h in desk.service.health.values()), timeout=20000)
        sim.cli("press", "hp1")
        try:
            qtbot.waitUntil(lambda: any(p.incident.device_id == hp for p in desk.panes.values()),
                            timeout=10000)
            pane = next(p for p in desk.panes.values() if p.incident.device_id == hp)
            linked = pane.linked
            qtbot.waitUntil(lambda: len(linked.tiles) == 2, timeout=10000)
            assert [t.name for t in linked.tiles] == ["cam1", "cam2"]
            qtbot.waitUntil(lambda: all(t.shown > 0 for t in linked.tiles), timeout=30000)
            assert list(linked.buttons) == [cam1]  # the fixed view has nothing to call up
            assert not linked.buttons[cam1].isEnabled()  # not before the call is accepted
            assert not at(sim, "cam1", target)

            qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: at(sim, "cam1", target), timeout=10000)
            qtbot.waitUntil(lambda: any("linked cameras" in pane.call_log.entries.item(i).text()
                                        for i in range(pane.call_log.entries.count())), timeout=10000)
            entry = next(pane.call_log.entries.item(i).text() for i in range(pane.call_log.entries.count())
                         if "linked cameras" in pane.call_log.entries.item(i).text())
            assert f"linked cameras called up: cam1 at {name}" in entry, entry
            assert linked.buttons[cam1].isEnabled()

            # Steered away during the call, one click sends it back.
            steer(ptz, sim, cam1, "cam1", 0.3, 0.3)
            assert not at(sim, "cam1", target)
            qtbot.mouseClick(linked.buttons[cam1], Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: at(sim, "cam1", target), timeout=10000)

            pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("test"))
            qtbot.mouseClick(pane.record.close_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: pane.incident.state == "closed", timeout=10000)
            assert not linked.handles  # the linked streams were released with the pane
        finally:
            sim.cli("release", "hp1")
    finally:
        if desk is not None:
            desk.shutdown()
        if live is not None:
            live.shutdown()
        ptz.close()
        profile.close()
