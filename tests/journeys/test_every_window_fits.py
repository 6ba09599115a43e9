"""Every window fits a 1920x1080 control-room monitor and a 1366x768 laptop (issue 23: several
dialogs opened partly off-screen; the incident pane's Close was below the bottom edge).

Qt's screen is fixed for the life of a process, so ``windows_on_screen.py`` (which opens each
window as people do and checks its geometry against the screen) runs once per screen size, in
a process of its own with Qt's offscreen platform set to that screen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)])
def test_every_window_fits_the_screen(width: int, height: int, tmp_path: Path) -> None:
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{
        "name": f"screen-{width}x{height}", "x": 0, "y": 0, "width": width, "height": height,
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screen}"}
    res = subprocess.run([sys.executable, "-m", "pytest", str(HERE / "windows_on_screen.py"),
                          "-q", "-p", "no:cacheprovider", "-s", "--basetemp",
                          str(tmp_path / "run")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=840)
    tail = res.stdout[-6000:]
    assert res.returncode == 0, tail
    assert "1 passed" in tail and "checked: main window" in tail, tail
