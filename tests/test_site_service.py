"""The site service (issue 21): ``vms serve`` raises, records and locks every call with no
desktop open; a desktop beside it is its client; it survives SIGKILL without losing or
doubling a call. Real simulator, real processes, real databases."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import (
    Sim,
    ensure_admin,
    signed_in,
    start_sim,
    vms_cmd,
    wait_for,
)
from tests.helppoint_helpers import FIELD_HELP_POINTS
from tests.wall_helpers import OPERATOR, OPERATOR_PASSWORD, Site, register
from vms.events.store import EventStore
from vms.recording.index import OPEN, RecordingIndex
from vms.site.address import running

SITE = FIELD_HELP_POINTS + """
[[device]]
name = "hp-a"
kind = "help_point"
location = "Market Square"
"""


@pytest.fixture(scope="module")
def ssim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    cfg = tmp_path_factory.mktemp("serve") / "site.toml"
    cfg.write_text(SITE)
    s = start_sim(cfg.parent / "data", clip_cache, "--config", str(cfg))
    yield s
    s.stop()


class Serve:
    """``vms serve`` in its own process, its log collected line by line."""

    def __init__(self, path: Path, *options: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(vms_cmd("--data-dir", str(path), "serve", *options),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_said(self, text: str, timeout: float = 40.0) -> None:
        wait_for(lambda: self.said(text), timeout, f"'{text}' in the service's log:\n"
                 + "\n".join(self.lines[-30:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self._reader.join(10)


def calls(path: Path, *args: str, user: str = OPERATOR, password: str = OPERATOR_PASSWORD
          ) -> subprocess.CompletedProcess[str]:
    env = {**ensure_admin(path), "VMS_USER": user, "VMS_PASSWORD": password}
    return subprocess.run(vms_cmd("--data-dir", str(path), "calls", *args), env=env,
                          capture_output=True, text=True, timeout=60)


def listed(path: Path) -> list[dict[str, Any]]:
    res = calls(path, "list", "--json")
    assert res.returncode == 0, res.stderr
    return list(json.loads(res.stdout))


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def press_events(path: Path, device: str) -> list[dict[str, Any]]:
    store = EventStore.for_profile(path)
    try:
        return [e for e in store.events(limit=10_000) if e["device"] == device
                and e["kind"] == "help_button" and e["active"] and not e["initial"]]
    finally:
        store.close()


def incidents_of(path: Path, device: str) -> list[dict[str, Any]]:
    store = EventStore.for_profile(path)
    try:
        return [dict(r) for r in store.conn.execute(
            "SELECT * FROM incidents WHERE device = ? ORDER BY id", (device,))]
    finally:
        store.close()


def profile_for(ssim: Sim, path: Path, names: list[str], **settings: str) -> Site:
    s = register(ssim, path, names)
    for key, value in settings.items():
        s.profile.accounts.set_setting(key, value, by="test")
    return s


@pytest.mark.timeout(480)
def test_serve_alone_raises_a_call_records_it_whole_and_locks_it(ssim: Sim, tmp_path: Path
                                                                 ) -> None:
    """No desktop: press at T, accept, close at T+60 s. Event-mode footage runs from T-30 s
    to close + post-roll without a hole, and its one lock ends at close + post-roll."""
    s = profile_for(ssim, tmp_path / "profile", ["hp-a"], recording_mode="event")
    path, hp = s.path, s.ids["hp-a"]
    s.profile.close()  # nothing of ours is open on the profile but the service
    serve = Serve(path)
    index = RecordingIndex(path / "recordings.db")
    try:
        serve.wait_said("hp-a events: ok")
        serve.wait_said("Site service running")
        started = time.time()
        time.sleep(36)  # more than the 30 s pre-roll and a keyframe interval
        assert index.segments() == [], "event mode wrote footage before any call"
        ssim.cli("press", "hp-a")
        wait_for(lambda: any(c["device"] == "hp-a" for c in listed(path)), 20,
                 "the call in 'vms calls list'")
        call = next(c for c in listed(path) if c["device"] == "hp-a")
        assert call["state"] == "new" and call["kind"] == "help_button"
        t_press = ts(press_events(path, "hp-a")[0]["device_time"])
        res = calls(path, "accept", str(call["id"]))
        assert res.returncode == 0, res.stderr
        time.sleep(2)
        ssim.cli("release", "hp-a")  # the call goes on after the button is let go
        time.sleep(max(0.0, t_press + 60 - time.time()))
        res = calls(path, "close", str(call["id"]), "--outcome", "assisted",
                    "--note", "caller lost, directed to the station")
        assert res.returncode == 0, res.stderr
        wait_for(lambda: all(lk.end_utc for lk in index.incident_locks(call["id"]))
                 and index.incident_locks(call["id"]), 10, "the lock to end")
        wait_for(lambda: index.segments(hp) and not index.segments(hp, OPEN)
                 and index.segments(hp)[-1].end_utc is not None, 60,
                 "the recording to stop a post-roll after the close")
    finally:
        code = serve.stop()
    print("\n".join(serve.lines[-15:]))
    assert code == 0
    closed_inc = incidents_of(path, "hp-a")
    assert len(closed_inc) == 1 and closed_inc[0]["state"] == "closed"
    assert closed_inc[0]["outcome"] == "assisted" and closed_inc[0]["owner"] == OPERATOR
    assert len(press_events(path, "hp-a")) == 1, "the press was stored more than once"
    t_close = ts(closed_inc[0]["closed_utc"])
    locks = index.incident_locks(call["id"])
    assert len(locks) == 1, locks  # one camera (its own), locked once
    lk = locks[0]
    assert lk.end_utc is not None
    print(f"press at {t_press:.1f}; lock {ts(lk.start_utc) - t_press:+.1f} s .. close "
          f"{ts(lk.end_utc) - t_close:+.1f} s")
    assert abs(ts(lk.start_utc) - (t_press - 30)) < 2
    assert abs(ts(lk.end_utc) - (t_close + 30)) < 2
    segs = index.segments(hp)
    assert segs and all(x.state != OPEN and x.start_utc and x.end_utc for x in segs)
    first, last = ts(segs[0].start_utc or ""), ts(segs[-1].end_utc or "")
    holes = [ts(b.start_utc or "") - ts(a.end_utc or "") for a, b in itertools.pairwise(segs)]
    print(f"footage {first - t_press:+.1f} s .. close {last - t_close:+.1f} s in {len(segs)} "
          f"segments; holes {holes}")
    assert first <= t_press - 30 and first >= started - 1
    assert last >= t_close + 30 - 1
    assert all(h < 0.5 for h in holes), holes
    assert not [g for g in index.gaps(hp) if g.end_utc and ts(g.start_utc) < t_close
                and ts(g.end_utc) > t_press - 30], index.gaps(hp)
    index.close()


@pytest.mark.timeout(300)
def test_a_killed_service_restarted_while_the_button_is_held_keeps_one_call(
        ssim: Sim, tmp_path: Path) -> None:
    s = profile_for(ssim, tmp_path / "profile", ["hp-a"])  # continuous recording
    path, hp = s.path, s.ids["hp-a"]
    s.profile.close()
    index = RecordingIndex(path / "recordings.db")
    first = Serve(path)
    try:
        first.wait_said("hp-a events: ok")
        wait_for(lambda: any(x.frames for x in index.segments(hp)), 30, "recording")
        ssim.cli("press", "hp-a")
        wait_for(lambda: incidents_of(path, "hp-a"), 20, "the call")
        iid = incidents_of(path, "hp-a")[0]["id"]
        time.sleep(3)
    finally:
        first.kill()  # SIGKILL: no clean stop, no subscription given back
    killed = time.time()
    assert running(path) is None, "the OS did not free the service lock of a killed process"
    time.sleep(2)
    second = Serve(path)
    try:
        second.wait_said("hp-a events: ok")
        wait_for(lambda: any(x.start_utc and ts(x.start_utc) > killed and x.frames
                             for x in index.segments(hp)), 30, "recording to resume")
        time.sleep(3)  # the resubscription's report of the held button has been handled
        incs = incidents_of(path, "hp-a")
        assert [i["id"] for i in incs] == [iid], incs
        assert incs[0]["state"] == "new"
        assert len(press_events(path, "hp-a")) == 1
        locks = index.incident_locks(iid)
        assert len(locks) == 1 and locks[0].end_utc is None, locks
        gaps = [g for g in index.gaps(hp) if g.reason == "recorder stopped unexpectedly"]
        assert len(gaps) == 1 and gaps[0].end_utc, index.gaps(hp)
        hole = ts(gaps[0].end_utc) - ts(gaps[0].start_utc)
        print(f"gap {hole:.1f} s: {gaps[0].reason}")
        assert 2 <= hole < 30
        ssim.cli("release", "hp-a")
        assert calls(path, "accept", str(iid)).returncode == 0
        res = calls(path, "close", str(iid), "--outcome", "test")
        assert res.returncode == 0, res.stderr
        wait_for(lambda: index.incident_locks(iid)[0].end_utc is not None, 10, "lock end")
    finally:
        assert second.stop() == 0
    index.close()


def test_a_device_without_pull_point_rings_through_the_service(ssim: Sim, tmp_path: Path
                                                               ) -> None:
    """``WSPullPointSupport="false"``: WS-BaseNotification to the service's consumer, end to
    end to a call that 'vms calls' lists."""
    s = profile_for(ssim, tmp_path / "profile", ["hp-push"], recording_mode="off")
    path = s.path
    s.profile.close()
    serve = Serve(path)
    try:
        serve.wait_said("hp-push events: ok")
        assert serve.said("WS-BaseNotification")
        ssim.cli("press", "hp-push")
        wait_for(lambda: any(c["device"] == "hp-push" for c in listed(path)), 20, "the call")
        ssim.cli("release", "hp-push")
    finally:
        assert serve.stop() == 0
    assert len(incidents_of(path, "hp-push")) == 1


def test_a_desktop_beside_the_service_is_its_client(qtbot: QtBot, ssim: Sim, tmp_path: Path,
                                                     site_of: Any) -> None:
    """Desktop and 'vms serve' on one profile: the desktop subscribes to nothing; each press
    is stored once and locked once; the operator's actions are the service's."""
    from ui.calls.desk import CallDesk
    from ui.calls.service_link import ServiceLink
    from ui.wall.assembly import assemble
    from vms.site.client import SiteClient

    s = profile_for(ssim, tmp_path / "profile", ["hp-a"], recording_mode="off")
    path = s.path
    subs = ssim.live("hp-a")["subscriptions"]
    serve = Serve(path)
    live = None
    desk = None
    try:
        serve.wait_said("hp-a events: ok")
        site = site_of(s.profile)
        assert isinstance(site, SiteClient), "the desktop started a second service"
        live = assemble(s.profile, s.operator)
        desk = CallDesk(s.profile, ServiceLink(s.profile, s.operator, site), live.hub)
        desk.start([s.profile.registry.device(s.ids["hp-a"])])
        qtbot.waitUntil(lambda: desk is not None and desk.service.health.get(s.ids["hp-a"])
                        is not None, timeout=10000)
        assert ssim.live("hp-a")["subscriptions"] == subs + 1, "not one subscription"
        for n in range(2):
            ssim.cli("press", "hp-a")
            qtbot.waitUntil(lambda: bool(desk and desk.panes), timeout=15000)
            pane = next(iter(desk.panes.values()))
            iid = pane.incident.id
            pane.accept()
            qtbot.waitUntil(lambda i=iid: site.queue.get(i).state == "accepted", timeout=10000)
            ssim.cli("release", "hp-a")
            desk.service.queue.close(s.operator, iid, "test")
            qtbot.waitUntil(lambda: not desk.panes, timeout=10000)
            assert len(press_events(path, "hp-a")) == n + 1
        actions = [a["action"] for a in site.queue.actions(iid)]
        assert actions[:2] == ["raised", "presented"] and "accepted" in actions
        assert actions[-1] == "closed"
    finally:
        if desk is not None:
            desk.shutdown()
        if live is not None:
            live.shutdown()
        assert serve.stop() == 0
    incs = incidents_of(path, "hp-a")
    assert len(incs) == 2 and all(i["state"] == "closed" for i in incs)
    index = RecordingIndex(path / "recordings.db")
    try:
        for inc in incs:
            assert len(index.incident_locks(inc["id"])) == 1
    finally:
        index.close()
    accepts = [e for e in s.profile.audit.entries() if e.action == "incident.accept"]
    assert [(e.user, e.via) for e in accepts] == [(OPERATOR, "desktop")] * 2
    starts = [e for e in s.profile.audit.entries() if e.action == "service.start"]
    assert [e.user for e in starts] == ["site-service"]
    s.profile.close()


def test_a_desk_that_acts_through_the_service_is_not_idle(ssim: Sim, tmp_path: Path) -> None:
    """An operator answering calls through the service is active: the desk's session must not
    lock for inactivity while they act (the 60-minute soak's desk locked after 10 minutes,
    since only in-process actions counted), and still locks once they stop."""
    from vms.errors import SessionExpired
    from vms.site.client import connect

    s = profile_for(ssim, tmp_path / "profile", ["hp-a"], recording_mode="off")
    serve = Serve(s.path)
    client = None
    try:
        serve.wait_said("hp-a events: ok")
        client = connect(s.profile, timeout=30)
        ssim.cli("press", "hp-a")
        wait_for(lambda: any(i.device == "hp-a" for i in client.queue.open_incidents()), 20,
                 "the call")
        ssim.cli("release", "hp-a")
        iid = next(i.id for i in client.queue.open_incidents() if i.device == "hp-a")
        op = s.operator
        op.idle_limit_s = 2.0  # the policy's minutes, in seconds for the test
        op.resume()  # the clock starts now
        client.queue.accept(op, iid)
        for n in range(5):  # 5 s of work, an action a second: never 2 s without one
            time.sleep(1.0)
            client.queue.note(op, iid, f"still talking to the caller ({n})")
        time.sleep(2.5)  # then nothing
        with pytest.raises(SessionExpired, match="without activity"):
            client.queue.note(op, iid, "too late")
    finally:
        if client is not None:
            client.close()
        assert serve.stop() == 0
        s.profile.close()


def test_a_desktop_refuses_a_site_service_of_another_version_in_words(tmp_path: Path) -> None:
    """After an update, a service still running the old code speaks the old messages (before
    version 2 a device's grouping was "site"): the client says so and what to do, instead of
    a reader thread dying on the first call and the desktop hearing no more calls."""
    import socket

    import filelock

    from vms.errors import ServiceUnavailable
    from vms.site import wire
    from vms.site.address import address_path, lock_path
    from vms.site.client import SiteClient

    profile, _admin = signed_in(tmp_path / "profile")
    server = socket.create_server(("127.0.0.1", 0))
    old_hello = wire.dumps({"hello": "ok", "pid": 4242, "incidents": [], "health": []})

    def old_service() -> None:
        conn, _ = server.accept()
        with conn:
            conn.makefile("rb").readline()  # the client's token
            conn.sendall(old_hello)
            conn.recv(1)  # until the client hangs up

    threading.Thread(target=old_service, daemon=True).start()
    lock_path(profile.data_dir).parent.mkdir(parents=True, exist_ok=True)
    held = filelock.FileLock(lock_path(profile.data_dir), thread_local=False)
    held.acquire()
    try:
        address_path(profile.data_dir).write_text(json.dumps(
            {"host": "127.0.0.1", "port": server.getsockname()[1], "token": "t", "pid": 4242}))
        client = SiteClient(profile)
        with pytest.raises(ServiceUnavailable, match=r"runs another version of Beacon VMS "
                           r"\(messages version 1, this one 2\); restart it"):
            client.start(5.0)
        client.store.close()
    finally:
        held.release()
        server.close()
        profile.close()
