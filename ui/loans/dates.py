"""Dates in the loans windows, shown as people write them here (6 Dec 2026)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit


def date_edit(day: dt.date) -> QDateEdit:
    """A date picker that shows the date as people write it here (6 Dec 2026)."""
    edit = QDateEdit(qdate(day))
    edit.setDisplayFormat("d MMM yyyy")
    edit.setCalendarPopup(True)
    return edit


def qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def pydate(q: QDate) -> dt.date:
    return dt.date(q.year(), q.month(), q.day())
