"""Runs ``no_sound.py`` (a desk with no sound output says so) in a process whose sound server
is not there: Qt reads the sound devices once per process, and this one has the test sink
(``tests/journeys/inner.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.journeys import inner


@pytest.mark.timeout(200)
def test_a_desk_with_no_sound_output_says_so(tmp_path: Path, clip_cache: Path) -> None:
    inner.run("no_sound.py", tmp_path, clip_cache, timeout=180,
              PULSE_SERVER=f"unix:{tmp_path / 'no-sound-server-here'}")
