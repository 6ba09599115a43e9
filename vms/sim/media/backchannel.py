"""What an operator says to a Help Point: saved per device as WAV, with arrival times.

The ONVIF backchannel delivers G.711 mu-law RTP. We decode it to 16-bit PCM in a
WAV file and log every packet's arrival (host UTC), sequence number and RTP
timestamp beside it in CSV, so tests can check what arrived and when.
"""

from __future__ import annotations

import csv
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from vms.audio import g711
from vms.sim.media.clips import AUDIO_RATE
from vms.sim.media.rtp import parse_rtp

PCMU_PT = 0


class BackchannelRecorder:
    def __init__(self, directory: Path, device: str, session: str) -> None:
        self.directory = directory / device
        self.device = device
        self.session = session
        self.packets = 0
        self.rejected = 0
        self._wav: wave.Wave_write | None = None
        self._csv_fh: TextIO | None = None
        self._csv: csv.writer | None = None  # type: ignore[valid-type]
        self.path: Path | None = None

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.path = self.directory / f"{stamp}-{self.session}.wav"
        self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(AUDIO_RATE)
        self._csv_fh = open(self.path.with_suffix(".csv"), "w", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._csv_fh)
        self._csv.writerow(["arrival_utc", "arrival_posix", "seq", "rtp_timestamp", "samples"])

    def on_rtp(self, data: bytes, arrival: float | None = None) -> None:
        pkt = parse_rtp(data)
        if pkt is None or pkt[0] != PCMU_PT or not pkt[4]:
            self.rejected += 1
            return
        if self._wav is None:
            self._open()
        assert self._wav is not None and self._csv is not None and self._csv_fh is not None
        _, seq, ts, _, payload = pkt
        now = time.time() if arrival is None else arrival
        self._wav.writeframes(g711.decode(payload).tobytes())
        self._csv.writerow([datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
                            f"{now:.6f}", seq, ts, len(payload)])
        self._csv_fh.flush()
        self.packets += 1

    def close(self) -> None:
        if self._wav is not None:
            self._wav.close()
            self._wav = None
        if self._csv_fh is not None:
            self._csv_fh.close()
            self._csv_fh = None
