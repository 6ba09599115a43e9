"""``vms record``: the recorder without the desktop (a Windows service or a recording box)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
import time
from types import FrameType

from vms.access.session import Session
from vms.commissioning import Commissioning
from vms.errors import ConfigError
from vms.profile import Profile
from vms.recording.recorder import RecorderStatus
from vms.recording.service import Recording


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("record", parents=[common], help="record cameras without the desktop",
                       description="Record registered cameras' main streams continuously into "
                                   "one-minute crash-safe segments, indexed with their SHA-256, "
                                   "sharing the profile's index with the desktop. Runs until "
                                   "--duration ends, Ctrl-C or SIGTERM; then closes every "
                                   "segment cleanly.")
    p.add_argument("--camera", action="append", default=[], metavar="ID|NAME",
                   help="record only this camera (repeatable; default: every camera)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--segment-seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.cli_devices import device_ref

    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be more than 0 seconds")
    if not 2 <= args.segment_seconds <= 3600:
        raise ConfigError("--segment-seconds must be between 2 and 3600")
    svc = Commissioning(profile, session)
    ids = [device_ref(svc, c) for c in args.camera] or None
    lock = threading.Lock()

    def said(st: RecorderStatus) -> None:
        if not args.json:
            with lock:
                print(f"{time.strftime('%H:%M:%S')}  {st.camera}: {st.state}"
                      + (f" — {st.detail}" if st.detail else ""), flush=True)

    done = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        done.set()
    old = signal.signal(signal.SIGTERM, on_signal)
    rec = Recording(profile, session, segment_s=args.segment_seconds, on_status=said)
    try:
        started = rec.start(ids)
        if not started:
            raise ConfigError("there is no camera to record (see 'vms devices list')")
        if not args.json:
            print(f"Recording {len(started)} camera(s) to {rec.root}. Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(args.duration)
    finally:
        statuses = [r.status for r in rec.recorders.values()]
        rec.stop()
        signal.signal(signal.SIGTERM, old)
        segs = rec.index.segments()
        rec.index.close()
    if args.json:
        print(json.dumps({"root": str(rec.root), "cameras": [
            {"camera_id": s.camera_id, "camera": s.camera, "state": s.state, "detail": s.detail,
             "segments": s.segments, "packets": s.packets} for s in statuses],
            "segments": len(segs)}, indent=2))
    else:
        print(f"Stopped. {sum(s.segments for s in statuses)} segment(s) written this run.")
    return 0
