"""The WS-Discovery client: real cameras' replies, broken replies, and the sim over the wire."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, Sim, ensure_admin, shared_path, vms_cmd
from vms.discovery.wsd import Sighting, expand_targets, parse_reply
from vms.errors import ConfigError

WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"


def capture(rel: str, sender: str) -> tuple[str | None, Sighting]:
    relates, sightings = parse_reply(shared_path(f"data/onvif-captures/{rel}").read_bytes(), sender)
    assert len(sightings) == 1, rel
    return relates, sightings[0]


def test_dvc_camera_with_ipv4_and_ipv6_xaddrs() -> None:
    relates, s = capture("dvc/ProbeMatches_1.xml", "192.0.2.14")
    assert relates == "urn:uuid:00000000-0000-4000-8000-000000000012"
    assert s.endpoint == "urn:uuid:00000000-0000-4000-8000-000000000011"
    assert s.xaddrs == ["http://192.0.2.14:80/onvif/device_service",
                        "http://[fe80::a]:80/onvif/device_service"]
    assert s.xaddr == "http://192.0.2.14:80/onvif/device_service" and s.warning is None
    assert (s.name, s.location, s.hardware) == ("REDACTED7", "REDACTED6", "DCN-BF5365")
    assert s.profiles == ["Streaming", "G"]
    assert s.types == ["tdn:NetworkVideoTransmitter", "tds:Device"] and s.metadata_version == 10


def test_dvc_empty_location_and_missing_name() -> None:
    _, s = capture("dvc/ProbeMatches_2.xml", "192.0.2.14")
    assert (s.name, s.location, s.hardware) == ("DVC", "", "DCN-BM2220LPR")
    assert s.profiles == ["Streaming", "T", "G"]
    _, s3 = capture("dvc/ProbeMatches_3.xml", "192.0.2.10")
    assert (s3.name, s3.location) == ("", "")
    assert s3.xaddr == "http://192.0.2.10:80/onvif/device_service"


def test_dvc_nvr_with_whitespace_runs_and_trailing_space() -> None:
    _, s = capture("dvc/ProbeMatches_4.xml", "192.0.2.14")
    assert s.hardware == "DRN-3282R" and s.name == "REDACTED6"
    assert s.xaddrs == ["http://192.0.2.14:80/onvif/device_service"]
    assert s.types == ["dn:NetworkVideoTransmitter", "tds:Device"]


def test_ezviz_mac_scope_and_https_xaddr() -> None:
    _, s = capture("ezviz/ProbeMatches_1.xml", "192.0.2.13")
    assert s.mac == "02:00:00:00:00:15" and s.hardware == "DS-2DE2C400IG-W-W"
    assert s.xaddrs == ["http://192.0.2.13/onvif/device_service",
                        "https://192.0.2.13/onvif/device_service"]
    assert s.xaddr == "http://192.0.2.13/onvif/device_service"  # plain HTTP preferred


def test_gsoap_mock_placeholder_xaddr_is_not_usable() -> None:
    _, s = capture("gsoap-mock/ProbeMatches_1.xml", "192.0.2.50")
    assert s.endpoint == "uuid:c9790c3a-701b-464d-a189-0060351c8ada"
    assert (s.name, s.hardware, s.location) == ("PREDATOR", "HD_PREDATOR", "")
    assert s.xaddrs == [] and s.xaddr is None
    assert "no usable device address" in (s.warning or "")


def test_xaddrs_pointing_elsewhere_are_flagged_and_never_chosen() -> None:
    _, s = capture("dvc/ProbeMatches_1.xml", "192.0.2.99")  # answered from another host
    assert s.xaddr is None
    assert "point at a host other than the one that answered" in (s.warning or "")


def test_match_without_wrapper_with_spaces_is_read() -> None:
    body = (f'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:d="{WSD}" '
            'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><e:Body><d:ProbeMatch>'
            "<a:EndpointReference><a:Address> urn:uuid:1 </a:Address></a:EndpointReference>"
            "<d:Scopes>  onvif://www.onvif.org/name/Gate%20Cam \n onvif://www.onvif.org/location/"
            "Back_Yard  </d:Scopes><d:XAddrs> http://10.1.2.3/onvif/device_service </d:XAddrs>"
            "</d:ProbeMatch></e:Body></e:Envelope>").encode()
    relates, [s] = parse_reply(body, "10.1.2.3")
    assert relates is None
    assert (s.endpoint, s.name, s.location) == ("urn:uuid:1", "Gate Cam", "Back Yard")
    assert s.xaddr == "http://10.1.2.3/onvif/device_service"


@pytest.mark.parametrize("junk", [
    b"", b"\xff\xfe garbage", b"<unclosed", b"<x/>",
    b'<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><x>&a;</x>',
])
def test_junk_datagrams_are_not_sightings(junk: bytes) -> None:
    assert parse_reply(junk, "10.0.0.1") == (None, [])


def discover(profile: Path, *args: str) -> list[str]:
    return vms_cmd("--data-dir", str(profile), "discover", *args)


def test_range_expansion_and_limits() -> None:
    assert expand_targets(["10.0.0.0/30", "cam.local", "10.9.9.9"]) == [
        "10.0.0.1", "10.0.0.2", "cam.local", "10.9.9.9"]
    with pytest.raises(ConfigError, match="not a CIDR"):
        expand_targets(["10.0.0.0/33"])
    with pytest.raises(ConfigError, match="split it"):
        expand_targets(["10.0.0.0/8"])


def test_vms_discover_lists_every_sim_device_within_3_s(sim: Sim, tmp_path: Path) -> None:
    port = str(sim.state()["discovery_port"])
    env = ensure_admin(tmp_path)
    t0 = time.monotonic()
    res = subprocess.run(discover(tmp_path, "--json", "--no-multicast", "--range", "127.0.0.1",
                                 "--port", port), capture_output=True, text=True, timeout=30,
                         cwd=REPO, env=env)
    elapsed = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    found = {d["name"]: d for d in json.loads(res.stdout)}
    assert set(found) == {d["name"] for d in sim.state()["devices"]}
    for name, d in found.items():
        assert d["xaddr"] == sim.device(name)["onvif"] and d["warning"] is None
        assert f"onvif://www.onvif.org/name/{name}" in d["scopes"]
    assert elapsed < 3.0, f"took {elapsed:.2f} s"


def test_vms_discover_range_scan_deduplicates(sim: Sim, tmp_path: Path) -> None:
    port = str(sim.state()["discovery_port"])
    res = subprocess.run(discover(tmp_path, "--json", "--no-multicast", "--range", "127.0.0.0/29",
                                 "--range", "127.0.0.1", "--port", port, "--timeout", "1"),
                         capture_output=True, text=True, timeout=30, cwd=REPO,
                         env=ensure_admin(tmp_path))
    assert res.returncode == 0, res.stderr
    names = [d["name"] for d in json.loads(res.stdout)]
    assert sorted(names) == sorted(d["name"] for d in sim.state()["devices"])


def test_vms_discover_refuses_nonsense(tmp_path: Path) -> None:
    res = subprocess.run(discover(tmp_path, "--no-multicast"), capture_output=True, text=True,
                         timeout=30, cwd=REPO,
                         env=ensure_admin(tmp_path))
    assert res.returncode == 2 and "--range" in res.stderr
    res = subprocess.run(discover(tmp_path, "--range", "10.0.0.0/4", "--no-multicast"),
                         capture_output=True, text=True, timeout=30, cwd=REPO,
                         env=ensure_admin(tmp_path))
    assert res.returncode == 2 and "split it" in res.stderr


def test_unicast_probe_stops_once_every_host_answered_but_waits_for_a_silent_one(
        sim: Sim) -> None:
    import asyncio

    from vms.discovery.wsd import discover

    port = int(sim.state()["discovery_port"])
    names = {d["name"] for d in sim.state()["devices"]}
    t0 = time.monotonic()
    found = asyncio.run(discover(5.0, ["127.0.0.1"], multicast=False, port=port))
    quick = time.monotonic() - t0
    assert {s.name for s in found} == names
    assert quick < 4.0, f"waited {quick:.2f} s of 5 s though every host had answered"
    t0 = time.monotonic()
    # 192.0.2.1 (TEST-NET-1) never answers: the whole timeout is waited for it.
    found = asyncio.run(discover(1.0, ["127.0.0.1", "192.0.2.1"], multicast=False, port=port))
    assert {s.name for s in found} == names
    assert time.monotonic() - t0 >= 1.0
