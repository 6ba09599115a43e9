"""User accounts for administrators: add, reset a password, change role, disable, unlock.

Every button calls ``UserAdmin``, which checks the administrator's session and audits
the change; this dialog only collects input and shows results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.screen import sized
from ui.tables import row_table
from vms.access.accounts import User
from vms.access.admin import UserAdmin
from vms.access.passwords import MIN_LENGTH
from vms.access.roles import Role
from vms.audit.log import london

COLUMNS = ["User", "Role", "State", "Cameras", "Last sign-in (UK)"]


class UserForm(QDialog):
    """Name, role and a temporary password (entered twice)."""

    def __init__(self, parent: QWidget | None, *, name: str = "", role_only: bool = False,
                 password_only: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("User — Beacon VMS")
        self.setMinimumWidth(420)
        form = QFormLayout(self)
        self.name = QLineEdit(name)
        self.role = QComboBox()
        for r in Role:
            self.role.addItem(r.words.capitalize(), r)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        if not (role_only or password_only):
            form.addRow("User name", self.name)
        if not password_only:
            form.addRow("Role", self.role)
        if not role_only:
            form.addRow("Temporary password", self.password)
            form.addRow("Again", self.again)
            hint = QLabel(f"At least {MIN_LENGTH} characters. The user must choose their own "
                          "at first sign-in.")
            hint.setObjectName("paneHint")
            hint.setWordWrap(True)
            form.addRow(hint)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        self.password_only = password_only
        self.role_only = role_only
        self.buttons_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                            | QDialogButtonBox.StandardButton.Cancel)
        self.buttons_box.accepted.connect(self._check)
        self.buttons_box.rejected.connect(self.reject)
        form.addRow(self.buttons_box)

    def chosen_role(self) -> Role:
        """The role picked; a combo box hands back a ``StrEnum`` as its plain string."""
        return Role(self.role.currentData())

    def _check(self) -> None:
        """Say what is wrong while the form is still open, so nothing typed is lost."""
        if not (self.role_only or self.password_only) and not self.name.text().strip():
            self.error.setText("Enter a user name.")
            return
        if not self.role_only and len(self.password.text()) < MIN_LENGTH:
            self.error.setText(f"The password needs at least {MIN_LENGTH} characters.")
            return
        if not self.role_only and self.password.text() != self.again.text():
            self.error.setText("The two passwords differ.")
            return
        self.accept()


class UsersDialog(QDialog):
    def __init__(self, admin: UserAdmin, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin = admin
        self.setWindowTitle("Users — Beacon VMS")
        sized(self, 820, 420)
        self.model, self.table = row_table(COLUMNS, QAbstractItemView.SelectionMode.SingleSelection)
        self.status = QLabel("")
        self.status.setObjectName("paneHint")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (("add", "Add user…", self.add), ("reset", "Reset password…",
                                                                  self.reset),
                                ("role", "Change role…", self.change_role),
                                ("toggle", "Disable", self.toggle), ("unlock", "Unlock", self.unlock)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            self.buttons[key] = b
            row.addWidget(b)
        row.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self.users: list[User] = []
        self.table.selectionModel().selectionChanged.connect(self._selection)
        self.refresh()

    def refresh(self) -> None:
        tasks.run(self.admin.users, self._loaded, self._failed)

    def _loaded(self, users: list[User]) -> None:
        self.users = users
        self.model.removeRows(0, self.model.rowCount())
        for u in users:
            cams = "all" if u.all_cameras else ", ".join(u.groups) or "none"
            self.model.appendRow([QStandardItem(x) for x in (
                u.name, u.role.words, u.state(), cams,
                london(u.last_sign_in) if u.last_sign_in else "never")])
        self.table.resizeColumnsToContents()
        self._selection()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(str(exc)[:1].upper() + str(exc)[1:] + ".")

    def selected(self) -> User | None:
        rows = self.table.selectionModel().selectedRows()
        return self.users[rows[0].row()] if rows else None

    def _selection(self) -> None:
        u = self.selected()
        for key in ("reset", "role", "toggle", "unlock"):
            self.buttons[key].setEnabled(u is not None)
        self.buttons["toggle"].setText("Enable" if u and u.disabled else "Disable")
        self.buttons["unlock"].setEnabled(bool(u and u.locked_now()))

    def _do(self, fn: Callable[[], Any], said: str) -> None:
        def done(_r: object) -> None:
            self.status.setText(said)
            self.refresh()

        tasks.run(fn, done, self._failed)

    def add(self) -> None:
        form = UserForm(self)
        if form.exec() == QDialog.DialogCode.Accepted:
            name, role, pw = form.name.text().strip(), form.chosen_role(), form.password.text()
            self._do(lambda: self.admin.add(name, role, pw, temporary=True),
                     f"Added {role.words} '{name}'; they choose their own password at first "
                     "sign-in.")

    def reset(self) -> None:
        u = self.selected()
        if u is None:
            return
        form = UserForm(self, name=u.name, password_only=True)
        if form.exec() == QDialog.DialogCode.Accepted:
            pw = form.password.text()
            self._do(lambda: self.admin.reset_password(u.name, pw),
                     f"'{u.name}' has a temporary password and must change it at sign-in.")

    def change_role(self) -> None:
        u = self.selected()
        if u is None:
            return
        form = UserForm(self, name=u.name, role_only=True)
        form.role.setCurrentIndex(list(Role).index(u.role))
        if form.exec() == QDialog.DialogCode.Accepted:
            role = form.chosen_role()
            self._do(lambda: self.admin.set_role(u.name, role), f"'{u.name}' is now {role.words}.")

    def toggle(self) -> None:
        u = self.selected()
        if u is not None:
            self._do(lambda: self.admin.set_disabled(u.name, not u.disabled),
                     f"'{u.name}' is {'enabled' if u.disabled else 'disabled'}.")

    def unlock(self) -> None:
        u = self.selected()
        if u is not None:
            self._do(lambda: self.admin.unlock(u.name), f"'{u.name}' is unlocked.")
