"""Verify a package: drop its folder in (or browse), read the report. Verification runs off
the GUI thread; trust roots are chosen here, never taken from the package."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
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
from vms.evidence.verify import INVALID, PENDING, VALID, Report, verify

COLOURS = {VALID: "#1b7f3b", PENDING: "#a06000", INVALID: "#b00020"}


def _pick(parent: QWidget, edit: QLineEdit, title: str) -> None:
    got, _ = QFileDialog.getOpenFileName(parent, title, edit.text(), "Certificates (*.pem *.crt)")
    if got:
        edit.setText(got)


class VerifyWindow(QWidget):
    verified = Signal(object)  # the Report, for tests and the audit

    def __init__(self, trust_root: Path | None, tsa_root: Path | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Verify evidence package — Beacon VMS")
        sized(self, 900, 700)
        self.setAcceptDrops(True)
        v = QVBoxLayout(self)
        self.drop = QLabel("Drop an evidence package folder here, or choose one.")
        self.drop.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop.setMinimumHeight(70)
        self.drop.setStyleSheet("border: 2px dashed #888; border-radius: 8px; font-size: 15px;")
        v.addWidget(self.drop)
        form = QFormLayout()
        self.package = QLineEdit()
        self.trust = QLineEdit(str(trust_root) if trust_root else "")
        self.tsa = QLineEdit(str(tsa_root) if tsa_root else "")
        for label, edit, title in (("Package folder:", self.package, None),
                                   ("Evidence root (trusted):", self.trust, "Evidence root"),
                                   ("TSA root (trusted):", self.tsa, "TSA root")):
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            h.addWidget(edit, 1)
            b = QPushButton("Choose…")
            if title is None:
                b.clicked.connect(self._choose_package)
            else:
                b.clicked.connect(lambda _=False, e=edit, t=title: _pick(self, e, t))
            h.addWidget(b)
            form.addRow(label, row)
        v.addLayout(form)
        self.go = QPushButton("Verify")
        self.go.clicked.connect(self.run)
        v.addWidget(self.go, 0, Qt.AlignmentFlag.AlignLeft)
        self.status = QLabel("")
        self.status.setStyleSheet("font-size: 20px; font-weight: bold;")
        v.addWidget(self.status)
        self.report = QTextBrowser()
        v.addWidget(self.report, 1)
        self.last: Report | None = None

    def _choose_package(self) -> None:
        got = QFileDialog.getExistingDirectory(self, "Evidence package", self.package.text())
        if got:
            self.package.setText(got)
            self.run()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.open(Path(urls[0].toLocalFile()))

    def open(self, package: Path) -> None:
        self.package.setText(str(package))
        self.run()

    def run(self) -> None:
        package = Path(self.package.text().strip())
        if not self.package.text().strip():
            return
        roots = self._read(self.trust)
        tsa = self._read(self.tsa)
        self.go.setEnabled(False)
        self.status.setText("Checking every file…")
        self.status.setStyleSheet("font-size: 20px; font-weight: bold; color: #444;")
        self.report.clear()
        tasks.run(lambda: verify(package, roots, tsa), self._show, self._failed)

    @staticmethod
    def _read(edit: QLineEdit) -> list[bytes]:
        text = edit.text().strip()
        if not text:
            return []
        try:
            return [Path(text).read_bytes()]
        except OSError:
            return []

    def _failed(self, exc: BaseException) -> None:
        self.go.setEnabled(True)
        self.status.setText("The package could not be checked")
        self.report.setPlainText(str(exc))

    def _show(self, r: Report) -> None:
        self.go.setEnabled(True)
        self.last = r
        words = {VALID: "VALID: sealed, time-stamped and intact",
                 PENDING: "VALID, PENDING TIME-STAMP: intact and signed; time self-asserted",
                 INVALID: f"INVALID: {len(r.failures)} problem(s) found"}[r.status]
        self.status.setText(words)
        self.status.setStyleSheet(f"font-size: 20px; font-weight: bold; "
                                  f"color: {COLOURS[r.status]};")
        e = html.escape
        parts = [f"<p><b>Package</b>: {e(r.package)}<br><b>Exhibit</b>: {e(r.exhibit or '?')}"]
        parts.append(f"<br><b>Signed by</b>: {e(r.signer or 'unknown')}"
                     + (f" <small>(SHA-256 {e(r.signer_sha256)})</small>" if r.signer_sha256
                        else ""))
        parts.append(f"<br><b>Trusted time</b>: {e(r.trusted_time_london or 'none')}"
                     + (f" from {e(r.tsa)}" if r.tsa else "") + "</p>")
        if r.failures:
            parts.append("<h3>Problems</h3><ul>" + "".join(
                f"<li><b>{e(c.step)}</b>: {e(c.message)}"
                + (f" <code>{e(c.file)}</code>" if c.file else "") + "</li>"
                for c in r.failures) + "</ul>")
        if r.warnings:
            parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{e(w)}</li>" for w in r.warnings)
                         + "</ul>")
        parts.append("<h3>Checks passed</h3><ul>" + "".join(
            f"<li>{e(c.step)}: {e(c.message)}</li>" for c in r.checks if c.ok) + "</ul>")
        ok = sum(1 for v in r.files.values() if v == "ok")
        parts.append(f"<p>{ok} of {len(r.files)} file(s) match their manifests.</p>")
        self.report.setHtml("".join(parts))
        self.verified.emit(r)
