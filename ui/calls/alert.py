"""The alert: a sound that repeats and a flashing taskbar entry until a call is accepted.

Its volume and mute are the signed-in user's (``vms.access.preferences``). The volume is
what the user sees on a slider, so it is turned into the sound's amplitude on Qt's
logarithmic scale: half-way sounds about half as loud, not a few decibels quieter. Muted,
the taskbar and the call's window still flash and the queue says the sound is off.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtMultimedia import QSoundEffect, QtAudio
from PySide6.QtWidgets import QApplication, QWidget

from resources import path as resource
from vms.access.preferences import Preferences


def amplitude(volume_percent: int) -> float:
    """The linear gain for a slider position (0 to 100)."""
    return float(QtAudio.convertVolume(max(0, min(100, volume_percent)) / 100,
                                       QtAudio.VolumeScale.LogarithmicVolumeScale,
                                       QtAudio.VolumeScale.LinearVolumeScale))


class Alert(QObject):
    muted_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sound = QSoundEffect(self)
        self.sound.setSource(QUrl.fromLocalFile(str(resource("sounds/alert.wav"))))
        self.sound.setLoopCount(QSoundEffect.Loop.Infinite.value)
        self.active = False
        self.muted = False
        self.volume = Preferences().alert_volume
        self.sound.setVolume(amplitude(self.volume))

    def set_level(self, volume_percent: int, muted: bool) -> None:
        """The user's volume and mute, applied at once to a sound already playing."""
        self.volume = volume_percent
        self.sound.setVolume(amplitude(volume_percent))
        if muted != self.muted:
            self.muted = muted
            self.sound.setMuted(muted)
            self.muted_changed.emit(muted)

    def start(self, window: QWidget | None) -> None:
        self.active = True
        if not self.sound.isPlaying():
            self.sound.play()
        if window is not None:
            QApplication.alert(window, 0)  # flash until the window is activated

    def stop(self) -> None:
        self.active = False
        self.sound.stop()
