"""Onboarding and registering devices against the real simulator, through the real CLI."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import ADMIN, PASSWORD, USER, Sim, ensure_admin, signed_in, start_sim, vms_cmd
from vms.devices.commissioning import Commissioning
from vms.errors import AuthFailed, ProtocolError, UnsafeXml
from vms.onvif.camera import DeviceClient, parse_target
from vms.onvif.http import Timeouts
from vms.onvif.onboard import onboard
from vms.profile import Profile
from vms.store import Registry


def vms(profile: Path, *args: str, stdin: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = ensure_admin(profile)
    return subprocess.run(vms_cmd("--data-dir", str(profile), *args), input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env)



def assert_nothing_stored(profile: Path) -> None:
    reg = Registry.for_profile(profile)
    assert reg.devices() == []
    con = sqlite3.connect(profile / "registry.db")
    assert con.execute("SELECT count(*) FROM streams").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM capabilities").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM areas").fetchone()[0] <= 1


def test_probe_prints_profiles_uris_capabilities_and_a_clock_that_follows_skew(sim: Sim,
                                                                                tmp_path: Path) -> None:
    cam = sim.address("cam4")
    try:
        sim.cli("skew", "cam4", "0")
        res = vms(tmp_path, "probe", cam, "--user", USER, "--password-stdin", "--json", stdin=PASSWORD)
        assert res.returncode == 0, res.stderr
        rep = json.loads(res.stdout)
        assert abs(rep["clock_offset_s"]) < 1.5
        assert (rep["manufacturer"], rep["model"], rep["name"], rep["location"]) == (
            "Beacon Simulated Devices", "BeaconSim-Cam", "cam4", "Riverside Car Park")
        port = sim.device("cam4")["rtsp_port"]
        assert rep["main_uri"] == f"rtsp://127.0.0.1:{port}/main"
        assert rep["sub_uri"] == f"rtsp://127.0.0.1:{port}/sub"
        assert [(s["profile_token"], s["width"], s["height"], s["media_version"]) for s in rep["streams"]] \
            == [("main", 1280, 720, 2), ("sub", 640, 360, 2)]
        assert rep["endpoint_ref"] == f"urn:uuid:{sim.device('cam4')['uuid']}"
        assert rep["capabilities"]["events"] and rep["capabilities"]["media2"]

        sim.cli("skew", "cam4", "600")
        res = vms(tmp_path, "probe", cam, "--user", USER, "--password-stdin", stdin=PASSWORD)
        assert res.returncode == 0, res.stderr
        out = res.stdout
        clock = next(line for line in out.splitlines() if line.startswith("Clock"))
        assert abs(float(clock.split()[2]) - 600) < 1.5, clock  # +599.9 and +600.1 are both right
        assert "10 min ahead of this computer" in out, out
        assert f"rtsp://127.0.0.1:{port}/main" in out and "1280x720" in out and "[main]" in out
        assert "Supports    PTZ, events (pull point), Media2" in out  # a street dome
        res = vms(tmp_path, "probe", cam, "--user", USER, "--password-stdin", "--json", stdin=PASSWORD)
        assert abs(json.loads(res.stdout)["clock_offset_s"] - 600) < 1.5

        sim.cli("skew", "cam4", "-3600")
        res = vms(tmp_path, "probe", cam, "--user", USER, "--password-stdin", "--json", stdin=PASSWORD)
        assert abs(json.loads(res.stdout)["clock_offset_s"] + 3600) < 1.5
    finally:
        sim.cli("skew", "cam4", "0")
    assert_nothing_stored(tmp_path)  # probe registers nothing; the audit trail says who probed what
    probes = [e for e in Profile(tmp_path).audit.entries() if e.action == "device.probe"]
    assert len(probes) == 4 and all(e.user == ADMIN and e.outcome == "ok" for e in probes)


def test_a_skewed_camera_refuses_an_uncompensated_client(sim: Sim) -> None:
    """Why the clock is read first: the same request, signed with our own clock, is refused."""
    async def go() -> None:
        async with DeviceClient(parse_target(sim.address("cam3")), USER, PASSWORD) as dc:
            await dc.set_offset(0.0)
            with pytest.raises(AuthFailed):
                await dc.call("devicemgmt", "GetDeviceInformation")
            await dc.read_clock()
            assert abs((dc.offset or 0) - 600) < 1.5
            info = await dc.call("devicemgmt", "GetDeviceInformation")
            assert info.Model == "BeaconSim-Cam"
    try:
        sim.cli("skew", "cam3", "600")
        asyncio.run(go())
    finally:
        sim.cli("skew", "cam3", "0")


def test_devices_add_list_remove_keeps_passwords_out_of_the_database(sim: Sim, tmp_path: Path) -> None:
    hp = sim.address("hp1")
    res = vms(tmp_path, "devices", "add", hp, "--user", USER, "--password-stdin", "--area", "Town Centre",
              "--json", stdin=PASSWORD + "\n")
    assert res.returncode == 0, res.stderr
    added = json.loads(res.stdout)
    assert (added["name"], added["area"], added["location"]) == ("hp1", "Town Centre", "Station Approach")

    listed = json.loads(vms(tmp_path, "devices", "list", "--json").stdout)
    assert [d["id"] for d in listed] == [added["id"]]
    dev = listed[0]
    assert dev["main_uri"].endswith("/main") and dev["sub_uri"].endswith("/sub")
    caps = dev["capabilities"]
    assert caps["digital_inputs"] == ["DI_0"] and caps["relay_outputs"] == ["RO_0"]
    assert caps["backchannel"] and caps["audio_outputs"] == 1
    text = vms(tmp_path, "devices", "list").stdout
    assert "hp1" in text and "Town Centre / Station Approach" in text

    # The password is in the credential store, and nowhere in the registry files.
    svc = Commissioning(*signed_in(tmp_path))
    assert svc.credentials.get(svc.registry.device(added["id"]).uid) == (USER, PASSWORD)
    # Closing a file this process also has open through SQLite drops SQLite's POSIX locks
    # (sqlite.org/howtocorrupt.html 2.2): close our connections before reading the files.
    svc.profile.close()
    for f in [*tmp_path.glob("registry.db*"), *tmp_path.glob("audit*")]:
        assert PASSWORD.encode() not in f.read_bytes(), f

    again = vms(tmp_path, "devices", "add", hp, "--user", USER, "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 2 and "already registered as device" in again.stderr

    gone = vms(tmp_path, "devices", "remove", str(added["id"]))
    assert gone.returncode == 0 and "hp1" in gone.stdout
    assert json.loads(vms(tmp_path, "devices", "list", "--json").stdout) == []
    assert svc.credentials.get(dev["uid"]) is None
    missing = vms(tmp_path, "devices", "remove", str(added["id"]))
    assert missing.returncode == 2 and f"no device with id {added['id']}" in missing.stderr


def test_wrong_password_is_said_plainly_and_nothing_is_stored(sim: Sim, tmp_path: Path) -> None:
    res = vms(tmp_path, "devices", "add", sim.address("cam1"), "--user", USER, "--password-stdin",
              stdin="not-the-password")
    assert res.returncode == 2
    assert "refused user 'admin'" in res.stderr and "wrong user name or password" in res.stderr
    assert "not-the-password" not in res.stderr and "Traceback" not in res.stderr
    assert_nothing_stored(tmp_path)


def test_unreachable_and_silent_hosts(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    res = vms(tmp_path, "devices", "add", f"127.0.0.1:{closed}", "--user", USER, "--password-stdin",
              stdin=PASSWORD)
    assert res.returncode == 2 and "connection refused" in res.stderr, res.stderr
    assert_nothing_stored(tmp_path)

    # A host that accepts the connection and never answers (a camera stuck rebooting).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        res = vms(tmp_path, "probe", f"127.0.0.1:{silent.getsockname()[1]}", "--user", USER,
                  "--password-stdin", "--timeout", "1", stdin=PASSWORD)
    finally:
        silent.close()
    assert res.returncode == 2 and "did not answer within" in res.stderr, res.stderr


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol3;</s:Body></s:Envelope>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x>&x;</x></s:Body></s:Envelope>"""


@pytest.fixture
def hostile() -> Iterator[tuple[int, dict[str, bytes]]]:
    """A loopback 'camera' answering every SOAP request with whatever the test puts in reply['body']."""
    reply: dict[str, bytes] = {"body": BILLION_LAUGHS, "type": b"application/soap+xml"}
    loop = asyncio.new_event_loop()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=reply["body"], content_type=reply["type"].decode())

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_post("/{t:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    import threading

    runner, port = loop.run_until_complete(start())
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    yield port, reply
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)
    loop.run_until_complete(runner.cleanup())


@pytest.mark.parametrize(("body", "ctype", "error", "words"), [
    (BILLION_LAUGHS, "application/soap+xml", UnsafeXml, "DTD or entities"),
    (XXE, "application/soap+xml", UnsafeXml, "DTD or entities"),
    (b"<?xml version='1.0'?><s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>"
     + b"<x>" * 10 + b"A" * (5 * 1024 * 1024), "application/soap+xml", ProtocolError, "limit"),
    (b"<!DOCTYPE html><html><body>Router login</body></html>", "text/html", ProtocolError,
     "web page"),
    (b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body><unclosed>",
     "application/soap+xml", ProtocolError, "incomplete or malformed SOAP reply"),
])
def test_hostile_or_broken_replies_are_refused_and_nothing_is_stored(
        hostile: tuple[int, dict[str, bytes]], tmp_path: Path, body: bytes, ctype: str,
        error: type[Exception], words: str) -> None:
    port, reply = hostile
    reply["body"], reply["type"] = body, ctype.encode()
    with pytest.raises(error, match=words):
        asyncio.run(onboard(parse_target(f"127.0.0.1:{port}"), USER, PASSWORD, Timeouts(2, 5, 8)))
    res = vms(tmp_path, "devices", "add", f"127.0.0.1:{port}", "--user", USER, "--password-stdin",
              stdin=PASSWORD)
    assert res.returncode == 2 and words in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert_nothing_stored(tmp_path)


def test_http_digest_only_camera(tmp_path: Path, clip_cache: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('[[device]]\nname = "digestcam"\nkind = "camera"\nlocation = "Depot"\n'
                   'auth = "digest"\n')
    site = start_sim(tmp_path / "simdata", clip_cache, "--config", str(cfg))
    try:
        target = site.address("digestcam")
        rep = asyncio.run(onboard(parse_target(target), USER, PASSWORD))
        assert rep.auth_method == "http-digest"
        assert rep.model == "BeaconSim-Cam" and rep.stream("main") is not None
        with pytest.raises(AuthFailed, match="wrong user name or password"):
            asyncio.run(onboard(parse_target(target), USER, "wrong"))
    finally:
        site.stop()


def test_a_failed_registry_write_leaves_neither_rows_nor_a_password(sim: Sim, tmp_path: Path) -> None:
    svc = Commissioning(*signed_in(tmp_path))
    rep = svc.probe(sim.address("cam2"), USER, PASSWORD)
    rep.streams.append(rep.streams[0])  # same profile token twice: the streams insert fails
    with pytest.raises(sqlite3.IntegrityError):
        svc.register(rep, PASSWORD)
    assert_nothing_stored(tmp_path)
    assert svc.credentials.get(svc.registry.uid_for(rep)) is None


def test_rename_and_move_are_checked_audited_and_refused_in_words(sim: Sim, tmp_path: Path
                                                                  ) -> None:
    """``vms devices rename`` and ``move`` (the desktop's "Name and place…" calls the same
    service): saved, audited with old and new, and refused for a clash, control characters,
    a digits-only name, or a user without the right."""
    from vms.access.admin import UserAdmin
    from vms.access.roles import Role
    from vms.audit.log import Filter
    from vms.errors import ConfigError, PermissionDenied

    for name in ("cam1", "cam2"):
        assert vms(tmp_path, "devices", "add", sim.address(name), "--user", USER,
                   "--password-stdin", stdin=PASSWORD).returncode == 0
    profile, admin = signed_in(tmp_path)
    UserAdmin(profile.access, admin).add("ivy-installer", Role.INSTALLER, "ivy-installs-42")
    profile.close()

    def installer(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**ensure_admin(profile), "VMS_USER": "ivy-installer",
               "VMS_PASSWORD": "ivy-installs-42"}
        return subprocess.run(vms_cmd("--data-dir", str(profile), *args), capture_output=True,
                              text=True, timeout=60, env=env)

    refused = vms(tmp_path, "devices", "rename", "cam1", "Market Sq North")
    assert refused.returncode == 2 and "needs the role of installers" in refused.stderr
    res = installer(tmp_path, "devices", "rename", "cam1", "Market Sq North")
    assert res.returncode == 0, res.stderr
    assert "cam1 is now called Market Sq North" in res.stdout
    res = installer(tmp_path, "devices", "move", "Market Sq North", "--area", "Town Centre",
              "--location", "  Market Square,   north side ")
    assert res.returncode == 0, res.stderr
    assert "in area 'Town Centre' at Market Square, north side." in res.stdout
    listed = {d["name"]: d for d in json.loads(vms(tmp_path, "devices", "list", "--json").stdout)}
    assert sorted(listed) == ["Market Sq North", "cam2"]
    moved = listed["Market Sq North"]
    assert (moved["area"], moved["location"]) == ("Town Centre", "Market Square, north side")

    clash = installer(tmp_path, "devices", "rename", "cam2", "MARKET SQ NORTH")
    assert clash.returncode == 2 and "already called 'MARKET SQ NORTH'" in clash.stderr
    digits = installer(tmp_path, "devices", "rename", "cam2", "42")
    assert digits.returncode == 2 and "digits only" in digits.stderr

    profile, admin = signed_in(tmp_path)
    svc = Commissioning(profile, profile.access.sign_in("ivy-installer", "ivy-installs-42",
                                                        via="test"))
    cam2 = next(r for r in svc.devices() if r.name == "cam2")
    with pytest.raises(ConfigError, match="cannot be shown"):
        svc.rename(cam2.id, "cam\x1b[2Jtwo")
    with pytest.raises(ConfigError, match="80 at most"):
        svc.move(cam2.id, "x" * 81)
    with pytest.raises(ConfigError, match="place is 81 characters"):  # all checked first:
        svc.name_and_place(cam2.id, "Bus Station", "Town Centre", "y" * 81)
    assert profile.registry.device(cam2.id).name == "cam2"  # nothing half-saved
    row = svc.name_and_place(cam2.id, "Bus Station", "town centre", "Stand  B")
    assert (row.name, row.area, row.location) == ("Bus Station", "Town Centre", "Stand B")
    res = installer(tmp_path, "devices", "move", "Bus Station", "--area", "Depot")
    assert res.returncode == 0 and "at Stand B." in res.stdout, res.stdout  # place kept
    UserAdmin(profile.access, admin).add("olu-operator", Role.OPERATOR, "olu-watches-42")
    op = profile.access.sign_in("olu-operator", "olu-watches-42", via="test")
    with pytest.raises(PermissionDenied):
        Commissioning(profile, op).rename(cam2.id, "Bus Station 2")
    assert profile.registry.device(cam2.id).name == "Bus Station"
    # Two desks at one instant: both checks ran before either wrote. The write itself refuses
    # the second (the check is repeated inside its transaction), on another desk's connection.
    other_desk = Profile(tmp_path)
    try:
        with pytest.raises(ConfigError, match="already called 'Market Sq North'"):
            other_desk.registry.set_name_and_place(cam2.id, "market sq north", "Depot", None)
        # not only ASCII: "STRASSE OST" is "Straße Ost", as the desktop's own check has it
        cam1 = next(r for r in svc.devices() if r.name == "Market Sq North")
        other_desk.registry.set_name_and_place(cam2.id, "Straße Ost", "Depot", "Stand B")
        with pytest.raises(ConfigError, match="already called 'Straße Ost'"):
            other_desk.registry.set_name_and_place(cam1.id, "STRASSE OST", cam1.area, None)
        other_desk.registry.set_name_and_place(cam2.id, "Bus Station", "Depot", "Stand B")
    finally:
        other_desk.close()
    assert profile.registry.device(cam2.id).name == "Bus Station"
    renamed = profile.audit.entries(Filter(action="device.rename"))
    assert [(e.user, e.outcome) for e in renamed] == [
        (ADMIN, "denied"), ("ivy-installer", "ok"), ("ivy-installer", "ok"),
        ("olu-operator", "denied")], renamed
    assert renamed[1].detail == '{"from":"cam1","to":"Market Sq North"}'

    move = profile.audit.entries(Filter(action="device.move"))
    assert [json.loads(m.detail)["to_area"] for m in move] == ["Town Centre", "Town Centre",
                                                               "Depot"]
    profile.close()
