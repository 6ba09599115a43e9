"""Icons, styles, sounds and announcement clips shipped with Beacon VMS."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(relative: str) -> Path:
    return ROOT / relative
