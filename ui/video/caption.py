"""What a tile's top bar says, fitted to the tile's width (issue 26: "captions readable at
8×8"). A small tile cannot hold place, name, clock, stream quality and the recording mark side
by side; rather than letting them run over each other, the least needed goes first: the clock
(the wall has others), the frame rate (SD/HD stays), the word REC (the red dot stays), the
place (the name stays), and only then is the name shortened with an ellipsis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

GAP = "   "


@dataclass(frozen=True)
class Caption:
    left: str  # "12  Market Square · cam12"
    clock: str
    badge: str  # "SD 10 fps", "HD", ""
    rec: str  # "● REC", "●", "NOT RECORDING", "NOT REC", ""

    def right_width(self, fm: QFontMetrics) -> int:
        parts = [p for p in (self.rec, self.clock, self.badge) if p]
        return fm.horizontalAdvance(GAP.join(parts)) if parts else 0

    def width(self, fm: QFontMetrics) -> int:
        right = self.right_width(fm)
        return fm.horizontalAdvance(self.left) + (fm.horizontalAdvance(GAP) + right
                                                  if right else 0)


def fit(width: int, fm: QFontMetrics, index: int, place: str, name: str, clock: str,
        badge: str, recording: bool | None) -> Caption:
    """The caption for a bar ``width`` pixels wide (text area, margins excluded).
    ``recording``: True being recorded, False not (when it should be), None no mark."""
    rec = "" if recording is None else "● REC" if recording else "NOT RECORDING"
    full = Caption(f"{index + 1}  {place}  ·  {name}" if place else f"{index + 1}  {name}",
                   clock, badge, rec)
    steps = (
        lambda c: replace(c, clock=""),
        lambda c: replace(c, badge=c.badge.split(" ")[0]),
        lambda c: replace(c, rec="●" if recording else "NOT REC" if recording is False else ""),
        lambda c: replace(c, left=f"{index + 1}  {name}"),
    )
    caption = full
    for step in steps:
        if caption.width(fm) <= width:
            return caption
        caption = step(caption)
    room = width - (fm.horizontalAdvance(GAP) + caption.right_width(fm)
                    if caption.right_width(fm) else 0)
    return replace(caption, left=fm.elidedText(caption.left, Qt.TextElideMode.ElideRight,
                                               max(0, room)))
