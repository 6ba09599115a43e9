"""What the features of one signed-in session share, and the one way they open a window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ui import tasks
from ui.calls.desk import CallDesk
from ui.main_window import MainWindow
from ui.simulator_link import SimulatorLink
from ui.wall.assembly import LiveWall
from vms.access.access import Access
from vms.access.session import Session
from vms.devices.commissioning import Commissioning
from vms.profile import Profile
from vms.recording.index import RecordingIndex

T = TypeVar("T")


@dataclass
class SignedIn:
    profile: Profile
    session: Session
    window: MainWindow
    svc: Commissioning
    live: LiveWall
    calls: CallDesk
    recordings: RecordingIndex
    link: SimulatorLink
    ended: bool = False  # signed out: a read still on its way opens nothing

    @property
    def access(self) -> Access:
        return self.profile.access

    def say(self, text: str, ms: int = 10000) -> None:
        """One plain sentence in the main window's status bar."""
        self.window.statusBar().showMessage(text, ms)

    def after(self, read: Callable[[], T], show: Callable[[T], object], what: str) -> None:
        """Read what a window needs off the GUI thread (the registry, the keyring, the
        incidents), then open it; if reading fails, say so in the status bar."""
        def shown(value: T) -> None:
            if not self.ended:  # still this session's window
                show(value)

        tasks.run(read, shown, lambda e: self.say(f"Cannot open {what}: {e}"))
