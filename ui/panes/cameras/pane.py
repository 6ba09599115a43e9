"""Registered cameras as a tree: area, then location, then device; live from the registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QMimeData, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.video.tile import DEVICE_MIME
from vms.store import DeviceRow

POLL_MS = 1500
DEVICE_ROLE = Qt.ItemDataRole.UserRole + 1


class _Model(QStandardItemModel):
    """Camera rows drag onto wall tiles as their device id."""

    def mimeTypes(self) -> list[str]:
        return [DEVICE_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [i.data(DEVICE_ROLE) for i in indexes if i.data(DEVICE_ROLE) is not None]
        if ids:
            mime.setData(DEVICE_MIME, str(ids[0]).encode())
        return mime


def _signature(rows: list[DeviceRow]) -> list[tuple[object, ...]]:
    return [(r.id, r.name, r.area, r.location, r.model, r.clock_offset_s) for r in rows]


class CamerasPane(QWidget):
    find_requested = Signal()
    devices_loaded = Signal(list)  # the rows, whenever they change
    camera_activated = Signal(int)  # double-clicked or Enter: show it on the wall
    login_requested = Signal(int)
    remove_requested = Signal(int)
    place_requested = Signal(int)  # right-click → Name and place… (installers)
    links_requested = Signal(int)  # right-click → Linked cameras… (installers)
    details_requested = Signal(int)  # right-click → Device details… (the commissioning view)

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
        self.model = _Model()
        self.model.setHorizontalHeaderLabels(["Camera", "Model"])
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setToolTip("Drag a camera onto a tile, or double-click it (Enter)")
        self.tree.activated.connect(self._activated)  # double-click, or Enter on the keyboard
        self.tree.setHeaderHidden(False)
        self.tree.setUniformRowHeights(True)
        self.can_link = False  # link cameras, change a login: set from the session's role
        self.can_remove = False  # likewise
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # names come
        # from the registry; a rename here would be saved nowhere
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
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
        self.devices_loaded.emit(rows)
        self.model.removeRows(0, self.model.rowCount())
        areas: dict[str, QStandardItem] = {}
        places: dict[tuple[str, str], QStandardItem] = {}
        for r in rows:
            area = areas.get(r.area)
            if area is None:
                area = areas[r.area] = QStandardItem(r.area)
                area.setDragEnabled(False)
                self.model.appendRow([area, QStandardItem("")])
            loc = r.location or "No location"
            place = places.get((r.area, loc))
            if place is None:
                place = places[(r.area, loc)] = QStandardItem(loc)
                place.setDragEnabled(False)
                area.appendRow([place, QStandardItem("")])
            item = QStandardItem(r.name)
            item.setData(r.id, DEVICE_ROLE)
            item.setDragEnabled(True)
            item.setToolTip(f"{r.address}\n{', '.join(r.capabilities.summary()) or 'video'}")
            place.appendRow([item, QStandardItem(r.model or r.manufacturer or "")])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        n = len(rows)
        self.title.setText(f"Cameras ({n})" if n else "Cameras")
        self.hint.setVisible(n == 0)

    def _menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos)
        device_id = self.model.index(index.row(), 0, index.parent()).data(DEVICE_ROLE) \
            if index.isValid() else None
        if device_id is None:
            return
        self.context_menu(int(device_id)).exec(self.tree.viewport().mapToGlobal(pos))

    def context_menu(self, device_id: int) -> QMenu:
        """The right-click menu of one device (built apart so journeys can walk it)."""
        menu = QMenu(self)
        show = menu.addAction("Show on the wall")
        show.triggered.connect(lambda: self.camera_activated.emit(device_id))
        links = menu.addAction("Linked cameras…")
        links.setEnabled(self.can_link)
        if not self.can_link:
            links.setToolTip("Linking cameras needs the installer role")
        links.triggered.connect(lambda: self.links_requested.emit(device_id))
        details = menu.addAction("Device details…")
        details.triggered.connect(lambda: self.details_requested.emit(device_id))
        menu.addSeparator()
        place = menu.addAction("Name and place…")
        place.setEnabled(self.can_link)  # the device's settings, as linking is
        place.triggered.connect(lambda: self.place_requested.emit(device_id))
        if not self.can_link:
            place.setToolTip("Renaming or moving a camera needs the installer role")
        login = menu.addAction("Change login…")
        login.setEnabled(self.can_link)  # the device's settings, as linking is
        login.triggered.connect(lambda: self.login_requested.emit(device_id))
        if not self.can_link:
            login.setToolTip("Changing a device's login needs the installer role")
        remove = menu.addAction("Remove…")
        remove.setEnabled(self.can_remove)
        remove.triggered.connect(lambda: self.remove_requested.emit(device_id))
        if not self.can_remove:
            remove.setToolTip("Removing devices needs the installer or administrator role")
        return menu

    def _activated(self, index: QModelIndex) -> None:
        device_id = self.model.index(index.row(), 0, index.parent()).data(DEVICE_ROLE)
        if device_id is not None:
            self.camera_activated.emit(int(device_id))
