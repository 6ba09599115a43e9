"""Journey: a Help Point pressed while its camera is on the wall. Its tile's border flashes
red while nobody has the call, holds amber once an operator has it, and clears when the
call is closed (issue 26, "a flashing border in alarm"). Read off the painted pixels, not
the widget's fields alone.

Set-up outside the windows: the simulated site, cam1, cam2 and hp1 registered, an operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import at_desk, look_at
from ui.video.tile import Tile
from vms.access.roles import Role
from vms.profile import Profile

OPERATOR, OPERATOR_PW = "ola-operator", "ola-watches-42"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam1", "cam2", "hp1")) as both:
        yield both


def edge(tile: Tile) -> QColor:
    """The colour painted at the middle of the tile's left edge, inside any frame line."""
    image = tile.grab().toImage()
    return image.pixelColor(3, image.height() // 2)


def reddish(c: QColor) -> bool:
    return c.red() > 200 and c.green() < 90 and c.blue() < 90


def amber(c: QColor) -> bool:
    return c.red() > 200 and 120 < c.green() < 190 and c.blue() < 90


def seen(qtbot: QtBot, tile: Tile, seconds: float) -> list[QColor]:
    """The edge's colour sampled every ~100 ms for ``seconds``, the GUI running between."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qtbot.wait(100)
        out.append(edge(tile))
    return out


@pytest.mark.timeout(240)
def test_a_pressed_help_point_flashes_on_the_wall_until_taken_and_clears_when_closed(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    sim, profile = site
    desktop, win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR, OPERATOR_PW)
    wall, calls = desktop.live.pane.wall, desktop.calls
    assert calls is not None
    qtbot.waitUntil(lambda: any(t.name == "hp1" for t in wall.tiles), timeout=20000)
    tile = next(t for t in wall.tiles if t.name == "hp1")
    qtbot.waitUntil(lambda: tile.shown > 0, timeout=30000)
    assert not any(reddish(c) or amber(c) for c in seen(qtbot, tile, 0.6)), "alarm before a press"

    sim.cli("press", "hp1")
    try:
        qtbot.waitUntil(lambda: len(calls.panes) == 1, timeout=20000)
        pane = next(iter(calls.panes.values()))
        colours = seen(qtbot, tile, 2.0)
        assert any(reddish(c) for c in colours), "no red border on the pressed Help Point's tile"
        assert any(not reddish(c) for c in colours), "the border is red but does not flash"
        other = next(t for t in wall.tiles if t.name == "cam1")
        assert not any(reddish(edge(other)) for _ in range(3)), "another camera's tile flashes"
        qtbot.waitUntil(lambda: reddish(edge(tile)), timeout=2000)
        look_at(win, "journey-tile-in-alarm.png")

        qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: pane.incident.state == "accepted", timeout=10000)
        qtbot.waitUntil(lambda: amber(edge(tile)), timeout=3000)
        assert all(amber(c) for c in seen(qtbot, tile, 1.2)), "a taken call's border must hold"

        pane.record.outcome.setCurrentIndex(pane.record.outcome.findData("test"))
        iid = pane.incident.id
        qtbot.mouseClick(pane.record.close_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: iid not in calls.panes, timeout=10000)
        qtbot.waitUntil(lambda: not amber(edge(tile)), timeout=3000)
        assert not any(reddish(c) or amber(c) for c in seen(qtbot, tile, 1.2))
    finally:
        sim.cli("release", "hp1")
        desktop._end_session("journey over")
