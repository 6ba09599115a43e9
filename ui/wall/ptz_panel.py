"""PTZ panel: press and hold to move, zoom, and the camera's presets.

Each press sends one ContinuousMove (with a 5 s safety timeout on the camera) and
each release a Stop, so a camera moves exactly while the button is held.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from vms.access.roles import Permission
from vms.devices.ptz import PtzControl, PtzPreset
from vms.errors import VmsError
from vms.store.devices import DeviceRow

SPEED = 0.5
MOVES = {  # button text -> (pan, tilt, zoom), laid out as a keypad
    "↖": (-SPEED, SPEED, 0.0), "▲": (0.0, SPEED, 0.0), "↗": (SPEED, SPEED, 0.0),
    "◀": (-SPEED, 0.0, 0.0), "▶": (SPEED, 0.0, 0.0),
    "↙": (-SPEED, -SPEED, 0.0), "▼": (0.0, -SPEED, 0.0), "↘": (SPEED, -SPEED, 0.0),
    "Zoom +": (0.0, 0.0, SPEED), "Zoom −": (0.0, 0.0, -SPEED),
}
_PAD = {"↖": (0, 0), "▲": (0, 1), "↗": (0, 2), "◀": (1, 0), "▶": (1, 2),
        "↙": (2, 0), "▼": (2, 1), "↘": (2, 2)}


def _words(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, VmsError) else f"{type(exc).__name__}: {exc}"


class PtzPanel(QWidget):
    def __init__(self, ptz: PtzControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ptz = ptz
        self.device: DeviceRow | None = None
        self.allowed = ptz.profile.access.can(ptz.session, Permission.PTZ)
        self.title = QLabel("PTZ")
        self.title.setObjectName("paneTitle")
        self.note = QLabel()
        self.note.setObjectName("paneHint")
        self.note.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        pad = QGridLayout()
        for text, (r, c) in _PAD.items():
            pad.addWidget(self._hold_button(text), r, c)
        home = QLabel("●")
        home.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pad.addWidget(home, 1, 1)
        zoom = QHBoxLayout()
        zoom.addWidget(self._hold_button("Zoom −"))
        zoom.addWidget(self._hold_button("Zoom +"))
        self.presets = QListWidget()
        self.presets.itemDoubleClicked.connect(lambda _: self.go_to())
        self.go = QPushButton("Go to preset")
        self.go.clicked.connect(self.go_to)
        self.preset_name = QLineEdit()
        self.preset_name.setPlaceholderText("Name for this view")
        self.save = QPushButton("Save preset")
        self.save.clicked.connect(self.save_preset)
        save_row = QHBoxLayout()
        save_row.addWidget(self.preset_name, 1)
        save_row.addWidget(self.save)
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.note)
        lay.addLayout(pad)
        lay.addLayout(zoom)
        lay.addWidget(QLabel("Presets"))
        lay.addWidget(self.presets, 1)
        lay.addWidget(self.go)
        lay.addLayout(save_row)
        lay.addWidget(self.error)
        self.set_device(None)

    def _hold_button(self, text: str) -> QPushButton:
        b = QPushButton(text)
        b.setAutoRepeat(False)
        b.setMinimumSize(44, 34)
        b.pressed.connect(lambda: self.start_move(*MOVES[text]))
        b.released.connect(self.stop_move)
        self.buttons[text] = b
        return b

    # -- which camera ------------------------------------------------------------------
    def set_device(self, row: DeviceRow | None) -> None:
        self.device = row if row is not None and row.capabilities.ptz else None
        usable = self.device is not None and self.allowed
        for w in (*self.buttons.values(), self.presets, self.go, self.preset_name, self.save):
            w.setEnabled(usable)
        self.presets.clear()
        self.error.clear()
        if row is None:
            self.title.setText("PTZ")
            self.note.setText("Select a tile showing a PTZ camera to steer it.")
        elif self.device is None:
            self.title.setText("PTZ")
            self.note.setText(f"{row.name} is a fixed camera (no PTZ).")
        elif not self.allowed:
            self.title.setText(f"PTZ — {row.name}")
            self.note.setText("Your role cannot move cameras.")
        else:
            self.title.setText(f"PTZ — {row.name}")
            self.note.setText("Hold a button (or an arrow key on the wall) to move; release "
                              "to stop.")
            self.refresh_presets()
        # Shown only for a camera this user can steer: otherwise the wall takes its space.
        self.setVisible(usable)

    def retitle(self, row: DeviceRow | None) -> None:
        """The selected camera was renamed: say its new name, leaving presets and any
        move in hand alone."""
        if row is None or self.device is None or row.id != self.device.id:
            return
        self.device = row
        self.title.setText(f"PTZ — {row.name}")

    # -- moves ---------------------------------------------------------------------------
    def start_move(self, pan: float, tilt: float, zoom: float = 0.0) -> None:
        if self.device is None or not self.allowed:
            return
        try:
            tasks.watch(self.ptz.move(self.device.id, pan, tilt, zoom), lambda _: None,
                        self._failed)
        except VmsError as exc:
            self._failed(exc)

    def stop_move(self) -> None:
        if self.device is None or not self.allowed:
            return
        try:
            tasks.watch(self.ptz.stop(self.device.id), lambda _: None, self._failed)
        except VmsError as exc:
            self._failed(exc)

    # -- presets ---------------------------------------------------------------------------
    def refresh_presets(self) -> None:
        if self.device is None:
            return
        device_id = self.device.id
        try:
            tasks.watch(self.ptz.presets(device_id),
                        lambda p: self._show_presets(device_id, p), self._failed)
        except VmsError as exc:
            self._failed(exc)

    def _show_presets(self, device_id: int, presets: list[PtzPreset]) -> None:
        if self.device is None or self.device.id != device_id:
            return
        self.presets.clear()
        for p in presets:
            item = QListWidgetItem(p.name)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.presets.addItem(item)

    def go_to(self) -> None:
        item = self.presets.currentItem()
        if self.device is None or item is None:
            return
        preset: PtzPreset = item.data(Qt.ItemDataRole.UserRole)
        try:
            tasks.watch(self.ptz.go_to(self.device.id, preset), lambda _: None, self._failed)
        except VmsError as exc:
            self._failed(exc)

    def go_to_number(self, n: int) -> str:
        """Preset ``n`` (1-based, as listed) of the selected camera; returns what happened, in
        words, for the status bar."""
        if self.device is None:
            return "The selected tile's camera does not pan or tilt."
        if not self.allowed:
            return "Your role cannot move cameras."
        if not 1 <= n <= self.presets.count():
            return (f"{self.device.name} has no preset {n} "
                    f"({self.presets.count()} listed).")
        self.presets.setCurrentRow(n - 1)
        self.go_to()
        return f"{self.device.name}: going to preset {n}, {self.presets.item(n - 1).text()}."

    def save_preset(self) -> None:
        if self.device is None:
            return
        try:
            fut = self.ptz.save_preset(self.device.id, self.preset_name.text())
        except VmsError as exc:
            self._failed(exc)
            return
        self.preset_name.clear()
        tasks.watch(fut, lambda _: self.refresh_presets(), self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.error.setText(_words(exc))
