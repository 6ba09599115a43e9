"""A device's name and place: what operators call it, the area it belongs to in the camera
tree and where it is within that area. Saved in the registry (audited), so the tree, the
wall's captions and new calls all say it; a refusal is said here with what was typed kept."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from ui import tasks
from vms.store.devices import DeviceRow

Save = Callable[[str, str, str], object]  # (name, area, location) -> the saved device


class DevicePlaceDialog(QDialog):
    def __init__(self, device: DeviceRow, areas: list[str], save: Save,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Name and place of {device.name} — Beacon VMS")
        self.setMinimumWidth(460)
        self.save = save
        self.saved: DeviceRow | None = None  # the device as saved
        self.name = QLineEdit(device.name)  # over-long text is refused in words, not cut
        self.area = QComboBox()
        self.area.setEditable(True)  # an existing area, or a new one typed in
        self.area.addItems(sorted(set(areas) | {device.area}))
        self.area.setCurrentText(device.area)
        self.location = QLineEdit(device.location or "")
        self.location.setPlaceholderText("e.g. Market Square, north side")
        what = " ".join(x for x in (device.manufacturer, device.model) if x) or "device"
        intro = QLabel(f"{device.name} is the {what} at {device.host}. Its name is what "
                       "operators see on the wall, in the camera tree and on new calls; the "
                       "area and place arrange the tree.")
        intro.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow("Name", self.name)
        form.addRow("Area", self.area)
        form.addRow("Place in the area", self.location)
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.name.selectAll()
        self.name.setFocus()

    def _submit(self) -> None:
        name, area, place = self.name.text(), self.area.currentText(), self.location.text()
        self.ok.setEnabled(False)
        self.error.setText("")
        tasks.run(lambda: self.save(name, area, place), self._saved, self._failed, owner=self)

    def _saved(self, row: object) -> None:
        self.saved = row if isinstance(row, DeviceRow) else None
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.ok.setEnabled(True)
        text = str(exc)
        self.error.setText(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
        self.adjustSize()
