"""The alert: a sound that repeats and a flashing taskbar entry until a call is accepted.

Its volume and mute are the signed-in user's (``vms.access.preferences``). The volume is
what the user sees on a slider, so it is turned into the sound's amplitude on Qt's
logarithmic scale: half-way sounds about half as loud, not a few decibels quieter. Muted,
the taskbar and the call's window still flash and the queue says the sound is off.

A desk with no sound output at all (no sound card, the headset unplugged, the audio service
not running) would ring silently: ``audible`` says whether there is one, ``output_changed``
when that changes, and the sound follows the system's default output when one comes back.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtMultimedia import QMediaDevices, QSoundEffect, QtAudio
from PySide6.QtWidgets import QApplication, QWidget

from resources import path as resource
from vms.access.preferences import Preferences


def amplitude(volume_percent: int) -> float:
    """The linear gain for a slider position (0 to 100)."""
    return float(QtAudio.convertVolume(max(0, min(100, volume_percent)) / 100,
                                       QtAudio.VolumeScale.LogarithmicVolumeScale,
                                       QtAudio.VolumeScale.LinearVolumeScale))


def has_output() -> bool:
    """The system offers somewhere to play sound."""
    return bool(QMediaDevices.audioOutputs())


class Alert(QObject):
    muted_changed = Signal(bool)
    output_changed = Signal(bool)  # audible: the desk has a sound output

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.active = False
        self.muted = False
        self.volume = Preferences().alert_volume
        self.sound = self._new_sound()
        self.audible = has_output()
        self.devices = QMediaDevices(self)
        self.devices.audioOutputsChanged.connect(self._outputs_changed)

    def _new_sound(self) -> QSoundEffect:
        """The sound, on the system's default output as it is now. Qt's sound effect keeps the
        output it was made with (one made with none stays silent, in error, when a headset
        is plugged in later), so a change of outputs makes a new one."""
        sound = QSoundEffect(QMediaDevices.defaultAudioOutput(), self)
        sound.setSource(QUrl.fromLocalFile(str(resource("sounds/alert.wav"))))
        sound.setLoopCount(QSoundEffect.Loop.Infinite.value)
        sound.setVolume(amplitude(self.volume))
        sound.setMuted(self.muted)
        return sound

    def _outputs_changed(self) -> None:
        audible = has_output()
        moved = QMediaDevices.defaultAudioOutput() != self.sound.audioDevice()
        broken = self.sound.status() == QSoundEffect.Status.Error
        if audible and (moved or broken or not self.audible):  # a headset plugged in: ring there
            old, self.sound = self.sound, self._new_sound()
            old.stop()
            old.deleteLater()
            if self.active:
                self.sound.play()
        if audible != self.audible:
            self.audible = audible
            self.output_changed.emit(audible)

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
