"""The wall: a grid of tiles in one of the standard layouts, fed by the shared ``FeedHub``.

One GUI timer drives every tile (no signal per frame); it also measures its own
drift, which is the event-loop lag the benchmark reports. Stream choice follows
tile size with hysteresis (``vms.wall.streams``), re-checked shortly after the
wall is resized; a switch keeps the old stream on screen until the new one has
a picture.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QWidget

from ui.video.hub import FeedHub
from ui.video.tile import ALARM_WAITING, Tile
from vms.store.devices import DeviceRow
from vms.wall import streams
from vms.wall.layouts import WallState, layout

FLASH_MS = 500  # a waiting call's tiles: on half a second, off half a second

TICK_MS = 40
ARROWS = {Qt.Key.Key_Left: (-0.5, 0.0), Qt.Key.Key_Right: (0.5, 0.0),
          Qt.Key.Key_Up: (0.0, 0.5), Qt.Key.Key_Down: (0.0, -0.5)}


class Wall(QWidget):
    changed = Signal()  # layout or assignment changed (save it)
    selected_changed = Signal(object)  # the selected tile's DeviceRow or None
    fullscreen_toggled = Signal()
    escape = Signal()
    ptz_key = Signal(float, float, bool)  # pan, tilt, pressed
    selected_renamed = Signal(object)  # the selected tile's device, renamed or moved

    def __init__(self, hub: FeedHub, devices: Callable[[int], DeviceRow | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.devices = devices  # device id -> row (None: gone or not visible)
        self.state = WallState()
        self.tiles: list[Tile] = []
        self.selected = 0
        self.enlarged: int | None = None
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 200)
        self.lag_ms: list[float] = []  # timer drift per tick
        self._last_tick: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._resize = QTimer(self)
        self._resize.setSingleShot(True)
        self._resize.setInterval(300)
        self._resize.timeout.connect(self.choose_streams)
        self.alarms: dict[int, str] = {}  # device id -> ALARM_WAITING or ALARM_HANDLED
        self._flash_on = True  # this wall's phase (a pop-out flashes on its own)
        self._flasher = QTimer(self)  # runs only while a call waits: an idle wall pays nothing
        self._flasher.setInterval(FLASH_MS)
        self._flasher.timeout.connect(self._flash)
        self.apply(self.state)

    # -- state -------------------------------------------------------------------------
    def apply(self, state: WallState) -> None:
        """Show ``state``: build the layout's tiles and (re)assign their cameras."""
        state.fit()
        lay = layout(state.layout)
        self.enlarged = None
        while len(self.tiles) < lay.size:
            t = Tile(len(self.tiles), self)
            t.clicked.connect(self.select)
            t.double_clicked.connect(self.toggle_enlarge)
            t.device_dropped.connect(self.assign)
            t.tile_dropped.connect(self.swap)
            self.tiles.append(t)
        for t in self.tiles[lay.size:]:
            self._unassign(t)
            self.grid.removeWidget(t)
            t.deleteLater()
        del self.tiles[lay.size:]
        for i in range(self.grid.rowCount()):
            self.grid.setRowStretch(i, 0)
        for i in range(self.grid.columnCount()):
            self.grid.setColumnStretch(i, 0)
        for t, cell in zip(self.tiles, lay.cells, strict=True):
            self.grid.removeWidget(t)
            self.grid.addWidget(t, cell.row, cell.col, cell.rows, cell.cols)
            t.show()
        for i in range(lay.grid):
            self.grid.setRowStretch(i, 1)
            self.grid.setColumnStretch(i, 1)
        self.state = state
        for t, want in zip(self.tiles, state.tiles, strict=True):
            if want != t.device_id:
                self._set_device(t, want)
        self.select(min(self.selected, len(self.tiles) - 1))
        self.changed.emit()
        QTimer.singleShot(0, self.choose_streams)

    def set_layout(self, name: str) -> None:
        self.apply(WallState(name, [t.device_id for t in self.tiles]))

    def assign(self, index: int, device_id: int | None) -> None:
        if not 0 <= index < len(self.tiles):
            return
        self.state.tiles[index] = device_id
        self._set_device(self.tiles[index], device_id)
        self.select(index)
        self.changed.emit()

    def swap(self, a: int, b: int) -> None:
        if a == b or not (0 <= a < len(self.tiles) and 0 <= b < len(self.tiles)):
            return
        ta, tb = self.tiles[a], self.tiles[b]
        # The tiles keep their positions; their cameras and running streams change places.
        for attr in ("device_id", "name", "handle", "pending", "_frame", "_image"):
            va, vb = getattr(ta, attr), getattr(tb, attr)
            setattr(ta, attr, vb)
            setattr(tb, attr, va)
        s = self.state.tiles
        s[a], s[b] = s[b], s[a]
        self.select(b)
        ta.update()
        tb.update()
        self.changed.emit()
        self.choose_streams()

    def first_free(self) -> int | None:
        return next((i for i, t in enumerate(self.tiles) if t.device_id is None), None)

    # -- selection, enlarge, keys ------------------------------------------------------------
    def select(self, index: int) -> None:
        if not self.tiles:
            return
        index = max(0, min(index, len(self.tiles) - 1))
        for i, t in enumerate(self.tiles):
            if t.selected != (i == index):
                t.selected = i == index
                t.update()
        self.selected = index
        dev = self.tiles[index].device_id
        self.selected_changed.emit(self.devices(dev) if dev is not None else None)

    def step(self, by: int) -> None:
        """Select the tile ``by`` places on (the next, the previous), round the wall."""
        if self.tiles:
            self.go_to((self.selected + by) % len(self.tiles))

    def go_to(self, index: int) -> None:
        """Select a tile from the keyboard; with a tile enlarged, enlarge that one instead (a
        hidden tile is never selected: the PTZ keys would steer a camera not on screen)."""
        if not self.tiles:
            return
        index = max(0, min(index, len(self.tiles) - 1))
        if self.enlarged is not None and self.enlarged != index:
            self.toggle_enlarge(self.enlarged)
            self.toggle_enlarge(index)
        else:
            self.select(index)

    def toggle_enlarge(self, index: int) -> None:
        if self.enlarged is None:
            self.enlarged = index
            for i, t in enumerate(self.tiles):
                t.setVisible(i == index)
            self.grid.removeWidget(self.tiles[index])
            lay = layout(self.state.layout)
            self.grid.addWidget(self.tiles[index], 0, 0, lay.grid, lay.grid)
        else:
            self.enlarged = None
            lay = layout(self.state.layout)
            for t, cell in zip(self.tiles, lay.cells, strict=True):
                self.grid.removeWidget(t)
                self.grid.addWidget(t, cell.row, cell.col, cell.rows, cell.cols)
                t.show()
        self.select(index)
        self.grid.activate()
        QTimer.singleShot(0, self.choose_streams)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            self.go_to(key - Qt.Key.Key_1)
        elif key == Qt.Key.Key_0:
            self.go_to(9)
        elif key == Qt.Key.Key_F:
            self.fullscreen_toggled.emit()
        elif key == Qt.Key.Key_Escape:
            if self.enlarged is not None:
                self.toggle_enlarge(self.enlarged)
            else:
                self.escape.emit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.toggle_enlarge(self.selected)
        elif key in ARROWS:
            if not event.isAutoRepeat():
                self.ptz_key.emit(*ARROWS[Qt.Key(key)], True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() in ARROWS and not event.isAutoRepeat():
            self.ptz_key.emit(*ARROWS[Qt.Key(event.key())], False)
        else:
            super().keyReleaseEvent(event)

    # -- streams -------------------------------------------------------------------------------
    def _set_device(self, tile: Tile, device_id: int | None) -> None:
        self._unassign(tile)
        tile.device_id = device_id
        row = self.devices(device_id) if device_id is not None else None
        if device_id is not None and row is None:
            tile.device_id = None  # removed, or no longer visible to this user
            self.state.tiles[tile.index] = None
        tile.name = row.name if row else ""
        tile.place = (row.location or "") if row else ""
        tile.alarm = self.alarms.get(device_id, "") if device_id is not None else ""
        tile.flash_on = self._flash_on
        if row is not None:
            tile.handle = self.hub.acquire(row.id, self._quality_for(tile, row, "sub"))
        tile.update()

    def set_alarm(self, device_id: int, level: str) -> None:
        """Mark the tiles of ``device_id``: ALARM_WAITING flashes their border red,
        ALARM_HANDLED holds it amber, "" clears it (``CallDesk.alarm_changed``)."""
        if level:
            self.alarms[device_id] = level
        else:
            self.alarms.pop(device_id, None)
        for t in self.tiles:
            if t.device_id == device_id and t.alarm != level:
                t.alarm, t.flash_on = level, self._flash_on
                t.update()
        if ALARM_WAITING in self.alarms.values():
            if not self._flasher.isActive():
                self._flasher.start()
        else:
            self._flasher.stop()
            self._flash_on = True

    def _flash(self) -> None:
        self._flash_on = not self._flash_on
        for t in self.tiles:
            if t.alarm == ALARM_WAITING:
                t.flash_on = self._flash_on
                if t.isVisible():
                    t.update()

    def relabel(self) -> None:
        """Names and places changed in the registry (a rename, a move): tiles say them now."""
        for i, t in enumerate(self.tiles):
            row = self.devices(t.device_id) if t.device_id is not None else None
            if row is not None and (t.name, t.place) != (row.name, row.location or ""):
                t.name, t.place = row.name, row.location or ""
                t.update()
                if i == self.selected:
                    self.selected_renamed.emit(row)  # the PTZ panel's title too

    def _unassign(self, tile: Tile) -> None:
        for h in (tile.handle, tile.pending):
            if h is not None:
                self.hub.release(h)
        tile.handle = tile.pending = None
        tile.device_id = None
        tile.name = tile.place = ""
        tile._frame = tile._image = tile._grey = None

    def _quality_for(self, tile: Tile, row: DeviceRow, current: str) -> str:
        sub, main = row.stream("sub"), row.stream("main")
        w, h = tile.box()
        if not tile.isVisible() or w < 10:  # not laid out yet: start small
            return "sub" if sub else "main"
        return streams.choose(current, w, h, sub.width if sub else None,
                              sub.height if sub else None, main is not None, sub is not None)

    def choose_streams(self) -> None:
        for t in self.tiles:
            if t.device_id is None or t.handle is None or not t.isVisible():
                continue
            row = self.devices(t.device_id)
            if row is None:
                continue
            current = t.pending.quality if t.pending else t.handle.quality
            want = self._quality_for(t, row, current)
            if want == current:
                continue
            if t.pending is not None:  # changed its mind before the switch finished
                self.hub.release(t.pending)
                t.pending = None
            if want != t.handle.quality:
                t.pending = self.hub.acquire(row.id, want)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._resize.start()

    # -- the timer -------------------------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        if self._last_tick is not None:
            self.lag_ms.append(max(0.0, (now - self._last_tick) * 1000 - TICK_MS))
            if len(self.lag_ms) > 100_000:
                del self.lag_ms[:50_000]
        self._last_tick = now
        for t in self.tiles:
            p = t.pending
            if p is not None and p.feed is not None and p.feed.latest is not None:
                if t.handle is not None:
                    self.hub.release(t.handle)
                t.handle, t.pending = p, None
            if t.isVisible():
                t.tick(now)

    def selected_tile(self) -> Tile:
        return self.tiles[self.selected]

    def shutdown(self) -> None:
        self._timer.stop()
        for t in self.tiles:
            self._unassign(t)

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.WindowActivate:
            self.setFocus()
        return super().event(e)

