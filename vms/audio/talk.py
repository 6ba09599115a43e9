"""Talking to a caller: a backchannel per call, fed from a microphone or a clip.

``Talk.open`` checks the right to talk, reads the device password from the keyring
and starts opening the channel on the core loop at once (some devices take
seconds), so it is ready by the time the operator speaks. Audio pushed from any
thread is cut into 20 ms packets and paced in real time on the core loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from vms.access.roles import Permission
from vms.access.session import Session
from vms.audio import g711
from vms.audio.rtsp_talk import PACKET_SAMPLES, TalkChannel
from vms.coreloop import core_loop
from vms.devices.gate import DeviceGate
from vms.errors import ConfigError, DeviceError, VmsError
from vms.profile import Profile

OPENING, READY, FAILED, CLOSED = "opening", "ready", "failed", "closed"


def load_pcm(path: Path) -> np.ndarray:
    """Any audio file FFmpeg reads -> 8 kHz mono int16 (announcements, test speech)."""
    try:
        with av.open(str(path)) as c:
            stream = c.streams.audio[0]
            rs = av.AudioResampler(format="s16", layout="mono", rate=g711.RATE)
            out = []
            for frame in c.decode(stream):
                for f in rs.resample(frame):
                    out.append(f.to_ndarray().reshape(-1))
            for f in rs.resample(None):
                out.append(f.to_ndarray().reshape(-1))
    except (OSError, IndexError, av.FFmpegError) as exc:
        raise ConfigError(f"cannot read audio from {path.name}: {exc}") from exc
    return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)


class TalkHandle:
    """One open (or opening) talk channel for one call."""

    def __init__(self, channel: TalkChannel, device: str, on_state: Callable[[str, str], None]
                 | None = None) -> None:
        self.channel = channel
        self.device = device
        self.state = OPENING
        self.reason = ""
        self.on_state = on_state
        self.samples_sent = 0
        self.opened_in_s: float | None = None
        self._loop = core_loop().loop
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._rest = b""
        self._sender: asyncio.Task[None] | None = None
        self._opening: asyncio.Task[object] | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.released: Callable[[], None] | None = None  # gives the site's talk lock back

    def _set(self, state: str, reason: str = "") -> None:
        self.state, self.reason = state, reason
        if self.on_state:
            self.on_state(state, reason)

    async def _open(self) -> None:
        self._opening = asyncio.current_task()
        t0 = time.monotonic()
        try:
            await self.channel.open()
        except (VmsError, OSError) as exc:
            await self.channel.close()
            self._set(FAILED, str(exc))
            return
        self.opened_in_s = time.monotonic() - t0
        self._sender = asyncio.get_running_loop().create_task(self._send())
        self._set(READY)

    async def _send(self) -> None:
        next_t: float | None = None
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                return
            now = time.monotonic()
            if next_t is None or now > next_t + 0.1:  # a pause: restart the clock
                if next_t is not None:
                    self.channel.skip(int((now - next_t) * g711.RATE))
                next_t = now
            try:
                self.channel.send(chunk)
                await self.channel.drain()
            except (DeviceError, OSError) as exc:
                self._set(FAILED, f"the talk channel dropped: {exc}")
                return
            self.samples_sent += len(chunk)
            next_t += len(chunk) / g711.RATE
            if self._queue.empty():
                self._idle.set()
            delay = next_t - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    # -- any thread --------------------------------------------------------------------
    def push(self, pcm: np.ndarray) -> None:
        """Queue int16 8 kHz samples to be said; ignored unless the channel is ready."""
        if self.state != READY:
            return
        data = g711.encode(pcm).tobytes()
        self._idle.clear()
        self._loop.call_soon_threadsafe(self._enqueue, data)

    def _enqueue(self, data: bytes) -> None:
        data = self._rest + data
        whole = len(data) - len(data) % PACKET_SAMPLES
        for i in range(0, whole, PACKET_SAMPLES):
            self._queue.put_nowait(data[i:i + PACKET_SAMPLES])
        self._rest = data[whole:]
        if self._queue.empty():
            self._idle.set()

    def wait_sent(self, timeout: float) -> bool:
        """Block (never on the GUI thread) until everything queued has gone out."""
        return self._idle.wait(timeout)

    def close(self) -> concurrent.futures.Future[None]:
        async def _close() -> None:
            if self._opening is not None and not self._opening.done():
                self._opening.cancel()  # closed while still opening: never leave it open
                await asyncio.gather(self._opening, return_exceptions=True)
            self._queue.put_nowait(None)
            if self._sender is not None:
                await asyncio.gather(self._sender, return_exceptions=True)
            await self.channel.close()
            if self.released is not None:
                await asyncio.to_thread(self.released)
                self.released = None
            self._set(CLOSED)
        return core_loop().submit(_close())


class Floor(Protocol):
    """Who may talk to a caller across a site (``vms.site.talk_floor.TalkFloor``)."""

    def take(self, device_id: int, user: str) -> None: ...

    def give_back(self, device_id: int) -> None: ...


class Talk:
    def __init__(self, profile: Profile, session: Session, floor: Floor | None = None) -> None:
        """``floor``: on a control room's site, one operator talks to a caller at a time."""
        self.profile = profile
        self.session = session
        self.gate = DeviceGate(profile, session)
        self.floor = floor

    def open(self, device_id: int, on_state: Callable[[str, str], None] | None = None,
             incident: int | None = None) -> TalkHandle:
        """Check, audit and start opening; returns at once with the handle in OPENING."""
        gate = self.gate
        row = gate.allowed(device_id, Permission.TALK, "talk.open")
        stream = next((s for s in row.streams if s.backchannel), None) or row.stream("main")
        if stream is None or not stream.uri:
            raise DeviceError(f"{row.name} has no stream to talk on")
        user, password = gate.login(row)
        if self.floor is not None:
            self.floor.take(device_id, self.session.user)  # or who is talking, in words
        gate.done("talk.open", row, {"incident": incident})
        channel = TalkChannel(stream.uri, user, password, allow_basic=row.allow_basic_rtsp)
        handle = TalkHandle(channel, row.name, on_state)
        if self.floor is not None:
            floor = self.floor
            handle.released = lambda: floor.give_back(device_id)
        core_loop().submit(handle._open())
        return handle
