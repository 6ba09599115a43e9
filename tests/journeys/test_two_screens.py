"""Runs ``two_screens.py`` (a call arriving while the wall is on another screen) where it
needs to be: an Xvfb of its own with two 1920x1080 screens, and a pytest of its own on Qt's
xcb platform inside it (``tests/journeys/inner.py``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys import inner


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
    inner.run("two_screens.py", tmp_path, clip_cache, DISPLAY=two_screens,
              QT_QPA_PLATFORM="xcb")
