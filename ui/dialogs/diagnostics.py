"""Help > About / diagnostics: versions, the playback backend in use and why, live streams now."""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence

import PySide6
from PySide6.QtCore import QTimer, qVersion
from PySide6.QtGui import QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ui.screen import sized
from ui.tables import Mode, row_table
from ui.video.hub import FeedHub
from vms import __version__
from vms.media.backends import BackendReport


def _fill(model: QStandardItemModel, rows: Sequence[Sequence[str]]) -> None:
    model.removeRows(0, model.rowCount())
    for r in rows:
        model.appendRow([QStandardItem(v) for v in r])


class DiagnosticsDialog(QDialog):
    def __init__(self, report: BackendReport, hub: FeedHub | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Beacon VMS / diagnostics")
        sized(self, 760, 540)
        self.hub = hub
        heading = QLabel(f"Beacon VMS {__version__}")
        heading.setObjectName("dialogHeading")
        self.rows = [
            *report.lines(),
            ("Python", f"{platform.python_version()} on {platform.system()} "
                       f"{platform.release()} ({sys.platform})"),
            ("Qt", f"Qt {qVersion()}, PySide6 {PySide6.__version__}, platform "
                   f"'{QGuiApplication.platformName()}'"),
            *[("Note", n) for n in report.notes],
        ]
        self.info_model, self.info = row_table(["Item", "Value"], Mode.NoSelection)
        _fill(self.info_model, self.rows)
        self.feed_model, self.feeds = row_table(["Stream", "Backend", "State", "Frames"],
                                                Mode.NoSelection)
        hint = QLabel("Change the backend with: vms settings set player_backend auto|pyav|vlc "
                      "(an administrator; takes effect at the next sign-in).")
        hint.setObjectName("paneHint")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addWidget(self.info, 2)
        lay.addWidget(hint)
        lay.addWidget(QLabel("Live streams now"))
        lay.addWidget(self.feeds, 1)
        lay.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(1000)
        self.refresh()

    def refresh(self) -> None:
        feeds = self.hub.feeds() if self.hub else []
        _fill(self.feed_model, [(f.label, f.backend, f.status.state.value, str(f.frames))
                                for f in feeds])
