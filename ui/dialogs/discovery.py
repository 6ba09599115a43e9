"""Find cameras: multicast and/or range scan, a table that fills as devices answer, and
"Add selected" with per-device results in plain words."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QStandardItem
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.dialogs.credentials import CredentialsDialog
from ui.discovery_run import DiscoveryRun
from ui.screen import sized
from ui.tables import row_table
from vms.devices.commissioning import Added, Commissioning
from vms.discovery.wsd import Sighting
from vms.errors import (
    AccessError,
    AuthFailed,
    BadReply,
    DeviceUnreachable,
    DuplicateDevice,
    ProtocolError,
    UnsafeXml,
)
from vms.onvif.model import describe_offset
from vms.safety.redact import scrub_url
from vms.store.devices import DEFAULT_AREA

log = logging.getLogger(__name__)
COLUMNS = ["Name", "Model", "Address", "Location", "Status"]
STATUS = 4
GOOD, BAD, WARN, MUTED = QColor("#6fd08c"), QColor("#ff6b5a"), QColor("#e8c15a"), QColor("#8a97a8")


@dataclass
class DiscoveryDefaults:
    targets: str = ""
    port: int = 3702
    multicast: bool = True
    note: str = ""


def defaults_for(status: dict | None) -> DiscoveryDefaults:
    """On the simulated site (loopback, its own discovery port) scan it by unicast."""
    port = (status or {}).get("discovery_port")
    if port:
        return DiscoveryDefaults("127.0.0.1", int(port), False,
                                 f"Simulated site on this computer (127.0.0.1, UDP {port}): "
                                 "press Scan to find its devices.")
    return DiscoveryDefaults()


def plain_error(exc: BaseException) -> str:
    """A short status for the table; the full sentence goes in the tooltip."""
    if isinstance(exc, AuthFailed):
        return "Wrong user name or password"
    if isinstance(exc, DeviceUnreachable):
        return "Unreachable"
    if isinstance(exc, DuplicateDevice):
        return "Already registered"
    if isinstance(exc, AccessError):
        return "Not allowed for your role"
    if isinstance(exc, (BadReply, UnsafeXml)):
        return "Not ONVIF (or a hostile reply)"
    if isinstance(exc, ProtocolError):
        return "Not usable"
    return f"Failed ({type(exc).__name__})"


class DiscoveryDialog(QDialog):
    def __init__(self, svc: Commissioning, defaults: DiscoveryDefaults,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.svc = svc
        self.defaults = defaults
        self.setWindowTitle("Find cameras")
        sized(self, 980, 520)
        self.sightings: dict[str, Sighting] = {}
        self.rows: dict[str, int] = {}
        self.registered: set[str] = set()
        self.run: DiscoveryRun | None = None
        self.notes: list[str] = []  # what the last scan dropped, said under its summary
        self._told = False  # the no-keyring notice is said once

        self.multicast = QCheckBox("Multicast on this network")
        self.multicast.setChecked(defaults.multicast)
        self.targets = QLineEdit(defaults.targets)
        self.targets.setPlaceholderText("also scan hosts or ranges, e.g. 192.168.10.0/24, 10.1.2.3")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.5, 30)
        self.timeout.setValue(3.0)
        self.timeout.setSuffix(" s")
        self.scan = QPushButton("Scan")
        self.scan.setDefault(True)
        self.scan.clicked.connect(self.start_scan)
        top = QHBoxLayout()
        top.addWidget(self.multicast)
        top.addWidget(QLabel("Scan:"))
        top.addWidget(self.targets, 1)
        top.addWidget(QLabel("Listen for"))
        top.addWidget(self.timeout)
        top.addWidget(self.scan)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.summary = QLabel(defaults.note or "Press Scan to look for ONVIF devices.")
        self.summary.setObjectName("paneHint")

        self.model, self.table = row_table(COLUMNS)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.add = QPushButton("Add selected…")
        self.add.setEnabled(False)
        self.add.clicked.connect(self.ask_and_add)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.add)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

        self._tick = QTimer(self)
        self._tick.setInterval(100)
        self._tick.timeout.connect(self._advance)
        self._started = 0.0
        tasks.run(lambda: {d.uid for d in svc.devices()}, self._known, tasks.ignored(
            "devices already added are not marked in the scan (adding one again says so)"))

    # -- scanning --------------------------------------------------------------------
    def start_scan(self) -> None:
        targets = [t.strip() for t in self.targets.text().replace(";", ",").split(",") if t.strip()]
        if not self.multicast.isChecked() and not targets:
            self.summary.setText("Tick multicast, or give hosts or ranges to scan.")
            return
        self.scan.setEnabled(False)
        self.notes = []
        self.run = DiscoveryRun(self)
        self.run.found.connect(self.add_sighting)
        self.run.noted.connect(self._noted)
        self.run.finished.connect(self._finished)
        self.run.failed.connect(self._failed)
        self._started = time.monotonic()
        self.progress.setValue(0)
        self._tick.start()
        how = " and ".join(x for x in ("multicast" if self.multicast.isChecked() else "",
                                       ", ".join(targets)) if x)
        self.summary.setText(f"Scanning by {how}…")
        self.run.start(self.svc, self.timeout.value(), targets, self.multicast.isChecked(),
                       self.defaults.port)

    def _advance(self) -> None:
        frac = (time.monotonic() - self._started) / max(self.timeout.value(), 0.1)
        self.progress.setValue(min(int(frac * 1000), 990))
        n = len(self.sightings)
        self.summary.setText(f"Scanning… {n} device{'s' if n != 1 else ''} found so far")

    def _finished(self, count: int) -> None:
        self._tick.stop()
        self.progress.setValue(1000)
        self.scan.setEnabled(True)
        self.summary.setText(f"Scan finished: {len(self.sightings)} device"
                             f"{'s' if len(self.sightings) != 1 else ''} found. Select some and "
                             "press Add selected."
                             + "".join(f"\nNote: {n[0].upper()}{n[1:]}." for n in self.notes))

    def _noted(self, text: str) -> None:  # a method, so it is queued to this (GUI) thread
        self.notes.append(text)

    def _failed(self, text: str) -> None:
        self._tick.stop()
        self.scan.setEnabled(True)
        self.summary.setText(f"Scan failed: {text}")

    def _known(self, uids: set[str]) -> None:
        self.registered = uids
        for endpoint in uids & set(self.rows):
            self._status(endpoint, "Registered", MUTED)

    def add_sighting(self, s: Sighting) -> None:
        if s.endpoint in self.rows:
            return
        self.sightings[s.endpoint] = s
        tasks.run(partial(self.svc.record_sighting, s, "probe"), lambda _r: None,
                  lambda exc: log.warning("could not record a sighting: %s", exc))
        row = self.model.rowCount()
        self.rows[s.endpoint] = row
        cells = [s.name or "(no name)", s.hardware or "?", scrub_url(s.xaddr or "-"), s.location or "-", ""]
        items = [QStandardItem(c) for c in cells]
        items[0].setData(s.endpoint, Qt.ItemDataRole.UserRole)
        self.model.appendRow(items)
        if s.warning:
            self._status(s.endpoint, "Check: reply names another host", WARN, s.warning)
        elif s.endpoint in self.registered:
            self._status(s.endpoint, "Registered", MUTED)
        else:
            self._status(s.endpoint, "Found", None)

    def _status(self, endpoint: str, text: str, colour: QColor | None, tip: str = "") -> None:
        item = self.model.item(self.rows[endpoint], STATUS)
        item.setText(text)
        item.setToolTip(tip or text)
        if colour is not None:
            item.setForeground(QBrush(colour))

    def _selection_changed(self) -> None:
        self.add.setEnabled(bool(self.selected()))

    def selected(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]

    # -- adding ----------------------------------------------------------------------
    def ask_and_add(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        dlg = CredentialsDialog(len(chosen), DEFAULT_AREA, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.add_devices(chosen, dlg.user.text().strip(), dlg.password.text(), dlg.area.text().strip())

    def add_devices(self, endpoints: list[str], user: str, password: str, area: str) -> None:
        for endpoint in endpoints:
            s = self.sightings[endpoint]
            if endpoint in self.registered:
                self._status(endpoint, "Already registered: not added again", MUTED,
                             "To add it with another login, use Change login… on it in the "
                             "camera list, or Remove… it first.")
                continue
            if s.warning or not s.xaddr:
                self._status(endpoint, "Not added: add it by address", WARN,
                             s.warning or "The device gave no address we can use.")
                continue
            self._status(endpoint, "Adding…", None)
            address = s.xaddr

            def job(address: str = address) -> Added:
                return self.svc.add(address, user, password, area=area or DEFAULT_AREA)

            tasks.run(job, partial(self._added, endpoint), partial(self._added, endpoint))

    def _added(self, endpoint: str, result: Added | BaseException) -> None:
        if isinstance(result, BaseException):
            tip = scrub_url(str(result))
            if isinstance(result, DeviceUnreachable):
                text = f"Unreachable: {tip.split(': ', 1)[-1]}"
            else:
                text = plain_error(result)
            self._status(endpoint, text, BAD, tip)
            return
        self.registered.add(endpoint)
        rep = result.report
        off = rep.clock_offset_s
        if off is not None and abs(off) >= 5:
            self._status(endpoint, f"Added (clock off by {abs(off):.0f} s)", WARN,
                         f"Clock {describe_offset(off)}; set NTP on the device.")
        else:
            self._status(endpoint, "Added", GOOD, "; ".join(rep.warnings) or "Added")
        notice = self.svc.credentials.notice
        if notice and not self._told:
            self._told = True
            self.summary.setText(notice)
