"""A real audio sink for the tests: a PulseAudio server of this test process's own, with one
null sink, the default output. What the desktop plays there can be recorded from the sink's
monitor (``parec``) and measured: the alert is tested by what comes out, not by a flag.

Started before anything in the process touches Qt Multimedia (it connects once and never
retries), so ``tests/conftest.py`` starts it at import and every Qt process the tests start
(desks, the desktop) inherits ``PULSE_SERVER``. Debian's ``pulseaudio`` and
``pulseaudio-utils`` (``scripts/setup.sh``); as root PulseAudio warns and runs.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SINK = "beacon_test"
RATE = 48000


class NullSink:
    def __init__(self, plugged: bool = True) -> None:
        """``plugged`` False: the server starts with no output at all (a desk whose headset
        is not plugged in) until ``plug``."""
        self.dir = Path(tempfile.mkdtemp(prefix="vms-test-pulse-"))
        socket = self.dir / "native"
        (self.dir / "default.pa").write_text(
            (f"load-module module-null-sink sink_name={SINK} rate={RATE} channels=2\n"
             f"set-default-sink {SINK}\n" if plugged else "")
            + f"load-module module-native-protocol-unix auth-anonymous=1 socket={socket}\n")
        self.server = f"unix:{socket}"
        self._monitor: Path | None = None
        env = {**os.environ, "HOME": str(self.dir), "XDG_RUNTIME_DIR": str(self.dir),
               "XDG_CONFIG_HOME": str(self.dir)}
        self.log = (self.dir / "pulseaudio.log").open("wb")
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(self.dir / "default.pa"), "--daemonize=no",
             "--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes",
             "--log-target=stderr"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        end = time.monotonic() + 15
        while subprocess.run(["pactl", "--server", self.server, "info"],
                             capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError("the test audio sink did not start: "
                                   + (self.dir / "pulseaudio.log").read_text(errors="replace"))
            time.sleep(0.1)

    def plug(self) -> None:
        """The output appears, as a headset plugged in mid-shift does."""
        for args in (["load-module", "module-null-sink", f"sink_name={SINK}", f"rate={RATE}",
                      "channels=2"], ["set-default-sink", SINK]):
            subprocess.run(["pactl", "--server", self.server, *args], check=True,
                           capture_output=True, timeout=15)

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """One recorder on the sink's monitor for the whole block. A recorder takes a second or
        two after it starts before samples flow, so it starts once, is waited for, and each
        ``recording`` is a slice of what it has written."""
        path = self.dir / f"monitor-{time.monotonic_ns()}.raw"
        with path.open("wb") as out:
            proc = subprocess.Popen(["parec", "--server", self.server, "-d", f"{SINK}.monitor",
                                     "--format=s16le", f"--rate={RATE}", "--channels=1",
                                     "--raw", "--latency-msec=20"],
                                    stdin=subprocess.DEVNULL, stdout=out)
        try:
            end = time.monotonic() + 20
            while path.stat().st_size < RATE // 5:  # 100 ms of samples: it is running
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("the recorder of the test audio sink did not start")
                time.sleep(0.05)
            self._monitor = path
            yield
        finally:
            self._monitor = None
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def recording(self) -> Iterator[Recording]:
        """What came out of the sink while the block ran (mono, 16-bit), inside ``listening``."""
        path = self._monitor
        assert path is not None, "record inside NullSink.listening()"
        rec = Recording()
        begin = path.stat().st_size
        yield rec
        time.sleep(0.1)  # the recorder's last 20 ms packets
        size = path.stat().st_size
        with path.open("rb") as f:
            f.seek(begin - begin % 2)
            data = f.read(size - begin - (size - begin) % 2)
        rec.samples = np.frombuffer(data, dtype=np.int16).astype(np.float64)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Recording:
    samples: np.ndarray = np.zeros(0)

    def seconds(self) -> float:
        return len(self.samples) / RATE

    def loudness(self) -> float:
        """How loud the sound was: see ``level``."""
        return level(self.samples, RATE)


def level(samples: np.ndarray, rate: int) -> float:
    """The RMS (full scale 32768) of a 100 ms window, taken as the 75th percentile of the
    windows that are not silent: the alert beeps with gaps, and one window at a transition
    (a stream starting, an old buffer draining) does not decide it. 0 for silence."""
    win = rate // 10
    n = len(samples) // win
    if n == 0:
        return 0.0
    rms = np.sqrt((samples[:n * win].reshape(n, win) ** 2).mean(axis=1))
    sounding = rms[rms > max(30.0, rms.max() * 0.05)]
    return float(np.percentile(sounding, 75)) if len(sounding) else 0.0


def wav_loudness(path: Path) -> float:
    """The same measure for a 16-bit mono WAV file (what the alert is at full volume)."""
    import wave

    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
    return level(samples, rate)


def _die_with_parent() -> None:
    """In the child before it runs: a SIGKILLed test run takes its audio server with it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_sink: NullSink | None = None
_why_not = "PulseAudio is not installed (scripts/setup.sh installs pulseaudio and " \
    "pulseaudio-utils)"


def start_for_tests() -> None:
    """Once per test process, where PulseAudio is installed and no server was named. A sink
    that fails to start fails the tests that listen to it, not the whole run."""
    global _sink, _why_not
    if _sink is not None or "PULSE_SERVER" in os.environ:
        return
    if not (shutil.which("pulseaudio") and shutil.which("parec")):
        return
    try:
        # VMS_TEST_AUDIO=unplugged: a server with no output yet (tests/journeys/no_sound.py)
        _sink = NullSink(plugged=os.environ.get("VMS_TEST_AUDIO") != "unplugged")
    except (OSError, RuntimeError) as exc:
        _why_not = f"the test audio sink did not start: {exc}"
        return
    os.environ["PULSE_SERVER"] = _sink.server
    atexit.register(_sink.stop)


def sink() -> NullSink:
    """The sink, or the test fails saying why there is none."""
    if _sink is None:
        import pytest

        pytest.fail(f"no audio sink to record from: {_why_not}")
    return _sink
