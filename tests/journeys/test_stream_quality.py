"""Journey: a camera sending more frames than the wall can show. The wall paints every 40 ms
(25 a second at most), so a 40 fps camera's tile says how many of its frames it shows, in
amber ("SD 25/40 fps"), instead of passing for smooth (issue 26: "a stream-quality mark (main/
sub, frame rate, drops)"; issue 28: "drop ... frames for tiles that cannot show them all (and
say so on the tile)"). Read off the painted pixels as well as the tile.

Set-up outside the windows: a simulated site whose camera sends 40 frames a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.journeys.setup_site import simulated_site
from tests.journeys.walk import at_desk, look_at
from ui.video.tile import Tile
from vms.access.roles import Role
from vms.profile import Profile
from vms.wall.quality import words

SITE = """
[site]
fps = 40

[[device]]
name = "cam-fast"
kind = "camera"
location = "Bus Station"
"""
OPERATOR, OPERATOR_PW = "quinn-quality", "quinn-counts-42"


@pytest.fixture()
def site(tmp_path: Path, clip_cache: Path) -> Iterator[tuple[Sim, Profile]]:
    with simulated_site(tmp_path, clip_cache, config=SITE,
                        users={OPERATOR: (Role.OPERATOR, OPERATOR_PW)},
                        registered=("cam-fast",)) as both:
        yield both


def amber_in_top_right(tile: Tile) -> int:
    """Pixels of the mark's amber in the right half of the tile's top bar."""
    image = tile.grab().toImage()
    bar = max(12, tile.fontMetrics().height() + 6)
    n = 0
    for x in range(image.width() // 2, image.width()):
        for y in range(1, bar):
            c = image.pixelColor(x, y)
            n += c.red() > 200 and 150 < c.green() < 205 and c.blue() < 120
    return n


@pytest.mark.timeout(240)
def test_a_camera_faster_than_the_wall_says_how_many_frames_it_shows(
        qtbot: QtBot, site: tuple[Sim, Profile], site_of: Callable[..., Any]) -> None:
    _sim, profile = site
    desktop, win, _link = at_desk(profile, site_of(profile, record=False), OPERATOR, OPERATOR_PW)
    try:
        wall = win.wall.wall
        qtbot.waitUntil(lambda: any(t.name == "cam-fast" for t in wall.tiles), timeout=20000)
        tile = next(t for t in wall.tiles if t.name == "cam-fast")
        qtbot.waitUntil(lambda: tile.rate is not None and tile.rate.delivered > 30,
                        timeout=40000)
        qtbot.wait(2500)  # a whole window at full rate
        rate = tile.rate
        assert rate is not None and rate.short, rate
        assert 35 <= rate.delivered <= 45 and 15 <= rate.shown <= 27, rate
        mark = words(tile.quality, rate)
        assert mark.startswith("SD ") and mark.endswith(f"/{rate.delivered:.0f} fps"), mark
        qtbot.wait(200)
        assert amber_in_top_right(tile) > 10, "the mark is not painted in amber"
        look_at(win, "journey-stream-quality.png")
    finally:
        desktop._end_session("journey over", wait=0.0)
