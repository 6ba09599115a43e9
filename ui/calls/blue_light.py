"""A Help Point's blue light in the incident pane: on, off or flashing, as the device reports.

Switched through the relay service on a worker thread and written to the call's log; what
the label says follows the Help Point's own relay events, and, until one arrives, what was
last sent. Closing a call with the light on asks first (``ask_off``): people at the Help
Point would think help is still coming.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from ui import tasks
from vms.devices.relay import RelayControl

MODES = (("on", "On"), ("off", "Off"), ("pulse", "Flash"))


class BlueLight(QGroupBox):
    message = Signal(str)
    logged = Signal()  # a change was written to the call's log

    def __init__(self, relay: RelayControl, log: Callable[[str, dict[str, Any]], None],
                 device_id: int, incident_id: int, device: str,
                 parent: QWidget | None = None) -> None:
        """``log(action, detail)`` writes to the call's log (blocking: a worker thread's)."""
        super().__init__("Blue light", parent)
        self.relay, self.log = relay, log
        self.device_id, self.incident_id, self.device = device_id, incident_id, device
        self.on: bool | None = None  # as the Help Point last reported it
        row = QHBoxLayout(self)
        self.buttons: dict[str, QPushButton] = {}
        for mode, text in MODES:
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, m=mode: self.set(m))
            self.buttons[mode] = b
            row.addWidget(b)
        self.state = QLabel("not reported yet")
        self.state.setWordWrap(True)
        self.state.setObjectName("blueLightState")
        row.addWidget(self.state, 1)

    def set_enabled(self, active: bool) -> None:
        for b in self.buttons.values():
            b.setEnabled(active)

    def show_reported(self, active: bool) -> None:
        self.on = active
        self.state.setText("ON, as the Help Point reports" if active else
                           "off, as the Help Point reports")

    def set(self, mode: str) -> None:
        dev, iid = self.device_id, self.incident_id

        def send() -> str:
            how = self.relay.set(dev, mode, incident=iid).result(10)
            self.log("blue light", {"mode": mode, "via": how})
            return how

        def sent(_how: str) -> None:
            self.show_reported(mode != "off")  # until the Help Point reports its relay itself
            self.logged.emit()
        tasks.run(send, sent, lambda e: self.message.emit(f"The blue light did not change: {e}"),
                  owner=self)

    def switch_off(self) -> None:
        """Blocking (a worker thread's): as the call closes."""
        how = self.relay.set(self.device_id, "off", incident=self.incident_id).result(10)
        self.log("blue light", {"mode": "off", "via": how})

    def ask_off(self) -> bool | None:
        """Switch it off (the default), leave it on, or go back to the call (None)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Blue light still on — Beacon VMS",
                          f"The blue light at {self.device} is on. People at the Help "
                          "Point may think help is still coming.", parent=self.window())
        off = box.addButton("Switch it off and close", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Leave it on and close", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Back to the call", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(off)
        box.exec()
        if box.clickedButton() is off:
            return True
        return False if box.clickedButton() is keep else None
