"""``vms serve`` and ``vms record``: the site service without the desktop.

``vms serve`` is what a control room runs at boot (a systemd unit or a Windows service,
see ``installer/``): every device's events, the call queue, recording, evidence locks and
retention, whether or not a desktop is open. ``vms record`` is the same service for some
cameras, for a while, with a summary at the end (a recording box, a test, a script).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path
from types import FrameType

from vms.access.session import Session
from vms.cli.common import Subparsers, command, site_address, workstation
from vms.errors import ConfigError
from vms.events.engine import Health
from vms.incidents.queue import KIND_WORDS, STATE_WORDS, Incident
from vms.profile import Profile
from vms.recording.recorder import RecorderStatus


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[common], help="run the site service (no desktop needed)",
                       description="Run this profile's site service: subscribe to every "
                                   "registered device's events, raise Help Point calls and "
                                   "alarms in the queue, record (the recording_mode setting), "
                                   "lock calls' footage as evidence and apply retention. "
                                   "Desktops and 'vms calls' on the profile are its clients. "
                                   "Runs until Ctrl-C or SIGTERM, then stops cleanly. Needs no "
                                   "Beacon sign-in: it acts, and is audited, as 'site-service'.")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--mode", choices=("continuous", "event", "off"),
                   help="override the recording_mode setting for this run")
    p.add_argument("--segment-seconds", type=float, default=60.0, help=argparse.SUPPRESS)

    p = sub.add_parser("record", parents=[common], help="record cameras without the desktop",
                       description="Run the site service for some cameras: record their main "
                                   "streams (continuously, or around alarms from a pre-roll) "
                                   "into one-minute crash-safe segments, indexed with their "
                                   "SHA-256, while raising calls and alarms as 'vms serve' does. "
                                   "Runs until --duration ends, Ctrl-C or SIGTERM; then closes "
                                   "every segment cleanly.")
    p.add_argument("--camera", action="append", default=[], metavar="ID|NAME",
                   help="record only this camera (repeatable; default: every camera)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument("--mode", choices=("continuous", "event"),
                   help="continuous, or event: write only around alarms, from a pre-roll kept "
                        "in memory (default: the recording_mode setting, else continuous)")
    p.add_argument("--segment-seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    command(sub.choices["serve"], serve, needs="data_dir")
    command(sub.choices["record"], record)


class _Say:
    """The service's plain-words log on stdout, one line each, from any thread."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()
        self._told: dict[int, str] = {}  # each open call's last line: an alarm joined is not news

    def __call__(self, text: str) -> None:
        if not self.quiet:
            with self._lock:
                print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)

    def status(self, st: RecorderStatus) -> None:
        self(f"{st.camera}: {st.state}" + (f" — {st.detail}" if st.detail else ""))

    def incident(self, inc: Incident) -> None:
        who = f" by {inc.owner}" if inc.owner and inc.state != "new" else ""
        who += f" at {inc.workstation}" if who and inc.workstation else ""
        end = f" ({inc.outcome})" if inc.outcome else ""
        text = (f"{KIND_WORDS.get(inc.kind, inc.kind)} {inc.id} at {inc.device} ({inc.area}): "
                f"{STATE_WORDS.get(inc.state, inc.state)}{who}{end}")
        with self._lock:
            if self._told.get(inc.id) == text:
                return  # another event joined the call (a flood says this 10 times a second)
            if inc.state == "closed":
                self._told.pop(inc.id, None)
            else:
                self._told[inc.id] = text
        self(text)

    def health(self, h: Health) -> None:
        if h.state in ("ok", "retrying", "wrong credentials"):
            self(f"{h.device} events: {h.state}" + (f" — {h.detail}" if h.detail else ""))


def _run_service(profile: Profile, say: _Say, duration: float | None, **options: object
                 ) -> None:
    from vms.site.service import SiteService

    done = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        done.set()
    old = signal.signal(signal.SIGTERM, on_signal)
    svc = SiteService(profile, on_status=say.status,
                      on_alarm=lambda text: say(f"ALARM: {text}"), **options)  # type: ignore[arg-type]
    svc.incident_listeners.append(say.incident)
    svc.health_listeners.append(say.health)
    try:
        svc.start()
        rec = svc.recording
        if rec is not None:
            for name, reason in rec.skipped.items():
                say(f"Not recording {name}: {reason}.")
        cams = len(rec.recorders) if rec is not None else 0
        say(f"Site service running on {profile.data_dir}: {svc.watching()} device(s) watched, "
            f"{cams} camera(s) recorded ({svc.mode if rec is not None else 'not recording'}). "
            + (f"Calls go to the site {svc.site} (this host is '{svc.queue.workstation}'). "
               if svc.site else "") + "Ctrl-C to stop.")
        # Ctrl-C is how the service is stopped; the finally below says so
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(duration)
    finally:
        say("Stopping.")
        svc.stop()
        signal.signal(signal.SIGTERM, old)


def serve(args: argparse.Namespace, data_dir: Path) -> int:
    """``vms serve``: no sign-in; the OS account that owns the profile runs it."""
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be more than 0 seconds")
    if not 2 <= args.segment_seconds <= 3600:
        raise ConfigError("--segment-seconds must be between 2 and 3600")
    logging.getLogger("vms").setLevel(logging.WARNING)
    site = site_address(args)
    name = workstation(args) if site is not None else None
    profile = Profile(data_dir, site=site, workstation=name)
    try:
        options: dict[str, object] = {"segment_s": args.segment_seconds}
        if site is not None:
            options["site"] = site
            options["workstation"] = name
        if args.mode:
            options["mode"] = args.mode
        _run_service(profile, _Say(), args.duration, **options)
    finally:
        profile.close()
    print("Stopped.", flush=True)
    return 0


def record(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.cli.common import device_ref
    from vms.devices.commissioning import Commissioning
    from vms.site.service import SiteService

    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be more than 0 seconds")
    if not 2 <= args.segment_seconds <= 3600:
        raise ConfigError("--segment-seconds must be between 2 and 3600")
    svc = Commissioning(profile, session)
    ids = [device_ref(svc, c) for c in args.camera] or None
    say = _Say(quiet=args.json)
    done = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        done.set()
    old = signal.signal(signal.SIGTERM, on_signal)
    site = SiteService(profile, cameras=ids, mode=args.mode, segment_s=args.segment_seconds,
                       on_status=say.status, on_alarm=lambda text: say(f"ALARM: {text}"))
    site.incident_listeners.append(say.incident)
    rec = site.recording
    assert rec is not None
    try:
        site.start()
        if not rec.recorders:
            why = "".join(f"\n  {name}: {reason}" for name, reason in rec.skipped.items())
            raise ConfigError("there is no camera to record" + (why or
                              " (see 'vms devices list')"))
        if not args.json:
            for name, reason in rec.skipped.items():
                print(f"Not recording {name}: {reason}.", flush=True)
            print(f"Recording {len(rec.recorders)} camera(s) to {rec.root} ({rec.mode}). "
                  "Ctrl-C to stop.", flush=True)
        # Ctrl-C is how recording is stopped; the finally below reports it
        with contextlib.suppress(KeyboardInterrupt):
            done.wait(args.duration)
    finally:
        statuses = [r.status for r in rec.recorders.values()]
        site.stop()
        signal.signal(signal.SIGTERM, old)
    segs = _segment_count(profile)
    if args.json:
        print(json.dumps({"root": str(rec.root), "cameras": [
            {"camera_id": s.camera_id, "camera": s.camera, "state": s.state, "detail": s.detail,
             "segments": s.segments, "packets": s.packets, "video_frames": s.video_frames,
             "bytes_received": s.bytes_received} for s in statuses],
            "skipped": rec.skipped, "segments": segs}, indent=2))
    else:
        print(f"Stopped. {sum(s.segments for s in statuses)} segment(s) written this run.")
    return 0


def _segment_count(profile: Profile) -> int:
    from vms.recording.index import RecordingIndex

    index = RecordingIndex(profile.data_dir / "recordings.db")
    try:
        return len(index.segments())
    finally:
        index.close()
