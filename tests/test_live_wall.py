"""The live wall on a real simulated site: real RTSP, real decoding, real Qt widgets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.conftest import Sim
from tests.wall_helpers import Site, ocr, pixels, register
from ui import tasks
from ui.panes.cameras import CamerasPane
from ui.video.tile import DEVICE_MIME, TILE_MIME, Tile
from ui.wall.assembly import LiveWall, assemble
from vms.devices.commissioning import Commissioning
from vms.media.feed import FeedState
from vms.profile import Profile
from vms.wall.layouts import WallState

NAMES = ["cam1", "cam2", "cam3", "cam4", "pid1", "hp1"]  # hp1: a camera that cannot steer


@pytest.fixture(scope="module")
def site(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = register(sim, tmp_path_factory.mktemp("wall") / "profile", NAMES)
    yield s
    s.profile.close()


def open_wall(qtbot: QtBot, profile: Profile, session: object, size: tuple[int, int] = (1200, 800)
              ) -> LiveWall:
    live = assemble(profile, session)  # type: ignore[arg-type]
    qtbot.addWidget(live.pane)
    live.pane.resize(*size)
    live.pane.show()
    live.pane.set_devices(Commissioning(profile, session).devices())  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: live.pane.ready, timeout=10000)
    return live


def close_wall(live: LiveWall) -> None:
    live.shutdown()
    tasks.wait_all()


def drag_and_drop(target: Tile, mime: QMimeData) -> None:
    """What the window system delivers for a drop: enter (must be accepted), then drop."""
    at = QPointF(10, 10)
    enter = QDragEnterEvent(at.toPoint(), Qt.DropAction.MoveAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the tile refused the drag"
    drop = QDropEvent(at, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)


def burned_in(tile: Tile) -> QImage:
    img = tile.grab().toImage()
    bar = 40
    return img.copy(0, bar, img.width() // 2, img.height() // 2 - bar)


def live_tiles(live: LiveWall, n: int) -> bool:
    tiles = live.pane.wall.tiles[:n]
    return all(t.shown >= 5 and t.handle and t.handle.feed
               and t.handle.feed.status.state is FeedState.LIVE for t in tiles)


def test_tiles_show_real_decoded_frames_with_the_camera_name_burned_in(
        qtbot: QtBot, site: Site, tmp_path: Path) -> None:
    live = open_wall(qtbot, site.profile, site.operator, (1400, 950))
    try:
        wall = live.pane.wall
        qtbot.waitUntil(lambda: wall.tiles[0].device_id is not None, timeout=5000)
        # First sign-in: the first four cameras on a 2x2 wall.
        assert wall.state.tiles == [site.ids[n] for n in NAMES[:4]]
        qtbot.waitUntil(lambda: live_tiles(live, 4), timeout=30000)
        for tile in wall.tiles:
            grab = tile.grab()
            px = pixels(grab.toImage())
            assert px.std() > 20, f"{tile.name}: a flat picture"
            assert tile.quality == "sub"  # small tiles use the sub stream
        first = wall.tiles[0]
        seq = first.frame.seq if first.frame else 0
        qtbot.waitUntil(lambda: first.frame is not None and first.frame.seq > seq + 5,
                        timeout=5000)  # the picture moves on: live, not a still
        # The clip burns the camera's name and place into the picture's top-left corner; read
        # it from below our own overlay bar, so only the camera's text can match.
        texts = [ocr(burned_in(t), tmp_path) for t in wall.tiles[:2]]
        assert "cam1" in texts[0] and "market square" in texts[0], texts[0]
        assert "cam2" in texts[1] and "bus station" in texts[1], texts[1]  # not a neighbour's
        # The stream was opened through LiveView: audited per camera, once per stream.
        starts = [e for e in site.profile.audit.entries() if e.action == "live.start"
                  and e.user == site.operator.user]
        assert {e.device for e in starts} >= set(NAMES[:4])
    finally:
        close_wall(live)
    stops = [e for e in site.profile.audit.entries() if e.action == "live.stop"
             and e.user == site.operator.user]
    assert {e.device for e in stops} >= set(NAMES[:4])


def test_enlarge_switches_to_the_main_stream_and_back(qtbot: QtBot, site: Site) -> None:
    live = open_wall(qtbot, site.profile, site.sign_in())
    try:
        wall = live.pane.wall
        wall.apply(WallState("3x3", [site.ids["cam1"], site.ids["cam2"]]))
        tile = wall.tiles[0]
        qtbot.waitUntil(lambda: tile.shown > 3, timeout=30000)
        assert tile.quality == "sub"
        wall.toggle_enlarge(0)
        assert not wall.tiles[1].isVisible()
        qtbot.waitUntil(lambda: tile.quality == "main" and tile.frame is not None
                        and tile.frame.width > 640, timeout=30000)
        qtbot.keyClick(wall, Qt.Key.Key_Escape)  # back to the grid
        assert wall.enlarged is None and wall.tiles[1].isVisible()
        qtbot.waitUntil(lambda: tile.quality == "sub", timeout=30000)
        qtbot.waitUntil(lambda: tile.frame is not None and tile.frame.width <= 640, timeout=10000)
    finally:
        close_wall(live)


def test_drag_from_the_tree_swap_tiles_keys_and_fullscreen(qtbot: QtBot, site: Site) -> None:
    session = site.sign_in()
    live = open_wall(qtbot, site.profile, session)
    tree = CamerasPane(Commissioning(site.profile, session).devices)
    qtbot.addWidget(tree)
    try:
        wall = live.pane.wall
        wall.apply(WallState("2x2", [site.ids["cam1"]]))
        qtbot.waitUntil(lambda: tree.model.rowCount() > 0, timeout=10000)
        index = tree.model.match(tree.model.index(0, 0), Qt.ItemDataRole.DisplayRole, "cam3", 1,
                                 Qt.MatchFlag.MatchRecursive)[0]
        mime = tree.model.mimeData([index])
        target = wall.tiles[2]
        drag_and_drop(target, mime)
        assert wall.state.tiles[2] == site.ids["cam3"] and target.name == "cam3"
        # Drag tile 1 onto tile 3: the cameras change places, streams and all.
        handle = wall.tiles[0].handle
        mime2 = type(mime)()
        mime2.setData(TILE_MIME, b"0")
        drag_and_drop(target, mime2)
        assert wall.state.tiles[0] == site.ids["cam3"] and wall.state.tiles[2] == site.ids["cam1"]
        assert wall.tiles[2].handle is handle
        # Keys: a digit selects a tile, F goes fullscreen, Esc comes back.
        wall.setFocus()
        qtbot.keyClick(wall, Qt.Key.Key_3)
        assert wall.selected == 2 and wall.tiles[2].selected and not wall.tiles[0].selected
        qtbot.keyClick(wall, Qt.Key.Key_F)
        assert live.pane.fullscreen and wall.window().isFullScreen()
        assert wall.window() is not live.pane.window()
        qtbot.keyClick(wall, Qt.Key.Key_Escape)
        assert not live.pane.fullscreen and wall.parent() is live.pane.split
        # Double-clicking a camera in the tree puts it in the selected tile if free, else the
        # first free one.
        live.pane.show_camera(site.ids["cam4"])
        assert wall.state.tiles[1] == site.ids["cam4"]
    finally:
        close_wall(live)


def test_layouts_persist_across_restarts(qtbot: QtBot, site: Site, tmp_path: Path) -> None:
    session = site.sign_in()
    live = open_wall(qtbot, site.profile, session)
    want = WallState("1+5", [site.ids["cam2"], None, site.ids["pid1"]])
    try:
        wall = live.pane.wall
        wall.apply(WallState("3x3", [site.ids["cam4"]]))
        live.pane.save_as("Night shift")
        qtbot.waitUntil(lambda: live.pane.saved_box.currentText() == "Night shift", timeout=5000)
        wall.apply(want)
        qtbot.wait(800)  # the wall as left is saved shortly after every change
    finally:
        close_wall(live)
    # A restart: a new Profile object on the same files, the same user signing in again.
    profile = Profile(site.path)
    try:
        again = profile.access.sign_in(session.user, "wall-operator-pass", via="desktop")
        live2 = open_wall(qtbot, profile, again)
        try:
            wall2 = live2.pane.wall
            qtbot.waitUntil(lambda: wall2.state.layout == "1+5", timeout=5000)
            assert wall2.state.tiles == want.tiles
            assert [live2.pane.saved_box.itemText(i)
                    for i in range(live2.pane.saved_box.count())] == ["Night shift"]
            live2.pane.load("Night shift")
            qtbot.waitUntil(lambda: wall2.state.layout == "3x3", timeout=5000)
            assert wall2.state.tiles[0] == site.ids["cam4"]
        finally:
            close_wall(live2)
    finally:
        profile.close()


def test_snapshot_and_pop_out_share_the_running_stream(qtbot: QtBot, site: Site,
                                                       tmp_path: Path) -> None:
    live = open_wall(qtbot, site.profile, site.sign_in())
    try:
        wall = live.pane.wall
        wall.apply(WallState("2x2", [site.ids["cam2"], site.ids["cam3"]]))
        qtbot.waitUntil(lambda: live_tiles(live, 2), timeout=30000)
        saved: list[Path] = []
        assert live.pane.snapshot(tmp_path, saved.append)
        qtbot.waitUntil(lambda: bool(saved), timeout=10000)
        png = QImage(str(saved[0]))
        assert (png.width(), png.height()) == (640, 360)  # the stream's own size, not the tile's
        assert pixels(png).std() > 20
        feeds_before = len(live.hub.feeds())
        pop = live.pane.pop_out()
        qtbot.addWidget(pop)
        assert pop.wall.state.tiles == wall.state.tiles
        qtbot.waitUntil(lambda: pop.wall.tiles[0].shown > 2, timeout=10000)
        assert pop.wall.tiles[0].handle.feed is wall.tiles[0].handle.feed  # type: ignore[union-attr]
        assert len(live.hub.feeds()) == feeds_before  # no second connection to the camera
        pop.close()
        assert wall.tiles[0].handle.feed is not None  # type: ignore[union-attr]
        assert any(e.action == "live.snapshot" for e in site.profile.audit.entries())
    finally:
        close_wall(live)


def test_ptz_press_and_hold_moves_the_camera_and_presets_work(qtbot: QtBot, site: Site) -> None:
    live = open_wall(qtbot, site.profile, site.sign_in())
    pid1 = site.ids["pid1"]
    home = f"start {uuid.uuid4().hex[:6]}"  # the simulator is shared: leave pid1 as found
    live.ptz.save_preset(pid1, home).result(10)
    try:
        wall, panel = live.pane.wall, live.pane.ptz
        wall.apply(WallState("2x2", [site.ids["hp1"], site.ids["pid1"]]))
        wall.select(1)
        qtbot.waitUntil(lambda: panel.isVisible() and panel.width() > 100
                        and wall.geometry().right() < panel.geometry().left(), timeout=5000)
        narrow = wall.width()
        wall.select(0)  # a fixed camera: no panel, and the wall takes its space
        assert not panel.buttons["▶"].isEnabled() and "fixed camera" in panel.note.text()
        assert panel.isHidden()
        qtbot.waitUntil(lambda: wall.width() > narrow + 100, timeout=5000)
        wall.select(1)
        assert panel.buttons["▶"].isEnabled() and panel.title.text() == "PTZ — pid1"
        assert not panel.isHidden()
        start = site.sim.live("pid1")["ptz"]
        qtbot.mousePress(panel.buttons["▶"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: site.sim.live("pid1")["ptz"]["moving"], timeout=10000)
        qtbot.wait(800)
        qtbot.mouseRelease(panel.buttons["▶"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not site.sim.live("pid1")["ptz"]["moving"], timeout=10000)
        moved = site.sim.live("pid1")["ptz"]
        assert moved["pan"] > start["pan"] + 0.1 and moved["tilt"] == pytest.approx(start["tilt"])
        # The arrow keys on the wall steer the selected PTZ tile the same way.
        wall.setFocus()
        qtbot.keyPress(wall, Qt.Key.Key_Up)
        qtbot.waitUntil(lambda: site.sim.live("pid1")["ptz"]["moving"], timeout=10000)
        qtbot.wait(500)
        qtbot.keyRelease(wall, Qt.Key.Key_Up)
        qtbot.waitUntil(lambda: not site.sim.live("pid1")["ptz"]["moving"], timeout=10000)
        assert site.sim.live("pid1")["ptz"]["tilt"] > start["tilt"] + 0.05
        # Presets: save this view, move away, go back to it.
        here = site.sim.live("pid1")["ptz"]
        name = f"Gate {uuid.uuid4().hex[:6]}"  # the shared simulator keeps presets
        panel.preset_name.setText(name)
        panel.save.click()
        qtbot.waitUntil(lambda: panel.presets.count() > 0
                        and panel.presets.item(panel.presets.count() - 1).text() == name,
                        timeout=10000)
        qtbot.mousePress(panel.buttons["◀"], Qt.MouseButton.LeftButton)
        qtbot.wait(700)
        qtbot.mouseRelease(panel.buttons["◀"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not site.sim.live("pid1")["ptz"]["moving"], timeout=10000)
        assert site.sim.live("pid1")["ptz"]["pan"] < here["pan"] - 0.05
        panel.presets.setCurrentRow(panel.presets.count() - 1)
        panel.go.click()
        qtbot.waitUntil(lambda: abs(site.sim.live("pid1")["ptz"]["pan"] - here["pan"]) < 0.01,
                        timeout=10000)
        actions = [e.action for e in site.profile.audit.entries()]
        assert {"ptz.move", "ptz.preset.save", "ptz.preset.go"} <= set(actions)
    finally:
        back = next(p for p in live.ptz.presets(pid1).result(10) if p.name == home)
        live.ptz.go_to(pid1, back).result(10)
        qtbot.waitUntil(lambda: not site.sim.live("pid1")["ptz"]["moving"], timeout=10000)
        close_wall(live)


def test_an_empty_tile_invites_a_drop(qtbot: QtBot) -> None:
    tile = Tile(4)
    qtbot.addWidget(tile)
    tile.resize(320, 180)
    tile.show()
    assert pixels(tile.grab().toImage()).std() > 1  # the hint text is drawn
    mime = QMimeData()
    mime.setData(DEVICE_MIME, b"42")
    with qtbot.waitSignal(tile.device_dropped, timeout=1000) as got:
        drag_and_drop(tile, mime)
    assert got.args == [4, 42]
