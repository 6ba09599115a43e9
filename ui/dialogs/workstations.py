"""Administration > Workstations on the site: who is signed in where, for supervisors.

Every desk and recording host of the control room, who is signed in at each, and whether it
is still heard. Joins, leaves, sign-ins and sign-outs are pushed by the site database; the
list is also read again every few seconds while open, because a desk that falls silent sends
nothing (it is "silent" once its heartbeat is ``LOST_AFTER_S`` old)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QColor, QStandardItem
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ui import tasks
from ui.calls.service_link import ServiceLink
from ui.screen import sized
from ui.tables import Mode, row_table
from vms.audit.log import london
from vms.site.desk import SiteDesk
from vms.site.workstations import LOST_AFTER_S

REREAD_MS = 5000
COLUMNS = ["Workstation", "Signed in", "State", "Last heard", "Computer"]


def describe(row: dict[str, Any], here: str) -> list[str]:
    """One workstation in words, as the table shows it."""
    name = row["name"] + (" (this desk)" if row["name"] == here else "")
    who = row["user"] or "nobody signed in"
    if not row["lost"]:
        state = "heard"
    elif row["user"]:
        state = f"silent for over {LOST_AFTER_S:.0f} s: operator lost"
    else:  # nobody to lose: a recording host, or a desk nobody was signed in at
        state = f"silent for over {LOST_AFTER_S:.0f} s: not heard"
    return [name, who, state, london(row["seen_utc"]), f"{row['host']} (process {row['pid']})"]


class WorkstationsDialog(QDialog):
    def __init__(self, link: ServiceLink, desk: SiteDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Workstations on the site")
        sized(self, 900, 420)
        self.desk = desk
        self.rows: list[list[str]] = []
        heading = QLabel(f"Who is signed in where on {desk.address}")
        heading.setObjectName("dialogHeading")
        self.model, self.table = row_table(COLUMNS, Mode.NoSelection)
        self.status = QLabel("Reading the site…")
        self.status.setObjectName("paneHint")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self._reading = False
        self._again = False  # a change was pushed while a read was on its way
        self.read_at = ""
        link.stations_changed.connect(self.reread)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.reread)
        self._timer.start(REREAD_MS)
        self.reread()

    def reread(self) -> None:
        """Read the list off the GUI thread; one read at a time."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._again = False
        tasks.run(self.desk.workstations, self._show, self._failed, owner=self)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self._reading = False
        self.read_at = time.strftime("%H:%M:%S")
        here = self.desk.workstation
        self.rows = [describe(r, here) for r in rows]
        self.model.removeRows(0, self.model.rowCount())
        for r, values in zip(rows, self.rows, strict=True):
            items = [QStandardItem(v) for v in values]
            if r["lost"]:
                for it in items:
                    it.setForeground(QBrush(QColor("#ff8a80")))
            self.model.appendRow(items)
        silent = sum(1 for r in rows if r["lost"])
        lost = sum(1 for r in rows if r["lost"] and r["user"])
        signed = sum(1 for r in rows if r["user"] and not r["lost"])
        self.status.setText(
            f"{len(rows)} workstations, {signed} with someone signed in"
            + (f", {silent} silent" if silent else "")
            + (f" ({lost} with an operator: their calls went on hold as 'operator lost')"
               if lost else "") + ". Recording hosts show nobody signed in.")
        self.table.resizeColumnsToContents()
        if self._again:
            self.reread()

    def _failed(self, exc: BaseException) -> None:
        self._reading = False
        seen = f"the list below is as read at {self.read_at}" if self.read_at else \
            "nothing could be read yet"
        self.status.setText(f"Cannot read the site now ({exc}); {seen}. It is read again "
                            "when the database answers.")
        if self._again:
            self.reread()

    def done(self, r: int) -> None:
        self._timer.stop()
        super().done(r)



