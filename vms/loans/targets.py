"""Intrusion triage targets: how quickly each step should follow the one before it
(the ``triage_targets`` setting)."""

from __future__ import annotations

from vms.errors import ConfigError

# Steps after "raised", each timed from the one before it.
STEPS = ("presented", "accepted", "decision", "police")
# Seconds; the control room sets its own in ``triage_targets``.
DEFAULT_TARGETS = {"presented": 10.0, "accepted": 30.0, "decision": 90.0, "police": 120.0}


def parse_targets(text: str) -> dict[str, float]:
    """``presented=10,accepted=30,decision=90,police=120`` (seconds), over the defaults."""
    out = dict(DEFAULT_TARGETS)
    for part in text.split(","):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        try:
            seconds = float(v)
        except ValueError:
            seconds = -1.0
        if k.strip() not in DEFAULT_TARGETS or seconds <= 0:
            raise ConfigError(f"triage target {part!r}: use step=seconds with steps "
                              f"{', '.join(STEPS)}")
        out[k.strip()] = seconds
    return out
