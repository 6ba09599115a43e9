"""The sheet of keys (F1): every key of the console, from the one table that binds them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import keys


class KeySheet(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keys — Beacon VMS")
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Key", "What it does"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)  # the whole sheet without scrolling
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        section = ""
        for k in keys.SHEET:
            if k.section != section:
                section = k.section
                self._row(section, "", heading=True)
            self._row(k.keys, k.does)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        note = QLabel("Call keys work from any Beacon window; wall keys where the wall is (the "
                      "main window, or fullscreen). "
                      "A call that arrives never takes the keyboard from what you are doing.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.resize(780, 700)  # fits a 1366×768 screen

    def _row(self, key: str, does: str, heading: bool = False) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        left = QTableWidgetItem(key)
        if heading:
            font = left.font()
            font.setBold(True)
            left.setFont(font)
            self.table.setSpan(r, 0, 1, 2)
        self.table.setItem(r, 0, left)
        if not heading:
            self.table.setItem(r, 1, QTableWidgetItem(does))

    def rows(self) -> list[tuple[str, str]]:
        """What the sheet shows, key and meaning, headings left out (for tests)."""
        out = []
        for r in range(self.table.rowCount()):
            key, does = self.table.item(r, 0), self.table.item(r, 1)
            if key is not None and does is not None:
                out.append((key.text(), does.text()))
        return out
