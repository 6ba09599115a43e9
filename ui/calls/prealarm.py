"""The pre-alarm clip: the recorded seconds before an intrusion, looping beside live video.

Played by the core ``Player`` on its own thread from the shared recording index (written by
the site service or a recording host); frames reach the GUI thread through a queued signal.
Each loop re-reads the index, so a clip opened the moment the alarm arrives fills in as the
recorder writes the seconds after it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui import tasks
from ui.playback.video_cell import FrameRelay, VideoCell
from vms.recording.index import RecordingIndex
from vms.recording.playback import Frame, Player

PRE_S = 30.0  # the recorder's pre-roll
POST_S = 5.0
LONDON = ZoneInfo("Europe/London")


class PreAlarmClip(QWidget):
    def __init__(self, index: RecordingIndex | None, camera_id: int, name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index, self.camera_id = index, camera_id
        self.alarm_at = self.start_at = self.end_at = 0.0
        self.frames_shown = 0
        self.loops = 0
        self.last_frame: Frame | None = None
        self.title = QLabel(f"Pre-alarm recording (from {PRE_S:.0f} s before, looping)")
        self.title.setObjectName("paneTitle")
        self.title.setWordWrap(True)
        self.video = VideoCell(name)
        self.video.setObjectName("preAlarmVideo")
        self.video.show_nothing("looking for the recording…")
        self.caption = QLabel("")
        self.caption.setObjectName("preAlarmCaption")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.video, 1)
        lay.addWidget(self.caption)
        self.relay = FrameRelay()
        self.relay.frames.connect(self._frames)
        self.player: Player | None = None
        self._opening = False
        self._closed = False
        if index is None:
            self.video.show_nothing("no recording index: this workstation cannot show "
                                    "recordings")

    def start(self, alarm_at: float) -> None:
        """Loop from the pre-roll before ``alarm_at`` (epoch seconds, the camera's clock)."""
        self.alarm_at, self.start_at, self.end_at = alarm_at, alarm_at - PRE_S, alarm_at + POST_S
        if self.index is None or self.player is not None or self._opening:
            return
        self._opening = True
        index, camera, emit = self.index, self.camera_id, self.relay.frames.emit

        def opened(player: Player) -> None:  # the index was read off the GUI thread
            self._opening = False
            if self._closed:
                player.close()
                return
            self.player = player
            player.seek_recorded(self.start_at)
            player.play()

        def failed(exc: BaseException) -> None:
            self._opening = False
            self.video.show_nothing(f"the recording cannot be read: {exc}")

        tasks.run(lambda: Player(index, [camera], emit), opened, failed)

    def _frames(self, position: float, frames: dict[int, Frame | None]) -> None:
        if self.player is None:
            return
        f = next(iter(frames.values()), None)
        if position >= self.end_at or (f is None and position >= self.alarm_at):
            self.loops += 1
            self.player.seek_recorded(self.start_at)
            return
        if f is None:
            if self.last_frame is None:
                self.video.show_nothing("No recording of this camera from before the alarm.\n"
                                        "Recording may be off for this camera: tell a "
                                        "supervisor.")
            return
        self.last_frame = f
        self.video.show_frame(f)
        self.frames_shown += 1
        rel = f.at - self.alarm_at
        local = dt.datetime.fromtimestamp(f.at, LONDON)
        when = "before" if rel < 0 else "after"
        self.caption.setText(f"{local:%H:%M:%S} {local.tzname()}  ·  {abs(rel):4.1f} s {when} "
                             "the alarm")
        self.caption.setStyleSheet("color: #c0392b; font-weight: bold;" if rel >= 0 else "")

    def shutdown(self) -> None:
        self._closed = True
        if self.player is not None:
            self.player.close()
            self.player = None
