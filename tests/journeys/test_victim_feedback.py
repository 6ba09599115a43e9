"""Journey: after an intrusion on a loaned camera is escalated, the police report back what
they found, and the victim is asked how the loan went (issue 27). A supervisor, through the
windows only: escalates the alarm, records the police result in the loan's report, records
the victim's survey from a phone call, then a refusal, imports the online form's export
(a bad file first: refused whole, line by line), and reads the answers back.

Set-up outside the windows: the simulated site, the supervisor's account, the registered
perimeter camera and the loan (recording a loan is the loan coordinator's journey).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QPlainTextEdit,
)
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, USER, Sim, signed_in
from tests.journeys.walk import (
    answer,
    at_desk,
    intrusion_accepted,
    look_at,
    opened,
    shown,
)
from ui.desktop import Desktop
from ui.loans.dashboard import LoansWindow
from ui.loans.feedback import AnswersDialog, FeedbackDialog
from ui.loans.report_dialog import ReportDialog
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.commissioning import Commissioning
from vms.loans.loans import Loans, today_london
from vms.profile import Profile

SUPERVISOR, SUPERVISOR_PW = "sam-supervisor", "sam-reads-42"
URN = "NP/26/4417"


@pytest.fixture()
def profile(sim: Sim, tmp_path: Path) -> Iterator[Profile]:
    p, admin = signed_in(tmp_path / "profile")
    pid = Commissioning(p, admin).add(sim.address("pid1"), USER, PASSWORD)
    UserAdmin(p.access, admin).add(SUPERVISOR, Role.SUPERVISOR, SUPERVISOR_PW)
    p.access.sign_out(admin, "set-up done")
    boss = p.access.sign_in(SUPERVISOR, SUPERVISOR_PW, via="set-up")
    loans = Loans(p, boss)
    loans.open_loan(name="Larch Close", address="4 Larch Close, Northampton NN3 2AB", lat=52.25,
                    lon=-0.86, urn=URN, reason="repeat burglary", response_level="urgent",
                    contact="Mr C Example, 07700 900321", devices=[pid.device_id],
                    installed=today_london() - dt.timedelta(days=12), signage=True)
    loans.close()
    p.access.sign_out(boss, "set-up done")
    yield p
    p.close()


def _escalate(qtbot: QtBot, desktop: Desktop, sim: Sim) -> int:
    """An intrusion on the loaned camera, answered and escalated to the police in its window."""
    iid, _pane, box = intrusion_accepted(qtbot, desktop, sim)
    assert box.genuine_button.isEnabled()  # the site is not on test
    qtbot.keyClicks(box.police_ref, "CAD 0412 06/12")
    qtbot.keyClicks(box.said, "intruder at the rear fence, units attending")
    qtbot.mouseClick(box.genuine_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Genuine: police called" in box.decision_label.text(),
                    timeout=10000)
    return iid


def _choose(combo: QComboBox, text: str) -> None:
    at = combo.findText(text, Qt.MatchFlag.MatchStartsWith)
    assert at >= 0, f"no {text!r} in {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(at)


def _open_file(qtbot: QtBot, button: Any, path: Path) -> None:
    """Choose ``path`` in Qt's own file dialog, as a person types it."""
    def type_name(dlg: QFileDialog) -> None:
        name = dlg.findChild(QLineEdit, "fileNameEdit")
        assert name is not None
        name.setText(str(path))
        qtbot.keyClick(name, Qt.Key.Key_Return)
    answer(QFileDialog, type_name, lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton))


def test_a_supervisor_records_the_police_result_and_the_victims_feedback(
        qtbot: QtBot, sim: Sim, profile: Profile, site_of: Callable[..., Any],
        tmp_path: Path) -> None:
    desktop, win, _link = at_desk(profile, site_of(profile), SUPERVISOR, SUPERVISOR_PW)
    assert desktop.calls is not None
    service = desktop.calls.service
    qtbot.waitUntil(lambda: [h.state for h in service.health.values()] == ["ok"], timeout=30000)
    iid = _escalate(qtbot, desktop, sim)

    # -- the police's result, recorded in the loan's report --------------------------------------
    loans = opened(qtbot, LoansWindow, win.open_loans.trigger)
    qtbot.waitUntil(lambda: loans.all.rowCount() == 1, timeout=10000)
    loans.all.selectRow(0)
    qtbot.mouseClick(loans.report, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(ReportDialog) is not None, timeout=10000)
    report = shown(ReportDialog)
    assert report is not None
    qtbot.waitUntil(lambda: report.police.isVisible(), timeout=15000)
    assert report.escalation.count() == 1
    assert f"Alarm {iid}" in report.escalation.currentText()
    assert "result awaited" in report.escalation.currentText()
    _choose(report.outcome, "Police attended, no trace")
    qtbot.keyClicks(report.note, "area searched, no suspects; crime ref NN-26-118")
    qtbot.mouseClick(report.record, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "recorded" in report.status.text(), timeout=10000)
    assert "Police attended, no trace of offenders" in report.status.text(), report.status.text()
    qtbot.waitUntil(lambda: "no trace" in report.escalation.currentText(), timeout=10000)
    text = report.view.toPlainText()
    assert "Police attended, no trace of offenders" in text, text
    assert "NN-26-118" in text, text
    look_at(report, "journey-police-result.png")
    report.close()

    # -- the victim's survey, by phone ---------------------------------------------------------
    qtbot.mouseClick(loans.feedback, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(FeedbackDialog) is not None, timeout=10000)
    fb = shown(FeedbackDialog)
    assert fb is not None
    assert URN in fb.loan.currentText() and "Larch Close" in fb.loan.currentText()
    qtbot.waitUntil(lambda: "No survey recorded" in fb.so_far.text(), timeout=10000)
    assert fb.channel.currentText() == "phone"
    for key, pick in (("police_satisfaction", "4"), ("safe_before", "1"),
                      ("safe_after", "4"), ("advice_acted", "partly"), ("extended", "yes")):
        combo = fb.answers[key]
        assert isinstance(combo, QComboBox)
        _choose(combo, pick)
    why = fb.answers["extended_why"]
    assert isinstance(why, QPlainTextEdit)
    qtbot.keyClicks(why, "we paid for another month because the burglars came back")
    qtbot.keyClicks(fb.respondent, "Mr C Example")
    look_at(fb, "journey-victim-feedback.png")
    qtbot.mouseClick(fb.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: fb.status.text().startswith("Saved"), timeout=10000)
    assert "Saved: answers" in fb.status.text() and "kept until" in fb.status.text()
    qtbot.waitUntil(lambda: "1 answered, 0 declined" in fb.so_far.text(), timeout=10000)
    assert fb.respondent.text() == "" and why.toPlainText() == ""  # ready for the next

    # A second call: the victim's partner would rather not answer. Only the refusal is kept.
    fb.consent.click()
    assert not fb.questions.isEnabled() and not fb.respondent.isEnabled()
    assert fb.save.text() == "Record as declined"
    qtbot.mouseClick(fb.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "declined" in fb.status.text(), timeout=10000)
    assert "nothing else kept" in fb.status.text()
    qtbot.waitUntil(lambda: "1 answered, 1 declined" in fb.so_far.text(), timeout=10000)
    assert fb.consent.isChecked() and fb.questions.isEnabled()

    # -- the online form's export: a bad file is refused whole, then the good one -------------
    today = today_london()
    bad = tmp_path / "form-bad.csv"
    bad.write_text("Response ID,URN,Answered,Consent,safe_after\n"
                   f"f-1,{URN},{today:%d/%m/%Y},Yes,5\n"
                   f"f-2,NP/99/0000,{today:%d/%m/%Y},Yes,3\n", encoding="utf-8")
    _open_file(qtbot, fb.import_button, bad)
    qtbot.waitUntil(lambda: fb.status.text().startswith("Not imported"), timeout=10000)
    assert "line 3" in fb.status.text() and "NP/99/0000" in fb.status.text(), fb.status.text()
    look_at(fb, "journey-victim-feedback-refused-import.png")
    good = tmp_path / "form.csv"
    good.write_text("\ufeffResponse ID,URN,Answered,Consent,Respondent,safe_before,safe_after,"
                    "comments\n"
                    f"f-1,{URN},{today:%d/%m/%Y},Yes,C Example,2,5,the camera made us feel "
                    "safer\n", encoding="utf-8")
    _open_file(qtbot, fb.import_button, good)
    qtbot.waitUntil(lambda: fb.status.text().startswith("Imported"), timeout=10000)
    assert f"Imported 1 response from form.csv (0 declined, answered {today.day} " \
        in fb.status.text(), fb.status.text()
    _open_file(qtbot, fb.import_button, good)  # the same export twice: nothing doubled
    qtbot.waitUntil(lambda: "imported or withdrawn before were skipped" in fb.status.text(),
                    timeout=10000)
    assert "Imported 0 responses" in fb.status.text(), fb.status.text()
    qtbot.waitUntil(lambda: "2 answered, 1 declined" in fb.so_far.text(), timeout=10000)

    # -- the answers read back: names and written answers, the reading audited ----------------
    assert fb.read.isEnabled()
    qtbot.mouseClick(fb.read, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(AnswersDialog) is not None, timeout=10000)
    seen = shown(AnswersDialog)
    assert seen is not None
    text = seen.view.toPlainText()
    for said in ("Mr C Example", "we paid for another month because the burglars came back",
                 "The victim declined the survey", "the camera made us feel safer",
                 "4 of 5 (1 very unsafe, 5 very safe)"):
        assert said in text, (said, text)
    look_at(seen, "journey-victim-feedback-answers.png")
    reads = [e for e in profile.audit.entries() if e.action == "loans.feedback.read"]
    assert [e.user for e in reads] == [SUPERVISOR]

    # The imported victim rings to withdraw consent: their response goes, and stays gone
    # when the form's export is imported again.
    _choose(seen.response, "Response 3 ")

    def how(dlg: QInputDialog) -> None:
        assert "deleted, scores and all" in dlg.labelText()
        dlg.setTextValue("phone call")
        dlg.accept()
    answer(QInputDialog, how, lambda: qtbot.mouseClick(seen.withdraw, Qt.MouseButton.LeftButton))
    qtbot.waitUntil(lambda: "Response 3 deleted" in seen.status.text(), timeout=10000)
    seen.close()
    qtbot.waitUntil(lambda: "1 answered, 1 declined" in fb.so_far.text(), timeout=10000)
    _open_file(qtbot, fb.import_button, good)
    qtbot.waitUntil(lambda: "Imported 0 responses" in fb.status.text(), timeout=10000)
    assert "1 imported or withdrawn before were skipped" in fb.status.text()
    qtbot.wait(300)
    assert "1 answered, 1 declined" in fb.so_far.text()
    fb.close()

    # The loan's report now counts the result; the victim's words are in no report.
    qtbot.mouseClick(loans.report, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(ReportDialog) is not None, timeout=10000)
    report = shown(ReportDialog)
    assert report is not None
    qtbot.waitUntil(lambda: bool(report.page), timeout=15000)
    assert "burglars came back" not in report.page and "Mr C Example" not in report.page
    report.close()
    loans.close()
    desktop._end_session("journey over")
