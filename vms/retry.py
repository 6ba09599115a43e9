"""When to try a lost camera again: exponential backoff with full jitter.

A whole site reboots at once after a power cut; without jitter every tile of every
workstation would knock on the same cameras in the same second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    first: float = 1.0
    cap: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # the delay is drawn from [d * (1 - jitter), d]
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self) -> float:
        base = min(self.cap, self.first * self.factor ** self.attempts)
        self.attempts += 1
        return base * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self.attempts = 0
