"""A picture of recorded video: one camera's frame from the core ``Player``, scaled to fit.

Used by the playback window and by the pre-alarm clip of an intrusion.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel

from vms.recording.playback import Frame


class FrameRelay(QObject):
    """Frames from a ``Player`` thread, delivered queued on the GUI thread."""

    frames = Signal(float, object)


class VideoCell(QLabel):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.setMinimumSize(320, 180)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background:#0d0f12; color:#9aa4ae;")
        self.image: QImage | None = None
        self.show_nothing("choose a time on the timeline")

    def show_nothing(self, why: str) -> None:
        self.image = None
        self.setPixmap(QPixmap())
        self.setText(f"{self.name}\n{why}")

    def show_frame(self, f: Frame) -> None:
        rgb = np.ascontiguousarray(f.rgb)
        h, w, _ = rgb.shape
        self.image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.setPixmap(QPixmap.fromImage(self.image).scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
