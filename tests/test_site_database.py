"""A control room's shared site database (issue 25) on a real PostgreSQL that the tests start
themselves, with real processes for the desks: the address and its password, exactly one
owner per call among racing desks, changes pushed to listeners through a database restart,
and a desk killed in the middle of a call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Sim, ensure_admin, vms_cmd, wait_for
from tests.pgcluster import SUPERUSER_PASSWORD, Cluster
from tests.wall_helpers import register
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.audit.log import Filter
from vms.errors import ConfigError, IncidentError, PermissionDenied, SiteUnavailable, TalkTaken
from vms.events.engine import Event
from vms.events.store import utc_now
from vms.events.topics import DomainEvent
from vms.incidents.queue import ACCEPTED, CHANNEL, ON_HOLD, IncidentQueue
from vms.profile import Profile
from vms.site.changes import CONNECTED, RECONNECTING, ChangeListener
from vms.site.database import SiteAddress, SiteDatabase
from vms.site.talk_floor import TalkFloor
from vms.site.workstations import OPERATOR_LOST, Workstations

OPS = [(f"desk-op{i}", f"desk-op{i}-password") for i in range(1, 6)]


def press(profile: Profile, device_id: int, n: int) -> Event:
    row = profile.registry.device(device_id)
    ev = DomainEvent("help_button", "DI_0", True, False, False, None, "t")
    return Event(n, device_id, row.name, row.area, ev, time.time())


def keep_password(profile: Profile, url: str) -> None:
    address = SiteAddress.parse(url)
    profile.credentials.set(address.credential_key, address.user, SUPERUSER_PASSWORD)


def profile_on(tmp_path: Path, site_url: str) -> Profile:
    """A profile with its administrator and the site password kept: nothing else."""
    path = tmp_path / "p"
    ensure_admin(path)
    p = Profile(path)
    keep_password(p, site_url)
    return p


def joined(sim: Sim, tmp_path: Path, site_url: str, operators: list[tuple[str, str]]
           ) -> tuple[Any, SiteDatabase, IncidentQueue]:
    """A profile with hp1 and these operators, its site password kept, and the site's queue
    as a recording host raises calls into it."""
    site = register(sim, tmp_path / "site", ["hp1"])
    admin = site.profile.access.sign_in("root-admin", "test-admin-passphrase", via="test")
    for user, password in operators:
        UserAdmin(site.profile.access, admin).add(user, Role.OPERATOR, password)
    keep_password(site.profile, site_url)
    db = SiteDatabase.open(site_url, site.profile.credentials)
    return site, db, IncidentQueue(site.profile, db, workstation="recording-host")


class Desk:
    """One tests/site_desk.py process: a workstation on the site, signed in as ``user``."""

    def __init__(self, profile: Path, url: str, name: str, user: str, password: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.site_desk", str(profile), url, name, user, password],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1)

    def ready(self) -> None:
        line = self.read(120)
        assert line.get("ready"), line

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def read(self, timeout: float = 60) -> dict[str, Any]:
        assert self.proc.stdout is not None
        got: list[str] = []
        t = threading.Thread(target=lambda: got.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
                             daemon=True)
        t.start()
        t.join(timeout)
        if not got or not got[0]:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""  # type: ignore[union-attr]
            raise AssertionError(f"desk {self.name} said nothing in {timeout} s {err}")
        return dict(json.loads(got[0]))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def test_a_site_address_never_holds_its_password() -> None:
    a = SiteAddress.parse("postgresql://beacon@db.council.local:5433/control")
    assert (a.user, a.host, a.port, a.dbname) == ("beacon", "db.council.local", 5433, "control")
    assert str(SiteAddress.parse(str(a))) == str(a)
    assert SiteAddress.parse("postgres://ops@10.0.0.5/site").port == 5432
    with pytest.raises(ConfigError, match="must not hold the database password") as e:
        SiteAddress.parse("postgresql://beacon:hunter2@db/control")
    assert "hunter2" not in str(e.value)
    for bad in ("mysql://beacon@db/control", "postgresql://db/control",
                "postgresql://beacon@db/", "postgresql://beacon@db/control?sslmode=disable"):
        with pytest.raises(ConfigError):
            SiteAddress.parse(bad)


def test_the_site_password_is_checked_then_kept_in_the_keyring_only(site_url: str,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "desk"
    env = {**ensure_admin(path), "VMS_SITE": site_url}
    p = Profile(path)
    try:
        admin = p.access.sign_in("root-admin", "test-admin-passphrase", via="test")
        UserAdmin(p.access, admin).add(*OPS[0][:1], Role.OPERATOR, OPS[0][1])
    finally:
        p.close()
    operator = {**env, "VMS_USER": OPS[0][0], "VMS_PASSWORD": OPS[0][1]}

    def vms(*args: str, stdin: str = "", as_operator: bool = False
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(vms_cmd("--data-dir", str(path), *args),
                              env=operator if as_operator else env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    r = vms("calls", "list", as_operator=True)
    assert r.returncode == 2
    assert "wants a password" in r.stderr and "vms site password" in r.stderr
    r = vms("site", "password", "--password-stdin", stdin="not-the-password\n")
    assert r.returncode == 2, r.stdout
    assert "password authentication failed" in r.stderr
    p = Profile(path)
    try:
        assert p.credentials.get(SiteAddress.parse(site_url).credential_key) is None
    finally:
        p.close()
    r = vms("site", "password", "--password-stdin", stdin=SUPERUSER_PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    assert "kept in this computer's credential store" in r.stdout
    r = vms("--workstation", "desk-7", "calls", "list", as_operator=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0 calls."
    r = vms("site", "status")
    assert r.returncode == 0, r.stderr
    assert f"Site {site_url}: connected." in r.stdout
    other = tmp_path / "another-profile"  # another computer's profile joins the same site
    r = subprocess.run(vms_cmd("--data-dir", str(other), "site", "status"),
                       env={**ensure_admin(other), "VMS_SITE": site_url},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and f"Site {site_url}: connected." in r.stdout, r.stderr
    for f in path.rglob("*"):  # the profile holds no copy of it: only the keyring does
        if f.is_file():
            assert SUPERUSER_PASSWORD.encode() not in f.read_bytes(), f
    p = Profile(path, site=SiteAddress.parse(site_url))  # the site keeps the audit trail,
    try:  # with what was held until the password was there
        entries = [e for e in p.audit.entries() if e.action == "site.password"]
        assert len(entries) == 2 and entries[-1].outcome == "ok"
        assert "wants a password" in entries[0].details()["held"]
    finally:
        p.close()



def pressed_while_away(pg_cluster: Cluster, sim: Sim, serve: Any, device: str) -> None:
    """The site database stopped, ``device`` pressed, the host says it keeps the call for
    later; the database started again."""
    pg_cluster.stop()
    try:
        sim.cli("press", device)
        serve.wait_said("is kept and raised when it answers", 20)
    finally:
        pg_cluster.start()


@pytest.mark.timeout(900)
def test_five_desks_race_for_each_of_50_calls_and_exactly_one_wins(
        sim: Sim, site_url: str, tmp_path: Path) -> None:
    site, db, queue = joined(sim, tmp_path, site_url, OPS)
    desks = [Desk(site.path, site_url, f"desk-{i + 1}", u, pw) for i, (u, pw) in enumerate(OPS)]
    try:
        for d in desks:
            d.ready()
        won: Counter[str] = Counter()
        for n in range(50):
            inc = queue.on_event(press(site.profile, site.ids["hp1"], n))
            assert inc is not None
            at = time.time() + 0.3
            for d in desks:
                d.send(do="accept", id=inc.id, at=at)
            answers = {d.name: d.read() for d in desks}
            winners = [name for name, a in answers.items() if a["ok"]]
            assert len(winners) == 1, json.dumps([answers, queue.actions(inc.id)])
            w = answers[winners[0]]
            assert (w["state"], w["workstation"]) == (ACCEPTED, winners[0])
            for name, a in answers.items():
                if name != winners[0]:  # told who has it, and where
                    assert a["type"] in ("CallTaken", "PermissionDenied"), a
                    assert f"{w['owner']} (at {winners[0]})" in a["error"], a
            now = queue.get(inc.id)
            assert (now.owner, now.workstation) == (w["owner"], winners[0])
            assert [a["action"] for a in queue.actions(inc.id)].count("accepted") == 1
            won[winners[0]] += 1
            winner = next(d for d in desks if d.name == winners[0])
            winner.send(do="close", id=inc.id)
            assert winner.read()["state"] == "closed"
        assert sum(won.values()) == 50
        assert len(won) >= 2, f"the same desk won every race: {won}"  # a race, not a queue
        print("winners:", dict(won))
    finally:
        for d in desks:
            d.close()
        db.close()
        site.profile.close()


def test_changes_are_pushed_and_a_database_restart_is_survived(
        pg_cluster: Cluster, site_url: str, tmp_path: Path) -> None:
    p = profile_on(tmp_path, site_url)
    db = SiteDatabase.open(site_url, p.credentials)
    writer = SiteDatabase(site_url, p.credentials)
    heard: list[str] = []
    states: list[str] = []
    reread = threading.Event()
    listener = ChangeListener(db, [CHANNEL], lambda _c, payload: heard.append(payload),
                              on_reconnect=reread.set,
                              on_state=lambda state, _w: states.append(state)).start()
    try:
        assert listener.state == CONNECTED
        with writer.transaction() as tx:
            tx.notify(CHANNEL, "41")
            time.sleep(0.3)
            assert heard == []  # not before the commit
        wait_for(lambda: heard == ["41"], 10, "the notification after its commit")
        pg_cluster.restart()
        wait_for(reread.is_set, 30, "the listener to reconnect and ask for a re-read")
        assert RECONNECTING in states and states[-1] == CONNECTED
        with writer.transaction() as tx:  # its connection died too: it begins on a new one
            tx.notify(CHANNEL, "42")
        wait_for(lambda: heard == ["41", "42"], 10, "a notification after the restart")
        assert writer.conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
        pg_cluster.stop()
        try:
            with pytest.raises(SiteUnavailable, match="cannot be reached"):
                SiteDatabase(site_url, p.credentials).conn.execute("SELECT 1")
            wait_for(lambda: listener.state == RECONNECTING, 10, "the listener to notice")
        finally:
            pg_cluster.start()
        wait_for(lambda: listener.state == CONNECTED, 30, "the listener back")
    finally:
        listener.stop()
        writer.close()
        db.close()
        p.close()


@pytest.mark.timeout(300)
def test_a_desk_killed_mid_call_loses_its_operator_and_another_desk_takes_over(
        sim: Sim, site_url: str, tmp_path: Path) -> None:
    site, db, queue = joined(sim, tmp_path, site_url, OPS[:2])
    a = Desk(site.path, site_url, "desk-a", *OPS[0])
    b = Desk(site.path, site_url, "desk-b", *OPS[1])
    changed: list[str] = []
    listener = ChangeListener(db, [CHANNEL], lambda _c, payload: changed.append(payload)).start()
    floor = TalkFloor(SiteDatabase(site_url, site.profile.credentials), "desk-b",
                      lambda i: site.profile.registry.device(i).uid)
    try:
        a.ready()
        b.ready()
        inc = queue.on_event(press(site.profile, site.ids["hp1"], 1))
        assert inc is not None
        a.send(do="accept", id=inc.id)
        assert a.read()["ok"]
        b.send(do="accept", id=inc.id)  # an operator may not take a live colleague's call
        refused = b.read()
        assert not refused["ok"] and refused["type"] == PermissionDenied.__name__
        assert "desk-op1 (at desk-a)" in refused["error"]
        a.send(do="talk", device=site.ids["hp1"])
        assert a.read()["talking"]
        with pytest.raises(TalkTaken, match="desk-op1 at desk-a is talking to this caller"):
            floor.take(site.ids["hp1"], "desk-op2")
        changed.clear()
        os.kill(a.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: queue.get(inc.id).state == ON_HOLD, 25, "the call to be put back")
        lost_after = time.monotonic() - killed
        assert lost_after < 20, lost_after
        assert str(inc.id) in changed  # pushed to the other desks, not found by polling
        log = queue.actions(inc.id)
        assert log[-1]["action"] == OPERATOR_LOST
        assert log[-1]["detail"] == {"owner": "desk-op1", "workstation": "desk-a"}
        b.send(do="accept", id=inc.id)
        took = b.read()
        assert took["ok"] and (took["owner"], took["workstation"]) == ("desk-op2", "desk-b")
        floor.take(site.ids["hp1"], "desk-op2")  # the crashed desk's talk lock went with it
        floor.give_back(site.ids["hp1"])
        print(f"operator lost after {lost_after:.1f} s")
    finally:
        floor.close()
        listener.stop()
        a.close()
        b.close()
        db.close()
        site.profile.close()


def test_a_press_through_a_recording_host_reaches_every_workstation_through_restarts(
        sim: Sim, pg_cluster: Cluster, site_url: str, tmp_path: Path) -> None:
    """``vms serve --site`` raises a press in the shared queue; another workstation lists and
    takes it, and the service hears that; a press while the database is down is raised when
    it is back; a killed service restarted keeps the one open call."""
    from tests.test_site_service import Serve
    from tests.wall_helpers import OPERATOR, OPERATOR_PASSWORD

    site = register(sim, tmp_path / "site", ["hp1"])
    site.profile.accounts.set_setting("recording_mode", "off", by="test")
    keep_password(site.profile, site_url)
    path = site.path
    site.profile.close()
    env = {**ensure_admin(path), "VMS_USER": OPERATOR, "VMS_PASSWORD": OPERATOR_PASSWORD}

    def desk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(vms_cmd("--data-dir", str(path), "--site", site_url,
                                      "--workstation", "desk-9", "calls", *args),
                              env=env, capture_output=True, text=True, timeout=60)

    def open_calls() -> list[dict[str, Any]]:
        r = desk("list", "--json")
        assert r.returncode == 0, r.stderr
        return [c for c in json.loads(r.stdout) if c["device"] == "hp1"]

    serve = Serve(path, "--site", site_url, "--workstation", "rec-1")
    try:
        serve.wait_said("hp1 events: ok")
        serve.wait_said("Calls go to the site")
        sim.cli("press", "hp1")
        wait_for(open_calls, 20, "the press in the site's queue")
        call = open_calls()[0]
        assert call["state"] == "new"
        r = desk("accept", str(call["id"]))
        assert r.returncode == 0, r.stderr
        assert f"owner {OPERATOR} at desk-9" in r.stdout
        serve.wait_said(f"{call['id']} at hp1 (Default area): accepted by {OPERATOR} at desk-9",
                        10)
        r = desk("close", str(call["id"]), "--outcome", "test")
        assert r.returncode == 0, r.stderr
        sim.cli("release", "hp1")
        assert open_calls() == []

        pressed_while_away(pg_cluster, sim, serve, "hp1")
        wait_for(open_calls, 30, "the press heard while the database was down, raised")
        again = open_calls()
        assert len(again) == 1 and again[0]["id"] != call["id"]

        serve.proc.kill()  # SIGKILL: no goodbye
        serve.proc.wait(30)
        sim.cli("release", "hp1")
        sim.cli("press", "hp1")  # pressed again while no service ran
        pg_cluster.stop()  # and the host starts while the database is away
        restarted = utc_now()
        try:
            serve = Serve(path, "--site", site_url, "--workstation", "rec-1")
            serve.wait_said("hp1 events: ok")
            serve.wait_said("Site service running")
        finally:
            pg_cluster.start()
        def heard_again() -> bool:  # the held button, reported at resubscription, joined it
            r = desk("show", str(again[0]["id"]), "--json")
            return r.returncode == 0 and any(a["action"] == "event" and a["utc"] >= restarted
                                             for a in json.loads(r.stdout)["actions"])
        wait_for(heard_again, 40, "the restarted host to hear the held button")
        now = open_calls()
        assert [c["id"] for c in now] == [again[0]["id"]], now  # one call, not two
    finally:
        sim.cli("release", "hp1")
        code = serve.stop()
        print("\n".join(serve.lines[-20:]))
    assert code == 0


def test_a_desk_started_while_the_database_is_away_joins_when_it_answers(
        pg_cluster: Cluster, site_url: str, tmp_path: Path) -> None:
    from vms.site.desk import SiteDesk

    p = profile_on(tmp_path, site_url)
    SiteDatabase.open(site_url, p.credentials).close()
    pg_cluster.stop()
    try:
        desk = SiteDesk(p, SiteAddress.parse(site_url), "desk-5")  # no exception: it starts
        desk.start()
        assert desk.state == RECONNECTING
        with pytest.raises(SiteUnavailable, match="cannot be reached"):
            desk.queue.open_incidents()
    finally:
        pg_cluster.start()
    try:
        wait_for(lambda: desk.state == CONNECTED, 30, "the desk to join")
        assert desk.queue.open_incidents() == []
        stations = Workstations(SiteDatabase(site_url, p.credentials))
        wait_for(lambda: any(r["name"] == "desk-5" for r in stations.all()), 15,
                 "the desk's first heartbeat")
        stations.db.close()
    finally:
        desk.stop()
        p.close()


@pytest.mark.timeout(600)
def test_the_control_room_benchmark_races_three_desks_on_the_given_site(
        site_url: str, clip_cache: Path) -> None:
    """``benchmarks/control_room.py`` on the site named by ``VMS_SITE``: three desk processes,
    ``vms serve`` and the simulator; every race has one winner. Its timings are printed and
    judged against their targets by the benchmark itself (timing is not a test's to assert)."""
    env = {**os.environ, "VMS_SITE": site_url, "VMS_SITE_PASSWORD": SUPERUSER_PASSWORD}
    out = subprocess.run([sys.executable, "benchmarks/control_room.py", "--presses", "10",
                          "--clip-cache", str(clip_cache)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=540)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(result)
    assert result["site"] == "VMS_SITE" and result["desks"] == 3
    assert result["race_trials"] == result["presses"] == 10
    assert result["race_single_winner"] == 10
    for key in ("press_to_all_desks_ms", "accept_to_others_ms", "reference_notify_ms"):
        assert set(result[key]) == {"p50", "p95", "max"}, result
    import psycopg

    with psycopg.connect(site_url, password=SUPERUSER_PASSWORD) as c:  # the site's own record
        calls = c.execute("SELECT state, owner FROM incidents").fetchall()
        accepts = c.execute("SELECT incident_id, count(*) FROM incident_actions "
                            "WHERE action = 'accepted' GROUP BY incident_id").fetchall()
    assert len(calls) == 10 and all(state == "closed" and owner for state, owner in calls)
    assert len(accepts) == 10 and all(n == 1 for _i, n in accepts), accepts


@pytest.mark.timeout(420)
def test_a_flood_through_a_host_killed_and_a_database_restart_loses_and_doubles_no_call(
        sim: Sim, pg_cluster: Cluster, site_url: str, tmp_path: Path) -> None:
    """Four devices flood motion at 10 a second each through ``vms serve --site``. In it: a
    press; a PostgreSQL restart with a second press while it is down; SIGKILL of the
    host and a restart. After: exactly the two calls, each once, both still open; every
    subscription back (motion stored after the restart); recording resumed after a gap that
    says why."""
    from datetime import datetime

    import psycopg

    from tests.test_site_service import Serve
    from vms.events.store import EventStore
    from vms.recording.index import RecordingIndex
    from vms.sim import control

    names = ["hp1", "hp2", "cam1", "pid1"]
    for hp in ("hp1", "hp2"):
        sim.cli("release", hp)
    site = register(sim, tmp_path / "site", names)  # continuous recording
    keep_password(site.profile, site_url)
    path, cam = site.path, site.ids["cam1"]
    site.profile.close()

    def open_calls() -> dict[tuple[str, str], list[int]]:
        """The site's open calls by device and kind (the flood's motion raises its own)."""
        with psycopg.connect(site_url, password=SUPERUSER_PASSWORD) as c:
            rows = c.execute("SELECT device, kind, id FROM incidents WHERE state <> 'closed' "
                             "ORDER BY id").fetchall()
        out: dict[tuple[str, str], list[int]] = {}
        for device, kind, iid in rows:
            out.setdefault((device, kind), []).append(iid)
        return out

    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    index = RecordingIndex(path / "recordings.db")
    serve = Serve(path, "--site", site_url, "--workstation", "rec-1")
    try:
        for n in names:
            serve.wait_said(f"{n} events: ok")
        wait_for(lambda: any(x.frames for x in index.segments(cam)), 30, "recording")
        for n in names:  # stopped below, once everything has happened in it
            control.action(sim.data_dir, n, "flood", rate=10.0, duration=600.0)

        def flooding() -> set[str]:
            return {d["name"] for d in control.status(sim.data_dir)["devices"]
                    if d["flooding"] and d["name"] in names}

        sim.cli("press", "hp1")
        wait_for(lambda: ("hp1", "help_button") in open_calls(), 20,
                 "the first press in the site's queue")
        pressed_while_away(pg_cluster, sim, serve, "hp2")
        wait_for(lambda: ("hp2", "help_button") in open_calls(), 30,
                 "the press made while the database was down")
        before = open_calls()

        serve.kill()  # SIGKILL in the flood
        killed = time.time()
        time.sleep(2)
        serve = Serve(path, "--site", site_url, "--workstation", "rec-1")
        for n in names:
            serve.wait_said(f"{n} events: ok")
        restarted = time.time()
        wait_for(lambda: any(x.start_utc and ts(x.start_utc) > killed and x.frames
                             for x in index.segments(cam)), 30, "recording to resume")

        def motion_since_restart() -> set[str]:
            store = EventStore.for_profile(path)
            try:
                return {e["device"] for e in store.events(limit=5000) if e["kind"] == "motion"
                        and not e["initial"] and ts(e["received_utc"]) > restarted}
            finally:
                store.close()
        wait_for(lambda: motion_since_restart() >= set(names), 20,
                 "flood events from every device after the restart")
        assert flooding() == set(names), "the flood ended before the host came back"
        for n in names:
            control.action(sim.data_dir, n, "flood", rate=1.0, duration=0.001)  # stops it
        wait_for(lambda: not flooding(), 10, "the flood to stop")
        time.sleep(2)  # the held buttons' reports at resubscription have been handled
        after = open_calls()
        print(f"calls before the kill {before}, after {after}")
        assert before == after, "a call was lost or raised again"
        # The two presses, and the flood's motion on each device (a press does not join a
        # motion alarm: it is more urgent, so it raises its own call)
        assert set(after) == {("hp1", "help_button"), ("hp2", "help_button")} | {
            (n, "motion") for n in names}, after
        assert all(len(ids) == 1 for ids in after.values()), after  # one per device and kind
        gaps = [g for g in index.gaps(cam) if g.reason == "recorder stopped unexpectedly"]
        assert len(gaps) == 1 and gaps[0].end_utc, index.gaps(cam)
        print(f"recording gap {ts(gaps[0].end_utc) - ts(gaps[0].start_utc):.1f} s: "
              f"{gaps[0].reason}")
    finally:
        for hp in ("hp1", "hp2"):
            sim.cli("release", hp, check=False)
        for n in names:
            control.action(sim.data_dir, n, "flood", rate=1.0, duration=0.001)  # stops it
        code = serve.stop()
        index.close()
        print("\n".join(serve.lines[-20:]))
    assert code == 0


@pytest.mark.timeout(300)
def test_two_profiles_that_registered_the_same_help_point_share_its_calls_and_talk_lock(
        sim: Sim, site_url: str, tmp_path: Path) -> None:
    """A call names its device by the site-wide key (the registry's uid), so a desk on a profile
    of its own, where hp1 has another id, reads the call as its own hp1, takes it, and holds
    the one talk lock for that caller; a call for a camera its profile never registered is
    refused in words, not put on the wrong camera."""
    site, db, queue = joined(sim, tmp_path, site_url, OPS[:1])  # the host's profile: hp1 only
    other = register(sim, tmp_path / "desk-b-profile", ["hp2", "hp1"])  # hp1 is id 2 here
    admin = other.profile.access.sign_in("root-admin", "test-admin-passphrase", via="test")
    UserAdmin(other.profile.access, admin).add(OPS[1][0], Role.OPERATOR, OPS[1][1])
    keep_password(other.profile, site_url)
    assert site.ids["hp1"] != other.ids["hp1"]
    b = Desk(other.path, site_url, "desk-b", *OPS[1])
    floor = TalkFloor(SiteDatabase(site_url, site.profile.credentials), "desk-a",
                      lambda i: site.profile.registry.device(i).uid)
    there = IncidentQueue(other.profile, SiteDatabase(site_url, other.profile.credentials),
                          workstation="desk-b-reader")
    try:
        b.ready()
        inc = queue.on_event(press(site.profile, site.ids["hp1"], 1))
        assert inc is not None and inc.device_id == site.ids["hp1"]
        seen = there.get(inc.id)  # the other profile's own id for the same Help Point
        assert (seen.device_id, seen.device) == (other.ids["hp1"], "hp1")
        b.send(do="accept", id=inc.id)
        took = b.read()
        assert took["ok"] and (took["owner"], took["workstation"]) == ("desk-op2", "desk-b")
        assert queue.get(inc.id).owner == "desk-op2"  # and the host's profile sees it taken
        b.send(do="talk", device=other.ids["hp1"])
        assert b.read()["talking"]
        with pytest.raises(TalkTaken, match="desk-op2 at desk-b is talking to this caller"):
            floor.take(site.ids["hp1"], "desk-op1")
        # hp1 pressed again, heard through a host on the other profile (its own id for hp1):
        # it joins the same call, one per device and kind
        assert there.on_event(press(other.profile, other.ids["hp1"], 2)) is None
        assert [i.id for i in queue.open_incidents()] == [inc.id]
        # hp2 is only the other profile's: its call is read as no camera of the host's
        only_there = there.on_event(press(other.profile, other.ids["hp2"], 3))
        assert only_there is not None
        mine = queue.get(only_there.id)
        assert mine.device_id == 0 and mine.device == "hp2"
        with pytest.raises(IncidentError, match="not registered on this workstation's profile"):
            queue.accept(site.operator, only_there.id)

        # the site's audit trail finds a camera by its key, whatever its id on each profile:
        # the host profile's hp1 has the other profile's hp2's id
        assert site.ids["hp1"] == other.ids["hp2"]
        address = SiteAddress.parse(site_url)
        host, desk = Profile(site.path, site=address), Profile(other.path, site=address)
        try:
            host.access.record(host.access.sign_in(*OPS[0], via="cli"), "live.start",
                               device=host.registry.device(site.ids["hp1"]))
            host.audit.flush()  # its writer would a moment later
            about = desk.audit.entries(Filter(device_id=other.ids["hp1"], action="live.start"))
            assert [(e.device, e.device_id) for e in about] == [("hp1", site.ids["hp1"])]
            assert desk.audit.is_about(about[0], {other.ids["hp1"]})
            assert not desk.audit.is_about(about[0], {other.ids["hp2"]})
            assert desk.audit.entries(Filter(device_id=other.ids["hp2"],
                                             action="live.start")) == []
        finally:
            host.close()
            desk.close()
    finally:
        floor.close()
        b.close()
        there.store.close()  # type: ignore[attr-defined]
        db.close()
        site.profile.close()
        other.profile.close()


def test_a_site_set_up_before_calls_had_keys_keeps_its_open_call(
        sim: Sim, site_url: str, tmp_path: Path) -> None:
    """A site database at the first schema (calls named by the setting-up profile's ids), with
    a call open and a talk row: brought up to date, that profile reads the call as its own
    camera and a new press joins it; another profile reads it as no camera of its own."""
    from vms.paths import profile_key
    from vms.site import schema

    site = register(sim, tmp_path / "first", ["hp1"])
    keep_password(site.profile, site_url)
    old = SiteDatabase(site_url, site.profile.credentials)
    old.migrate(schema.MIGRATIONS[:1], schema.NAME)
    with old.transaction() as tx:
        tx.execute("INSERT INTO site_info (key, value) VALUES ('profile', ?)",
                   (profile_key(site.path),))
        iid = tx.execute("INSERT INTO incidents (device_id, device, area, kind, priority, state, "
                         "raised_utc) VALUES (?, 'hp1', 'Default area', 'help_button', 1, 'new', "
                         "?) RETURNING id", (site.ids["hp1"], utc_now())).fetchone()[0]
        tx.execute('INSERT INTO talking (device_id, "user", workstation) VALUES (?, ?, ?)',
                   (site.ids["hp1"], "desk-op1", "desk-a"))
    old.close()
    other = register(sim, tmp_path / "second", ["hp2", "hp1"])
    db = SiteDatabase.open(site_url, site.profile.credentials)  # brought up to date
    try:
        queue = IncidentQueue(site.profile, db, workstation="desk-a")
        assert [(i.id, i.device_id) for i in queue.open_incidents()] == [(iid, site.ids["hp1"])]
        assert queue.on_event(press(site.profile, site.ids["hp1"], 1)) is None  # joins it
        assert len(queue.open_incidents()) == 1
        theirs = IncidentQueue(other.profile, db, workstation="desk-b")
        assert theirs.get(iid).device_id == 0  # its id is the first profile's, not theirs
        floor = TalkFloor(SiteDatabase(site_url, site.profile.credentials), "desk-a",
                          lambda i: site.profile.registry.device(i).uid)
        try:
            floor.take(site.ids["hp1"], "desk-op1")  # the old row went with the old table
        finally:
            floor.close()
    finally:
        db.close()
        site.profile.close()
        other.profile.close()
