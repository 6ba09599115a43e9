"""``vms-desktop``: start the Beacon VMS desktop on a profile, optionally on the simulated site."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui import tasks
from ui.desktop import Desktop
from ui.main_window import MainWindow
from ui.simulator_link import SimulatorLink
from ui.theme import theme
from vms.cli.common import site_address, workstation
from vms.coreloop import core_loop
from vms.discovery.presence import Presence, PresenceListener
from vms.errors import VmsError
from vms.paths import resolve_data_dir
from vms.profile import Profile
from vms.site import SiteService, attach
from vms.site.desk import SiteDesk
from vms.store import Registry


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vms-desktop", description="Beacon VMS desktop. On a new "
                                "profile it first asks for the administrator account; "
                                "VMS_USER and VMS_PASSWORD sign in without the dialog "
                                "(scripted and training runs).")
    p.add_argument("--data-dir", metavar="DIR",
                   help="profile directory (default: $VMS_DATA_DIR or the user data directory)")
    p.add_argument("--sim", action="store_true",
                   help="run on the simulated site (started on this profile if not running)")
    p.add_argument("--site", metavar="postgresql://USER@HOST:PORT/DB",
                   help="join a control room's shared site database (default: $VMS_SITE; "
                        "none: this profile alone)")
    p.add_argument("--workstation", metavar="NAME",
                   help="this workstation's name on the site (default: $VMS_WORKSTATION or "
                        "the computer's name)")
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
    app.setStyleSheet(theme())
    try:
        address = site_address(args)
        name = workstation(args) if address is not None else None
        profile = Profile(data_dir, site=address, workstation=name)
    except VmsError as exc:
        print(f"vms-desktop: {exc}", file=sys.stderr)
        return 2
    desk: SiteDesk | None = None
    site = None
    try:
        # The profile's site service: the one 'vms serve' runs, else our own, started before
        # anyone signs in: calls ring, cameras record and footage locks from now until quit.
        site = attach(profile, site=address, workstation=name) if address else attach(profile)
        if address is not None and name is not None:  # a control room: calls are the site's
            desk = SiteDesk(profile, address, name).start()
    except VmsError as exc:
        print(f"vms-desktop: the site service cannot start: {exc}", file=sys.stderr)
        if site is not None:
            site.stop() if isinstance(site, SiteService) else site.close()
        profile.close()
        return 2
    link = SimulatorLink(data_dir)
    desktop = Desktop(app, profile, link, site, desk)
    if not desktop.start():
        desktop.close_site()
        profile.close()
        return 0
    assert desktop.window is not None
    # On the simulated site the announcements stay on loopback (and so does our group join).
    presence = _listen_for_presence(profile.registry, desktop.window,
                                    "127.0.0.1" if args.sim else "0.0.0.0")  # noqa: S104
    if args.sim:  # otherwise there is no simulator to ask about: the devices are the registry's
        link.start_simulator(args.clip_cache)
    if args.quit_after_ready is not None:
        _quit_when_listed(app, desktop, args.quit_after_ready)
    code = app.exec()
    core_loop().loop.call_soon_threadsafe(presence.stop)
    link.shutdown()
    tasks.wait_all()
    desktop.close_site()
    profile.close()
    return code


def _listen_for_presence(registry: Registry, window: MainWindow, interface: str) -> PresenceListener:
    """Record devices' Hello/Bye as sightings. The listener runs on the core loop; the SQLite
    write goes to a worker thread so a busy database never stalls the loop."""
    def record(p: Presence) -> None:
        try:
            if p.sighting is not None:
                registry.record_sighting(p.sighting, p.kind)
            else:
                registry.mark_gone(p.endpoint)
        except (VmsError, sqlite3.Error) as exc:  # presence is advisory: note it, carry on
            logging.getLogger(__name__).warning("could not record a device announcement: %s", exc)

    def seen(p: Presence) -> None:
        asyncio.get_running_loop().run_in_executor(None, record, p)

    listener = PresenceListener(seen, interface=interface)

    def failed(exc: BaseException) -> None:
        window.statusBar().showMessage(f"Not listening for camera announcements: {exc}")

    tasks.run(lambda: core_loop().call(listener.start(), timeout=5), lambda _r: None, failed)
    return listener


def _quit_when_listed(app: QApplication, desktop: Desktop, timeout: float) -> None:
    """For scripted checks: exit 0 once devices are listed, 1 if none by ``timeout``."""
    waited = {"ms": 0}

    def check() -> None:
        window = desktop.window
        rows = window.devices.model.rowCount() if window else 0
        waited["ms"] += 200
        if rows:
            print(f"listed {rows} devices", flush=True)
            desktop.quit()
        elif waited["ms"] > timeout * 1000:
            print("no devices listed", flush=True)
            app.exit(1)

    timer = QTimer(app)
    timer.timeout.connect(check)
    timer.start(200)


if __name__ == "__main__":
    raise SystemExit(main())
