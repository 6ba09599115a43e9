"""Table model of the site's devices, fed by the core's status dictionaries."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from vms.redact import scrub_url

KINDS = {"camera": "Camera", "help_point": "Help Point", "pid": "Perimeter (PID)"}
COLUMNS = ["Device", "Type", "Location", "State", "Viewers", "ONVIF address", "Main stream"]
ALERT = QColor("#ff6b5a")
OK = QColor("#6fd08c")
MUTED = QColor("#8a97a8")


def state_text(d: dict[str, Any]) -> tuple[str, QColor]:
    if not d.get("online", True):
        return "Offline", MUTED
    if d.get("button_pressed"):
        return "Assistance requested", ALERT
    if d.get("objects_inside"):
        return "Intrusion", ALERT
    parts = ["Online"]
    if d.get("blue_light"):
        parts.append("blue light on")
    if d.get("clock_offset"):
        parts.append(f"clock {d['clock_offset']:+.0f} s")
    return ", ".join(parts), OK


class DevicesModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def set_devices(self, devices: list[dict[str, Any]]) -> None:
        if [d["name"] for d in devices] == [d["name"] for d in self.rows]:
            self.rows = devices
            if devices:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(devices) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = devices
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        d = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return [d["name"], KINDS.get(d["kind"], d["kind"]), d.get("location", ""),
                    state_text(d)[0], str(d.get("viewers", 0)), scrub_url(d.get("onvif", "")),
                    scrub_url(d.get("streams", {}).get("main", ""))][col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 3:
            return QBrush(state_text(d)[1])
        if role == Qt.ItemDataRole.ToolTipRole and col == 6:
            return "RTSP main stream; the sub stream is at /sub"
        return None
