"""Signing out never waits on the network (issue 24: it waited up to 5 s per stream, and
again for each camera connection, in a row).

A real camera's captures (the Bosch FLEXIDOME) name, as their stream address, a loopback
port that accepts connections and never says a word: every stream opened on it hangs in
FFmpeg's or our preflight's read until its own timeout, as a camera that has just lost power
at the far end of a 4G link does.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import ADMIN, ADMIN_PASSWORD, shared_path, signed_in
from tests.journeys.walk import answer, signing_in
from tests.replay_camera import ReplayCamera
from ui import tasks
from ui.desktop import Desktop
from ui.dialogs.sign_in import SignInDialog
from ui.simulator_link import SimulatorLink
from ui.video.hub import FeedHub
from vms.coreloop import core_loop
from vms.devices.commissioning import Commissioning
from vms.devices.live import LiveView
from vms.media.pyav_feed import PyAvFeed
from vms.media.worker import StreamState

REAL_URI = "rtsp://192.168.1.201/rtsp_tunnel?p=0&amp;line=1&amp;inst=1&amp;vcd=2"


class Silent:
    """Accepts every connection and keeps it open without a byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.accepted += 1

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def hanging_camera(tmp_path: Path) -> Iterator[tuple[object, int, Silent]]:
    silent = Silent()
    src = shared_path("data/onvif-captures/bosch/GetStreamUri_1.xml").parent
    folder = tmp_path / "bosch"
    shutil.copytree(src, folder)
    capture = folder / "GetStreamUri_1.xml"
    capture.write_text(capture.read_text(encoding="utf-8").replace(
        REAL_URI, f"rtsp://127.0.0.1:{silent.port}/hang"), encoding="utf-8")
    cam = ReplayCamera(folder)
    port = core_loop().call(cam.start(), timeout=10)
    profile, admin = signed_in(tmp_path / "profile")
    added = Commissioning(profile, admin).add(f"127.0.0.1:{port}", "admin", "pw", name="bosch")
    try:
        yield (profile, admin), added.device_id, silent
    finally:
        core_loop().call(cam.stop(), timeout=10)
        silent.close()
        profile.close()


def _hub_with_hanging_streams(qtbot: QtBot, who: tuple[object, object], device_id: int,
                              silent: Silent) -> FeedHub:
    profile, session = who
    hub = FeedHub(LiveView(profile, session), PyAvFeed)  # type: ignore[arg-type]
    handles = [hub.acquire(device_id, q) for q in ("main", "sub")]
    qtbot.waitUntil(lambda: all(h.feed is not None for h in handles), timeout=15000)
    qtbot.waitUntil(lambda: silent.accepted >= 2, timeout=15000)  # both now wait on the camera
    for h in handles:
        assert h.feed is not None and h.feed.status.state is StreamState.CONNECTING
    return hub


def test_signing_out_does_not_wait_for_streams_that_hang(
        qtbot: QtBot, hanging_camera: tuple[tuple[object, object], int, Silent]) -> None:
    who, device_id, silent = hanging_camera
    hub = _hub_with_hanging_streams(qtbot, who, device_id, silent)
    feeds = hub.feeds()
    began = time.monotonic()
    hub.shutdown(wait=0.0)  # what signing out asks
    took = time.monotonic() - began
    assert took < 0.5, f"signing out waited {took:.1f} s for hanging streams"
    assert all(f.stopped and f.status.state is StreamState.STOPPED for f in feeds)
    for f in feeds:  # they end by themselves once the hanging read gives up
        assert f.join(20)


def test_quitting_waits_for_hanging_streams_once_not_once_each(
        qtbot: QtBot, hanging_camera: tuple[tuple[object, object], int, Silent]) -> None:
    who, device_id, silent = hanging_camera
    hub = _hub_with_hanging_streams(qtbot, who, device_id, silent)
    began = time.monotonic()
    hub.shutdown(wait=1.0)
    took = time.monotonic() - began
    # two hanging streams: the old code waited 1 s for each, one after the other
    assert 0.9 <= took < 1.6, f"quitting took {took:.1f} s for two hanging streams"


def test_the_next_user_signs_in_at_once_after_a_sign_out_with_hanging_streams(
        qtbot: QtBot, hanging_camera: tuple[tuple[object, object], int, Silent],
        site_of: Callable[..., Any]) -> None:
    """Through the desktop: the wall holds two streams that hang; Sign out; the sign-in
    dialog is on screen at once (it was 5 s per stream, one after the other)."""
    (profile, admin), device_id, silent = hanging_camera
    desktop = Desktop(QApplication.instance(), profile,  # type: ignore[arg-type]
                      SimulatorLink(profile.data_dir), site_of(profile, record=False))  # type: ignore[attr-defined]
    win = desktop.open_window(admin)  # type: ignore[arg-type]
    assert desktop.live is not None
    hub = desktop.live.hub
    handles = [hub.acquire(device_id, q) for q in ("main", "sub")]
    qtbot.waitUntil(lambda: all(h.feed is not None for h in handles), timeout=15000)
    qtbot.waitUntil(lambda: silent.accepted >= 2, timeout=15000)
    feeds = hub.feeds()
    seen: dict[str, float] = {}
    began = time.monotonic()

    def at_sign_in(dlg: SignInDialog) -> None:
        seen["after"] = time.monotonic() - began
        signing_in(ADMIN, ADMIN_PASSWORD)(dlg)
    answer(SignInDialog, at_sign_in, win.sign_out.trigger)
    assert seen["after"] < 2.0, f"the sign-in dialog came {seen['after']:.1f} s after Sign out"
    assert all(f.stopped for f in feeds)
    assert desktop.window is not None and ADMIN in desktop.window.who.text()
    # quitting later waits for what the sign-out left ending: 5 s in all, not per stream
    assert {id(f) for f in feeds} <= {id(x) for x in desktop.leftovers}
    began = time.monotonic()
    tasks.wait_for(desktop.leftovers, 1.0)
    assert time.monotonic() - began < 1.6
    tasks.wait_for(desktop.leftovers, 20.0)
    assert all(f.join(0) for f in feeds)  # ended once their reads gave up
    desktop._end_session("test over")
