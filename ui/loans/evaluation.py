"""Crime evaluation of a loan: police.uk counts around the site before, during and after the
deployment, against a control area, as charts, a table, a CSV and a one-page report.

The counting is ``vms.evaluation`` (the same as ``vms evaluate``), run on a worker; this
window chooses the inputs and draws the result with pyqtgraph.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from vms.evaluation.compare import Catchment, evaluate, month_of
from vms.evaluation.policeuk import load
from vms.evaluation.report import (
    MONTHLY_HEAD,
    deployment_months,
    html_report,
    monthly_rows,
    write_csv,
)
from vms.loans.loans import Deployment, Premises

SITE_PEN = pg.mkPen("#1f5fa8", width=3)
CONTROL_PEN = pg.mkPen("#8a8f96", width=2, style=Qt.PenStyle.DashLine)


class EvaluationWindow(QWidget):
    evaluated = Signal()

    def __init__(self, crimes_dir: str, premises: list[Premises], deployments: list[Deployment],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Crime evaluation — Beacon VMS")
        sized(self, 1200, 820)
        self.loaned = premises  # the loans' premises, offered as the site to evaluate
        self.deployments = deployments
        self.result: dict[str, Any] | None = None
        self._loaded: tuple[str, Any] | None = None  # (folder, Crimes): read once per folder

        self.folder = QLineEdit(crimes_dir)
        self.folder.setPlaceholderText("folder of police.uk *-street.csv files")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.site = QComboBox()
        self.site.addItem("A point I enter", None)
        for s in premises:
            self.site.addItem(f"{s.name} (URN {s.urn})", s.id)
        self.site.currentIndexChanged.connect(self._site_chosen)
        self.lat = self._spin(-90, 90, 5, 52.2370)
        self.lon = self._spin(-180, 180, 5, -0.8975)
        self.radius = self._spin(50, 50_000, 0, 500, " m")
        self.control = self._spin(0, 50_000, 0, 1500, " m")
        self.control.setToolTip("The ring from the site's radius out to this; 0 for none")
        # The control area: a ring around the site, or the same radius around another place.
        self.control_kind = QComboBox()
        self.control_kind.addItem("a ring around the site, out to", "ring")
        self.control_kind.addItem("a comparison site at", "site")
        self.control_lat = self._spin(-90, 90, 5, 52.2405)
        self.control_lon = self._spin(-180, 180, 5, -0.8810)
        self.control_kind.currentIndexChanged.connect(self._control_kind)
        self.during_from = QLineEdit()
        self.during_to = QLineEdit()
        for w in (self.during_from, self.during_to):
            w.setPlaceholderText("YYYY-MM")
            w.setMaximumWidth(110)
        self.run_button = QPushButton("Count crimes")
        self.run_button.setObjectName("runEvaluation")
        self.run_button.setStyleSheet("font-weight: bold;")
        self.run_button.clicked.connect(self.run)
        self.csv_button = QPushButton("Save table as CSV…")
        self.html_button = QPushButton("Save one-page report…")
        self.csv_button.clicked.connect(lambda: self._save("CSV files (*.csv)", ".csv"))
        self.html_button.clicked.connect(lambda: self._save("HTML report (*.html)", ".html"))
        self.status = QLabel("Choose the crime files and a site, then Count crimes.")
        self.status.setWordWrap(True)
        self.status.setObjectName("evaluationStatus")

        frow = QHBoxLayout()
        frow.addWidget(self.folder, 1)
        frow.addWidget(browse)
        where = QHBoxLayout()
        for label, spin in (("lat", self.lat), ("lon", self.lon), ("radius", self.radius)):
            where.addWidget(QLabel(label))
            where.addWidget(spin)
        where.addStretch(1)
        ctl = QHBoxLayout()
        ctl.addWidget(self.control_kind)
        ctl.addWidget(self.control)
        self.control_at = QLabel("lat / lon")
        for part in (self.control_at, self.control_lat, self.control_lon):
            ctl.addWidget(part)
        ctl.addStretch(1)
        when = QHBoxLayout()
        when.addWidget(self.during_from)
        when.addWidget(QLabel("to"))
        when.addWidget(self.during_to)
        when.addWidget(QLabel("(months: police.uk gives no days)"))
        when.addStretch(1)
        form = QFormLayout()
        form.addRow("Crime files", frow)
        form.addRow("Site", self.site)
        form.addRow("Catchment", where)
        form.addRow("Control", ctl)
        form.addRow("Deployment", when)
        actions = QHBoxLayout()
        actions.addWidget(self.run_button)
        actions.addStretch(1)
        actions.addWidget(self.csv_button)
        actions.addWidget(self.html_button)

        pg.setConfigOptions(antialias=True)
        self.charts = pg.GraphicsLayoutWidget()
        self.charts.setBackground("w")
        self.charts.setMinimumHeight(330)
        self.monthly = self.charts.addPlot(title="Crimes per month")
        self.monthly.showGrid(y=True, alpha=0.3)
        self.monthly.addLegend(offset=(-10, -30))
        self.monthly.setLabel("left", "crimes")
        self.periods = self.charts.addPlot(title="Per month, before = 100")
        self.periods.showGrid(y=True, alpha=0.3)
        self.periods.addLegend(offset=(-10, 10))
        self.periods.setLabel("left", "index")
        self.charts.ci.layout.setColumnStretchFactor(0, 3)
        self.charts.ci.layout.setColumnStretchFactor(1, 2)
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("evaluationTable")
        self.table.setHorizontalHeaderLabels([h.capitalize() for h in MONTHLY_HEAD])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.limits = QLabel()
        self.limits.setWordWrap(True)
        self.limits.setObjectName("paneHint")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.charts)
        split.addWidget(self.table)
        split.setSizes([430, 200])

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(actions)
        lay.addWidget(self.status)
        lay.addWidget(split, 1)
        lay.addWidget(self.limits)
        self._enable_saving(False)
        self._control_kind()

    def _control_kind(self) -> None:
        ring = self.control_kind.currentData() == "ring"
        for w in (self.control_at, self.control_lat, self.control_lon):
            w.setVisible(not ring)
        self.control.setToolTip("The ring from the site's radius out to this; 0 for none" if ring
                                else "The comparison site's radius; 0 for no control area")

    def choose_comparison(self, lat: float, lon: float, radius: float) -> None:
        self.control_kind.setCurrentIndex(self.control_kind.findData("site"))
        self.control_lat.setValue(lat)
        self.control_lon.setValue(lon)
        self.control.setValue(radius)

    @staticmethod
    def _spin(lo: float, hi: float, decimals: int, value: float, suffix: str = ""
              ) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(decimals)
        s.setValue(value)
        s.setSuffix(suffix)
        s.setMinimumWidth(110)
        return s

    def _enable_saving(self, on: bool) -> None:
        self.csv_button.setEnabled(on)
        self.html_button.setEnabled(on)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "police.uk crime files",
                                                  self.folder.text())
        if folder:
            self.folder.setText(folder)

    def choose_premises(self, premises_id: int) -> None:
        i = self.site.findData(premises_id)
        if i >= 0:
            self.site.setCurrentIndex(i)

    def _site_chosen(self) -> None:
        sid = self.site.currentData()
        site = next((s for s in self.loaned if s.id == sid), None)
        if site is None:
            return
        self.lat.setValue(site.lat)
        self.lon.setValue(site.lon)
        deps = [d for d in self.deployments if d.premises_id == sid]
        if deps:
            d = deps[-1]
            last = d.removed or min(d.end, dt.date.today())
            a, b = deployment_months(d.installed, last)
            self.during_from.setText(a)
            self.during_to.setText(b)

    # -- counting --------------------------------------------------------------------------------
    def run(self) -> None:
        folder = self.folder.text().strip()
        if not folder:
            self.status.setText("Choose the folder of police.uk crime files first.")
            return
        try:
            a, b = self.during_from.text().strip(), self.during_to.text().strip()
            during = (month_of(a), month_of(b)) if a and b else None
        except Exception as exc:
            self.status.setText(str(exc))
            return
        lat, lon, radius, ring = (self.lat.value(), self.lon.value(), self.radius.value(),
                                  self.control.value())
        site = Catchment(lat, lon, radius)
        if ring <= 0:
            control = None
        elif self.control_kind.currentData() == "site":
            control = Catchment(self.control_lat.value(), self.control_lon.value(), ring)
        else:
            control = Catchment(lat, lon, ring, inner_m=radius)
        cached = self._loaded

        def work() -> tuple[dict[str, Any], tuple[str, Any]]:
            crimes = cached[1] if cached and cached[0] == folder else load(Path(folder))
            return evaluate(crimes, site, during=during, control=control), (folder, crimes)
        self.run_button.setEnabled(False)
        self.status.setText("Reading the crime files and counting…")
        tasks.run(work, self._show, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(f"Could not evaluate: {exc}")

    def _show(self, got: tuple[dict[str, Any], tuple[str, Any]]) -> None:
        self.result, self._loaded = got
        r = self.result
        self.run_button.setEnabled(True)
        self._enable_saving(True)
        months = [m["month"] for m in r["months"]]
        site_totals = [m["total"] for m in r["months"]]
        ctl = r.get("control")
        during = r.get("during")
        self.status.setText(
            f"{sum(site_totals):,} crimes within {r['site']['radius_m']:.0f} m over "
            f"{len(months)} months ({r['rows']:,} rows read, {r['unlocated']:,} without a "
            "location left out)" + (f"; no file for {', '.join(r['missing_months'])}"
                                   if r["missing_months"] else "") + ".")
        self._draw(months, site_totals, [m["total"] for m in ctl["months"]] if ctl else None,
                   during)
        self._fill_table(r)
        self.limits.setText("Limits: " + " ".join(r["limits"]))
        self.evaluated.emit()

    def _draw(self, months: list[str], site: list[int], control: list[int] | None,
              during: dict[str, str] | None) -> None:
        self.monthly.clear()
        self.periods.clear()
        xs = list(range(len(months)))
        ticks = [[(i, m) for i, m in enumerate(months)]]
        self.monthly.getAxis("bottom").setTicks(ticks)
        if during:
            inside = [i for i, m in enumerate(months) if during["from"] <= m <= during["to"]]
            if inside:
                region = pg.LinearRegionItem((inside[0] - 0.5, inside[-1] + 0.5), movable=False,
                                             brush=pg.mkBrush(255, 200, 80, 70))
                self.monthly.addItem(region)
        self.monthly.plot(xs, site, pen=SITE_PEN, symbol="o", symbolBrush="#1f5fa8",
                          name="site")
        if control is not None:
            self.monthly.plot(xs, control, pen=CONTROL_PEN, symbol="s", symbolBrush="#8a8f96",
                              name="control area")
        self.monthly.setYRange(0, max([*site, *(control or []), 1]) * 1.1)
        r = self.result or {}
        if "periods" not in r:
            self.periods.setTitle("Per month: give the deployment's months")
            return
        self.periods.setTitle("Per month, before = 100")
        names = ["before", "during", "after"]
        self.periods.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names)]])
        series = [("site", r["periods"], "#1f5fa8", -0.18)]
        if "control" in r and "periods" in r["control"]:
            series.append(("control area", r["control"]["periods"], "#8a8f96", 0.18))
        top = 100.0
        for name, periods, colour, dx in series:
            base = periods["before"]["per_month"]
            heights = [(periods[n]["per_month"] or 0) * 100 / base if base else 0 for n in names]
            top = max(top, *heights)
            self.periods.addItem(pg.BarGraphItem(x=[i + dx for i in range(3)], height=heights,
                                                 width=0.34, brush=colour, name=name))
        self.periods.setYRange(0, top * 1.35)
        self.periods.setXRange(-0.6, 2.6)

    def index_heights(self, area: str) -> list[float]:
        """The drawn bars of ``area`` (for checking the chart against the counts)."""
        for item in self.periods.items:
            if isinstance(item, pg.BarGraphItem) and item.name() == area:
                return [float(h) for h in item.opts["height"]]
        return []

    def _fill_table(self, r: dict[str, Any]) -> None:
        rows = monthly_rows(r)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(str(v)))
        self.table.resizeColumnsToContents()

    # -- saving ---------------------------------------------------------------------------------
    def chart_png(self) -> bytes:
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        self.charts.grab().save(buf, "PNG")
        buf.close()
        return bytes(data.data())

    def title(self) -> str:
        name = self.site.currentText() if self.site.currentData() is not None else \
            f"{self.lat.value():.5f}, {self.lon.value():.5f}"
        return f"Crime around {name}"

    def _save(self, kinds: str, suffix: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save", str(Path.home() / f"evaluation"
                                                                 f"{suffix}"), kinds)
        if path:
            (self.save_csv if suffix == ".csv" else self.save_html)(Path(path))

    def save_csv(self, path: Path) -> None:
        r = self.result
        if r is None:
            return
        tasks.run(lambda: write_csv(r, path),
                  lambda n: self.status.setText(f"Saved {n} rows to {path}"),
                  lambda e: self.status.setText(f"Could not save the CSV: {e}"))

    def save_html(self, path: Path) -> None:
        r = self.result
        if r is None:
            return
        page = html_report(r, self.title(), self.chart_png())

        def write() -> None:
            tmp = path.with_name(path.name + ".part")
            tmp.write_text(page, encoding="utf-8")
            tmp.replace(path)
        tasks.run(write, lambda _r: self.status.setText(f"Saved the report to {path}"),
                  lambda e: self.status.setText(f"Could not save the report: {e}"))
