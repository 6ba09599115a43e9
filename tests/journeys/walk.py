"""Walking the desktop as a person does: answer the dialog that comes up, right-click, look.

A modal dialog runs its own event loop until it is closed, so whatever a person does in it is
done from a timer that finds it once it is on screen (``answer``). Nothing here calls the core:
journeys act through widgets and read what the windows show.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QMenu,
    QWidget,
)
from shiboken6 import isValid

from tests.gui_guard import close_modals
from ui.calls.incident_pane import IncidentPane
from ui.calls.triage_box import TriageBox
from ui.desktop import Desktop
from ui.dialogs.sign_in import SignInDialog
from ui.main_window import MainWindow
from ui.simulator_link import SimulatorLink
from vms.profile import Profile

W = TypeVar("W", bound=QWidget)
REPO = Path(__file__).resolve().parents[2]


def shown(kind: type[W]) -> W | None:
    """The visible top-level window of ``kind``, if there is one."""
    return next((w for w in QApplication.topLevelWidgets()
                 if isinstance(w, kind) and w.isVisible()), None)


def answer(kind: type[W], act: Callable[[W], None], then: Callable[[], object],
           timeout_s: float = 60.0) -> None:
    """Do ``then`` (which opens a modal ``kind``, at once or once the desktop has read what
    it needs off the GUI thread) and, once the dialog is on screen, ``act`` on it as a person
    would; ``act`` must close it."""
    done: list[bool] = []
    timer = QTimer()
    timer.setInterval(50)
    left = [int(timeout_s * 20)]

    def look() -> None:
        left[0] -= 1
        dlg = shown(kind)
        if dlg is None:
            if left[0] <= 0:
                timer.stop()
            return
        timer.stop()
        done.append(True)
        try:
            act(dlg)
        except BaseException as exc:  # close what is open, or the modal loop never ends
            failed.append(exc)
            for w in QApplication.topLevelWidgets():
                if isinstance(w, QDialog) and w.isModal() and w.isVisible():
                    w.done(0)
            return
        # ``act`` may close it later (a sign-in checked off the GUI thread): if it never does,
        # say so and close it, or the modal loop (and the test) never ends
        guard.timeout.connect(lambda: still_open(dlg))
        guard.start(int(timeout_s * 1000))

    def still_open(dlg: QWidget) -> None:
        if isValid(dlg) and dlg.isVisible():
            failed.append(AssertionError(
                f"the {kind.__name__} stayed open {timeout_s:.0f} s after it was answered: "
                + "; ".join(close_modals())))

    failed: list[BaseException] = []
    guard = QTimer()
    guard.setSingleShot(True)
    timer.timeout.connect(look)
    timer.start()
    then()
    while not done and timer.isActive():  # the dialog is still to come
        QTest.qWait(50)
    timer.stop()
    guard.stop()
    if failed:
        raise failed[0]
    assert done, f"no {kind.__name__} came up"


def right_click(view: QAbstractItemView, row_text: str) -> QMenu:
    """Right-click the row showing ``row_text`` and return the menu that opens (not yet run)."""
    model = view.model()
    found = model.match(model.index(0, 0), Qt.ItemDataRole.DisplayRole, row_text, 1,
                        Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly)
    assert found, f"no row {row_text!r} in the view"
    view.scrollTo(found[0])
    pos = view.visualRect(found[0]).center()
    menus: list[QMenu] = []

    def grab() -> None:
        menu = next((w for w in QApplication.topLevelWidgets()
                     if isinstance(w, QMenu) and w.isVisible()), None)
        if menu is None:
            QTimer.singleShot(20, grab)
            return
        menus.append(menu)
        menu.hide()  # the menu's loop ends; its actions stay, to be chosen below

    QTimer.singleShot(20, grab)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    assert menus, "no menu opened"
    return menus[0]


def choose(menu: QMenu, text: str) -> None:
    action = next((a for a in menu.actions() if a.text() == text), None)
    assert action is not None, f"no {text!r} in the menu: {[a.text() for a in menu.actions()]}"
    assert action.isEnabled(), f"{text!r} is greyed out"
    action.trigger()


SMALL_SCREEN = (1366, 768)  # the smallest control-room screen we support


def misfits(widget: QWidget, name: str) -> list[str]:
    """How ``widget`` fails to fit: partly off the screen it opened on, or unable to fit a
    1366x768 screen even at the smallest it can be made (with its frame). Empty: it fits."""
    said = []
    frame = widget.frameGeometry()
    screen = widget.screen().availableGeometry()
    if not screen.contains(frame):
        said.append(f"{name}: at {frame.x()},{frame.y()} {frame.width()}x{frame.height()} it is "
                    f"partly off the {screen.width()}x{screen.height()} screen")
    least = widget.minimumSizeHint().expandedTo(widget.minimumSize())
    w = least.width() + frame.width() - widget.width()
    h = least.height() + frame.height() - widget.height()
    if w > SMALL_SCREEN[0] or h > SMALL_SCREEN[1]:
        said.append(f"{name}: {w}x{h} at the least, which does not fit a 1366x768 screen")
    return said


def look_at(widget: QWidget, name: str, must_fit: bool = True) -> None:
    """A screenshot for docs/ (when ``VMS_SCREENSHOT_DIR`` is set). The window must fit (see
    ``misfits``), unless told otherwise: a known defect."""
    if must_fit:
        problems = misfits(widget, name)
        assert not problems, "; ".join(problems)
    folder = os.environ.get("VMS_SCREENSHOT_DIR")
    if folder:
        widget.grab().save(str(Path(folder) / name))


def sign_in(desktop: Desktop, user: str, password: str) -> None:
    """Start the desktop and sign in at its sign-in dialog, as a person does."""
    started: list[bool] = []
    answer(SignInDialog, signing_in(user, password), lambda: started.append(desktop.start()))
    assert started == [True] and desktop.window is not None, f"{user} could not sign in"


def at_desk(profile: Profile, site: object, user: str, password: str
            ) -> tuple[Desktop, MainWindow, SimulatorLink]:
    """The desktop on ``profile`` and its site service, with ``user`` signed in at its dialog.
    The link is never started: journeys that want the simulator's status watch it."""
    link = SimulatorLink(profile.data_dir)
    desktop = Desktop(QApplication.instance(), profile, link, site)  # type: ignore[arg-type]
    sign_in(desktop, user, password)
    assert desktop.window is not None
    return desktop, desktop.window, link


def opened(qtbot: object, kind: type[W], trigger: Callable[[], object],
           timeout_ms: int = 10000) -> W:
    """Do ``trigger`` (a menu item, a button) and return the window of ``kind`` it opens."""
    trigger()
    qtbot.waitUntil(lambda: shown(kind) is not None, timeout=timeout_ms)  # type: ignore[attr-defined]
    window = shown(kind)
    assert window is not None
    return window


def intrusion_accepted(qtbot: object, desktop: Desktop, sim: object, device: str = "pid1"
                       ) -> tuple[int, IncidentPane, TriageBox]:
    """An intrusion on ``device`` (a simulator name), its pane popped and accepted: the id,
    the pane and its triage box, ready for a decision."""
    calls = desktop.calls
    assert calls is not None
    before = set(calls.panes)
    sim.cli("intrude", device, "--duration", "1")  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: any(i not in before and p.isVisible()  # type: ignore[attr-defined]
                                for i, p in calls.panes.items()), timeout=20000)
    iid, pane = next((i, p) for i, p in calls.panes.items() if i not in before)
    assert isinstance(pane, IncidentPane) and pane.triage_box is not None
    box = pane.triage_box
    qtbot.mouseClick(pane.accept_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(box.false_button.isEnabled, timeout=10000)  # type: ignore[attr-defined]
    return iid, pane, box


def signing_in(user: str, password: str) -> Callable[[QDialog], None]:
    """What a person does at the sign-in dialog: name, password, Sign in (checked off the GUI
    thread; the dialog closes once signed in)."""
    def act(dlg: QDialog) -> None:
        dlg.user.setText(user)  # type: ignore[attr-defined]
        dlg.password.setText(password)  # type: ignore[attr-defined]
        dlg.ok.click()  # type: ignore[attr-defined]
    return act


def logging_in(password: str) -> Callable[[QDialog], None]:
    """What an installer does at the device-login dialog of Find cameras: password, Add."""
    def act(dlg: QDialog) -> None:
        dlg.password.setText(password)  # type: ignore[attr-defined]
        box = dlg.findChild(QDialogButtonBox)
        assert box is not None
        box.button(QDialogButtonBox.StandardButton.Ok).click()
    return act


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key as a person presses it: to whatever has the keyboard."""
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None, "nothing has the keyboard"
    QTest.keyClick(target, key, modifier)
