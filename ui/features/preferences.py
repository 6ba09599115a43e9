"""The user's own settings (``vms.access.preferences``): read at sign-in and applied to this
desk's alert, theme, call list columns and workspace; changed from Account → Sound and display,
and the columns whenever the user moves, resizes or hides one. Each save names the keys it is
about, so two saves at the same moment never undo each other."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable

from PySide6.QtWidgets import QApplication

from ui import tasks
from ui.dialogs.preferences import PreferencesDialog
from ui.features.signed_in import SignedIn
from ui.theme import theme
from vms.access.preferences import SOUND_AND_DISPLAY, Preferences, UserPreferences
from vms.errors import VmsError

log = logging.getLogger(__name__)


class PreferencesFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        self.store = UserPreferences(ctx.access, ctx.session)
        self.current = Preferences()
        self.on_loaded: list[Callable[[Preferences], None]] = []  # e.g. the workspace
        ctx.window.open_preferences.triggered.connect(self.show_dialog)
        ctx.calls.queue_pane.columns_changed.connect(self.save_columns)
        ctx.after(self.store.load, self.loaded, "your sound and display settings")

    def loaded(self, prefs: Preferences) -> None:
        self.current = prefs
        self.ctx.calls.queue_pane.restore_columns(prefs.queue_columns)
        self._apply(prefs)
        for call in self.on_loaded:
            call(prefs)

    def save_columns(self, state: str) -> None:
        self._save_field(dataclasses.replace(self.current, queue_columns=state),
                         "queue_columns", "call list's columns")

    def save_workspace(self, state: str) -> None:
        self._save_field(dataclasses.replace(self.current, workspace=state), "workspace",
                         "workspace")

    def save_workspace_now(self, state: str) -> None:
        """At sign-out: written before the next sign-in can read it (one small row; the
        session's sign-out record is written the same way)."""
        self.current = dataclasses.replace(self.current, workspace=state)
        try:
            self.store.save(self.current, ("workspace",))
        except (VmsError, sqlite3.Error) as exc:
            log.warning("the workspace of %s was not saved: %s", self.ctx.session.user, exc)

    def _save_field(self, prefs: Preferences, key: str, words: str) -> None:
        """Keep one setting that is not the dialog's."""
        self.current = prefs
        tasks.run(lambda: self.store.save(prefs, (key,)), lambda _r: None,
                  lambda e: self.ctx.say(f"Your {words} were not saved: {e}"),
                  owner=self.ctx.window)

    def sound_and_display(self, prefs: Preferences) -> None:
        """The dialog saved: take its fields, keep the rest as the desk holds them now."""
        self.current = dataclasses.replace(
            self.current, **{k: getattr(prefs, k) for k in SOUND_AND_DISPLAY})
        self._apply(self.current)

    def _apply(self, prefs: Preferences) -> None:
        self.ctx.calls.alert.set_level(prefs.alert_volume, prefs.alert_muted)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setStyleSheet(theme(prefs.theme))

    def show_dialog(self) -> None:
        dialog = PreferencesDialog(self.store, lambda: self.current, self.sound_and_display,
                                   self.ctx.window)
        dialog.exec()
        dialog.deleteLater()  # and its test sound with it
