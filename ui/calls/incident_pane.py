"""The incident pane: one call or alarm, in front of everything, until it is closed.

It shows the caller's live main stream at once (the wall's running stream is reused
while the main stream starts), and puts every action an operator takes during a
call in one place: accept / hold / hand over, listen (volume, mute, a level meter),
talk (hold the button or Space, or toggle), announcements, the blue light, notes, the
police log and the outcome. Cameras linked to the device show beside the caller and go to
their presets when the call is accepted.
Every action goes through the core services on a worker thread or the core loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.calls.clock import local_time
from ui.calls.linked import LinkedCameras
from ui.calls.listen import ListenBox
from ui.calls.microphone import Microphone, open_microphone
from ui.calls.prealarm import PreAlarmClip
from ui.calls.service_link import ServiceLink
from ui.calls.triage_box import TriageBox
from ui.video.hub import FeedHandle, FeedHub
from ui.video.tile import Tile
from ui.wall.ptz_panel import PtzPanel
from vms.access.roles import Permission, allowed
from vms.audio.announcements import ANNOUNCEMENTS, clip
from vms.audio.talk import CLOSED as TALK_CLOSED
from vms.audio.talk import FAILED as TALK_FAILED
from vms.audio.talk import READY as TALK_READY
from vms.audio.talk import Talk, TalkHandle, load_pcm
from vms.devices.links import CallUp, CameraLinks
from vms.devices.relay import RelayControl
from vms.events.engine import OK, Event, Health
from vms.events.topics import INTRUSION, RELAY
from vms.incidents.queue import (
    ACCEPTED,
    CLOSED,
    KIND_WORDS,
    NEW,
    OUTCOMES,
    STATE_WORDS,
    Incident,
)
from vms.incidents.words import describe
from vms.loans.triage import Triage, alarm_time
from vms.recording.index import RecordingIndex

TICK_MS = 40


def _clock(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60:02d}:{s % 60:02d}"


class IncidentPane(QWidget):
    message = Signal(str)
    talk_state_changed = Signal(str, str)  # emitted from the core loop, delivered queued

    def __init__(self, service: ServiceLink, hub: FeedHub, talk: Talk, relay: RelayControl,
                 links: CameraLinks, incident: Incident, microphone_setting: str = "",
                 triage: Triage | None = None, recordings: RecordingIndex | None = None,
                 place: str = "") -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.service = service
        self.hub = hub
        self.talk = talk
        self.relay = relay
        self.incident = incident
        self.session = service.session
        self.mic_setting = microphone_setting
        self.mic: Microphone | None = None
        self.talk_handle: TalkHandle | None = None
        self._talk_opening = False  # Talk.open (keyring, audit) runs off the GUI thread
        self._talk_generation = 0  # a close while opening makes the opened handle stale
        self.talking = False
        self.first_frame_at: float | None = None
        self.shown_at = time.monotonic()
        self._t0 = time.time()
        self.setObjectName("incidentPane")
        # Where the caller is, as the operator would say it: the device's place, then its id.
        heading = (f"{KIND_WORDS.get(incident.kind, incident.kind)}: {place} ({incident.device})"
                   if place else incident.title)
        self.setWindowTitle(f"{heading} — Beacon VMS")
        self.resize(1280, 1000)  # CallDesk fits it to the screen

        # -- header ------------------------------------------------------------------------
        self.title = QLabel(heading)
        self.title.setObjectName("incidentTitle")
        self.title.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.state = QLabel()
        self.state.setObjectName("incidentState")
        self.timer_label = QLabel("00:00")
        self.timer_label.setStyleSheet("font-size: 18px; font-family: monospace;")
        self.health_label = QLabel("")
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.health_label)
        head.addWidget(self.state)
        head.addWidget(self.timer_label)

        # -- video -------------------------------------------------------------------------
        self.tile = Tile(0, self)
        self.tile.device_id, self.tile.name = incident.device_id, incident.device
        self.tile.place = place
        self.tile.setMinimumSize(560, 315)
        self.tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._attach_video()
        self.linked = LinkedCameras(links, hub, incident.device_id, self)
        self.linked.message.connect(self.message)
        self.linked.called_up.connect(self._called_up)
        self._presets_called = False

        # -- call actions ------------------------------------------------------------------
        self.accept_button = QPushButton("Accept call")
        self.accept_button.setObjectName("acceptCall")
        self.accept_button.setStyleSheet("font-weight: bold;")
        self.hold_button = QPushButton("Hold")
        self.handover_button = QPushButton("Hand over…")
        self.accept_button.clicked.connect(self.accept)
        self.hold_button.clicked.connect(self.hold)
        self.handover_button.clicked.connect(self.hand_over)
        call_row = QHBoxLayout()
        for b in (self.accept_button, self.hold_button, self.handover_button):
            call_row.addWidget(b)

        # -- listen ------------------------------------------------------------------------
        self.listen = ListenBox(hub.live, incident.device_id)

        # -- talk --------------------------------------------------------------------------
        self.talk_state = QLabel("Talk: accept the call to open the talk channel")
        self.talk_state.setWordWrap(True)
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
        talk_box = QGroupBox("Talk to the caller")
        tl = QGridLayout(talk_box)
        tl.addWidget(self.talk_state, 0, 0, 1, 2)
        tl.addWidget(self.ptt, 1, 0)
        tl.addWidget(self.toggle, 1, 1)
        tl.addWidget(self.talking_label, 2, 0, 1, 2)
        tl.addWidget(self.announcement, 3, 0)
        tl.addWidget(self.play_button, 3, 1)

        # -- blue light --------------------------------------------------------------------
        self.light_on: bool | None = None  # as the Help Point last reported it
        light_box = self.light_box = QGroupBox("Blue light")
        ll = QHBoxLayout(light_box)
        self.light_buttons: dict[str, QPushButton] = {}
        for mode, text in (("on", "On"), ("off", "Off"), ("pulse", "Flash")):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, m=mode: self.set_light(m))
            self.light_buttons[mode] = b
            ll.addWidget(b)
        self.light_state = QLabel("not reported yet")
        self.light_state.setWordWrap(True)
        self.light_state.setObjectName("blueLightState")
        ll.addWidget(self.light_state, 1)

        # -- notes, police, outcome -----------------------------------------------------------
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("What the caller says, what you see, what you did…")
        self.notes.setMaximumHeight(80)
        self.add_note = QPushButton("Add note")
        self.add_note.clicked.connect(self.save_note)
        self.police_ref = QLineEdit()
        self.police_ref.setPlaceholderText("CAD / incident number")
        self.units = QLineEdit()
        self.units.setPlaceholderText("units sent, e.g. 2 officers")
        self.police_button = QPushButton("Police informed now")
        self.police_button.clicked.connect(self.police_informed)
        self.police_state = QLabel("")
        self.outcome = QComboBox()
        self.outcome.addItem("Choose an outcome…", "")
        for key, text in OUTCOMES.items():
            self.outcome.addItem(text, key)
        self.close_button = QPushButton("Close call")
        self.close_button.setObjectName("closeCall")
        self.close_button.clicked.connect(self.close_call)
        record = QGroupBox("Record")
        form = QFormLayout(record)
        nrow = QHBoxLayout()
        nrow.addWidget(self.notes, 1)
        nrow.addWidget(self.add_note)
        form.addRow("Notes", nrow)
        prow = QHBoxLayout()
        prow.addWidget(self.police_ref)
        prow.addWidget(self.units)
        prow.addWidget(self.police_button)
        form.addRow("Police", prow)
        form.addRow("", self.police_state)
        if incident.kind == INTRUSION and triage is not None:
            form.setRowVisible(1, False)  # an intrusion goes to the police through triage
        orow = QHBoxLayout()
        orow.addWidget(self.outcome, 1)
        orow.addWidget(self.close_button)
        form.addRow("Outcome", orow)

        self.log = QListWidget()
        self.log.setObjectName("callLog")
        self.log.setWordWrap(True)
        log_box = QGroupBox("Call log")
        QVBoxLayout(log_box).addWidget(self.log)

        # -- intrusion: pre-alarm clip, PTZ and triage instead of the blue light -------------------
        self.prealarm: PreAlarmClip | None = None
        self.triage_box: TriageBox | None = None
        self.ptz: PtzPanel | None = None
        intrusion = incident.kind == INTRUSION
        if intrusion:
            self.prealarm = PreAlarmClip(recordings, incident.device_id, incident.device, self)
            queue = service.queue
            clip = self.prealarm
            tasks.run(lambda: alarm_time(queue, incident), clip.start,
                      lambda e: clip.video.show_nothing(f"the alarm's time cannot be read: {e}"))
            self.ptz = PtzPanel(links.ptz, self)
            reg = service.profile.registry
            tasks.run(lambda: reg.device(incident.device_id), self.ptz.set_device,
                      lambda e: self.message.emit(f"The camera cannot be steered: {e}"))
            if triage is not None:
                self.triage_box = TriageBox(triage, incident, self)
                self.triage_box.message.connect(self.message)

        right = QVBoxLayout()
        right.addLayout(call_row)
        if self.triage_box is not None:  # an intrusion's decision sits with the call's controls,
            right.addWidget(self.triage_box)  # on screen, not below the videos
        if self.ptz is not None:
            right.addWidget(self.ptz)
        right.addWidget(self.listen)
        right.addWidget(talk_box)
        right.addWidget(light_box)
        light_box.setVisible(not intrusion)  # the blue light is a Help Point's
        right.addWidget(log_box, 1)
        left = QVBoxLayout()
        if self.prealarm is not None:
            # Side by side at the top, a picture's height (not the whole column's, which the
            # triage controls beside them make long: the pictures would sit below the fold).
            videos = QHBoxLayout()
            videos.addWidget(self.tile, 1)
            videos.addWidget(self.prealarm, 1)
            left.addLayout(videos)
            self.tile.setMinimumSize(320, 260)
            self.prealarm.setMinimumSize(320, 260)
            left.addWidget(self.linked)
            left.addStretch(1)
        else:
            left.addWidget(self.tile, 1)
            left.addWidget(self.linked)
        body_widget = QWidget()
        body = QHBoxLayout(body_widget)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(left, 3)
        rw = QWidget()
        rw.setLayout(right)
        rw.setMinimumWidth(360)
        body.addWidget(rw, 2)
        # On a small screen (1366x768) the video and controls scroll; the heading and the
        # record of the call (notes, police, outcome, Close) always stay on screen.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body_widget)
        scroll.setMinimumHeight(240)
        outer = QVBoxLayout(self)
        outer.addLayout(head)
        outer.addWidget(scroll, 1)
        outer.addWidget(record)

        self.talk_state_changed.connect(self._talk_state)
        self.ticker = QTimer(self)
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self._tick)
        self.ticker.start()
        service.incident_changed.connect(self._on_incident)
        service.event_arrived.connect(self._on_event)
        service.health_changed.connect(self._on_health)
        relay_state = service.relay_state(incident.device_id)
        if relay_state is not None:
            self._show_light(relay_state)
        self._render()
        self._refresh_log()

    # -- video -------------------------------------------------------------------------------
    def _attach_video(self) -> None:
        """Show the running stream at once; switch to the main stream when it has a picture."""
        dev = self.incident.device_id
        reuse_sub = not self.hub.running(dev, "main") and self.hub.running(dev, "sub")
        self.main: FeedHandle = self.hub.acquire(dev, "main")
        self.sub: FeedHandle | None = self.hub.acquire(dev, "sub") if reuse_sub else None
        self.tile.handle = self.sub or self.main

    def _tick(self) -> None:
        now = time.monotonic()
        if self.sub is not None and (self.main.denied or (
                self.main.feed is not None and self.main.feed.latest)):
            # HD has a picture; or this user may no longer view the camera (the running SD
            # stream was opened earlier, so the refusal of HD decides): the tile says why
            self.tile.handle = self.main
            self.hub.release(self.sub)
            self.sub = None
        self.tile.tick(now)
        self.linked.tick(now)
        if self.first_frame_at is None and self.tile.shown > 0:
            self.first_frame_at = now
        self.timer_label.setText(_clock(time.time() - self._t0))

    # -- state ---------------------------------------------------------------------------------
    def _on_incident(self, inc: Incident) -> None:
        if inc.id != self.incident.id:
            return
        self.incident = inc
        self._render()
        self._refresh_log()
        if self.triage_box is not None:
            self.triage_box.set_incident(inc)

    def _on_event(self, e: Event) -> None:
        if e.device_id == self.incident.device_id and e.kind == RELAY:
            self._show_light(e.ev.active)

    def _on_health(self, h: Health) -> None:
        if h.device_id != self.incident.device_id:
            return
        if h.state == OK:
            self.health_label.setText("")
        else:
            self.health_label.setText(f"⚠ connection lost, retrying ({h.detail})")
            self.health_label.setStyleSheet("color: #c0392b;")

    def _show_light(self, active: bool) -> None:
        self.light_on = active
        self.light_state.setText("ON, as the Help Point reports" if active else
                                 "off, as the Help Point reports")

    def _render(self) -> None:
        inc = self.incident
        mine = inc.owner == self.session.user
        words = STATE_WORDS[inc.state]
        owner = f" by {inc.owner}" if inc.owner and inc.state != NEW else ""
        self.state.setStyleSheet("padding: 2px 8px; border-radius: 4px; color: white; "
                                 f"background: {'#c0392b' if inc.state == NEW else '#2c7a3f'};")
        self.state.setText(f"{words}{owner}")  # after the style: its size counts the padding
        self.state.ensurePolished()  # the new style is applied now, not at the next paint
        self.state.setMinimumWidth(self.state.sizeHint().width())
        active = inc.state == ACCEPTED and mine
        self.accept_button.setEnabled(inc.state != CLOSED and not active)
        self.accept_button.setText("On the call" if active else
                                   "Resume call" if inc.accepted_utc else "Accept call")
        for w in (self.hold_button, self.handover_button, self.ptt, self.toggle, self.play_button,
                  self.add_note, self.police_button, self.close_button,
                  *self.light_buttons.values()):
            w.setEnabled(active)
        if inc.police_informed_utc:
            self.police_state.setText(f"Police informed {local_time(inc.police_informed_utc)}, "
                                      f"reference {inc.police_ref or '—'}, units "
                                      f"{inc.units or '—'}")
        if active and self.talk_handle is None and not self._talk_opening:
            self._open_talk()
        if not active and (self.talk_handle is not None or self._talk_opening):
            self._close_talk()
        self.linked.set_enabled(active)
        if self.triage_box is not None:
            self.triage_box.set_enabled(active)
        if active and not self._presets_called:
            self._presets_called = True  # once: an operator may have steered them since
            self.linked.call_up()
        if active:
            self.listen.start()  # the operator hears the caller from the moment of accepting
        else:
            self.listen.stop()

    def _refresh_log(self) -> None:
        iid = self.incident.id
        tasks.run(lambda: self.service.queue.actions(iid), self._show_log,
                  lambda e: self.message.emit(f"The call's log cannot be read: {e}"))

    def _show_log(self, actions: list[dict[str, Any]]) -> None:
        self.log.clear()
        for a in actions:
            who = "Device" if a["user"] == "system" else a["user"]
            self.log.addItem(f"{local_time(a['utc'])[:8]}  {who} "
                             f"{describe(a['action'], a['detail'], local_time)}")
        self.log.scrollToBottom()

    # -- queue actions ---------------------------------------------------------------------------
    def _do(self, fn: Callable[[], Any], what: str) -> None:
        tasks.run(fn, lambda _r: None, lambda e: self.message.emit(f"{what}: {e}"))

    def accept(self) -> None:
        iid = self.incident.id
        self._do(lambda: self.service.queue.accept(self.session, iid), "Could not accept")

    def hold(self) -> None:
        iid = self.incident.id
        self._do(lambda: self.service.queue.hold(self.session, iid), "Could not hold")

    def hand_over(self) -> None:
        names = [u.name for u in self.service.profile.accounts.users()
                 if u.name != self.session.user and not u.disabled
                 and allowed(u.role, Permission.CALL_HANDLE)]
        if not names:
            self.message.emit("There is nobody else to hand the call to")
            return
        name, ok = QInputDialog.getItem(self, "Hand over the call", "Operator:", names, 0, False)
        if ok and name:
            iid = self.incident.id
            self._do(lambda: self.service.queue.hand_over(self.session, iid, name),
                     "Could not hand over")

    def save_note(self) -> None:
        text, iid = self.notes.toPlainText(), self.incident.id
        self.notes.clear()
        self._do(lambda: self.service.queue.note(self.session, iid, text), "Could not save the note")

    def police_informed(self) -> None:
        ref, units, iid = self.police_ref.text(), self.units.text(), self.incident.id
        self._do(lambda: self.service.queue.escalate(self.session, iid, ref, units),
                 "Could not record it")

    def close_call(self) -> None:
        outcome, iid = self.outcome.currentData(), self.incident.id
        if not outcome:
            self.message.emit("Choose an outcome before closing the call")
            self.outcome.setFocus()
            self.outcome.showPopup()
            return
        light_off: bool | None = False
        if self.light_on and not self.light_box.isHidden():
            light_off = self._ask_light_off()
            if light_off is None:
                return
        note = self.notes.toPlainText()
        self.notes.clear()
        dev = self.incident.device_id

        def close() -> None:
            if light_off:
                how = self.relay.set(dev, "off", incident=iid).result(10)
                self.service.queue.log(self.session, iid, "blue light", {"mode": "off", "via": how})
            self.service.queue.close(self.session, iid, outcome, note)
        self._do(close, "The call is still open")

    def _ask_light_off(self) -> bool | None:
        """Closing with the blue light on: the public at the Help Point would think help is
        still coming. Switch it off (the default), leave it on, or go back to the call."""
        box = QMessageBox(QMessageBox.Icon.Question, "Blue light still on — Beacon VMS",
                          f"The blue light at {self.incident.device} is on. People at the Help "
                          "Point may think help is still coming.", parent=self)
        off = box.addButton("Switch it off and close", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Leave it on and close", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Back to the call", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(off)
        box.exec()
        if box.clickedButton() is off:
            return True
        return False if box.clickedButton() is keep else None

    def _called_up(self, results: list[CallUp]) -> None:
        if not results:
            return
        iid = self.incident.id
        detail = {r.camera: (f"at {r.preset}" if r.ok else f"failed: {r.detail}") for r in results}
        tasks.run(lambda: self.service.queue.log(self.session, iid, "linked cameras", detail),
                  lambda _r: self._refresh_log(),
                  lambda e: self.message.emit(f"The linked cameras were not logged: {e}"))

    # -- blue light -------------------------------------------------------------------------------
    def set_light(self, mode: str) -> None:
        iid, dev = self.incident.id, self.incident.device_id

        def send() -> str:
            how = self.relay.set(dev, mode, incident=iid).result(10)
            self.service.queue.log(self.session, iid, "blue light", {"mode": mode, "via": how})
            return how
        def sent(_how: str) -> None:
            self._show_light(mode != "off")  # until the Help Point reports its relay itself
            self._refresh_log()
        tasks.run(send, sent, lambda e: self.message.emit(f"The blue light did not change: {e}"))

    # -- talk ----------------------------------------------------------------------------------------
    def _open_talk(self) -> None:
        """The permission check, the keyring and the audit entry run off the GUI thread: this is
        the moment the operator needs the screen."""
        self.talk_state.setText("Talk: opening the talk channel…")
        self._talk_opening = True
        generation = self._talk_generation
        dev, iid = self.incident.device_id, self.incident.id

        def opened(handle: TalkHandle) -> None:
            if generation != self._talk_generation:  # held or closed meanwhile
                handle.close()
                return
            self._talk_opening = False
            self.talk_handle = handle

        def failed(exc: BaseException) -> None:  # permission, no stream: say so, the call goes on
            if generation == self._talk_generation:
                self._talk_opening = False
                self.talk_state.setText(f"Talk unavailable: {exc}")

        def state(st: str, reason: str) -> None:  # from the core loop; a stale handle is quiet
            if generation == self._talk_generation:
                self.talk_state_changed.emit(st, reason)

        tasks.run(lambda: self.talk.open(dev, state, incident=iid), opened, failed)

    def _talk_state(self, state: str, reason: str) -> None:
        text = {TALK_READY: "Talk: channel open — hold the button or Space to speak",
                TALK_FAILED: f"Talk unavailable: {reason}",
                TALK_CLOSED: "Talk: channel closed"}.get(state, f"Talk: {state}")
        self.talk_state.setText(text)

    def start_talking(self) -> None:
        h = self.talk_handle
        if h is None or h.state != TALK_READY or self.talking:
            if h is not None and h.state != TALK_READY:
                self.message.emit("The talk channel is not open yet")
            return
        try:
            self.mic = self.mic or open_microphone(self.mic_setting)
        except Exception as exc:
            self.message.emit(str(exc))
            self.talk_state.setText(f"Talk: {exc}")
            return
        self.talking = True
        self.talking_label.setText(f"● Talking: {self.session.user}")
        self.mic.start(h.push)
        iid = self.incident.id
        tasks.run(lambda: self.service.queue.log(self.session, iid, "talk",
                                                {"microphone": self.mic.name if self.mic else ""}),
                  lambda _r: self._refresh_log(),
                  lambda e: self.message.emit(f"Talking was not written to the call's log: {e}"))

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
        h, key = self.talk_handle, self.announcement.currentData()
        if h is None or h.state != TALK_READY:
            self.message.emit("The talk channel is not open yet")
            return
        iid = self.incident.id

        def play() -> None:
            h.push(load_pcm(clip(key)))
            self.service.queue.log(self.session, iid, "announcement",
                                  {"clip": ANNOUNCEMENTS[key][0]})
        tasks.run(play, lambda _r: self._refresh_log(),
                  lambda e: self.message.emit(f"The announcement did not play: {e}"))

    def _close_talk(self) -> None:
        self._talk_generation += 1
        self._talk_opening = False
        self._stop_mic()
        if self.talk_handle is not None:
            self.talk_handle.close()
            self.talk_handle = None
            self.talk_state.setText("Talk: accept the call to open the talk channel")

    def _talk_key(self, event: QKeyEvent) -> bool:
        """Space is push-to-talk, except while typing a note or a reference."""
        return event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and \
            not isinstance(self.focusWidget(), (QPlainTextEdit, QLineEdit))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._talk_key(event):
            self.start_talking()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if self._talk_key(event):
            self.stop_talking()
        else:
            super().keyReleaseEvent(event)

    # -- teardown ----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.ticker.stop()
        if self.prealarm is not None:
            self.prealarm.shutdown()
        if self.triage_box is not None:
            self.triage_box.shutdown()
        self._close_talk()
        self.listen.stop()
        self.linked.shutdown()
        for h in (self.main, self.sub):
            if h is not None:
                self.hub.release(h)
        self.tile.handle = None

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.incident.state != CLOSED:
            event.ignore()  # an open call is never lost by closing its window: hold it instead
            self.showMinimized()
            return
        self.shutdown()
        super().closeEvent(event)
