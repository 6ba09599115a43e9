"""Run inside a private network namespace: a real sim on UDP 3702, probed by multicast.

Prints one JSON object: the Hello, ProbeMatches and Bye messages seen. Used by
tests/test_sim_discovery.py (multicast cannot be tested on the host's loopback).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import ensure_admin, start_sim
from vms.coreloop import CoreLoop
from vms.discovery.presence import PresenceListener

GROUP = "239.255.255.250"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"


def listener() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", 3702))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("127.0.0.1")))
    s.settimeout(0.2)
    return s


def receive(s: socket.socket, seconds: float) -> list[etree._Element]:
    """Every datagram that arrives on ``s`` within ``seconds``, parsed."""
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, _ = s.recvfrom(65536)
        except TimeoutError:
            continue
        out.append(etree.fromstring(data))
    return out


def drain(s: socket.socket, seconds: float) -> list[str]:
    """The WS-Discovery actions heard (Hello, Bye, Probe...)."""
    return [(r.findtext(f".//{{{WSA}}}Action") or "").rsplit("/", 1)[-1] for r in receive(s, seconds)]


def main() -> None:
    data_dir, clip_cache = Path(sys.argv[1]), Path(sys.argv[2])
    heard = listener()
    # Our own Hello/Bye listener, on the core loop, as the desktop runs it.
    presence: list[tuple[str, str]] = []
    loop = CoreLoop()
    names: dict[str, str] = {}
    pl = PresenceListener(lambda p: presence.append((p.kind, p.endpoint)), interface="127.0.0.1")
    loop.call(pl.start())
    sim = start_sim(data_dir, clip_cache, "--cameras", "1", "--help-points", "1", "--pid", "0",
                    "--discovery-port", "3702")
    hello = drain(heard, 1.0)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))  # an ephemeral port: the device owns 3702
    probe.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    probe.settimeout(0.3)
    mid = f"urn:uuid:{uuid.uuid4()}"
    msg = (f'<?xml version="1.0"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
           f'xmlns:w="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
           f"<e:Header><w:MessageID>{mid}</w:MessageID><w:To>urn:schemas-xmlsoap-org:ws:2005:04:"
           f"discovery</w:To><w:Action>{WSD}/Probe</w:Action></e:Header><e:Body><d:Probe>"
           "<d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>")
    probe.sendto(msg.encode(), (GROUP, 3702))
    matches = [{"relates_to": root.findtext(f".//{{{WSA}}}RelatesTo"),
                "xaddrs": root.findtext(f".//{{{WSD}}}XAddrs"),
                "scopes": (root.findtext(f".//{{{WSD}}}Scopes") or "").split()}
               for root in receive(probe, 2.0)]
    # Our own client, by multicast only (no --range): what `vms discover` does on a LAN.
    client_profile = data_dir.parent / "client"
    client = subprocess.run([sys.executable, "-m", "vms", "--data-dir", str(client_profile),
                             "discover", "--json", "--timeout", "1.5", "--interface", "127.0.0.1"],
                            capture_output=True, text=True, timeout=60,
                            env=ensure_admin(client_profile))
    discovered = sorted(d["name"] for d in json.loads(client.stdout)) if client.returncode == 0 \
        else client.stderr
    presence_before = len(presence)
    sim.cli("offline", "cam1")
    time.sleep(0.5)
    sim.cli("online", "cam1")
    time.sleep(0.5)
    names = {f"urn:uuid:{d['uuid']}": d["name"] for d in sim.state()["devices"]}
    sim.stop()
    bye = drain(heard, 1.0)
    time.sleep(0.3)
    loop.call(asyncio.sleep(0))
    pl.stop()
    loop.stop()
    print(json.dumps({"hello": hello, "matches": matches, "bye": bye, "mid": mid,
                      "discovered": discovered,
                      "presence_start": [[k, names.get(e, e)] for k, e in presence[:presence_before]],
                      "presence_after": [[k, names.get(e, e)] for k, e in presence[presence_before:]]}))


if __name__ == "__main__":
    main()
