"""Talking to the caller, in the incident pane: the talk channel, push-to-talk, announcements.

The channel opens when the operator takes the call and closes when they leave it (hold,
hand-over, close). Opening checks the right, reads the keyring and audits, so it runs off
the GUI thread: it is the moment the operator needs the screen. A hold while it opens makes
the opened handle stale, and it is closed as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

from ui import tasks
from ui.calls.microphone import Microphone, open_microphone
from vms.audio.announcements import ANNOUNCEMENTS, clip
from vms.audio.talk import CLOSED, FAILED, READY, Talk, TalkHandle, load_pcm

IDLE = "Talk: accept the call to open the talk channel"


class TalkBox(QGroupBox):
    message = Signal(str)
    logged = Signal()  # something was written to the call's log
    state_changed = Signal(str, str)  # emitted from the core loop, delivered queued

    def __init__(self, talk: Talk, log: Callable[[str, dict[str, Any]], None], device_id: int,
                 incident_id: int, user: str, microphone_setting: str = "",
                 parent: QWidget | None = None) -> None:
        """``log(action, detail)`` writes to the call's log (blocking: a worker thread's)."""
        super().__init__("Talk to the caller", parent)
        self.talk, self.log = talk, log
        self.device_id, self.incident_id, self.user = device_id, incident_id, user
        self.mic_setting = microphone_setting
        self.mic: Microphone | None = None
        self.handle: TalkHandle | None = None
        self._opening = False
        self._generation = 0  # a close while opening makes the opened handle stale
        self.talking = False
        self.state = QLabel(IDLE)
        self.state.setWordWrap(True)
        self.ptt = QPushButton("Hold to talk (Space)")
        self.ptt.setObjectName("pushToTalk")
        self.ptt.setMinimumHeight(44)
        self.ptt.pressed.connect(self.start_talking)
        self.ptt.released.connect(self.stop_talking)
        self.toggle = QCheckBox("Talk continuously")
        self.toggle.toggled.connect(self._toggle)
        self.talking_label = QLabel("")
        self.talking_label.setObjectName("talkingIndicator")
        self.talking_label.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.announcement = QComboBox()
        for key, (title, _) in ANNOUNCEMENTS.items():
            self.announcement.addItem(title, key)
        self.play_button = QPushButton("Play to caller")
        self.play_button.clicked.connect(self.play_announcement)
        grid = QGridLayout(self)
        grid.addWidget(self.state, 0, 0, 1, 2)
        grid.addWidget(self.ptt, 1, 0)
        grid.addWidget(self.toggle, 1, 1)
        grid.addWidget(self.talking_label, 2, 0, 1, 2)
        grid.addWidget(self.announcement, 3, 0)
        grid.addWidget(self.play_button, 3, 1)
        self.state_changed.connect(self._show_state)

    def follow(self, active: bool) -> None:
        """The operator is on the call (open the channel) or not (close it)."""
        for w in (self.ptt, self.toggle, self.play_button):
            w.setEnabled(active)
        if active and self.handle is None and not self._opening:
            self._open()
        if not active and (self.handle is not None or self._opening):
            self.close_channel()

    def _open(self) -> None:
        self.state.setText("Talk: opening the talk channel…")
        self._opening = True
        generation = self._generation
        dev, iid = self.device_id, self.incident_id

        def opened(handle: TalkHandle) -> None:
            if generation != self._generation:  # held or closed meanwhile
                handle.close()
                return
            self._opening = False
            self.handle = handle

        def failed(exc: BaseException) -> None:  # permission, no stream: say so, the call goes on
            if generation == self._generation:
                self._opening = False
                self.state.setText(f"Talk unavailable: {exc}")

        def state(st: str, reason: str) -> None:  # from the core loop; a stale handle is quiet
            if generation == self._generation:
                self.state_changed.emit(st, reason)

        tasks.run(lambda: self.talk.open(dev, state, incident=iid), opened, failed)

    def _show_state(self, state: str, reason: str) -> None:
        text = {READY: "Talk: channel open — hold the button or Space to speak",
                FAILED: f"Talk unavailable: {reason}",
                CLOSED: "Talk: channel closed"}.get(state, f"Talk: {state}")
        self.state.setText(text)

    def start_talking(self) -> None:
        h = self.handle
        if h is None or h.state != READY or self.talking:
            if h is not None and h.state != READY:
                self.message.emit("The talk channel is not open yet")
            return
        try:
            self.mic = self.mic or open_microphone(self.mic_setting)
        except Exception as exc:
            self.message.emit(str(exc))
            self.state.setText(f"Talk: {exc}")
            return
        self.talking = True
        self.talking_label.setText(f"● Talking: {self.user}")
        self.mic.start(h.push)
        name = self.mic.name
        tasks.run(lambda: self.log("talk", {"microphone": name}), lambda _r: self.logged.emit(),
                  lambda e: self.message.emit(f"Talking was not written to the call's log: {e}"),
                  owner=self)

    def stop_talking(self) -> None:
        if self.toggle.isChecked() or not self.talking:
            return
        self._stop_mic()

    def _stop_mic(self) -> None:
        self.talking = False
        self.talking_label.setText("")
        if self.mic is not None:
            self.mic.stop()

    def _toggle(self, on: bool) -> None:
        if on:
            self.start_talking()
        else:
            self._stop_mic()

    def play_announcement(self) -> None:
        h, key = self.handle, self.announcement.currentData()
        if h is None or h.state != READY:
            self.message.emit("The talk channel is not open yet")
            return

        def play() -> None:
            h.push(load_pcm(clip(key)))
            self.log("announcement", {"clip": ANNOUNCEMENTS[key][0]})
        tasks.run(play, lambda _r: self.logged.emit(),
                  lambda e: self.message.emit(f"The announcement did not play: {e}"), owner=self)

    def close_channel(self) -> None:
        self._generation += 1
        self._opening = False
        self._stop_mic()
        if self.handle is not None:
            self.handle.close()
            self.handle = None
            self.state.setText(IDLE)
