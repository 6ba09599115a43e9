"""Where the operator's voice comes from: a QtMultimedia input, or a file for training.

The "microphone" setting names the input (empty: the system default). ``file:PATH``
plays a recording instead, for training sessions and for tests, which have no sound
card; it goes through exactly the same talk path as a real microphone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QIODevice, QObject
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSource, QMediaDevices

from vms.audio import g711
from vms.audio.talk import load_pcm
from vms.errors import ConfigError

Sink = Callable[[np.ndarray], None]


class Microphone(QObject):
    name = ""

    def start(self, sink: Sink) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class FileMicrophone(Microphone):
    """Says the whole recording each time talking starts (the talk channel paces it)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.pcm = load_pcm(path)
        self.name = f"recording {path.name}"

    def start(self, sink: Sink) -> None:
        sink(self.pcm)

    def stop(self) -> None:
        pass


class QtMicrophone(Microphone):
    def __init__(self, device: QAudioDevice) -> None:
        super().__init__()
        self.device = device
        self.name = device.description()
        fmt = QAudioFormat()
        fmt.setSampleRate(g711.RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()
        self.format = fmt
        self.source: QAudioSource | None = None
        self.io: QIODevice | None = None
        self.sink: Sink | None = None

    def start(self, sink: Sink) -> None:
        self.sink = sink
        self.source = QAudioSource(self.device, self.format, self)
        self.io = self.source.start()
        if self.io is not None:
            self.io.readyRead.connect(self._read)

    def _read(self) -> None:
        if self.io is None or self.sink is None:
            return
        data = bytes(self.io.readAll().data())
        f = self.format
        if f.sampleFormat() == QAudioFormat.SampleFormat.Float:
            pcm = (np.frombuffer(data, np.float32) * 32767).astype(np.int16)
        elif f.sampleFormat() == QAudioFormat.SampleFormat.Int32:
            pcm = (np.frombuffer(data, np.int32) >> 16).astype(np.int16)
        else:
            pcm = np.frombuffer(data, np.int16)
        ch = max(1, f.channelCount())
        pcm = pcm[: len(pcm) - len(pcm) % ch].reshape(-1, ch).mean(axis=1)
        if f.sampleRate() != g711.RATE and len(pcm):
            n = int(len(pcm) * g711.RATE / f.sampleRate())
            pcm = np.interp(np.linspace(0, len(pcm) - 1, n), np.arange(len(pcm)), pcm)
        self.sink(pcm.astype(np.int16))

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None
        self.io = None


def inputs() -> list[str]:
    return [d.description() for d in QMediaDevices.audioInputs()]


def open_microphone(setting: str) -> Microphone:
    """Raises ConfigError with what to do when there is nothing to talk with."""
    if setting.startswith("file:"):
        path = Path(setting[5:]).expanduser()
        if not path.is_file():
            raise ConfigError(f"the training recording {path} does not exist")
        return FileMicrophone(path)
    devices = QMediaDevices.audioInputs()
    if not devices:
        raise ConfigError("no microphone found on this workstation; plug one in, or choose one "
                          "in Settings")
    if setting:
        for d in devices:
            if d.description() == setting:
                return QtMicrophone(d)
        raise ConfigError(f"the microphone '{setting}' is not connected; choose another in "
                          "Settings")
    return QtMicrophone(QMediaDevices.defaultAudioInput())
