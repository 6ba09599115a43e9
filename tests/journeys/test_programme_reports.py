"""Journey: a supervisor makes the programme reports the funders ask for, through the
desktop's windows only (issue 27).

A Help Point is pressed; the supervisor answers, puts the blue light on and closes the call
(switching the light off). From Reports → Programme reports… the Help Point report for the
last 30 days shows that call; it is saved as CSV through the save dialog. Then the loaned-camera
report from October 2018, with the police.uk files typed in: one loan at a Northampton
address, extended after its funded days, with the burglaries around it before, during and
after; saved as HTML, which a browser engine then shows as the reader will see it.

Set-up outside the windows: the simulated site, the Help Point registered, the supervisor's
account and a past loan (the coordinator's journey records a loan through the windows).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit, QMessageBox, QPushButton, QTableWidget
from pytestqt.qtbot import QtBot

from tests.conftest import ADMIN, ADMIN_PASSWORD, Sim, shared_path
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import answer, at_desk, look_at, opened
from ui.reports.window import ReportsWindow
from vms.access.roles import Role
from vms.loans.loans import Loans
from vms.profile import Profile

SUPERVISOR, SUPERVISOR_PW = "sam-supervisor", "sam-supervises-5"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, registered=("hp1", "pid1"),
                        users={SUPERVISOR: (Role.SUPERVISOR, SUPERVISOR_PW)}) as (sim, profile):
        admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
        loans = Loans(profile, admin)
        try:
            pid = next(d.id for d in profile.registry.devices() if d.name == "pid1")
            dep = loans.open_loan(name="14 Abington Grove", address="14 Abington Grove, "
                                  "Northampton", lat=52.237517, lon=-0.892228,
                                  urn="NP/2018/7731", contact="", reason="repeat burglary",
                                  response_level="", devices=[pid],
                                  installed=dt.date(2018, 11, 5), signage=True, notes="")
            loans.extend(dep.id, dt.date(2019, 1, 4), "INV-2018-0192")
            loans.remove(dep.id, dt.date(2019, 1, 4))
        finally:
            loans.close()
            profile.access.sign_out(admin, "loan recorded")
        yield sim, profile


def _cells(table: QTableWidget) -> dict[str, str]:
    return {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}


def _save_as(qtbot: QtBot, button: QPushButton, path: Path) -> None:
    def type_name(dlg: QFileDialog) -> None:
        name = dlg.findChild(QLineEdit, "fileNameEdit")  # Qt's own dialog: type the name
        assert name is not None
        qtbot.waitUntil(lambda: name.text() != "", timeout=5000)  # its suggestion is in
        name.setText(str(path))
        qtbot.keyClick(name, Qt.Key.Key_Return)
    answer(QFileDialog, type_name, lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(path.exists, timeout=10000)


def test_a_supervisor_makes_the_programme_reports(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORMTHEME", "")  # Qt's own save dialog, which a test can fill
    sim, profile = site
    desktop, win, link = at_desk(profile, site_of(profile), SUPERVISOR, SUPERVISOR_PW)
    assert desktop.calls is not None
    calls = desktop.calls
    qtbot.waitUntil(lambda: any(h.state == "ok" for h in calls.service.health.values()),
                    timeout=30000)

    # -- a call: answered, the blue light on, closed (the light switched off on the way) -----
    sim.cli("press", "hp1")
    qtbot.waitUntil(lambda: any(p.isVisible() for p in calls.panes.values()), timeout=20000)
    sim.cli("release", "hp1")
    pane = next(iter(calls.panes.values()))
    qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.incident.state == "accepted", timeout=10000)
    qtbot.mouseClick(pane.light.buttons["on"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ON" in pane.light.state.text(), timeout=10000)
    pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("assisted"))
    iid = pane.incident.id

    def switch_off(box: QMessageBox) -> None:
        next(b for b in box.buttons() if b.text() == "Switch it off and close").click()
    answer(QMessageBox, switch_off,
           lambda: qtbot.mouseClick(pane.record.close_button, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: iid not in calls.panes, timeout=15000)

    # -- Reports -> Programme reports…: the Help Point report of the last 30 days -------------
    assert win.open_reports.isEnabled()
    reports = opened(qtbot, ReportsWindow, win.open_reports.trigger)
    assert not reports.folder.isVisible()  # crime files belong to the loans report only
    with qtbot.waitSignal(reports.shown, timeout=30000):
        qtbot.mouseClick(reports.make_button, Qt.MouseButton.LeftButton)
    got = _cells(reports.summary)
    assert got["Calls"] == "1" and got["Answered"] == "1 of 1 (100 %)", got
    assert got["Blue light used"] == "1 of 1 (100 %)", got
    assert got["Outcome: Assistance given by the operator"] == "1", got
    assert reports.rows.item(0, 0).text() == "hp1"
    look_at(reports, "journey-report-helppoints.png")
    _save_as(qtbot, reports.save_csv, tmp_path / "helppoints.csv")
    rows = list(csv.DictReader((tmp_path / "helppoints.csv").open(encoding="utf-8")))
    assert [(r["id"], r["blue_light"], r["outcome"]) for r in rows] == [
        (str(iid), "True", "assisted")]

    # -- the loaned-camera report, with the police.uk files --------------------------------
    reports.kind.setCurrentIndex(reports.kind.findData("loans"))
    assert reports.folder.isVisible()
    reports.first.setDate(QDate(2018, 10, 1))
    folder = shared_path("data/policeuk/README.md").parent
    reports.folder.setText(str(folder))
    reports.radius.setValue(500)
    with qtbot.waitSignal(reports.shown, timeout=60000):
        qtbot.mouseClick(reports.make_button, Qt.MouseButton.LeftButton)
    got = _cells(reports.summary)
    assert got["Deployments"] == "1", got
    assert got["Extended after the funded 30 days"] == "1 of 1 (100 %)", got
    # Burglaries within 500 m: 15 in October (before), 26 over Nov-Jan (during), 29 in
    # February (after), each month with its police.uk file.
    assert [got[f"Crimes {p} (site-months with data)"] for p in ("before", "during", "after")
            ] == ["15 (1)", "26 (3)", "29 (1)"], got
    assert reports.rows.item(0, 0).text() == "14 Abington Grove"
    assert "snap points" in reports.notes.toPlainText()  # the data's limits are said with it
    look_at(reports, "journey-report-loans.png")
    page = tmp_path / "loans.html"
    _save_as(qtbot, reports.save_html, page)
    assert "Loaned-camera programme report" in page.read_text(encoding="utf-8")

    # -- the saved pages in a browser engine, as the funder reads them ----------------------
    hp_page = tmp_path / "helppoints.html"
    reports.kind.setCurrentIndex(reports.kind.findData("helppoints"))
    with qtbot.waitSignal(reports.shown, timeout=30000):
        qtbot.mouseClick(reports.make_button, Qt.MouseButton.LeftButton)
    _save_as(qtbot, reports.save_html, hp_page)
    shots = os.environ.get("VMS_SCREENSHOT_DIR") or str(tmp_path)
    for src, name in ((hp_page, "report-helppoints-html.png"), (page, "report-loans-html.png")):
        res = subprocess.run([sys.executable, "-m", "tests.render_html", str(src),
                              str(Path(shots) / name)], capture_output=True, text=True,
                             timeout=120, check=False)
        assert res.returncode == 0 and (Path(shots) / name).stat().st_size > 20000, res.stderr
    reports.close()
    desktop._end_session("journey over")
    link.shutdown()
