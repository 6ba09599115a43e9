"""The desktop's session lifecycle: first run, sign in, the main window, lock and sign out.

What a signed-in user does from the menus and the camera tree lives in ``ui.features`` (one
module per feature, each wiring itself); this module makes them for each session.

A session locks after the profile's idle time without keyboard or mouse input (and on
Ctrl+L): the window's contents are hidden until the same user's password is given, or
the user signs out and someone else signs in. Signing out closes the window; the site
service (calls, recording, evidence locks) and a simulated site carry on for the next
user: they run from start to quit, whoever is signed in.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from ui import tasks
from ui.calls.desk import CallDesk
from ui.calls.service_link import ServiceLink
from ui.calls.site_indicator import SiteIndicator
from ui.dialogs.sign_in import ChangePasswordDialog, FirstRunDialog, LockDialog, SignInDialog
from ui.features.admin import CLOSES_ON_LOCK, AdminFeature
from ui.features.devices import DeviceFeature
from ui.features.evidence import EvidenceFeature
from ui.features.keys import KeysFeature
from ui.features.loans import LoanFeature
from ui.features.maps import MapsFeature
from ui.features.preferences import PreferencesFeature
from ui.features.reports import ReportFeature
from ui.features.signed_in import SignedIn
from ui.features.workspace import WorkspaceFeature
from ui.main_window import MainWindow
from ui.simulator_link import SimulatorLink
from ui.wall.assembly import LiveWall, assemble
from vms.access.session import Session
from vms.devices.commissioning import Commissioning
from vms.errors import VmsError
from vms.profile import Profile
from vms.recording.index import RecordingIndex
from vms.recording.onair import RecordingWatch
from vms.site.client import SiteClient
from vms.site.desk import SiteDesk
from vms.site.service import SiteService

CHECK_IDLE_MS = 2000
QUIT_WAIT_S = 5.0  # at exit, for streams and camera connections still ending, in all
_INPUT = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
          QEvent.Type.Wheel, QEvent.Type.TouchBegin}


def _close_side_windows() -> None:
    """The session's side windows (who is where, the site map) shut: at lock and sign-out."""
    for w in QApplication.topLevelWidgets():
        if w.property(CLOSES_ON_LOCK) and w.isVisible():
            w.close()


class IdleWatch(QObject):
    """Counts keyboard and mouse input as activity; locks the session when it runs out."""

    def __init__(self, session: Session, on_idle: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self.session = session
        self.on_idle = on_idle
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_IDLE_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self.session.touch()
        return False

    def check(self) -> None:
        """Locked or idle, and the lock screen not up yet: show it. The session may have been
        locked already by a worker that found it idle first; the screen must still lock."""
        s = self.session
        if not s.ended and (s.locked or s.idle_expired()):
            self.on_idle()


class Desktop(QObject):
    def __init__(self, app: QApplication, profile: Profile, link: SimulatorLink,
                 site: SiteService | SiteClient, desk: SiteDesk | None = None) -> None:
        """``desk``: this workstation on a control room's site (calls shared with other
        desks); None for a profile on its own."""
        super().__init__()
        self.app = app
        self.site = site
        self.desk = desk
        self.profile = profile
        self.access = profile.access
        self.link = link
        self.session: Session | None = None
        self.window: MainWindow | None = None
        self.watch: IdleWatch | None = None
        self.lock_screen_up = False  # its dialog runs a nested event loop: lock only once
        self.svc: Commissioning | None = None
        self.live: LiveWall | None = None
        self.calls: CallDesk | None = None
        self.recordings: RecordingIndex | None = None
        self.export_draft: dict[str, str] = {}  # the export wizard's fields, kept for reopening
        self.signed_in: SignedIn | None = None
        self.features: list[object] = []
        self.workspace: WorkspaceFeature | None = None
        self.leftovers: list[tasks.Leftover] = []  # what signed-out sessions left ending
        self.house_style = app.styleSheet()  # what a sign-in looks like, whoever was before
        app.setQuitOnLastWindowClosed(False)

    # -- signing in ---------------------------------------------------------------
    def sign_in(self, note: str = "") -> Session | None:
        """Environment (scripted runs), else first run or the sign-in dialog."""
        session: Session | None = None
        user, pw = os.environ.get("VMS_USER", ""), os.environ.get("VMS_PASSWORD")
        if user and pw is not None and not note and self.profile.accounts.count():
            try:
                session = self.access.sign_in(user, pw, via="desktop")
            except VmsError as exc:
                note = f"Could not sign in as {user}: {exc}."
        if session is None:
            if self.profile.accounts.count() == 0:
                first = FirstRunDialog(self.access)
                first.exec()
                session = first.session
            else:
                dlg = SignInDialog(self.access, note=note)
                dlg.exec()
                session = dlg.session
        if session is not None and session.must_change_password:
            change = ChangePasswordDialog(self.access, session, required=True)
            if change.exec() != QDialog.DialogCode.Accepted:
                self.access.sign_out(session, "did not change a temporary password")
                return None
        return session

    def start(self, note: str = "") -> bool:
        session = self.sign_in(note)
        if session is None:
            return False
        self.open_window(session)
        return True

    # -- the window ---------------------------------------------------------------
    def open_window(self, session: Session) -> MainWindow:
        self.session = session
        self.svc = Commissioning(self.profile, session)
        self.live = assemble(self.profile, session)
        # Calls, alarms and health come from the site service (this process's or another's);
        # it also records and locks. The index is opened here for playback and export.
        service = ServiceLink(self.profile, session, self.site, self.desk)
        if self.desk is not None:
            self.desk.signed_in(session.user)
        self.recordings = RecordingIndex(self.profile.data_dir / "recordings.db")
        self.live.pane.watch_recording(RecordingWatch(self.recordings).poll)
        self.calls = CallDesk(self.profile, service, self.live.hub, self.recordings)
        self.calls.alarm_changed.connect(self.live.pane.set_alarm)  # tiles in alarm
        win = MainWindow(self.link, self.svc, self.live.pane, self.calls.queue_pane)
        self.calls.message.connect(lambda text: win.statusBar().showMessage(text, 10000))
        self.calls.pane_shown.connect(lambda _iid, _t: self._call_over_fullscreen())
        service.health_changed.connect(win.devices.update_health)
        for h in list(service.health.values()):
            win.devices.update_health(dataclasses.replace(h))
        tasks.run(self.svc.devices, self.calls.start,
                  lambda e: win.statusBar().showMessage(f"Events are not watched: {e}"),
                  owner=self.calls)
        win.cameras.devices_loaded.connect(self.calls.keep_callers_warm)  # added, removed
        indicator = SiteIndicator(self.desk)
        service.site_state.connect(indicator.show_state)
        win.statusBar().addPermanentWidget(indicator)
        self.window = win
        ctx = SignedIn(self.profile, session, win, self.svc, self.live, self.calls,
                       self.recordings, self.link)
        self.signed_in = ctx
        # Each feature wires its own menu actions and buttons.
        prefs, maps = PreferencesFeature(ctx), MapsFeature(ctx)
        self.workspace = WorkspaceFeature(ctx, prefs, maps)
        self.features = [DeviceFeature(ctx), EvidenceFeature(ctx, self.export_draft),
                         LoanFeature(ctx), ReportFeature(ctx), AdminFeature(ctx), KeysFeature(ctx),
                         prefs, maps, self.workspace]
        win.lock_now.triggered.connect(lambda: self.lock("locked by the user"))
        win.sign_out.triggered.connect(lambda: self.sign_out("signed out"))
        win.closed.connect(self.quit)
        win.confirm_close = self._confirm_close
        self.watch = IdleWatch(session, lambda: self.lock("inactivity"), win)
        self.app.installEventFilter(self.watch)
        win.showMaximized()  # a control-room desk uses the whole screen
        return win

    def _call_over_fullscreen(self) -> None:
        """A caller must be seen at once: a fullscreen wall on the screen the call opens on
        goes back into the main window, or a popped-out one to a window (a fullscreen window
        would stay over the call's window, or hide behind it). Walls on other monitors stay
        as they are."""
        win, calls = self.window, self.calls
        if win is None or calls is None:
            return
        here = calls.calls_screen()
        over = [p for p in win.wall.open_popouts()
                if p.isVisible() and p.isFullScreen() and p.screen() is here]
        main_over = win.wall.fullscreen and here in (None, win.wall.fullscreen_on())
        if not over and not main_over:
            return
        for p in over:
            p.showNormal()
        if main_over:
            win.wall.leave_fullscreen()
        calls.raise_front()
        win.statusBar().showMessage("Left fullscreen for a call. Press F on the wall to go back "
                                    "to fullscreen.", 15000)

    # -- locking and signing out --------------------------------------------------
    def lock(self, reason: str) -> None:
        session, win = self.session, self.window
        if session is None or win is None or session.ended or self.lock_screen_up:
            return
        self.lock_screen_up = True
        try:
            self._lock(session, win, reason)
        finally:
            self.lock_screen_up = False

    def _lock(self, session: Session, win: MainWindow, reason: str) -> None:
        self.access.lock(session, reason)
        if self.workspace is not None:
            self.workspace.hold()  # the map closes below; a sign-out from the lock keeps it
        win.wall.hide_windows(True)  # fullscreen and pop-out walls too
        if self.calls is not None:
            self.calls.hide_windows(True)
        _close_side_windows()
        central = win.centralWidget()
        assert central is not None
        central.hide()  # nothing on screen while locked
        calls = self.calls
        dlg = LockDialog(self.access, session, win, idle=reason == "inactivity",
                         waiting=calls.waiting_lines if calls is not None and calls.handles_calls
                         else None)
        code = dlg.exec()
        if code == LockDialog.SIGNED_OUT or session.ended:
            self.sign_out("signed out from the lock screen")
            return
        central.show()
        if self.workspace is not None:
            self.workspace.release()
        win.wall.hide_windows(False)
        if calls is not None:
            calls.hide_windows(False)
            if dlg.answer_after:
                calls.answer_next()

    def sign_out(self, reason: str) -> None:
        self._end_session(reason, wait=0.0)  # the next user's sign-in waits for nothing
        if not self.start():
            self.quit()

    def _end_session(self, reason: str, wait: float = QUIT_WAIT_S) -> None:
        """``wait``: seconds in all for streams and camera connections to close."""
        session, win = self.session, self.window
        if self.workspace is not None and win is not None:
            self.workspace.save()  # where the windows are, before any closes
            self.workspace = None
        if win is not None:
            win.wall.flush()  # a layout changed a moment ago, saved while the session is valid
        _close_side_windows()
        self.session = self.window = self.svc = None
        if self.signed_in is not None:
            self.signed_in.ended = True  # reads on their way open nothing now
            self.signed_in = None
        self.features = []
        if self.watch is not None:
            self.app.removeEventFilter(self.watch)
            self.watch = None
        if self.calls is not None:
            self.calls.hold_mine(reason)  # while the session can still sign for it
        if self.desk is not None:
            self.desk.signed_in(None)
        if session is not None:
            try:
                self.access.sign_out(session, reason)
            except VmsError as exc:
                QMessageBox.warning(None, "Beacon VMS", f"Signing out was not recorded: {exc}")
        if self.calls is not None:
            began = time.monotonic()
            self.leftovers += self.calls.shutdown(wait)
            wait = max(0.0, wait - (time.monotonic() - began))
            self.calls = None
        if self.recordings is not None:
            self.recordings.close()
            self.recordings = None
        if self.live is not None:
            self.leftovers += self.live.shutdown(wait)
            self.live = None
        if win is not None:
            win.closed.disconnect(self.quit)
            win.close()
            win.deleteLater()
            self.app.setStyleSheet(self.house_style)  # not the last user's own theme

    def _confirm_close(self) -> bool:
        """Closing with a call in hand: say what happens to it and let the operator choose."""
        mine = self.calls.my_calls() if self.calls is not None else []
        if not mine:
            return True
        names = ", ".join(i.device for i in mine)
        answer = QMessageBox.question(
            self.window, "Calls are open — Beacon VMS",
            f"You are handling {len(mine)} call{'s' if len(mine) != 1 else ''} ({names}).\n\n"
            "If you quit now, they go on hold in the queue for another operator to pick up. "
            "Quit anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def quit(self) -> None:
        began = time.monotonic()
        self._end_session("desktop closed")
        # what earlier sign-outs left ending, within the same 5 s (FFmpeg mid-read at exit)
        tasks.wait_for(self.leftovers, max(0.0, QUIT_WAIT_S - (time.monotonic() - began)))
        self.leftovers = []
        tasks.wait_all()
        self.app.quit()

    def close_site(self) -> None:
        """The site service this desktop ran stops with it (its calls stay in the queue for
        the next start, or for ``vms serve``); a client just hangs up."""
        if self.desk is not None:
            self.desk.stop()
        if isinstance(self.site, SiteService):
            self.site.stop()
        else:
            self.site.close()
