"""CPU cost of the simulated site per streamed device, against FFmpeg doing the same job.

Starts ``vms sim`` with N devices (half cameras, a quarter Help Points, a quarter PID
cameras), attaches one RTSP viewer per device (main stream over TCP-interleaved;
Help Points' microphone track too) from this process, and measures the simulator
process's CPU time over a window. Reference, same run, same machine: one
``ffmpeg -re -stream_loop -1 -c copy -f rtp`` per device streaming the same cached
main clip to a UDP sink (FFmpeg doing the packetizing and pacing, without RTSP).

Prints one JSON object. Target (issue 2): the whole 16-device site under half a core.
"""

from __future__ import annotations

import argparse
import json
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.rtsp_client import RtspClient  # noqa: E402
from vms.sim.launcher import EPHEMERAL, SimProcess  # noqa: E402

TARGET_TOTAL = 50.0


class Drain(threading.Thread):
    """Reads and discards everything from the given sockets, counting bytes."""

    def __init__(self, socks: list[socket.socket]) -> None:
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
        self.bytes = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for key, _ in self.sel.select(0.2):
                try:
                    data = key.fileobj.recv(262144)  # type: ignore[union-attr]
                except (BlockingIOError, ConnectionError):
                    continue
                self.bytes += len(data)


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(procs: list[psutil.Process], drain: Drain, warmup: float, window: float
            ) -> tuple[float, float]:
    time.sleep(warmup)
    c0, b0, t0 = cpu_seconds(procs), drain.bytes, time.monotonic()
    time.sleep(window)
    c1, b1, t1 = cpu_seconds(procs), drain.bytes, time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0), 8 * (b1 - b0) / (t1 - t0) / 1e6


def split(n: int) -> tuple[int, int, int]:
    hp = n // 4
    pid = n // 4
    return n - hp - pid, hp, pid


def run_sim(n: int, clip_cache: Path, warmup: float, window: float) -> dict[str, float]:
    cams, hps, pids = split(n)
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess(Path(tmp), *EPHEMERAL, "--cameras", str(cams), "--help-points", str(hps),
                         "--pid", str(pids), clip_cache=clip_cache)
        sim.start()
        try:
            state = sim.wait_ready()
            socks = []
            for d in state["devices"]:
                c = RtspClient("127.0.0.1", d["rtsp_port"])
                url = f"rtsp://127.0.0.1:{d['rtsp_port']}/main"
                c.request("DESCRIBE", url)
                c.request("SETUP", url + "/trackID=0",
                          {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
                if d["kind"] == "help_point":
                    c.request("SETUP", url + "/trackID=1",
                              {"Transport": "RTP/AVP/TCP;unicast;interleaved=2-3"})
                assert c.request("PLAY", url + "/").code == 200
                socks.append(c.sock)
            drain = Drain(socks)
            drain.start()
            assert sim.proc is not None
            cpu, mbit = measure([psutil.Process(sim.proc.pid)], drain, warmup, window)
            drain.stop.set()
            for s in socks:
                s.close()
            return {"cpu": cpu, "mbit": mbit}
        finally:
            sim.stop()


def run_ffmpeg(n: int, clip_cache: Path, warmup: float, window: float) -> dict[str, float]:
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        raise SystemExit("ffmpeg is missing (Debian package ffmpeg)")
    clips = sorted(clip_cache.glob("*-1280x720-*.h264"))[:n]
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    port = sink.getsockname()[1]
    drain = Drain([sink])
    drain.start()
    procs = []
    for i in range(n):
        clip = clips[i % len(clips)]
        procs.append(subprocess.Popen(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-framerate", "10", "-f", "h264", "-i", str(clip), "-c", "copy", "-f", "rtp",
             f"rtp://127.0.0.1:{port}?pkt_size=1412"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        cpu, mbit = measure([psutil.Process(p.pid) for p in procs], drain, warmup, window)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        drain.stop.set()
        sink.close()
    return {"cpu": cpu, "mbit": mbit}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--clip-cache", type=Path, default=REPO / "benchmarks" / "results" / "clips")
    args = ap.parse_args()
    args.clip_cache.mkdir(parents=True, exist_ok=True)
    sim = run_sim(args.devices, args.clip_cache, args.warmup, args.seconds)
    ref = run_ffmpeg(args.devices, args.clip_cache, args.warmup, args.seconds)
    cams, hps, pids = split(args.devices)
    out = {
        "benchmark": "sim_cost",
        "devices": args.devices,
        "mix": {"cameras": cams, "help_points": hps, "pid": pids},
        "viewers": args.devices,
        "stream": "main 1280x720 H.264 10 fps over RTSP TCP-interleaved (+ PCMU on Help Points)",
        "window_s": args.seconds,
        "cpu_percent_total": round(sim["cpu"], 2),
        "cpu_percent_per_device": round(sim["cpu"] / args.devices, 3),
        "delivered_mbit_s": round(sim["mbit"], 2),
        "target_cpu_percent_total": TARGET_TOTAL,
        "meets_target": sim["cpu"] < TARGET_TOTAL,
        "reference": {
            "what": "ffmpeg -re -stream_loop -1 -c copy -f rtp, one process per device, same clips",
            "cpu_percent_total": round(ref["cpu"], 2),
            "cpu_percent_per_device": round(ref["cpu"] / args.devices, 3),
            "delivered_mbit_s": round(ref["mbit"], 2),
        },
        "ratio_to_reference": round(sim["cpu"] / ref["cpu"], 2) if ref["cpu"] else None,
        "cores": psutil.cpu_count(),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
