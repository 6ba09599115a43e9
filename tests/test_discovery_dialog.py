"""The Find cameras dialog and the camera tree, with real widgets on the real simulator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, USER, Sim, signed_in
from ui.dialogs.discovery import DiscoveryDialog, defaults_for
from ui.panes.cameras import CamerasPane
from vms.devices.commissioning import Commissioning
from vms.store import Registry


def _dialog(qtbot: QtBot, sim: Sim, profile: Path) -> tuple[DiscoveryDialog, Commissioning]:
    svc = Commissioning(*signed_in(profile))
    dlg = DiscoveryDialog(svc, defaults_for(sim.state()))
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg, svc


def _cell(dlg: DiscoveryDialog, name: str, col: int) -> str:
    for r in range(dlg.model.rowCount()):
        if dlg.model.item(r, 0).text() == name:
            return dlg.model.item(r, col).text()
    raise KeyError(name)


def _select(dlg: DiscoveryDialog, *names: str) -> list[str]:
    sel = dlg.table.selectionModel()
    sel.clearSelection()
    for r in range(dlg.model.rowCount()):
        if dlg.model.item(r, 0).text() in names:
            sel.select(dlg.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                       | QItemSelectionModel.SelectionFlag.Rows)
    return dlg.selected()


def test_scan_fills_the_table_and_adds_selected_with_plain_results(qtbot: QtBot, sim: Sim,
                                                                   tmp_path: Path) -> None:
    dlg, svc = _dialog(qtbot, sim, tmp_path)
    assert "Simulated site" in dlg.summary.text() and not dlg.multicast.isChecked()
    dlg.timeout.setValue(1.5)
    qtbot.mouseClick(dlg.scan, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 8, timeout=5000)
    assert not dlg.scan.isEnabled()  # still listening: rows arrived before the scan ended
    qtbot.waitUntil(lambda: dlg.scan.isEnabled(), timeout=5000)
    assert "8 devices found" in dlg.summary.text() and dlg.progress.value() == 1000
    assert _cell(dlg, "hp1", 1) == "BeaconSim-HelpPoint" and _cell(dlg, "hp1", 3) == "Station Approach"
    assert _cell(dlg, "cam1", 4) == "Found"
    # Every answer is kept as a discovery sighting in the registry.
    qtbot.waitUntil(lambda: len(svc.registry.sightings()) == 8, timeout=5000)
    hp1 = next(s for s in svc.registry.sightings() if s.name == "hp1")
    assert hp1.present and hp1.source == "probe" and hp1.location == "Station Approach"

    assert not dlg.add.isEnabled()
    assert len(_select(dlg, "hp1", "cam1")) == 2 and dlg.add.isEnabled()
    dlg.add_devices(dlg.selected(), USER, PASSWORD, "Town Centre")
    qtbot.waitUntil(lambda: _cell(dlg, "hp1", 4) == "Added" and _cell(dlg, "cam1", 4) == "Added",
                    timeout=20000)

    dlg.add_devices(_select(dlg, "cam2"), USER, "wrong-password", "Town Centre")
    qtbot.waitUntil(lambda: _cell(dlg, "cam2", 4) == "Wrong user name or password", timeout=20000)
    assert sorted(d.name for d in svc.registry.devices()) == ["cam1", "hp1"]

    # The camera tree reads the registry: site, then location, then device.
    pane = CamerasPane(svc.devices)
    qtbot.addWidget(pane)
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1, timeout=5000)
    site = pane.model.item(0, 0)
    assert site.text() == "Town Centre"
    places = {site.child(i, 0).text(): site.child(i, 0) for i in range(site.rowCount())}
    assert set(places) == {"Market Square", "Station Approach"}
    assert places["Station Approach"].child(0, 0).text() == "hp1"
    assert pane.title.text() == "Cameras (2)"
    # Removing from the registry (as `vms devices remove` would) shows up in the tree.
    svc.remove(next(d.id for d in svc.registry.devices() if d.name == "cam1"))
    qtbot.waitUntil(lambda: pane.title.text() == "Cameras (1)", timeout=5000)


def test_a_skewed_camera_is_added_with_its_offset_said(qtbot: QtBot, sim: Sim, tmp_path: Path) -> None:
    dlg, svc = _dialog(qtbot, sim, tmp_path)
    dlg.timeout.setValue(1.0)
    try:
        sim.cli("skew", "cam3", "600")
        dlg.start_scan()
        qtbot.waitUntil(lambda: dlg.scan.isEnabled() and dlg.model.rowCount() == 8, timeout=5000)
        dlg.add_devices(_select(dlg, "cam3"), USER, PASSWORD, "")
        qtbot.waitUntil(lambda: _cell(dlg, "cam3", 4).startswith("Added"), timeout=20000)
        assert _cell(dlg, "cam3", 4) == "Added (clock off by 600 s)"
        (dev,) = svc.registry.devices()
        assert dev.area == "Default area" and abs((dev.clock_offset_s or 0) - 600) < 1.5
    finally:
        sim.cli("skew", "cam3", "0")


def test_a_reply_naming_another_host_is_flagged_and_never_added(qtbot: QtBot, tmp_path: Path) -> None:
    from vms.discovery.wsd import Sighting

    dlg = DiscoveryDialog(Commissioning(*signed_in(tmp_path)), defaults_for(None))
    qtbot.addWidget(dlg)
    assert dlg.multicast.isChecked() and dlg.defaults.port == 3702
    s = Sighting(endpoint="urn:uuid:evil", xaddrs=["http://10.66.66.66/onvif/device_service"],
                 types=["dn:NetworkVideoTransmitter"],
                 scopes=["onvif://www.onvif.org/name/Lobby"], metadata_version=1,
                 senders=["192.168.1.50"])
    assert s.warning
    dlg.add_sighting(s)
    assert _cell(dlg, "Lobby", 4) == "Check: reply names another host"
    dlg.add_devices(["urn:uuid:evil"], USER, PASSWORD, "")
    assert _cell(dlg, "Lobby", 4) == "Not added: add it by address"
    assert Registry.for_profile(tmp_path).devices() == []
