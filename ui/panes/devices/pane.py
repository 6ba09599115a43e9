"""The devices pane: what the simulated (later: registered) site holds, and its state."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ui.panes.devices.model import DevicesModel


class DevicesPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Devices")
        self.title.setObjectName("paneTitle")
        self.hint = QLabel("Waiting for the site...")
        self.hint.setObjectName("paneHint")
        for label in (self.title, self.hint):  # a long site name wraps, never widens the window
            label.setWordWrap(True)
        self.model = DevicesModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(self.table)

    def show_status(self, status: dict[str, Any]) -> None:
        devices = status.get("devices", [])
        self.model.set_devices(devices)
        online = sum(1 for d in devices if d.get("online"))
        alerts = sum(1 for d in devices if d.get("button_pressed") or d.get("objects_inside"))
        self.title.setText(f"{status.get('site', 'Site')} — {len(devices)} devices")
        text = f"{online} online, {len(devices) - online} offline"
        if alerts:
            text += f" · {alerts} alarm{'s' if alerts != 1 else ''} active"
        text += f" · device login '{status.get('user', '')}'"
        self.hint.setText(text)
