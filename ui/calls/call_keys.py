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
from vms.incidents.queue import ACCEPTED, ON_HOLD


class CallKeys:
    def __init__(self, desk: CallDesk) -> None:
        self.desk = desk

    def _say(self, text: str) -> None:
        self.desk.message.emit(text)

    def current(self) -> IncidentPane | None:
        desk = self.desk
        active = QApplication.activeWindow()
        if isinstance(active, IncidentPane) and desk.panes.get(active.incident.id) is active:
            return active
        mine = [p for p in desk.panes.values() if p.incident.state == ACCEPTED
                and p.incident.owner == desk.session.user]
        if len(mine) == 1:
            return mine[0]
        self._say("Two calls are open: bring the one you mean to the front first." if mine else
                  "You are not on a call: F2 accepts the next one.")
        return None

    def _on_call(self) -> IncidentPane | None:
        pane = self.current()
        if pane is not None and pane.incident.state != ACCEPTED:
            self._say(f"{pane.incident.title} is not accepted yet: F2 or its Accept button.")
            return None
        return pane

    # -- the keys ------------------------------------------------------------------------------
    def accept_next(self) -> None:
        desk = self.desk
        if not desk.handles_calls:
            self._say("Your role does not take calls.")
            return
        inc = desk.first_waiting(up_to=None)
        if inc is None:  # nothing new: back to this operator's own call on hold, if one
            held = sorted((i for i in desk.queue_pane.items.values()
                           if i.state == ON_HOLD and i.owner == desk.session.user),
                          key=lambda i: (i.priority, i.id))
            inc = held[0] if held else None
        if inc is None:
            self._say("No call is waiting.")
            return
        desk.accept(inc.id)

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
