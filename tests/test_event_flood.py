"""16 devices sending 10 events a second with the desk up: every event stored, a call still pops.

The duration is ``VMS_FLOOD_SECONDS`` (60 by default; CI runs the issue's 5 minutes).
The GUI loop lag is printed here and measured against its target in
``benchmarks/event_flood.py``, because timing is not something a test should assert.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import Sim, start_sim
from tests.flood_helpers import NAMES, SIM_ARGS, sim_counts, start_flood, stored_counts
from tests.wall_helpers import register
from ui.calls.desk import CallDesk
from ui.calls.service_link import ServiceLink
from ui.looplag import LoopLag
from ui.wall.assembly import assemble
from vms.events.engine import OK
from vms.sim import control

RATE = 10.0
SECONDS = float(os.environ.get("VMS_FLOOD_SECONDS", "60"))


@pytest.fixture(scope="module")
def fsim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    s = start_sim(tmp_path_factory.mktemp("flood") / "data", clip_cache, *SIM_ARGS)
    yield s
    s.stop()


@pytest.mark.timeout(SECONDS + 600)
def test_sixteen_devices_flooding_lose_nothing_and_a_call_still_pops(
        qtbot: QtBot, fsim: Sim, tmp_path: Path) -> None:
    site = register(fsim, tmp_path / "profile", NAMES)
    live = assemble(site.profile, site.operator)
    desk = CallDesk(site.profile, ServiceLink(site.profile, site.operator), live.hub)
    lag = LoopLag()
    health_changes: list[tuple[str, str]] = []
    try:
        desk.start([site.profile.registry.device(i) for i in site.ids.values()])
        qtbot.waitUntil(lambda: len(desk.service.health) == 16 and all(
            h.state == OK for h in desk.service.health.values()), timeout=60000)
        desk.service.health_changed.connect(lambda h: health_changes.append((h.device, h.state)))
        conn = desk.service.store.conn
        assert stored_counts(conn) == {}

        lag.start()
        start_flood(fsim.data_dir, RATE, SECONDS)
        t0 = time.monotonic()
        qtbot.wait(int(SECONDS * 500))  # halfway: someone presses a Help Point
        t_press = time.monotonic()
        control.action(fsim.data_dir, "hp1", "press")
        qtbot.waitUntil(lambda: any(p.isVisible() for p in desk.panes.values()), timeout=10000)
        popped = time.monotonic() - t_press
        control.action(fsim.data_dir, "hp1", "release")

        qtbot.waitUntil(lambda: not sim_counts(fsim.data_dir)[1],
                        timeout=int((SECONDS + 60) * 1000))
        sent, _ = sim_counts(fsim.data_dir)
        flood_s = time.monotonic() - t0
        # Equal per device: none lost and none taken for a duplicate (each was a real change).
        qtbot.waitUntil(lambda: stored_counts(conn) == sent, timeout=30000)
        lag.stop()

        expected = int(RATE * SECONDS)
        assert sent == dict.fromkeys(NAMES, expected), "the simulator did not send them all"
        assert sum(stored_counts(conn).values()) == 16 * expected
        assert all(s == OK for _d, s in health_changes), f"subscriptions dropped: {health_changes}"
        # Every device's motion is one incident in the queue; only the call popped a pane.
        kinds = sorted(i.kind for i in desk.queue_pane.items.values())
        assert kinds == ["help_button"] + ["motion"] * 16
        assert [p.incident.kind for p in desk.panes.values()] == ["help_button"]
        assert desk.queue_pane.table.rowCount() == 17
        print(f"\nflood: {sum(sent.values())} events in {flood_s:.0f} s, all stored; call popped "
              f"in {popped * 1000:.0f} ms; GUI loop lag {lag.summary()}")
    finally:
        lag.stop()
        desk.shutdown()
        live.shutdown()
        site.profile.close()
