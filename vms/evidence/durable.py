"""Putting a package on disk before it is called complete.

A package is renamed into place only once every file and folder in it has been flushed to
the disk, and the rename itself is flushed after: after a power cut the exhibit is either
whole or absent, never a folder with the right names and empty or torn files. A full disk
that the page cache hid (delayed allocation) surfaces here, as a failed export.

Big files are flushed in the background as they are finished (the working copy as it
grows), so the disk writes while the export is still hashing and remuxing, and the final
flush has little left to do.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path


def flush_file(path: Path) -> None:
    # Opened for writing: Windows flushes only handles with write access.
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_folder(path: Path) -> None:
    """Makes the folder's entries (new files, a rename) durable. POSIX only: Windows has
    no handle to flush a folder with, and NTFS journals its metadata itself."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Flusher:
    """Used as a context manager: leaving it waits for any flush still running, so no
    flush holds a file open while a failed export's folder is removed."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-flush")
        self._queued: dict[Path, Future[None]] = {}
        # Every flush, not just the latest per file: an fsync failure is reported once (the
        # kernel then forgets it), so a later flush of the same file may pass.
        self._all: list[Future[None]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Flusher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def soon(self, path: Path) -> None:
        """Flush ``path`` in the background. A flush already waiting covers a file that
        grew since it was asked for; one already running may not, so another is queued."""
        with self._lock:
            waiting = self._queued.get(path)
            if waiting is not None and not waiting.running() and not waiting.done():
                return
            fut = self._pool.submit(flush_file, path)
            self._queued[path] = fut
            self._all.append(fut)

    def finish(self, root: Path) -> None:
        """Wait for the background flushes, then flush every file and folder under ``root``
        (deepest first, the root last). The first failure (``OSError``) is raised."""
        for fut in self._all:
            fut.result()
        folders: list[Path] = []
        for here, _dirs, files in os.walk(root):
            folders.append(Path(here))
            for name in files:
                flush_file(Path(here) / name)
        for folder in reversed(folders):
            flush_folder(folder)
