"""The main window lays out panes and nothing more."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from ui.panes.devices import DevicesPane
from ui.site_link import SiteLink


class MainWindow(QMainWindow):
    def __init__(self, link: SiteLink) -> None:
        super().__init__()
        self.setWindowTitle("Beacon VMS")
        self.resize(1180, 560)
        self.devices = DevicesPane()
        self.setCentralWidget(self.devices)
        self.profile = QLabel(f"Profile: {link.data_dir}")
        self.statusBar().addPermanentWidget(self.profile)
        link.status_changed.connect(self.devices.show_status)
        link.message.connect(lambda text: self.statusBar().showMessage(text))
