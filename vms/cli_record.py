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
from vms.coreloop import core_loop
from vms.errors import ConfigError
from vms.events.engine import EventEngine
from vms.events.sources import event_sources
from vms.events.store import EventStore
from vms.profile import Profile
from vms.recording.recorder import RecorderStatus
from vms.recording.service import Recording


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("record", parents=[common], help="record cameras without the desktop",
                       description="Record registered cameras' main streams (continuously, or "
                                   "around alarms from a pre-roll) into "
                                   "one-minute crash-safe segments, indexed with their SHA-256, "
                                   "sharing the profile's index with the desktop. Runs until "
                                   "--duration ends, Ctrl-C or SIGTERM; then closes every "
                                   "segment cleanly.")
    p.add_argument("--camera", action="append", default=[], metavar="ID|NAME",
                   help="record only this camera (repeatable; default: every camera)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--mode", choices=("continuous", "event"),
                   help="continuous, or event: write only around alarms, from a pre-roll kept "
                        "in memory (default: the recording_mode setting, else continuous)")
    p.add_argument("--segment-seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")


class AlarmFeed:
    """The devices' own events, watched so that alarms start event recording and Help Point
    calls are locked even with no desktop running."""

    def __init__(self, profile: Profile, rec: Recording) -> None:
        self.profile = profile
        self.rec = rec
        self.store: EventStore | None = None
        self.engine: EventEngine | None = None

    def start(self) -> None:
        rows = [self.profile.registry.device(i) for i in self.rec.recorders]
        sources = [src for _row, src in event_sources(self.profile, [r for r in rows if r])]
        # Linked Help Points are watched too: their calls record the cameras linked to them.
        linked = {d.id for d in self.profile.registry.devices()
                  if any(lk.camera_id in self.rec.recorders
                         for lk in self.profile.registry.links(d.id))}
        extra = [self.profile.registry.device(i) for i in linked - set(self.rec.recorders)]
        sources += [src for _row, src in event_sources(self.profile, [r for r in extra if r])]
        # A device none of whose events this recording acts on is not subscribed to: in
        # continuous mode that is every device but the Help Points. Cameras offer few
        # subscriptions (the desktop needs one), and each long poll costs both ends.
        wanted = self.rec.acts_on()
        sources = [s for s in sources if s.rules.kinds() & wanted]
        if not sources:
            return
        self.store = EventStore.for_profile(self.profile.data_dir)
        engine = self.engine = EventEngine(self.store)
        engine.listeners.append(self.rec.on_event)

        async def watch_all() -> None:
            for s in sources:
                engine.watch(s)
        core_loop().call(watch_all(), timeout=10)

    def stop(self) -> None:
        if self.engine is not None:
            with contextlib.suppress(Exception):
                core_loop().call(self.engine.stop(), timeout=5)
        if self.store is not None:
            self.store.close()


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
    def alarm(text: str) -> None:
        with lock:
            print(f"{time.strftime('%H:%M:%S')}  ALARM: {text}", flush=True)

    rec = Recording(profile, session, segment_s=args.segment_seconds, on_status=said,
                    mode=args.mode, on_alarm=alarm)
    alarms = AlarmFeed(profile, rec)
    try:
        started = rec.start(ids)
        if not started:
            why = "".join(f"\n  {name}: {reason}" for name, reason in rec.skipped.items())
            raise ConfigError("there is no camera to record" + (why or
                              " (see 'vms devices list')"))
        alarms.start()
        if not args.json:
            for name, reason in rec.skipped.items():
                print(f"Not recording {name}: {reason}.", flush=True)
            print(f"Recording {len(started)} camera(s) to {rec.root} ({rec.mode}). "
                  "Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(args.duration)
    finally:
        statuses = [r.status for r in rec.recorders.values()]
        alarms.stop()
        rec.stop()
        signal.signal(signal.SIGTERM, old)
        segs = rec.index.segments()
        rec.index.close()
    if args.json:
        print(json.dumps({"root": str(rec.root), "cameras": [
            {"camera_id": s.camera_id, "camera": s.camera, "state": s.state, "detail": s.detail,
             "segments": s.segments, "packets": s.packets, "video_frames": s.video_frames,
             "bytes_received": s.bytes_received} for s in statuses],
            "skipped": rec.skipped, "segments": len(segs)}, indent=2))
    else:
        print(f"Stopped. {sum(s.segments for s in statuses)} segment(s) written this run.")
    return 0
