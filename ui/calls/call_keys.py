"""What the call keys do (``ui.keys``): accept the next call, hold, close, blue light, mute and
talk, on the call the operator is on, from any window of the desktop.

"The call the operator is on" is the call window in front, else the one call this operator
has accepted. When the keys cannot tell, or the act does not apply (no call waiting, a camera
with no blue light), they say so in the status bar and do nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from ui.calls.desk import CallDesk
from ui.calls.incident_pane import IncidentPane
from vms.incidents.queue import ACCEPTED, NEW, ON_HOLD, Incident


class CallKeys:
    def __init__(self, desk: CallDesk) -> None:
        self.desk = desk

    def _say(self, text: str) -> None:
        self.desk.message.emit(text)

    def _in_front(self) -> IncidentPane | None:
        """The call window the operator is at, if it is one of this desk's."""
        active = QApplication.activeWindow()
        if isinstance(active, IncidentPane) and self.desk.panes.get(active.incident.id) is active:
            return active
        return None

    def current(self) -> IncidentPane | None:
        desk = self.desk
        front = self._in_front()
        if front is not None:
            return front
        mine = [p for p in desk.panes.values() if p.incident.state == ACCEPTED
                and p.incident.owner == desk.session.user]
        if len(mine) == 1:
            return mine[0]
        self._say("Two calls are open: bring the one you mean to the front first." if mine else
                  "You are not on a call: F2 accepts the next one.")
        return None

    def _on_call(self) -> IncidentPane | None:
        pane = self.current()
        if pane is None:
            return None
        inc, me = pane.incident, self.desk.session.user
        if inc.state == ACCEPTED and inc.owner != me:
            self._say(f"{inc.title} is {inc.owner}'s call, not yours.")
            return None
        if inc.state != ACCEPTED:
            self._say(f"{inc.title} is not accepted yet: F2 or its Accept button.")
            return None
        return pane

    # -- the keys ------------------------------------------------------------------------------
    def _to_accept(self) -> Incident | None:
        """The call in front if it can be taken (waiting, or this operator's on hold); else
        the most urgent call that rings; else this operator's call on hold; else anything
        waiting quietly (a motion alarm below the ringing priority)."""
        desk, me = self.desk, self.desk.session.user

        def takeable(i: Incident) -> bool:
            return i.state == NEW or (i.state == ON_HOLD and (i.owner == me or bool(i.lost_from)))
        front = self._in_front()
        if front is not None:
            inc = desk.queue_pane.items.get(front.incident.id, front.incident)
            if takeable(inc):
                return inc
        held = min((i for i in desk.queue_pane.items.values()
                    if i.state == ON_HOLD and i.owner == me),
                   key=lambda i: (i.priority, i.id), default=None)
        return desk.first_waiting() or held or desk.first_waiting(up_to=None)

    def accept_next(self) -> None:
        if not self.desk.handles_calls:
            self._say("Your role does not take calls.")
            return
        inc = self._to_accept()
        if inc is None:
            self._say("No call is waiting.")
            return
        self.desk.accept(inc.id)

    def hold(self) -> None:
        pane = self._on_call()
        if pane is not None:
            pane.hold()

    def close(self) -> None:
        pane = self._on_call()
        if pane is None:
            return
        pane.activateWindow()  # the outcome list, if none is chosen yet, opens in it
        pane.raise_()
        pane.close_call()

    def blue_light(self) -> None:
        pane = self._on_call()
        if pane is None:
            return
        if pane.light.isHidden():
            self._say(f"{pane.incident.device} has no blue light.")
            return
        pane.light.set("off" if pane.light.on else "on")

    def mute(self) -> None:
        pane = self._on_call()
        if pane is not None:
            pane.listen.mute.toggle()
            self._say("Caller muted." if pane.listen.mute.isChecked() else "Caller unmuted.")

    def talk(self) -> None:
        pane = self._on_call()
        if pane is None:
            return
        if not pane.talk_box.toggle.isEnabled():
            self._say("The talk channel is not open yet.")
            return
        pane.talk_box.toggle.toggle()
