"""Soak: the simulated site under a random schedule of faults, then everything accounted for.

Starts ``vms sim`` with 16 cameras, 4 Help Points and 4 perimeter (PID) cameras, registers
them, runs a recorder (``vms record``, continuous, its own process) and the desk's event path
in this process (event engine, event store, incident queue: what the desktop builds), then
for ``--minutes`` applies a random schedule of:

- Help Point presses (each answered and closed by an operator, as at a desk),
- intrusions on PID cameras (accepted and closed likewise),
- motion floods (10 events/s for 20 s) on street cameras,
- device reboots (offline for 5-20 s, then online),
- camera clock jumps (the camera's clock set 5-60 s off, later put back),
- one SIGKILL of the recording process halfway, restarted 3 s later.

Then it accounts for everything and prints one JSON object:

- ``presses`` and ``calls_raised`` (must be equal: every press rang),
- ``intrusions`` and ``alarms_raised`` (must be equal),
- ``recorded_seconds``, ``gap_seconds_with_reason`` and ``unaccounted_seconds`` (must be 0:
  over the soak window every second of every camera is in a segment or in a gap that says
  why; a hole under ``HOLE_TOLERANCE_S`` between two pieces is frame spacing, not a hole),
- ``false_gaps`` (must be 0: no gap over footage that exists, beyond the same tolerance),
- ``audit_verifies`` (the profile's audit chain verifies),
- ``packages_verified`` (an evidence export made after the soak verifies),
- ``rss_mb_start``/``rss_mb_end`` of the desk's event path (growth must stay under 20 %).

The reference for the event path's memory is its own size once the site is up and every
subscription is running (``rss_mb_start``), in the same run.
Run: ``python benchmarks/soak.py --minutes 5`` (CI's length; 60 by hand).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

CAMERAS, HELP_POINTS, PIDS = 16, 4, 4
HOLE_TOLERANCE_S = 1.0  # two segments meet one frame apart (10 fps), and a little jitter
CALL_WAIT_S = 15.0
SETTLE_S = 20.0  # the last seconds without faults, so that every camera is back


@dataclass
class Tally:
    presses: int = 0
    calls_raised: int = 0
    intrusions: int = 0
    alarms_raised: int = 0
    floods: int = 0
    reboots: int = 0
    clock_jumps: int = 0
    service_kills: int = 0
    missed: list[str] = field(default_factory=list)


def _t(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + HOLE_TOLERANCE_S:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _uncovered(spans: list[tuple[float, float]], lo: float, hi: float
               ) -> list[tuple[float, float]]:
    """The stretches of [lo, hi] that no span covers (spans already merged and sorted)."""
    out, at = [], lo
    for a, b in spans:
        if a > at:
            out.append((at, min(a, hi)))
        at = max(at, b)
        if at >= hi:
            break
    if at < hi:
        out.append((at, hi))
    return [(a, b) for a, b in out if b > a]


def _utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M:%S.%f")[:-5]


def _length(spans: list[tuple[float, float]], lo: float, hi: float) -> float:
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in spans)


def account(index: Any, camera_ids: dict[str, int], lo: float, hi: float) -> dict[str, Any]:
    """Every second of [lo, hi] of every camera: in a segment, in a gap with its reason, or
    unaccounted; and any gap lying over footage that exists."""
    recorded = gaps = unaccounted = 0.0
    false_gaps = 0
    holes: list[str] = []
    for name, cid in camera_ids.items():
        segs = [(_t(s.start_utc), _t(s.end_utc)) for s in index.segments(cid)
                if s.start_utc and s.end_utc]
        gap_spans = [(_t(g.start_utc), _t(g.end_utc) if g.end_utc else hi)
                     for g in index.gaps(cid) if g.reason.strip()]
        # The index is timed by the camera's own clock, which the schedule moves: a camera
        # that reconnected while its clock was off keeps that offset until it reconnects
        # again, so its timeline can start or end a little off ours. Every second from its
        # first to its last indexed moment inside the window must be accounted for.
        pieces = segs + gap_spans
        if pieces:
            lo_c = max(lo, min(a for a, _ in pieces))
            hi_c = min(hi, max(b for _, b in pieces))
        else:
            lo_c, hi_c = lo, hi
        recorded += _length(_union(segs), lo_c, hi_c)
        gaps += _length(_union(gap_spans), lo_c, hi_c)
        covered = _union(segs + gap_spans)
        missing = max(0.0, hi_c - lo_c) - _length(covered, lo_c, hi_c)
        if missing > HOLE_TOLERANCE_S:
            unaccounted += missing
            spans = [(a, b) for a, b in _uncovered(covered, lo_c, hi_c) if b - a > 0.05]
            holes.append(f"{name}: {missing:.1f} s in " + ", ".join(
                f"{_utc(a)}..{_utc(b)}" for a, b in spans[:5]))
        for ga, gb in gap_spans:
            for sa, sb in segs:
                overlap = min(gb, sb) - max(ga, sa)
                if overlap > HOLE_TOLERANCE_S:
                    false_gaps += 1
    return {"recorded_seconds": round(recorded, 1), "gap_seconds_with_reason": round(gaps, 1),
            "unaccounted_seconds": round(unaccounted, 1), "false_gaps": false_gaps,
            "holes": holes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--clip-cache", type=Path, default=Path(tempfile.gettempdir()) /
                    "beacon-bench-clips")
    ap.add_argument("--keep", type=Path, help="copy the service's log and the profile's "
                    "databases here at the end (to look into a failure)")
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    import psutil

    from tests.conftest import ADMIN, ADMIN_PASSWORD, start_sim, vms_cmd, wait_for
    from tests.wall_helpers import register
    from vms.access.admin import UserAdmin
    from vms.access.roles import Role
    from vms.errors import ServiceUnavailable
    from vms.events.engine import OK
    from vms.evidence.ca import EvidenceKeys
    from vms.evidence.package import Request
    from vms.evidence.service import EvidenceService
    from vms.evidence.verify import INVALID, verify
    from vms.incidents.queue import NEW
    from vms.recording.index import CLOSED, RecordingIndex
    from vms.sim import control
    from vms.site.address import running
    from vms.site.client import SiteClient, connect

    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="vms-soak-") as tmp:
        os.environ.setdefault("XDG_DATA_HOME", tmp)
        args.clip_cache.mkdir(parents=True, exist_ok=True)
        sim = start_sim(Path(tmp) / "site", args.clip_cache, "--cameras", str(CAMERAS),
                        "--help-points", str(HELP_POINTS), "--pid", str(PIDS), "--no-discovery")
        service: subprocess.Popen[str] | None = None
        client: SiteClient | None = None
        try:
            cams = [f"cam{i}" for i in range(1, CAMERAS + 1)]
            hps = [f"hp{i}" for i in range(1, HELP_POINTS + 1)]
            pids = [f"pid{i}" for i in range(1, PIDS + 1)]
            site = register(sim, Path(tmp) / "desk", cams + hps + pids)
            profile = site.profile
            log_path = Path(tmp) / "service.log"
            log = open(log_path, "a")  # noqa: SIM115 - closed at the end

            def start_service() -> subprocess.Popen[str]:
                """``vms serve`` as a control room runs it: events, calls and recording."""
                return subprocess.Popen(vms_cmd("--data-dir", str(site.path), "serve",
                                                "--mode", "continuous",
                                                "--segment-seconds", "20"),
                                        env=os.environ.copy(), stdout=log, stderr=log,
                                        text=True)
            service = start_service()
            # The desk: a client of the service, as the desktop is.
            wait_for(lambda: (running(site.path) or {}).get("port"), 60,
                     "the site service's address")
            client = connect(profile, timeout=60)
            desk = client
            wait_for(lambda: len(desk.health) == len(site.ids)
                     and all(h.state == OK for h in desk.health.values()),
                     180, "every device subscribed")
            index = RecordingIndex(site.path / "recordings.db")
            wait_for(lambda: {s.camera_id for s in index.segments(state=CLOSED)}
                     >= set(site.ids.values()), 180, "a first segment from every camera")

            raised: set[int] = set()
            names = {did: name for name, did in site.ids.items()}

            def site_offline(did: int) -> bool:
                return names[did] in offline

            def act(fn: Any, *a: Any) -> bool:
                """An operator's action; the service may be away a moment (killed, restarting):
                then the desk tries again, as an operator would."""
                try:
                    fn(site.operator, *a)
                    return True
                except ServiceUnavailable:
                    return False

            def answer(kind: str, name: str) -> bool:
                did = site.ids[name]
                end = time.monotonic() + CALL_WAIT_S
                while time.monotonic() < end:
                    found = [i for i in desk.queue.open_incidents() if i.kind == kind
                             and i.device_id == did and i.id not in raised]
                    if found:
                        inc = found[0]
                        raised.add(inc.id)
                        done = False
                        while not done and time.monotonic() < end + 30:
                            done = ((inc.state != NEW or act(desk.queue.accept, inc.id))
                                    and act(desk.queue.close, inc.id, "assisted", "soak"))
                            if not done:
                                time.sleep(0.5)
                        return True
                    time.sleep(0.1)
                tally.missed.append(f"{kind} on {name}")
                return False

            def close_stray() -> None:  # motion from floods: a desk clears it
                for inc in desk.queue.open_incidents():
                    if inc.kind not in ("help_button", "intrusion"):
                        if inc.state == NEW:
                            act(desk.queue.accept, inc.id)
                        act(desk.queue.close, inc.id, "false-alarm", "soak: motion")

            def rss(proc: subprocess.Popen[str]) -> float:
                return float(psutil.Process(proc.pid).memory_info().rss / 1e6)

            offline: dict[str, float] = {}  # name -> when to bring it back
            skewed: dict[str, float] = {}  # name -> when to put its clock back
            lives: list[tuple[float, float]] = []  # the service's RSS: each life's start, end
            rss_start = rss(service)
            t_start = time.time()
            soak_end = time.monotonic() + args.minutes * 60
            faults_end = soak_end - SETTLE_S
            kill_at = time.monotonic() + args.minutes * 30
            while time.monotonic() < soak_end:
                now = time.monotonic()
                for name, when in list(offline.items()):
                    if now >= when or now >= faults_end:
                        control.action(sim.data_dir, name, "online")
                        del offline[name]
                for name, when in list(skewed.items()):
                    if now >= when or now >= faults_end:
                        control.action(sim.data_dir, name, "skew", seconds=0)
                        del skewed[name]
                if now >= kill_at and tally.service_kills == 0:
                    lives.append((rss_start, rss(service)))
                    service.send_signal(signal.SIGKILL)
                    service.wait(10)
                    tally.service_kills += 1
                    time.sleep(3)
                    service = fresh = start_service()
                    wait_for(lambda: desk.service_pid == fresh.pid  # noqa: B023 - waited here
                             and len(desk.health) == len(site.ids)
                             and all(h.state == OK or site_offline(h.device_id)
                                     for h in desk.health.values()),
                             120, "the desk reconnected and every device subscribed again")
                    rss_start = rss(service)
                if now >= faults_end:
                    close_stray()
                    time.sleep(1)
                    continue
                roll = rnd.random()
                # Alarms only on devices the service is subscribed to: an event a device raises
                # before its subscription is back (just after a reboot) reaches no one.
                up = {n for n in hps + pids if n not in offline
                      and desk.health.get(site.ids[n]) is not None
                      and desk.health[site.ids[n]].state == OK}
                if roll < 0.35 and any(h in up for h in hps):
                    hp = rnd.choice([h for h in hps if h in up])
                    control.action(sim.data_dir, hp, "press")
                    tally.presses += 1
                    tally.calls_raised += answer("help_button", hp)
                    control.action(sim.data_dir, hp, "release")
                elif roll < 0.55 and any(p in up for p in pids):
                    pid = rnd.choice([p for p in pids if p in up])
                    control.action(sim.data_dir, pid, "intrude", duration=3.0)
                    tally.intrusions += 1
                    tally.alarms_raised += answer("intrusion", pid)
                elif roll < 0.65:
                    control.action(sim.data_dir, rnd.choice(cams), "flood", rate=10.0,
                                   duration=20.0)
                    tally.floods += 1
                elif roll < 0.80 and len(offline) < 3:
                    name = rnd.choice([n for n in cams + hps + pids if n not in offline])
                    control.action(sim.data_dir, name, "offline")
                    offline[name] = now + rnd.uniform(5, 20)
                    tally.reboots += 1
                elif roll < 0.90:
                    name = rnd.choice([c for c in cams if c not in skewed])
                    control.action(sim.data_dir, name, "skew",
                                   seconds=rnd.choice([-1, 1]) * rnd.uniform(5, 60))
                    skewed[name] = now + rnd.uniform(20, 60)
                    tally.clock_jumps += 1
                close_stray()
                time.sleep(rnd.uniform(1.0, 4.0))
            t_end = time.time()
            lives.append((rss_start, rss(service)))
            desk_rss = float(psutil.Process().memory_info().rss / 1e6)
            service.send_signal(signal.SIGTERM)
            service.wait(60)
            service = None
            client.close()
            client = None
            log.close()

            # Account over the soak window, from the index the service wrote.
            figures = account(index, dict(zip(cams + hps + pids,
                                              [site.ids[n] for n in cams + hps + pids],
                                              strict=True)), t_start + 5, t_end - 5)
            verdict = profile.audit.verify()

            # An export after the soak verifies.
            admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
            UserAdmin(profile.access, admin).add("soak-officer", Role.EVIDENCE_OFFICER,
                                                 "soak-officer-pw")
            officer = profile.access.sign_in("soak-officer", "soak-officer-pw", via="cli")
            keys = EvidenceKeys(profile.data_dir, profile.credentials)
            keys.init("Soak Council", "soak-ws")
            cam1 = site.ids["cam1"]
            segs = [s for s in index.segments(cam1, CLOSED) if s.start_utc and s.end_utc]
            last = max(segs, key=lambda s: s.end_utc or "")
            b = dt.datetime.fromisoformat((last.end_utc or "").replace("Z", "+00:00"))
            a = b - dt.timedelta(seconds=30)
            pkg = EvidenceService(profile, officer, index).export(
                cameras=[cam1], start=a, end=b, exhibit="SOAK/1", out_dir=Path(tmp) / "out",
                request=Request(purpose="Soak test", legal_basis="test",
                                requesting_officer="bench", force="bench",
                                crime_reference="SOAK"), tsa_url=None).path
            report = verify(pkg, [keys.root_pem()], [])
            growth = max(end / start for start, end in lives)
            out = {
                "minutes": args.minutes, "seed": args.seed,
                "devices": CAMERAS + HELP_POINTS + PIDS,
                "presses": tally.presses, "calls_raised": tally.calls_raised,
                "intrusions": tally.intrusions, "alarms_raised": tally.alarms_raised,
                "floods": tally.floods, "reboots": tally.reboots,
                "clock_jumps": tally.clock_jumps, "service_kills": tally.service_kills,
                **{k: v for k, v in figures.items() if k != "holes"},
                "audit_verifies": verdict.ok, "packages_verified": report.status != INVALID,
                "package_status": report.status,
                # The service's memory over each of its lives (it is killed once, halfway):
                # start once every subscription is up, end just before it stops.
                "rss_mb_start": round(lives[0][0], 1), "rss_mb_end": round(lives[-1][1], 1),
                "rss_mb_lives": [[round(a, 1), round(b, 1)] for a, b in lives],
                "rss_growth": round(growth, 3), "desk_rss_mb": round(desk_rss, 1),
                "missed": tally.missed, "holes": figures["holes"],
            }
            ok = (out["presses"] == out["calls_raised"] and
                  out["intrusions"] == out["alarms_raised"] and
                  out["unaccounted_seconds"] == 0 and out["false_gaps"] == 0 and
                  out["audit_verifies"] and out["packages_verified"] and growth <= 1.2)
            out["passed"] = bool(ok)
            print(json.dumps(out, indent=2))
            index.close()
            profile.close()
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for f in [log_path, *site.path.glob("*.db")]:
                    shutil.copy2(f, args.keep / f.name)
        finally:
            if client is not None:
                client.close()
            if service is not None:
                service.kill()
            sim.stop()


if __name__ == "__main__":
    main()
