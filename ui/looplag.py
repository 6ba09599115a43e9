"""How late the GUI thread runs its timers: the number that says the screen keeps up.

A precise 10 ms timer notes how much later than due each tick arrives; anything the
GUI thread is busy with (a slot, a repaint, a blocking call) shows up as lag. Used by
the event-flood test and benchmark, and cheap enough to leave running.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer

INTERVAL_MS = 10


class LoopLag(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.samples_ms: list[float] = []
        self._last: float | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.samples_ms.clear()
        self._last = None
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.samples_ms.append(max(0.0, (now - self._last) * 1000 - INTERVAL_MS))
        self._last = now

    def percentile(self, p: float) -> float:
        """The p-th percentile of the lag in ms (nearest rank); 0 before any sample."""
        if not self.samples_ms:
            return 0.0
        s = sorted(self.samples_ms)
        return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]

    def summary(self) -> dict[str, float]:
        return {"samples": len(self.samples_ms), "p50_ms": round(self.percentile(50), 2),
                "p95_ms": round(self.percentile(95), 2), "p99_ms": round(self.percentile(99), 2),
                "max_ms": round(max(self.samples_ms, default=0.0), 2)}
