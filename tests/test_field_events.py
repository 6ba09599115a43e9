"""Events from devices that deviate the way field devices do, end to end to a Help Point call.

Issue 29: a device whose event service has no PullPoint (``WSPullPointSupport="false"``)
is subscribed with WS-BaseNotification and pushes to us; a device that writes ``State``
instead of ``LogicalState`` still rings. Each runs on the real simulator with the
deviation switched on, registered through real onboarding, through the engine and the
incident queue the desktop uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    USER,
    Sim,
    ensure_admin,
    start_sim,
    vms_cmd,
    wait_for,
)
from tests.helppoint_helpers import FIELD_HELP_POINTS
from tests.wall_helpers import Site, register
from vms.coreloop import core_loop
from vms.events.engine import BASE_NOTIFICATION, OK, PULL_POINT, EventEngine
from vms.events.sources import event_sources
from vms.events.store import EventStore
from vms.incidents.queue import IncidentQueue
from vms.onvif.camera import NS_EVENTS, DeviceClient, parse_target
from vms.onvif.http import Timeouts

SITE = FIELD_HELP_POINTS + """
[[device]]
name = "hp-plain"
kind = "help_point"
location = "Market Square"
"""


@pytest.fixture(scope="module")
def fsim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    cfg = tmp_path_factory.mktemp("field") / "site.toml"
    cfg.write_text(SITE)
    s = start_sim(cfg.parent / "data", clip_cache, "--config", str(cfg))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def fsite(fsim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = register(fsim, tmp_path_factory.mktemp("field-profile") / "data",
                 ["hp-push", "hp-state", "hp-plain"])
    yield s
    s.profile.close()


def test_the_simulator_says_which_devices_have_no_pull_point(fsim: Sim) -> None:
    async def claims(name: str) -> tuple[str | None, list[str]]:
        async with DeviceClient(parse_target(fsim.address(name)), USER, PASSWORD,
                                Timeouts(2, 5, 8)) as dc:
            await dc.read_clock()
            await dc.discover_services()
            url = dc.xaddrs[NS_EVENTS]
            res = await dc.soap(url, NS_EVENTS, "GetServiceCapabilities")
            caps = res[0]
            codes: list[str] = []
            try:
                await dc.soap(url, NS_EVENTS, "CreatePullPointSubscription")
            except Exception as exc:  # the refusal is the point: its codes are checked below
                codes = list(getattr(exc, "codes", []))
            return caps.get("WSPullPointSupport"), codes

    loop = core_loop()
    assert loop.call(claims("hp-push")) == ("false", ["Receiver", "ActionNotSupported"])
    flag, codes = loop.call(claims("hp-plain"))
    assert flag == "true" and codes == []


def test_a_press_on_a_push_only_device_and_a_state_named_device_become_calls(
        fsim: Sim, fsite: Site, tmp_path: Path) -> None:
    profile = fsite.profile
    store = EventStore(tmp_path / "events.db")
    queue = IncidentQueue(profile, store)
    eng = EventEngine(store)
    eng.listeners.append(queue.on_event)
    loop = core_loop()
    rows = [profile.registry.device(fsite.ids[n]) for n in ("hp-push", "hp-state", "hp-plain")]
    sources = event_sources(profile, rows)
    assert len(sources) == 3  # every Help Point has an event service and a stored password

    async def start() -> None:
        for _, src in sources:
            eng.watch(src)

    loop.call(start())
    push, state, plain = (fsite.ids[n] for n in ("hp-push", "hp-state", "hp-plain"))

    def calls_for(device_id: int) -> int:
        return sum(1 for i in queue.open_incidents() if i.device_id == device_id)

    try:
        wait_for(lambda: all(eng.health[d].state == OK for d in (push, state, plain)), 20,
                 "every Help Point subscribed")
        assert eng.health[push].method == BASE_NOTIFICATION
        assert "WS-BaseNotification" in eng.health[push].detail
        assert eng.health[state].method == PULL_POINT == eng.health[plain].method

        for name, dev in (("hp-push", push), ("hp-state", state)):
            fsim.cli("press", name)
            wait_for(lambda d=dev: calls_for(d) == 1, 20, f"a call from {name}")  # type: ignore[misc]
            fsim.cli("release", name)

        # The blue light's state arrives as State too, and is read back from the event.
        fsim.cli("relay", "hp-state", "on")
        wait_for(lambda: eng.relay_state(state) is True, 20, "the blue light reported on")
        fsim.cli("relay", "hp-state", "off")
        wait_for(lambda: eng.relay_state(state) is False, 20, "the blue light reported off")

        # A reboot forgets the pushed subscription; the engine notices at its next renewal,
        # subscribes again, and a press after it still rings.
        subs = eng.health[push].subscriptions
        fsim.cli("offline", "hp-push")
        time.sleep(1.0)
        fsim.cli("online", "hp-push")
        wait_for(lambda: eng.health[push].state == OK and eng.health[push].subscriptions > subs,
                 45, "hp-push subscribed again after its reboot")
        events_before = store.count_events()
        fsim.cli("press", "hp-push")
        wait_for(lambda: store.count_events() > events_before, 20, "the press after the reboot")
        assert eng.consumer.received > 0 and eng.consumer.refused == 0
        # Still one open call for the device: the new press joins it, as on any Help Point.
        assert calls_for(push) == 1
        fsim.cli("release", "hp-push")
    finally:
        loop.call(eng.stop())
        store.close()


def test_the_push_endpoint_takes_nothing_from_strangers(fsim: Sim, fsite: Site,
                                                        tmp_path: Path) -> None:
    """A notification to a path we did not hand out, or from another address, is refused."""
    import aiohttp

    from vms.events import basenotify

    got: list[object] = []

    async def run() -> tuple[int, int]:
        consumer = basenotify.Consumer()
        try:
            address = await consumer.open("127.0.0.1", got.append)
            wrong = address.rsplit("/", 1)[0] + "/not-a-token"
            body = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-'
                    b'envelope"><s:Body/></s:Envelope>')
            async with aiohttp.ClientSession() as http:
                async with http.post(wrong, data=body) as r1:
                    s1 = r1.status
                hostile = body.replace(b"<s:Body/>", b"<!DOCTYPE x [<!ENTITY a 'b'>]><s:Body/>")
                async with http.post(address, data=hostile) as r2:
                    s2 = r2.status
            return s1, s2
        finally:
            await consumer.close()

    assert core_loop().call(run()) == (404, 400)
    assert got == []


def test_vms_events_watches_a_device_that_only_pushes(fsim: Sim, fsite: Site) -> None:
    """The inspector took only PullPoint, so on a push-only Help Point ``vms events`` failed;
    it now asks for pushes to a consumer of its own, as the site service does."""
    env = ensure_admin(fsite.path)
    cmd = vms_cmd("--data-dir", str(fsite.path), "events", fsim.address("hp-push"), "--user",
                  USER, "--password-stdin", "--json", "--help-point", "--duration", "6")
    fsim.cli("relay", "hp-push", "off")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(PASSWORD + "\n")
    proc.stdin.close()
    first = proc.stdout.readline()  # subscribed: the device has pushed its state
    fsim.cli("relay", "hp-push", "on")
    proc.stdin = None  # closed above: communicate() has nothing more to send
    out, err = proc.communicate(timeout=60)
    fsim.cli("relay", "hp-push", "off")
    assert proc.returncode == 0, err
    lines = [json.loads(x) for x in (first + out).splitlines() if x.strip()]
    assert any(x["operation"] == "Initialized" and x["normalised"]
               and x["normalised"]["kind"] == "help_button" for x in lines), lines
    assert any(x["operation"] == "Changed" and x["topic_path"] == "Device/Trigger/Relay"
               and x["data"] == {"LogicalState": "active"} for x in lines), lines


def _probe(fsim: Sim, profile: Path, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = ensure_admin(profile)
    return subprocess.run(vms_cmd("--data-dir", str(profile), "probe", fsim.address(name), "--user",
                                  USER, "--password-stdin", *extra), input=PASSWORD,
                          capture_output=True, text=True, timeout=90, env=env)


def test_the_capability_table_says_what_was_claimed_and_what_worked(fsim: Sim, fsite: Site,
                                                                    tmp_path: Path) -> None:
    res = _probe(fsim, tmp_path / "p", "hp-push", "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    table = {c["feature"]: c for c in rep["capabilities"]["checks"]}
    pull = table["events: PullPoint"]
    assert (pull["claimed"], pull["result"]) == (False, "failed")
    assert "not supported" in pull["detail"]
    push = table["events: WS-BaseNotification"]
    assert push["result"] == "worked" and "pushed" in push["detail"]
    assert rep["capabilities"]["event_method"] == "WS-BaseNotification"
    talk = table["talk-back (audio backchannel)"]
    assert (talk["claimed"], talk["result"]) == (True, "worked")
    assert table["relay output"]["result"] == "worked"
    assert "not switched" in table["relay output"]["detail"]
    assert "events (WS-BaseNotification)" in rep["capability_summary"]

    text = _probe(fsim, tmp_path / "p", "hp-plain")
    assert text.returncode == 0, text.stderr
    assert "Capability table" in text.stdout
    line = next(ln for ln in text.stdout.splitlines() if "events: PullPoint" in ln)
    assert line.split()[2:4] == ["yes", "worked"], line

    # Registration keeps the table with the device.
    row = fsite.profile.registry.device(fsite.ids["hp-push"])
    assert row.capabilities.event_method == "WS-BaseNotification"
    check = row.capabilities.check("events: PullPoint")
    assert check is not None and check.result == "failed" and check.claimed is False


def test_the_capability_table_of_a_ptz_camera_lists_its_spaces(sim: Sim, tmp_path: Path) -> None:
    res = _probe(sim, tmp_path / "p", "cam1", "--json")
    assert res.returncode == 0, res.stderr
    table = {c["feature"]: c for c in json.loads(res.stdout)["capabilities"]["checks"]}
    ptz = table["PTZ"]
    assert ptz["result"] == "worked" and "absolute pan/tilt" in ptz["detail"]
    assert "continuous pan/tilt" in ptz["detail"] and "not moved" in ptz["detail"]
    assert table["events: PullPoint"]["result"] == "worked"
    assert table["Media2"]["result"] == "worked"
    talk = table["talk-back (audio backchannel)"]
    assert talk["result"] == "failed"  # a street camera has no speaker


def test_the_desktop_shows_the_capability_table(qtbot: QtBot, fsim: Sim, fsite: Site,
                                                site_of: Callable[..., Any]) -> None:
    """Right-click a Help Point in the camera tree → Device details… → its capability table."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.desktop import Desktop
    from ui.dialogs.device_details import DeviceDetailsDialog
    from ui.simulator_link import SimulatorLink

    admin = fsite.profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="desktop")
    desktop = Desktop(QApplication.instance(), fsite.profile, SimulatorLink(fsite.path),  # type: ignore[arg-type]
                      site_of(fsite.profile, record=False))
    win = desktop.open_window(admin)
    qtbot.addWidget(win)
    seen: dict[str, object] = {}

    def on_dialog() -> None:
        dlg = next((w for w in QApplication.topLevelWidgets()
                    if isinstance(w, DeviceDetailsDialog) and w.isVisible()), None)
        if dlg is None or "rows" in seen:
            return
        m = dlg.model
        seen["rows"] = [[m.index(r, c).data() for c in range(4)] for r in range(m.rowCount())]
        seen["events"] = dlg.events_label.text()
        screen = dlg.screen().availableGeometry()
        seen["fits"] = dlg.frameGeometry().height() <= 768 and dlg.width() <= 1366
        seen["on_screen"] = screen.contains(dlg.frameGeometry().topLeft())
        if os.environ.get("VMS_SCREENSHOT_DIR"):
            dlg.grab().save(os.path.join(os.environ["VMS_SCREENSHOT_DIR"], "device-details.png"))
        dlg.reject()

    poll = QTimer()
    poll.timeout.connect(on_dialog)
    poll.start(100)
    try:
        menu = win.cameras.context_menu(fsite.ids["hp-push"])
        action = next(a for a in menu.actions() if a.text() == "Device details…")
        assert action.isEnabled()
        action.trigger()  # the dialog opens once the device is read off the GUI thread
        qtbot.waitUntil(lambda: "rows" in seen, timeout=15000)
    finally:
        poll.stop()
        desktop._end_session("test over")
    rows = {r[0]: r for r in seen["rows"]}  # type: ignore[attr-defined]
    assert rows["events: PullPoint"][1:3] == ["no", "failed"]
    assert rows["events: WS-BaseNotification"][2] == "worked"
    assert rows["talk-back (audio backchannel)"][1:3] == ["yes", "worked"]
    assert seen["events"] == "WS-BaseNotification"
    assert seen["fits"], "the dialog must fit a 1366x768 screen"
