"""The alert: a sound that repeats and a flashing taskbar entry until a call is accepted."""

from __future__ import annotations

from PySide6.QtCore import QObject, QUrl
from PySide6.QtMultimedia import QSoundEffect
from PySide6.QtWidgets import QApplication, QWidget

from resources import path as resource


class Alert(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sound = QSoundEffect(self)
        self.sound.setSource(QUrl.fromLocalFile(str(resource("sounds/alert.wav"))))
        self.sound.setLoopCount(QSoundEffect.Loop.Infinite.value)
        self.sound.setVolume(0.8)
        self.active = False

    def start(self, window: QWidget | None) -> None:
        self.active = True
        if not self.sound.isPlaying():
            self.sound.play()
        if window is not None:
            QApplication.alert(window, 0)  # flash until the window is activated

    def stop(self) -> None:
        self.active = False
        self.sound.stop()
