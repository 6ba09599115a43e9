"""Draws loaned kit by coordinates (``vms.maps.coordinates``) on the site map's scene: scene
units are metres, north up; a 100 m grid, a dashed ring of the crime radius round each premises,
police.uk street crimes as dots (one per point police.uk places them at, larger for more,
magenta where there was a burglary), the premises' names. The
devices' pins are the map's own (``PinItem``), so their live state and clicks work as on a plan.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsScene

from vms.maps.coordinates import BURGLARY, Crime, Kit, KitMap

GRID_M = 100.0
MARGIN_M = 150.0
_GRID = QColor("#1f2733")
_RING = QColor("#2563c9")
_CRIME = QColor("#5d6f8c")  # dimmer than an offline pin's grey
_BURGLARY = QColor("#d946ef")  # magenta: no pin state uses it


def _dot(scene: QGraphicsScene, x: float, y: float, px: float, colour: QColor,
         tip: str) -> None:
    """A dot the same size on screen at any zoom."""
    dot = QGraphicsEllipseItem(-px / 2, -px / 2, px, px)
    dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
    dot.setPos(x, y)
    dot.setPen(QPen(Qt.PenStyle.NoPen))
    dot.setBrush(QBrush(colour))
    dot.setToolTip(tip)
    scene.addItem(dot)


def draw(scene: QGraphicsScene, m: KitMap, pin: Callable[[Kit, QPointF], None]) -> QRectF:
    """Draw ``m`` on an empty ``scene``; ``pin(kit, pos)`` adds each device's pin. Returns the
    area to fit the view to."""
    r = m.radius_m
    xs = [k.x for k in m.kit] or [0.0]
    ys = [-k.y for k in m.kit] or [0.0]
    rect = QRectF(QPointF(min(xs) - r - MARGIN_M, min(ys) - r - MARGIN_M),
                  QPointF(max(xs) + r + MARGIN_M, max(ys) + r + MARGIN_M))
    scene.setSceneRect(rect.adjusted(-2000, -2000, 2000, 2000))
    grid = QPen(_GRID, 0)  # cosmetic: one pixel at any zoom
    x = GRID_M * (rect.left() // GRID_M)
    while x <= rect.right():
        scene.addLine(x, rect.top(), x, rect.bottom(), grid)
        x += GRID_M
    y = GRID_M * (rect.top() // GRID_M)
    while y <= rect.bottom():
        scene.addLine(rect.left(), y, rect.right(), y, grid)
        y += GRID_M
    ring = QPen(_RING, 0, Qt.PenStyle.DashLine)
    font = QFont()
    font.setPointSizeF(10)
    places: dict[int, Kit] = {}  # premises by id: two flats may share a name, or a point
    for k in m.kit:
        places.setdefault(k.premises_id, k)
    for k in places.values():
        scene.addEllipse(k.x - r, -k.y - r, 2 * r, 2 * r, ring)
        label = scene.addSimpleText(k.premises, font)
        label.setBrush(QBrush(QColor("#c8d3e0")))
        label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        label.setPos(k.x - r, -k.y - r)
    # police.uk puts each crime on one of a set of anonymised points, so many share a point:
    # one dot per point, its area growing with the count, magenta if any was a burglary.
    spots: dict[tuple[int, int], list[Crime]] = {}
    for c in m.crimes:
        spots.setdefault((round(c.x), round(c.y)), []).append(c)
    for (x, y), here in spots.items():
        kinds = Counter(c.crime_type for c in here)
        burglary = BURGLARY in kinds
        tip = f"{len(here)} crime{'s' if len(here) != 1 else ''} here (police.uk):\n" + \
            "\n".join(f"{n} × {kind}" for kind, n in kinds.most_common())
        _dot(scene, x, -y, min(18.0, 4 + 2.2 * math.sqrt(len(here) - 1)),
             _BURGLARY if burglary else _CRIME, tip)
    stacked: dict[tuple[int, int], int] = {}
    for k in m.kit:  # devices at one point side by side, not on top of each other
        at = (round(k.x), round(k.y))
        n = stacked.get(at, 0)
        stacked[at] = n + 1
        pin(k, QPointF(k.x + n * 40 * max(1.0, rect.width() / 1000), -k.y))
    return rect
