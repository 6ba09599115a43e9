"""Shared fixtures: a real ``vms sim`` in a subprocess, on loopback, on its own profile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VMS_SHARED_DIR", REPO.parent / "shared"))
USER, PASSWORD = "admin", "beacon-sim"


def shared_path(rel: str) -> Path:
    """A file from ../shared; skip where it is absent, fail in CI (VMS_REQUIRE_SHARED=1)."""
    path = SHARED / rel
    if not path.exists():
        msg = f"shared data {path} is missing"
        if os.environ.get("VMS_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " (VMS_REQUIRE_SHARED=1)")
        pytest.skip(msg)
    return path


def vms_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "vms", *args]


@dataclass
class Sim:
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def state(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "sim" / "site.json").read_text())

    def device(self, name: str) -> dict[str, Any]:
        return next(d for d in self.state()["devices"] if d["name"] == name)

    def live(self, name: str) -> dict[str, Any]:
        """A device's current state, from the running simulator's status API."""
        st = json.loads(self.cli("status", "--json").stdout)
        return next(d for d in st["devices"] if d["name"] == name)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(vms_cmd("--data-dir", str(self.data_dir), "sim", *args),
                             capture_output=True, text=True, timeout=60)
        if check and res.returncode != 0:
            raise AssertionError(f"vms sim {' '.join(args)} failed: {res.stderr}")
        return res

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text(errors="replace")


def start_sim(data_dir: Path, clip_cache: Path, *extra: str, env: dict[str, str] | None = None,
              wait: float = 600.0) -> Sim:
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-sim.log"
    args = vms_cmd("--data-dir", str(data_dir), "sim", "--base-port", "0", "--rtsp-base-port", "0",
                   "--control-port", "0", "--discovery-port", "0", "--clip-cache", str(clip_cache),
                   *extra)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    sim = Sim(data_dir, proc, log)
    deadline = time.monotonic() + wait
    state = data_dir / "sim" / "site.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"vms sim exited with {proc.returncode}:\n{log.read_text()}")
        if state.exists():
            try:
                if json.loads(state.read_text()).get("ready"):
                    return sim
            except json.JSONDecodeError:
                pass
        time.sleep(0.2)
    sim.stop()
    raise AssertionError(f"vms sim was not ready within {wait:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clips are encoded once per test session and shared by every simulator started in it."""
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    """The default site (4 cameras, 2 Help Points, 2 PID cameras), shared by the session."""
    s = start_sim(tmp_path_factory.mktemp("profile") / "data", clip_cache)
    yield s
    s.stop()
