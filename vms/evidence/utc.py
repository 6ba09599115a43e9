"""UTC times as the evidence package writes them (ISO 8601, milliseconds, ``Z``) and reads
them back: a time without a zone is refused, never guessed."""

from __future__ import annotations

import datetime as dt


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(s: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"{s}: a time without a zone")
    return t.astimezone(dt.UTC)
