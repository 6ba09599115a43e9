"""The user's own sound and display (``vms.access.preferences``): read at sign-in and applied to
this desk's alert, theme and call list columns; changed from Account → Sound and display, and
the columns whenever the user moves, resizes or hides one."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QApplication

from ui import tasks
from ui.dialogs.preferences import PreferencesDialog
from ui.features.signed_in import SignedIn
from ui.theme import theme
from vms.access.preferences import Preferences, UserPreferences


class PreferencesFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        self.store = UserPreferences(ctx.access, ctx.session)
        self.current = Preferences()
        ctx.window.open_preferences.triggered.connect(self.show_dialog)
        ctx.calls.queue_pane.columns_changed.connect(self.save_columns)
        ctx.after(self.store.load, self.loaded, "your sound and display settings")

    def loaded(self, prefs: Preferences) -> None:
        self.ctx.calls.queue_pane.restore_columns(prefs.queue_columns)
        self.apply(prefs)

    def save_columns(self, state: str) -> None:
        prefs = self.current = dataclasses.replace(self.current, queue_columns=state)
        tasks.run(lambda: self.store.save(prefs), lambda _r: None,
                  lambda e: self.ctx.say(f"Your call list's columns were not saved: {e}"))

    def apply(self, prefs: Preferences) -> None:
        self.current = prefs
        self.ctx.calls.alert.set_level(prefs.alert_volume, prefs.alert_muted)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setStyleSheet(theme(prefs.theme))

    def show_dialog(self) -> None:
        PreferencesDialog(self.store, self.current, self.apply, self.ctx.window).exec()
