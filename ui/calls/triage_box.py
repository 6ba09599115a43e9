"""Triage of an intrusion alarm inside its incident pane: where it came from, the decision,
and the clock against the control room's targets.

All reading and writing goes through ``vms.loans.triage.Triage`` on worker threads; this
widget only shows the results. A step over its target turns red while it is still running,
so the operator sees a target being missed, not only afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.calls.clock import local_time
from vms.incidents.queue import Incident
from vms.loans.loans import today_london
from vms.loans.triage import CAUSES, DECISIONS, FALSE, SUSPICIOUS, AlarmPremises, Step, Triage

BREACH = QColor("#f6c6c1")


class TriageBox(QGroupBox):
    message = Signal(str)

    def __init__(self, triage: Triage, incident: Incident, parent: QWidget | None = None) -> None:
        super().__init__("Triage", parent)
        self.setObjectName("triageBox")
        self.triage = triage
        self.incident = incident
        self.where: AlarmPremises | None = None
        self.active = False
        self._reading = self._again = False
        self.steps: list[Step] = []
        self.premises_label = QLabel("Looking up the loan…")
        self.premises_label.setObjectName("triagePremises")
        self.premises_label.setWordWrap(True)
        self.false_label = QLabel("")
        self.false_label.setObjectName("falseAlarmCount")
        self.false_label.setWordWrap(True)

        self.clock = QTableWidget(5, 4)
        self.clock.setObjectName("triageClock")
        self.clock.setHorizontalHeaderLabels(["Step", "At", "Took", "Target"])
        self.clock.verticalHeader().setVisible(False)
        self.clock.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # Every step and column in view, without scroll bars, in the call window's side column
        header = self.clock.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.clock.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.clock.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.clock.setWordWrap(False)
        self.clock.setTextElideMode(Qt.TextElideMode.ElideRight)
        row_h = self.clock.fontMetrics().height() + 12
        self.clock.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.clock.verticalHeader().setDefaultSectionSize(row_h)
        self.clock.setFixedHeight(row_h * 6 + 8)  # the header and five steps

        self.genuine_button = QPushButton("Genuine — police informed")
        self.genuine_button.setObjectName("triageGenuine")
        self.genuine_button.setStyleSheet("font-weight: bold;")
        self.suspicious_button = QPushButton("Suspicious — keep watching")
        self.false_button = QPushButton("False alarm")
        self.false_button.setObjectName("triageFalse")
        self.cause = QComboBox()
        self.cause.addItem("Cause of a false alarm…", "")
        for key, text in CAUSES.items():
            self.cause.addItem(text, key)
        self.police_ref = QLineEdit()
        self.police_ref.setPlaceholderText("police reference (CAD / incident number)")
        self.said = QLineEdit()
        self.said.setPlaceholderText("what you told the police")
        self.decision_label = QLabel("No decision yet")
        self.decision_label.setObjectName("triageDecision")
        self.decision_label.setWordWrap(True)
        self.genuine_button.clicked.connect(self.genuine)
        self.suspicious_button.clicked.connect(self.suspicious)
        self.false_button.clicked.connect(self.false_alarm)

        form = QFormLayout()
        police = QVBoxLayout()
        police.addWidget(self.police_ref)
        police.addWidget(self.said)
        police.addWidget(self.genuine_button)
        form.addRow("Genuine", police)
        form.addRow("Suspicious", self.suspicious_button)
        frow = QHBoxLayout()
        frow.addWidget(self.cause, 1)
        frow.addWidget(self.false_button)
        form.addRow("False", frow)
        lay = QVBoxLayout(self)
        lay.addWidget(self.premises_label)
        lay.addWidget(self.false_label)
        lay.addWidget(self.clock)
        lay.addLayout(form)
        lay.addWidget(self.decision_label)

        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self.refresh)
        self.ticker.start()
        self.set_enabled(False)
        self.refresh()

    # -- reading -------------------------------------------------------------------------------
    def set_incident(self, inc: Incident) -> None:
        self.incident = inc
        self.refresh()

    def refresh(self) -> None:
        """Read again on a worker; one read at a time, and a change meanwhile reads once more,
        so a slow pool never shows an older state after a newer one."""
        if self._reading:
            self._again = True
            return
        self._reading, self._again = True, False
        inc, triage = self.incident, self.triage

        def read() -> tuple[AlarmPremises | None, list[Step], list[Any]]:
            return triage.premises_of(inc), triage.timings(inc), triage.decisions(inc.id)

        def failed(e: BaseException) -> None:
            self._reading = False
            self.premises_label.setText(f"Loan not known: {e}")
        tasks.run(read, self._show, failed)

    def _show(self, got: tuple[AlarmPremises | None, list[Step], list[Any]]) -> None:
        self._reading = False
        if self._again:
            self.refresh()
        self.where, self.steps, decided = got
        w = self.where
        if w is None:
            self.premises_label.setText(f"{self.incident.device} is not on a loan: no URN to count "
                                    "false alarms against.")
            self.false_label.setText("")
        else:
            d = w.deployment
            today = today_london()
            test = "  ·  <b style='color:#b9770e'>ON TEST: log only, do not call the police</b>" \
                if w.premises.on_test else ""
            self.premises_label.setText(
                f"<b>{w.premises.name}</b>, {w.premises.address}<br>URN <b>{w.premises.urn}</b>  ·  "
                f"response: {w.premises.response_level or 'not recorded'}  ·  day {d.day(today)} of the loan "
                f"(ends {d.end:%d %b})  ·  signage {'up' if d.signage else 'NOT up'}{test}")
            words = f"False alarms on this URN in the last 12 months: <b>{w.false_alarms}</b>"
            warn = w.warning
            self.false_label.setText(words + (f"<br><b style='color:#c0392b'>⚠ {warn}</b>"
                                              if warn else ""))
            self.genuine_button.setToolTip("Premises on test are not escalated"
                                           if w.premises.on_test else "")
        for row, step in enumerate(self.steps[:5]):
            took = "" if step.seconds is None else \
                (f"{step.seconds:.1f} s" if step.seconds < 10 else f"{step.seconds:.0f} s") + \
                (" so far" if step.pending else "")
            target = "" if step.target is None else f"{step.target:.0f} s"
            cells = [step.label, local_time(step.at_utc), took, target]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if step.breached:
                    item.setBackground(QBrush(BREACH))
                    item.setToolTip("over the target")
                self.clock.setItem(row, col, item)
        self.clock.setRowCount(len(self.steps))
        if decided:
            last = decided[-1]
            cause = f" ({CAUSES.get(last.cause or '', last.cause)})" if last.cause else ""
            self.decision_label.setText(f"Decision: <b>{DECISIONS[last.decision]}</b>{cause} by "
                                        f"{last.user} at {local_time(last.utc)}")
        self.set_enabled(self.active)

    def breached(self) -> list[str]:
        return [s.name for s in self.steps if s.breached]

    # -- deciding --------------------------------------------------------------------------------
    def set_enabled(self, active: bool) -> None:
        self.active = active
        on_test = bool(self.where and self.where.premises.on_test)
        for w in (self.suspicious_button, self.false_button, self.cause):
            w.setEnabled(active)
        for e in (self.genuine_button, self.police_ref, self.said):
            e.setEnabled(active and not on_test)

    def _do(self, fn: Callable[[], Any], what: str) -> None:
        started = time.monotonic()

        def done(_r: object) -> None:
            self.refresh()
            self.message.emit(f"{what} ({time.monotonic() - started:.1f} s)")
        tasks.run(fn, done, lambda e: self.message.emit(f"{what} failed: {e}"))

    def genuine(self) -> None:
        iid, ref, said = self.incident.id, self.police_ref.text(), self.said.text()
        self._do(lambda: self.triage.escalate(iid, ref, said), "Police informed")

    def suspicious(self) -> None:
        iid = self.incident.id
        self._do(lambda: self.triage.classify(iid, SUSPICIOUS), "Marked suspicious")

    def false_alarm(self) -> None:
        cause, iid = self.cause.currentData(), self.incident.id
        if not cause:
            self.message.emit("Choose the cause of the false alarm first")
            self.cause.setFocus()
            return
        self._do(lambda: self.triage.classify(iid, FALSE, cause), "Closed as a false alarm")

    def shutdown(self) -> None:
        self.ticker.stop()
