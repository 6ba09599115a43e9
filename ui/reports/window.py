"""Programme reports on screen: the Help Point report and the loaned-camera report for a
period, as a summary, pyqtgraph charts and a table, saved as CSV or a one-page HTML file.

The figures are ``vms.reports`` (the same as ``vms report``); the window only asks for them
on a worker and draws what comes back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from vms.reports import helppoints, loans
from vms.reports.figures import Period, plural, rate_words

HELPPOINTS, LOANS = "helppoints", "loans"
BAR = pg.mkBrush("#2f6db5")

# (kind, period, crime folder or "", radius in metres) -> the report
Maker = Callable[[str, Period, str, float], dict[str, Any]]


def _secs(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:g} s" if v < 120 else f"{v / 60:.1f} min"


def _qdate(d: dt.date) -> QDate:
    return QDate(d.year, d.month, d.day)


class ReportsWindow(QWidget):
    shown = Signal()  # a report is on screen (tests and journeys wait for it)

    def __init__(self, make: Maker, crimes_dir: str, today: dt.date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Programme reports — Beacon VMS")
        sized(self, 1500, 900)
        self.make = make
        self.report: dict[str, Any] | None = None
        self.kind = QComboBox()
        self.kind.setObjectName("reportKind")
        self.kind.addItem("Help Point calls", HELPPOINTS)
        self.kind.addItem("Loaned cameras", LOANS)
        self.first = QDateEdit(_qdate(today - dt.timedelta(days=30)))
        self.last = QDateEdit(_qdate(today))
        for w in (self.first, self.last):
            w.setCalendarPopup(True)
            w.setDisplayFormat("d MMM yyyy")
        self.folder = QLineEdit(crimes_dir)
        self.folder.setPlaceholderText("police.uk files (optional): adds crime at each premises")
        self.radius = QDoubleSpinBox()
        self.radius.setRange(10, 50_000)
        self.radius.setValue(200)
        self.radius.setSuffix(" m")
        self.make_button = QPushButton("Make report")
        self.make_button.setDefault(True)
        self.make_button.clicked.connect(self.run)
        self.save_csv = QPushButton("Save CSV…")
        self.save_html = QPushButton("Save HTML…")
        for b in (self.save_csv, self.save_html):
            b.setEnabled(False)
        self.save_csv.clicked.connect(lambda: self._save("csv"))
        self.save_html.clicked.connect(lambda: self._save("html"))
        top = QHBoxLayout()
        top.addWidget(QLabel("Report"))
        top.addWidget(self.kind)
        top.addWidget(QLabel("From"))
        top.addWidget(self.first)
        top.addWidget(QLabel("to"))
        top.addWidget(self.last)
        self.crime_label = QLabel("Crime files")
        top.addWidget(self.crime_label)
        top.addWidget(self.folder, 1)
        top.addWidget(self.radius)
        top.addWidget(self.make_button)
        top.addWidget(self.save_csv)
        top.addWidget(self.save_html)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

        self.status = QLabel("Choose a report and its dates, then Make report.")
        self.status.setObjectName("reportStatus")
        self.status.setWordWrap(True)
        self.summary = QTableWidget(0, 2)
        self.summary.setObjectName("reportSummary")
        self.summary.setHorizontalHeaderLabels(["Figure", "Value"])
        self.summary.verticalHeader().setVisible(False)
        self.summary.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.summary.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents)
        pg.setConfigOptions(antialias=True)
        self.charts = pg.GraphicsLayoutWidget()
        self.charts.setBackground("w")
        self.rows = QTableWidget(0, 0)
        self.rows.setObjectName("reportRows")
        self.rows.verticalHeader().setVisible(False)
        self.notes = QTextBrowser()  # the definitions and the data's limits, scrolled
        self.notes.setObjectName("reportNotes")
        self.notes.setMaximumHeight(96)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.summary)
        upper.addWidget(self.charts)
        upper.setSizes([430, 1050])
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(upper)
        body.addWidget(self.rows)
        body.setSizes([620, 200])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(body, 1)
        lay.addWidget(self.notes)

    # -- asking ----------------------------------------------------------------------------
    def _kind_changed(self) -> None:
        loans_report = self.kind.currentData() == LOANS
        for w in (self.crime_label, self.folder, self.radius):
            w.setVisible(loans_report)

    def period(self) -> Period:
        return Period(self.first.date().toPython(), self.last.date().toPython())  # type: ignore[arg-type]

    def run(self) -> None:
        try:
            period = self.period()
        except Exception as exc:  # a period that ends before it starts: said, nothing run
            self.status.setText(str(exc))
            return
        kind = str(self.kind.currentData())
        folder = self.folder.text().strip() if kind == LOANS else ""
        self.make_button.setEnabled(False)
        self.status.setText("Counting…")
        radius = self.radius.value()  # read here: the worker touches no widget
        tasks.run(lambda: self.make(kind, period, folder, radius), self.show_report,
                  self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.make_button.setEnabled(True)
        self.status.setText(f"The report could not be made: {exc}")

    # -- showing ---------------------------------------------------------------------------
    def show_report(self, rep: dict[str, Any]) -> None:
        self.report = rep
        self.make_button.setEnabled(True)
        self.save_csv.setEnabled(True)
        self.save_html.setEnabled(True)
        self.charts.clear()
        if rep["report"] == HELPPOINTS:
            self._helppoints(rep)
        else:
            self._loans(rep)
        self.shown.emit()

    def _fill(self, table: QTableWidget, head: list[str], rows: list[list[object]]) -> None:
        table.clear()
        table.setColumnCount(len(head))
        table.setHorizontalHeaderLabels(head)
        table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                item = QTableWidgetItem("" if v is None else str(v))
                if isinstance(v, int | float):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                table.setItem(i, j, item)
        table.resizeColumnsToContents()

    def _bars(self, row: int, col: int, title: str, labels: list[str], values: list[float],
              colspan: int = 1) -> pg.PlotItem:
        plot = self.charts.addPlot(row=row, col=col, colspan=colspan, title=title)
        plot.addItem(pg.BarGraphItem(x=list(range(len(values))), height=values, width=0.7,
                                     brush=BAR))
        axis = plot.getAxis("bottom")
        axis.setTicks([list(enumerate(labels))])
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setLabel("left", "count")
        plot.setYRange(0, max([*values, 1]) * 1.15)
        return plot

    def _helppoints(self, rep: dict[str, Any]) -> None:
        o = rep["overall"]
        p = rep["period"]
        ta, cl = o["time_to_answer"], o["call_length"]
        self.status.setText(f"Help Point calls from {p['from']} to {p['to']}: "
                            f"{plural(o['calls'], 'call')}. The CSV has one row per call; "
                            "every figure is counted from it.")
        words = rep["outcome_words"]
        self._fill(self.summary, ["Figure", "Value"], [
            ["Calls", o["calls"]], ["Answered", rate_words(o["answered"])],
            ["Still open", o["still_open"]],
            ["Time to answer, median", _secs(ta["median"])],
            ["Time to answer, 90th percentile", _secs(ta["p90"])],
            ["Time to answer, longest", _secs(ta["max"])],
            ["Call length, median", _secs(cl["median"])],
            ["Call length, longest", _secs(cl["max"])],
            ["Police informed", rate_words(o["police_informed"])],
            ["Units sent", rate_words(o["units_sent"])],
            ["Blue light used", rate_words(o["blue_light"])],
            ["Evidence exported", rate_words(o["evidence_exported"])],
            *[[f"Outcome: {words.get(k, k)}", v] for k, v in o["outcomes"].items()]])
        self._bars(0, 0, "Calls by hour of day (UK time)", [f"{h:02d}" if h % 3 == 0 else ""
                                                            for h in range(24)],
                   o["by_hour"], colspan=2)
        self._bars(1, 0, "Calls by day of week", list(o["by_weekday"]),
                   list(o["by_weekday"].values()))
        self._bars(1, 1, "Time to answer", [b["label"].replace(" to ", "–")
                                            for b in ta["buckets"]],
                   [b["count"] for b in ta["buckets"]])
        self._fill(self.rows, ["Help Point", "Place", "Calls", "Answered", "Median answer",
                               "Police informed", "Blue light", "Evidence exported"],
                   [[h["help_point"], h["place"], h["calls"], rate_words(h["answered"]),
                     _secs(h["time_to_answer"]["median"]), h["police_informed"]["count"],
                     h["blue_light"]["count"], h["evidence_exported"]["count"]]
                    for h in rep["help_points"]])
        self._notes(rep["definitions"], [])

    def _loans(self, rep: dict[str, Any]) -> None:
        s = rep["summary"]
        p = rep["period"]
        self.status.setText(f"Loaned cameras from {p['from']} to {p['to']}: "
                            f"{plural(s['deployments'], 'deployment')} (premises on test "
                            "listed, not counted). The CSV has one row per deployment.")
        dec = rep["decision_words"]
        rows: list[list[object]] = [
            ["Deployments", s["deployments"]],
            ["Extended after the funded 30 days", rate_words(s["extension_rate"])],
            ["Removed before the funded days ran out", s["removed_early"]],
            ["Alarms", s["alarms"]],
            *[[dec.get(k, "No decision recorded"), v] for k, v in s["by_decision"].items()],
            ["False alarms", rate_words(s["false_share"])],
            ["Escalations to the police", s["escalations"]],
        ]
        rows += [[f"{rep['step_words'][st]}: target breaches", f"{v['breaches']} of {v['n']}"]
                 for st, v in s["response"].items()]
        if "crime" in s:
            c = s["crime"]
            rows.append(["Premises with crime during deployment", rate_words(c["targeted_during"])])
            rows += [[f"Crimes {k} (site-months with data)",
                      f"{c['totals'][k]} ({c['site_months'][k]})"]
                     for k in ("before", "during", "after")]
        self._fill(self.summary, ["Figure", "Value"], rows)
        ext = s["extension_rate"]
        self._bars(0, 0, "Extension after the funded 30 days", ["extended", "not extended"],
                   [ext["count"], ext["of"] - ext["count"]])
        self._bars(0, 1, "Alarms by decision", [k for k in s["by_decision"]],
                   list(s["by_decision"].values()))
        if "crime" in s:
            per = s["crime"]["per_site_month"]
            cs = rep["crime_settings"]
            self._bars(1, 0, f"{', '.join(cs['categories'])} within {cs['radius_m']:g} m, "
                       "per site-month with data", ["before", "during", "after"],
                       [per[k] or 0 for k in ("before", "during", "after")], colspan=2)
        head = ["Premises", "URN", "Installed", "Funded to", "Extended to", "Removed", "Extension",
                "Alarms", "False", "Escalated"]
        if "crime" in s:
            head.append("Crimes before / during / after")
        self._fill(self.rows, head, [
            [r["premises"] + (" (on test)" if r["on_test"] else ""), r["urn"], r["installed"],
             r["funded_end"], r["extended_until"] or "", r["removed"] or "", r["extension"],
             r["alarms"], r["by_decision"].get("false", 0), r["escalations"],
             *([" / ".join(str(r["crime"]["periods"][k]["total"])
                           for k in ("before", "during", "after"))] if "crime" in r else [])]
            for r in rep["deployments"]])
        limits = rep.get("crime_settings", {}).get("limits", [])
        self._notes(rep["definitions"], limits or [
            "No crime files were given, so crime at the premises is not counted."])

    def _notes(self, definitions: list[str], limits: list[str]) -> None:
        self.notes.setPlainText("How each figure is counted: " + " ".join(definitions)
                                + ("\nThe crime data's limits: " + " ".join(limits)
                                   if limits else ""))

    # -- saving ----------------------------------------------------------------------------
    def text_of(self, fmt: str) -> str:
        rep = self.report
        assert rep is not None
        module = helppoints if rep["report"] == HELPPOINTS else loans
        return module.to_csv(rep) if fmt == "csv" else module.to_html(rep)

    def _save(self, fmt: str) -> None:
        if self.report is None:
            return
        name = f"{self.report['report']}-report.{fmt}"
        path, _ = QFileDialog.getSaveFileName(self, "Save the report", str(Path.home() / name),
                                              "CSV (*.csv)" if fmt == "csv" else "HTML (*.html)")
        if path:
            self.save(Path(path), fmt)

    def save(self, path: Path, fmt: str) -> None:
        text = self.text_of(fmt)

        def write() -> Path:
            tmp = path.with_name(path.name + ".part")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            return path

        tasks.run(write, self._saved, self._not_saved)

    # Bound methods, so a window closed while saving is told nothing (``ui.tasks`` drops the
    # answer to a deleted owner).
    def _saved(self, path: Path) -> None:
        self.status.setText(f"Saved {path}.")

    def _not_saved(self, exc: BaseException) -> None:
        self.status.setText(f"Could not save the report: {exc}")
