"""The audit trail for Surveillance Camera Code reviews: filter, read, verify, export CSV.

Times are shown in Europe/London with GMT/BST marked; filters are converted to UTC,
which is how entries are stored and sealed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from ui.tables import row_table
from vms.audit.chain import AuditEntry, Verdict
from vms.audit.log import LONDON, Filter, london
from vms.audit.trail import AuditTrail

COLUMNS = ["#", "Time (UK)", "User", "Role", "Workstation", "Action", "Camera", "Outcome", "Details"]
SHOW_AT_MOST = 5000
BAD, WARN, GOOD = QColor("#ff6b5a"), QColor("#e8c15a"), QColor("#6fd08c")


def _utc(edit: QDateTimeEdit) -> str:
    q = edit.dateTime()
    d, t = q.date(), q.time()
    local = dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second(),
                        tzinfo=LONDON)
    return local.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(v: object) -> str:
    """A detail's value as a person reads it: no Python spelling (None, True, ['a'])."""
    if v is None or v == "" or v == []:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k} {_value(x)}" for k, x in v.items())
    return str(v)


def _details(e: AuditEntry) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {_value(v)}" for k, v in e.details().items())


class AuditViewer(QDialog):
    def __init__(self, trail: AuditTrail, cameras: list[tuple[int, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trail = trail
        self.setWindowTitle("Audit trail — Beacon VMS")
        sized(self, 1240, 620)
        self.user = QComboBox()
        self.user.addItem("All users", None)
        self.camera = QComboBox()
        self.camera.addItem("All cameras", None)
        for cid, name in cameras:
            self.camera.addItem(f"{name} (#{cid})", cid)
        self.action = QComboBox()
        self.action.addItem("All actions", None)
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addDays(-31))
        self.until = QDateTimeEdit(now.addDays(1))
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy HH:mm")
        self.apply = QPushButton("Show")
        self.apply.setDefault(True)
        self.apply.clicked.connect(self.load)
        filters = QHBoxLayout()
        for label, w in (("User", self.user), ("Camera", self.camera), ("Action", self.action),
                         ("From", self.since), ("To", self.until)):
            filters.addWidget(QLabel(label))
            filters.addWidget(w)
        filters.addStretch(1)
        filters.addWidget(self.apply)

        self.model, self.table = row_table(COLUMNS)

        self.summary = QLabel("Loading…")
        self.summary.setObjectName("paneHint")
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verify_button = QPushButton("Verify the chain")
        self.verify_button.clicked.connect(self.verify)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.export)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.verify_button)
        bottom.addWidget(self.export_button)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.verdict)
        layout.addLayout(bottom)
        self.loaded: list[AuditEntry] = []
        tasks.run(self.trail.choices, self._choices, self._failed)
        self.load()

    def current_filter(self) -> Filter:
        return Filter(user=self.user.currentData(), device_id=self.camera.currentData(),
                      action=self.action.currentData(), since=_utc(self.since),
                      until=_utc(self.until), limit=SHOW_AT_MOST)

    def _choices(self, got: tuple[list[str], list[str]]) -> None:
        users, actions = got
        for u in users:
            self.user.addItem(u, u)
        groups = sorted({a.split(".", 1)[0] + "." for a in actions if "." in a})
        for g in groups:
            self.action.addItem(f"{g}* (all)", g)
        for a in actions:
            self.action.addItem(a, a)

    def load(self) -> None:
        self.apply.setEnabled(False)
        f = self.current_filter()
        tasks.run(lambda: self.trail.entries(f), self._loaded, self._failed)

    def _loaded(self, rows: list[AuditEntry]) -> None:
        self.apply.setEnabled(True)
        self.loaded = rows
        self.model.removeRows(0, self.model.rowCount())
        for e in reversed(rows):  # newest first
            cells = [str(e.seq), london(e.at), e.user, e.role.replace("_", " "), e.workstation,
                     e.action, e.device or "", e.outcome, _details(e)]
            items = [QStandardItem(c) for c in cells]
            items[1].setToolTip(f"{e.at} UTC")
            items[8].setToolTip(e.detail)
            if e.outcome != "ok":
                for it in items:
                    it.setForeground(QBrush(WARN if e.outcome == "denied" else BAD))
            self.model.appendRow(items)
        more = " (the newest; narrow the filters to see older ones)" if len(rows) >= SHOW_AT_MOST else ""
        self.summary.setText(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}{more}.")

    def _failed(self, exc: BaseException) -> None:
        self.apply.setEnabled(True)
        self.verify_button.setEnabled(True)
        self.summary.setText(f"Could not read the audit trail: {exc}")

    def verify(self) -> None:
        self.verify_button.setEnabled(False)
        self.verdict.setText("Verifying…")
        tasks.run(self.trail.verify, self._verified, self._failed)

    def _verified(self, v: Verdict) -> None:
        self.verify_button.setEnabled(True)
        if v.ok:
            self.verdict.setStyleSheet(f"color: {GOOD.name()}")
            self.verdict.setText(f"Intact: all {v.entries} entries chain and carry valid seals; "
                                 f"{v.checkpoints} checkpoints agree. Head {v.head[:16]}…")
        else:
            self.verdict.setStyleSheet(f"color: {BAD.name()}")
            self.verdict.setText("TAMPERED: " + " ".join(p.message + "." for p in v.problems))

    def export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export the audit trail",
                                              str(Path.home() / "beacon-audit.csv"), "CSV (*.csv)")
        if name:
            self.export_to(Path(name))

    def export_to(self, path: Path) -> None:
        f = self.current_filter()
        f.limit = None
        tasks.run(lambda: self.trail.export_csv(f, path),
                  lambda n: self.summary.setText(f"Exported {n} entries to {path}."), self._failed)
