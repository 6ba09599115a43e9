"""A loan's report on screen, and saved as an HTML page to send on."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from vms.loans.report import deployment_html
from vms.loans.triage import Triage


class ReportDialog(QDialog):
    def __init__(self, triage: Triage, deployment_id: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Loan report — Beacon VMS")
        sized(self, 860, 700)
        self.page = ""
        self.view = QTextBrowser()
        self.view.setObjectName("loanReport")
        self.view.setHtml("<p>Reading the alarms of this loan…</p>")
        self.status = QLabel("")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save |
                                   QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self._save)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        tasks.run(lambda: deployment_html(triage.report(deployment_id)), self._show,
                  lambda e: self.view.setHtml(f"<p>Could not make the report: {e}</p>"))

    def _show(self, page: str) -> None:
        self.page = page
        self.view.setHtml(page)
        self.save_button.setEnabled(True)

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
                  lambda e: self.status.setText(f"Could not save: {e}"))
