"""Wires the link to the site service, the queue pane, the alert and one incident pane per open call."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication

from ui import tasks
from ui.calls.alert import Alert
from ui.calls.incident_pane import IncidentPane
from ui.calls.queue_pane import QueuePane
from ui.calls.service_link import ServiceLink
from ui.tasks import Leftover
from ui.video.hub import FeedHandle, FeedHub
from ui.video.tile import ALARM_HANDLED, ALARM_WAITING
from vms.access.roles import Permission
from vms.audio.talk import Talk
from vms.devices.links import CameraLinks
from vms.devices.relay import RelayControl
from vms.errors import VmsError
from vms.events.device_rules import is_help_point
from vms.events.engine import Health
from vms.incidents.queue import ACCEPTED, CLOSED, KIND_WORDS, NEW, ON_HOLD, Incident
from vms.loans.triage import Triage
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.store.devices import DeviceRow

# Calls (1) and intrusions (2) pop their pane and sound the alert at once; motion (3) and
# anything configured below it waits quietly in the queue, so a busy street does not bury
# the operator in windows and noise.
POP_UP_PRIORITY = 2
log = logging.getLogger(__name__)
FRAME_PX = 40  # a window's title bar and borders: not known until it is shown
WARM_PURPOSE = "standby: ready for a call, not shown"  # what the audit says of a warm stream
WARM_RETRY_MS = 30_000


def _epoch(utc: str) -> float:
    return datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()


def _rings(inc: Incident) -> bool:
    """Waiting for an operator: new, or its operator's workstation went silent mid-call."""
    return inc.state == NEW or (inc.state == ON_HOLD and bool(inc.lost_from))


class CallDesk(QObject):
    message = Signal(str)
    # device id, and ALARM_WAITING (nobody has it: flashing), ALARM_HANDLED (an operator has
    # it) or "" (nothing open): the wall marks that device's tiles
    alarm_changed = Signal(int, str)
    pane_shown = Signal(int, float)  # incident id, monotonic time the pane was shown

    def __init__(self, profile: Profile, service: ServiceLink, hub: FeedHub,
                 recordings: RecordingIndex | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.service = service
        self.hub = hub
        self.session = service.session
        site_desk = service.desk
        self.talk = Talk(profile, self.session,
                         floor=site_desk.talk_floor if site_desk is not None else None)
        self.relay = RelayControl(profile, self.session)
        self.links = CameraLinks(profile, self.session)
        self.recordings = recordings  # for the pre-alarm clip of intrusions
        self.triage = Triage(profile, self.session, service.queue) if \
            profile.access.can(self.session, Permission.LOANS_VIEW) else None
        self.queue_pane = QueuePane()
        self.alert = Alert(self)
        self.alert.muted_changed.connect(self.queue_pane.show_muted)
        self.handles_calls = profile.access.can(self.session, Permission.CALL_HANDLE)
        if self.handles_calls:  # only a desk that rings needs to be heard
            self.alert.output_changed.connect(self.queue_pane.show_audible)
            self.queue_pane.show_audible(self.alert.audible)
        self.panes: dict[int, IncidentPane] = {}
        self.alarms: dict[int, str] = {}  # device id -> ALARM_WAITING or ALARM_HANDLED
        self._activating: tuple[IncidentPane, float] | None = None  # the pane last given the keys
        self.locked = False  # the lock screen is up: no pane opens, the lock screen lists calls
        self.warm: dict[int, FeedHandle] = {}  # Help Points' sub streams, kept running
        self._warm_retry = QTimer(self)
        self._warm_retry.setInterval(WARM_RETRY_MS)
        self._warm_retry.timeout.connect(self._retry_warm)
        self.closed = False
        self.microphone = profile.accounts.settings().value("microphone")  # read at sign-in
        # The site service raises calls for every device; this user sees those their camera
        # groups reach (widened by ``start`` when devices are added).
        rows = profile.access.visible(self.session, profile.registry.devices())
        self.visible = {d.id for d in rows}
        self.places = {d.id: d.location or d.area for d in rows}  # where a caller stands
        self.queue_pane.places = self.places  # the same dict: the queue names places too
        service.incident_changed.connect(self.on_incident)
        service.health_changed.connect(self._on_health)
        self.queue_pane.open_requested.connect(self.show_pane)
        self.queue_pane.accept_requested.connect(self.accept)
        tasks.run(service.queue.open_incidents, self._loaded, self._not_loaded)

    def start(self, rows: list[DeviceRow]) -> None:
        if self.closed:
            return  # signed out while the devices were read
        self.visible |= {r.id for r in rows}
        self.places.update({r.id: r.location or r.area for r in rows})
        self.service.start(rows)
        self.keep_callers_warm(rows)

    def keep_callers_warm(self, rows: list[DeviceRow]) -> None:
        """Each Help Point's sub stream kept open and decoded while the desk is up, for those
        who take calls: a pane opens on the caller's face at once (SD), instead of waiting
        for an RTSP start and a keyframe, and goes HD when the main stream has a picture.
        Help Points are few, and the first second of a call is when the face matters."""
        if not self.handles_calls or self.closed:
            return
        wanted = {r.id for r in rows if is_help_point(r)}
        for did in set(self.warm) - wanted:  # removed, or no longer a Help Point
            self.hub.release(self.warm.pop(did))
        for did in wanted:
            if did not in self.warm:
                self.warm[did] = self.hub.acquire(did, "sub", purpose=WARM_PURPOSE)
        self._warm_retry.start()

    def _retry_warm(self) -> None:
        """A warm stream that could not be opened (a keyring or audit store busy for a
        moment) is asked for again, or the Help Point would stay cold all shift."""
        for did, handle in list(self.warm.items()):
            if handle.error is not None and not self.closed:
                self.hub.release(handle)
                self.warm[did] = self.hub.acquire(did, "sub", purpose=WARM_PURPOSE)

    def _on_health(self, h: Health) -> None:
        if h.device_id in self.visible:
            self.queue_pane.update_health(h)

    def _not_loaded(self, exc: BaseException) -> None:
        """An empty queue must never be shown for one that could not be read."""
        text = (f"The calls and alarms already waiting could not be read ({exc}). New ones "
                "still ring here; sign out and in again to read the queue, or ask a supervisor.")
        self.queue_pane.empty.setText("⚠ " + text)
        self.queue_pane.title.setText("Queue not read")
        self.message.emit(text)

    def _loaded(self, incidents: list[Incident]) -> None:
        incidents = [i for i in incidents if i.device_id in self.visible]
        self.queue_pane.set_incidents(incidents)
        for inc in incidents:
            if (inc.state == NEW and inc.priority <= POP_UP_PRIORITY) or \
                    inc.owner == self.session.user:
                self.show_pane(inc.id, inc, asked=False)
        self._alert()

    def on_incident(self, inc: Incident) -> None:
        if inc.device_id not in self.visible:
            return
        before = self.queue_pane.items.get(inc.id)
        if before is not None and before.state == ACCEPTED and inc.state == ON_HOLD and \
                inc.owner == self.session.user == before.owner:
            self.message.emit(f"{inc.title} is on hold: listen and talk stopped. "
                              "Resume it from its window or the queue.")
        self.queue_pane.update_incident(inc)
        pane = self.panes.get(inc.id)
        if inc.state == CLOSED:
            if pane is not None:
                self.panes.pop(inc.id)
                pane.shutdown()
                pane.close()
                pane.deleteLater()
        elif _rings(inc) and pane is None and inc.priority <= POP_UP_PRIORITY:
            self.show_pane(inc.id, inc, asked=False)
        self._alert()

    def _alert(self) -> None:
        waiting = [i for i in self.queue_pane.items.values()
                   if _rings(i) and i.priority <= POP_UP_PRIORITY]
        if waiting and self.handles_calls:
            self.alert.start(self.panes.get(waiting[0].id))
        else:
            self.alert.stop()
        self._mark_alarms()

    def _mark_alarms(self) -> None:
        """Each device with an open call or alarm, as its tiles should show it: waiting
        beats handled when a device has both."""
        now: dict[int, str] = {}
        for i in self.queue_pane.items.values():
            if now.get(i.device_id) != ALARM_WAITING:
                now[i.device_id] = ALARM_WAITING if _rings(i) else ALARM_HANDLED
        for did in set(self.alarms) | set(now):
            if self.alarms.get(did) != now.get(did):
                self.alarm_changed.emit(did, now.get(did, ""))
        self.alarms = now

    def show_pane(self, iid: int, inc: Incident | None = None, *, asked: bool = True) -> None:
        """Show a call's pane over everything (a fullscreen wall included).

        ``asked``: the operator chose it, so it comes to the front with the keyboard. A call
        that arrives by itself never takes the keyboard (issue 26: the operator may be typing a
        note or steering a camera; F2 answers it from any window), and the call that should be
        answered first (the operator's live call, else the oldest waiting at the highest
        priority) stays on top. While the session is locked no pane opens: the lock screen lists
        the call instead, without video.
        """
        if not self.handles_calls or self.locked:
            return
        pane = self.panes.get(iid)
        if pane is None:
            inc = inc or self.queue_pane.items.get(iid) or self.service.incident(iid)
            pane = IncidentPane(self.service, self.hub, self.talk, self.relay, self.links, inc,
                                self.microphone, self.triage, self.recordings,
                                place=self.place(inc))
            pane.message.connect(self.message)
            self._place(pane)
            self.panes[iid] = pane
        front = pane if asked else self._front()
        had_keys = QApplication.activeWindow()
        if front is not None and front is not pane and self._activating is not None \
                and self._activating[0] is front and time.monotonic() - self._activating[1] < 2:
            # Two calls at once: the first pane's activation is still on its way (the main
            # window, or nothing, is active yet), so the keys are the front call's by right.
            had_keys = front
        takes_keys = asked and front is pane
        pane.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, not takes_keys)
        pane.showNormal()
        if front is not None:
            front.raise_()
        if takes_keys:
            pane.activateWindow()
            self._activating = (pane, time.monotonic())
        elif had_keys is not None:
            # Some window systems (X without a window manager) focus any window mapped; give
            # the keyboard back to whoever had it, once the new window is up.
            def give_back() -> None:
                if QApplication.activeWindow() is pane and shiboken6.isValid(had_keys):
                    had_keys.activateWindow()
            for ms in (0, 100, 300):
                QTimer.singleShot(ms, give_back)
        self.pane_shown.emit(iid, time.monotonic())
        queue, session = self.service.queue, self.session  # starts "presented -> accepted"
        tasks.run(lambda: queue.presented(session, iid), lambda _r: None,
                  lambda e: log.warning("presentation of %s not recorded: %s", iid, e))

    def raise_front(self) -> None:
        """Put the call that belongs on top back on top (after another window moved)."""
        front = self._front()
        if front is not None and front.isVisible():
            front.raise_()

    def _front(self) -> IncidentPane | None:
        """The pane that belongs on top: this operator's live call, else the call to answer
        first (priority, then the oldest)."""
        me = self.session.user
        live = [p for p in self.panes.values()
                if p.incident.state == ACCEPTED and p.incident.owner == me]
        if live:
            return live[0]
        waiting = sorted((p for p in self.panes.values() if p.incident.state == NEW),
                         key=lambda p: (p.incident.priority, p.incident.id))
        return waiting[0] if waiting else None

    def calls_screen(self) -> QScreen | None:
        """Where this operator handles calls: the screen the call list is on (docked in the
        main window, or floated off to a monitor of its own). A wall popped out onto another
        monitor is never covered by a call that arrives (issue 26)."""
        home = self.queue_pane.window()
        if home is not None and home.isVisible():
            return home.screen()
        return QGuiApplication.primaryScreen()

    def _place(self, pane: IncidentPane) -> None:
        """On the call list's screen, fitting it, each further pane stepped down and right so
        none hides another."""
        screen = self.calls_screen()
        if screen is None:
            return
        pane.setScreen(screen)
        area = screen.availableGeometry()
        room_w, room_h = area.width() - FRAME_PX, area.height() - FRAME_PX  # with its frame
        pane.resize(min(pane.width(), room_w), min(pane.height(), room_h))
        step = 36 * (len([p for p in self.panes.values() if p.isVisible()]) % 6)
        # Stepped only as far as the screen has room: a pane is never pushed off its edge.
        pane.move(area.x() + min(step, max(0, room_w - pane.width())),
                  area.y() + min(step, max(0, room_h - pane.height())))

    def waiting_lines(self) -> list[str]:
        """Calls waiting to be answered, in plain words, for the lock screen."""
        out = []
        for inc in sorted(self.queue_pane.items.values(), key=lambda i: (i.priority, i.id)):
            if inc.state == NEW and inc.priority <= POP_UP_PRIORITY:
                waited = int(max(0.0, time.time() - _epoch(inc.raised_utc)))
                out.append(f"{KIND_WORDS.get(inc.kind, inc.kind)} at {self.place(inc)} "
                           f"({inc.device}), waiting {waited // 60:d}:{waited % 60:02d}")
        return out

    def place(self, inc: Incident) -> str:
        return self.places.get(inc.device_id) or inc.area

    def first_waiting(self, up_to: int | None = POP_UP_PRIORITY) -> Incident | None:
        """The call to answer first: the most urgent (down to priority ``up_to``; None: any),
        then the oldest."""
        return min((i for i in self.queue_pane.items.values()
                    if _rings(i) and (up_to is None or i.priority <= up_to)),
                   key=lambda i: (i.priority, i.id), default=None)

    def answer_next(self) -> None:
        """Accept the call to answer first (after unlocking in one step)."""
        inc = self.first_waiting()
        if inc is not None:
            self.accept(inc.id)

    def accept(self, iid: int) -> None:
        self.show_pane(iid)
        pane = self.panes.get(iid)
        if pane is not None:
            pane.accept()

    def hide_windows(self, hidden: bool) -> None:
        """While the session is locked, no call is on screen (the alert still sounds); once
        unlocked, calls that arrived meanwhile open their panes."""
        self.locked = hidden
        for pane in self.panes.values():
            pane.setVisible(not hidden)
        if not hidden:
            for inc in sorted(self.queue_pane.items.values(), key=lambda i: (i.priority, i.id)):
                if inc.state == NEW and inc.priority <= POP_UP_PRIORITY and \
                        inc.id not in self.panes:
                    self.show_pane(inc.id, inc, asked=False)

    def my_calls(self) -> list[Incident]:
        """Calls this operator holds right now (accepted, not on hold)."""
        return [i for i in self.queue_pane.items.values()
                if i.state == ACCEPTED and i.owner == self.session.user]

    def hold_mine(self, reason: str) -> None:
        """Before signing out: this operator's calls go on hold, so another can pick them up.

        Blocking (a few SQLite writes), while the session is still valid.
        """
        for inc in self.my_calls():
            try:
                self.service.queue.hold(self.session, inc.id, reason)
            except VmsError as exc:
                log.warning("call %s was not put on hold: %s", inc.id, exc)

    def shutdown(self, wait: float = 5.0) -> list[Leftover]:
        """``wait``: seconds for the linked cameras' connections to close (0 at sign-out);
        returns what is still closing."""
        self.closed = True
        self._warm_retry.stop()
        self.alert.stop()
        for handle in self.warm.values():
            self.hub.release(handle)
        self.warm.clear()
        for pane in self.panes.values():
            pane.shutdown()
            pane.hide()
            pane.deleteLater()
        self.panes.clear()
        self.relay.stop_all()
        closing = self.links.close(wait)
        if self.triage is not None:
            self.triage.close()
        self.service.shutdown()
        return [closing] if closing is not None else []
