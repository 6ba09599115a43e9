"""Wall layouts: which cells a layout has and where each sits in its grid.

Cells are listed big tile first, then left to right and top to bottom, so tile
numbers (what the digit keys select) read the way operators count them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vms.errors import ConfigError


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    rows: int = 1
    cols: int = 1


@dataclass(frozen=True)
class Layout:
    name: str
    grid: int  # the grid is grid x grid
    cells: tuple[Cell, ...]

    @property
    def size(self) -> int:
        return len(self.cells)


def _square(n: int) -> Layout:
    name = "1" if n == 1 else f"{n}x{n}"
    return Layout(name, n, tuple(Cell(r, c) for r in range(n) for c in range(n)))


def _one_plus(grid: int, big: int, row: int = 0, col: int = 0) -> Layout:
    """One big ``big`` x ``big`` cell at (row, col) in a grid, the rest filled with small cells."""
    covered = {(row + r, col + c) for r in range(big) for c in range(big)}
    small = [Cell(r, c) for r in range(grid) for c in range(grid) if (r, c) not in covered]
    return Layout(f"1+{len(small)}", grid, (Cell(row, col, big, big), *small))


LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (
    _square(1), _square(2), _square(3), _square(4), _square(5), _square(8),
    _one_plus(3, 2), _one_plus(4, 3), _one_plus(4, 2, 1, 1),
)}


def layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(f"unknown layout {name!r} (one of: {', '.join(LAYOUTS)})") from None


@dataclass
class WallState:
    """What a wall shows: its layout and the device in each tile (None: empty)."""

    layout: str = "2x2"
    tiles: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Pad or cut the tile list to the layout's size (cameras past the end are dropped)."""
        n = layout(self.layout).size
        self.tiles = (list(self.tiles) + [None] * n)[:n]

    def to_json(self) -> str:
        return json.dumps({"layout": self.layout, "tiles": self.tiles})

    @classmethod
    def from_json(cls, text: str) -> WallState:
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"a saved layout is damaged: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> WallState:
        """From ``{"layout": ..., "tiles": [...]}`` as saved (other keys ignored)."""
        try:
            tiles = [None if t is None else int(t) for t in data.get("tiles", [])]
            return cls(str(data["layout"]), tiles)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            raise ConfigError(f"a saved layout is damaged: {exc}") from exc
