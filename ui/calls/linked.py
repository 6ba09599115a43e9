"""The incident pane's linked cameras: the street cameras around a Help Point, small and live,
each with a button that sends it to its preset. On accepting a call they all go at once.

The links and the preset moves run on workers through ``CameraLinks``; the tiles share
the wall's sub streams through the ``FeedHub``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.video.hub import FeedHandle, FeedHub
from ui.video.tile import Tile
from vms.devices.links import CallUp, CameraLinks
from vms.store.devices import LinkRow

COLUMNS = 4
TILE_HEIGHT = 126  # 224x126 at 16:9: a face is not readable, a scene and a crowd are


class LinkedCameras(QGroupBox):
    called_up = Signal(list)  # list[CallUp], after a call-up finished (on the GUI thread)
    message = Signal(str)

    def __init__(self, links: CameraLinks, hub: FeedHub, device_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__("Linked cameras", parent)
        self.setObjectName("linkedCameras")
        self.links = links
        self.hub = hub
        self.device_id = device_id
        self.rows: list[LinkRow] = []
        self.tiles: list[Tile] = []
        self.handles: list[FeedHandle] = []
        self.buttons: dict[int, QPushButton] = {}
        self.loaded = False
        self._pending_call_up = False
        self._closed = False
        self._enabled = False
        self.hint = QLabel("Loading the cameras linked to this device…")
        self.hint.setObjectName("paneHint")
        # One line, no word wrap: a wrapping label gives the box a height-for-width that Qt
        # lays out below the tiles' fixed height, and the buttons end up under the tiles.
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.all_button = QPushButton("Send all to their presets")
        self.all_button.setObjectName("callUpAll")
        self.all_button.clicked.connect(lambda: self.call_up())
        self.all_button.hide()
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        lay = QVBoxLayout(self)
        lay.addWidget(self.hint)
        lay.addLayout(self.grid)
        lay.addWidget(self.all_button)
        tasks.run(lambda: links.links(device_id), self._loaded,
                  lambda e: self._say(f"Linked cameras could not be read: {e}"))

    def _say(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setToolTip(text)  # the whole line, if the pane is too narrow for it

    def _loaded(self, rows: list[LinkRow]) -> None:
        if self._closed:
            return
        self.rows, self.loaded = rows, True
        if not rows:
            self._say("None linked. Installers link them in the camera list: right-click "
                      "the device → Linked cameras…")
            return
        self._say("Click a button to send a camera to its view of this device."
                  if any(r.preset_token for r in rows) else "Fixed views of this device's area.")
        for i, r in enumerate(rows):
            tile = Tile(i, self)
            tile.device_id, tile.name = r.camera_id, r.camera
            tile.setMinimumWidth(192)
            tile.setFixedHeight(TILE_HEIGHT)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            handle = self.hub.acquire(r.camera_id, "sub")
            tile.handle = handle
            self.tiles.append(tile)
            self.handles.append(handle)
            col, row = i % COLUMNS, (i // COLUMNS) * 2
            self.grid.addWidget(tile, row, col)
            if r.preset_token:
                b = QPushButton(f"{r.camera}: go to '{r.preset_name}'")
                b.setEnabled(self._enabled)
                b.clicked.connect(lambda _=False, cam=r.camera_id: self.call_up(cam))
                self.buttons[r.camera_id] = b
                self.grid.addWidget(b, row + 1, col)
            else:
                self.grid.addWidget(QLabel(f"{r.camera}: fixed view"), row + 1, col)
        self.all_button.setVisible(len(self.buttons) > 1)
        self.all_button.setEnabled(self._enabled)
        if self._pending_call_up:
            self._pending_call_up = False
            self.call_up()

    def set_enabled(self, on: bool) -> None:
        """Presets move only for the operator who holds the call."""
        self._enabled = on
        for b in (*self.buttons.values(), self.all_button):
            b.setEnabled(on)

    def call_up(self, camera_id: int | None = None) -> None:
        """Send linked cameras to their presets; before the links are loaded, do it after."""
        if not self.loaded:
            self._pending_call_up = camera_id is None
            return
        if not any(r.preset_token for r in self.rows):
            return
        dev = self.device_id
        tasks.run(lambda: self.links.call_up(dev, camera_id), self._done,
                  lambda e: self.message.emit(f"The linked cameras did not move: {e}"))

    def _done(self, results: list[CallUp]) -> None:
        if self._closed:
            return
        failed = [r for r in results if not r.ok]
        for r in failed:
            self.message.emit(f"{r.camera} did not go to '{r.preset}': {r.detail}")
        if results:
            self._say("; ".join(f"{r.camera}: {'at ' + r.preset if r.ok else r.detail}"
                                        for r in results))
        self.called_up.emit(results)

    def tick(self, now: float) -> None:
        for t in self.tiles:
            t.tick(now)

    def shutdown(self) -> None:
        self._closed = True
        for h in self.handles:
            self.hub.release(h)
        for t in self.tiles:
            t.handle = None
        self.handles.clear()
