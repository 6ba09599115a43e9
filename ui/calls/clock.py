"""Times as the control room reads them during a call."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def local_time(utc: str | None) -> str:
    """Stored UTC shown as control-room time of day, with GMT/BST said."""
    if not utc:
        return "—"
    d = datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(LONDON)
    return d.strftime("%H:%M:%S %Z")
