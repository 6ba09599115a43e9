"""Windows open at a useful size that never exceeds the screen they open on.

A control room runs 1920x1080 monitors, but a supervisor's laptop may be 1366x768: a window
that asks for 1300x900 there opens with its buttons below the bottom edge.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

SHARE = 0.92  # of the screen's free area, leaving room for the frame and the task bar


def sized(widget: QWidget, width: int, height: int) -> None:
    """Resize ``widget`` to ``width`` x ``height``, or to what its screen has room for."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        width = min(width, int(free.width() * SHARE))
        height = min(height, int(free.height() * SHARE))
    widget.resize(width, height)
