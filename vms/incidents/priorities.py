"""Which alarms open an incident, at which priority (1 is answered first); configurable
with the ``call_priorities`` setting."""

from __future__ import annotations

from vms.errors import ConfigError
from vms.events.topics import HELP_BUTTON, INPUT, INTRUSION, LINE, MOTION, TAMPER

PRIORITIES: dict[str, int] = {HELP_BUTTON: 1, INTRUSION: 2, LINE: 2, MOTION: 3, TAMPER: 3,
                              INPUT: 3}
SAME_AS = {LINE: INTRUSION}


def parse_priorities(text: str) -> dict[str, int]:
    """``help_button=1,intrusion=2,motion=3`` (a setting)."""
    out: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        if k.strip() not in PRIORITIES or not v.strip().isdigit():
            raise ConfigError(f"priority {part!r}: use kind=number with kinds "
                              f"{', '.join(PRIORITIES)}")
        out[k.strip()] = int(v)
    return out
