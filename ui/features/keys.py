"""The console's keys (``ui.keys``), bound for a signed-in session: call keys from any window of
the desktop, wall keys in the window the wall is in, F1 for the sheet of them all."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication

from ui import keys
from ui.calls.call_keys import CallKeys
from ui.dialogs.key_sheet import KeySheet
from ui.features.signed_in import SignedIn
from vms.wall.layouts import LAYOUTS


class KeysFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        self.sheet: KeySheet | None = None
        self.call_keys = CallKeys(ctx.calls)
        self.shortcuts: dict[str, QShortcut] = {}
        c = self.call_keys
        for key, act in ((keys.ACCEPT_NEXT, c.accept_next), (keys.HOLD, c.hold),
                         (keys.CLOSE, c.close), (keys.BLUE_LIGHT, c.blue_light),
                         (keys.MUTE, c.mute), (keys.TALK, c.talk), (keys.HELP, self.show_sheet)):
            self._bind(key.keys, act)
        ctx.window.open_keys.triggered.connect(self.show_sheet)
        wall = ctx.live.pane.wall
        self._bind(keys.NEXT_TILE.keys, self._at_wall(lambda: wall.step(1)))
        self._bind(keys.PREVIOUS_TILE.keys, self._at_wall(lambda: wall.step(-1)))
        for n, name in enumerate(list(LAYOUTS)[:9], start=1):
            self._bind(f"Ctrl+{n}", self._at_wall(self._layout(name)))
            self._bind(f"Alt+{n}", self._at_wall(self._preset(n)))

    def _bind(self, sequence: str, act: Callable[[], object]) -> None:
        """Application-wide: a call's window, and the fullscreen wall, are windows of their own
        (wall keys check where they are, ``_at_wall``)."""
        sc = QShortcut(QKeySequence(sequence), self.ctx.window)
        sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
        sc.activated.connect(act)
        self.shortcuts[sequence] = sc

    def _at_wall(self, act: Callable[[], object]) -> Callable[[], None]:
        """Wall keys act in the window the wall is in: the main window, or the fullscreen
        one it moves to (a window of its own); from a call's window they do nothing."""
        def guarded() -> None:
            if QApplication.activeWindow() is self.ctx.live.pane.wall.window():
                act()
        return guarded

    def _layout(self, name: str) -> Callable[[], None]:
        def choose() -> None:
            self.ctx.live.pane.wall.set_layout(name)
            self.ctx.say(f"Layout {name.replace('x', '×')}.", 4000)
        return choose

    def _preset(self, n: int) -> Callable[[], None]:
        return lambda: self.ctx.say(self.ctx.live.pane.ptz.go_to_number(n))

    def show_sheet(self) -> None:
        if self.sheet is None:
            self.sheet = KeySheet(self.ctx.window)
        self.sheet.show()
        self.sheet.raise_()
        self.sheet.activateWindow()
