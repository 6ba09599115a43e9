"""Time to discover and to onboard N simulated devices (issue 3 targets: discover < 3 s,
onboard all < 10 s for 50 devices).

Starts ``vms sim`` with N devices on loopback, then, in this process on the core loop:
- discover: unicast WS-Discovery probe to 127.0.0.1 on the site's discovery port;
  ``discover_s`` is the time until the N-th distinct device has answered (the dialog's
  listening window is separate and configurable);
- onboard: full onboarding of every device (clock, services, identity, scopes,
  capabilities, IO, Media2 profiles, stream and snapshot URIs), 16 at a time.
Reference, same run: the bare floor of the same HTTP traffic, i.e. the same number of
SOAP requests per device (counted) sent as plain aiohttp POSTs of a pre-auth
GetSystemDateAndTime with the same concurrency, without zeep or WS-Security.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vms.devices.commissioning import onboard_many  # noqa: E402
from vms.discovery.wsd import discover  # noqa: E402
from vms.onvif.camera import DeviceClient, parse_target  # noqa: E402
from vms.onvif.onboard import onboard_with  # noqa: E402
from vms.sim.launcher import EPHEMERAL, SimProcess  # noqa: E402

GSDT = (b'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/'
        b'soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/'
        b'wsdl"/></s:Body></s:Envelope>')


async def measure(state: dict, n: int, concurrency: int) -> dict:
    port = state["discovery_port"]
    xaddrs = [d["onvif"] for d in state["devices"]]
    t0 = time.perf_counter()
    got: dict[str, float] = {}

    def found(s: object) -> None:
        got.setdefault(s.endpoint, time.perf_counter() - t0)  # type: ignore[attr-defined]

    await discover(2.5, ["127.0.0.1"], False, port, found)
    discover_s = max(got.values()) if len(got) >= n else None

    # Warm the WSDL cache the way the desktop's first onboarding does, and count requests.
    async with DeviceClient(parse_target(xaddrs[0]), "admin", "beacon-sim") as dc:
        t = time.perf_counter()
        await onboard_with(dc)
        first_s = time.perf_counter() - t
        per_device = dc.vetter.requests
    targets = [(parse_target(x), "admin", "beacon-sim") for x in xaddrs]
    t = time.perf_counter()
    results = await onboard_many(targets, concurrency)
    onboard_s = time.perf_counter() - t
    failures = [str(r) for r in results if isinstance(r, Exception)]

    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:
        async def floor(url: str) -> None:
            async with sem:
                for _ in range(per_device):
                    async with session.post(url, data=GSDT, headers={
                            "Content-Type": "application/soap+xml"}) as r:
                        await r.read()
        t = time.perf_counter()
        await asyncio.gather(*(floor(x) for x in xaddrs))
        ref_s = time.perf_counter() - t
    return {
        "devices": n, "discovered": len(got), "discover_s": round(discover_s, 3) if discover_s else None,
        "onboard_s": round(onboard_s, 3), "onboarded": n - len(failures), "failures": failures[:3],
        "first_onboard_cold_s": round(first_s, 3), "requests_per_device": per_device,
        "concurrency": concurrency, "reference_raw_http_s": round(ref_s, 3),
        "onboard_vs_reference": round(onboard_s / ref_s, 2) if ref_s else None,
        "targets": {"discover_s": 3.0, "onboard_s": 10.0},
        "meets_targets": bool(discover_s is not None and discover_s < 3.0 and onboard_s < 10.0
                              and not failures),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--devices", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--clip-cache", type=Path, default=Path(tempfile.gettempdir()) / "beacon-bench-clips")
    args = p.parse_args()
    n = args.devices
    cams, hps = n - 2 * (n // 5), n // 5
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess(Path(tmp), *EPHEMERAL, "--cameras", str(cams), "--help-points", str(hps),
                         "--pid", str(n - cams - hps), clip_cache=args.clip_cache)
        sim.start()
        try:
            state = sim.wait_ready(1800)
            print(json.dumps(asyncio.run(measure(state, n, args.concurrency))))
        finally:
            sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
