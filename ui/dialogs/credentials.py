"""Ask for the user name and password to add devices with (the password is never shown again)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from ui import tasks


class CredentialsDialog(QDialog):
    def __init__(self, count: int, area: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Device login")
        self.user = QLineEdit("admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.area = QLineEdit(area)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Log in to the {count} selected device{'s' if count != 1 else ''} "
                           "with this ONVIF account. The password is kept in the system keyring."))
        form.addRow("User name", self.user)
        form.addRow("Password", self.password)
        form.addRow("Add to area", self.area)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.password.setFocus()


class DeviceLoginDialog(QDialog):
    """A registered device's new ONVIF login, tried on the device before it is kept; a refusal
    is said here with what was typed still in place."""

    def __init__(self, name: str, user: str, change: Callable[[str, str], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Login of {name} — Beacon VMS")
        self.setMinimumWidth(420)
        self.change = change
        self.user = QLineEdit(user)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        intro = QLabel(f"The ONVIF account Beacon uses for {name}. It is tried on the device "
                       "first; the password is kept in the system keyring.")
        intro.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow("User name", self.user)
        form.addRow("Password", self.password)
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Try and save")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.password.setFocus()

    def _submit(self) -> None:
        user, pw = self.user.text().strip(), self.password.text()
        if not user or not pw:
            self.error.setText("Enter the user name and the password.")
            return
        self.ok.setEnabled(False)
        self.ok.setText("Trying…")
        self.error.setText("")
        tasks.run(lambda: self.change(user, pw), lambda _r: self.accept(), self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.ok.setEnabled(True)
        self.ok.setText("Try and save")
        text = str(exc)
        self.error.setText(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
        self.adjustSize()  # room for the whole sentence
