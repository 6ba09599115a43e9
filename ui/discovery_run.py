"""A WS-Discovery scan on the core loop, reported to the GUI thread as Qt signals."""

from __future__ import annotations

import concurrent.futures

from PySide6.QtCore import QObject, Signal

from vms.coreloop import core_loop
from vms.devices.commissioning import Commissioning
from vms.discovery.wsd import Scan
from vms.errors import VmsError


class DiscoveryRun(QObject):
    found = Signal(object)  # Sighting, as each device answers
    noted = Signal(str)  # what the scan dropped (junk replies, over the limits), before finished
    finished = Signal(int)  # how many answered
    failed = Signal(str)  # one plain sentence

    def start(self, svc: Commissioning, timeout: float, targets: list[str], multicast: bool,
              port: int) -> None:
        # on_found runs on the core loop thread; emitting queues it to this object's (GUI) thread.
        fut = core_loop().submit(svc.discover(timeout, targets, multicast, port, self.found.emit))
        fut.add_done_callback(self._done)

    def _done(self, fut: concurrent.futures.Future[Scan]) -> None:
        try:
            scan = fut.result()
            for note in scan.notes:
                self.noted.emit(note)
            self.finished.emit(len(scan))
        except VmsError as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            self.failed.emit(f"the network refused the scan: {exc.strerror or exc}")
