"""Start a simulated site as a child process and wait until it is ready.

The desktop (``vms-desktop --sim``) and the tests run the simulator in its own
process, as real cameras are separate machines: its CPU is not the GUI's, and
killing it is a realistic "site went away".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from vms.errors import VmsError
from vms.paths import sim_dir
from vms.sim.site import STATE_FILE

EPHEMERAL = ("--base-port", "0", "--rtsp-base-port", "0", "--control-port", "0",
             "--discovery-port", "0")


class SimProcess:
    def __init__(self, data_dir: Path, *args: str, clip_cache: Path | None = None,
                 env: dict[str, str] | None = None, log_path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        if clip_cache is not None:
            self.args += ["--clip-cache", str(clip_cache)]
        self.env = env
        self.log_path = log_path or (sim_dir(data_dir) / "sim.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def state_file(self) -> Path:
        return self.data_dir / "sim" / STATE_FILE

    def start(self) -> None:
        cmd = [sys.executable, "-m", "vms", "--data-dir", str(self.data_dir), "sim", *self.args]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if os.name == "nt" else 0  # type: ignore[attr-defined]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, creationflags=flags)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 600.0) -> dict[str, Any]:
        assert self.proc is not None, "call start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_text().strip().splitlines()[-3:]
                raise VmsError(f"the simulated site stopped (exit {self.proc.returncode}): "
                               + " | ".join(tail))
            try:
                state = json.loads(self.state_file.read_text())
                if state.get("ready") and state.get("pid") == self.proc.pid:
                    return state
            except (OSError, json.JSONDecodeError):
                pass  # not written yet, or half written: read it again shortly
            time.sleep(0.2)
        raise VmsError(f"the simulated site was not ready within {timeout:.0f} s")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if os.name == "nt":
                self.proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
            else:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
