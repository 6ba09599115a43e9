"""Installers link street cameras to a Help Point, each with the PTZ preset that looks at it.

The presets are read from the camera when it is chosen, so the installer picks one
that exists; ``CameraLinks`` checks it again and audits the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from ui.tables import row_table
from vms.devices.links import MAX_LINKS, CameraLinks
from vms.devices.ptz import PtzPreset
from vms.store.devices import DeviceRow, LinkRow

NO_PRESET = "No preset (fixed view)"


class LinksDialog(QDialog):
    def __init__(self, links: CameraLinks, device: DeviceRow, cameras: list[DeviceRow],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.links = links
        self.device = device
        self.cameras = [c for c in cameras if c.id != device.id and (c.stream("main") or
                                                                      c.stream("sub"))]
        self.rows: list[LinkRow] = []
        self.setWindowTitle(f"Cameras linked to {device.name} — Beacon VMS")
        sized(self, 640, 460)
        intro = QLabel(f"When {device.name} raises a call or an alarm, these cameras show in the "
                       f"incident pane, and those with a preset turn to it when the operator "
                       f"accepts. Up to {MAX_LINKS} cameras.")
        intro.setWordWrap(True)
        self.model, self.table = row_table(["Camera", "Preset"],
                                           QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setObjectName("linksTable")
        self.remove_button = QPushButton("Unlink")
        self.remove_button.clicked.connect(self.unlink)
        self.camera = QComboBox()
        self.camera.setObjectName("linkCamera")
        for c in self.cameras:
            self.camera.addItem(f"{c.name} — {c.location or c.area}", c.id)
        self.camera.currentIndexChanged.connect(self._camera_changed)
        self.preset = QComboBox()
        self.preset.setObjectName("linkPreset")
        self.link_button = QPushButton("Link")
        self.link_button.setObjectName("linkButton")
        self.link_button.clicked.connect(self.link)
        self.status = QLabel("")
        self.status.setObjectName("linksStatus")
        self.status.setWordWrap(True)
        add = QGroupBox("Link a camera")
        form = QFormLayout(add)
        form.addRow("Camera", self.camera)
        prow = QHBoxLayout()
        prow.addWidget(self.preset, 1)
        prow.addWidget(self.link_button)
        form.addRow("Preset", prow)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.table, 1)
        top.addWidget(self.remove_button)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(top, 1)
        lay.addWidget(add)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.refresh()
        self._camera_changed()

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None], what: str) -> None:
        tasks.run(fn, done, lambda e: self.status.setText(f"{what}: {e}"))

    def refresh(self) -> None:
        dev = self.device.id
        self._run(lambda: self.links.links(dev), self._show, "The links could not be read")

    def _show(self, rows: list[LinkRow]) -> None:
        self.rows = rows
        self.model.removeRows(0, self.model.rowCount())
        for r in rows:
            self.model.appendRow([QStandardItem(r.camera),
                                  QStandardItem(r.preset_name or "fixed view")])
        self.remove_button.setEnabled(bool(rows))

    def _camera_changed(self) -> None:
        self.preset.clear()
        self.preset.addItem(NO_PRESET, None)
        cam_id = self.camera.currentData()
        cam = next((c for c in self.cameras if c.id == cam_id), None)
        if cam is None or not cam.capabilities.ptz:
            if cam is not None:
                self.status.setText(f"{cam.name} cannot steer: it shows its fixed view.")
            return
        self.status.setText(f"Reading {cam.name}'s presets…")
        self.preset.setEnabled(False)
        self._run(lambda: self.links.presets(cam.id),
                  lambda p: self._presets(cam.id, p), f"{cam.name}'s presets could not be read")

    def _presets(self, cam_id: int, presets: list[PtzPreset]) -> None:
        if cam_id != self.camera.currentData():
            return  # the installer chose another camera meanwhile
        self.preset.setEnabled(True)
        for p in presets:
            self.preset.addItem(p.name, p.token)
        if presets:
            self.preset.setCurrentIndex(1)
            self.status.setText("")
        else:
            self.status.setText("The camera has no presets yet: point it with the wall's PTZ "
                                "panel and save one there.")

    def link(self) -> None:
        cam_id, token = self.camera.currentData(), self.preset.currentData()
        if cam_id is None:
            self.status.setText("There is no other camera to link.")
            return
        dev = self.device.id
        self._run(lambda: self.links.link(dev, cam_id, token), self._linked, "Not linked")

    def _linked(self, row: LinkRow) -> None:
        self.status.setText(f"Linked {row.camera}"
                            + (f" at preset '{row.preset_name}'." if row.preset_name else "."))
        self.refresh()

    def unlink(self) -> None:
        sel = self.table.selectionModel().selectedRows()
        if not sel or sel[0].row() >= len(self.rows):
            self.status.setText("Choose a linked camera to unlink.")
            return
        row = self.rows[sel[0].row()]
        dev = self.device.id
        self._run(lambda: self.links.unlink(dev, row.camera_id),
                  lambda _r: self._unlinked(row), "Not unlinked")

    def _unlinked(self, row: LinkRow) -> None:
        self.status.setText(f"Unlinked {row.camera}.")
        self.refresh()
