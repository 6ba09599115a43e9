"""WS-Discovery: unicast on the host, multicast inside a private network namespace."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import REPO, Sim, ensure_admin, start_sim

WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"


def probe_xml(types: str = "dn:NetworkVideoTransmitter", scopes: str = "") -> tuple[str, bytes]:
    mid = f"urn:uuid:{uuid.uuid4()}"
    sc = f"<d:Scopes>{scopes}</d:Scopes>" if scopes else ""
    return mid, (
        f'<?xml version="1.0"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:w="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        f'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><e:Header><w:MessageID>{mid}'
        f"</w:MessageID><w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
        f"<w:Action>{WSD}/Probe</w:Action></e:Header><e:Body><d:Probe><d:Types>{types}</d:Types>"
        f"{sc}</d:Probe></e:Body></e:Envelope>").encode()


def unicast_probe(sim: Sim, payload: bytes, wait: float = 1.0) -> list[etree._Element]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(wait)
    s.sendto(payload, ("127.0.0.1", sim.state()["discovery_port"]))
    out = []
    try:
        while True:
            data, _ = s.recvfrom(65536)
            out.append(etree.fromstring(data))
    except TimeoutError:
        pass
    s.close()
    return out


def test_unicast_probe_gets_one_match_per_device(sim: Sim) -> None:
    mid, payload = probe_xml("dn:NetworkVideoTransmitter tds:Device")
    replies = unicast_probe(sim, payload)
    assert len(replies) == 8
    names = set()
    for r in replies:
        assert r.findtext(f".//{{{WSA}}}RelatesTo") == mid
        assert r.find(f".//{{{WSD}}}ProbeMatches/{{{WSD}}}ProbeMatch") is not None
        xaddr = r.findtext(f".//{{{WSD}}}XAddrs")
        assert xaddr.startswith("http://127.0.0.1:") and xaddr.endswith("/onvif/device_service")
        scopes = r.findtext(f".//{{{WSD}}}Scopes").split()
        assert "onvif://www.onvif.org/Profile/Streaming" in scopes
        assert any(s.startswith("onvif://www.onvif.org/hardware/") for s in scopes)
        assert any(s.startswith("onvif://www.onvif.org/location/") for s in scopes)
        names |= {s.rsplit("/", 1)[1] for s in scopes if "/name/" in s}
        assert r.findtext(f".//{{{WSA}}}Address").startswith("urn:uuid:")
    assert {"cam1", "hp1", "pid2"} <= names


def test_probe_filters_by_type_and_scope(sim: Sim) -> None:
    _, other = probe_xml("dn:SomethingElse")
    assert unicast_probe(sim, other, 0.5) == []
    _, scoped = probe_xml(scopes="onvif://www.onvif.org/type/ptz")
    names = {s.rsplit("/", 1)[1] for r in unicast_probe(sim, scoped)
             for s in r.findtext(f".//{{{WSD}}}Scopes").split() if "/name/" in s}
    # The street domes and the PID cameras steer; the Help Points do not.
    assert names == {"cam1", "cam2", "cam3", "cam4", "pid1", "pid2"}


def test_garbage_datagrams_do_not_stop_discovery(sim: Sim) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = sim.state()["discovery_port"]
    for junk in (b"\x00\xff garbage", b"<unclosed", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'):
        s.sendto(junk, ("127.0.0.1", port))
    s.close()
    _, payload = probe_xml()
    assert len(unicast_probe(sim, payload)) == 8


def test_multicast_probe_hello_and_bye_in_a_network_namespace(tmp_path: Path,
                                                            clip_cache: Path) -> None:
    unshare = shutil.which("unshare")
    assert unshare and shutil.which("ip"), "needs util-linux unshare and iproute2 ip"
    if os.geteuid() != 0:
        pytest.fail("multicast test needs root to create a network namespace (CI runs as root)")
    script = (f"ip link set lo up && ip link set lo multicast on && "
              f"ip route add 224.0.0.0/4 dev lo && exec {sys.executable} "
              f"{REPO / 'tests' / 'discovery_probe.py'} {tmp_path / 'data'} {clip_cache}")
    res = subprocess.run([unshare, "-n", "bash", "-c", script], capture_output=True, text=True,
                         timeout=600, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["hello"].count("Hello") == 2, out
    assert len(out["matches"]) == 2 and all(m["relates_to"] == out["mid"] for m in out["matches"])
    assert all(m["xaddrs"].endswith("/onvif/device_service") for m in out["matches"])
    # After discovery: cam1 offline (Bye), online (Hello), then both stop (Bye, Bye).
    assert [a for a in out["bye"] if a in ("Hello", "Bye")] == ["Bye", "Hello", "Bye", "Bye"], out
    assert out["discovered"] == ["cam1", "hp1"], out  # `vms discover` by multicast
    # Our Hello/Bye listener heard both devices come up, cam1 go down and come back.
    assert sorted(out["presence_start"]) == [["hello", "cam1"], ["hello", "hp1"]], out
    assert out["presence_after"][:2] == [["bye", "cam1"], ["hello", "cam1"]], out
    assert sorted(out["presence_after"][2:]) == [["bye", "cam1"], ["bye", "hp1"]], out


def in_namespace(script: str) -> dict:
    """Run ``script`` (bash) in a fresh, private network namespace; its last line is JSON."""
    unshare = shutil.which("unshare")
    assert unshare and shutil.which("ip"), "needs util-linux unshare and iproute2 ip"
    if os.geteuid() != 0:
        pytest.fail("this test needs root to create a network namespace (CI runs as root)")
    res = subprocess.run([unshare, "-n", "bash", "-c", script], capture_output=True, text=True,
                         timeout=600, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_a_site_on_a_non_loopback_address_is_found_by_multicast(tmp_path: Path,
                                                                clip_cache: Path) -> None:
    """``vms sim --host ADDR`` joins the group on the interface holding ADDR, so a discovery
    tool that skips loopback finds it (the README's dummy-interface recipe, in a namespace:
    192.0.2.0/24 is TEST-NET-1 and the dummy interface sends nothing anywhere). Where the
    kernel has no dummy driver (containers) a veth pair with both ends in the namespace
    stands in: what it sends reaches only its own peer."""
    out = in_namespace(
        "ip link set lo up && "
        "{ ip link add beacon0 type dummy 2>/dev/null || "
        "{ ip link add beacon0 type veth peer name beacon1 && ip link set beacon1 up; }; } && "
        "ip addr add 192.0.2.10/24 dev beacon0 && ip link set beacon0 up multicast on && "
        "ip route add 224.0.0.0/4 dev beacon0 && "
        f"exec {sys.executable} {REPO / 'tests' / 'discovery_dummy_iface.py'} "
        f"{tmp_path / 'data'} {clip_cache}")
    assert out["multicast"] is True, out
    assert isinstance(out["found"], list), out["found"]  # otherwise: vms discover's stderr
    assert sorted(d["name"] for d in out["found"]) == ["cam1", "hp1"], out
    assert all(d["xaddr"].startswith("http://192.0.2.10:") and d["warning"] is None
               for d in out["found"]), out


def test_a_probe_match_without_its_wrapper_is_still_listed(tmp_path: Path,
                                                          clip_cache: Path) -> None:
    """The no_probematches_wrapper deviation puts ProbeMatch straight in the Body, as some
    firmwares do; `vms discover` lists that device beside a conforming one."""
    toml = tmp_path / "site.toml"
    toml.write_text('[[device]]\nname = "odd"\nkind = "camera"\nlocation = "Depot"\n'
                    'deviations = ["no_probematches_wrapper"]\n\n'
                    '[[device]]\nname = "plain"\nkind = "camera"\nlocation = "Yard"\n')
    site = start_sim(tmp_path / "simdata", clip_cache, "--config", str(toml))
    try:
        _, payload = probe_xml()
        bodies = {}
        for r in unicast_probe(site, payload):
            match = r.find(f".//{{{WSD}}}ProbeMatch")
            name = next(s.rsplit("/", 1)[1] for s in r.findtext(f".//{{{WSD}}}Scopes").split()
                        if "/name/" in s)
            bodies[name] = etree.QName(match.getparent()).localname
        assert bodies == {"odd": "Body", "plain": "ProbeMatches"}  # the switch is on for one
        profile = tmp_path / "client"
        res = subprocess.run(
            [sys.executable, "-m", "vms", "--data-dir", str(profile), "discover", "--json",
             "--no-multicast", "--range", "127.0.0.1", "--port",
             str(site.state()["discovery_port"]), "--timeout", "3"],
            capture_output=True, text=True, timeout=60, env=ensure_admin(profile))
        assert res.returncode == 0, res.stderr
        found = {d["name"]: d for d in json.loads(res.stdout)}
        assert set(found) == {"odd", "plain"}, res.stdout
        assert found["odd"]["xaddr"] == site.device("odd")["onvif"]
    finally:
        site.stop()
