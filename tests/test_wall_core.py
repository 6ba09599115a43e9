"""The wall's rules without Qt: layout geometry, stream choice, retry timing, saved layouts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import signed_in
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.errors import ConfigError, PermissionDenied
from vms.retry import Backoff
from vms.wall import streams
from vms.wall.layouts import LAYOUTS, WallState, layout
from vms.wall.saved import SavedLayouts


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_covers_its_grid_exactly_once(name: str) -> None:
    lay = layout(name)
    covered: list[tuple[int, int]] = []
    for c in lay.cells:
        covered += [(c.row + r, c.col + k) for r in range(c.rows) for k in range(c.cols)]
    assert sorted(covered) == [(r, k) for r in range(lay.grid) for k in range(lay.grid)]


def test_layout_sizes_are_the_ones_operators_know() -> None:
    sizes = {n: layout(n).size for n in LAYOUTS}
    assert sizes == {"1": 1, "2x2": 4, "3x3": 9, "4x4": 16, "5x5": 25, "8x8": 64,
                     "1+5": 6, "1+7": 8, "1+12": 13}
    big = layout("1+12").cells[0]
    assert (big.row, big.col, big.rows, big.cols) == (1, 1, 2, 2)  # centred, tile 1
    assert layout("1+7").cells[0].rows == 3
    with pytest.raises(ConfigError, match="unknown layout"):
        layout("7x7")


def test_wall_state_fits_its_layout_and_survives_json() -> None:
    s = WallState("2x2", [1, 2, 3, 4, 5, 6])
    assert s.tiles == [1, 2, 3, 4]  # cameras past the end are dropped
    s2 = WallState.from_json(WallState("1+5", [None, 7]).to_json())
    assert (s2.layout, s2.tiles) == ("1+5", [None, 7, None, None, None, None])
    with pytest.raises(ConfigError, match="damaged"):
        WallState.from_json('{"tiles": [1]}')


def test_stream_choice_has_hysteresis() -> None:
    sub = (640, 360)
    assert streams.choose("sub", 480, 270, *sub) == "sub"
    assert streams.choose("sub", 780, 440, *sub) == "sub"  # 1.49x the sub stream's area
    assert streams.choose("sub", 800, 450, *sub) == "main"  # 1.56x
    # Between the thresholds a tile keeps what it has: no flapping while resizing.
    assert streams.choose("main", 700, 380, *sub) == "main"
    assert streams.choose("sub", 700, 380, *sub) == "sub"
    assert streams.choose("main", 600, 340, *sub) == "sub"
    assert streams.choose("sub", 1920, 1080, *sub, has_main=False) == "sub"
    assert streams.choose("sub", 100, 100, None, None, has_sub=False) == "main"


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    b = Backoff(first=1.0, cap=30.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(10)]
    for i, d in enumerate(delays):
        base = min(30.0, 2.0 ** i)
        assert base * 0.5 <= d <= base
    assert max(delays) <= 30.0
    assert len({round(d, 6) for d in delays[5:]}) > 1  # jittered, not one fixed value
    b.reset()
    assert b.next_delay() <= 1.0
    # Two workstations retrying the same camera do not knock at the same moment.
    a, c = Backoff(rng=random.Random(1)), Backoff(rng=random.Random(2))
    assert [round(a.next_delay(), 3) for _ in range(4)] != [round(c.next_delay(), 3)
                                                              for _ in range(4)]


def test_saved_layouts_are_per_user_and_persist(tmp_path: Path) -> None:
    profile, admin = signed_in(tmp_path / "p")
    try:
        users = UserAdmin(profile.access, admin)
        users.add("op-a", Role.OPERATOR, "operator-a-pass")
        users.add("op-b", Role.OPERATOR, "operator-b-pass")
        users.add("ev", Role.EVIDENCE_OFFICER, "evidence-pass-1")
        a = profile.access.sign_in("op-a", "operator-a-pass", via="desktop")
        b = profile.access.sign_in("op-b", "operator-b-pass", via="desktop")
        SavedLayouts(profile, a).save(WallState("3x3", []), "Night shift")
        SavedLayouts(profile, a).save(WallState("1+5", []))
        assert SavedLayouts(profile, a).names() == ["Night shift"]
        assert SavedLayouts(profile, b).names() == []
        assert SavedLayouts(profile, b).load() is None
        with pytest.raises(ConfigError, match="at most"):
            SavedLayouts(profile, a).save(WallState(), "x" * 61)
        ev = profile.access.sign_in("ev", "evidence-pass-1", via="desktop")
        with pytest.raises(PermissionDenied, match="view live video"):  # no live wall for them
            SavedLayouts(profile, ev).save(WallState(), "mine")
    finally:
        profile.close()
    profile, _ = signed_in(tmp_path / "p")  # a restart: a new process opens the profile
    try:
        a = profile.access.sign_in("op-a", "operator-a-pass", via="desktop")
        last = SavedLayouts(profile, a).load()
        assert last is not None and last.layout == "1+5"
        night = SavedLayouts(profile, a).load("night shift")  # names ignore case
        assert night is not None and night.layout == "3x3"
        saves = [e for e in profile.audit.entries() if e.action == "layout.save"]
        assert [(e.user, e.outcome) for e in saves] == [("op-a", "ok"), ("ev", "denied")]
    finally:
        profile.close()
