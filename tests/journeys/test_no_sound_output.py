"""Runs ``no_sound.py`` (a desk with no sound output says so, and rings once it has one) in
a process whose sound server starts with no output: Qt connects to the sound server once per
process, and this one's has an output (``tests/journeys/inner.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import audio_sink
from tests.journeys import inner


@pytest.mark.timeout(300)
def test_a_desk_with_no_sound_output_says_so(tmp_path: Path, clip_cache: Path) -> None:
    audio_sink.sink()  # PulseAudio is here (else it fails saying so, not in the inner run)
    inner.run("no_sound.py", tmp_path, clip_cache, timeout=280, drop=("PULSE_SERVER",),
              VMS_TEST_AUDIO="unplugged")
