"""WS-Discovery against a hostile responder made here on loopback (issue 22).

The responder is a real UDP socket on 127.0.0.1; our client probes it by unicast, as
`vms discover --range 127.0.0.1` does, and it answers each probe with whatever the test
scripts: matches to someone else's probe, Hellos, devices with hundreds of addresses,
floods of devices. Nothing is ever sent to an address other than 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import REPO, ensure_admin, signed_in, vms_cmd
from vms.devices.commissioning import Commissioning
from vms.discovery.presence import Presence, PresenceListener
from vms.discovery.wsd import (
    MAX_DEVICES,
    MAX_FIELD_BYTES,
    MAX_SCOPES,
    MAX_XADDRS,
    MCAST_GROUP,
    Scan,
    Sighting,
    discover,
)

WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
_MESSAGE_ID = re.compile(rb"<[\w:]*MessageID>\s*([^<\s]+)\s*<")

Script = Callable[[str], Iterable[bytes]]  # our probe's MessageID -> the datagrams to answer with


def match(endpoint: str, *, xaddrs: list[str] | None = None, scopes: list[str] | None = None,
          name: str | None = None) -> str:
    name = name or endpoint.rsplit(":", 1)[-1]
    xs = " ".join(xaddrs if xaddrs is not None else ["http://127.0.0.1:8080/onvif/device_service"])
    sc = " ".join(scopes if scopes is not None else [f"onvif://www.onvif.org/name/{name}"])
    return (f"<d:ProbeMatch><a:EndpointReference><a:Address>{endpoint}</a:Address>"
            "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
            f"<d:Scopes>{sc}</d:Scopes><d:XAddrs>{xs}</d:XAddrs>"
            "<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch>")


def envelope(body: str, relates_to: str | None, action: str = "ProbeMatches") -> bytes:
    rel = f"<a:RelatesTo>{relates_to}</a:RelatesTo>" if relates_to is not None else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="{WSA}" '
            f'xmlns:d="{WSD}"><e:Header><a:MessageID>urn:uuid:feed</a:MessageID>{rel}'
            f"<a:Action>{WSD}/{action}</a:Action></e:Header><e:Body>{body}</e:Body>"
            "</e:Envelope>").encode()


def matches(relates_to: str | None, *items: str) -> bytes:
    return envelope(f"<d:ProbeMatches>{''.join(items)}</d:ProbeMatches>", relates_to)


def hello(endpoint: str) -> bytes:
    body = match(endpoint).replace("d:ProbeMatch>", "d:Hello>")
    return envelope(body, None, "Hello")


class Responder:
    """A hostile WS-Discovery responder on 127.0.0.1 that answers each probe by ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.probes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            m = _MESSAGE_ID.search(data)
            if not m or b"Probe" not in data:
                continue
            self.probes += 1
            assert addr[0] == "127.0.0.1"  # never answer anything but loopback
            for i, datagram in enumerate(self.script(m.group(1).decode())):
                if self._stop.is_set():
                    break
                try:
                    self.sock.sendto(datagram, addr)
                except OSError:  # the client has gone
                    break
                if len(datagram) > 4096 or i % 16 == 15:
                    time.sleep(0.01)  # let the client drain its socket buffer

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def responder() -> Iterator[Callable[[Script], Responder]]:
    made: list[Responder] = []

    def make(script: Script) -> Responder:
        made.append(Responder(script))
        return made[-1]

    yield make
    for r in made:
        r.close()


def scan(r: Responder, timeout: float = 1.5) -> tuple[Scan, float]:
    t0 = time.monotonic()
    found = asyncio.run(discover(timeout, ["127.0.0.1"], multicast=False, port=r.port))
    assert r.probes >= 1, "the responder never saw a probe"
    return found, time.monotonic() - t0


def names(found: list[Sighting]) -> list[str]:
    return sorted(s.endpoint for s in found)


def test_a_match_without_our_relates_to_is_dropped_and_said(
        responder: Callable[[Script], Responder]) -> None:
    r = responder(lambda mid: [
        matches(None, match("urn:uuid:no-relates")),
        matches("urn:uuid:00000000-0000-4000-8000-000000000000", match("urn:uuid:other-probe")),
        matches(mid.upper(), match("urn:uuid:good")),  # UUIDs compare case-insensitively
    ])
    found, _ = scan(r)
    assert names(found) == ["urn:uuid:good"]
    assert any("did not answer our probe (no RelatesTo, or another probe's)" in n
               and "127.0.0.1" in n for n in found.notes), found.notes


def test_hellos_during_a_probe_are_not_results(responder: Callable[[Script], Responder]) -> None:
    r = responder(lambda mid: [hello(f"urn:uuid:hello-{i}") for i in range(20)]
                  + [matches(mid, match("urn:uuid:good"))])
    found, _ = scan(r)
    assert names(found) == ["urn:uuid:good"]
    assert any("Hello announcements from 127.0.0.1" in n for n in found.notes), found.notes


def test_xaddrs_scopes_and_field_lengths_are_bounded(
        responder: Callable[[Script], Responder]) -> None:
    many_x = [f"http://127.0.0.1:{8000 + i}/onvif/device_service" for i in range(200)]
    long_x = "http://127.0.0.1/" + "x" * 5000
    many_s = [f"onvif://www.onvif.org/location/{i}" for i in range(500)]
    long_s = "onvif://www.onvif.org/name/" + "n" * 5000
    r = responder(lambda mid: [
        matches(mid, match("urn:uuid:greedy", xaddrs=[long_x, *many_x], scopes=[long_s, *many_s])),
        # the same device again with other addresses: merged, still within the bounds
        matches(mid, match("urn:uuid:greedy", xaddrs=many_x[100:], scopes=many_s[300:])),
        matches(mid, match("urn:uuid:" + "e" * 5000)),  # an endpoint reference too long to keep
    ])
    found, _ = scan(r)
    assert names(found) == ["urn:uuid:greedy"]
    [s] = found
    assert len(s.xaddrs) == MAX_XADDRS and s.xaddrs == many_x[:MAX_XADDRS]
    assert len(s.scopes) == MAX_SCOPES and s.scopes == many_s[:MAX_SCOPES]
    assert all(len(x.encode()) <= MAX_FIELD_BYTES for x in s.xaddrs + s.scopes + s.types)
    assert s.xaddr == many_x[0] and s.warning is None
    assert any("beyond the limits" in n for n in found.notes), found.notes


def test_devices_per_scan_are_bounded_and_the_scan_stops(
        responder: Callable[[Script], Responder]) -> None:
    """A responder that invents devices for ever: the scan keeps the first MAX_DEVICES,
    says so, and stops at once (it would otherwise collect until its 10 s timeout)."""
    def flood(mid: str) -> Iterator[bytes]:
        per = 40  # devices per datagram (about 12 KB), paced so the socket buffer keeps up
        for n in itertools.count(0, per):
            yield matches(mid, *(match(f"urn:uuid:fake-{i}") for i in range(n, n + per)))

    r = responder(flood)
    found, elapsed = scan(r, timeout=10.0)
    assert len(found) == MAX_DEVICES and found.truncated
    assert f"more than {MAX_DEVICES} devices answered; the rest were ignored" in found.notes
    assert elapsed < 8.0, f"the scan went on for {elapsed:.1f} s after the limit"


def test_non_conforming_real_replies_are_still_taken_and_duplicates_merged(
        responder: Callable[[Script], Responder]) -> None:
    def script(mid: str) -> list[bytes]:
        bare = envelope(match("urn:uuid:bare", xaddrs=["  http://127.0.0.1/onvif/device_service  "],
                              scopes=["onvif://www.onvif.org/name/Gate%20Cam", "\n",
                                      "onvif://www.onvif.org/location/Back_Yard"]),
                        f"  {mid}  ")  # no ProbeMatches wrapper; spaces everywhere
        plain = matches(mid, match("urn:uuid:plain"))
        return [bare, bare, plain, plain]  # and every reply twice

    found, _ = scan(responder(script))
    assert names(found) == ["urn:uuid:bare", "urn:uuid:plain"]
    bare = next(s for s in found if s.endpoint == "urn:uuid:bare")
    assert (bare.name, bare.location) == ("Gate Cam", "Back Yard")
    assert bare.xaddrs == ["http://127.0.0.1/onvif/device_service"] and bare.warning is None
    assert found.notes == []


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_presence_listener_still_hears_hello_and_bye() -> None:
    """Hellos are not a probe's results, but the listener that wants them still gets them."""
    bye = envelope("<d:Bye><a:EndpointReference><a:Address>urn:uuid:cam</a:Address>"
                   "</a:EndpointReference></d:Bye>", None, "Bye")
    greedy = hello("urn:uuid:cam").replace(
        b"<d:Scopes>", b"<d:Scopes>" + b" ".join(b"onvif://www.onvif.org/x/%d" % i
                                                 for i in range(300)) + b" ")

    async def run() -> list[Presence]:
        heard: list[Presence] = []
        port = _free_udp_port()
        pl = PresenceListener(heard.append, interface="127.0.0.1", port=port)
        await pl.start()
        loop = asyncio.get_running_loop()
        # Hello and Bye come by multicast (the listener hears only the group, not unicast).
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        sock.connect((MCAST_GROUP, port))
        out, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=sock)
        try:
            for datagram in (greedy, bye):
                out.sendto(datagram)
                for _ in range(100):
                    await asyncio.sleep(0.01)
                    if (datagram is bye and len(heard) == 2) or (datagram is greedy and heard):
                        break
        finally:
            out.close()
            pl.stop()
        return heard

    heard = asyncio.run(run())
    assert [(p.kind, p.endpoint) for p in heard] == [("hello", "urn:uuid:cam"),
                                                     ("bye", "urn:uuid:cam")]
    assert heard[0].sighting is not None and len(heard[0].sighting.scopes) == MAX_SCOPES


def test_the_presence_listener_leaves_unicast_probes_to_the_device_on_this_host() -> None:
    """A device on this host (the simulated site) owns unicast 3702: the desktop's listener,
    sharing the port, must not take its probes (scans found 8, 8, then 0 devices)."""
    async def run() -> tuple[int, list[Presence]]:
        heard: list[Presence] = []
        port = _free_udp_port()
        device = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        device.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        device.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        device.bind(("", port))
        device.settimeout(0.5)
        pl = PresenceListener(heard.append, interface="127.0.0.1", port=port)
        await pl.start()
        got = 0
        try:
            for _ in range(40):  # each scan probes from a new port, as a scan does
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.sendto(hello("urn:uuid:probe"), ("127.0.0.1", port))
                    await asyncio.sleep(0)
                    try:
                        device.recvfrom(65536)
                        got += 1
                    except TimeoutError:
                        pass
            await asyncio.sleep(0.05)
        finally:
            pl.stop()
            device.close()
        return got, heard

    got, heard = asyncio.run(run())
    assert got == 40, f"the device received {got} of 40 unicast datagrams"
    assert heard == []


def hostile_site(mid: str) -> list[bytes]:
    """Every kind of junk at once, beside one real device."""
    return ([matches(None, *(match(f"urn:uuid:orphan-{i}") for i in range(30)))]
            + [hello(f"urn:uuid:hello-{i}") for i in range(30)]
            + [matches(mid, match("urn:uuid:real", name="Gate"))])


def test_vms_discover_lists_only_answers_and_says_what_it_ignored(
        responder: Callable[[Script], Responder], tmp_path: Path) -> None:
    r = responder(hostile_site)
    res = subprocess.run(vms_cmd("--data-dir", str(tmp_path), "discover", "--json",
                                 "--no-multicast", "--range", "127.0.0.1", "--port", str(r.port),
                                 "--timeout", "1.5"),
                         capture_output=True, text=True, timeout=60, cwd=REPO,
                         env=ensure_admin(tmp_path))
    assert res.returncode == 0, res.stderr
    assert [d["name"] for d in json.loads(res.stdout)] == ["Gate"]
    assert "Note: ignored 60 replies from 127.0.0.1 that did not answer our probe" in res.stderr
    assert "Note: ignored 60 Hello announcements from 127.0.0.1" in res.stderr, res.stderr


def test_the_discovery_dialog_lists_only_answers_and_says_what_it_ignored(
        qtbot: QtBot, responder: Callable[[Script], Responder], tmp_path: Path) -> None:
    from ui.dialogs.discovery import DiscoveryDialog, defaults_for

    r = responder(hostile_site)
    dlg = DiscoveryDialog(Commissioning(*signed_in(tmp_path)), defaults_for({"discovery_port":
                                                                            r.port}))
    qtbot.addWidget(dlg)
    dlg.multicast.setChecked(False)
    dlg.targets.setText("127.0.0.1")
    dlg.timeout.setValue(2)
    dlg.start_scan()
    qtbot.waitUntil(lambda: dlg.summary.text().startswith("Scan finished"), timeout=15000)
    assert list(dlg.sightings) == ["urn:uuid:real"]
    text = dlg.summary.text()
    assert "did not answer our probe" in text and "Hello announcements" in text, text
