"""The one asyncio loop thread owned by the core.

ONVIF clients (onvif-zeep-async, aiohttp) are asyncio objects bound to the loop
that made them. The desktop must never block its GUI thread on the network, and
the CLI wants plain blocking calls; both hand coroutines to this loop and get a
``concurrent.futures.Future`` back (the Anki "background operation" shape).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class CoreLoop:
    def __init__(self, name: str = "vms-core-loop") -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the core loop; never blocks the caller."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` and wait for it (for the CLI and worker threads, never the GUI thread)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("CoreLoop.call() from the loop thread would deadlock")
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        if not self._loop.is_running():
            return

        async def _drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        # shutting down: a task that will not finish in 5 s is abandoned with the loop
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            self.submit(_drain()).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


_shared: CoreLoop | None = None
_lock = threading.Lock()


def core_loop() -> CoreLoop:
    """The process-wide core loop, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = CoreLoop()
        return _shared
