"""Registered cameras as a tree: site, then location, then device; live from the registry."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeView, QVBoxLayout, QWidget

from ui import tasks
from vms.registry import DeviceRow

POLL_MS = 1500


def _signature(rows: list[DeviceRow]) -> list[tuple[object, ...]]:
    return [(r.id, r.name, r.site, r.location, r.model, r.clock_offset_s) for r in rows]


class CamerasPane(QWidget):
    find_requested = Signal()

    def __init__(self, source: Callable[[], list[DeviceRow]], parent: QWidget | None = None) -> None:
        """``source``: the devices this user may see (``Commissioning.devices``); runs off the GUI thread."""
        super().__init__(parent)
        self.source = source
        self.title = QLabel("Cameras")
        self.title.setObjectName("paneTitle")
        self.find_button = QPushButton("Find cameras…")
        self.find_button.clicked.connect(self.find_requested)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.find_button)
        self.hint = QLabel("No cameras registered yet. Use Find cameras… to add some.")
        self.hint.setObjectName("paneHint")
        self.hint.setWordWrap(True)
        self.model = QStandardItemModel()
        self.model.setHorizontalHeaderLabels(["Camera", "Model"])
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(False)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree, 1)
        self._shown: list[tuple[object, ...]] | None = None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True
        tasks.run(self.source, self._loaded, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        self.hint.setText(f"The device registry could not be read: {exc}")

    def _loaded(self, rows: list[DeviceRow]) -> None:
        self._busy = False
        sig = _signature(rows)
        if sig == self._shown:
            return
        self._shown = sig
        self.model.removeRows(0, self.model.rowCount())
        sites: dict[str, QStandardItem] = {}
        places: dict[tuple[str, str], QStandardItem] = {}
        for r in rows:
            site = sites.get(r.site)
            if site is None:
                site = sites[r.site] = QStandardItem(r.site)
                self.model.appendRow([site, QStandardItem("")])
            loc = r.location or "No location"
            place = places.get((r.site, loc))
            if place is None:
                place = places[(r.site, loc)] = QStandardItem(loc)
                site.appendRow([place, QStandardItem("")])
            item = QStandardItem(r.name)
            item.setToolTip(f"{r.address}\n{', '.join(r.capabilities.summary()) or 'video'}")
            place.appendRow([item, QStandardItem(r.model or r.manufacturer or "")])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        n = len(rows)
        self.title.setText(f"Cameras ({n})" if n else "Cameras")
        self.hint.setVisible(n == 0)
