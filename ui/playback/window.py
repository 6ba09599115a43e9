"""Playback: up to four cameras in step, a transport bar and the timeline.

The ``Player`` (core) decodes on its own thread and hands frames over through a Qt
signal; images are made here, on the GUI thread. Times are shown in Europe/London with
GMT or BST said, as control-room staff read them; the index keeps UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.playback.timeline import BOOKMARK, EVENT, GAP, INCIDENT, LOCKED, RECORDED, Timeline
from ui.playback.video_cell import FrameRelay, VideoCell
from ui.screen import sized
from vms.recording.playback import SPEEDS, Frame, Player
from vms.recording.timeline_data import TimelineData

LONDON = ZoneInfo("Europe/London")
MAX_CAMERAS = 4


def london(t: float) -> str:
    local = dt.datetime.fromtimestamp(t, LONDON)
    return local.strftime("%a %d %b %Y  %H:%M:%S.") + f"{local.microsecond // 100000}" + \
        f"  {local.tzname()}"


class PlaybackWindow(QWidget):
    export_requested = Signal(list, float, float)  # camera ids, start, end (epoch seconds)

    def __init__(self, data: TimelineData, cameras: list[tuple[int, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Playback — Beacon VMS")
        sized(self, 1300, 900)
        self.data = data
        self.names = dict(cameras)
        self.player: Player | None = None
        self._generation = 0  # each choice of cameras; a stale read is dropped
        self._closed = False
        self.cells: dict[int, VideoCell] = {}
        self.position = 0.0
        self.relay = FrameRelay()
        self.relay.frames.connect(self._frames)
        self.timeline = Timeline()

        self.pick = QListWidget()
        self.pick.setMaximumWidth(200)
        for cid, name in cameras:
            it = QListWidgetItem(name)
            it.setData(Qt.ItemDataRole.UserRole, cid)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Unchecked)
            self.pick.addItem(it)
        self.pick.itemChanged.connect(self._picked)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(4)

        self.clock = QLabel("—")
        self.clock.setObjectName("playbackClock")
        self.clock.setStyleSheet("font-size:15px; font-weight:600;")
        self.back = QPushButton("◀| Frame")
        self.back.setToolTip("One frame back (Left arrow)")
        self.play = QPushButton("▶ Play")
        self.play.setCheckable(True)
        self.play.setToolTip("Play / pause (Space)")
        self.fwd = QPushButton("Frame |▶")
        self.fwd.setToolTip("One frame forward (Right arrow)")
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}x" if s >= 1 else f"1/{round(1 / s)}x", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed")
        self.mark = QPushButton("Bookmark")
        self.mark.setToolTip("Mark this moment with a note, for everyone")
        self.range = QPushButton("Select range")
        self.range.setCheckable(True)
        self.export = QPushButton("Export…")
        self.export.setEnabled(False)
        self.export.setToolTip("Select a range first")
        zoom = [QPushButton(t) for t in ("Day", "Hour", "10 min", "Minute")]
        for b, secs in zip(zoom, (86400, 3600, 600, 60), strict=True):
            b.setToolTip(f"Show {b.text().lower()} around the playhead")
            b.clicked.connect(lambda _=False, s=secs: self.timeline.zoom_around(self.position, s))
        bar = QHBoxLayout()
        for w in (self.back, self.play, self.fwd, self.speed):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(self.clock, 1)
        for w in (self.mark, self.range, self.export):
            bar.addWidget(w)

        self.timeline.setMinimumHeight(230)
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.range_changed.connect(self._range)
        legend = QLabel("  ".join(
            f"<span style='color:{c.name()}'>■</span> {w}" for c, w in (
                (RECORDED, "recorded"), (GAP, "gap (reason in the list)"),
                (LOCKED, "evidence-locked"), (EVENT, "alarm / event ▲"),
                (INCIDENT, "incident"), (BOOKMARK, "bookmark ┆"))))
        self.gaps = QLabel()
        self.gaps.setWordWrap(True)
        self.gaps.setStyleSheet("color:#c9a3a0;")
        hint = QLabel("Wheel or drag on the timeline to zoom and pan; click to go to a moment.")
        hint.setStyleSheet("color:#8a949e;")

        left = QVBoxLayout()
        left.addWidget(QLabel("Cameras (up to 4, played in step)"))
        left.addWidget(self.pick)
        right = QVBoxLayout()
        right.addWidget(self.grid_host, 1)
        right.addLayout(bar)
        top = QWidget()
        top_lay = QHBoxLayout(top)
        top_lay.addLayout(left)
        top_lay.addLayout(right, 1)
        bottom = QWidget()
        b_lay = QVBoxLayout(bottom)
        b_lay.setContentsMargins(8, 0, 8, 8)
        b_lay.addWidget(self.timeline, 1)
        b_lay.addWidget(legend)
        b_lay.addWidget(self.gaps)
        under = QHBoxLayout()  # zooming is the timeline's: under it, not in the transport row
        under.addWidget(hint, 1)
        under.addWidget(QLabel("Show:"))
        for b in zoom:
            under.addWidget(b)
        b_lay.addLayout(under)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([560, 340])
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        self.back.clicked.connect(lambda: self.player and self.player.step(-1))
        self.fwd.clicked.connect(lambda: self.player and self.player.step(1))
        self.play.toggled.connect(self._play)
        self.speed.currentIndexChanged.connect(
            lambda _i: self.player and self.player.set_speed(float(self.speed.currentData())))
        self.mark.clicked.connect(self._bookmark)
        self.range.toggled.connect(self._select)
        self.export.clicked.connect(self._export)
        for key, act in ((Qt.Key.Key_Space, self.play.toggle), (Qt.Key.Key_Left, self.back.click),
                         (Qt.Key.Key_Right, self.fwd.click)):
            QShortcut(QKeySequence(key), self, act)

    # -- cameras ----------------------------------------------------------------------------
    def choose(self, camera_ids: list[int]) -> None:
        for i in range(self.pick.count()):
            it = self.pick.item(i)
            want = it.data(Qt.ItemDataRole.UserRole) in camera_ids
            it.setCheckState(Qt.CheckState.Checked if want else Qt.CheckState.Unchecked)
        self._picked(None)

    def chosen(self) -> list[int]:
        return [self.pick.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.pick.count())
                if self.pick.item(i).checkState() == Qt.CheckState.Checked]

    def _picked(self, item: QListWidgetItem | None) -> None:
        ids = self.chosen()
        if item is not None and len(ids) > MAX_CAMERAS:
            self.pick.blockSignals(True)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.pick.blockSignals(False)
            QMessageBox.information(self, "Playback", f"Up to {MAX_CAMERAS} cameras play in "
                                    "step; untick one first.")
            return
        self._rebuild(ids)

    def _rebuild(self, ids: list[int]) -> None:
        if self.player is not None:
            self.player.close()
            self.player = None
        for cell in self.cells.values():
            cell.deleteLater()
        self.cells = {}
        cols = 1 if len(ids) <= 1 else 2
        for n, cid in enumerate(ids):
            cell = VideoCell(self.names.get(cid, str(cid)))
            self.cells[cid] = cell
            self.grid.addWidget(cell, n // cols, n % cols)
        self._generation += 1
        generation, data, emit = self._generation, self.data, self.relay.frames.emit
        want = ids or list(self.names)
        names = dict(self.names)

        def read() -> tuple[list[Any], list[Any], Player | None]:
            return (data.rows(want, names), data.bookmarks(),
                    Player(data.index, ids, emit) if ids else None)

        def done(got: tuple[list[Any], list[Any], Player | None]) -> None:
            rows, marks, player = got
            if generation != self._generation or self._closed:  # chosen again, or closed
                if player is not None:
                    player.close()
                return
            self._show_rows(rows, marks)
            self.player = player
            if player is not None:
                player.set_speed(float(self.speed.currentData()))
                if self.position:
                    player.seek(self.position)
        tasks.run(read, done, self._unreadable)

    def _unreadable(self, exc: BaseException) -> None:
        self.gaps.setText(f"The recordings cannot be read: {exc}")

    def reload(self) -> None:
        """Read spans, gaps, events, incidents and bookmarks again (off the GUI thread)."""
        data, want, names = self.data, self.chosen() or list(self.names), dict(self.names)
        tasks.run(lambda: (data.rows(want, names), data.bookmarks()),
                  lambda got: self._show_rows(*got), self._unreadable)

    def _show_rows(self, rows: list[Any], marks: list[Any]) -> None:
        self.timeline.set_rows(rows, marks)
        self.gaps.setText("Gaps: " + "; ".join(
            f"{r.name} {london(a)[17:25]}–{london(b)[17:25]}: {why}"
            for r in rows for a, b, why in r.gaps[-3:]) if any(r.gaps for r in rows) else "")
        spans = [s for r in rows for s in r.spans]
        if spans and not self.position:
            start, end = min(a for a, _ in spans), max(b for _, b in spans)
            self.timeline.show_span(start, end)
            self.position = start
            self.timeline.set_playhead(start)

    # -- transport --------------------------------------------------------------------------
    def seek(self, t: float) -> None:
        self.position = t
        self.timeline.set_playhead(t)
        self.clock.setText(london(t))
        if self.player is not None:
            self.player.seek(t)

    def _play(self, on: bool) -> None:
        self.play.setText("❚❚ Pause" if on else "▶ Play")
        if self.player is not None:
            (self.player.play if on else self.player.pause)()

    def _frames(self, position: float, frames: dict[int, Frame | None]) -> None:
        self.position = position
        self.timeline.set_playhead(position)
        self.clock.setText(london(position))
        for cid, f in frames.items():
            cell = self.cells.get(cid)
            if cell is None:
                continue
            if f is None:
                cell.show_nothing("no recording at this moment")
            else:
                cell.show_frame(f)

    def _bookmark(self) -> None:
        text, ok = QInputDialog.getText(self, "Bookmark", f"Note for {london(self.position)}:")
        if ok and text.strip():
            ids, at, data = self.chosen(), self.position, self.data
            tasks.run(lambda: data.add_bookmark(ids[0] if len(ids) == 1 else None, at,
                                                text.strip()),
                      lambda _r: self.reload(),
                      self._bookmark_failed)

    def _bookmark_failed(self, exc: BaseException) -> None:
        QMessageBox.warning(self, "Bookmark", f"The bookmark was not saved: {exc}")

    def _select(self, on: bool) -> None:
        self.timeline.select(on)
        self.export.setEnabled(on and bool(self.chosen()))
        self.export.setToolTip("Export the selected range of the chosen cameras" if on
                               else "Select a range first")

    def _range(self, start: float, end: float) -> None:
        self.export.setToolTip(f"Export {london(start)} to {london(end)}")

    def _export(self) -> None:
        sel = self.timeline.selected()
        if sel is not None:
            self.export_requested.emit(self.chosen(), sel[0], sel[1])

    def closeEvent(self, event: object) -> None:
        self._closed = True
        if self.player is not None:
            self.player.close()
            self.player = None
        super().closeEvent(event)  # type: ignore[arg-type]
