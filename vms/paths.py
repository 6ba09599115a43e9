"""Where a profile keeps its files.

Every command and the desktop run on one *profile*: a data directory chosen by
``--data-dir``, else ``VMS_DATA_DIR``, else the platform's user data directory.
Nothing may be written outside it, so that tests, scripts and a training room
can each run on a profile of their own.
"""

from __future__ import annotations

import os
import uuid
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


def profile_key(data_dir: Path) -> str:
    """This profile's identity (made once, kept in the profile): what tells one profile's
    records on a site from another's (its audit checkpoints; the profile whose device ids the
    site's first calls used)."""
    path = data_dir / "site-profile-id"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = uuid.uuid4().hex
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key, encoding="ascii")
        try:
            os.link(tmp, path)  # two processes making it at once: the first one wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return path.read_text(encoding="ascii").strip()
