"""The desktop on the simulated site, with real widgets (pytest-qt, offscreen)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.conftest import REPO, Sim, ensure_admin, signed_in
from ui.main_window import MainWindow
from ui.panes.devices.model import COLUMNS
from ui.simulator_link import SimulatorLink
from ui.wall.assembly import assemble
from vms.devices.commissioning import Commissioning


def test_main_window_lists_the_site_and_follows_a_press(qtbot: QtBot, sim: Sim, tmp_path: Path) -> None:
    link = SimulatorLink(sim.data_dir)
    profile, session = signed_in(tmp_path)
    live = assemble(profile, session)
    win = MainWindow(link, Commissioning(profile, session), live.pane)
    qtbot.addWidget(win)
    win.show()
    link.watch()
    try:
        qtbot.waitUntil(lambda: win.devices.model.rowCount() == 8, timeout=10000)
        model = win.devices.model
        names = [model.index(r, 0).data() for r in range(8)]
        assert names == ["cam1", "cam2", "cam3", "cam4", "hp1", "hp2", "pid1", "pid2"]
        kinds = {model.index(r, 0).data(): model.index(r, COLUMNS.index("Type")).data()
                 for r in range(8)}
        assert kinds["hp2"] == "Help Point" and kinds["pid1"] == "Perimeter (PID)"
        assert "8 devices" in win.devices.title.text()
        sim.cli("press", "hp2")
        qtbot.waitUntil(lambda: model.index(5, COLUMNS.index("State")).data()
                        == "Assistance requested", timeout=5000)
        assert "1 alarm active" in win.devices.hint.text()
    finally:
        sim.cli("release", "hp2")
        link.shutdown()
        live.shutdown()
        profile.close()


def test_desktop_command_starts_its_own_site_and_stops_it(tmp_path: Path, clip_cache: Path) -> None:
    """README command 1, end to end: `vms-desktop --sim` on a fresh profile."""
    res = subprocess.run([sys.executable, "-m", "ui.app", "--data-dir", str(tmp_path), "--sim",
                          "--clip-cache", str(clip_cache), "--quit-after-ready", "300"],
                         capture_output=True, text=True, timeout=400, cwd=REPO,
                         env={**ensure_admin(tmp_path), "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "listed 8 devices" in res.stdout
    assert not (tmp_path / "sim" / "site.json").exists(), "the desktop left its site running"
