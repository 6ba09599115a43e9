"""The devices pane: the devices registered on this profile and whether their events arrive
(the site service's health); on the simulated site, also what the simulator says of each."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ui.panes.devices.model import DevicesModel, merge
from vms.events.engine import Health
from vms.store.devices import DeviceRow


class DevicesPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Devices")
        self.title.setObjectName("paneTitle")
        self.hint = QLabel("Reading the devices…")
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
        self.registered: list[DeviceRow] | None = None  # None: not read yet
        self.health: dict[int, Health] = {}
        self.simulated: dict[str, Any] | None = None  # the simulator's last status, on the sim
        self._ages = QTimer(self)  # "last event 12 s ago" stays true
        self._ages.setInterval(5000)
        self._ages.timeout.connect(self._render)
        self._ages.start()

    def set_registered(self, rows: list[DeviceRow]) -> None:
        self.registered = rows
        self._render()

    def update_health(self, h: Health) -> None:
        self.health[h.device_id] = h
        self._render()

    def show_status(self, status: dict[str, Any]) -> None:
        """The simulated site's status (only ever sent on the simulated site)."""
        self.simulated = status
        self._render()

    def _render(self) -> None:
        sim = self.simulated
        if self.registered is None and sim is None:
            return
        rows = merge(self.registered or [], self.health,
                     sim.get("devices", []) if sim is not None else None)
        self.model.set_rows(rows)
        added = sum(1 for r in rows if r.added)
        title = f"Devices — {added} added"
        if sim is not None:
            title += f" · simulated site '{sim.get('site', '')}': {len(sim.get('devices', []))} devices"
        self.title.setText(title)
        if not rows:
            self.hint.setText("No devices yet: Find cameras… adds them.")
            return
        online = sum(1 for r in rows if r.online)
        alarms = sum(1 for r in rows if r.alarm)
        text = f"{online} of {len(rows)} online"
        if alarms:
            text += f" · {alarms} alarm{'s' if alarms != 1 else ''} active"
        if sim is not None:
            if len(rows) > added:
                text += f" · {len(rows) - added} not added yet"
            text += f" · simulated devices' login '{sim.get('user', '')}'"
        self.hint.setText(text)
