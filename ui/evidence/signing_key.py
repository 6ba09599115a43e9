"""Setting up the evidence signing key from the desktop, before the first export.

Every package is sealed with this workstation's key, so an export without one can only fail
on its last page. The desktop asks for it first: a local evidence CA made here, or the
council's own certificate imported from a PKCS#12 file. The work runs off the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from vms.evidence.ca import Signer
from vms.evidence.signing import SigningKeySetup

MAX_P12_BYTES = 1_000_000  # a certificate and key with its chain; anything bigger is not one


class SigningKeyDialog(QDialog):
    def __init__(self, setup: SigningKeySetup, organisation: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setup = setup
        self.signer: Signer | None = None
        self.setWindowTitle("Evidence signing key — Beacon VMS")
        v = QVBoxLayout(self)
        self.intro = intro = QLabel("This workstation has no evidence signing key yet. Every exported "
                       "package is sealed with it, so that a court or a defence expert can "
                       "check it has not been changed. Set it up once, here.")
        intro.setWordWrap(True)
        v.addWidget(intro)
        self.make_ca = QRadioButton("Create a local evidence certificate authority on this "
                                   "workstation")
        self.import_p12 = QRadioButton("Import the council's evidence certificate (a PKCS#12 "
                                     "file, .p12 or .pfx)")
        group = QButtonGroup(self)
        for b in (self.make_ca, self.import_p12):
            group.addButton(b)
        self.make_ca.setChecked(True)

        v.addWidget(self.make_ca)
        self.create_form = QWidget()
        f = QFormLayout(self.create_form)
        f.setContentsMargins(24, 0, 0, 0)
        self.organisation = QLineEdit(organisation or "Beacon VMS control room")
        f.addRow("Organisation:", self.organisation)
        v.addWidget(self.create_form)

        v.addWidget(self.import_p12)
        self.import_form = QWidget()
        f = QFormLayout(self.import_form)
        f.setContentsMargins(24, 0, 0, 0)
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        self.file = QLineEdit()
        self.file.setPlaceholderText("the file your evidence CA issued")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        h.addWidget(self.file, 1)
        h.addWidget(browse)
        f.addRow("File:", row)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        f.addRow("File password:", self.password)
        v.addWidget(self.import_form)

        self.note = QLabel("Recipients check packages against the root certificate: the "
                           "local authority's, or the council's evidence CA when its file is "
                           "imported. It is kept as evidence/root.crt in this profile.")
        self.note.setWordWrap(True)
        v.addWidget(self.note)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setObjectName("errorText")
        v.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.addButton("Set up the key",
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._set_up)
        self.buttons.rejected.connect(self.reject)
        v.addWidget(self.buttons)
        for b in (self.make_ca, self.import_p12):
            b.toggled.connect(lambda _on: self._mode())
        self.password.textEdited.connect(lambda _t: self.error.setText(""))  # being corrected
        self._mode()
        self.resize(620, self.sizeHint().height())

    def _mode(self) -> None:
        self.create_form.setEnabled(self.make_ca.isChecked())
        self.import_form.setEnabled(self.import_p12.isChecked())

    def _browse(self) -> None:
        got, _ = QFileDialog.getOpenFileName(self, "Evidence certificate", str(Path.home()),
                                             "PKCS#12 (*.p12 *.pfx);;All files (*)")
        if got:
            self.file.setText(got)

    def _set_up(self) -> None:
        self.error.setText("")
        setup = self.setup
        if self.make_ca.isChecked():
            org = self.organisation.text().strip()
            if not org:
                self.error.setText("Give the organisation's name: it is written in the "
                                   "certificates that seal every package.")
                return

            def work() -> Signer:
                return setup.create(org)
        else:
            path = Path(self.file.text().strip())
            if not self.file.text().strip():
                self.error.setText("Choose the PKCS#12 file to import.")
                return
            password = self.password.text().encode() or None

            def work() -> Signer:
                try:
                    if path.stat().st_size > MAX_P12_BYTES:
                        raise ValueError(f"{path.name} is too large to be a PKCS#12 "
                                         "certificate file")
                    data = path.read_bytes()
                except OSError as exc:
                    raise ValueError(f"{path.name} could not be read: "
                                     f"{exc.strerror or exc}") from None
                return setup.import_pkcs12(data, password)
        self.ok.setEnabled(False)
        self.ok.setText("Setting up…")
        tasks.run(work, self._done, self._failed)

    def _done(self, signer: Signer) -> None:
        self.signer = signer
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.ok.setEnabled(True)
        self.ok.setText("Set up the key")
        self.error.setText(f"The key was not set up: {exc}")
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))  # all of it
        if self.import_p12.isChecked():
            self.password.selectAll()  # typed again over the wrong one
            self.password.setFocus()
