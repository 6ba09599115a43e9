"""The main window lays out panes and nothing more."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter

from ui.panes.cameras import CamerasPane
from ui.panes.devices import DevicesPane
from ui.site_link import SiteLink
from vms.registry import Registry


class MainWindow(QMainWindow):
    def __init__(self, link: SiteLink, registry: Registry) -> None:
        super().__init__()
        self.setWindowTitle("Beacon VMS")
        self.resize(1280, 600)
        self.cameras = CamerasPane(registry)
        self.devices = DevicesPane()
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.cameras)
        split.addWidget(self.devices)
        split.setSizes([340, 940])
        self.setCentralWidget(split)
        self.profile = QLabel(f"Profile: {link.data_dir}")
        self.statusBar().addPermanentWidget(self.profile)
        link.status_changed.connect(self.devices.show_status)
        link.message.connect(lambda text: self.statusBar().showMessage(text))
