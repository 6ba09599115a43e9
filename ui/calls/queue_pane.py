"""The alarm and call queue: what is waiting, by priority, and who has what.

Calls still waiting are shown first and in red; every call shows its age. Double-click (or
Open) brings a call's pane to the front; Accept takes it from here. The columns can be moved,
resized and hidden (right-click the header); the desk keeps them per user
(``columns_changed``, ``restore_columns``).
"""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import QByteArray, QPoint, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vms.events.engine import OK, Health
from vms.incidents.queue import KIND_WORDS, NEW, Incident

# Most needed first: a docked list is narrow, and the columns on the right scroll out of view.
COLUMNS = ("P", "Age", "Where", "What", "State", "Operator")
WIDTHS = (30, 58, 190, 120, 100, 120)
WHERE = COLUMNS.index("Where")  # always shown: a row must say where
SAVE_COLUMNS_MS = 1000  # a drag resizes many times; the columns are saved once it stops


def _age(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60:02d}:{s % 60:02d}"


def _since(utc: str) -> float:
    return time.time() - datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()


class QueuePane(QWidget):
    open_requested = Signal(int)
    accept_requested = Signal(int)
    columns_changed = Signal(str)  # the header's order, widths and hidden columns (base64)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callQueue")
        self.setMinimumWidth(320)  # its table scrolls; the wall needs the width more
        self.items: dict[int, Incident] = {}
        self.places: dict[int, str] = {}  # device id -> its place (location, else area)
        self.health: dict[int, Health] = {}
        self.title = QLabel("")
        self.title.setStyleSheet("font-weight: bold;")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for c, width in enumerate(WIDTHS):
            header.resizeSection(c, width)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        self._restoring = False
        self._save_columns = QTimer(self)
        self._save_columns.setSingleShot(True)
        self._save_columns.setInterval(SAVE_COLUMNS_MS)
        self._save_columns.timeout.connect(
            lambda: self.columns_changed.emit(self.columns_state()))
        header.sectionMoved.connect(self._columns_touched)
        header.sectionResized.connect(self._column_resized)
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
        self.muted_label = QLabel("The alert sound is muted at this desk (Account > Sound "
                                  "and display). Calls still flash.")
        self.muted_label.setObjectName("alertMuted")
        self.muted_label.setWordWrap(True)
        self.muted_label.setStyleSheet("color: #f0b429; font-weight: bold;")
        self.muted_label.hide()
        self.silent_label = QLabel("⚠ No sound output at this desk: a call's alert cannot be "
                                   "heard. Plug in speakers or a headset, or check the "
                                   "computer's sound settings. Calls still flash.")
        self.silent_label.setObjectName("noSoundOutput")
        self.silent_label.setWordWrap(True)
        self.silent_label.setStyleSheet("color: #ff6b6b; font-weight: bold;")
        self.silent_label.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.muted_label)
        lay.addWidget(self.silent_label)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.empty)
        lay.addLayout(buttons)
        lay.addWidget(self.health_label)
        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self._render)
        self.clock.start()
        self._render()

    # -- columns, per user ---------------------------------------------------------
    def columns_state(self) -> str:
        return bytes(self.table.horizontalHeader().saveState().toBase64().data()).decode()

    def restore_columns(self, state: str) -> bool:
        """A user's saved columns; False (and the defaults kept) if they cannot be read."""
        if not state:
            return False
        self._restoring = True
        try:
            header = self.table.horizontalHeader()
            ok = header.restoreState(QByteArray.fromBase64(state.encode()))
            header.setSectionHidden(WHERE, False)
            return bool(ok)
        finally:
            self._restoring = False

    def _columns_touched(self, *_args: object) -> None:
        if not self._restoring:
            self._save_columns.start()

    def _column_resized(self, logical: int, _old: int, _new: int) -> None:
        """The last column stretches with the list: its width follows the window, and is not
        the user's to keep (saving it would write at every resize of the dock)."""
        header = self.table.horizontalHeader()
        last = max((header.visualIndex(c) for c in range(header.count())
                    if not header.isSectionHidden(c)), default=-1)
        if header.visualIndex(logical) != last:
            self._columns_touched()

    def _column_menu(self, pos: QPoint) -> None:
        header = self.table.horizontalHeader()
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for c, name in enumerate(COLUMNS):
            act = menu.addAction(name)
            act.setCheckable(True)
            act.setChecked(not header.isSectionHidden(c))
            act.setEnabled(c != WHERE)
            act.toggled.connect(lambda on, c=c: self._show_column(c, on))
        menu.popup(header.mapToGlobal(pos))

    def _show_column(self, c: int, on: bool) -> None:
        self.table.horizontalHeader().setSectionHidden(c, not on)
        self._columns_touched()

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

    def show_muted(self, muted: bool) -> None:
        """A muted alert is said where calls are listed, so it is not forgotten at handover."""
        self.muted_label.setVisible(muted)

    def show_audible(self, audible: bool) -> None:
        """A desk that cannot make a sound must say so before the first call rings unheard."""
        self.silent_label.setVisible(not audible)

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
            where = f"{self.places.get(inc.device_id) or inc.area} · {inc.device}"
            what = KIND_WORDS.get(inc.kind, inc.kind)
            age = _age(_since(inc.raised_utc))
            cells = (str(inc.priority), age, where, what, inc.state_words, inc.owner_words)
            # the whole row in words, for a list too narrow to show every column
            tip = (f"Priority {inc.priority}: {what} at {where}, {age} old. {inc.state_words}"
                   + (f", {inc.owner_words}" if inc.owner_words else "") + ".")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if inc.state == NEW:
                    item.setForeground(QBrush(QColor("#e74c3c")))
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
