"""Journeys see the desktop as a person does: in the style sheet the application uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from ui.theme import theme


@pytest.fixture(autouse=True)
def desktop_theme(qapp: QApplication) -> Iterator[None]:
    before = qapp.styleSheet()
    qapp.setStyleSheet(theme())
    yield
    qapp.setStyleSheet(before)
