"""Runs ``two_screens.py`` (a call arriving while the wall is on another screen) where it
needs to be: Qt's platform and screens are fixed once per process, and this one has a single
offscreen screen. So: an Xvfb of its own with two 1920x1080 screens, and a pytest of its own on
Qt's xcb platform inside it, sharing this session's encoded clips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def two_screens() -> Iterator[str]:
    """An X server with screens 0 and 1, each 1920x1080; its display name."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is not installed (scripts/setup.sh installs it)")
    read, write = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-nolisten", "tcp",
                             "-screen", "0", "1920x1080x24", "-screen", "1", "1920x1080x24"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as given:
            number = given.readline().strip()  # written once the server is ready
        if not number:
            pytest.fail(f"Xvfb with two screens did not start (exit {proc.poll()})")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.timeout(420)
def test_a_call_arriving_while_the_wall_is_on_another_screen(
        two_screens: str, clip_cache: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DISPLAY": two_screens, "QT_QPA_PLATFORM": "xcb",
           "VMS_TEST_CLIP_CACHE": str(clip_cache)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/journeys/two_screens.py", "-q",
         "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    said = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, said
    assert "1 passed" in run.stdout, said
