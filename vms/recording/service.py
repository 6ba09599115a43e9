"""Recording for a profile: which cameras, where the files go, and what a crash left behind.

``Recording`` is what the site service (``vms serve``, or the desktop's own) runs: it
checks the session, recovers segments a killed recorder left open, then starts one ``CameraRecorder`` per
camera on its main stream. Files go under ``PROFILE/recordings`` (or the ``recordings_dir``
setting); the index is ``PROFILE/recordings.db``.

The site service hands it events (``on_event``) and
incidents (``on_incident``): an alarm records its device and the device's linked cameras
from the pre-roll; a Help Point call is recorded until it closes, an intrusion from its
acceptance until it closes. Retention runs every few minutes. Evidence locks are the
site service's, not the recorder's.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import av
import filelock

from vms.access.roles import Permission
from vms.access.session import Session
from vms.devices.gate import DeviceGate, keyring_login
from vms.errors import DeviceError
from vms.events.engine import Event
from vms.events.topics import HELP_BUTTON, INPUT, INTRUSION, LINE, MOTION, TAMPER
from vms.incidents.queue import ACCEPTED, CLOSED, Incident
from vms.profile import Profile
from vms.recording import retention
from vms.recording.index import OPEN, RecordingIndex
from vms.recording.locks import LOCKED_WHEN_ACCEPTED, EvidenceLocks, event_time
from vms.recording.recorder import CONTINUOUS, CameraRecorder, RecorderStatus
from vms.recording.sink import sha256_file
from vms.safety.streamsafe import url_to_open
from vms.sqlite_local import disk_full

TRIGGERS = frozenset({HELP_BUTTON, INTRUSION, LINE, MOTION, TAMPER, INPUT})
HOUSEKEEPING_S = 300.0

log = logging.getLogger(__name__)


def recover(index: RecordingIndex, camera_ids: set[int] | None = None) -> list[int]:
    """Segments still ``open`` were being written when the recorder died: hash what is on
    disk, count the frames that can be read, and say so. Returns their ids.

    Only ``camera_ids`` (the cameras whose recorder lock the caller holds): another
    recorder's open segments are being written right now, not abandoned."""
    done = []
    for seg in index.segments(state=OPEN):
        if camera_ids is not None and seg.camera_id not in camera_ids:
            continue
        note = "the recorder stopped without closing this segment (killed or power lost); " \
               "it holds what reached the disk, and its hash is of those bytes"
        frames = 0
        if seg.path.exists():
            digest, size = sha256_file(seg.path)
            try:
                with av.open(str(seg.path)) as c:
                    frames = sum(1 for p in c.demux(video=0) if p.size)
            except av.FFmpegError as exc:
                note += f"; it cannot be read ({exc})"
        else:
            digest, size = None, 0
            note = "the recorder stopped before this segment's file was written"
        index.recovered(seg, frames=frames, size=size, sha256=digest, note=note)
        done.append(seg.id)
    return done


def _recovery(index: RecordingIndex, camera_id: int) -> Callable[[], object]:
    return lambda: recover(index, {camera_id})


def _url(uri: str, user: str, password: str, allow_basic: bool) -> Callable[[], str]:
    """Asked at every (re)connection: the camera's authentication may have changed."""
    return lambda: url_to_open(uri, user, password, allow_basic=allow_basic)


class Recording:
    def __init__(self, profile: Profile, session: Session, root: Path | None = None,
                 segment_s: float = 60.0,
                 on_status: Callable[[RecorderStatus], None] | None = None,
                 mode: str | None = None,
                 on_alarm: Callable[[str], None] | None = None) -> None:
        self.profile = profile
        self.session = session
        settings = profile.accounts.settings()
        setting = settings.value("recordings_dir")
        self.root = root or (Path(setting) if setting else profile.data_dir / "recordings")
        self.index = RecordingIndex(profile.data_dir / "recordings.db")
        self.segment_s = segment_s
        self.on_status = on_status
        self.on_alarm = on_alarm
        self.mode = mode or settings.value("recording_mode")
        self.preroll_s = settings.number("preroll_seconds")
        self.postroll_s = settings.number("postroll_seconds")
        self.recorders: dict[int, CameraRecorder] = {}
        self.locks = EvidenceLocks(self.index, profile.registry, self.preroll_s,
                                   self.postroll_s)
        self._quit = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self.last_retention: retention.RetentionReport | None = None
        self.skipped: dict[str, str] = {}  # camera name -> why it is not recorded by us
        self._claims: dict[int, filelock.BaseFileLock] = {}

    def _claim(self, camera_id: int) -> bool:
        """One recorder per camera per profile: a lock held while this one records it (freed
        by the OS if the process dies, so a killed recorder never blocks the next)."""
        folder = self.profile.data_dir / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(folder / f"recorder-camera-{camera_id}.lock", thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        self._claims[camera_id] = lock
        return True

    def _release_claims(self) -> None:
        for lock in self._claims.values():
            lock.release()
        self._claims.clear()

    def start(self, camera_ids: list[int] | None = None) -> list[CameraRecorder]:
        rows = self.profile.access.visible(self.session, self.profile.registry.devices())
        if camera_ids:
            known = {r.id for r in rows}
            missing = [c for c in camera_ids if c not in known]
            if missing:
                raise DeviceError(f"no camera with id {missing[0]} that you may record "
                                  "(see 'vms devices list')")
            rows = [r for r in rows if r.id in camera_ids]
        self.root.mkdir(parents=True, exist_ok=True)
        chosen = []
        gate = DeviceGate(self.profile, self.session)
        for row in rows:
            stream = row.stream("main") or row.stream("sub")
            if stream is None or not stream.uri:
                log.warning("%s has no video stream: not recorded", row.name)
                self.skipped[row.name] = "it has no video stream"
                continue
            gate.check(row, Permission.LIVE_VIEW, "recording.start")
            creds = keyring_login(self.profile, row)
            if creds is None:  # one camera without a password must not stop the others
                log.warning("%s is not recorded: its password is not in the keyring", row.name)
                self.skipped[row.name] = "its password is not in the keyring (add it again)"
                continue
            if not self._claim(row.id):
                log.warning("%s is already being recorded by another recorder on this profile",
                            row.name)
                self.skipped[row.name] = ("another recorder on this profile is recording it; "
                                          "it is left to that one")
                continue
            chosen.append((row, stream, creds))
        # Open segments of a camera no live recorder holds were abandoned (killed, power
        # lost): recover them. A camera another recorder holds is being written right now.
        abandoned = {seg.camera_id for seg in self.index.segments(state=OPEN)}
        mine = {row.id for row, _, _ in chosen}
        borrowed = {cid for cid in abandoned - mine if self._claim(cid)}
        deferred = False
        try:
            recovered = recover(self.index, mine | borrowed)
        except sqlite3.OperationalError as exc:
            if not disk_full(exc):
                raise
            # The index's disk is full: each recorder recovers its camera once there is
            # space, before it records; another camera's wait for the next start.
            log.error("the disk holding the recording index is full: segments left open by "
                      "the last run are recovered once there is space")
            recovered, deferred = [], True
        for cid in borrowed:
            self._claims.pop(cid).release()
        if recovered:
            log.warning("recovered %d segment(s) left open by a recorder that was stopped "
                        "abruptly", len(recovered))
        for row, stream, creds in chosen:
            rec = CameraRecorder(self.index, self.root, row.id, row.name,
                                 _url(stream.uri, creds[0], creds[1], row.allow_basic_rtsp),
                                 segment_s=self.segment_s, on_status=self.on_status,
                                 mode=self.mode, preroll_s=self.preroll_s,
                                 postroll_s=self.postroll_s,
                                 recover=_recovery(self.index, row.id)
                                 if deferred and row.id in abandoned else None)
            self.profile.access.record(self.session, "recording.start", device=row,
                                       detail={"stream": stream.role or "main",
                                               "mode": self.mode})
            self.recorders[row.id] = rec
            rec.start()
        self._quit.clear()
        self._housekeeper = threading.Thread(target=self._housekeeping, name="retention",
                                             daemon=True)
        self._housekeeper.start()
        return list(self.recorders.values())

    # -- retention ---------------------------------------------------------------------------
    def enforce_retention(self, now: dt.datetime | None = None) -> retention.RetentionReport:
        s = self.profile.accounts.settings()
        quota = s.number("recording_quota_gb")
        report = retention.enforce(
            self.index, self.root, now=now,
            default_days=s.number("retention_days"),
            quota_bytes=int(quota * retention.GB) if quota > 0 else None,
            low_space_bytes=int(s.number("low_space_gb") * retention.GB))
        self.last_retention = report
        if self.on_alarm is not None:
            for a in report.alarms:
                self.on_alarm(a)
        return report

    def _housekeeping(self) -> None:
        while not self._quit.is_set():
            try:
                self.enforce_retention()
            except Exception:  # retention must never take recording down with it
                log.exception("retention")
            self._quit.wait(HOUSEKEEPING_S)

    # -- alarms and incidents (called on the core loop: quick, no network) -------------------
    def acts_on(self) -> frozenset[str]:
        """The event kinds this recording does something with: in event mode every alarm
        starts a recording; in continuous mode only a Help Point press matters (it locks)."""
        return TRIGGERS if self.mode != CONTINUOUS else frozenset({HELP_BUTTON})

    def _cameras_for(self, device_id: int) -> list[CameraRecorder]:
        return [self.recorders[cid] for cid, _ in self.locks.cameras_for(device_id)
                if cid in self.recorders]

    def on_event(self, e: Event) -> None:
        """An alarm records its device and linked cameras from the pre-roll; a state (a
        held button, an occupied field) for as long as it lasts, a pulse for the post-roll.
        A Help Point press is also evidence-locked."""
        if e.kind not in TRIGGERS:
            return
        recs = self._cameras_for(e.device_id)
        key = f"event {e.device_id} {e.kind} {e.ev.token}"
        at = event_time(e)
        for r in recs:
            if e.ev.pulse:
                r.trigger(at=at)
            elif e.ev.active:
                r.hold(key, at=at)
            else:
                r.release(key)

    def on_incident(self, inc: Incident) -> None:
        """A Help Point call is recorded from its press until it closes, an intrusion from its
        acceptance (its alarm recorded it until then), whether or not the button is still
        held. Evidence locks are the site service's (``EvidenceLocks``)."""
        if inc.kind not in LOCKED_WHEN_ACCEPTED:
            return
        key = f"incident {inc.id}"
        for r in self._cameras_for(inc.device_id):
            if inc.state == CLOSED:
                r.release(key)
            elif inc.state == ACCEPTED or inc.kind == HELP_BUTTON:
                r.hold(key)

    def stop(self) -> None:
        self._quit.set()
        for rec in self.recorders.values():
            rec.request_stop()  # all at once, then wait for each
        for rec in self.recorders.values():
            rec.stop()
            row = self.profile.registry.device(rec.camera_id)
            self.profile.access.record(self.session, "recording.stop", device=row,
                                       detail={"segments": rec.status.segments})
        self.recorders.clear()
        self._release_claims()
