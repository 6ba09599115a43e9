"""Plan files the map tests give installers to choose."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QPageLayout, QPageSize, QPainter, QPdfWriter


def plans_pdf(path: Path) -> None:
    """A real two-page A4 landscape PDF, as an architect sends: a cover, then the plan (a red
    block in the middle of a grey page), drawn by Qt's PDF writer."""
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageOrientation(QPageLayout.Orientation.Landscape)
    writer.setResolution(72)
    painter = QPainter(writer)
    painter.drawText(100, 100, "Town centre: plans for CCTV")
    writer.newPage()
    w, h = writer.width(), writer.height()
    painter.fillRect(QRect(0, 0, w, h), QColor("#cccccc"))
    painter.fillRect(QRect(w // 2 - 60, h // 2 - 40, 120, 80), QColor("#ff0000"))
    painter.end()
