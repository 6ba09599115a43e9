"""What a tile says about its stream's quality: which stream (HD main, SD sub) and how many
frames a second it shows, and how many the stream delivered when the wall shows fewer.

A tile samples its feed's delivered-frame count and its own painted-frame count once a second;
the rates are over the last two seconds, so a frame arriving either side of a second boundary
does not make the mark flicker between 24 and 26. A new feed (the tile switched between main
and sub stream, or reconnected with a new decoder) starts the count again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WINDOW_S = 2.0
SHORT = 0.9  # showing less than this share of what the stream delivers is marked


@dataclass(frozen=True)
class Rate:
    delivered: float  # frames a second decoded from the stream
    shown: float  # frames a second painted on this tile

    @property
    def short(self) -> bool:
        """The wall shows clearly fewer frames than the stream delivers (dropped)."""
        return self.delivered >= 1 and self.shown < self.delivered * SHORT


def words(quality: str | None, rate: Rate | None) -> str:
    """The mark: "SD 25 fps", "HD 12/25 fps" when showing fewer than delivered, "SD" before
    there is a rate, "" without a stream."""
    badge = {"main": "HD", "sub": "SD"}.get(quality or "", "")
    if not badge or rate is None:
        return badge
    if rate.short:
        return f"{badge} {rate.shown:.0f}/{rate.delivered:.0f} fps"
    return f"{badge} {rate.delivered:.0f} fps"


class RateMeter:
    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._source: object = None
        self._samples: deque[tuple[float, int, int]] = deque()

    def sample(self, now: float, source: object, delivered: int, shown: int) -> Rate | None:
        """Record the counts at ``now`` (seconds, monotonic); the rate once a window is seen."""
        if source is not self._source:
            self._source = source
            self._samples.clear()
        self._samples.append((now, delivered, shown))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        t0, d0, s0 = self._samples[0]
        span = now - t0
        if span < self.window_s * 0.75:
            return None
        return Rate(max(0, delivered - d0) / span, max(0, shown - s0) / span)
