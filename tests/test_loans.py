"""Loans of perimeter cameras: the 30-day clock, extensions, removals, sites on test, and who
may read a victim's contact details."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Sim, signed_in
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.access.session import Session
from vms.devices.commissioning import Commissioning
from vms.errors import ConfigError, PermissionDenied
from vms.loans.loans import Loans
from vms.profile import Profile
from vms.sim.config import DEFAULT_PASSWORD, DEFAULT_USER


@dataclass
class World:
    profile: Profile
    coordinator: Session  # a supervisor
    operator: Session
    installer: Session
    pid: list[int]


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    profile, admin = signed_in(tmp_path_factory.mktemp("loans") / "profile")
    try:
        svc = Commissioning(profile, admin)
        pid = [svc.add(sim.address(n), DEFAULT_USER, DEFAULT_PASSWORD).device_id
               for n in ("pid1", "pid2")]
        users = UserAdmin(profile.access, admin)
        sessions = []
        for name, role in (("coord", Role.SUPERVISOR), ("op", Role.OPERATOR),
                           ("inst", Role.INSTALLER)):
            users.add(name, role, f"{name}-password-123")
            sessions.append(profile.access.sign_in(name, f"{name}-password-123", via="cli"))
        yield World(profile, *sessions, pid)
    finally:
        profile.close()


def _site(loans: Loans, name: str, on_test: bool = False):  # type: ignore[no-untyped-def]
    return loans.add_premises(name=name, address="14 Elm Road, Northampton NN1 1AA", lat=52.2405,
                          lon=-0.9027, urn=f"NP-{name}", reason="repeat burglary",
                          response_level="immediate", contact="Mrs A Example, 07700 900123",
                          on_test=on_test)


def test_a_loan_on_day_23_is_ending_and_an_extension_moves_it_off(world: World) -> None:
    loans = Loans(world.profile, world.coordinator)
    try:
        site = _site(loans, "Elm Road")
        installed = dt.date(2026, 11, 1)
        dep = loans.deploy(site.id, [world.pid[0]], installed, signage=True)
        assert dep.funded_end == dt.date(2026, 11, 30)  # 30 days, the install day being day 1
        day22, day23 = installed + dt.timedelta(days=21), installed + dt.timedelta(days=22)
        assert dep.day(day23) == 23 and dep.days_left(day23) == 7
        assert dep.id not in [d.id for d in loans.dashboard(day22).ending_soon]
        board = loans.dashboard(day23)
        assert [d.id for d in board.ending_soon] == [dep.id]
        assert board.ending_soon[0].status(day23) == "ending soon"
        with pytest.raises(ConfigError, match="after the current end"):
            loans.extend(dep.id, dt.date(2026, 11, 30), "INV-1")
        with pytest.raises(ConfigError, match="reference"):
            loans.extend(dep.id, dt.date(2026, 12, 31), " ")
        ext = loans.extend(dep.id, dt.date(2026, 12, 31), "INV-2026-0042")
        assert (ext.end, ext.extension_ref, ext.status(day23)) == \
            (dt.date(2026, 12, 31), "INV-2026-0042", "extended")
        board = loans.dashboard(day23)
        assert dep.id not in [d.id for d in board.ending_soon + board.overdue]
        # Past the extension, not removed: overdue; removed: off every list.
        late = dt.date(2027, 1, 2)
        assert [d.id for d in loans.dashboard(late).overdue] == [dep.id]
        with pytest.raises(ConfigError, match="before it went in"):
            loans.remove(dep.id, dt.date(2026, 10, 1))
        gone = loans.remove(dep.id, late)
        assert gone.status(late) == "removed"
        board = loans.dashboard(late)
        assert dep.id not in [d.id for d in board.active + board.overdue]
        actions = [e.action for e in world.profile.audit.entries() if e.user == "coord"]
        assert {"loans.premises.add", "loans.deploy", "loans.extend", "loans.remove"} <= set(actions)
    finally:
        loans.close()


def test_kit_is_in_one_place_at_a_time_and_sites_on_test_are_listed(world: World) -> None:
    loans = Loans(world.profile, world.coordinator)
    try:
        a, b = _site(loans, "Oak Close"), _site(loans, "Ash Lane", on_test=True)
        dep = loans.deploy(a.id, [world.pid[1]], dt.date(2026, 11, 10), signage=False)
        with pytest.raises(ConfigError, match="pid2 is already deployed elsewhere"):
            loans.deploy(b.id, [world.pid[1]], dt.date(2026, 11, 12), signage=True)
        with pytest.raises(ConfigError, match="at least one device"):
            loans.deploy(b.id, [], dt.date(2026, 11, 12), signage=True)
        assert b.id in [s.id for s in loans.dashboard(dt.date(2026, 11, 12)).on_test]
        assert loans.set_on_test(b.id, False).on_test is False
        loans.remove(dep.id, dt.date(2026, 11, 20))
        again = loans.deploy(b.id, [world.pid[1]], dt.date(2026, 11, 21), signage=True)
        assert again.devices == [(world.pid[1], "pid2")]
        loans.remove(again.id, dt.date(2026, 11, 22))
    finally:
        loans.close()


def test_a_victims_contact_is_for_those_who_need_it_and_each_reading_is_audited(
        world: World, tmp_path: Path) -> None:
    loans = Loans(world.profile, world.coordinator)
    try:
        site = _site(loans, "Birch Way")
    finally:
        loans.close()
    op = Loans(world.profile, world.operator)
    inst = Loans(world.profile, world.installer)
    try:
        assert op.contact(site.id) == "Mrs A Example, 07700 900123"
        assert any(e.action == "loans.contact.view" and e.user == "op"
                   for e in world.profile.audit.entries())
        assert site.id in [s.id for s in inst.all_premises()]  # installers see the site...
        with pytest.raises(PermissionDenied):
            inst.contact(site.id)  # ...not the person
        with pytest.raises(PermissionDenied):
            op.add_premises(name="x", address="y", lat=52, lon=-1, urn="u", reason="r",
                        response_level="l")
        # The contact is in no listing a wider audience sees.
        assert "07700" not in repr(inst.all_premises()) + repr(op.deployments(include_removed=True))
    finally:
        op.close()
        inst.close()
    with pytest.raises(ConfigError, match="a name, an address and the police URN"):
        Loans(world.profile, world.coordinator).add_premises(
            name="", address="y", lat=52, lon=-1, urn="u", reason="r", response_level="l")


def test_the_dashboard_window_lists_what_needs_doing(world: World, qtbot) -> None:  # type: ignore[no-untyped-def]
    import os

    from ui.loans.dashboard import LoansWindow

    loans = Loans(world.profile, world.coordinator)
    today = dt.date(2026, 11, 23)
    try:
        ending = loans.deploy(_site(loans, "Cedar Drive").id, [world.pid[0]],
                              today - dt.timedelta(days=22), signage=True)  # day 23
        overdue = loans.deploy(_site(loans, "Larch Court").id, [world.pid[1]],
                               today - dt.timedelta(days=33), signage=False)
        _site(loans, "Hazel Mews", on_test=True)
        win = LoansWindow(loans, [(i, n) for i, n in zip(world.pid, ("pid1", "pid2"),
                                                        strict=True)], today=today)
        qtbot.addWidget(win)
        win.show()
        with qtbot.waitSignal(win.loaded, timeout=10_000):
            pass
        cells = lambda t: [[t.item(r, c).text() for c in range(t.columnCount())]  # noqa: E731
                           for r in range(t.rowCount())]
        assert [r[0] for r in cells(win.ending)] == ["Cedar Drive"]
        assert cells(win.ending)[0][3] == "7"
        assert [r[0] for r in cells(win.overdue)] == ["Larch Court"]
        assert "Hazel Mews" in [r[0] for r in cells(win.on_test)]
        row = next(r for r in cells(win.all) if r[0] == "Cedar Drive")
        assert row[4] == "23 of 30" and row[7] == "ending soon"
        assert win.new.isEnabled() and not win.extend.isEnabled()  # nothing chosen yet
        win.all.selectRow([r[0] for r in cells(win.all)].index("Cedar Drive"))
        assert win.extend.isEnabled() and win.contact.isEnabled()  # the coordinator calls them
        if os.environ.get("VMS_SCREENSHOT_DIR"):
            win.grab().save(os.path.join(os.environ["VMS_SCREENSHOT_DIR"], "loans-dashboard.png"))
        loans.extend(ending.id, dt.date(2027, 1, 31), "INV-7")
        with qtbot.waitSignal(win.loaded, timeout=10_000):
            win.refresh()
        assert cells(win.ending) == []
        for dep in (ending, overdue):
            loans.remove(dep.id, today)
    finally:
        loans.close()

