"""Help Point press to operator: how fast a call reaches the screen, measured end to end.

Starts ``vms sim`` (one Help Point), registers it, builds the real call desk (event
engine, queue, incident pane, live video through the feed hub) and presses the
button ``--presses`` times through the simulator's control API. For each press:

- press -> event: the engine's listener sees the stored ``help_button`` event;
- press -> pane: the incident pane is shown (raised in front);
- press -> first frame: the pane has painted the caller's first frame. The desk keeps each
  Help Point's sub stream running while it waits (issue 28), so this is the SD picture at
  once; no wall tile is running;
- press -> main stream: the pane has switched to the main stream's first picture (a cold
  RTSP start each time: connect, keyframe and decode are in).

Each call is then accepted, closed with an outcome and the button released. "Press"
is taken just before the control request leaves, so the HTTP round trip is counted
against us. Reference, same run: the bare ``PullMessages`` long-poll round trip
(press -> raw notification in a minimal client with no store, queue or GUI).

With ``--service-process`` the site service runs as ``vms serve`` in a process of its own
and the desk is its client (issue 21): the event crosses a process boundary before the pane.

Targets (issue 28): press -> first frame p95 < 300 ms, press -> pane p95 < 100 ms.
Run under X: ``xvfb-run -a -s "-screen 0 1400x900x24" python benchmarks/helppoint_latency.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
TARGETS = {"press_to_pane_ms_p95": 100.0, "press_to_first_frame_ms_p95": 300.0}


def summary(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]
    return {"p50": round(statistics.median(s), 1), "p95": round(p95, 1), "max": round(s[-1], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=50)
    ap.add_argument("--clip-cache", type=Path, default=Path(tempfile.gettempdir()) /
                    "beacon-bench-clips")
    ap.add_argument("--service-process", action="store_true",
                    help="run the site service as 'vms serve' in another process")
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop

    from benchmarks.desk import bench_desk
    from ui.calls.desk import CallDesk
    from ui.calls.service_link import ServiceLink
    from ui.wall.assembly import assemble
    from vms.coreloop import core_loop
    from vms.devices.commissioning import Commissioning
    from vms.events import pullpoint
    from vms.events.engine import OK
    from vms.onvif.camera import NS_EVENTS, DeviceClient, parse_target
    from vms.sim import control
    from vms.sim.launcher import EPHEMERAL, SimProcess
    from vms.site.address import running
    from vms.site.client import connect

    with tempfile.TemporaryDirectory(prefix="vms-hp-") as tmp:
        os.environ.setdefault("XDG_DATA_HOME", tmp)
        data = Path(tmp) / "site"
        sim = SimProcess(data, *EPHEMERAL, "--cameras", "0", "--help-points", "1", "--pid", "0",
                         "--no-discovery", clip_cache=args.clip_cache)
        sim.start()
        try:
            sim.wait_ready(900)
            app, profile, admin, op = bench_desk(Path(tmp) / "desk")
            dev = control.status(data)["devices"][0]
            hp_id = Commissioning(profile, admin).add(dev["onvif"], "admin", "beacon-sim").device_id
            live = assemble(profile, op)
            serve = None
            if args.service_process:
                profile.accounts.set_setting("recording_mode", "off", by="bench")
                serve = subprocess.Popen([sys.executable, "-m", "vms", "--data-dir",
                                          str(profile.data_dir), "serve"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while running(profile.data_dir) in (None, {}):
                    time.sleep(0.1)
                service = ServiceLink(profile, op, connect(profile))
            else:
                service = ServiceLink(profile, op)
            desk = CallDesk(profile, service, live.hub)
            seen: dict[str, float] = {}
            service.site.listeners.append(
                lambda e: seen.setdefault("event", time.monotonic())
                if e.kind == "help_button" and e.ev.active else None)
            desk.pane_shown.connect(lambda _i, t: seen.setdefault("pane", t))
            desk.start([profile.registry.device(hp_id)])

            def pump(seconds: float, until: Any = None) -> bool:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    if until and until():
                        return True
                    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
                    time.sleep(0.001)
                return bool(until and until())

            pump(30, lambda: service.health.get(hp_id) is not None
                 and service.health[hp_id].state == OK)

            def press(action: str) -> float:
                box: dict[str, float] = {}

                def go() -> None:
                    box["t"] = time.monotonic()
                    control.action(data, dev["name"], action)
                    box["done"] = 1
                th = threading.Thread(target=go)
                th.start()
                pump(10, lambda: "done" in box)
                th.join()
                return box["t"]

            ev_ms, pane_ms, frame_ms, main_ms = [], [], [], []
            first_stream: dict[str, int] = {}
            for _ in range(args.presses):
                seen.clear()
                t = press("press")
                ok = pump(15, lambda: bool(desk.panes) and next(iter(desk.panes.values()))
                          .first_frame_at is not None and "event" in seen)
                if not ok:
                    raise SystemExit(f"press {len(ev_ms) + 1}: no pane/frame within 15 s")
                pane = next(iter(desk.panes.values()))
                ev_ms.append((seen["event"] - t) * 1000)
                pane_ms.append((seen["pane"] - t) * 1000)
                frame_ms.append((pane.first_frame_at - t) * 1000)  # type: ignore[operator]
                q = pane.tile.quality or "none"
                first_stream[q] = first_stream.get(q, 0) + 1
                pump(15, lambda p=pane: p.tile.quality == "main" and p.tile.shown > 0
                     and p.tile.sub is None)
                main_ms.append((time.monotonic() - t) * 1000)
                iid = pane.incident.id
                service.queue.accept(op, iid)
                service.queue.close(op, iid, "test")
                press("release")
                pump(10, lambda: not desk.panes)
                pump(0.3)

            # Reference: a bare PullPoint client, no store, no queue, no GUI.
            async def bare(n: int) -> list[float]:
                target = parse_target(dev["onvif"])
                out = []
                async with DeviceClient(target, "admin", "beacon-sim") as dc:
                    await dc.read_clock()
                    await dc.discover_services()
                    sub = await pullpoint.create(dc, dc.xaddrs[NS_EVENTS])
                    await pullpoint.pull(dc, sub)
                    for _ in range(n):
                        task = asyncio.ensure_future(pullpoint.pull(dc, sub))
                        await asyncio.sleep(0.05)
                        t0 = time.monotonic()
                        await asyncio.to_thread(control.action, data, dev["name"], "press")
                        msgs = await task
                        if any(m.data.get("LogicalState") == "true" for m in msgs):
                            out.append((time.monotonic() - t0) * 1000)
                        await asyncio.to_thread(control.action, data, dev["name"], "release")
                        await pullpoint.pull(dc, sub)
                    await pullpoint.unsubscribe(dc, sub)
                return out

            ref = core_loop().call(bare(min(20, args.presses)), timeout=300)
            desk.shutdown()
            if serve is not None:
                service.site.close()  # type: ignore[union-attr]
                serve.terminate()
                serve.wait(60)
            live.shutdown()
            profile.close()
            result = {
                "presses": len(ev_ms),
                "site_service": "another process" if args.service_process else "in process",
                "press_to_event_ms": summary(ev_ms),
                "press_to_pane_ms": summary(pane_ms),
                "press_to_first_frame_ms": summary(frame_ms),
                "first_frame_stream": first_stream,
                "press_to_main_stream_ms": summary(main_ms),
                "reference_bare_pullpoint_ms": summary(ref) if ref else None,
                "targets": TARGETS,
            }
            result["meets_targets"] = bool(
                result["press_to_pane_ms"]["p95"] < TARGETS["press_to_pane_ms_p95"]
                and result["press_to_first_frame_ms"]["p95"]
                < TARGETS["press_to_first_frame_ms_p95"])
            print(json.dumps(result, indent=2))
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
