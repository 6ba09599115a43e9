"""*Watch events…*: one registered device's ONVIF events, live, for the installer proving it.

Each notification is listed as the device sent it and as Beacon reads it (the alarm it raises,
or none), newest at the bottom. The watch runs on the core loop (``vms.events.inspect``); the
check, keyring read and audit run through ``ui.tasks``; rows arrive as queued signals.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QStandardItem
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ui import tasks
from ui.calls.clock import local_time
from ui.screen import sized
from ui.tables import Mode, row_table
from vms.errors import VmsError
from vms.events.inspect import EventInspector, Seen
from vms.store.devices import DeviceRow

MAX_ROWS = 500  # an inspector, not a log: the oldest go first


class _Relay(QObject):
    """Carries the core loop's callbacks to the GUI thread (emitting queues them)."""

    seen = Signal(object)
    said = Signal(str)


class EventsWatchDialog(QDialog):
    def __init__(self, inspector: EventInspector, device: DeviceRow,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{device.name}: events, live")
        sized(self, 1180, 560)
        self.device = device
        layout = QVBoxLayout(self)
        self.state = QLabel(f"Subscribing to {device.name}'s events…")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
        hint = QLabel("Press the button, trip the input or walk the analytics zone: each "
                      "notification appears here as the device sent it, and what Beacon makes "
                      "of it. The site service keeps its own subscription; closing this window "
                      "ends only this one.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        layout.addWidget(hint)
        self.model, self.table = row_table(
            ["Time", "Beacon reads it as", "Topic", "Operation", "Items"], Mode.SingleSelection)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._relay = _Relay(self)
        self._relay.seen.connect(self._add)
        self._relay.said.connect(self.state.setText)
        # The watch is ended however the window goes: closed, or destroyed with its parent
        # at sign-out (no done() then). The watch object outlives the window; it holds no
        # widget, so the core loop's callbacks never reach a deleted one.
        watch = _Watch()
        self._watch = watch
        self.destroyed.connect(lambda _o=None: watch.stop())
        relay = self._relay
        device_id = device.id

        def seen(s: Seen) -> None:  # on the core loop
            if not watch.stopped:
                relay.seen.emit(s)

        def said(text: str) -> None:  # on the core loop
            if not watch.stopped:
                relay.said.emit(text)

        def begin() -> concurrent.futures.Future[None]:
            fut = inspector.start(device_id, seen, said)
            watch.hold(fut, said)
            return fut
        tasks.run(begin, lambda _f: None, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.state.setText(f"Cannot watch {self.device.name}'s events: "
                           f"{exc if isinstance(exc, VmsError) else repr(exc)}")

    def _add(self, s: Seen) -> None:
        n = s.notification
        when = local_time((n.utc or s.received).isoformat())
        meaning = QStandardItem(s.meaning)
        if s.normalised is not None:
            meaning.setForeground(QBrush(QColor("#3fb950" if s.normalised["active"] else "#9aa7b5")))
        self.model.appendRow([QStandardItem(when), meaning, QStandardItem(n.topic_raw),
                              QStandardItem(n.operation or "-"), QStandardItem(s.items)])
        if self.model.rowCount() > MAX_ROWS:
            self.model.removeRow(0)
        self.table.resizeColumnsToContents()  # a topic or its items are the point: shown whole
        self.table.scrollToBottom()

    def rows(self) -> list[list[str]]:
        """What the table shows, as text (journeys read it)."""
        return [[self.model.item(r, c).text() for c in range(self.model.columnCount())]
                for r in range(self.model.rowCount())]

    def done(self, result: int) -> None:
        self._watch.stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._watch.stop()
        super().closeEvent(event)


class _Watch:
    """One watch's future, stopped from the GUI thread; says from any thread why it ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stopped = False
        self._fut: concurrent.futures.Future[None] | None = None

    def hold(self, fut: concurrent.futures.Future[None], said: Callable[[str], None]) -> None:
        """Keep ``fut`` (from the worker that started it); stopped already: cancel it now."""
        with self._lock:
            self._fut = fut
            stop = self.stopped

        def ended(f: concurrent.futures.Future[None]) -> None:  # on the core loop's thread
            if f.cancelled():
                return
            exc = f.exception()
            said("The watch ended." if exc is None else
                 f"Stopped: {exc if isinstance(exc, VmsError) else repr(exc)}")
        fut.add_done_callback(ended)
        if stop:
            fut.cancel()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            fut = self._fut
        if fut is not None:
            fut.cancel()
