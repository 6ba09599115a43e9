"""One way to make either report on a profile, for ``vms report`` and the desktop alike: opens
the stores it reads and closes them again, on whatever thread calls it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vms.access.session import Session
from vms.errors import ConfigError
from vms.profile import Profile
from vms.reports.figures import Period
from vms.reports.loans import CrimeSettings

HELPPOINTS, LOANS = "helppoints", "loans"


def crime_settings(folder: Path, radius_m: float = 200.0, types: list[str] | None = None,
                   control_radius_m: float | None = None) -> CrimeSettings:
    """``types`` None: burglary, the crime the loans are for; ``["all"]``: every type."""
    from vms.evaluation.compare import MAX_RADIUS_M
    from vms.evaluation.policeuk import load

    if not 0 < radius_m <= MAX_RADIUS_M:
        raise ConfigError(f"the radius must be more than 0 and at most {MAX_RADIUS_M:.0f} m")
    if control_radius_m is not None and control_radius_m <= radius_m:
        raise ConfigError("the control ring's outer radius must be larger than the site's radius")
    types = types or ["Burglary"]
    return CrimeSettings(load(folder), radius_m=radius_m,
                         categories=() if types == ["all"] else tuple(types),
                         control_radius_m=control_radius_m)


def build(profile: Profile, session: Session, kind: str, period: Period,
          crime: CrimeSettings | None = None) -> dict[str, Any]:
    from vms.events.store import EventStore

    store = EventStore.for_profile(profile.data_dir)
    try:
        if kind == HELPPOINTS:
            from vms.reports import helppoints
            return helppoints.report(profile, session, store, period)
        if kind == LOANS:
            from vms.incidents.queue import IncidentQueue
            from vms.loans.loans import today_london
            from vms.loans.triage import Triage
            from vms.reports import loans
            triage = Triage(profile, session, IncidentQueue(profile, store))
            try:
                return loans.report(profile, session, triage, period, crime,
                                    today=today_london())
            finally:
                triage.close()
        raise ConfigError(f"there is no report '{kind}' (helppoints or loans)")
    finally:
        store.close()
