"""Journey: an operator's desk in a control room of several workstations (issue 25).

The desk joins the site's database (a real PostgreSQL the tests start) as "desk-1"; its
status bar says so. A Help Point is pressed: the call rings here. A colleague at another
workstation ("desk-2", another process, on a profile of its own that registered the same Help
Point) takes it first: this desk stops ringing, shows who
has the call and where, and offers "Take over", which an operator is refused in words naming
the colleague. The colleague's workstation is killed mid-call: within 20 s the call rings
here again as "operator lost", and this operator takes it. The database is stopped: the
status bar says what the desk cannot do; it comes back, and so does the desk.

Set-up outside the windows: the simulated site, its Help Point registered, the two operators'
accounts, and the site database's password in the keyring (``vms site password`` does that);
for the colleague's profile, the same Help Point and the colleague's account.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, USER, Sim, signed_in
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import look_at, opened, sign_in
from tests.pgcluster import SUPERUSER_PASSWORD, Cluster
from tests.test_site_database import Desk
from ui.calls.site_indicator import SiteIndicator
from ui.desktop import Desktop
from ui.dialogs.workstations import WorkstationsDialog
from ui.simulator_link import SimulatorLink
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.commissioning import Commissioning
from vms.profile import Profile
from vms.site.database import SiteAddress
from vms.site.desk import SiteDesk

SITE = """
[[device]]
name = "hp-market"
kind = "help_point"
location = "Market Square"
"""
AMA, AMA_PW = "ama-operator", "first-desk-on-nights"
BEN, BEN_PW = "ben-operator", "second-desk-on-nights"
SAM, SAM_PW = "sam-supervisor", "watching-the-room"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, config=SITE,
                        users={AMA: (Role.OPERATOR, AMA_PW), BEN: (Role.OPERATOR, BEN_PW),
                               SAM: (Role.SUPERVISOR, SAM_PW)},
                        registered=("hp-market",)) as both:
        yield both



def colleague_profile(sim: Sim, path: Path, site_url: str) -> Path:
    """Another workstation's own profile: the Help Point registered there, BEN's account and
    the site password (nothing shared with desk-1's profile but the site)."""
    other, admin = signed_in(path)
    try:
        Commissioning(other, admin).add(sim.address("hp-market"), USER, PASSWORD)
        UserAdmin(other.access, admin).add(BEN, Role.OPERATOR, BEN_PW)
        address = SiteAddress.parse(site_url)
        other.credentials.set(address.credential_key, address.user, SUPERUSER_PASSWORD)
    finally:
        other.close()
    return path


def desk_one(profile: Profile, site_url: str, site_of: Callable[..., Any]
             ) -> tuple[Desktop, SiteDesk]:
    """The desktop as "desk-1" on the site (its database password kept, as ``vms site
    password`` does), not yet signed in."""
    address = SiteAddress.parse(site_url)
    profile.credentials.set(address.credential_key, address.user, SUPERUSER_PASSWORD)
    desk = SiteDesk(profile, address, "desk-1").start()
    desktop = Desktop(QApplication.instance(), profile, SimulatorLink(profile.data_dir),  # type: ignore[arg-type]
                      site_of(profile, site=address, workstation="desk-1"), desk)
    return desktop, desk


@pytest.mark.timeout(300)
def test_a_call_taken_at_another_desk(qtbot: QtBot, site: tuple[Sim, Profile],
                                      site_of: Callable[..., Any], pg_cluster: Cluster,
                                      site_url: str, tmp_path: Path) -> None:
    sim, profile = site
    desktop, desk = desk_one(profile, site_url, site_of)
    colleague: Desk | None = None
    try:
        sign_in(desktop, AMA, AMA_PW)
        win, calls = desktop.window, desktop.calls
        assert win is not None and calls is not None
        indicator = win.statusBar().findChild(SiteIndicator)
        assert indicator is not None
        qtbot.waitUntil(lambda: indicator.text().startswith("Site: connected"), timeout=10000)
        assert indicator.text() == "Site: connected (127.0.0.1 as desk-1)"
        assert not win.open_workstations.isEnabled(), "who is where is for supervisors"

        # -- a press rings at this desk -------------------------------------------------------
        sim.cli("press", "hp-market")
        qtbot.waitUntil(lambda: len(calls.panes) == 1, timeout=20000)
        iid, pane = next(iter(calls.panes.items()))
        qtbot.waitUntil(lambda: calls.alert.active, timeout=5000)
        assert pane.accept_button.text() == "Accept call"

        # -- a colleague at another workstation takes it first ---------------------------------
        colleague = Desk(colleague_profile(sim, tmp_path / "desk-2-profile", site_url),
                         site_url, "desk-2", BEN, BEN_PW)
        colleague.ready()
        colleague.send(do="accept", id=iid)
        assert colleague.read()["ok"]
        qtbot.waitUntil(lambda: pane.state.text() == f"accepted by {BEN} at desk-2",
                        timeout=10000)
        assert not calls.alert.active, "the desk still rings for a call a colleague has"
        assert pane.accept_button.text() == "Take over"
        table = calls.queue_pane.table
        row = next(r for r in range(table.rowCount())
                   if table.item(r, 2).text().endswith("· hp-market"))
        assert f"{BEN} at desk-2" in [table.item(row, c).text()
                                      for c in range(table.columnCount())]
        log = pane.call_log.entries
        qtbot.waitUntil(lambda: any(BEN in log.item(i).text() for i in range(log.count())),
                        timeout=10000)
        look_at(pane, "journey-control-room-taken-elsewhere.png")
        look_at(win, "journey-control-room-desk.png")

        said: list[str] = []
        win.statusBar().messageChanged.connect(said.append)
        qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any("Could not accept" in s for s in said), timeout=10000)
        refusal = next(s for s in said if "Could not accept" in s)
        assert f"take over the call {BEN} (at desk-2) has" in refusal, refusal

        # -- the colleague's workstation dies mid-call: the call rings here again -------------
        colleague.proc.send_signal(signal.SIGKILL)
        qtbot.waitUntil(lambda: pane.state.text().startswith("operator lost"), timeout=25000)
        assert pane.state.text() == f"operator lost: {BEN} at desk-2 went silent"
        assert calls.alert.active, "a call whose operator was lost must ring"
        assert pane.accept_button.text() == "Take call"
        qtbot.waitUntil(lambda: any("went silent at desk-2" in log.item(i).text()
                                    for i in range(log.count())), timeout=10000)
        look_at(pane, "journey-control-room-operator-lost.png")
        qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: pane.state.text() == f"accepted by {AMA} at desk-1",
                        timeout=10000)
        assert not calls.alert.active

        # -- the database goes away and comes back ---------------------------------------------
        pg_cluster.stop()
        try:
            qtbot.waitUntil(lambda: indicator.text().startswith("Site: reconnecting"),
                            timeout=15000)
            assert "calls cannot be taken or updated until it is back" in indicator.text()
            look_at(win, "journey-control-room-reconnecting.png")
        finally:
            pg_cluster.start()
        qtbot.waitUntil(lambda: indicator.text().startswith("Site: connected"), timeout=30000)
        assert pane.state.text() == f"accepted by {AMA} at desk-1"
    finally:
        if colleague is not None:
            colleague.close()
        sim.cli("release", "hp-market")
        desktop._end_session("journey over")
        desk.stop()


@pytest.mark.timeout(300)
def test_a_supervisor_sees_who_is_signed_in_where(qtbot: QtBot, site: tuple[Sim, Profile],
                                                  site_of: Callable[..., Any],
                                                  site_url: str) -> None:
    """Administration > Workstations on the site: this desk and a colleague's, who is signed
    in at each; the colleague's desk dies and is shown silent, its operator lost."""
    _sim, profile = site
    desktop, desk = desk_one(profile, site_url, site_of)
    colleague: Desk | None = None
    try:
        sign_in(desktop, SAM, SAM_PW)
        win = desktop.window
        assert win is not None
        assert win.open_workstations.isEnabled()
        dialog = opened(qtbot, WorkstationsDialog, win.open_workstations.trigger)

        def row(name: str) -> list[str] | None:
            return next((r for r in dialog.rows if r[0].startswith(name)), None)
        qtbot.waitUntil(lambda: row("desk-1") is not None, timeout=10000)
        mine = row("desk-1")
        assert mine is not None and mine[:3] == ["desk-1 (this desk)", SAM, "heard"], mine

        colleague = Desk(profile.data_dir, site_url, "desk-2", BEN, BEN_PW)
        colleague.ready()
        qtbot.waitUntil(lambda: row("desk-2") is not None, timeout=10000)
        assert row("desk-2")[:3] == ["desk-2", BEN, "heard"]  # type: ignore[index]
        assert "2 workstations, 2 with someone signed in" in dialog.status.text()
        look_at(dialog, "journey-control-room-workstations.png")

        colleague.proc.send_signal(signal.SIGKILL)
        qtbot.waitUntil(lambda: (row("desk-2") or [""] * 3)[2].endswith("operator lost"),
                        timeout=30000)
        assert "1 silent" in dialog.status.text()
        look_at(dialog, "journey-control-room-workstation-lost.png")
        dialog.close()
    finally:
        if colleague is not None:
            colleague.close()
        desktop._end_session("journey over")
        desk.stop()
