"""The wall pane: layout chooser, saved layouts, snapshot, pop-out and fullscreen around a wall.

Layouts are saved per user: the wall as it was left is saved after every change
(and restored at the next sign-in); named layouts are saved on request.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QImage, QKeySequence, QScreen, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from ui.video.hub import FeedHub
from ui.wall.ptz_panel import PtzPanel
from ui.wall.wall import Wall
from vms.errors import VmsError
from vms.recording.onair import OnAir
from vms.store.devices import DeviceRow
from vms.wall.layouts import LAYOUTS, WallState
from vms.wall.saved import LAST, SavedLayouts

log = logging.getLogger(__name__)

SAVE_DELAY_MS = 500
SNAPSHOT_WAIT_S = 2.0

ON_AIR_MS = 2500  # how often the tiles' recording marks are brought up to date


class _FullScreen(QWidget):
    """The window a fullscreen wall is shown in; closing it (Alt+F4) brings the wall back."""

    def __init__(self, on_close: Callable[[], None]) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle("Beacon VMS — wall")
        self.on_close = on_close
        self.box = QVBoxLayout(self)
        self.box.setContentsMargins(0, 0, 0, 0)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.on_close()
        super().closeEvent(event)


class PopOut(QWidget):
    """A layout in its own window, for a second monitor. Shares the running streams."""

    def __init__(self, hub: FeedHub, devices: Callable[[int], DeviceRow | None],
                 state: WallState, title: str, screen: QScreen | None = None) -> None:
        """``screen``: where it opens, filling the screen's free area (another monitor than
        the main window's, when there is one)."""
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle(title)
        self.closed = False  # closed by the user: its streams are stopped, it never comes back
        self.wall = Wall(hub, devices, self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.wall)
        self.wall.apply(WallState(state.layout, list(state.tiles)))
        self.wall.fullscreen_toggled.connect(self._toggle_full)
        self.wall.escape.connect(self.showNormal)
        sized(self, 960, 600)
        if screen is not None:
            self.setScreen(screen)
            self.setGeometry(screen.availableGeometry())

    def _toggle_full(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed = True
        self.wall.shutdown()
        super().closeEvent(event)


class WallPane(QWidget):
    message = Signal(str)
    recording_changed = Signal(object)  # dict[int, OnAir]: which cameras are being recorded

    def __init__(self, hub: FeedHub, saved: SavedLayouts, ptz: PtzPanel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.saved = saved
        self.rows: dict[int, DeviceRow] = {}
        self.restored = False  # restore asked for
        self.ready = False  # the saved wall is on screen
        self.popouts: list[PopOut] = []
        self.on_air: dict[int, OnAir] = {}
        self._on_air_source: Callable[[], dict[int, OnAir]] | None = None
        self._on_air_busy = False
        self.closed = False  # shut down at sign-out; a read still on its way opens nothing
        self._on_air_timer = QTimer(self)
        self._on_air_timer.setInterval(ON_AIR_MS)
        self._on_air_timer.timeout.connect(self._poll_on_air)
        self._full: _FullScreen | None = None  # the fullscreen window, while the wall is in it
        self.wall = Wall(hub, self.rows.get)
        self.ptz = ptz
        self.layout_box = QComboBox()
        for name in LAYOUTS:
            self.layout_box.addItem(name.replace("x", "×"), name)
        self.layout_box.setToolTip("Wall layout")
        self.layout_box.activated.connect(
            lambda i: self.wall.set_layout(self.layout_box.itemData(i)))
        self.saved_box = QComboBox()
        self.saved_box.setMinimumWidth(120)
        self.saved_box.setToolTip("Your saved layouts")
        self.saved_box.activated.connect(lambda i: self.load(self.saved_box.itemText(i)))
        self.save_button = QPushButton("Save as…")
        self.save_button.setToolTip("Keep this layout under a name of your own")
        self.save_button.clicked.connect(self._ask_save)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_current)
        self.snapshot_button = QPushButton("Snapshot")
        self.snapshot_button.setToolTip("Save the selected tile's picture as a PNG")
        self.snapshot_button.clicked.connect(lambda: self.snapshot())
        self.popout_button = QPushButton("Pop out")
        self.popout_button.setToolTip("Open this layout in its own window (a second monitor)")
        self.popout_button.clicked.connect(lambda: self.pop_out())
        self.full_button = QPushButton("Fullscreen")
        self.full_button.setToolTip("The wall on the whole screen (F or F11; Esc to leave)")
        self.full_button.clicked.connect(self.toggle_fullscreen)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Layout"))
        bar.addWidget(self.layout_box)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Saved"))
        bar.addWidget(self.saved_box)
        bar.addWidget(self.save_button)
        bar.addWidget(self.delete_button)
        bar.addStretch(1)
        bar.addWidget(self.snapshot_button)
        bar.addWidget(self.popout_button)
        bar.addWidget(self.full_button)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.wall)
        self.split.addWidget(ptz)
        self.split.setStretchFactor(0, 1)
        self.split.setSizes([900, 220])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.split, 1)
        self.wall.changed.connect(self._changed)
        self._changed()  # the layout box names the wall's first layout, before any restore
        self.wall.selected_changed.connect(ptz.set_device)
        self.wall.selected_renamed.connect(ptz.retitle)
        self.wall.fullscreen_toggled.connect(self.toggle_fullscreen)
        self.wall.escape.connect(self.leave_fullscreen)
        self.wall.ptz_key.connect(self._ptz_key)
        self._save = QTimer(self)
        self._save.setSingleShot(True)
        self._save.setInterval(SAVE_DELAY_MS)
        self._save.timeout.connect(self.save_now)
        QShortcut(QKeySequence("F11"), self, self.toggle_fullscreen)

    # -- recording on the tiles ---------------------------------------------------------------
    def watch_recording(self, source: Callable[[], dict[int, OnAir]]) -> None:
        """``source`` (run off the GUI thread) says which cameras are being recorded."""
        self._on_air_source = source
        self._on_air_timer.start()
        self._poll_on_air()

    def _poll_on_air(self) -> None:
        source = self._on_air_source
        if source is None or self._on_air_busy:
            return
        self._on_air_busy = True

        def done(states: dict[int, OnAir]) -> None:
            self._on_air_busy = False
            self.set_recording(states)

        def failed(_exc: BaseException) -> None:  # the index is busy or gone: say nothing
            self._on_air_busy = False

        tasks.run(source, done, failed)

    def set_recording(self, states: dict[int, OnAir]) -> None:
        changed = states != self.on_air
        self.on_air = states
        if changed:
            self.recording_changed.emit(states)
        for wall in [self.wall] + [p.wall for p in self.open_popouts()]:
            for tile in wall.tiles:
                now = states.get(tile.device_id) if tile.device_id is not None else None
                if now != tile.recording:
                    tile.recording = now
                    tile.setToolTip("" if now is None else "Being recorded" if now.recording
                                    else f"Not being recorded: {now.reason}")
                    tile.update()

    def set_alarm(self, device_id: int, level: str) -> None:
        """A device's open call or alarm, marked on its tiles on every wall (``Wall.set_alarm``)."""
        for wall in [self.wall] + [p.wall for p in self.open_popouts()]:  # hidden by a lock too
            wall.set_alarm(device_id, level)

    # -- devices and restore -----------------------------------------------------------------
    def set_devices(self, rows: list[DeviceRow]) -> None:
        """The devices this user may see (from the camera tree's poll)."""
        self.rows.clear()
        self.rows.update({r.id: r for r in rows})
        for wall in [self.wall] + [p.wall for p in self.open_popouts()]:
            wall.relabel()
        if not self.restored:
            self.restored = True
            self.restore()

    def restore(self) -> None:
        tasks.run(lambda: (self.saved.load(LAST), self.saved.names()), self._restored,
                  self._failed)

    def _restored(self, result: tuple[WallState | None, list[str]]) -> None:
        if self.closed:  # signed out before the saved wall was read: nothing to show it on
            return
        state, names = result
        self._fill_names(names)
        if state is None:  # first sign-in: the cameras in order on a 2x2 wall
            ids = sorted(self.rows)[:4]
            state = WallState("2x2", list(ids))
        self.wall.apply(state)
        self.ready = True

    def _fill_names(self, names: list[str], current: str = "") -> None:
        self.saved_box.clear()
        self.saved_box.addItems(names)
        self.saved_box.setCurrentIndex(names.index(current) if current in names else -1)
        self.delete_button.setEnabled(bool(names))

    # -- saving ----------------------------------------------------------------------------------
    def _changed(self) -> None:
        i = self.layout_box.findData(self.wall.state.layout)
        if i >= 0:
            self.layout_box.setCurrentIndex(i)
        if self.restored:
            self._save.start()

    def save_now(self) -> None:
        state = WallState(self.wall.state.layout, list(self.wall.state.tiles))
        tasks.run(lambda: self.saved.save(state, LAST), lambda _: None, self._failed)

    def _ask_save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save layout", "Name for this layout:")
        if ok and name.strip():
            self.save_as(name.strip())

    def save_as(self, name: str) -> None:
        state = WallState(self.wall.state.layout, list(self.wall.state.tiles))

        def work() -> list[str]:
            self.saved.save(state, name)
            return self.saved.names()
        def done(names: list[str]) -> None:
            self._fill_names(names, name)
            self.message.emit(f"Layout '{name}' saved.")
        tasks.run(work, done, self._failed)

    def load(self, name: str) -> None:
        def loaded(state: WallState | None) -> None:
            if state is None:
                self.message.emit(f"There is no saved layout called '{name}'.")
            else:
                self.wall.apply(state)
                self.message.emit(f"Layout '{name}' shown.")
        tasks.run(lambda: self.saved.load(name), loaded, self._failed)

    def delete_current(self) -> None:
        name = self.saved_box.currentText()
        if not name:
            return

        def work() -> list[str]:
            self.saved.delete(name)
            return self.saved.names()
        def done(names: list[str]) -> None:
            self._fill_names(names)
            self.message.emit(f"Layout '{name}' deleted.")
        tasks.run(work, done, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.message.emit(str(exc) if isinstance(exc, VmsError) else f"{type(exc).__name__}: {exc}")

    # -- camera placement from the tree --------------------------------------------------------
    def show_camera(self, device_id: int) -> None:
        """Put a camera in the selected tile if it is empty, else in the first empty one."""
        sel = self.wall.selected
        index = sel if self.wall.tiles[sel].device_id is None else self.wall.first_free()
        self.wall.assign(sel if index is None else index, device_id)

    # -- fullscreen, pop-out, snapshot --------------------------------------------------------
    @property
    def fullscreen(self) -> bool:
        return self._full is not None

    def fullscreen_on(self) -> QScreen | None:
        """The monitor the wall fills, if it is fullscreen."""
        return self._full.screen() if self._full is not None else None

    def toggle_fullscreen(self) -> None:
        """The wall moves into a fullscreen window of its own and back. The wall itself is
        never made a window: turning a child widget into a native window and back, twice,
        crashed the process when it later quit."""
        if self._full is not None:
            self.leave_fullscreen()
            return
        host = _FullScreen(self.leave_fullscreen)
        screen = self.window().screen()  # the monitor the wall is on, not the first
        host.setScreen(screen)  # separate X screens
        host.setGeometry(screen.geometry())  # monitors of one desktop (Windows)
        host.box.addWidget(self.wall)
        self._full = host
        host.showFullScreen()
        self.wall.setFocus()

    def leave_fullscreen(self) -> None:
        host, self._full = self._full, None
        if host is None:
            return
        self.split.insertWidget(0, self.wall)
        self.wall.show()
        self.wall.setFocus()
        host.close()
        host.deleteLater()

    def pop_out(self, state: WallState | None = None, screen: QScreen | None = None,
                show: bool = True) -> PopOut:
        """This wall's layout (or ``state``) in a window of its own, on ``screen`` or else on
        a monitor other than the main window's, if there is one."""
        name = state.layout.replace("x", "×") if state is not None else \
            self.saved_box.currentText() or self.wall.state.layout
        if screen is None:  # a monitor with no wall on it yet, else one without the main window
            here = self.window().screen()
            taken = {p.screen() for p in self.open_popouts() if p.isVisible()}
            others = [s for s in QGuiApplication.screens() if s is not here]
            screen = next((s for s in others if s not in taken), others[0] if others else None)
        win = PopOut(self.hub, self.rows.get, state or self.wall.state, f"Beacon VMS — {name}",
                     screen)
        for did, level in self.wall.alarms.items():  # a call waiting flashes there too
            win.wall.set_alarm(did, level)
        self.popouts = [*self.open_popouts(), win]
        if show:
            win.show()
        return win

    def snapshot(self, folder: Path | None = None, on_saved: Callable[[Path], None] | None = None
                 ) -> bool:
        """Save the selected tile's next full-size picture as a PNG; False if it has none."""
        tile = self.wall.selected_tile()
        feed = tile.handle.feed if tile.handle else None
        if feed is None or feed.latest is None:
            self.message.emit("The selected tile has no picture to save.")
            return False
        feed.want_snapshot()
        folder = folder or self.saved.profile.data_dir / "snapshots"
        name, device_id = tile.name, tile.device_id
        started = time.monotonic()

        def poll() -> None:
            frame = feed.snapshot
            if frame is None and time.monotonic() - started < SNAPSHOT_WAIT_S:
                QTimer.singleShot(50, poll)
                return
            frame = frame or feed.latest
            assert frame is not None
            image = QImage(frame.data, frame.width, frame.height, frame.bytes_per_line,
                           QImage.Format.Format_RGB32).copy()
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            path = folder / f"{name}-{stamp}.png"

            def write() -> Path:
                folder.mkdir(parents=True, exist_ok=True)
                if not image.save(str(path)):  # the format follows the .png suffix
                    raise VmsError(f"the snapshot could not be written to {path}")
                row = self.rows.get(device_id) if device_id is not None else None
                self.saved.profile.access.record(self.saved.session, "live.snapshot",
                                                 device=row, detail={"file": str(path)})
                return path

            def written(p: Path) -> None:
                self.message.emit(f"Snapshot saved: {p}")
                if on_saved:
                    on_saved(p)
            tasks.run(write, written, self._failed)
        poll()
        return True

    def hide_windows(self, hide: bool) -> None:
        """While the session is locked no wall shows video, fullscreen or popped out."""
        if hide:
            self.leave_fullscreen()
        for p in self.open_popouts():  # one the user closed stays closed
            p.setVisible(not hide)

    def open_popouts(self) -> list[PopOut]:
        """The walls popped out and not closed (hidden while the desk is locked)."""
        return [p for p in self.popouts if not p.closed]

    def _ptz_key(self, pan: float, tilt: float, pressed: bool) -> None:
        if pressed:
            self.ptz.start_move(pan, tilt)
        else:
            self.ptz.stop_move()

    def flush(self) -> None:
        """A change not yet saved is saved now (blocking, a row), while the session is still
        valid: at sign-out, before the session ends."""
        if self._save.isActive():
            self._save.stop()
            try:
                self.saved.save(WallState(self.wall.state.layout, list(self.wall.state.tiles)))
            except VmsError as exc:  # closing: the wall opens as last saved next time
                log.warning("the wall's last layout was not saved: %s", exc)

    def shutdown(self) -> None:
        self.closed = True
        self.flush()
        for p in self.popouts:
            p.close()
        self._on_air_timer.stop()
        self.leave_fullscreen()
        self.wall.shutdown()
