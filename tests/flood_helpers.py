"""An event flood on a 16-device simulated site: what was sent against what was stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vms.sim import control

SIM_ARGS = ("--cameras", "10", "--help-points", "2", "--pid", "4", "--no-discovery")
NAMES = [f"cam{i}" for i in range(1, 11)] + ["hp1", "hp2"] + [f"pid{i}" for i in range(1, 5)]


def start_flood(data_dir: Path, rate: float, seconds: float) -> None:
    for name in NAMES:
        control.action(data_dir, name, "flood", rate=rate, duration=seconds)


def sim_counts(data_dir: Path) -> tuple[dict[str, int], bool]:
    """Flood messages each device has sent, and whether any is still sending."""
    devices = control.status(data_dir)["devices"]
    return ({d["name"]: int(d["flood_sent"]) for d in devices},
            any(d["flooding"] for d in devices))


def stored_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Motion changes stored per device (not the initial states nor synthetic 'off's)."""
    rows = conn.execute("SELECT device, COUNT(*) FROM events WHERE kind = 'motion' AND "
                        "initial = 0 AND synthetic IS NULL GROUP BY device")
    return {r[0]: int(r[1]) for r in rows}
