"""The main window lays out panes and menus and nothing more; ``ui.desktop`` wires them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QSplitter, QWidget

from ui import keys
from ui.panes.cameras import CamerasPane
from ui.panes.devices import DevicesPane
from ui.screen import sized
from ui.simulator_link import SimulatorLink
from ui.wall.pane import WallPane
from vms.access.roles import Permission
from vms.devices.commissioning import Commissioning


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, link: SimulatorLink, svc: Commissioning, wall: WallPane,
                 calls: QWidget | None = None) -> None:
        super().__init__()
        session = svc.session
        self.setWindowTitle(f"Beacon VMS — {session.user}")
        sized(self, 1400, 860)
        self.cameras = CamerasPane(svc.devices)
        self.devices = DevicesPane()
        self.wall = wall
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.cameras)
        side.addWidget(self.devices)
        side.setSizes([520, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(side)
        split.addWidget(wall)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 1100])
        self.setCentralWidget(split)
        self.confirm_close: Callable[[], bool] | None = None  # set by the desktop
        self.calls_dock: QDockWidget | None = None
        if calls is not None:
            self.calls_dock = QDockWidget("Calls and alarms", self)
            self.calls_dock.setObjectName("callsDock")
            self.calls_dock.setWidget(calls)
            self.calls_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                        | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.calls_dock)
            self.resizeDocks([self.calls_dock], [380], Qt.Orientation.Horizontal)
        self.cameras.devices_loaded.connect(wall.set_devices)
        self.cameras.devices_loaded.connect(self.devices.set_registered)
        self.cameras.camera_activated.connect(wall.show_camera)
        wall.message.connect(lambda text: self.statusBar().showMessage(text, 8000))

        def can(p: Permission) -> bool:  # what to offer; the services decide
            return svc.access.can(session, p)

        account = self.menuBar().addMenu("&Account")
        self.change_password = account.addAction("Change password…")
        self.open_preferences: QAction = account.addAction("Sound and display…")
        self.lock_now = account.addAction("Lock")
        self.lock_now.setShortcut(QKeySequence(keys.LOCK.keys))
        account.addSeparator()
        self.sign_out = account.addAction("Sign out")
        view = self.menuBar().addMenu("&View")
        self.open_maps: QAction = view.addAction("Site map…")
        self.open_maps.setShortcut(QKeySequence(keys.MAP.keys))
        recordings = self.menuBar().addMenu("&Recordings")
        self.open_playback: QAction = recordings.addAction("Playback…")
        self.open_playback.setShortcut(QKeySequence(keys.PLAYBACK.keys))
        self.open_playback.setEnabled(can(Permission.PLAYBACK))
        self.open_export: QAction = recordings.addAction("Export evidence…")
        self.open_export.setEnabled(can(Permission.EVIDENCE_EXPORT))
        self.open_verify: QAction = recordings.addAction("Verify evidence package…")
        self.open_verify.setEnabled(can(Permission.EVIDENCE_VERIFY))
        loans = self.menuBar().addMenu("&Loans")
        self.open_loans: QAction = loans.addAction("Loaned cameras…")
        self.open_loans.setEnabled(can(Permission.LOANS_VIEW))
        self.open_evaluation: QAction = loans.addAction("Crime evaluation…")
        self.open_evaluation.setEnabled(can(Permission.LOANS_VIEW))
        reports = self.menuBar().addMenu("&Reports")
        self.open_reports: QAction = reports.addAction("Programme reports…")
        self.open_reports.setEnabled(can(Permission.REPORTS_VIEW))
        admin = self.menuBar().addMenu("A&dministration")
        self.open_users: QAction = admin.addAction("Users…")
        self.open_users.setEnabled(can(Permission.USERS_MANAGE))
        self.open_audit: QAction = admin.addAction("Audit trail…")
        self.open_audit.setEnabled(can(Permission.AUDIT_VIEW))
        self.open_workstations: QAction = admin.addAction("Workstations on the site…")
        self.open_workstations.setEnabled(can(Permission.CALL_FORCE_TAKE)
                                          or can(Permission.USERS_MANAGE))  # supervisors
        self.open_microphone: QAction = admin.addAction("Microphone…")
        self.open_microphone.setEnabled(can(Permission.SETTINGS))
        help_menu = self.menuBar().addMenu("&Help")
        self.open_keys: QAction = help_menu.addAction(f"Keys…\t{keys.HELP.keys}")
        self.open_about: QAction = help_menu.addAction("About / diagnostics…")
        self.cameras.can_link = can(Permission.DEVICE_CONFIGURE)
        self.cameras.can_remove = can(Permission.DEVICE_REMOVE)  # administrators too, as the CLI
        self.cameras.find_button.setEnabled(can(Permission.DEVICE_DISCOVER))
        if not self.cameras.find_button.isEnabled():
            self.cameras.find_button.setToolTip("Finding cameras needs the installer or "
                                                "administrator role")

        self.who = QLabel(f"Signed in as {session.user} ({session.role.words})")
        self.who.setObjectName("signedIn")
        self.statusBar().addPermanentWidget(self.who)
        self.profile = QLabel(f"Profile: {link.data_dir}")
        self.profile.setToolTip(str(link.data_dir))  # a long path is cut, never widens the window
        self.profile.setMinimumWidth(120)  # shown whole when there is room, cut when not
        self.statusBar().addPermanentWidget(self.profile)
        link.status_changed.connect(self.devices.show_status)
        link.message.connect(lambda text: self.statusBar().showMessage(text))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.confirm_close is not None and not self.confirm_close():
            event.ignore()
            return
        super().closeEvent(event)
        self.closed.emit()
