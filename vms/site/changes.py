"""Changes pushed from the site database: ``LISTEN`` on its own connection, in a thread.

PostgreSQL delivers a notification at its sender's commit and keeps nothing for a listener
that is not connected, so a notification carries an id only (the listener re-reads the
row), and after a lost connection the listener says so, reconnects with a growing pause,
and asks its owner to re-read everything it shows (``on_reconnect``). Nothing here polls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import psycopg

from vms.errors import SiteUnavailable
from vms.site.database import SiteDatabase, unreachable

log = logging.getLogger(__name__)

CONNECTED, RECONNECTING = "connected", "reconnecting"


class ChangeListener:
    """Calls ``on_change(channel, payload)`` for every notification on ``channels``, and
    ``on_state(CONNECTED | RECONNECTING, words)`` as the connection comes and goes. All
    callbacks run on the listener's thread."""

    def __init__(self, db: SiteDatabase, channels: Sequence[str],
                 on_change: Callable[[str, str], None],
                 on_reconnect: Callable[[], None] | None = None,
                 on_state: Callable[[str, str], None] | None = None) -> None:
        self.db = db
        self.channels = list(channels)
        self.on_change = on_change
        self.on_reconnect = on_reconnect
        self.on_state = on_state
        self.state = RECONNECTING
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vms-site-changes", daemon=True)

    def start(self, timeout: float = 10.0) -> ChangeListener:
        """Start, and wait until it listens (a change made after this returns is heard)."""
        self._thread.start()
        if not self._ready.wait(timeout):
            log.warning("the site database's notifications are not heard yet; still trying")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _set(self, state: str, words: str) -> None:
        self.state = state
        if self.on_state is not None:
            self.on_state(state, words)

    def _run(self) -> None:
        pause, lost = 0.5, False
        while not self._stop.is_set():
            try:
                conn = self.db.connect()
            except SiteUnavailable as exc:
                lost = True  # started while it was away: read everything once it answers
                self._set(RECONNECTING, str(exc))
                self._stop.wait(pause)
                pause = min(pause * 2, 5.0)
                continue
            try:
                with conn:
                    for ch in self.channels:
                        conn.execute(psycopg.sql.SQL("LISTEN {}").format(
                            psycopg.sql.Identifier(ch)))
                    pause = 0.5
                    self._set(CONNECTED, f"connected to {self.db.address}")
                    self._ready.set()
                    if lost and self.on_reconnect is not None:
                        self._deliver_reconnect()  # what was sent while we were away is gone
                    while not self._stop.is_set():
                        for n in conn.notifies(timeout=1.0):
                            self._deliver(n.channel, n.payload)
                            if self._stop.is_set():
                                break
            except psycopg.Error as exc:
                lost = True
                self._set(RECONNECTING, str(unreachable(self.db.address, exc)))
                self._stop.wait(pause)

    def _deliver_reconnect(self) -> None:
        try:
            self.on_reconnect()  # type: ignore[misc]
        except Exception:
            log.exception("re-reading after the site database came back failed")

    def _deliver(self, channel: str, payload: str) -> None:
        try:
            self.on_change(channel, payload)
        except Exception:  # one bad handler must not stop every later change
            log.exception("handling a change on %s (%s) failed", channel, payload)
