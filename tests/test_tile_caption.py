"""A tile's top bar fitted to its width (``ui.video.caption``): nothing overlaps on an 8×8
wall, and the least needed parts go first."""

from __future__ import annotations

import itertools

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication

from ui.video.caption import fit


def metrics(qapp: QApplication) -> QFontMetrics:
    font = QFont(qapp.font())
    font.setPointSizeF(7.0)  # what a tile of an 8x8 wall uses
    return QFontMetrics(font)


def test_a_wide_tile_says_everything(qapp: QApplication) -> None:
    fm = metrics(qapp)
    cap = fit(900, fm, 11, "Market Square", "cam12", "21:14:05", "SD 10 fps", True)
    assert (cap.left, cap.clock, cap.badge, cap.rec) == (
        "12  Market Square  ·  cam12", "21:14:05", "SD 10 fps", "● REC")


def test_a_small_tile_drops_the_least_needed_first_and_never_overlaps(
        qapp: QApplication) -> None:
    fm = metrics(qapp)
    widths = {}
    for width in range(60, 420, 10):
        cap = fit(width, fm, 11, "Market Square", "cam12", "21:14:05", "SD 25/40 fps", True)
        assert cap.width(fm) <= width, (width, cap)
        widths[width] = cap
    # an 8x8 wall on a 1920x1080 desk: tiles about 140 px wide
    small = widths[140]
    assert small.clock == "" and small.badge.startswith("SD"), small
    assert "cam12" in small.left, small  # the name is the last to go
    # dropped in order as the tile narrows: clock, then frame rate, REC, place, name
    order = [(c.clock != "", c.badge != "SD", c.rec == "● REC", "Market" in c.left,
              "cam12" in c.left) for _w, c in sorted(widths.items())]
    for earlier, later in itertools.pairwise(order):
        assert all(b >= a for a, b in zip(earlier, later, strict=True)), (earlier, later)
    not_recorded = fit(140, fm, 0, "", "cam1", "21:14:05", "HD 25 fps", False)
    assert not_recorded.rec == "NOT REC" and not_recorded.width(fm) <= 140
