"""Crime around a deployment, before, during and after it, against a control area.

Distances are great-circle (haversine on a sphere of the Earth's mean radius) from the site
to each crime's published point, which police.uk has already snapped to the nearest of
about 750,000 anonymous locations: a crime a few metres inside the radius may be published
just outside it, so counts are approximate at the edge and small radii mislead. Months
have no day, so a deployment that starts or ends mid-month makes that whole month "during".
Both limits are stated in every result.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from vms.errors import ConfigError
from vms.evaluation.policeuk import Crimes

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
MAX_RADIUS_M = 50_000.0
LIMITS = [
    "police.uk gives a month for each crime, not a day: a deployment that starts or ends "
    "mid-month counts that whole month as 'during'.",
    "Crime locations are anonymised to the nearest of about 750,000 snap points ('On or near "
    "...'), so counts near the radius are approximate and small radii are unreliable.",
    "Rows without a location cannot be placed in any area; they are counted as unlocated and "
    "left out.",
    "Counts are recorded crime, not all crime, and a before/during difference is not by itself "
    "evidence that the camera caused it (compare with the control area).",
]


def distance_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Haversine distance from one point to many (NaN stays NaN)."""
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi, dlmb = p2 - p1, np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class Catchment:
    """Where crimes are counted: a disc (``inner_m`` 0) or a ring around a point (not an
    area of the device tree)."""

    lat: float
    lon: float
    outer_m: float
    inner_m: float = 0.0

    def mask(self, crimes: Crimes) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            d = distance_m(self.lat, self.lon, crimes.lat, crimes.lon)
            inside = d <= self.outer_m
            if self.inner_m > 0:
                inside &= d > self.inner_m
        return inside & crimes.located

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lat": self.lat, "lon": self.lon, "radius_m": self.outer_m}
        if self.inner_m:
            out["inner_radius_m"] = self.inner_m
        return out


def month_of(text: str) -> str:
    """``YYYY-MM`` from ``YYYY-MM`` or an ISO date."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        dt.date.fromisoformat(text + "-01")  # a real month
        return text
    try:
        return dt.date.fromisoformat(text[:10]).strftime("%Y-%m")
    except ValueError:
        raise ConfigError(f"{text!r} is not a month (YYYY-MM) or a date (YYYY-MM-DD)") from None


def month_range(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _months(crimes: Crimes, mask: np.ndarray, months: list[str]) -> list[dict[str, Any]]:
    by_month: dict[str, Counter[str]] = {m: Counter() for m in months}
    for month, kind in zip(crimes.month[mask], crimes.crime_type[mask], strict=True):
        by_month[month][kind] += 1
    return [{"month": m, "counts": dict(sorted(c.items())), "total": sum(c.values())}
            for m, c in by_month.items()]


def period_of(month: str, during: tuple[str, str] | None) -> str:
    """"before", "during" or "after" the deployment's months; "" without a deployment."""
    if during is None:
        return ""
    if month < during[0]:
        return "before"
    return "during" if month <= during[1] else "after"


def _periods(months: list[dict[str, Any]], during: tuple[str, str]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {"before": [], "during": [], "after": []}
    for m in months:
        groups[period_of(m["month"], during)].append(m)
    out = {}
    for name, ms in groups.items():
        counts: Counter[str] = Counter()
        for m in ms:
            counts.update(m["counts"])
        total = sum(counts.values())
        out[name] = {"months": [m["month"] for m in ms], "counts": dict(sorted(counts.items())),
                     "total": total,
                     "per_month": round(total / len(ms), 2) if ms else None}
    return out


def evaluate(crimes: Crimes, site: Catchment, *, during: tuple[str, str] | None = None,
             control: Catchment | None = None, present: list[str] | None = None) -> dict[str, Any]:
    """Counts by month and crime type for the site (and control), with before/during/after
    totals when the deployment's months are given. ``present``: the months the files cover,
    when ``crimes`` holds only some types (a month without a burglary still has its file)."""
    if not 0 < site.outer_m <= MAX_RADIUS_M:
        raise ConfigError(f"the radius must be more than 0 and at most {MAX_RADIUS_M:.0f} m")
    for area in (site, control):
        if area is not None and not (-90 <= area.lat <= 90 and -180 <= area.lon <= 180):
            raise ConfigError(f"{area.lat}, {area.lon} is not a latitude and longitude")
    if control is not None and control.outer_m <= control.inner_m:
        raise ConfigError("the control ring's outer radius must be larger than the site's "
                          "radius")
    present = sorted(set(crimes.month) if present is None else present)
    months = month_range(present[0], present[-1]) if present else []
    if during is not None:
        if during[0] > during[1]:
            raise ConfigError(f"the deployment ends ({during[1]}) before it starts "
                              f"({during[0]})")
        months = month_range(min([*months, during[0]]), max([*months, during[1]]))
    site_months = _months(crimes, site.mask(crimes), months)
    result: dict[str, Any] = {
        "site": site.describe(),
        "files": crimes.files,
        "rows": crimes.rows,
        "unlocated": int((~crimes.located).sum()),
        "months": site_months,
        "missing_months": [m for m in months if m not in present],
        "limits": LIMITS,
    }
    if during is not None:
        result["during"] = {"from": during[0], "to": during[1]}
        result["periods"] = _periods(site_months, during)
    if control is not None:
        ctl_months = _months(crimes, control.mask(crimes), months)
        result["control"] = {**control.describe(),
                             "kind": "ring" if control.inner_m else "site",
                             "months": ctl_months}
        if during is not None:
            result["control"]["periods"] = _periods(ctl_months, during)
    return result
