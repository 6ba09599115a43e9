"""The read-only, row-selecting table every list dialog uses (one look, one behaviour)."""

from __future__ import annotations

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

Mode = QAbstractItemView.SelectionMode


def row_table(columns: list[str], mode: Mode = Mode.ExtendedSelection
              ) -> tuple[QStandardItemModel, QTableView]:
    model = QStandardItemModel(0, len(columns))
    model.setHorizontalHeaderLabels(columns)
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(mode)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    h = table.horizontalHeader()
    h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    h.setStretchLastSection(True)
    return model, table
