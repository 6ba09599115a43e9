"""Live sources of a simulated device, shared by all its viewers.

A source ticks only while someone watches. Each tick picks the frame of the loop
that matches the device's wall clock (so the burned-in clock is right), and
sends its pre-packetized payloads to every sink with the sink's own sequence
numbers. RTP timestamps run from the monotonic clock, as a camera's do; RTCP
sender reports map them to the device's (possibly skewed) wall clock.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable

from vms.sim.media.clips import AUDIO_RATE, Clip
from vms.sim.media.rtp import h264_payloads, rtcp_sender_report, rtp_packet

SR_INTERVAL = 2.0
VIDEO_PT = 96
PCMU_PT = 0
AUDIO_PACKET_SAMPLES = 160  # 20 ms
RESYNC_PACKETS = 25  # half a second off the device clock: it jumped


class RtpSink:
    """One viewer's track: its SSRC, sequence numbers and where its packets go."""

    def __init__(self, send_rtp: Callable[[bytes], None], send_rtcp: Callable[[bytes], None],
                 clock_rate: int, cname: str) -> None:
        self.send_rtp = send_rtp
        self.send_rtcp = send_rtcp
        self.clock_rate = clock_rate
        self.cname = cname
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(15)
        self.ts_base = random.getrandbits(31)
        self.packets = 0
        self.octets = 0
        self.waiting_key = True
        self.last_sr = -math.inf

    def rtp_ts(self, mono: float, t0: float) -> int:
        return (self.ts_base + round((mono - t0) * self.clock_rate)) & 0xFFFFFFFF

    def send(self, pt: int, ts: int, marker: bool, payload: bytes) -> None:
        self.send_rtp(rtp_packet(pt, self.seq, ts, self.ssrc, marker, payload))
        self.seq = (self.seq + 1) & 0xFFFF
        self.packets += 1
        self.octets += len(payload)

    def maybe_report(self, mono: float, t0: float, device_now: Callable[[], float]) -> None:
        if mono - self.last_sr < SR_INTERVAL:
            return
        self.last_sr = mono
        wall = device_now() - (time.monotonic() - mono)
        self.send_rtcp(rtcp_sender_report(self.ssrc, wall, self.rtp_ts(mono, t0), self.packets,
                                          self.octets, self.cname))


class _Source:
    period: float
    clock_rate: int

    def __init__(self, device_now: Callable[[], float], t0: float) -> None:
        self.device_now = device_now
        self.t0 = t0
        self.sinks: set[RtpSink] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, sink: RtpSink) -> None:
        self.sinks.add(sink)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, sink: RtpSink) -> None:
        self.sinks.discard(sink)

    def stop(self) -> None:
        self.sinks.clear()
        if self._task:
            self._task.cancel()

    async def _run(self) -> None:
        next_tick = time.monotonic()
        while self.sinks:
            self.tick(next_tick)
            next_tick += self.period
            delay = next_tick - time.monotonic()
            if delay < -1.0:  # fell far behind (suspended): resynchronise
                next_tick = time.monotonic() + self.period
                delay = self.period
            await asyncio.sleep(max(0.0, delay))

    def tick(self, mono: float) -> None:
        raise NotImplementedError


class VideoSource(_Source):
    clock_rate = 90000

    def __init__(self, clip: Clip, device_now: Callable[[], float], t0: float) -> None:
        super().__init__(device_now, t0)
        self.clip = clip
        self.fps = clip.spec.fps
        self.period = 1.0 / self.fps
        self.payloads = [h264_payloads(f) for f in clip.frames]
        self._last = -1
        self.frames_sent = 0  # summed over viewers: what benchmarks compare frames shown with

    def frame_index(self) -> int:
        return int(self.device_now() * self.fps + 0.5)

    def tick(self, mono: float) -> None:
        n = self.frame_index()
        if n == self._last:
            return
        jumped = self._last >= 0 and n != self._last + 1
        self._last = n
        i = n % len(self.payloads)
        key = self.clip.keyframes[i]
        for sink in list(self.sinks):
            if jumped:
                sink.waiting_key = True  # the clock moved: never send a broken P-frame chain
            if sink.waiting_key and not key:
                continue
            sink.waiting_key = False
            sink.maybe_report(mono, self.t0, self.device_now)
            ts = sink.rtp_ts(mono, self.t0)
            chunks = self.payloads[i]
            for k, payload in enumerate(chunks):
                sink.send(VIDEO_PT, ts, k == len(chunks) - 1, payload)
            self.frames_sent += 1


class AudioSource(_Source):
    clock_rate = AUDIO_RATE
    period = AUDIO_PACKET_SAMPLES / AUDIO_RATE

    def __init__(self, mulaw: bytes, device_now: Callable[[], float], t0: float) -> None:
        super().__init__(device_now, t0)
        self.mulaw = mulaw
        self._n: int | None = None

    def tick(self, mono: float) -> None:
        # A microphone never skips or repeats: a tick that runs late (a busy loop) still
        # sends the 20 ms that belong to its scheduled time, so catching up sends the
        # missed packets in order. Only a clock jump (``sim skew``) re-aligns the loop.
        due = (self.device_now() - (time.monotonic() - mono)) * AUDIO_RATE / AUDIO_PACKET_SAMPLES
        n = self._n + 1 if self._n is not None else round(due)
        if abs(n - due) > RESYNC_PACKETS:
            n = round(due)
        self._n = n
        off = (n * AUDIO_PACKET_SAMPLES) % len(self.mulaw)
        chunk = self.mulaw[off:off + AUDIO_PACKET_SAMPLES]
        for sink in list(self.sinks):
            sink.maybe_report(mono, self.t0, self.device_now)
            sink.send(PCMU_PT, sink.rtp_ts(mono, self.t0), sink.waiting_key, chunk)
            sink.waiting_key = False
