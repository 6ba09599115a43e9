"""Keeps the desktop in step with a simulated site: starts it if asked, polls its status.

Every call to the core happens through ``ui.tasks`` so the window never waits on
the network; results arrive as Qt signals on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ui import tasks
from vms.errors import SimNotRunning, VmsError
from vms.sim import control
from vms.sim.launcher import EPHEMERAL, SimProcess

POLL_MS = 1000


class SimulatorLink(QObject):
    status_changed = Signal(dict)  # the site's status, as the core reports it
    message = Signal(str)  # one plain sentence for the user

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.process: SimProcess | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._busy = False
        self.last_status: dict[str, Any] | None = None

    def start_simulator(self, clip_cache: Path | None = None) -> None:
        """Use the site already running on this profile, or start one."""
        process = SimProcess(self.data_dir, *EPHEMERAL, clip_cache=clip_cache)
        self.process = process  # owned from now on, so shutdown() stops it even mid-start

        def launch() -> str:
            try:
                control.status(self.data_dir)
                return "Connected to the simulated site already running on this profile."
            except SimNotRunning:
                pass  # none running: start one (the next line)
            process.start()
            process.wait_ready()
            return "Simulated site started."

        self.message.emit("Starting the simulated site (the first start encodes its video "
                          "clips once; this can take a minute)...")
        tasks.run(launch, self._started, self._failed)

    def watch(self) -> None:
        self._timer.start()
        self.poll()

    def _started(self, text: str) -> None:
        self.message.emit(text)
        self.watch()

    def _failed(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, VmsError) else f"{type(exc).__name__}: {exc}"
        self.message.emit(f"Could not start the simulated site: {text}")

    def poll(self) -> None:
        if self._busy:
            return
        self._busy = True
        tasks.run(lambda: control.status(self.data_dir), self._polled, self._poll_failed)

    def _polled(self, status: dict[str, Any]) -> None:
        self._busy = False
        self.last_status = status
        self.status_changed.emit(status)

    def _poll_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.message.emit(str(exc) if isinstance(exc, VmsError) else repr(exc))

    def shutdown(self) -> None:
        self._timer.stop()
        if self.process is not None:
            self.process.stop()
            self.process = None
