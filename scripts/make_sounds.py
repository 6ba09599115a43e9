"""Regenerate resources/announcements/*.wav (espeak-ng) and resources/sounds/alert.wav.

The clips are committed; this script says how they were made. Announcements are
8 kHz mono 16-bit, what a Help Point's G.711 speaker plays, so nothing is
resampled during a call.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vms.audio.announcements import ANNOUNCEMENTS
from vms.audio.talk import load_pcm

ROOT = Path(__file__).resolve().parents[1] / "resources"


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype(np.int16).tobytes())


def main() -> None:
    exe = shutil.which("espeak-ng")
    if not exe:
        sys.exit("espeak-ng is missing (apt install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        for key, (_title, text) in ANNOUNCEMENTS.items():
            raw = Path(tmp) / f"{key}.wav"
            subprocess.run([exe, "-v", "en-gb", "-s", "150", "-w", str(raw), text], check=True)
            pcm = load_pcm(raw)
            peak = max(1, int(np.abs(pcm).max()))
            write_wav(ROOT / "announcements" / f"{key}.wav", pcm * (20000 / peak), 8000)
    # The alert: two rising tones, twice, 1.2 s; loud enough over a busy room, not shrill.
    rate = 22050
    t = np.arange(int(0.25 * rate)) / rate
    env = np.minimum(1, np.minimum(t / 0.01, (0.25 - t) / 0.05))
    tone = lambda f: 0.5 * np.sin(2 * np.pi * f * t) * env  # noqa: E731
    gap = np.zeros(int(0.05 * rate))
    seq = np.concatenate([tone(880), gap, tone(1175), np.zeros(int(0.3 * rate)), tone(880), gap,
                          tone(1175)])
    write_wav(ROOT / "sounds" / "alert.wav", seq * 20000, rate)


if __name__ == "__main__":
    main()
