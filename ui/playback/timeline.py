"""The playback timeline: recorded spans, gaps, locks, events, incidents and bookmarks per
camera, on a wall-clock axis that zooms from days to seconds. Click to seek; drag the
shaded range to choose what to export."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from vms.recording.timeline_data import Row

RECORDED = QColor("#3fa34d")
GAP = QColor("#c0392b")
LOCKED = QColor("#f1c40f")
INCIDENT = QColor("#e67e22")
EVENT = QColor("#5dade2")
BOOKMARK = QColor("#bb8fce")
PLAYHEAD = QColor("#ffffff")
MIN_SPAN_S, MAX_SPAN_S = 5.0, 40 * 86400.0


class Timeline(QWidget):
    seek_requested = Signal(float)
    range_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.plot.setBackground("#1e2228")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=False, alpha=0.2)
        self.plot.getPlotItem().getViewBox().setLimits(minXRange=MIN_SPAN_S,
                                                       maxXRange=MAX_SPAN_S)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.playhead = pg.InfiniteLine(angle=90, movable=False,
                                        pen=pg.mkPen(PLAYHEAD, width=2))
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 40))
        self.region.setZValue(-5)
        self.region.sigRegionChanged.connect(
            lambda: self.range_changed.emit(*self.region.getRegion()))
        self._region_on = False
        self.rows: list[Row] = []
        self.bookmarks: list[tuple[float, str]] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)

    # -- data -------------------------------------------------------------------------------
    def set_rows(self, rows: list[Row], bookmarks: list[tuple[float, str]]) -> None:
        self.rows, self.bookmarks = rows, bookmarks
        p = self.plot
        p.clear()
        n = len(rows)
        for i, row in enumerate(rows):
            y = n - 1 - i
            self._bars(row.spans, y, 0.44, RECORDED)
            self._bars([(a, b) for a, b, _ in row.gaps], y, 0.44, GAP, alpha=170)
            self._bars(row.locks, y - 0.3, 0.08, LOCKED)
            self._bars([(a, b) for a, b, _ in row.incidents], y + 0.3, 0.1, INCIDENT)
            if row.events:
                p.addItem(pg.ScatterPlotItem(
                    [t for t, _ in row.events], [y + 0.3] * len(row.events), symbol="t",
                    size=11, brush=pg.mkBrush(EVENT), pen=pg.mkPen("#0b3d5c")))
        for t, label in bookmarks:
            p.addItem(pg.InfiniteLine(t, angle=90, pen=pg.mkPen(BOOKMARK, width=1,
                                                                 style=Qt.PenStyle.DashLine),
                                      label=label, labelOpts={"position": 0.95,
                                                              "color": BOOKMARK}))
        ax = p.getAxis("left")
        ax.setTicks([[(n - 1 - i, r.name) for i, r in enumerate(rows)]])
        ax.setWidth(70)
        p.setYRange(-0.7, max(0, n - 1) + 0.7, padding=0)
        p.addItem(self.playhead)
        if self._region_on:  # clear() took the range handles off too
            p.addItem(self.region)

    def _bars(self, spans: list[tuple[float, float]], y: float, height: float, color: QColor,
              alpha: int = 255) -> None:
        if not spans:
            return
        c = QColor(color)
        c.setAlpha(alpha)
        self.plot.addItem(pg.BarGraphItem(
            x0=[a for a, _ in spans], x1=[max(b, a + 0.2) for a, b in spans], y=[y] * len(spans),
            height=height, brush=pg.mkBrush(c), pen=pg.mkPen(None)))

    # -- view -------------------------------------------------------------------------------
    def show_span(self, start: float, end: float) -> None:
        self.plot.setXRange(start, end, padding=0.02)

    def zoom_around(self, t: float, seconds: float) -> None:
        self.plot.setXRange(t - seconds / 2, t + seconds / 2, padding=0)

    def set_playhead(self, t: float) -> None:
        self.playhead.setValue(t)

    def select(self, on: bool) -> None:
        """Show the range handles (around the middle third of the view) or hide them."""
        self._region_on = on
        if on:
            lo, hi = self.plot.viewRange()[0]
            third = (hi - lo) / 3
            self.region.setRegion((lo + third, hi - third))
            if self.region.scene() is None:
                self.plot.addItem(self.region)
            self.range_changed.emit(*self.region.getRegion())
        elif self.region.scene() is not None:
            self.plot.removeItem(self.region)

    def selected(self) -> tuple[float, float] | None:
        if not self._region_on:
            return None
        lo, hi = self.region.getRegion()
        return float(lo), float(hi)

    def _clicked(self, ev: object) -> None:
        pos = ev.scenePos()  # type: ignore[attr-defined]
        vb = self.plot.getPlotItem().getViewBox()
        if vb.sceneBoundingRect().contains(pos):
            self.seek_requested.emit(float(vb.mapSceneToView(pos).x()))
