"""Ask for the user name and password to add devices with (the password is never shown again)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget


class CredentialsDialog(QDialog):
    def __init__(self, count: int, site: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Device login")
        self.user = QLineEdit("admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.site = QLineEdit(site)
        form = QFormLayout(self)
        form.addRow(QLabel(f"Log in to the {count} selected device{'s' if count != 1 else ''} "
                           "with this ONVIF account. The password is kept in the system keyring."))
        form.addRow("User name", self.user)
        form.addRow("Password", self.password)
        form.addRow("Add to site", self.site)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.password.setFocus()
