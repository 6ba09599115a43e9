"""The loans dashboard: what the scheme coordinator works from each morning.

Three lists that need action (loans ending within 7 days, kit overdue for removal, premises
on test) above every active loan. Reads and changes go through ``vms.loans.Loans`` off
the GUI thread (``ui.tasks``); the victim's contact is shown only on request, to roles
that may read it, and each reading is audited by the core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.loans.dates import date_edit, pydate
from ui.loans.feedback import FeedbackDialog
from ui.screen import sized
from vms.access.roles import Permission
from vms.loans.feedback import Feedback, Survey
from vms.loans.loans import REASONS, Dashboard, Deployment, Loans

AMBER, RED = QColor("#fff1c2"), QColor("#ffd6d6")
LOAN_COLUMNS = ["Premises", "URN", "Kit", "Installed", "Day", "Ends", "Days left", "Status",
                "Signage"]


def _d(day: dt.date) -> str:
    return day.strftime("%a %d %b %Y")


def kit(d: Deployment) -> str:
    return ", ".join(name for _id, name in d.devices)


class LoansWindow(QWidget):
    loaded = Signal()
    report_requested = Signal(int)  # deployment id
    evaluation_requested = Signal(object)  # premises id, or None

    def __init__(self, loans: Loans, devices: list[tuple[int, str]],
                 today: dt.date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Loaned cameras — Beacon VMS")
        sized(self, 1100, 760)
        self.loans = loans
        self.devices = devices
        self.fixed_today = today
        self.board: Dashboard | None = None
        self.contact_shown = ""
        access, session = loans.access, loans.session
        self.may_manage = access.can(session, Permission.LOANS_MANAGE)
        self.may_contact = access.can(session, Permission.PREMISES_CONTACT)

        self.heading = QLabel()
        self.heading.setObjectName("loansHeading")
        self.title = QLabel("Loaned cameras")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.ending = self._table(["Premises", "URN", "Ends", "Days left", "Kit"])
        self.overdue = self._table(["Premises", "URN", "Ended", "Days over", "Kit"])
        self.on_test = self._table(["Premises", "URN", "Address", "Response"])
        self.all = self._table(LOAN_COLUMNS)
        self.all.itemSelectionChanged.connect(self._selection)
        top = QHBoxLayout()
        for title, table in (("Ending within 7 days", self.ending),
                             ("Overdue for removal", self.overdue),
                             ("Premises on test (alarms logged, not escalated)", self.on_test)):
            box = QGroupBox(title)
            QVBoxLayout(box).addWidget(table)
            top.addWidget(box)
        self.new = QPushButton("New loan…")
        self.extend = QPushButton("Record paid extension…")
        self.removed = QPushButton("Kit removed…")
        self.contact = QPushButton("Show contact")
        self.report = QPushButton("Loan report…")
        self.evaluation = QPushButton("Crime evaluation…")
        self.feedback = QPushButton("Victim feedback…")
        self.feedback.setToolTip("Record the victim's survey, from a phone call or the online "
                                 "form's export; ended loans included")
        self.feedback.setEnabled(self.may_manage)
        self.feedback.clicked.connect(self._feedback)
        self.report.clicked.connect(self._report)
        self.evaluation.clicked.connect(self._evaluation)
        self.new.clicked.connect(self._new)
        self.extend.clicked.connect(self._extend)
        self.removed.clicked.connect(self._remove)
        self.contact.clicked.connect(self._contact)
        self.new.setEnabled(self.may_manage)
        if not self.may_contact:
            self.contact.setToolTip("Contact details are personal data: your role does not "
                                    "need them")
        buttons = QHBoxLayout()
        for b in (self.new, self.extend, self.removed, self.contact):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.report)
        buttons.addWidget(self.feedback)
        buttons.addWidget(self.evaluation)
        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.heading)
        layout.addLayout(top, 1)
        box = QGroupBox("Active loans")
        inner = QVBoxLayout(box)
        inner.addWidget(self.all)
        inner.addLayout(buttons)
        layout.addWidget(box, 2)
        layout.addWidget(self.status)
        self._selection()
        self.refresh()

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(headers)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        t.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        t.verticalHeader().setVisible(False)
        t.horizontalHeader().setStretchLastSection(True)
        return t

    # -- loading -------------------------------------------------------------------------------
    def refresh(self) -> None:
        today = self.fixed_today
        tasks.run(lambda: self.loans.dashboard(today), self._show, self._failed)

    def _show(self, board: Dashboard) -> None:
        self.board = board
        t = board.today
        self.heading.setText(f"Today {_d(t)}: {len(board.active)} active "
                             f"loan(s), {len(board.ending_soon)} ending within 7 days, "
                             f"{len(board.overdue)} overdue for removal, {len(board.on_test)} "
                             "premises on test.")
        self._fill(self.ending, [[d.premises, d.urn, _d(d.end), str(d.days_left(t)), kit(d)]
                                 for d in board.ending_soon], AMBER)
        self._fill(self.overdue, [[d.premises, d.urn, _d(d.end), str(-d.days_left(t)), kit(d)]
                                  for d in board.overdue], RED)
        self._fill(self.on_test, [[s.name, s.urn, s.address, s.response_level]
                                  for s in board.on_test], None)
        rows, colours = [], []
        for d in board.active:
            status = d.status(t)
            ends = _d(d.end) + (f" (extended, {d.extension_ref})" if d.extended_until else "")
            rows.append([d.premises, d.urn, kit(d), _d(d.installed), f"{d.day(t)} of "
                         f"{(d.end - d.installed).days + 1}", ends, str(d.days_left(t)),
                         status, "yes" if d.signage else "NO"])
            colours.append({"ending soon": AMBER, "overdue removal": RED}.get(status))
        self._fill(self.all, rows, None, colours)
        self.loaded.emit()

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[str]], colour: QColor | None,
              colours: list[QColor | None] | None = None) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                shade = colours[r] if colours else colour
                if shade is not None:
                    item.setBackground(shade)
                table.setItem(r, c, item)
        table.resizeColumnsToContents()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"Could not read the loans: {exc}")

    # -- actions ---------------------------------------------------------------------------------
    def selected(self) -> Deployment | None:
        rows = self.all.selectionModel().selectedRows() if self.all.selectionModel() else []
        if not rows or self.board is None:
            return None
        return self.board.active[rows[0].row()]

    def _selection(self) -> None:
        chosen = self.selected() is not None
        self.extend.setEnabled(self.may_manage and chosen)
        self.removed.setEnabled(self.may_manage and chosen)
        self.contact.setEnabled(self.may_contact and chosen)
        self.report.setEnabled(chosen)

    def _report(self) -> None:
        d = self.selected()
        if d is not None:
            self.report_requested.emit(d.id)

    def _feedback(self) -> None:
        """The feedback form, on every loan including ended ones (victims are asked once
        the kit is back), opened at the selected loan."""
        chosen = self.selected()
        fb = Feedback(self.loans)

        def read() -> tuple[list[Deployment], Survey]:
            return self.loans.deployments(include_removed=True), fb.survey()

        def show(got: tuple[list[Deployment], Survey]) -> None:
            dlg = FeedbackDialog(fb, *got, chosen=chosen.id if chosen else None, parent=self)
            dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dlg.open()  # feedback changes nothing the dashboard shows: no reload after
        tasks.run(read, show, self._refused, owner=self)

    def _evaluation(self) -> None:
        d = self.selected()
        self.evaluation_requested.emit(d.premises_id if d is not None else None)

    def _run(self, work: Callable[[], object], said: str) -> None:
        def done(_r: object) -> None:
            self.status.setText(said)
            self.refresh()
        tasks.run(work, done, self._refused, owner=self)

    def _refused(self, exc: BaseException) -> None:
        QMessageBox.warning(self, "Loans — Beacon VMS", str(exc))

    def _extend(self) -> None:
        dep = self.selected()
        if dep is None:
            return
        dlg = ExtendDialog(dep, self)
        if dlg.exec():
            until, ref = pydate(dlg.until.date()), dlg.reference.text()
            self._run(lambda: self.loans.extend(dep.id, until, ref),
                      f"{dep.premises}: extended to {_d(until)} ({ref}).")

    def _remove(self) -> None:
        dep = self.selected()
        if dep is None:
            return
        dlg = QDialog(self)
        dlg.setWindowTitle("Kit removed — Beacon VMS")
        form = QFormLayout(dlg)
        when = date_edit(self.board.today if self.board else dt.date.today())
        form.addRow(QLabel(f"Kit removed from <b>{dep.premises}</b> ({dep.urn})"))
        form.addRow("Removed on:", when)
        ok = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                              QDialogButtonBox.StandardButton.Cancel)
        ok.accepted.connect(dlg.accept)
        ok.rejected.connect(dlg.reject)
        form.addRow(ok)
        if dlg.exec():
            on = pydate(when.date())
            self._run(lambda: self.loans.remove(dep.id, on), f"{dep.premises}: kit removed on {_d(on)}.")

    def _contact(self) -> None:
        dep = self.selected()
        if dep is None:
            return

        def show(text: str) -> None:
            self.contact_shown = f"{dep.premises}: {text or 'no contact recorded'}"
            QMessageBox.information(self, "Premises contact — Beacon VMS",
                                    f"{self.contact_shown}\n\nPersonal data: this reading is in "
                                    "the audit trail.")
        tasks.run(lambda: self.loans.contact(dep.premises_id), show, self._refused, owner=self)

    def _new(self) -> None:
        """The form stays open until the loan is recorded: a refusal is said in it, with
        everything typed kept, so a coordinator corrects one field instead of starting again."""
        dlg = NewLoanDialog(self.devices, self.board.today if self.board else dt.date.today(),
                            self)

        def save(values: dict[str, Any]) -> None:
            ids = values.pop("devices")
            installed, signage, notes = (values.pop("installed"), values.pop("signage"),
                                         values.pop("notes"))

            def work() -> Deployment:  # premises and deployment in one transaction
                return self.loans.open_loan(**values, devices=ids, installed=installed,
                                            signage=signage, notes=notes)

            def recorded(_dep: Deployment) -> None:
                dlg.saved()
                self.status.setText(f"{values['name']}: loan recorded from {_d(installed)}.")
                self.refresh()
            tasks.run(work, recorded, lambda exc: dlg.refused(str(exc)), owner=self)
        dlg.save = save
        dlg.exec()


class ExtendDialog(QDialog):
    def __init__(self, dep: Deployment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Paid extension — Beacon VMS")
        form = QFormLayout(self)
        form.addRow(QLabel(f"<b>{dep.premises}</b> ({dep.urn}) now ends {_d(dep.end)}."))
        self.until = date_edit(dep.end + dt.timedelta(days=30))
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("invoice or order reference (required)")
        form.addRow("Extended until:", self.until)
        form.addRow("Payment reference:", self.reference)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                        QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)


class NewLoanDialog(QDialog):
    def __init__(self, devices: list[tuple[int, str]], today: dt.date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New loan — Beacon VMS")
        form = QFormLayout(self)
        self.name, self.address, self.urn = QLineEdit(), QLineEdit(), QLineEdit()
        self.lat, self.lon = QDoubleSpinBox(), QDoubleSpinBox()
        for box, lo, hi, val in ((self.lat, -90, 90, 52.24), (self.lon, -180, 180, -0.90)):
            box.setRange(lo, hi)
            box.setDecimals(5)
            box.setValue(val)
        self.reason, self.response = QComboBox(), QComboBox()
        self.reason.addItems(list(REASONS))
        self.response.addItems(["immediate", "priority", "scheduled"])
        self.response.setEditable(True)
        self.contact = QLineEdit()
        self.contact.setPlaceholderText("name and telephone (personal data)")
        self.kit = QListWidget()
        for did, name in devices:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, did)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.kit.addItem(item)
        self.kit.setMaximumHeight(100)
        self.installed = date_edit(today)
        self.signage, self.on_test = QCheckBox("Signage installed"), QCheckBox("Premises on test")
        self.notes = QLineEdit()
        for label, w in (("Premises name:", self.name), ("Address:", self.address),
                         ("Latitude:", self.lat), ("Longitude:", self.lon),
                         ("Police URN:", self.urn), ("Reason:", self.reason),
                         ("Response level:", self.response), ("Contact:", self.contact),
                         ("Kit:", self.kit), ("Installed (day 1):", self.installed),
                         ("", self.signage), ("", self.on_test), ("Notes:", self.notes)):
            form.addRow(label, w)
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff8a80; font-weight: bold;")
        self.error.hide()
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                        QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.save: Callable[[dict[str, Any]], None] | None = None  # set by the Loans window

    def accept(self) -> None:
        """OK hands the form to ``save``; the dialog closes only once it is recorded."""
        if self.save is None:
            super().accept()
            return
        self.buttons.setEnabled(False)
        self.error.hide()
        self.save(self.values())

    def reject(self) -> None:
        """Not while the loan is being recorded: its outcome is said here first."""
        if self.buttons.isEnabled():
            super().reject()

    def saved(self) -> None:
        super().accept()

    def refused(self, why: str) -> None:
        self.error.setText(f"Not recorded: {why}. Correct the form and press OK again, or "
                           "Cancel.")
        self.error.show()
        self.buttons.setEnabled(True)

    def values(self) -> dict[str, Any]:
        return {"name": self.name.text(), "address": self.address.text(),
                "lat": self.lat.value(), "lon": self.lon.value(), "urn": self.urn.text(),
                "reason": self.reason.currentText(), "response_level": self.response.currentText(),
                "contact": self.contact.text(), "on_test": self.on_test.isChecked(),
                "devices": [int(self.kit.item(i).data(Qt.ItemDataRole.UserRole))
                            for i in range(self.kit.count())
                            if self.kit.item(i).checkState() == Qt.CheckState.Checked],
                "installed": pydate(self.installed.date()), "signage": self.signage.isChecked(),
                "notes": self.notes.text()}
