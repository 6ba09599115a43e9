"""The call's log in the incident pane: every action on the call, as the queue recorded it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QListWidget, QVBoxLayout, QWidget

from ui import tasks
from ui.calls.clock import local_time
from vms.incidents.queue import IncidentQueue
from vms.incidents.words import describe


class CallLog(QGroupBox):
    message = Signal(str)

    def __init__(self, queue: IncidentQueue, incident_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__("Call log", parent)
        self.queue, self.incident_id = queue, incident_id
        self.entries = QListWidget()
        self.entries.setObjectName("callLog")
        self.entries.setWordWrap(True)
        QVBoxLayout(self).addWidget(self.entries)

    def refresh(self) -> None:
        """Read the log again, off the GUI thread."""
        queue, iid = self.queue, self.incident_id
        tasks.run(lambda: queue.actions(iid), self._show,
                  lambda e: self.message.emit(f"The call's log cannot be read: {e}"), owner=self)

    def _show(self, actions: list[dict[str, Any]]) -> None:
        self.entries.clear()
        for a in actions:
            who = "Device" if a["user"] == "system" else a["user"]
            self.entries.addItem(f"{local_time(a['utc'])[:8]}  {who} "
                                 f"{describe(a['action'], a['detail'], local_time)}")
        self.entries.scrollToBottom()
