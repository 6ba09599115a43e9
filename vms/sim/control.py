"""Client of a running simulator's control API, found through the profile's state file."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from vms.errors import SimNotRunning, VmsError
from vms.sim.site import STATE_FILE

TIMEOUT = 10.0


def read_state(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "sim" / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise SimNotRunning(f"no simulated site is running on profile {data_dir} "
                            "(start one with `vms sim`)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SimNotRunning(f"cannot read {path}: {exc}") from exc
    pid = int(state.get("pid", 0))
    if pid and not _alive(pid):
        raise SimNotRunning(f"the simulated site on profile {data_dir} has stopped "
                            f"(process {pid} is gone)")
    return state


def _alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate on Windows; the HTTP call decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def call(data_dir: Path, method: str, path: str, body: dict[str, Any] | None = None,
         timeout: float = TIMEOUT) -> dict[str, Any]:
    state = read_state(data_dir)
    url = state["control_url"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310 - loopback
        "X-Sim-Token": state["token"], "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            msg = json.loads(exc.read()).get("error", exc.reason)
        except (ValueError, OSError):
            msg = exc.reason
        raise VmsError(str(msg)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SimNotRunning(f"the simulated site does not answer at {state['control_url']} "
                            f"({reason})") from None


def status(data_dir: Path) -> dict[str, Any]:
    return call(data_dir, "GET", "/status")


def action(data_dir: Path, device: str, name: str, **body: Any) -> dict[str, Any]:
    return call(data_dir, "POST", f"/devices/{device}/{name}", body)
