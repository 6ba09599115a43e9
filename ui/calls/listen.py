"""Listen controls of the incident pane: the caller's microphone, volume, mute and a level meter.

The feed (``vms.audio.listen``) decodes on its own thread; this widget drains it every
40 ms on the GUI thread into a ``QAudioSink`` in push mode and redraws the meter
(pyqtgraph: the last 5 s of level in dBFS). Without a speaker on the workstation the
meter still runs and the label says why nothing is heard.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtCore import QIODevice, Qt, QTimer
from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QSlider

from ui import tasks
from vms.audio.listen import LIVE, NO_AUDIO, SILENCE_DBFS, ListenFeed
from vms.devices.live import LiveStream, LiveView
from vms.media.worker import StreamState

TICK_MS = 40
HISTORY_S = 5.0
FLOOR_DBFS = -60.0


class ListenBox(QGroupBox):
    def __init__(self, live: LiveView, device_id: int) -> None:
        super().__init__("Listen to the caller")
        self.live = live
        self.device_id = device_id
        self.feed: ListenFeed | None = None
        self.stream: LiveStream | None = None
        self.sink: QAudioSink | None = None
        self._io: QIODevice | None = None
        self._wanted = False

        self.state = QLabel("Listen: accept the call to hear the caller")
        self.state.setWordWrap(True)
        self.mute = QPushButton("Mute")
        self.mute.setCheckable(True)
        self.mute.setObjectName("muteListen")
        self.mute.toggled.connect(self._apply_volume)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setToolTip("Volume of the caller's voice")
        self.volume.valueChanged.connect(self._apply_volume)
        self.level_label = QLabel("— dBFS")
        self.level_label.setMinimumWidth(70)
        self.meter = pg.PlotWidget()
        self.meter.setObjectName("levelMeter")
        self.meter.setFixedHeight(64)
        self.meter.setBackground("#1e2227")
        self.meter.setMouseEnabled(False, False)
        self.meter.hideButtons()
        self.meter.setYRange(FLOOR_DBFS, 0, padding=0)
        self.meter.setXRange(-HISTORY_S, 0, padding=0)
        self.meter.getAxis("bottom").setStyle(showValues=False)
        self.meter.getAxis("bottom").setHeight(4)
        left = self.meter.getAxis("left")
        left.setTicks([[(-60, "-60"), (-30, "-30"), (0, "0")]])
        left.setWidth(28)
        self.meter.setToolTip("Caller's level over the last 5 s, in dB below full scale")
        self.curve = self.meter.plot([], [], pen=pg.mkPen("#2ecc71", width=2),
                                     fillLevel=FLOOR_DBFS, brush=(46, 204, 113, 80))
        g = QGridLayout(self)
        g.addWidget(self.state, 0, 0, 1, 4)
        g.addWidget(self.meter, 1, 0, 1, 3)
        g.addWidget(self.level_label, 1, 3)
        g.addWidget(self.mute, 2, 0)
        g.addWidget(QLabel("Volume"), 2, 1, alignment=Qt.AlignmentFlag.AlignRight)
        g.addWidget(self.volume, 2, 2, 1, 2)
        g.setColumnStretch(2, 1)
        self.ticker = QTimer(self)
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self._tick)

    # -- start / stop ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Listening, or opening the caller's microphone to listen."""
        return self._wanted

    def start(self) -> None:
        """Open the microphone stream off the GUI thread (permission, keyring, audit)."""
        if self._wanted:
            return
        self._wanted = True
        self.state.setText("Listen: connecting to the caller's microphone…")
        dev = self.device_id
        tasks.run(lambda: self.live.open_audio(dev), self._opened, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self._wanted = False
        self.state.setText(f"Listen unavailable: {exc}")

    def _opened(self, stream: LiveStream) -> None:
        if not self._wanted:  # stopped while opening (closing audits: off the GUI thread)
            tasks.run(lambda: self.live.close(stream), lambda _r: None,
                      tasks.ignored("a closed stream was not audited"))
            return
        self.stream = stream
        fmt, speaker = self._speaker()
        self.feed = ListenFeed(stream, fmt.sampleRate(), fmt.channelCount())
        self.feed.start()
        if speaker:
            self.sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt, self)
            self._apply_volume()
            self._io = self.sink.start()
        self.ticker.start()

    def _speaker(self) -> tuple[QAudioFormat, bool]:
        """Mono 16-bit at the device's own rate if it takes that, else its preferred rate."""
        out = QMediaDevices.defaultAudioOutput()
        fmt = QAudioFormat()
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        fmt.setChannelCount(1)
        fmt.setSampleRate(8000)
        if out.isNull():
            return fmt, False
        if not out.isFormatSupported(fmt):
            pref = out.preferredFormat()
            fmt.setSampleRate(pref.sampleRate())
            fmt.setChannelCount(min(2, max(1, pref.channelCount())))
        return fmt, True

    def stop(self) -> None:
        self._wanted = False
        self.ticker.stop()
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
            self._io = None
        if self.feed is not None:
            self.feed.stop()
            self.feed = None
        if self.stream is not None:
            stream, self.stream = self.stream, None
            tasks.run(lambda: self.live.close(stream), lambda _r: None,
                      tasks.ignored("a closed stream was not audited"))
        self.state.setText("Listen: accept the call to hear the caller")
        self.curve.setData([], [])
        self.level_label.setText("— dBFS")

    # -- volume and the meter ------------------------------------------------------------------
    def effective_volume(self) -> float:
        return 0.0 if self.mute.isChecked() else self.volume.value() / 100

    def _apply_volume(self) -> None:
        self.mute.setText("Unmute" if self.mute.isChecked() else "Mute")
        if self.sink is not None:
            v = QAudio.convertVolume(self.effective_volume(), QAudio.VolumeScale.LogarithmicVolumeScale,
                                     QAudio.VolumeScale.LinearVolumeScale)
            self.sink.setVolume(v)

    def _tick(self) -> None:
        feed = self.feed
        if feed is None:
            return
        if self.sink is not None and self._io is not None:  # without one, the feed's cap holds
            data = feed.take(self.sink.bytesFree())
            if data:
                self._io.write(data)
        now = time.monotonic()
        pts = [(t - now, db) for t, db in list(feed.levels) if now - t <= HISTORY_S]
        if pts:
            self.curve.setData([p[0] for p in pts], [max(FLOOR_DBFS, p[1]) for p in pts])
            last = pts[-1][1]
            self.level_label.setText(f"{last:.0f} dBFS" if last > SILENCE_DBFS else "silence")
        muted = " (muted)" if self.mute.isChecked() else ""
        if feed.state == LIVE:
            where = "" if self.sink is not None else \
                " — no speaker on this workstation, level shown only"
            self.state.setText(f"Listening to the caller{muted}{where}")
        elif feed.state in (StreamState.RETRYING, StreamState.OFFLINE, StreamState.AUTH_FAILED):
            n = feed.status.countdown()
            when = f" in {n} s" if n is not None else ""
            what = ("the Help Point refused the user name or password"
                    if feed.state is StreamState.AUTH_FAILED else "connection lost")
            self.state.setText(f"Listen: {what}, retrying{when} ({feed.reason})")
        elif feed.state == NO_AUDIO:
            self.state.setText(f"Listen unavailable: {feed.reason}")
