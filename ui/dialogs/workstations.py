"""Administration > Workstations on the site: who is signed in where, for supervisors.

Every desk and recording host of the control room, who is signed in at each, and whether it
is still heard. Joins, leaves, sign-ins and sign-outs are pushed by the site database; the
list is also read again every few seconds while open, because a desk that falls silent sends
nothing (it is "silent" once its heartbeat is ``LOST_AFTER_S`` old)."""

from __future__ import annotations

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
    state = (f"silent for over {LOST_AFTER_S:.0f} s: operator lost" if row["lost"]
             else "heard")
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
        link.stations_changed.connect(self.reread)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.reread)
        self._timer.start(REREAD_MS)
        self.reread()

    def reread(self) -> None:
        """Read the list off the GUI thread; one read at a time."""
        if self._reading:
            return
        self._reading = True
        tasks.run(self.desk.workstations, self._show, self._failed, owner=self)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self._reading = False
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
        signed = sum(1 for r in rows if r["user"])
        self.status.setText(
            f"{len(rows)} workstations, {signed} with someone signed in"
            + (f", {silent} silent (their calls went on hold as 'operator lost')" if silent
               else "") + ". Recording hosts show nobody signed in.")
        self.table.resizeColumnsToContents()

    def _failed(self, exc: BaseException) -> None:
        self._reading = False
        self.status.setText(f"The site database cannot be read now: {exc}. The list is read "
                            "again when it answers.")

    def done(self, r: int) -> None:
        self._timer.stop()
        super().done(r)



