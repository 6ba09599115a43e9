"""Recording for a profile: which cameras, where the files go, and what a crash left behind.

``Recording`` is what ``vms record`` (and, next, the desktop) runs: it checks the session,
recovers segments a killed recorder left open, then starts one ``CameraRecorder`` per
camera on its main stream. Files go under ``PROFILE/recordings`` (or the ``recordings_dir``
setting); the index is ``PROFILE/recordings.db``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import av

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import DeviceError
from vms.live import with_credentials
from vms.profile import Profile
from vms.recording.index import OPEN, RECOVERED, RecordingIndex, now_utc
from vms.recording.recorder import CameraRecorder, RecorderStatus
from vms.recording.sink import sha256_file

log = logging.getLogger(__name__)


def recover(index: RecordingIndex) -> list[int]:
    """Segments still ``open`` were being written when the recorder died: hash what is on
    disk, count the frames that can be read, and say so. Returns their ids."""
    done = []
    for seg in index.segments(state=OPEN):
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
        index.update_segment(seg.id, state=RECOVERED, frames=frames, bytes=size, sha256=digest,
                             note=note, closed_at=now_utc())
        if seg.end_utc:
            index.open_gap(seg.camera_id, seg.camera, seg.end_utc,
                           "recorder stopped unexpectedly")
        done.append(seg.id)
    return done


def _url(uri: str, user: str, password: str) -> Callable[[], str]:
    return lambda: with_credentials(uri, user, password)


class Recording:
    def __init__(self, profile: Profile, session: Session, root: Path | None = None,
                 segment_s: float = 60.0,
                 on_status: Callable[[RecorderStatus], None] | None = None) -> None:
        self.profile = profile
        self.session = session
        setting = profile.accounts.settings().get("recordings_dir", "")
        self.root = root or (Path(setting) if setting else profile.data_dir / "recordings")
        self.index = RecordingIndex(profile.data_dir / "recordings.db")
        self.segment_s = segment_s
        self.on_status = on_status
        self.recorders: dict[int, CameraRecorder] = {}

    def start(self, camera_ids: list[int] | None = None) -> list[CameraRecorder]:
        rows = self.profile.access.visible(self.session, self.profile.registry.devices())
        if camera_ids:
            known = {r.id for r in rows}
            missing = [c for c in camera_ids if c not in known]
            if missing:
                raise DeviceError(f"no camera with id {missing[0]} that you may record "
                                  "(see 'vms devices list')")
            rows = [r for r in rows if r.id in camera_ids]
        recovered = recover(self.index)
        if recovered:
            log.warning("recovered %d segment(s) left open by a recorder that was stopped "
                        "abruptly", len(recovered))
        self.root.mkdir(parents=True, exist_ok=True)
        for row in rows:
            stream = row.stream("main") or row.stream("sub")
            if stream is None or not stream.uri:
                log.warning("%s has no video stream: not recorded", row.name)
                continue
            self.profile.access.require(self.session, Permission.LIVE_VIEW, row,
                                        action="recording.start")
            creds = self.profile.credentials.get(row.uid)
            if creds is None:
                raise DeviceError(f"the password for {row.name} is not in the keyring")
            rec = CameraRecorder(self.index, self.root, row.id, row.name,
                                 _url(stream.uri, creds[0], creds[1]),
                                 segment_s=self.segment_s, on_status=self.on_status)
            self.profile.access.record(self.session, "recording.start", device=row,
                                       detail={"stream": stream.role or "main"})
            self.recorders[row.id] = rec
            rec.start()
        return list(self.recorders.values())

    def stop(self) -> None:
        for rec in self.recorders.values():
            rec.request_stop()  # all at once, then wait for each
        for rec in self.recorders.values():
            rec.stop()
            row = self.profile.registry.device(rec.camera_id)
            self.profile.access.record(self.session, "recording.stop", device=row,
                                       detail={"segments": rec.status.segments})
        self.recorders.clear()
