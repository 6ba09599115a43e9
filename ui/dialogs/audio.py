"""Administration → Microphone: which input operators talk through on this workstation.

The choice is the ``microphone`` setting (``change_setting`` checks the role and audits
it); a call pane reads it when the operator signs in. Inputs are listed by QtMultimedia,
and a setting naming one that is unplugged stays visible, marked, rather than vanishing.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.calls.microphone import inputs
from vms.access.access import Access
from vms.access.admin import change_setting
from vms.access.session import Session

DEFAULT = "System default input"


class MicrophoneDialog(QDialog):
    def __init__(self, access: Access, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.access = access
        self.session = session
        self.setWindowTitle("Microphone — Beacon VMS")
        self.resize(520, 200)
        self.current = access.accounts.settings().value("microphone")
        self.choice = QComboBox()
        self.choice.setObjectName("microphoneChoice")
        self.choice.addItem(DEFAULT, "")
        found = inputs()
        for name in found:
            self.choice.addItem(name, name)
        if self.current and self.current not in found:
            label = (f"Training recording: {self.current[5:]}" if self.current.startswith("file:")
                     else f"{self.current} (not connected)")
            self.choice.addItem(label, self.current)
        self.choice.setCurrentIndex(max(0, self.choice.findData(self.current)))
        intro = QLabel("Operators talk to callers through this input. It applies to calls "
                       "answered after the next sign-in.")
        intro.setWordWrap(True)
        self.status = QLabel("" if found else "No microphone is connected to this workstation "
                                              "now; the system default is used when one is.")
        self.status.setObjectName("microphoneStatus")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Microphone", self.choice)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addWidget(buttons)

    def save(self) -> None:
        value = str(self.choice.currentData() or "")
        tasks.run(lambda: change_setting(self.access, self.session, "microphone", value),
                  lambda _r: self._saved(value),
                  lambda e: self.status.setText(f"Not saved: {e}"))

    def _saved(self, value: str) -> None:
        self.current = value
        self.status.setText(f"Saved: {self.choice.currentText()}.")
