"""The profile's settings: every one's allowed values and default, in one place.

Stored as text in the registry's ``settings`` table (``Accounts.settings`` reads them,
``vms.access.admin.change_setting`` writes them, audited); read through ``Settings``,
which gives each unset key its default here, so no reader carries its own default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vms.errors import ConfigError
from vms.incidents.priorities import parse_priorities
from vms.loans.targets import parse_targets

FREE_TEXT_MAX = 500


@dataclass(frozen=True)
class Setting:
    default: str
    about: str
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    parse: Callable[[str], object] | None = None  # free text with a grammar of its own

    def check(self, key: str, value: str) -> None:
        if self.choices:
            if value not in self.choices:
                raise ConfigError(f"{key} must be one of: {', '.join(self.choices)}")
        elif self.bounds is not None:
            lo, hi = self.bounds
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(f"{key} must be a number") from None
            if not lo <= number <= hi:
                raise ConfigError(f"{key} must be between {lo:g} and {hi:g}")
        else:
            if len(value) > FREE_TEXT_MAX or any(ord(c) < 32 for c in value):
                raise ConfigError(f"{key} must be one line of at most {FREE_TEXT_MAX} characters")
            if self.parse is not None and value:
                self.parse(value)


SETTINGS: dict[str, Setting] = {
    "lock_after_failures": Setting("5", "failed sign-ins before an account locks",
                                   bounds=(1, 50)),
    "lock_minutes": Setting("15", "how long a locked account stays locked", bounds=(1, 1440)),
    "idle_minutes": Setting("10", "a desktop session locks after this long without input",
                            bounds=(1, 480)),
    "player_backend": Setting("auto", "which video backend plays live streams "
                              "(vms.media.backends)", choices=("auto", "pyav", "vlc")),
    "microphone": Setting("", "the talk microphone: empty (the system default), an input's "
                          "name, or file:PATH (training)"),
    "call_priorities": Setting("", "queue priorities, e.g. help_button=1,intrusion=2,motion=3",
                               parse=parse_priorities),
    "recordings_dir": Setting("", "where recorded segments go (empty: PROFILE/recordings)"),
    "recording_mode": Setting("continuous", "continuous, event (alarms record from an "
                              "in-memory pre-roll) or off (the site service records nothing: "
                              "another host does)", choices=("continuous", "event", "off")),
    "preroll_seconds": Setting("30", "footage kept before an alarm", bounds=(0, 120)),
    "postroll_seconds": Setting("30", "footage kept after an alarm or call ends",
                                bounds=(0, 600)),
    "retention_days": Setting("31", "days recordings are kept by default", bounds=(1, 3650)),
    "recording_quota_gb": Setting("0", "the recordings' quota (0: none)",
                                  bounds=(0, 1_000_000)),
    "low_space_gb": Setting("5", "the low-space alarm sounds under this much free on the "
                            "recording disk", bounds=(0, 10_000)),
    "evidence_tsa_url": Setting("", "the RFC 3161 time-stamp authority evidence exports ask "
                                "(empty: seal pending a stamp)"),
    "triage_targets": Setting("", "intrusion triage targets in seconds, each step from the "
                              "one before, e.g. presented=10,accepted=30,decision=90,police=120",
                              parse=parse_targets),
    "crimes_dir": Setting("", "the folder of police.uk street-level crime files the crime "
                          "evaluation opens first"),
}


def check(key: str, value: str) -> None:
    if key not in SETTINGS:
        raise ConfigError(f"unknown setting '{key}' (one of: {', '.join(SETTINGS)})")
    SETTINGS[key].check(key, value)


class Settings(dict[str, str]):
    """The stored values; ``value`` and ``number`` fall back to each setting's default."""

    def value(self, key: str) -> str:
        return self[key] if key in self else SETTINGS[key].default

    def number(self, key: str) -> float:
        try:
            return float(self.value(key))
        except ValueError:  # written by hand into the database: the default, not a crash
            return float(SETTINGS[key].default)
