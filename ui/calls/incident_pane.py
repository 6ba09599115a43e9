"""The incident pane: one call or alarm, in front of everything, until it is closed.

It lays out the call's parts and follows the call's state: the caller's picture at once
(``caller_video``), accept / hold / hand over, listen (``listen``), talk and announcements
(``talk_box``), the blue light (``blue_light``), linked cameras, and, for an intrusion, the
pre-alarm clip, PTZ and triage; at the foot the record of the call (``call_record``: notes,
police, outcome) and beside it the call's log (``call_log``). Each part does its own work
through the core services on a worker thread or the core loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import keys, tasks
from ui.calls.blue_light import BlueLight
from ui.calls.call_log import CallLog
from ui.calls.call_record import CallRecord
from ui.calls.caller_video import CallerVideo
from ui.calls.linked import LinkedCameras
from ui.calls.listen import ListenBox
from ui.calls.prealarm import PreAlarmClip
from ui.calls.service_link import ServiceLink
from ui.calls.talk_box import TalkBox
from ui.calls.triage_box import TriageBox
from ui.video.hub import FeedHub
from ui.wall.ptz_panel import PtzPanel
from vms.access.roles import Permission, allowed
from vms.audio.talk import Talk
from vms.devices.links import CallUp, CameraLinks
from vms.devices.relay import RelayControl
from vms.events.engine import OK, Event, Health
from vms.events.topics import INTRUSION, RELAY
from vms.incidents.queue import ACCEPTED, CLOSED, KIND_WORDS, NEW, ON_HOLD, Incident
from vms.loans.triage import Triage, alarm_time
from vms.recording.index import RecordingIndex

TICK_MS = 40


def _clock(seconds: float) -> str:
    s = int(max(0, seconds))
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60:02d}:{s % 60:02d}"


class IncidentPane(QWidget):
    message = Signal(str)

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
        # the state and the call's clock always show whole; a long place name gives way
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setToolTip(heading)
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

        # -- the parts ---------------------------------------------------------------------
        queue, session, iid = service.queue, self.session, incident.id

        def log(action: str, detail: dict[str, Any]) -> None:  # a worker thread's
            queue.log(session, iid, action, detail)
        self.tile = CallerVideo(hub, incident.device_id, incident.device, place, self)
        self.linked = LinkedCameras(links, hub, incident.device_id, self)
        self.linked.message.connect(self.message)
        self.linked.called_up.connect(self._called_up)
        self._presets_called = False
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
        self.listen = ListenBox(hub.live, incident.device_id)
        self.talk_box = TalkBox(talk, log, incident.device_id, iid, session.user,
                                microphone_setting, self)
        self.light = BlueLight(relay, log, incident.device_id, iid, incident.device, self)
        self.record = CallRecord(lambda text: queue.note(session, iid, text),
                                 lambda ref, units: queue.escalate(session, iid, ref, units),
                                 self)
        self.record.close_requested.connect(self.close_call)
        if incident.kind == INTRUSION and triage is not None:
            self.record.hide_police()
        self.call_log = CallLog(queue, iid, self)
        for part in (self.talk_box, self.light, self.record, self.call_log):
            part.message.connect(self.message)
        for part in (self.talk_box, self.light):
            part.logged.connect(self.call_log.refresh)

        # -- intrusion: pre-alarm clip, PTZ and triage instead of the blue light -------------------
        self.prealarm: PreAlarmClip | None = None
        self.triage_box: TriageBox | None = None
        self.ptz: PtzPanel | None = None
        intrusion = incident.kind == INTRUSION
        if intrusion:
            self.prealarm = PreAlarmClip(recordings, incident.device_id, incident.device, self)
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
        right.addWidget(self.talk_box)
        right.addWidget(self.light)
        self.light.setVisible(not intrusion)  # the blue light is a Help Point's
        right.addWidget(self.call_log, 1)
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
        outer.addWidget(self.record)
        for w, key in ((self.accept_button, keys.ACCEPT_NEXT), (self.hold_button, keys.HOLD),
                       (self.record.close_button, keys.CLOSE), (self.listen.mute, keys.MUTE),
                       (self.talk_box.toggle, keys.TALK), (self.light.buttons["on"], keys.BLUE_LIGHT),
                       (self.light.buttons["off"], keys.BLUE_LIGHT)):
            w.setToolTip((w.toolTip() + "\n" if w.toolTip() else "") + f"Key: {key.keys}")

        self.ticker = QTimer(self)
        self.ticker.setInterval(TICK_MS)
        self.ticker.timeout.connect(self._tick)
        self.ticker.start()
        service.incident_changed.connect(self._on_incident)
        service.event_arrived.connect(self._on_event)
        service.health_changed.connect(self._on_health)
        relay_state = service.relay_state(incident.device_id)
        if relay_state is not None:
            self.light.show_reported(relay_state)
        self._render()
        self.call_log.refresh()

    @property
    def first_frame_at(self) -> float | None:
        """When the caller's first picture was shown (time.monotonic())."""
        return self.tile.first_frame_at

    def _tick(self) -> None:
        now = time.monotonic()
        self.tile.tick(now)
        self.linked.tick(now)
        self.timer_label.setText(_clock(time.time() - self._t0))

    # -- state ---------------------------------------------------------------------------------
    def _on_incident(self, inc: Incident) -> None:
        if inc.id != self.incident.id:
            return
        self.incident = inc
        self._render()
        self.call_log.refresh()
        if self.triage_box is not None:
            self.triage_box.set_incident(inc)

    def _on_event(self, e: Event) -> None:
        if e.device_id == self.incident.device_id and e.kind == RELAY:
            self.light.show_reported(e.ev.active)

    def _on_health(self, h: Health) -> None:
        if h.device_id != self.incident.device_id:
            return
        if h.state == OK:
            self.health_label.setText("")
        else:
            self.health_label.setText(f"⚠ connection lost, retrying ({h.detail})")
            self.health_label.setStyleSheet("color: #c0392b;")

    def _render(self) -> None:
        inc = self.incident
        mine = inc.owner == self.session.user
        lost = bool(inc.lost_from) and inc.state == ON_HOLD
        words = inc.state_words
        owner = f" by {inc.owner_words}" if inc.owner and inc.state != NEW else ""
        if inc.lost_from and inc.state == ON_HOLD:  # nobody has it now: say whose it was
            owner = f": {inc.owner} at {inc.lost_from} went silent"
        self.state.setStyleSheet("padding: 2px 8px; border-radius: 4px; color: white; "
                                 f"background: {'#c0392b' if inc.state == NEW or lost else '#2c7a3f'};")
        self.state.setText(f"{words}{owner}")  # after the style: its size counts the padding
        self.state.ensurePolished()  # the new style is applied now, not at the next paint
        self.state.setMinimumWidth(self.state.sizeHint().width())
        active = inc.state == ACCEPTED and mine
        self.accept_button.setEnabled(inc.state != CLOSED and not active)
        taken = inc.state == ACCEPTED and not mine  # a colleague's, here or at another desk
        self.accept_button.setText("On the call" if active else "Take over" if taken else
                                   "Take call" if lost else
                                   "Resume call" if inc.accepted_utc else "Accept call")
        for w in (self.hold_button, self.handover_button):
            w.setEnabled(active)
        self.record.set_enabled(active)
        self.light.set_enabled(active)
        self.record.show_incident(inc)
        self.talk_box.follow(active)
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

    # -- queue actions ---------------------------------------------------------------------------
    def _do(self, fn: Callable[[], Any], what: str) -> None:
        tasks.run(fn, lambda _r: None, lambda e: self.message.emit(f"{what}: {e}"))

    def accept(self) -> None:
        self.activateWindow()  # the operator took this call: its window has the keyboard
        self.raise_()
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

    def close_call(self) -> None:
        outcome, iid = self.record.chosen_outcome(), self.incident.id
        if not outcome:
            return
        light_off: bool | None = False
        if self.light.on and not self.light.isHidden():
            light_off = self.light.ask_off()
            if light_off is None:
                return
        note = self.record.take_note()
        light, queue, session = self.light, self.service.queue, self.session

        def close() -> None:
            if light_off:
                light.switch_off()
            queue.close(session, iid, outcome, note)
        self._do(close, "The call is still open")

    def _called_up(self, results: list[CallUp]) -> None:
        if not results:
            return
        iid = self.incident.id
        detail = {r.camera: (f"at {r.preset}" if r.ok else f"failed: {r.detail}") for r in results}
        tasks.run(lambda: self.service.queue.log(self.session, iid, "linked cameras", detail),
                  lambda _r: self.call_log.refresh(),
                  lambda e: self.message.emit(f"The linked cameras were not logged: {e}"))

    # -- keys --------------------------------------------------------------------------------------
    def _talk_key(self, event: QKeyEvent) -> bool:
        """Space is push-to-talk, except while typing a note or a reference."""
        return event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and \
            not isinstance(self.focusWidget(), (QPlainTextEdit, QLineEdit))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._talk_key(event):
            self.talk_box.start_talking()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if self._talk_key(event):
            self.talk_box.stop_talking()
        else:
            super().keyReleaseEvent(event)

    # -- teardown ----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.ticker.stop()
        if self.prealarm is not None:
            self.prealarm.shutdown()
        if self.triage_box is not None:
            self.triage_box.shutdown()
        self.talk_box.close_channel()
        self.listen.stop()
        self.linked.shutdown()
        self.tile.release()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.incident.state != CLOSED:
            event.ignore()  # an open call is never lost by closing its window: hold it instead
            self.showMinimized()
            return
        self.shutdown()
        super().closeEvent(event)
