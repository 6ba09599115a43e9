"""A loan's report on screen, and saved as an HTML page to send on; and, below it, where the
police's result of each escalation is recorded when they report it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from vms.loans.report import deployment_html, when_words
from vms.loans.triage import POLICE_RESULTS, PoliceResult, Triage


class ReportDialog(QDialog):
    def __init__(self, triage: Triage, deployment_id: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Loan report — Beacon VMS")
        sized(self, 860, 700)
        self.triage = triage
        self.deployment_id = deployment_id
        self.page = ""
        self.report: dict[str, Any] = {}
        self.view = QTextBrowser()
        self.view.setObjectName("loanReport")
        self.view.setHtml("<p>Reading the alarms of this loan…</p>")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.police = QGroupBox("Police result of an escalation (as the police report it back)")
        self.escalation = QComboBox()
        self.outcome = QComboBox()
        for key, words in POLICE_RESULTS.items():
            self.outcome.addItem(words, key)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note, e.g. the crime number (no names: anyone who reads "
                                     "loan reports sees it)")
        self.record = QPushButton("Record police result")
        self.record.clicked.connect(self._record)
        rows = QVBoxLayout(self.police)
        rows.addWidget(self.escalation)
        row = QHBoxLayout()
        row.addWidget(self.outcome)
        row.addWidget(self.note, 1)
        row.addWidget(self.record)
        rows.addLayout(row)
        self.police.setVisible(False)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save |
                                   QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self._save)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.police)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.load()

    def load(self) -> None:
        def read() -> tuple[dict[str, Any], str]:
            rep = self.triage.report(self.deployment_id)
            return rep, deployment_html(rep)
        tasks.run(read, self._show,
                  lambda e: self.view.setHtml(f"<p>Could not make the report: {e}</p>"), owner=self)

    def _show(self, got: tuple[dict[str, Any], str]) -> None:
        self.report, self.page = got
        self.view.setHtml(self.page)
        self.save_button.setEnabled(True)
        chosen = self.escalation.currentData()
        self.escalation.clear()
        for x in self.report["escalations"]:
            result = POLICE_RESULTS.get(x["police_result"] or "", "result awaited")
            self.escalation.addItem(f"Alarm {x['incident']}, {when_words(x['raised_utc'])}, "
                                    f"ref {x['reference']}: {result}", x["incident"])
        if chosen is not None and self.escalation.findData(chosen) >= 0:
            self.escalation.setCurrentIndex(self.escalation.findData(chosen))
        self.police.setVisible(bool(self.report["escalations"]))

    def _record(self) -> None:
        iid = self.escalation.currentData()
        if iid is None:
            return
        result, note = self.outcome.currentData(), self.note.text()
        self.record.setEnabled(False)

        def done(got: PoliceResult) -> None:
            self.record.setEnabled(True)
            self.note.clear()
            self.status.setText(f"Alarm {iid}: {got.words} recorded.")
            self.load()

        def refused(exc: BaseException) -> None:
            self.record.setEnabled(True)
            self.status.setText(f"Not recorded: {exc}")
        tasks.run(lambda: self.triage.police_result(iid, result, note), done, refused, owner=self)

    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the loan report",
                                              str(Path.home() / "loan-report.html"),
                                              "HTML (*.html)")
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        page = self.page
        tasks.run(lambda: path.write_text(page, encoding="utf-8"),
                  lambda _r: self.status.setText(f"Saved to {path}"),
                  lambda e: self.status.setText(f"Could not save: {e}"), owner=self)
