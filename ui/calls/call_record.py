"""The record of a call, at the foot of the incident pane: notes, the police, the outcome.

Always on screen (the video and controls above it scroll on a small screen). Notes and the
police are written through the queue on a worker thread; closing is the pane's, which asks
about the blue light first, so the box only says when Close was pressed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from ui import tasks
from ui.calls.clock import local_time
from vms.incidents.queue import OUTCOMES, Incident

POLICE_ROW = 1


class CallRecord(QGroupBox):
    message = Signal(str)
    close_requested = Signal()

    def __init__(self, note: Callable[[str], object], escalate: Callable[[str, str], object],
                 parent: QWidget | None = None) -> None:
        """``note(text)`` and ``escalate(reference, units)`` write to the queue (blocking:
        a worker thread's)."""
        super().__init__("Record", parent)
        self._note, self._escalate = note, escalate
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
        self.close_button.clicked.connect(self.close_requested)
        self.form = form = QFormLayout(self)
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
        orow = QHBoxLayout()
        orow.addWidget(self.outcome, 1)
        orow.addWidget(self.close_button)
        form.addRow("Outcome", orow)

    def hide_police(self) -> None:
        """An intrusion goes to the police through triage, not this row."""
        self.form.setRowVisible(POLICE_ROW, False)

    def set_enabled(self, active: bool) -> None:
        for w in (self.add_note, self.police_button, self.close_button):
            w.setEnabled(active)

    def show_incident(self, inc: Incident) -> None:
        if inc.police_informed_utc:
            self.police_state.setText(f"Police informed {local_time(inc.police_informed_utc)}, "
                                      f"reference {inc.police_ref or '—'}, units "
                                      f"{inc.units or '—'}")

    def take_note(self) -> str:
        """The note being written, taken out of the box (it goes with the close)."""
        text = self.notes.toPlainText()
        self.notes.clear()
        return text

    def chosen_outcome(self) -> str:
        """The outcome, or "" after pointing the operator at the list."""
        outcome: str = self.outcome.currentData()
        if not outcome:
            self.message.emit("Choose an outcome before closing the call (arrows and Enter; "
                              "then F4 or Close call)")
            self.outcome.setFocus()
            self.outcome.showPopup()
        return outcome

    def save_note(self) -> None:
        text = self.take_note()
        tasks.run(lambda: self._note(text), lambda _r: None,
                  lambda e: self.message.emit(f"Could not save the note: {e}"))

    def police_informed(self) -> None:
        ref, units = self.police_ref.text(), self.units.text()
        tasks.run(lambda: self._escalate(ref, units), lambda _r: None,
                  lambda e: self.message.emit(f"Could not record it: {e}"))
