"""The evidence export wizard: what (cameras and range), why (the request), where, then a
progress page. The export runs off the GUI thread (``ui.tasks``); the worker only writes
its latest progress into a slot that a GUI timer reads, and Cancel sets a flag the export
checks between files, so a cancelled export leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDateTime, Qt, QTimer, QTimeZone
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ui import tasks
from ui.screen import sized
from vms.errors import Cancelled
from vms.evidence.incident_scope import IncidentScope
from vms.evidence.package import Progress, Request, Result
from vms.evidence.service import EvidenceService
from vms.evidence.utc import parse

LONDON = ZoneInfo("Europe/London")
LEGAL_BASES = [
    "Data Protection Act 2018, Part 3, s.35 (law enforcement processing)",
    "Data Protection Act 2018, Schedule 2, para 2 (crime and taxation)",
    "Court order",
    "Subject access request (UK GDPR Art. 15)",
]


def _short(t: dt.datetime) -> str:
    local = t.astimezone(LONDON)
    return f"{local.strftime('%d %b %H:%M')} {local.tzname()}"


def _zone_note(t: dt.datetime) -> str:
    local = t.astimezone(LONDON)
    return f"{local.strftime('%d %b %Y %H:%M:%S')} {local.tzname()} (UTC {t.strftime('%H:%M:%S')})"


class _WhatPage(QWizardPage):
    def __init__(self, cameras: list[tuple[int, str]], chosen: list[int], start: dt.datetime,
                 end: dt.datetime, incidents: list[IncidentScope]) -> None:
        super().__init__()
        self.setTitle("What to export")
        self.setSubTitle("An incident, or cameras and a time range. Times are London time; GMT "
                         "or BST is shown beside each.")
        outer = QVBoxLayout(self)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)  # spare height below the form, not between its rows
        self.incidents = incidents
        self.incident = QComboBox()
        self.incident.addItem("None: choose cameras and times below", None)
        for scope in incidents:
            inc = scope.incident
            when = parse(inc.raised_utc)
            ref = f", police ref {inc.police_ref}" if inc.police_ref else ""
            self.incident.addItem(f"#{inc.id} {inc.title}, {_short(when)}{ref} "
                                  f"({inc.state})", inc.id)
        self.incident.currentIndexChanged.connect(self._incident_chosen)
        form.addRow("From an incident:", self.incident)
        self.cams = QListWidget()
        for cid, name in cameras:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, cid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if cid in chosen else Qt.CheckState.Unchecked)
            self.cams.addItem(item)
        self.cams.setMaximumHeight(120)
        self.cams.itemChanged.connect(lambda _i: self.completeChanged.emit())
        form.addRow("Cameras:", self.cams)
        zone = QTimeZone(b"Europe/London")
        self.start, self.end = QDateTimeEdit(), QDateTimeEdit()
        self.start_note, self.end_note = QLabel(), QLabel()
        for edit, value in ((self.start, start), (self.end, end)):
            edit.setTimeZone(zone)
            edit.setDisplayFormat("dd MMM yyyy  HH:mm:ss")
            edit.setCalendarPopup(True)
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp()), zone))
            edit.dateTimeChanged.connect(lambda _v: self._changed())
        form.addRow("From:", self.start)
        form.addRow("", self.start_note)
        form.addRow("To:", self.end)
        form.addRow("", self.end_note)
        self.exhibit = QLineEdit()
        self.exhibit.setPlaceholderText("e.g. JS/1 (the producer's initials and a number)")
        self.exhibit.textChanged.connect(lambda _t: self.completeChanged.emit())
        form.addRow("Exhibit reference:", self.exhibit)
        self.label = QLineEdit()
        self.label.setPlaceholderText("e.g. CCTV Market Square, 25/10/2026 01:30-02:15")
        form.addRow("Exhibit label:", self.label)
        self._changed()

    def chosen_incident(self) -> IncidentScope | None:
        iid = self.incident.currentData()
        return next((s for s in self.incidents if s.incident.id == iid), None)

    def _incident_chosen(self) -> None:
        """The incident's locked footage: its cameras, pre-roll to post-roll."""
        scope = self.chosen_incident()
        if scope is None:
            return
        ids = {cid for cid, _name in scope.cameras}
        for i in range(self.cams.count()):
            item = self.cams.item(i)
            on = int(item.data(Qt.ItemDataRole.UserRole)) in ids
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        zone = QTimeZone(b"Europe/London")
        for edit, value in ((self.start, scope.start), (self.end, scope.end)):
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp()), zone))
        if scope.end > scope.start and scope.end.microsecond:  # whole seconds, end included
            self.end.setDateTime(self.end.dateTime().addSecs(1))
        self.label.setText(scope.label)

    def _changed(self) -> None:
        self.start_note.setText(_zone_note(self.range()[0]))
        self.end_note.setText(_zone_note(self.range()[1]))
        self.completeChanged.emit()

    def range(self) -> tuple[dt.datetime, dt.datetime]:
        return (dt.datetime.fromtimestamp(self.start.dateTime().toSecsSinceEpoch(), dt.UTC),
                dt.datetime.fromtimestamp(self.end.dateTime().toSecsSinceEpoch(), dt.UTC))

    def chosen(self) -> list[int]:
        return [int(self.cams.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.cams.count())
                if self.cams.item(i).checkState() == Qt.CheckState.Checked]

    def isComplete(self) -> bool:
        a, b = self.range()
        return bool(self.chosen()) and b > a and bool(self.exhibit.text().strip())


class _RequestPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Who asked, and why")
        self.setSubTitle("Recorded in the package and the audit trail. Purpose and legal basis "
                         "are required.")
        form = QFormLayout(self)
        self.officer, self.force, self.crime = QLineEdit(), QLineEdit(), QLineEdit()
        self.authoriser = QLineEdit()
        self.officer.setPlaceholderText("e.g. PC 1234 Smith")
        self.crime.setPlaceholderText("crime or incident reference")
        self.purpose = QTextEdit()
        self.purpose.setPlaceholderText("e.g. Investigation of an assault reported at 01:40")
        self.purpose.setMaximumHeight(70)
        self.basis = QComboBox()
        self.basis.setEditable(True)
        self.basis.addItems(["", *LEGAL_BASES])
        self.purpose.textChanged.connect(self.completeChanged.emit)
        self.basis.currentTextChanged.connect(lambda _t: self.completeChanged.emit())
        form.addRow("Requesting officer:", self.officer)
        form.addRow("Force:", self.force)
        form.addRow("Crime / incident ref:", self.crime)
        form.addRow("Purpose (required):", self.purpose)
        form.addRow("Legal basis (required):", self.basis)
        form.addRow("Authorised by:", self.authoriser)

    def request(self) -> Request:
        return Request(purpose=self.purpose.toPlainText().strip(),
                       legal_basis=self.basis.currentText().strip(),
                       requesting_officer=self.officer.text().strip(),
                       force=self.force.text().strip(), crime_reference=self.crime.text().strip(),
                       received_utc=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                       authoriser=self.authoriser.text().strip())

    def isComplete(self) -> bool:
        return bool(self.purpose.toPlainText().strip() and self.basis.currentText().strip())


class _WherePage(QWizardPage):
    def __init__(self, default: Path, tsa: str) -> None:
        super().__init__()
        self.setTitle("Where to write it")
        self.setSubTitle("The package is built in a hidden folder there and appears only when "
                         "it is complete and sealed.")
        form = QFormLayout(self)
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        self.folder = QLineEdit(str(default))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        h.addWidget(self.folder, 1)
        h.addWidget(browse)
        form.addRow("Folder:", row)
        self.folder.textChanged.connect(lambda _t: self.completeChanged.emit())
        self.tsa = QLineEdit(tsa)
        self.tsa.setPlaceholderText("none: the package is sealed pending a time-stamp")
        form.addRow("Time-stamp authority:", self.tsa)

    def _browse(self) -> None:
        got = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if got:
            self.folder.setText(got)

    def isComplete(self) -> bool:
        return bool(self.folder.text().strip())


class _RunPage(QWizardPage):
    def __init__(self, wizard: ExportWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle("Exporting")
        v = QVBoxLayout(self)
        self.stage = QLabel("Ready.")
        self.stage.setWordWrap(True)
        self.bar = QProgressBar()
        self.left = QLabel("")
        self.cancel = QPushButton("Cancel export")
        self.cancel.clicked.connect(wizard.cancel_export)
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for w in (self.stage, self.bar, self.left, self.cancel, self.outcome):
            v.addWidget(w)
        v.addStretch(1)

    def initializePage(self) -> None:
        self.wiz.start_export()

    def isComplete(self) -> bool:
        return self.wiz.finished_export


class ExportWizard(QWizard):
    def __init__(self, service: EvidenceService, cameras: list[tuple[int, str]],
                 chosen: list[int], start: dt.datetime, end: dt.datetime, out_dir: Path,
                 tsa_url: str = "", parent: QWidget | None = None,
                 incidents: list[IncidentScope] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export evidence — Beacon VMS")
        sized(self, 720, 600)
        self.service = service
        self.what = _WhatPage(cameras, chosen, start, end, incidents or [])
        self.why = _RequestPage()
        self.where = _WherePage(out_dir, tsa_url)
        self.run_page = _RunPage(self)
        self.what.incident.currentIndexChanged.connect(self._incident_reference)
        for page in (self.what, self.why, self.where, self.run_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Export")
        self.where.setCommitPage(True)
        self.finished_export = False
        self.result_: Result | None = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._latest: Progress | None = None
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)

    def choose_incident(self, incident_id: int) -> bool:
        i = self.what.incident.findData(incident_id)
        if i >= 0:
            self.what.incident.setCurrentIndex(i)
        return i >= 0

    def _incident_reference(self) -> None:
        scope = self.what.chosen_incident()
        if scope is not None and scope.incident.police_ref and not self.why.crime.text():
            self.why.crime.setText(scope.incident.police_ref)

    # -- what is kept between openings ----------------------------------------------------
    def draft(self) -> dict[str, str]:
        """What was typed, so that a wizard closed before it exported (cancelled, failed,
        or to check something) opens again as it was left. After an export only the folder
        and the time-stamp authority are kept: the next exhibit is another request."""
        kept = {"folder": self.where.folder.text(), "tsa": self.where.tsa.text()}
        if self.result_ is not None:
            return kept
        why = self.why
        return {**kept, "exhibit": self.what.exhibit.text(), "label": self.what.label.text(),
                "officer": why.officer.text(), "force": why.force.text(),
                "crime": why.crime.text(), "authoriser": why.authoriser.text(),
                "purpose": why.purpose.toPlainText(), "basis": why.basis.currentText()}

    def restore(self, draft: dict[str, str]) -> None:
        fields = {"folder": self.where.folder, "tsa": self.where.tsa,
                  "exhibit": self.what.exhibit, "officer": self.why.officer,
                  "force": self.why.force, "crime": self.why.crime,
                  "authoriser": self.why.authoriser}
        for key, edit in fields.items():
            if draft.get(key):
                edit.setText(draft[key])
        if draft.get("label") and not self.what.label.text():  # an incident's own label wins
            self.what.label.setText(draft["label"])
        if draft.get("purpose"):
            self.why.purpose.setPlainText(draft["purpose"])
        if draft.get("basis"):
            self.why.basis.setCurrentText(draft["basis"])

    # -- running ---------------------------------------------------------------------------
    def start_export(self) -> None:
        cams = self.what.chosen()
        start, end = self.what.range()
        exhibit, label = self.what.exhibit.text().strip(), self.what.label.text().strip()
        request = self.why.request()
        out = Path(self.where.folder.text().strip())
        tsa = self.where.tsa.text().strip() or None
        scope = self.what.chosen_incident()
        incident_id = scope.incident.id if scope is not None else None
        self._started = time.monotonic()
        self._timer.start()

        def progress(p: Progress) -> None:
            self._latest = p  # read by the GUI timer; never a widget from here

        def work() -> Result:
            return self.service.export(cameras=cams, start=start, end=end, exhibit=exhibit,
                                       label=label, out_dir=out, request=request, tsa_url=tsa,
                                       on_progress=progress, cancelled=self._cancel.is_set,
                                       require_request=True, incident_id=incident_id)
        tasks.run(work, self._done, self._failed)

    def cancel_export(self) -> None:
        self._cancel.set()
        self.run_page.cancel.setEnabled(False)
        self.run_page.stage.setText("Cancelling… nothing will be left behind.")

    def _tick(self) -> None:
        p = self._latest
        if p is None or not p.total_bytes:
            return
        self.run_page.bar.setMaximum(1000)
        self.run_page.bar.setValue(int(1000 * p.done_bytes / p.total_bytes))
        self.run_page.stage.setText(p.stage)
        spent = time.monotonic() - self._started
        if p.done_bytes and p.done_bytes < p.total_bytes:
            left = spent * (p.total_bytes - p.done_bytes) / p.done_bytes
            self.run_page.left.setText(f"About {left:.0f} s left")
        else:
            self.run_page.left.setText("Finishing…")

    def _finish(self) -> None:
        self._timer.stop()
        self.finished_export = True
        self.run_page.cancel.setEnabled(False)
        self.run_page.completeChanged.emit()
        self.button(QWizard.WizardButton.BackButton).setEnabled(False)

    def _done(self, result: Result) -> None:
        self.result_ = result
        self._finish()
        self.run_page.bar.setValue(self.run_page.bar.maximum())
        self.run_page.left.setText("")
        why = ("the time-stamp authority could not be reached" if self.where.tsa.text().strip()
               else "no time-stamp authority was given")
        state = ("sealed and time-stamped" if result.state == "sealed" else
                 f"sealed, pending a time-stamp ({why}); it is valid as it is, and an "
                 "administrator can add the time-stamp once the authority answers "
                 "(vms seal --timestamp)")
        pieces = "piece" if result.segments == 1 else "pieces"
        self.run_page.stage.setText(f"Exported {result.segments} recorded {pieces}, "
                                    f"{result.bytes / 1e6:.1f} MB: {state}.")
        warnings = "".join(f"<br>⚠ {w}" for w in result.warnings)
        self.run_page.outcome.setText(f"<b>Package:</b> {result.path}{warnings}")

    def _failed(self, exc: BaseException) -> None:
        self.error = exc
        self._finish()
        self.run_page.bar.setValue(0)
        self.run_page.left.setText("")
        if isinstance(exc, Cancelled):
            self.run_page.stage.setText("Cancelled. Nothing was written.")
        else:
            self.run_page.stage.setText(f"The export failed: {exc}")
