"""Listening to a caller: the device's microphone track, decoded on its own thread.

Only the audio track is set up (FFmpeg's ``allowed_media_types``), so listening costs
the device one small extra session, not a second video stream. Samples are kept as
16-bit PCM at the rate the speaker wants, in a buffer capped at ``MAX_BUFFER_S`` so a
stalled speaker never builds up delay; levels (dBFS per 20 ms) are kept for the meter.
The GUI drains both from its own timer: nothing here touches a widget. The thread, its
reconnects and its state words are the one stream worker's (``vms.media.worker``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any

import av
import numpy as np

from vms.audio import g711
from vms.devices.live import LiveStream
from vms.errors import StreamUnavailable
from vms.media.worker import StreamState, StreamWorker
from vms.retry import Backoff
from vms.safety.streamsafe import ffmpeg_options

# The worker's words, by the names the listen box reads
CONNECTING, LIVE, RETRYING, OFFLINE, NO_AUDIO, STOPPED = (
    StreamState.CONNECTING, StreamState.LIVE, StreamState.RETRYING, StreamState.OFFLINE,
    StreamState.UNAVAILABLE, StreamState.STOPPED)
MAX_BUFFER_S = 0.5
LEVEL_BLOCK = g711.RATE // 50  # 20 ms
SILENCE_DBFS = -90.0
OPEN_TIMEOUT_S, READ_TIMEOUT_S = 8.0, 5.0


def dbfs(block: np.ndarray) -> float:
    """RMS level of int16 samples relative to full scale."""
    if not len(block):
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(block.astype(np.float64) ** 2)))
    return max(SILENCE_DBFS, 20 * math.log10(rms / 32768)) if rms > 0 else SILENCE_DBFS


class ListenFeed(StreamWorker):
    """One device's microphone, from ``start`` until ``stop``; reconnects by itself."""

    thread_name = "listen"
    ended = "the device closed the audio stream"
    what = "audio stream"

    def __init__(self, stream: LiveStream, rate: int = g711.RATE, channels: int = 1) -> None:
        super().__init__(stream.name, Backoff(first=1.0, cap=15.0))
        self.stream = stream
        self.rate, self.channels = rate, channels
        self.levels: deque[tuple[float, float]] = deque(maxlen=1000)  # (monotonic, dBFS)
        self.received_samples = 0  # at 8 kHz, as the device sent them
        self.tap: list[np.ndarray] | None = None  # tests: keep the 8 kHz samples
        self._pcm = bytearray()
        self._lock = threading.Lock()
        self._rest = np.zeros(0, np.int16)

    @property
    def state(self) -> StreamState:
        return self.status.state

    @property
    def reason(self) -> str:
        return self.status.reason

    def take(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of PCM for the speaker (any thread)."""
        with self._lock:
            n = min(limit - limit % (2 * self.channels), len(self._pcm))
            out = bytes(self._pcm[:n])
            del self._pcm[:n]
        return out

    # -- the worker thread ----------------------------------------------------------------
    def _session(self) -> None:
        options = ffmpeg_options(rtsp_transport="tcp", allowed_media_types="audio",
                                 analyzeduration="100000", probesize="32768", fflags="nobuffer")
        container: Any = av.open(self.stream.url_with_credentials(), options=options,
                                 timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        try:
            if not container.streams.audio:
                raise StreamUnavailable(
                    f"{self.stream.name} sends no audio (it has no microphone track)")
            audio = container.streams.audio[0]
            to_8k = av.AudioResampler(format="s16", layout="mono", rate=g711.RATE)
            same = (self.rate, self.channels) == (g711.RATE, 1)  # the speaker takes it as is
            to_out = None if same else av.AudioResampler(
                format="s16", layout="mono" if self.channels == 1 else "stereo", rate=self.rate)
            for frame in container.decode(audio):
                if self._stop.is_set():
                    return
                self._went_live()
                for f in to_8k.resample(frame):
                    pcm = f.to_ndarray().reshape(-1).astype(np.int16)
                    self._measure(pcm)
                    if to_out is None:
                        self._keep(pcm.tobytes())
                for f in to_out.resample(frame) if to_out is not None else ():
                    self._keep(f.to_ndarray().tobytes())
        finally:
            container.close()

    def _measure(self, pcm: np.ndarray) -> None:
        self.received_samples += len(pcm)
        if self.tap is not None:
            self.tap.append(pcm)
        data = np.concatenate([self._rest, pcm])
        whole = len(data) - len(data) % LEVEL_BLOCK
        now = time.monotonic()
        for i in range(0, whole, LEVEL_BLOCK):
            self.levels.append((now, dbfs(data[i:i + LEVEL_BLOCK])))
        self._rest = data[whole:]

    def _keep(self, data: bytes) -> None:
        cap = int(MAX_BUFFER_S * self.rate) * 2 * self.channels
        with self._lock:
            self._pcm += data
            if len(self._pcm) > cap:  # the speaker is not keeping up: drop the oldest
                del self._pcm[:len(self._pcm) - cap]
