"""Where a profile's site service is: its lock (held while it runs, freed by the OS if it
dies) and its address file (port, token, pid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import filelock


def lock_path(data_dir: Path) -> Path:
    return data_dir / "locks" / "site-service.lock"


def address_path(data_dir: Path) -> Path:
    """Where a running service says how to reach it (port, token, pid); readable by the
    profile's owner only, like the databases beside it."""
    return data_dir / "site-service.json"


def running(data_dir: Path) -> dict[str, Any] | None:
    """The running service's address, or None when no process holds the service lock."""
    path = lock_path(data_dir)
    if not path.exists():
        return None
    probe = filelock.FileLock(path, thread_local=False)
    try:
        probe.acquire(timeout=0)
    except filelock.Timeout:
        try:
            return dict(json.loads(address_path(data_dir).read_text()))
        except (OSError, ValueError):
            return {}  # starting: the lock is taken, the address not written yet
    probe.release()
    return None
