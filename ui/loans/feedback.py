"""Victim feedback on a loan: the survey typed in from a phone call, an online form's CSV
export imported, and (for roles that may read personal data) the answers read back.

Everything is done by ``vms.loans.feedback.Feedback`` off the GUI thread (``ui.tasks``);
the core checks consent, rights and retention and audits each reading. Without consent the
questions and the name are greyed out and cleared: only the refusal is kept.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.loans.dates import date_edit, pydate
from ui.screen import sized
from vms.access.roles import Permission
from vms.errors import ConfigError
from vms.loans.feedback import (
    CHANNELS,
    CSV_MAX_BYTES,
    RETENTION_MONTHS,
    SCALE,
    TEXT,
    WITHDRAWN_BY,
    Answers,
    Feedback,
    Imported,
    Question,
    Response,
    Survey,
    decode_csv,
)
from vms.loans.loans import Deployment, today_london
from vms.reports.figures import day_words


def loan_words(d: Deployment) -> str:
    removed = f", removed {day_words(d.removed)}" if d.removed else ""
    return f"{d.urn} — {d.premises} (installed {day_words(d.installed)}{removed})"


def _answer_widget(q: Question) -> QWidget:
    """A scale as 1..5 with its ends named, a choice as its options, text as a box; each
    starts unanswered, since a victim may skip any question."""
    if q.kind == TEXT:
        box = QPlainTextEdit()
        box.setFixedHeight(54)
        box.setTabChangesFocus(True)
        return box
    combo = QComboBox()
    combo.addItem("— not answered —", "")
    if q.kind == SCALE:
        for n in range(1, 6):
            end = q.low if n == 1 else q.high if n == 5 else ""
            combo.addItem(f"{n} — {end}" if end else str(n), str(n))
    else:
        for option in q.options:
            combo.addItem(option, option)
    return combo


def _value(w: QWidget) -> str:
    if isinstance(w, QPlainTextEdit):
        return w.toPlainText()
    assert isinstance(w, QComboBox)
    return str(w.currentData() or "")


def _clear(w: QWidget) -> None:
    if isinstance(w, QPlainTextEdit):
        w.clear()
    elif isinstance(w, QComboBox):
        w.setCurrentIndex(0)


class FeedbackDialog(QDialog):
    """One loan's feedback: how many surveys so far, and a form for the next."""

    def __init__(self, feedback: Feedback, deployments: list[Deployment], survey: Survey,
                 chosen: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Victim feedback — Beacon VMS")
        sized(self, 820, 720)
        self.feedback = feedback
        self.survey = survey
        self.may_read = feedback.access.can(feedback.session, Permission.FEEDBACK_READ)

        self.loan = QComboBox()
        for d in deployments:
            self.loan.addItem(loan_words(d), d.id)
        if chosen is not None and self.loan.findData(chosen) >= 0:
            self.loan.setCurrentIndex(self.loan.findData(chosen))
        self.loan.currentIndexChanged.connect(self.count)
        self.so_far = QLabel("")
        self.so_far.setObjectName("feedbackSoFar")

        self.answered = date_edit(today_london())
        self.channel = QComboBox()
        self.channel.addItems(list(CHANNELS))
        self.consent = QCheckBox(f"The victim agreed to answer, and for the answers to be kept "
                                 f"for {RETENTION_MONTHS} months")
        self.consent.setChecked(True)
        self.consent.toggled.connect(self._consent)
        self.respondent = QLineEdit()
        self.respondent.setPlaceholderText("optional: who answered (personal data)")
        head = QFormLayout()
        head.addRow("Loan:", self.loan)
        head.addRow("", self.so_far)
        head.addRow("Answered on:", self.answered)
        head.addRow("How:", self.channel)
        head.addRow("", self.consent)
        head.addRow("Answered by:", self.respondent)

        self.answers: dict[str, QWidget] = {}
        questions = QWidget()
        form = QFormLayout(questions)
        for i, q in enumerate(survey.questions, 1):
            label = QLabel(f"{i}. {q.text}" + (" (personal data)" if q.kind == TEXT else ""))
            label.setWordWrap(True)
            w = self.answers[q.key] = _answer_widget(q)
            w.setObjectName(f"answer_{q.key}")
            form.addRow(label)
            form.addRow(w)
        scroll = QScrollArea()
        scroll.setWidget(questions)
        scroll.setWidgetResizable(True)
        self.questions = QGroupBox("The survey")
        QVBoxLayout(self.questions).addWidget(scroll)

        self.save = QPushButton("Save response")
        self.save.setDefault(True)
        self.save.clicked.connect(self._save)
        self.import_button = QPushButton("Import form CSV…")
        self.import_button.setToolTip("Responses exported from the online form, as CSV: one "
                                      "row each, with the loan's URN and the answer date")
        self.import_button.clicked.connect(self._import)
        self.read = QPushButton("Read answers…")
        self.read.setEnabled(self.may_read)
        if not self.may_read:
            self.read.setToolTip("Names and written answers are personal data: your role "
                                 "does not read them")
        self.read.clicked.connect(self._read)
        row = QHBoxLayout()
        row.addWidget(self.save)
        row.addWidget(self.import_button)
        row.addStretch(1)
        row.addWidget(self.read)
        self.status = QLabel("")
        self.status.setObjectName("feedbackStatus")
        self.status.setWordWrap(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(self.questions, 1)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(close)
        if not deployments:
            self.status.setText("There are no loans to record feedback for.")
            for b in (self.save, self.read):
                b.setEnabled(False)
        self.count()

    def deployment_id(self) -> int | None:
        got = self.loan.currentData()
        return int(got) if got is not None else None

    def count(self) -> None:
        """How many surveys this loan has so far (no personal data)."""
        did = self.deployment_id()
        if did is None:
            return

        def words(got: list[Response]) -> None:
            if self.deployment_id() != did:
                return
            yes = sum(1 for r in got if r.consent)
            self.so_far.setText(
                "No survey recorded for this loan yet." if not got else
                f"{len(got)} survey{'s' if len(got) != 1 else ''} recorded for this loan: "
                f"{yes} answered, {len(got) - yes} declined.")
        tasks.run(lambda: self.feedback.responses([did]), words,
                  lambda e: self.so_far.setText(f"Could not read the feedback: {e}"), owner=self)

    def _consent(self, given: bool) -> None:
        self.questions.setEnabled(given)
        self.respondent.setEnabled(given)
        if not given:
            self.respondent.clear()
            for w in self.answers.values():
                _clear(w)
        self.save.setText("Save response" if given else "Record as declined")

    def _busy(self, busy: bool) -> None:
        for b in (self.save, self.import_button):
            b.setEnabled(not busy)
        self.read.setEnabled(self.may_read and not busy)

    def _run(self, work: Callable[[], Any], done: Callable[[Any], None],
             failed: str = "Not saved") -> None:
        self._busy(True)

        def ok(got: Any) -> None:
            self._busy(False)
            done(got)
            self.count()

        def refused(exc: BaseException) -> None:
            self._busy(False)
            self.status.setText(f"{failed}: {exc}")
        tasks.run(work, ok, refused, owner=self)

    def _save(self) -> None:
        did = self.deployment_id()
        if did is None:
            return
        consent = self.consent.isChecked()
        answers = {k: _value(w) for k, w in self.answers.items()} if consent else {}
        answered, channel = pydate(self.answered.date()), self.channel.currentText()
        respondent = self.respondent.text() if consent else ""

        def saved(r: Response) -> None:
            self.status.setText(
                f"Saved: {'answers' if r.consent else 'declined'} of {day_words(r.answered)} "
                f"by {r.channel}" + (f", kept until {day_words(r.retain_until)}."
                                     if r.consent else "; nothing else kept."))
            self.respondent.clear()
            for w in self.answers.values():
                _clear(w)
            self.consent.setChecked(True)

        self._run(lambda: self.feedback.record(did, answered=answered, channel=channel,
                                               consent=consent, answers=answers,
                                               respondent=respondent), saved)

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The online form's export",
                                              str(Path.home()), "CSV (*.csv)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        def work() -> Imported:
            if path.stat().st_size > CSV_MAX_BYTES:
                raise ConfigError(f"{path.name} is larger than 5 MB: not a survey export")
            return self.feedback.import_csv(decode_csv(path.read_bytes()))

        def imported(got: Imported) -> None:
            skipped = (f"; {got.already} imported or withdrawn before were skipped"
                       if got.already else "")
            dates = (f", answered {day_words(got.first)} to {day_words(got.last)}"
                     if got.first and got.last else "")
            self.status.setText(f"Imported {got.added} response{'s' if got.added != 1 else ''} "
                                f"from {path.name} ({got.declined} declined{dates}){skipped}.")
        self._run(work, imported, "Not imported")

    def _read(self) -> None:
        did, loan = self.deployment_id(), self.loan.currentText()
        if did is None:
            return

        def work() -> tuple[list[Answers], dict[int | None, Survey]]:
            got = self.feedback.answers(did)
            return got, {a.response.survey_id: self.feedback.questions_of(a.response)
                         for a in got}

        def show(got: tuple[list[Answers], dict[int | None, Survey]]) -> None:
            dlg = AnswersDialog(self.feedback, loan, *got, parent=self)
            dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # victims' names not kept
            dlg.finished.connect(lambda _r: self.count())
            dlg.open()
        self._run(work, show, "Could not read the answers")


class AnswersDialog(QDialog):
    """A loan's responses with names and written answers: reading them was audited."""

    def __init__(self, feedback: Feedback, loan: str, answers: list[Answers],
                 surveys: dict[int | None, Survey], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Feedback answers — Beacon VMS")
        sized(self, 760, 640)
        self.feedback = feedback
        self.view = QTextBrowser()
        self.view.setObjectName("feedbackAnswers")
        self.view.setHtml(answers_html(loan, answers, surveys))
        self.response = QComboBox()
        for a in answers:
            self.response.addItem(f"Response {a.response.id} of {day_words(a.response.answered)}",
                                  a.response.id)
        self.withdraw = QPushButton("Delete: the victim withdrew consent…")
        self.withdraw.setEnabled(bool(answers))
        self.withdraw.clicked.connect(self._withdraw)
        self.status = QLabel("Reading these answers was recorded in the audit trail.")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.response, 1)
        row.addWidget(self.withdraw)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(close)

    def _withdraw(self) -> None:
        fid = self.response.currentData()
        if fid is None:
            return
        how, ok = QInputDialog.getItem(
            self, "Consent withdrawn", f"Response {fid} will be deleted, scores and all.\n"
            "How did the victim withdraw consent?", list(WITHDRAWN_BY), 0, False)
        if ok:
            self.withdraw_response(int(fid), how)

    def withdraw_response(self, fid: int, how: str) -> None:
        def gone(_r: object) -> None:
            self.response.removeItem(self.response.findData(fid))
            self.withdraw.setEnabled(self.response.count() > 0)
            self.view.setHtml(f"<p>Response {fid} was deleted, scores and all.</p>")
            self.status.setText(f"Response {fid} deleted: consent withdrawn.")
        tasks.run(lambda: self.feedback.withdraw(fid, how), gone,
                  lambda e: self.status.setText(f"Not deleted: {e}"), owner=self)


def answers_html(loan: str, answers: list[Answers], surveys: dict[int | None, Survey]) -> str:
    e = html.escape
    parts = [f"<h2>Feedback on {e(loan)}</h2>"]
    if not answers:
        parts.append("<p>No survey recorded for this loan.</p>")
    for a in answers:
        r = a.response
        parts.append(f"<h3>Response {r.id}: {r.answered:%A} {day_words(r.answered)}, by {e(r.channel)}</h3>")
        if not r.consent:
            parts.append("<p>The victim declined the survey. Nothing else is kept.</p>")
            continue
        who = e(a.respondent) if a.respondent else "not recorded"
        kept = (f"personal data deleted after {day_words(r.retain_until)} (retention)"
                if r.purged else f"kept until {day_words(r.retain_until)}")
        parts.append(f"<p>Answered by: {who}; {kept}.</p><table cellpadding='3'>")
        survey = surveys.get(r.survey_id)
        for q in survey.questions if survey else ():
            got: Any = r.scores.get(q.key, a.personal.get(q.key))
            shown = "<i>not answered</i>" if got is None else e(str(got))
            if q.kind == SCALE and got is not None:
                shown += f" of 5 (1 {e(q.low)}, 5 {e(q.high)})"
            parts.append(f"<tr><td valign='top'>{e(q.text)}</td><td><b>{shown}</b></td></tr>")
        parts.append("</table>")
    return "\n".join(parts)
