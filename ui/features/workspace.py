"""Where a user's windows are (issue 26, workspaces across monitors): the main window (its
size and screen, the call list docked or floating on another monitor), walls popped out onto
other monitors (their cameras, screen and fullscreen) and the site map, kept per user when they
sign out or quit and put back at their sign-in. A window whose screen has gone (a monitor
unplugged, now or since the last shift) comes back onto one that remains."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QRect, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QWidget

from ui.features.maps import MapsFeature
from ui.features.preferences import PreferencesFeature
from ui.features.signed_in import SignedIn
from ui.wall.pane import PopOut
from vms.access.preferences import Preferences
from vms.errors import VmsError
from vms.store.devices import DeviceRow
from vms.wall.layouts import WallState


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode()


def _bytes(text: object) -> QByteArray:
    return QByteArray.fromBase64(str(text).encode()) if isinstance(text, str) else QByteArray()


def screen_named(name: object, index: object) -> QScreen | None:
    """The screen a window was on: by its name, the index telling apart screens of one name
    (X screens of one server are all called "screen"). None: that monitor is gone."""
    screens = QGuiApplication.screens()
    if isinstance(index, int) and 0 <= index < len(screens) and screens[index].name() == name:
        return screens[index]
    return next((s for s in screens if s.name() == name), None)


def _screen_of(w: QWidget) -> dict[str, Any]:
    screen = w.screen()
    screens = QGuiApplication.screens()
    return {"screen": screen.name(),
            "screen_index": screens.index(screen) if screen in screens else None}


def _wall(p: PopOut) -> dict[str, Any]:
    return {"layout": p.wall.state.layout, "tiles": list(p.wall.state.tiles),
            "full": p.isFullScreen(), "geometry": _b64(p.saveGeometry()), **_screen_of(p)}


def on_a_screen(w: QWidget) -> bool:
    """At least a quarter of the window's title-bar end lies on some screen."""
    frame = w.frameGeometry()
    grip = QRect(frame.left(), frame.top(), frame.width(), min(40, frame.height()))
    for screen in QGuiApplication.screens():
        shared = screen.availableGeometry().intersected(grip)
        if shared.width() * shared.height() * 4 >= grip.width() * grip.height():
            return True
    return False


def bring_back(w: QWidget) -> None:
    """Onto the primary screen, no larger than it, at its centre."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return
    free = screen.availableGeometry()
    if w.isMaximized() or w.isFullScreen():
        w.showNormal()
    width, height = min(w.width(), free.width()), min(w.height(), free.height())
    w.resize(width, height)
    w.move(free.center().x() - width // 2, free.center().y() - height // 2)


class _ScreenWatch(QObject):
    """Parented to the main window: the connection to the application ends with it."""

    def __init__(self, owner: WorkspaceFeature, parent: QObject) -> None:
        super().__init__(parent)
        self.owner = owner
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.screenRemoved.connect(self.screen_removed)

    def screen_removed(self, _screen: QScreen) -> None:
        self.owner.rescue()

    def stop(self) -> None:
        """The session ended: its window may linger until the event loop deletes it."""
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            with contextlib.suppress(RuntimeError, TypeError):  # already gone with its window
                app.screenRemoved.disconnect(self.screen_removed)


class WorkspaceFeature:
    def __init__(self, ctx: SignedIn, prefs: PreferencesFeature, maps: MapsFeature) -> None:
        self.ctx = ctx
        self.prefs = prefs
        self.maps = maps
        self.watch = _ScreenWatch(self, ctx.window)
        self.restored = False  # nothing is saved over the user's workspace before it is read
        self.held: str | None = None  # taken as the desk locked, before side windows closed
        self.walls: list[dict[str, Any]] = []  # pop-out walls to put back once cameras are known
        prefs.on_loaded.append(self.restore)

    def capture(self) -> str:
        win = self.ctx.window
        data: dict[str, Any] = {"main": {"geometry": _b64(win.saveGeometry()),
                                         "state": _b64(win.saveState()), **_screen_of(win)}}
        themap = self.maps.window
        if themap is not None and self.maps.is_open():
            data["map"] = {"geometry": _b64(themap.saveGeometry())}
        walls = [_wall(p) for p in win.wall.open_popouts() if p.isVisible()]
        walls += self.walls  # not put back yet (the cameras not read, or the desk locked)
        if walls:
            data["walls"] = walls
        return json.dumps(data)

    def hold(self) -> None:
        """The desk locks and closes its side windows (the map): remember them as they were,
        for a sign-out from the lock screen."""
        self.held = self.capture()

    def release(self) -> None:
        self.held = None  # unlocked: the windows are back
        if self.walls and self.ctx.window.wall.restored:
            self._pop_walls()  # their cameras were read while the desk was locked

    def save(self) -> None:
        """As the session ends, while its windows are still where the user left them (or as
        they were when it locked). Written at once: the next sign-in, perhaps the same user's,
        must read it."""
        self.watch.stop()
        if not self.restored:
            return  # never read (signed out at once, or the read failed): keep what is stored
        self.prefs.save_workspace_now(self.held or self.capture())

    def restore(self, prefs: Preferences) -> None:
        self.restored = True
        try:
            data = json.loads(prefs.workspace) if prefs.workspace else {}
        except ValueError:
            data = None
        ok = isinstance(data, dict)
        win = self.ctx.window
        main = data.get("main") if isinstance(data, dict) else None
        if isinstance(main, dict):
            screen = screen_named(main.get("screen"), main.get("screen_index"))
            if screen is not None and screen is not win.screen():
                # Where screens are not one desktop (X screens), the move hides the window.
                win.setScreen(screen)
            ok = win.restoreGeometry(_bytes(main.get("geometry"))) and ok
            if not win.isVisible():
                win.show()
            ok = win.restoreState(_bytes(main.get("state"))) and ok
        themap = data.get("map") if isinstance(data, dict) else None
        if isinstance(themap, dict):
            ok = self.maps.show().restoreGeometry(_bytes(themap.get("geometry"))) and ok
        walls = data.get("walls") if isinstance(data, dict) else None
        if isinstance(walls, list) and walls:
            ok = all(isinstance(w, dict) for w in walls) and ok
            self.walls = [w for w in walls if isinstance(w, dict)]
            if win.wall.restored:  # the cameras are known: no tile is emptied for want of them
                self._pop_walls()
            else:
                win.cameras.devices_loaded.connect(
                    self._pop_walls, Qt.ConnectionType.SingleShotConnection)
        if not ok:
            self.ctx.say("Your window layout could not be put back; the standard one is "
                         "used and kept from now on.", 10000)
        self.rescue()

    def _pop_walls(self, _rows: list[DeviceRow] | None = None) -> None:
        """The walls that were popped out, once: with the cameras this user may see (a camera
        since taken away leaves its tile empty), each on its monitor, fullscreen if it was.
        Not while the desk is locked: they wait for it to be unlocked."""
        if self.held is not None or self.ctx.ended:
            return
        walls, self.walls = self.walls, []
        win = self.ctx.window
        if not walls:
            return
        lost = False
        for spec in walls:
            try:
                state = WallState.from_dict(spec)
            except VmsError:
                lost = True
                continue
            screen = screen_named(spec.get("screen"), spec.get("screen_index"))
            pop = win.wall.pop_out(state, screen, show=False)
            lost = not pop.restoreGeometry(_bytes(spec.get("geometry"))) or lost
            if screen is not None:
                pop.setScreen(screen)  # as the geometry put it, or on the monitor it was
            pop.showFullScreen() if spec.get("full") is True else pop.showNormal()
        if lost:
            self.ctx.say("A wall popped out last time could not be put back as it was.", 10000)
        self.rescue()

    def rescue(self) -> None:
        """Every visible desk window off all screens comes back onto the primary one."""
        for w in QApplication.topLevelWidgets():
            if w.isVisible() and w.isWindow() and not on_a_screen(w):
                bring_back(w)
                self.ctx.say(f"{w.windowTitle() or 'A window'} was on a screen that is no "
                             "longer there; it is back on this one.", 10000)
