"""Live feeds on both backends: PyAV on RTSP from the simulator, libvlc on HTTP MPEG-TS and files.

Debian's libvlc cannot open RTSP (field notes), so the libvlc backend is tested on the
sources it can play here; the same backend plays RTSP on the Windows VLC runtime.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from tests.conftest import PASSWORD, REPO, USER, Sim, start_sim, wait_for
from tests.wall_helpers import Site, register
from ui import tasks
from ui.wall.assembly import assemble
from vms.devices.commissioning import Commissioning
from vms.media import backends
from vms.media.feed import Feed, FeedState
from vms.media.pyav_feed import PyAvFeed
from vms.media.vlc_feed import VlcFeed, pool_size
from vms.retry import Backoff
from vms.wall.layouts import WallState

QUICK = partial(Backoff, first=0.3, cap=2.0)


def frame_std(feed: Feed) -> float:
    f = feed.latest
    assert f is not None
    rows = np.frombuffer(memoryview(f.data), np.uint8)[: f.height * f.bytes_per_line]
    px = rows.reshape(f.height, f.bytes_per_line)[:, : f.width * 4].reshape(f.height, f.width, 4)
    return float(px[:, :, :3].std())


@pytest.fixture(scope="module")
def auth_sim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    """Two cameras whose RTSP needs Digest credentials; their own site, to take offline."""
    s = start_sim(tmp_path_factory.mktemp("auth") / "data", clip_cache, "--cameras", "2",
                  "--help-points", "0", "--pid", "0", "--rtsp-auth", "--no-discovery")
    yield s
    s.stop()


def sub_uri(sim: Sim, name: str) -> str:
    streams = sim.device(name)["streams"]
    return next(u for u in streams.values() if u.endswith("/sub"))


def test_pyav_feed_recovers_after_offline_online(auth_sim: Sim) -> None:
    feed = PyAvFeed(sub_uri(auth_sim, "cam2"), USER, PASSWORD, label="cam2", backoff=QUICK())
    feed.set_box(320, 320)
    feed.start()
    try:
        wait_for(lambda: feed.status.state is FeedState.LIVE and feed.frames > 5, 30, "live")
        assert (feed.latest.width, feed.latest.height) == (320, 180)  # type: ignore[union-attr]
        assert frame_std(feed) > 20
        auth_sim.cli("offline", "cam2")
        wait_for(lambda: feed.status.state in (FeedState.RETRYING, FeedState.OFFLINE), 30,
                 "the loss to be noticed")
        st = feed.status
        assert st.reason and st.countdown() is not None
        wait_for(lambda: feed.status.state is FeedState.OFFLINE, 30, "offline after retries")
        assert "refused" in feed.status.reason, feed.status.reason
        assert PASSWORD not in feed.status.reason and PASSWORD not in repr(feed)
        auth_sim.cli("online", "cam2")
        wait_for(lambda: feed.sessions >= 2 and feed.status.state is FeedState.LIVE, 30,
                 "recovery")
        before = feed.frames
        wait_for(lambda: feed.frames > before + 5, 10, "frames after recovery")
    finally:
        auth_sim.cli("online", "cam2", check=False)
        feed.stop()
        assert feed.join(15)


def test_pyav_feed_says_when_credentials_are_wrong(auth_sim: Sim) -> None:
    feed = PyAvFeed(sub_uri(auth_sim, "cam1"), USER, "not-the-password", label="cam1",
                    backoff=QUICK())
    feed.start()
    try:
        wait_for(lambda: feed.status.state is FeedState.AUTH_FAILED, 30, "auth failure")
        assert "user name or password" in feed.status.reason
        assert feed.status.countdown() is not None and feed.frames == 0
        assert "not-the-password" not in feed.status.reason + repr(feed)
    finally:
        feed.stop()
        assert feed.join(15)


def test_a_wall_tile_recovers_and_names_wrong_credentials(qtbot: QtBot, auth_sim: Sim,
                                                           tmp_path: Path) -> None:
    site: Site = register(auth_sim, tmp_path / "p", ["cam1", "cam2"])
    live = assemble(site.profile, site.operator)
    live.hub.backoff = QUICK
    qtbot.addWidget(live.pane)
    live.pane.resize(1000, 700)
    live.pane.show()
    try:
        live.pane.set_devices(Commissioning(site.profile, site.operator).devices())
        qtbot.waitUntil(lambda: live.pane.ready, timeout=10000)
        wall = live.pane.wall
        wall.apply(WallState("2x2", [site.ids["cam1"], site.ids["cam2"]]))
        t1, t2 = wall.tiles[:2]
        qtbot.waitUntil(lambda: t1.shown > 3 and t2.shown > 3, timeout=30000)
        assert t1._status[0] == "Live"
        auth_sim.cli("offline", "cam1")
        qtbot.waitUntil(lambda: t1._status[0].startswith(("Reconnecting", "Offline")),
                        timeout=30000)
        assert "retrying in" in t1._status[0]
        qtbot.waitUntil(lambda: t1._status[0].startswith("Offline"), timeout=30000)
        assert t2._status[0] == "Live"  # one camera's outage leaves the others alone
        auth_sim.cli("online", "cam1")
        shown = t1.shown
        qtbot.waitUntil(lambda: t1._status[0] == "Live" and t1.shown > shown + 3, timeout=30000)
        # The camera's password changes on the device but not in the keyring: the tile says so.
        uid = site.profile.registry.device(site.ids["cam2"]).uid
        site.profile.credentials.set(uid, USER, "an-old-password")
        wall.assign(1, None)
        wall.assign(1, site.ids["cam2"])
        qtbot.waitUntil(lambda: t2._status[0].startswith("Wrong user name or password"),
                        timeout=30000)
    finally:
        auth_sim.cli("online", "cam1", check=False)
        live.shutdown()
        tasks.wait_all()
        site.profile.close()


# -- libvlc ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory: pytest.TempPathFactory, sim: Sim) -> Path:
    """Six seconds of a simulated camera's stream, remuxed to MPEG-TS with PyAV."""
    out = tmp_path_factory.mktemp("ts") / "cam1.ts"
    src = av.open(sub_uri(sim, "cam1"), options={"rtsp_transport": "tcp"}, timeout=(10, 10))
    dst = av.open(str(out), "w", format="mpegts")
    try:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        first = None
        for pkt in src.demux(vin):
            if pkt.dts is None:
                continue
            if first is None:
                if not pkt.is_keyframe:
                    continue
                first = pkt.dts
            if (pkt.dts - first) * pkt.time_base > 6:
                break
            pkt.stream = vout
            dst.mux(pkt)
    finally:
        dst.close()
        src.close()
    return out


@pytest.fixture(scope="module")
def http_ts(ts_clip: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = partial(Quiet, directory=str(ts_clip.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{ts_clip.name}"
    server.shutdown()


def test_vlc_feed_plays_http_mpeg_ts_and_reuses_its_players(http_ts: str) -> None:
    feed = VlcFeed(http_ts, label="cam1 over HTTP", backoff=QUICK())
    feed.set_box(480, 480)
    feed.start()
    try:
        wait_for(lambda: feed.frames > 10, 30, "libvlc frames")
        assert feed.status.state is FeedState.LIVE
        f = feed.latest
        assert f is not None and f.width == 480 and abs(f.display_aspect - 16 / 9) < 0.01
        assert frame_std(feed) > 20
        # The clip ends after 6 s: the feed notices, and plays it again from the start.
        wait_for(lambda: feed.sessions >= 2, 40, "a second session after the end")
    finally:
        feed.stop()
        assert feed.join(15)
    pooled = pool_size()
    assert pooled >= 1
    again = VlcFeed(http_ts, label="again")
    again.start()
    try:
        wait_for(lambda: again.frames > 3, 30, "frames from a pooled player")
        assert pool_size() == pooled - 1  # it took the pooled player rather than a new one
    finally:
        again.stop()
        again.join(15)
    assert pool_size() == pooled


def test_vlc_feed_reports_a_source_it_cannot_open(tmp_path: Path) -> None:
    feed = VlcFeed((tmp_path / "missing.ts").as_uri(), label="missing", backoff=QUICK())
    feed.start()
    try:
        wait_for(lambda: feed.status.state in (FeedState.RETRYING, FeedState.OFFLINE), 30,
                 "a failure")
        assert feed.frames == 0 and feed.status.reason
    finally:
        feed.stop()
        feed.join(15)


VLC_WINDOW = r"""
import sys, time
import numpy as np
from PySide6.QtWidgets import QApplication
from ui.video.hub import FeedHandle
from ui.video.tile import Tile
from vms.media.vlc_feed import VlcFeed
app = QApplication([])
assert app.platformName() == "xcb", app.platformName()
tile = Tile(0)
tile.device_id, tile.name = 1, "cam1 (libvlc)"
tile.resize(480, 300)
tile.show()
feed = VlcFeed(sys.argv[1], label="cam1")
feed.start()
tile.handle = FeedHandle(1, "sub", feed)
end = time.monotonic() + 30
while time.monotonic() < end and tile.shown < 15:
    tile.tick(time.monotonic())
    app.processEvents()
    time.sleep(0.03)
img = tile.grab().toImage()
img.save(sys.argv[2])
feed.stop(); feed.join(10)
print(tile.shown)
"""


def test_vlc_backend_in_a_real_x_window(http_ts: str, tmp_path: Path) -> None:
    """Under Xvfb (scripts/test runs pytest inside xvfb-run): a native window, not offscreen."""
    if not os.environ.get("DISPLAY"):
        pytest.fail("no X display: run the tests through scripts/test (xvfb-run)")
    png = tmp_path / "vlc-tile.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", VLC_WINDOW, http_ts, str(png)], env=env,
                         capture_output=True, text=True, timeout=90)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[-1]) >= 15
    from PySide6.QtGui import QImage

    from tests.wall_helpers import pixels

    assert pixels(QImage(str(png))).std() > 20


def test_backend_probe_prefers_libvlc_only_where_it_can_open_rtsp(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VMS_PLAYER_BACKEND", raising=False)
    here = backends.probe()
    if not here.vlc_rtsp:  # Debian: libvlc without live555
        assert here.chosen == "pyav" and "cannot open RTSP" in here.reason
    forced = backends.probe("vlc")
    assert forced.chosen == "vlc" and "chosen in settings" in forced.reason
    assert backends.probe("pyav").chosen == "pyav"
    # A libvlc with the live555 module (as the Windows VLC runtime ships) is preferred.
    plugins = tmp_path / "plugins" / "demux"
    plugins.mkdir(parents=True)
    (plugins / "liblive555_plugin.so").write_bytes(b"")
    monkeypatch.setenv("VLC_PLUGIN_PATH", str(tmp_path / "plugins"))
    with_live555 = backends.probe()
    assert with_live555.vlc_rtsp and with_live555.chosen == "vlc"
    monkeypatch.setenv("VMS_PLAYER_BACKEND", "pyav")
    assert backends.probe().chosen == "pyav"
    assert backends.feed_class("vlc") is VlcFeed and backends.feed_class("pyav") is PyAvFeed
