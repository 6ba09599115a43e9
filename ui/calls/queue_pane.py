"""The alarm and call queue: what is waiting, by priority, and who has what.

Calls still waiting are shown first and in red, with how long they have waited.
Double-click (or Open) brings a call's pane to the front; Accept takes it from here.
"""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vms.events.engine import OK, Health
from vms.incidents.queue import KIND_WORDS, NEW, Incident

COLUMNS = ("P", "What", "Where", "State", "Operator", "Waiting")


def _since(utc: str) -> float:
    return time.time() - datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()


class QueuePane(QWidget):
    open_requested = Signal(int)
    accept_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callQueue")
        self.setMinimumWidth(320)  # its table scrolls; the wall needs the width more
        self.items: dict[int, Incident] = {}
        self.health: dict[int, Health] = {}
        self.title = QLabel("")
        self.title.setStyleSheet("font-weight: bold;")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda r, _c: self._emit(self.open_requested, r))
        self.empty = QLabel("No calls or alarms waiting.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.accept_button = QPushButton("Accept")
        self.open_button = QPushButton("Open")
        self.accept_button.clicked.connect(
            lambda: self._emit(self.accept_requested, self.table.currentRow()))
        self.open_button.clicked.connect(
            lambda: self._emit(self.open_requested, self.table.currentRow()))
        self.health_label = QLabel("")
        self.health_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.empty)
        lay.addLayout(buttons)
        lay.addWidget(self.health_label)
        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self._render)
        self.clock.start()
        self._render()

    def _emit(self, signal: SignalInstance, row: int) -> None:
        ids = self._order()
        if 0 <= row < len(ids):
            signal.emit(ids[row])

    def _order(self) -> list[int]:
        return [i.id for i in sorted(self.items.values(),
                                     key=lambda i: (i.state != NEW, i.priority, i.id))]

    def set_incidents(self, incidents: list[Incident]) -> None:
        self.items = {i.id: i for i in incidents}
        self._render()

    def update_incident(self, inc: Incident) -> None:
        if inc.state == "closed":
            self.items.pop(inc.id, None)
        else:
            self.items[inc.id] = inc
        self._render()

    def update_health(self, h: Health) -> None:
        self.health[h.device_id] = h
        bad = [x for x in self.health.values() if x.state != OK]
        self.health_label.setText("" if not bad else "⚠ Events not arriving from: " + "; ".join(
            f"{x.device} ({x.state})" for x in bad[:4]) + (" …" if len(bad) > 4 else ""))
        self.health_label.setStyleSheet("color: #c0392b;" if bad else "")

    def _render(self) -> None:
        selected = self.table.currentRow()
        ids = self._order()
        self.table.setRowCount(len(ids))
        for r, iid in enumerate(ids):
            inc = self.items[iid]
            waiting = _since(inc.raised_utc) if inc.state == NEW else None
            cells = (str(inc.priority), KIND_WORDS.get(inc.kind, inc.kind),
                     f"{inc.device} ({inc.area})", inc.state_words, inc.owner_words,
                     f"{int(waiting // 60):02d}:{int(waiting % 60):02d}" if waiting is not None
                     else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if inc.state == NEW:
                    item.setForeground(QBrush(QColor("#c0392b")))
                self.table.setItem(r, c, item)
        self.table.setVisible(bool(ids))
        self.empty.setVisible(not ids)
        self.accept_button.setEnabled(bool(ids))
        self.open_button.setEnabled(bool(ids))
        if ids and selected < 0:
            self.table.selectRow(0)
        waiting_n = sum(1 for i in self.items.values() if i.state == NEW)
        self.title.setText(f"{waiting_n} waiting to be answered" if waiting_n else
                           "Nothing waiting")
