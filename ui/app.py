"""``vms-desktop``: start the Beacon VMS desktop on a profile, optionally on the simulated site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

import resources
from ui import tasks
from ui.main_window import MainWindow
from ui.site_link import SiteLink
from vms.errors import VmsError
from vms.paths import resolve_data_dir


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vms-desktop", description="Beacon VMS desktop")
    p.add_argument("--data-dir", metavar="DIR",
                   help="profile directory (default: $VMS_DATA_DIR or the user data directory)")
    p.add_argument("--sim", action="store_true",
                   help="run on the simulated site (started on this profile if not running)")
    p.add_argument("--clip-cache", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--quit-after-ready", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data_dir = resolve_data_dir(args.data_dir)
    except VmsError as exc:
        print(f"vms-desktop: {exc}", file=sys.stderr)
        return 2
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Beacon VMS")
    app.setStyleSheet(resources.path("styles/app.qss").read_text(encoding="utf-8"))
    link = SiteLink(data_dir)
    window = MainWindow(link)
    window.show()
    if args.sim:
        link.start_simulator(args.clip_cache)
    else:
        link.watch()
    if args.quit_after_ready is not None:
        _quit_when_listed(app, window, args.quit_after_ready)
    code = app.exec()
    link.shutdown()
    tasks.wait_all()
    return code


def _quit_when_listed(app: QApplication, window: MainWindow, timeout: float) -> None:
    """For scripted checks: exit 0 once devices are listed, 1 if none by ``timeout``."""
    waited = {"ms": 0}

    def check() -> None:
        rows = window.devices.model.rowCount()
        waited["ms"] += 200
        if rows:
            print(f"listed {rows} devices", flush=True)
            app.exit(0)
        elif waited["ms"] > timeout * 1000:
            print("no devices listed", flush=True)
            app.exit(1)

    timer = QTimer(window)
    timer.timeout.connect(check)
    timer.start(200)


if __name__ == "__main__":
    raise SystemExit(main())
