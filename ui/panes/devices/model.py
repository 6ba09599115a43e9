"""Table model of the devices: those registered on this profile, with the site service's event
health, and on the simulated site also what the simulator says of each (and which of its
devices nobody has added yet)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from vms.events.engine import AUTH_FAILED, CONNECTING, OK, RETRYING, STOPPED, Health
from vms.safety.redact import scrub_url
from vms.store.devices import DeviceRow

KINDS = {"camera": "Camera", "help_point": "Help Point", "pid": "Perimeter (PID)"}
# What an operator scans for comes first: the pane is narrow beside the wall.
COLUMNS = ["Device", "State", "Events", "Place", "Type", "ONVIF address"]
ALERT = QColor("#ff6b5a")
OK_COLOUR = QColor("#6fd08c")
MUTED = QColor("#8a97a8")
WARN = QColor("#f0b849")
ALARMS = ("Assistance requested", "Intrusion")


@dataclass
class Row:
    """One line of the pane, as a person reads it."""

    name: str
    kind: str
    place: str
    state: str
    colour: QColor
    events: str
    address: str
    added: bool
    online: bool
    alarm: bool


def sim_state(d: dict[str, Any]) -> tuple[str, QColor]:
    """What the simulator says of one of its devices."""
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
    return ", ".join(parts), OK_COLOUR


def health_state(h: Health | None) -> tuple[str, QColor]:
    """A registered device's state as far as its event subscription tells."""
    if h is None or h.state == CONNECTING:
        return "Connecting…", MUTED
    if h.state == OK:
        return "Online", OK_COLOUR
    if h.state == AUTH_FAILED:
        return "Wrong password", ALERT
    if h.state == STOPPED:
        return "Not watched", MUTED
    return "Not reachable", ALERT


def events_text(h: Health | None, now: float | None = None) -> str:
    if h is None:
        return "waiting for the site service"
    if h.state == OK:
        how = f" ({h.method})" if h.method else ""
        if h.last_event is None:
            return f"subscribed{how}, none yet"
        ago = max(0, int((time.time() if now is None else now) - h.last_event))
        return f"arriving{how}, last {_ago(ago)} ago"
    if h.state in (RETRYING, AUTH_FAILED):
        return f"not arriving: {h.detail}" if h.detail else "not arriving"
    if h.state == STOPPED:
        return "not watched"
    return "subscribing…"


def _ago(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _endpoint(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        return (parts.hostname or "", parts.port or 80) if parts.hostname else None
    except ValueError:
        return None


def merge(registered: list[DeviceRow], health: dict[int, Health],
          simulated: list[dict[str, Any]] | None) -> list[Row]:
    """Registered devices first-class; a simulated device matches one by its ONVIF address."""
    sims = {_endpoint(d.get("onvif", "")): d for d in simulated or []}
    rows: list[Row] = []
    for r in registered:
        h = health.get(r.id)
        s = sims.pop((r.host, r.port), None)
        state, colour = sim_state(s) if s is not None and h is not None and h.state == OK \
            else health_state(h)
        kind = KINDS.get(s["kind"], s["kind"]) if s else r.model or "ONVIF device"
        rows.append(Row(r.name, kind, r.location or r.area, state, colour, events_text(h),
                        scrub_url(r.address), True, h is not None and h.state == OK,
                        state in ALARMS))
    for d in sims.values():
        state, colour = sim_state(d)
        rows.append(Row(d["name"], KINDS.get(d["kind"], d["kind"]), d.get("location", ""),
                        state, colour, "not added (Find cameras… adds it)",
                        scrub_url(d.get("onvif", "")), False, bool(d.get("online", True)),
                        state in ALARMS))
    rows.sort(key=lambda x: x.name.casefold())
    return rows


class DevicesModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []

    def set_rows(self, rows: list[Row]) -> None:
        if [d.name for d in rows] == [d.name for d in self.rows]:
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
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
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return [d.name, d.state, d.events, d.place, d.kind, d.address][col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 1:
                return QBrush(d.colour)
            if not d.added or (col == 2 and not d.online):
                return QBrush(MUTED if not d.added else WARN)
        return None
