"""One device as commissioned: identity, clock, streams and its capability table.

The table is the installer's proof of what the device really does: each feature it
claims set beside what worked when onboarding tried it (``vms.onvif.trials``), and how
its events reach the control room. It shows what the registry holds; only *Watch events…*
(``ui.dialogs.events_watch``) talks to the device.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QBrush, QColor, QStandardItem
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.tables import row_table
from vms.onvif.model import FAILED, WORKED, describe_offset
from vms.safety.redact import scrub_url
from vms.store.devices import DeviceRow

_RESULT_COLOURS = {WORKED: "#3fb950", FAILED: "#f85149"}


class DeviceDetailsDialog(QDialog):
    def __init__(self, row: DeviceRow, parent: QWidget | None = None,
                 watch_events: Callable[[DeviceRow, QWidget], object] | None = None) -> None:
        """``watch_events``: opens the live event inspector (offered to installers)."""
        super().__init__(parent)
        self.setWindowTitle(f"{row.name}: device details")
        self.setMinimumWidth(760)
        layout = QVBoxLayout(self)

        ident = QGroupBox("Device")
        form = QFormLayout(ident)
        form.addRow("Name", QLabel(row.name))
        form.addRow("Place", QLabel(f"{row.area} · {row.location or 'no location set'}"))
        form.addRow("Model", QLabel(f"{row.manufacturer or '?'} {row.model or '?'} "
                                    f"(firmware {row.firmware or '?'}, serial {row.serial or '?'})"))
        form.addRow("Address", QLabel(row.address))
        clock = ("not known (the device did not report its time)" if row.clock_offset_s is None
                 else f"{describe_offset(row.clock_offset_s)} when it was added")
        form.addRow("Clock", QLabel(clock))
        caps = row.capabilities
        method = caps.event_method or ("PullPoint (assumed; not tried when it was added)"
                                       if caps.events else "no event service")
        self.events_label = QLabel(method)
        form.addRow("Events by", self.events_label)
        form.addRow("Login", QLabel(f"{row.auth_method} (password kept in the system keyring)"))
        layout.addWidget(ident)

        streams = QGroupBox("Streams")
        s_layout = QVBoxLayout(streams)
        s_model, s_table = row_table(["Role", "Profile", "Codec", "Size", "Frame rate", "Address"])
        for s in row.streams:
            s_model.appendRow([QStandardItem(x) for x in (
                s.role or "", s.profile_name, s.encoding or "?", s.resolution,
                f"{s.fps:g}" if s.fps else "?", scrub_url(s.uri or "") or (s.error or "none"))])
        _fit_rows(s_table, s_model.rowCount())
        s_layout.addWidget(s_table)
        layout.addWidget(streams)

        table_box = QGroupBox("Capability table: what the device claims, and what worked when tried")
        t_layout = QVBoxLayout(table_box)
        self.model, self.table = row_table(["Feature", "Claims", "Tried", "What happened"])
        for c in caps.checks:
            result = QStandardItem(c.result)
            if c.result in _RESULT_COLOURS:
                result.setForeground(QBrush(QColor(_RESULT_COLOURS[c.result])))
            self.model.appendRow([QStandardItem(c.feature), QStandardItem(c.claim_text), result,
                                  QStandardItem(scrub_url(c.detail))])
        _fit_rows(self.table, self.model.rowCount())
        t_layout.addWidget(self.table)
        if not caps.checks:
            t_layout.addWidget(QLabel("This device was added before capability tables were kept: "
                                      "remove and add it again to try each feature."))
        layout.addWidget(table_box)

        warnings = [w for w in row.warnings if w]
        if warnings:
            w = QLabel("⚠ " + "\n⚠ ".join(scrub_url(x) for x in warnings))
            w.setWordWrap(True)
            layout.addWidget(w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.watch_button = buttons.addButton("Watch events…",
                                              QDialogButtonBox.ButtonRole.ActionRole)
        self.watch_button.setEnabled(bool(caps.events) and watch_events is not None)
        if not caps.events:
            self.watch_button.setToolTip("This device has no event service")
        elif watch_events is None:
            self.watch_button.setToolTip("Watching a device's events needs the installer role")
        else:
            self.watch_button.clicked.connect(lambda: watch_events(row, self))
        layout.addWidget(buttons)


def _fit_rows(table: QTableView, rows: int) -> None:
    """Tall enough for every row without scrolling (a few rows: streams, checks)."""
    row = table.verticalHeader().defaultSectionSize()
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    table.setFixedHeight(height + row * max(rows, 1) + 2)
