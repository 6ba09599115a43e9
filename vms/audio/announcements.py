"""Recorded announcements an operator can play to a caller (clips in resources/)."""

from __future__ import annotations

from pathlib import Path

from resources import path as resource

ANNOUNCEMENTS: dict[str, tuple[str, str]] = {
    "help-on-way": ("Help is on the way", "Help is on the way. Please stay where you are."),
    "recorded": ("This call is being recorded",
                 "This call is being recorded for your safety and ours."),
    "stay": ("Please stay where you are", "Please stay where you are. An operator is watching."),
    "operator-soon": ("An operator will speak to you shortly",
                      "Thank you. An operator will speak to you shortly."),
    "police-called": ("Police have been called", "The police have been called and are on their "
                                                 "way."),
}


def clip(key: str) -> Path:
    return resource(f"announcements/{key}.wav")
