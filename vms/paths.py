"""Where a profile keeps its files.

Every command and the desktop run on one *profile*: a data directory chosen by
``--data-dir``, else ``VMS_DATA_DIR``, else the platform's user data directory.
Nothing may be written outside it, so that tests, scripts and a training room
can each run on a profile of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from vms.errors import ProfileError

ENV_VAR = "VMS_DATA_DIR"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the profile directory, created if needed."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    else:
        path = Path(platformdirs.user_data_dir("BeaconVMS", "Beacon", roaming=False))
    path = path.expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProfileError(f"cannot use data directory {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK):
        raise ProfileError(f"data directory {path} is not writable")
    return path


def sim_dir(data_dir: Path) -> Path:
    path = data_dir / "sim"
    path.mkdir(parents=True, exist_ok=True)
    return path
