"""Roles, camera groups and sessions, enforced in the core services (not in widgets).

The permission matrix calls every protected service, as every role, on a real profile
with devices onboarded from the real simulator, and checks allowed/refused against
``GRANTS``. A second test makes sure no protected call escapes the matrix.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, PASSWORD, REPO, USER, Sim, signed_in, vms_cmd
from vms.access.admin import UserAdmin, change_own_password, change_setting
from vms.access.roles import GRANTS, Permission, Role
from vms.access.session import Session
from vms.audio.talk import Talk
from vms.audit.log import Filter
from vms.audit.trail import AuditTrail
from vms.devices.commissioning import Commissioning
from vms.devices.links import CameraLinks
from vms.devices.live import LiveView
from vms.devices.ptz import PtzControl
from vms.devices.relay import RelayControl
from vms.discovery.wsd import Sighting
from vms.errors import (
    AccountLocked,
    ConfigError,
    PasswordChangeRequired,
    PermissionDenied,
    SessionExpired,
    SignInFailed,
)
from vms.events.device_rules import DeviceRules
from vms.evidence.service import EvidenceService
from vms.onvif.model import DeviceReport
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.wall.layouts import WallState
from vms.wall.saved import SavedLayouts

P = Permission
ROLE_PASSWORD = "role-password-%s-42"



@dataclass
class World:
    profile: Profile
    admin: Session
    sim: Sim
    cam1: int  # area "Town Centre"
    hp1: int  # area "Riverside"
    pid1: int  # area "Riverside", with PTZ
    report: DeviceReport  # cam2, probed but not registered
    tmp: Path
    counter: int = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def session(self, role: Role) -> Session:
        name = f"user-{role.value}"
        if self.profile.accounts.find(name) is None:
            UserAdmin(self.profile.access, self.admin).add(name, role, ROLE_PASSWORD % role.value)
        return self.profile.access.sign_in(name, ROLE_PASSWORD % role.value, via="desktop")


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("access")
    profile, admin = signed_in(tmp / "profile")
    svc = Commissioning(profile, admin)
    cam1 = svc.add(sim.address("cam1"), USER, PASSWORD, area="Town Centre").device_id
    hp1 = svc.add(sim.address("hp1"), USER, PASSWORD, area="Riverside").device_id
    pid1 = svc.add(sim.address("pid1"), USER, PASSWORD, area="Riverside").device_id
    report = svc.probe(sim.address("cam2"), USER, PASSWORD)
    yield World(profile, admin, sim, cam1, hp1, pid1, report, tmp)
    profile.close()


# -- every protected service call --------------------------------------------------------
Call = Callable[[World, Session], Any]


def _discover(w: World, s: Session) -> Any:
    port = w.sim.state()["discovery_port"]
    return asyncio.run(Commissioning(w.profile, s).discover(0.5, ["127.0.0.1"], False, port))


def _register_then_clean(w: World, s: Session) -> Any:
    dev = Commissioning(w.profile, s).register(w.report, PASSWORD, area="Spare")
    Commissioning(w.profile, w.admin).remove(dev)


def _add_then_clean(w: World, s: Session) -> Any:
    dev = Commissioning(w.profile, s).add(w.sim.address("cam3"), USER, PASSWORD).device_id
    Commissioning(w.profile, w.admin).remove(dev)


def _remove_then_restore(w: World, s: Session) -> Any:
    svc = Commissioning(w.profile, w.admin)
    dev = svc.register(w.report, PASSWORD, area="Spare")
    try:
        Commissioning(w.profile, s).remove(dev)
    except PermissionDenied:
        svc.remove(dev)
        raise


def _live(w: World, s: Session) -> Any:
    view = LiveView(w.profile, s)
    stream = view.open(w.cam1)
    assert stream.uri.endswith("/sub") and (stream.user, stream.password) == (USER, PASSWORD)
    view.close(stream)


def _export(w: World, s: Session) -> Any:
    """Past the gate, this profile has no evidence key: that refusal means 'allowed'."""
    index = RecordingIndex(w.tmp / "recordings.db")
    try:
        EvidenceService(w.profile, s, index).export(
            cameras=[w.cam1], start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            end=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), exhibit="X", out_dir=w.tmp / "ex")
    except ConfigError as exc:
        assert "no evidence signing key" in str(exc)
    finally:
        index.close()


def _ptz(w: World, s: Session) -> Any:
    ptz = PtzControl(w.profile, s)
    try:
        return ptz.position(w.pid1).result(10)
    finally:
        ptz.close()


def _link(w: World, s: Session) -> Any:
    links = CameraLinks(w.profile, s)
    try:
        links.link(w.hp1, w.cam1)
    finally:
        links.close()
    w.profile.registry.remove_link(w.hp1, w.cam1)


def _layouts(w: World, s: Session) -> Any:
    saved = SavedLayouts(w.profile, s)
    saved.save(WallState("2x2", [w.cam1]), "matrix")
    saved.delete("matrix")


def _report(w: World, s: Session) -> object:
    from vms.reports.build import HELPPOINTS, build
    from vms.reports.figures import Period

    return build(w.profile, s, HELPPOINTS, Period.parse("2026-01-01", "2026-01-31"))


def _loans(w: World, s: Session, what: str) -> Any:
    from vms.loans.loans import Loans

    loans = Loans(w.profile, s)
    try:
        if what == "add":
            return loans.add_premises(name=w.fresh("site"), address="1 High St", lat=52.24,
                                  lon=-0.9, urn="URN/1", reason="repeat burglary",
                                  response_level="immediate", contact="Ms A 07700 900000")
        if what == "feedback":
            from vms.loans.feedback import Feedback

            return Feedback(loans).answers(1)
        if what == "contact":
            admin = Loans(w.profile, w.admin)
            try:
                site = admin.all_premises()[0] if admin.all_premises() else _loans(w, w.admin, "add")
            finally:
                admin.close()
            return loans.contact(site.id)
        return loans.deployments()
    finally:
        loans.close()


def _sighting() -> Sighting:
    return Sighting(endpoint="urn:uuid:matrix", xaddrs=["http://127.0.0.1:1/onvif/device_service"],
                    types=[], scopes=[], metadata_version=1, senders=["127.0.0.1"])


def _incident(w: World, owner: str | None = None) -> int:
    from vms.events.engine import Event
    from vms.events.store import EventStore
    from vms.events.topics import DomainEvent
    from vms.incidents.queue import IncidentQueue

    q = IncidentQueue(w.profile, EventStore(w.tmp / "events.db"))
    ev = DomainEvent("help_button", "DI_0", True, False, False, None, "t")
    q.on_event(Event(1, w.hp1, "hp1", "Riverside", ev, 0.0))
    iid = q.open_incidents()[0].id
    with q.store.transaction() as c:  # the call as another operator left it
        c.execute("UPDATE incidents SET state = ?, owner = ? WHERE id = ?",
                  ("accepted" if owner else "new", owner, iid))
    return iid


def _accept(w: World, s: Session, owner: str | None = None) -> None:
    from vms.events.store import EventStore
    from vms.incidents.queue import IncidentQueue

    IncidentQueue(w.profile, EventStore(w.tmp / "events.db")).accept(s, _incident(w, owner))


CASES: list[tuple[str, Permission, Call]] = [
    ("Commissioning.discover", P.DEVICE_DISCOVER, _discover),
    ("Commissioning.probe", P.DEVICE_DISCOVER,
     lambda w, s: Commissioning(w.profile, s).probe(w.sim.address("cam3"), USER, PASSWORD)),
    ("Commissioning.record_sighting", P.DEVICE_DISCOVER,
     lambda w, s: Commissioning(w.profile, s).record_sighting(_sighting(), "probe")),
    ("Commissioning.register", P.DEVICE_ADD, _register_then_clean),
    ("Commissioning.add", P.DEVICE_ADD, _add_then_clean),
    ("Commissioning.remove", P.DEVICE_REMOVE, _remove_then_restore),
    ("LiveView.open", P.LIVE_VIEW, _live),
    ("PtzControl.position", P.PTZ, _ptz),
    ("CameraLinks.link", P.DEVICE_CONFIGURE, _link),
    ("DeviceRules.set", P.DEVICE_CONFIGURE, lambda w, s: DeviceRules(w.profile, s).set(w.cam1, "[]")),
    ("SavedLayouts.save", P.LIVE_VIEW, _layouts),
    ("IncidentQueue.accept", P.CALL_HANDLE, lambda w, s: _accept(w, s)),
    ("IncidentQueue.accept (take over)", P.CALL_FORCE_TAKE,
     lambda w, s: _accept(w, s, "someone-else")),
    ("Talk.open", P.TALK, lambda w, s: Talk(w.profile, s).open(w.hp1).close().result(15)),
    ("RelayControl.set", P.RELAY,
     lambda w, s: RelayControl(w.profile, s).set(w.hp1, "off").result(15)),
    ("UserAdmin.users", P.USERS_MANAGE, lambda w, s: UserAdmin(w.profile.access, s).users()),
    ("UserAdmin.groups", P.USERS_MANAGE, lambda w, s: UserAdmin(w.profile.access, s).groups()),
    ("UserAdmin.add", P.USERS_MANAGE, lambda w, s: UserAdmin(w.profile.access, s).add(
        w.fresh("new"), Role.OPERATOR, "a-long-enough-password")),
    ("UserAdmin.reset_password", P.USERS_MANAGE, lambda w, s: UserAdmin(
        w.profile.access, s).reset_password("spare", "temporary-password-1")),
    ("UserAdmin.set_role", P.USERS_MANAGE,
     lambda w, s: UserAdmin(w.profile.access, s).set_role("spare", Role.SUPERVISOR)),
    ("UserAdmin.set_disabled", P.USERS_MANAGE,
     lambda w, s: UserAdmin(w.profile.access, s).set_disabled("spare", False)),
    ("UserAdmin.unlock", P.USERS_MANAGE, lambda w, s: UserAdmin(w.profile.access, s).unlock("spare")),
    ("UserAdmin.set_groups", P.USERS_MANAGE,
     lambda w, s: UserAdmin(w.profile.access, s).set_groups("spare", None)),
    ("UserAdmin.add_group", P.USERS_MANAGE, lambda w, s: UserAdmin(w.profile.access, s).add_group(
        w.fresh("group"), ["Town Centre"], [])),
    ("change_setting", P.SETTINGS, lambda w, s: change_setting(w.profile.access, s, "lock_minutes", "15")),
    ("AuditTrail.entries", P.AUDIT_VIEW,
     lambda w, s: AuditTrail(w.profile.access, s).entries(Filter(limit=5))),
    ("AuditTrail.choices", P.AUDIT_VIEW, lambda w, s: AuditTrail(w.profile.access, s).choices()),
    ("AuditTrail.export_csv", P.AUDIT_VIEW, lambda w, s: AuditTrail(w.profile.access, s).export_csv(
        Filter(limit=5), w.tmp / f"{s.user}.csv")),
    ("AuditTrail.verify", P.AUDIT_VERIFY, lambda w, s: AuditTrail(w.profile.access, s).verify()),
    ("EvidenceService.export", P.EVIDENCE_EXPORT, lambda w, s: _export(w, s)),
    ("Loans.add_premises", P.LOANS_MANAGE, lambda w, s: _loans(w, s, "add")),
    ("Loans.deployments", P.LOANS_VIEW, lambda w, s: _loans(w, s, "list")),
    ("Loans.contact", P.PREMISES_CONTACT, lambda w, s: _loans(w, s, "contact")),
    ("reports.build", P.REPORTS_VIEW, lambda w, s: _report(w, s)),
    ("Feedback.answers", P.FEEDBACK_READ, lambda w, s: _loans(w, s, "feedback")),
]


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_permission_matrix(world: World, role: Role) -> None:
    if world.profile.accounts.find("spare") is None:
        UserAdmin(world.profile.access, world.admin).add("spare", Role.OPERATOR,
                                                         "spare-password-123")
    session = world.session(role)
    seen = []
    for name, perm, call in CASES:
        expected = perm in GRANTS[role]
        before = world.profile.audit.head()[0]
        try:
            call(world, session)
            got = True
        except PermissionDenied as exc:
            got = False
            assert perm.describe in str(exc), f"{name}: {exc}"
            after = [e for e in world.profile.audit.entries() if e.seq > before]
            assert any((e.user, e.outcome) == (session.user, "denied") for e in after), name
        seen.append((name, got))
        assert got == expected, f"{role.value} {'should' if expected else 'should not'} be allowed {name}"
    assert len(seen) == len(CASES)


def test_every_gated_permission_is_in_the_matrix() -> None:
    """A new protected service must add its row to CASES, or this fails."""
    used = set()
    for path in (REPO / "vms").rglob("*.py"):
        if path.name == "roles.py":
            continue
        used |= set(re.findall(r"\b(?:Permission|P)\.([A-Z_]{3,})\b", path.read_text()))
    covered = {perm.name for _n, perm, _c in CASES}
    assert used and used <= covered, f"gated but not in the matrix: {used - covered}"


def test_camera_groups_limit_what_a_user_sees_and_opens(world: World) -> None:
    admin = UserAdmin(world.profile.access, world.admin)
    admin.add_group("Town centre cameras", ["Town Centre"], [])
    admin.add("tc-operator", Role.OPERATOR, "town-centre-op-1", ["Town centre cameras"])
    s = world.profile.access.sign_in("tc-operator", "town-centre-op-1", via="desktop")
    assert [d.name for d in Commissioning(world.profile, s).devices()] == ["cam1"]
    view = LiveView(world.profile, s)
    view.close(view.open(world.cam1))
    with pytest.raises(PermissionDenied, match=r"no access to camera 'hp1' \(Riverside\)"):
        view.open(world.hp1)
    denied = world.profile.audit.entries(Filter(user="tc-operator", device_id=world.hp1))
    assert [(e.action, e.outcome) for e in denied] == [("live.start", "denied")]
    # A group by device, then back to every camera.
    admin.add_group("Help Point hp1", [], [world.hp1])
    admin.set_groups("tc-operator", ["Help Point hp1"])
    assert [d.name for d in Commissioning(world.profile, s).devices()] == ["hp1"]
    admin.set_groups("tc-operator", None)
    assert {d.name for d in Commissioning(world.profile, s).devices()} == {"cam1", "hp1", "pid1"}


def test_sessions_expire_lock_and_end_with_clear_messages(world: World) -> None:
    access = world.profile.access
    s = world.session(Role.OPERATOR)
    s.idle_limit_s = 600
    s.last_active = time.monotonic() - 601  # ten minutes without input
    with pytest.raises(SessionExpired, match="locked after 10 minutes without activity"):
        LiveView(world.profile, s).open(world.cam1)
    s.touch()  # input after expiry does not revive it
    assert s.locked and s.idle_expired()
    locked = [e for e in world.profile.audit.entries() if e.user == s.user][-1]
    assert (locked.action, json.loads(locked.detail)["reason"]) == ("session.locked", "inactivity")
    with pytest.raises(SignInFailed, match="wrong password"):
        access.unlock(s, "not it")
    access.unlock(s, ROLE_PASSWORD % "operator")
    LiveView(world.profile, s).close(LiveView(world.profile, s).open(world.cam1))
    access.sign_out(s)
    with pytest.raises(SessionExpired, match="has signed out"):
        LiveView(world.profile, s).open(world.cam1)
    actions = [e.action for e in world.profile.audit.entries(Filter(user=s.user))][-5:]
    assert actions == ["session.unlock", "session.unlocked", "live.start", "live.stop", "logout"]


def test_a_disabled_or_changed_account_loses_its_open_session(world: World) -> None:
    admin = UserAdmin(world.profile.access, world.admin)
    admin.add("doomed", Role.SUPERVISOR, "doomed-password-1")
    s = world.profile.access.sign_in("doomed", "doomed-password-1", via="cli")
    AuditTrail(world.profile.access, s).entries(Filter(limit=1))
    admin.set_disabled("doomed", True)
    with pytest.raises(PermissionDenied, match="changed or disabled by an administrator"):
        AuditTrail(world.profile.access, s).entries(Filter(limit=1))
    with pytest.raises(AccountLocked, match="is disabled"):
        world.profile.access.sign_in("doomed", "doomed-password-1", via="cli")


def test_the_last_administrator_cannot_be_removed(world: World) -> None:
    admin = UserAdmin(world.profile.access, world.admin)
    others = [u.name for u in admin.users() if u.role is Role.ADMINISTRATOR and u.name != ADMIN
              and not u.disabled]
    for name in others:
        admin.set_disabled(name, True)
    with pytest.raises(ConfigError, match="last active administrator"):
        admin.set_disabled(ADMIN, True)
    with pytest.raises(ConfigError, match="last active administrator"):
        admin.set_role(ADMIN, Role.OPERATOR)
    for name in others:
        admin.set_disabled(name, False)


def test_wrong_password_then_lockout_then_unlock(world: World) -> None:
    access = world.profile.access
    UserAdmin(access, world.admin).add("fumbler", Role.OPERATOR, "right-password-1")
    with pytest.raises(SignInFailed, match=r"^wrong user name or password$"):
        access.sign_in("nobody-here", "whatever", via="desktop")
    for _ in range(4):
        with pytest.raises(SignInFailed, match=r"^wrong user name or password$"):
            access.sign_in("fumbler", "wrong-password", via="desktop")
    with pytest.raises(AccountLocked, match=r"locked after 5 failed sign-ins; try again after "
                                            r"\d\d:\d\d (GMT|BST)"):
        access.sign_in("fumbler", "wrong-password", via="desktop")
    with pytest.raises(AccountLocked):  # even the right password, while locked
        access.sign_in("fumbler", "right-password-1", via="desktop")
    UserAdmin(access, world.admin).unlock("fumbler")
    assert access.sign_in("fumbler", "right-password-1", via="desktop").user == "fumbler"
    outcomes = [(e.action, e.outcome) for e in world.profile.audit.entries(Filter(user="fumbler"))]
    assert outcomes.count(("login", "failed")) == 5 and ("account.locked", "ok") in outcomes
    assert ("login", "denied") in outcomes and outcomes[-1] == ("login", "ok")


def test_a_reset_password_must_be_changed_before_anything_else(world: World) -> None:
    access = world.profile.access
    admin = UserAdmin(access, world.admin)
    admin.add("newbie", Role.OPERATOR, "first-password-1")
    admin.reset_password("newbie", "temporary-pass-9")
    s = access.sign_in("newbie", "temporary-pass-9", via="desktop")
    with pytest.raises(PasswordChangeRequired, match="must choose a new password"):
        LiveView(world.profile, s).open(world.cam1)
    with pytest.raises(SignInFailed, match="current password is wrong"):
        change_own_password(access, s, "nope", "my-own-password-1")
    with pytest.raises(ConfigError, match="at least 10 characters"):
        change_own_password(access, s, "temporary-pass-9", "short")
    change_own_password(access, s, "temporary-pass-9", "my-own-password-1")
    LiveView(world.profile, s).close(LiveView(world.profile, s).open(world.cam1))
    assert access.sign_in("newbie", "my-own-password-1", via="cli").user == "newbie"


# -- the command line signs in ------------------------------------------------------------
def _run(profile: Path, *args: str, env: dict[str, str], stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(vms_cmd("--data-dir", str(profile), *args), input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, cwd=REPO)


def test_cli_first_administrator_then_sign_in_for_everything(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("VMS_USER", "VMS_PASSWORD")}
    res = _run(tmp_path, "devices", "list", env=base)
    assert res.returncode == 2 and "not signed in: set VMS_USER and VMS_PASSWORD" in res.stderr
    res = _run(tmp_path, "users", "add", "first", "--role", "operator", "--password-stdin",
               env=base, stdin="first-admin-pass\n")
    assert res.returncode == 2 and "first account of a profile must be an administrator" in res.stderr
    res = _run(tmp_path, "users", "add", "first", "--role", "administrator", "--password-stdin",
               env=base, stdin="first-admin-pass\n")
    assert res.returncode == 0 and "Created the first administrator" in res.stdout
    # Now adding a user needs a signed-in administrator.
    res = _run(tmp_path, "users", "add", "second", "--role", "operator", "--password-stdin",
               env=base, stdin="second-user-pass\n")
    assert res.returncode == 2 and "not signed in" in res.stderr
    admin = {**base, "VMS_USER": "first", "VMS_PASSWORD": "first-admin-pass"}
    res = _run(tmp_path, "users", "add", "second", "--role", "operator", "--password-stdin",
               env=admin, stdin="second-user-pass\n")
    assert res.returncode == 0, res.stderr
    op = {**base, "VMS_USER": "second", "VMS_PASSWORD": "second-user-pass"}
    res = _run(tmp_path, "users", "add", "third", "--role", "operator", "--password-stdin",
               env=op, stdin="third-user-pass\n")
    assert res.returncode == 2 and "operators may not manage user accounts" in res.stderr
    res = _run(tmp_path, "discover", "--no-multicast", "--range", "127.0.0.1", env=op)
    assert res.returncode == 2 and "may not search the network for cameras" in res.stderr
    res = _run(tmp_path, "devices", "list", env={**op, "VMS_PASSWORD": "wrong"})
    assert res.returncode == 2 and res.stderr.strip() == "vms: wrong user name or password"
    res = _run(tmp_path, "users", "list", "--json", env=admin)
    assert [(u["name"], u["role"], u["state"]) for u in json.loads(res.stdout)] == [
        ("first", "administrator", "active"), ("second", "operator", "active")]
    # The command line's actions are audited as the user who ran them, marked "cli".
    res = _run(tmp_path, "audit", "list", "--json", env=admin)
    entries = json.loads(res.stdout)
    mine = [(e["user"], e["action"], e["outcome"], e["via"]) for e in entries]
    assert ("second", "user.add", "denied", "cli") in mine
    assert ("second", "device.discover", "denied", "cli") in mine
    assert ("second", "login", "failed", "cli") in mine
    assert ("first", "user.add", "ok", "cli") in mine
