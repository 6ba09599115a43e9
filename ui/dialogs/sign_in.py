"""Sign in, first-run administrator, lock screen and change password.

Checking a password takes ~0.1 s of argon2 on purpose, so each check runs through
``ui.tasks``; the dialog shows it is working and says what went wrong in plain words.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from vms.access.access import Access
from vms.access.admin import change_own_password, create_first_administrator
from vms.access.passwords import MIN_LENGTH
from vms.access.session import Session, workstation
from vms.errors import VmsError


class _AccountDialog(QDialog):
    """A heading, a form, a red error line and one main button that runs a check off-thread."""

    def __init__(self, title: str, heading: str, text: str, button: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.setMinimumWidth(440)
        head = QLabel(heading)
        head.setObjectName("dialogHeading")
        self.text = QLabel(text)
        self.text.setWordWrap(True)
        self.text.setObjectName("paneHint")
        self.form = QFormLayout()
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox()
        self._label = button
        self.ok = QPushButton(button)
        self.ok.setDefault(True)
        self.buttons.addButton(self.ok, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.clicked.connect(self._submit)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.text)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.result_value: Any = None

    @property
    def session(self) -> Session | None:
        """What a sign-in or first-run dialog produced, once accepted."""
        value = self.result_value
        return value if isinstance(value, Session) else None

    def _field(self, label: str, secret: bool = False) -> QLineEdit:
        edit = QLineEdit()
        if secret:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        return edit

    def show_error(self, text: str) -> None:
        self.error.setText(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))
        self.error.show()

    def _submit(self) -> None:
        problem = self.problem()
        if problem:
            self.show_error(problem)
            return
        self.ok.setEnabled(False)
        self.ok.setText("Checking…")
        self.error.hide()
        tasks.run(self.work(), self._done, self._failed)

    def _done(self, value: Any) -> None:
        self.result_value = value
        self._restore()
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._restore()
        self.show_error(str(exc) if isinstance(exc, VmsError) else f"unexpected error: {exc}")
        self.after_failure()

    def _restore(self) -> None:
        self.ok.setEnabled(True)
        self.ok.setText(self._label)

    # -- for subclasses -----------------------------------------------------------
    def problem(self) -> str | None:
        return None

    def work(self) -> Callable[[], Any]:
        raise NotImplementedError

    def after_failure(self) -> None:
        pass


class SignInDialog(_AccountDialog):
    def __init__(self, access: Access, parent: QWidget | None = None, *, user: str = "",
                 note: str = "") -> None:
        super().__init__("Sign in — Beacon VMS", "Sign in to Beacon VMS",
                         note or f"Workstation {workstation()}. Every action is recorded in the "
                                 "audit trail under your name.", "Sign in", parent)
        self.access = access
        self.user = self._field("User name")
        self.user.setText(user)
        self.password = self._field("Password", secret=True)
        (self.password if user else self.user).setFocus()

    def problem(self) -> str | None:
        if not self.user.text().strip():
            return "enter your user name"
        if not self.password.text():
            return "enter your password"
        return None

    def work(self) -> Callable[[], Session]:
        name, pw = self.user.text().strip(), self.password.text()
        return lambda: self.access.sign_in(name, pw, via="desktop")

    def after_failure(self) -> None:
        self.password.clear()
        self.password.setFocus()


class FirstRunDialog(_AccountDialog):
    def __init__(self, access: Access, parent: QWidget | None = None) -> None:
        super().__init__("Welcome — Beacon VMS", "Create the administrator account",
                         "This profile has no user accounts yet. The administrator creates the "
                         "accounts of operators, supervisors, evidence officers and installers. "
                         f"Use a passphrase of at least {MIN_LENGTH} characters.",
                         "Create administrator", parent)
        self.access = access
        self.user = self._field("User name")
        self.password = self._field("Password", secret=True)
        self.again = self._field("Password again", secret=True)

    def problem(self) -> str | None:
        if not self.user.text().strip():
            return "choose a user name"
        if self.password.text() != self.again.text():
            return "the two passwords differ"
        return None

    def work(self) -> Callable[[], Session]:
        name, pw = self.user.text().strip(), self.password.text()

        def create() -> Session:
            create_first_administrator(self.access, name, pw, via="desktop",
                                       workstation=workstation())
            return self.access.sign_in(name, pw, via="desktop")

        return create


class LockDialog(_AccountDialog):
    """Shown over a hidden window; only the signed-in user's password unlocks it."""

    SIGNED_OUT = 2

    def __init__(self, access: Access, session: Session, parent: QWidget | None = None, *,
                 idle: bool = True, waiting: Callable[[], list[str]] | None = None) -> None:
        minutes = (session.idle_limit_s or 0) / 60
        why = (f"Locked after {minutes:g} minutes without activity." if idle
               else f"Locked by {session.user}.")
        super().__init__("Locked — Beacon VMS", "Beacon VMS is locked",
                         f"{why} Signed in as {session.user} "
                         f"({session.role.words}). Enter the password to continue, or sign out "
                         "so that someone else can sign in.", "Unlock", parent)
        self.access = access
        self.owner = session
        self.password = self._field("Password", secret=True)
        self.password.setFocus()
        self.sign_out = QPushButton("Sign out")
        self.buttons.addButton(self.sign_out, QDialogButtonBox.ButtonRole.RejectRole)
        self.sign_out.clicked.connect(lambda: self.done(self.SIGNED_OUT))
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        # Calls that arrive while locked are listed here, without video (the screen is not the
        # operator's until unlocked), and answered in one step with the password.
        self.waiting = waiting
        self.answer_after = False
        self.calls = QLabel("")
        self.calls.setObjectName("lockedCalls")
        self.calls.setWordWrap(True)
        self.calls.hide()
        self.answer = QPushButton("Unlock and answer")
        self.answer.setObjectName("unlockAndAnswer")
        self.answer.hide()
        self.buttons.addButton(self.answer, QDialogButtonBox.ButtonRole.ActionRole)
        self.answer.clicked.connect(self._answer)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(self.error), self.calls)
        if waiting is not None:
            self.clock = QTimer(self)
            self.clock.setInterval(1000)
            self.clock.timeout.connect(self.show_waiting)
            self.clock.start()
            self.show_waiting()

    def show_waiting(self) -> None:
        lines = self.waiting() if self.waiting is not None else []
        self.calls.setText("<b>Waiting to be answered:</b><br>" + "<br>".join(
            html.escape(line) for line in lines) if lines else "")
        if self.calls.isHidden() == bool(lines):
            self.calls.setVisible(bool(lines))
            self.adjustSize()
        self.answer.setVisible(bool(lines))
        if lines:  # the password and one click answer it: the main button becomes that one
            self.answer.setDefault(True)
        else:
            self.ok.setDefault(True)

    def _answer(self) -> None:
        self.answer_after = True
        self._submit()

    def reject(self) -> None:  # Esc does not unlock
        pass

    def problem(self) -> str | None:
        return None if self.password.text() else "enter the password"

    def work(self) -> Callable[[], None]:
        pw = self.password.text()
        return lambda: self.access.unlock(self.owner, pw)

    def after_failure(self) -> None:
        self.answer_after = False
        self.password.clear()
        if self.owner.ended:  # locked out: only signing out is left
            self.ok.setEnabled(False)


class ChangePasswordDialog(_AccountDialog):
    def __init__(self, access: Access, session: Session, parent: QWidget | None = None, *,
                 required: bool = False) -> None:
        text = ("An administrator gave you a temporary password. Choose your own before you "
                "continue." if required else "Choose a new password.")
        super().__init__("Change password — Beacon VMS", f"Change the password of {session.user}",
                         text + f" At least {MIN_LENGTH} characters.", "Change password", parent)
        self.access = access
        self.owner = session
        self.current = self._field("Current password", secret=True)
        self.new = self._field("New password", secret=True)
        self.again = self._field("New password again", secret=True)

    def problem(self) -> str | None:
        if self.new.text() != self.again.text():
            return "the two new passwords differ"
        return None

    def work(self) -> Callable[[], None]:
        cur, new = self.current.text(), self.new.text()
        return lambda: change_own_password(self.access, self.owner, cur, new)
