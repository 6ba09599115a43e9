"""A journey that needs a process of its own: Qt fixes its platform and screens, and its
connection to the sound server, once per process, and this test process has one offscreen
screen and a sound server with an output.
``run`` runs one journey file (named without ``test_``, so it is not collected by itself) in
a pytest of its own with the environment changed, sharing this session's encoded clips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(journey: str, tmp_path: Path, clip_cache: Path, timeout: float = 400,
        drop: tuple[str, ...] = (), **env: str) -> None:
    """Run ``tests/journeys/<journey>`` with ``env`` added and the variables in ``drop``
    removed; fail with its output unless its one test passed."""
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update(env, VMS_TEST_CLIP_CACHE=str(clip_cache))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"tests/journeys/{journey}", "-q",
         "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner")],
        cwd=REPO, env=full, capture_output=True, text=True, timeout=timeout)
    said = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, said
    assert "1 passed" in done.stdout, said
