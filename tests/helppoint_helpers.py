"""Helpers for Help Point tests: speech from espeak-ng, what the sim heard, correlation."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from tests.conftest import Sim
from vms.audio import g711
from vms.audio.talk import load_pcm

# Two Help Points as field devices behave (issue 29), for a simulated site file: one that can
# only push its events (no PullPoint), one that names its button's state "State".
FIELD_HELP_POINTS = """
[[device]]
name = "hp-push"
kind = "help_point"
location = "Station Approach"
deviations = ["no_pullpoint"]

[[device]]
name = "hp-state"
kind = "help_point"
location = "Town Hall Steps"
deviations = ["state_name"]
"""

def speech(tmp: Path, text: str = "Hello, this is the control room. Help is on the way.") -> np.ndarray:
    """Real synthesised speech at 8 kHz, standing in for the operator's microphone."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is missing: scripts/setup.sh installs it"
    out = tmp / "speech.wav"
    subprocess.run([exe, "-v", "en-gb", "-w", str(out), text], check=True, timeout=60)
    return load_pcm(out)


def heard(sim: Sim, device: str, before: set[Path] | None = None) -> np.ndarray:
    """What the simulated Help Point's speaker received in its newest talk session."""
    folder = sim.data_dir / "sim" / "backchannel" / device
    wavs = sorted(p for p in folder.glob("*.wav") if not before or p not in before)
    assert wavs, f"the Help Point recorded nothing in {folder}"
    with wave.open(str(wavs[-1])) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def recordings(sim: Sim, device: str) -> set[Path]:
    return set((sim.data_dir / "sim" / "backchannel" / device).glob("*.wav"))


def similarity(sent: np.ndarray, got: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of what was sent (through G.711) with what arrived."""
    ref = g711.decode(g711.encode(sent).tobytes()).astype(float)
    rec = got.astype(float)
    n = len(ref) + len(rec)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(ref, size)), size)
    lag = int(np.argmax(corr))
    lag = lag if lag < size // 2 else lag - size
    seg = rec[max(0, lag):max(0, lag) + len(ref)]
    r = ref[: len(seg)]
    denom = float(np.linalg.norm(seg) * np.linalg.norm(r)) or 1.0
    return float(np.dot(seg, r) / denom), lag


def found_in(piece: np.ndarray, loop: np.ndarray) -> float:
    """How well ``piece`` matches the best-aligned stretch of a repeating ``loop`` (0..1)."""
    ref = np.tile(loop.astype(float), 2)
    rec = piece.astype(float)
    size = 1 << (len(ref) + len(rec)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(ref, size) * np.conj(np.fft.rfft(rec, size)), size)
    lag = int(np.argmax(corr[: len(ref) - len(rec) + 1]))
    seg = ref[lag:lag + len(rec)]
    denom = float(np.linalg.norm(seg) * np.linalg.norm(rec)) or 1.0
    return float(np.dot(seg, rec) / denom)
