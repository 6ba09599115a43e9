"""Loaned kit by coordinates (issue 26): devices on loan at victims' premises have no plan to be
pinned on, but their premises have a latitude and longitude. This lays them out as they are on
the ground, in metres east and north of their middle, with the police.uk street crimes of the
latest months (each force's own latest: forces publish up to different months) near each
premises, from the files the crime evaluation already reads.

No map tiles: the control room has no internet, and distances and which crimes are near are what
an operator needs. The projection is equirectangular about the middle: over a town (tens of
kilometres) it is within a fraction of a per cent of the great-circle distance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vms.errors import CrimeDataError
from vms.evaluation.compare import EARTH_RADIUS_M, distance_m
from vms.evaluation.policeuk import Crimes, find_files, read_files
from vms.loans.loans import Loans

RADIUS_M = 500.0  # crimes shown around each premises
MONTHS = 3  # the latest months in the files
BURGLARY = "Burglary"
_MONTH_OF_FILE = re.compile(r"^(\d{4}-\d{2})-(.+)-street\.csv$")


@dataclass(frozen=True)
class Kit:
    """One device on loan, where its premises are."""

    device_id: int
    device: str
    premises_id: int
    premises: str
    until: dt.date
    lat: float
    lon: float
    x: float = 0.0  # metres east of the middle
    y: float = 0.0  # metres north of the middle


@dataclass(frozen=True)
class Crime:
    x: float
    y: float
    crime_type: str
    month: str


@dataclass
class KitMap:
    kit: list[Kit] = field(default_factory=list)
    crimes: list[Crime] = field(default_factory=list)
    months: list[str] = field(default_factory=list)  # the months the crimes are from
    radius_m: float = RADIUS_M
    note: str = ""  # why there are no crimes, in plain words ("" when there are)

    def burglaries(self) -> int:
        return sum(1 for c in self.crimes if c.crime_type == BURGLARY)


def _xy(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    k = math.pi / 180 * EARTH_RADIUS_M
    return (lon - lon0) * k * math.cos(math.radians(lat0)), (lat - lat0) * k


_cached: tuple[object, list[tuple[str, str]], Crimes] | None = None  # one folder at a time
_CACHE_LOCK = threading.Lock()


def _latest(folder: Path, months: int) -> tuple[list[tuple[str, str]], Crimes]:
    """Each force's latest ``months`` months (forces publish up to different months): the
    (month, force) files chosen, and their crimes. Kept while the folder's files are
    unchanged: the map is opened many times a shift, the files change monthly."""
    global _cached
    listing = (str(folder), months, tuple(sorted(
        (str(p), st.st_mtime_ns, st.st_size)
        for p in folder.rglob("*-street.csv") for st in [p.stat()])))
    with _CACHE_LOCK:
        if _cached is not None and _cached[0] == listing:
            return _cached[1], _cached[2]
    by_force: dict[str, dict[str, list[Path]]] = {}
    for f in find_files(folder):
        m = _MONTH_OF_FILE.match(f.name)
        if m:
            by_force.setdefault(m.group(2), {}).setdefault(m.group(1), []).append(f)
    chosen = [(month, force) for force, files in by_force.items()
              for month in sorted(files)[-months:]]
    crimes = read_files([f for month, force in chosen for f in by_force[force][month]])
    with _CACHE_LOCK:
        _cached = (listing, chosen, crimes)
    return chosen, crimes


def loaned_kit(loans: Loans) -> list[Kit]:
    """Devices deployed now, each with its premises' coordinates (not yet laid out)."""
    premises = {p.id: p for p in loans.all_premises()}
    out = []
    for d in loans.deployments():
        p = premises.get(d.premises_id)
        if p is None:
            continue
        out += [Kit(device_id, name, p.id, d.premises, d.end, p.lat, p.lon)
                for device_id, name in d.devices]
    return sorted(out, key=lambda k: (k.premises.casefold(), k.device.casefold()))


def kit_map(kit: list[Kit], crimes_dir: str, *, radius_m: float = RADIUS_M,
            months: int = MONTHS) -> KitMap:
    """``kit`` laid out, with the crimes within ``radius_m`` of any premises in the latest
    ``months`` months of the files in ``crimes_dir`` ("" for none). Crime files that cannot be
    read leave the kit shown and say why in ``note``: the loans matter more than the dots."""
    if not kit:
        return KitMap(radius_m=radius_m, note="No cameras are on loan now.")
    lat0 = (min(k.lat for k in kit) + max(k.lat for k in kit)) / 2
    lon0 = (min(k.lon for k in kit) + max(k.lon for k in kit)) / 2
    laid = []
    for k in kit:
        x, y = _xy(k.lat, k.lon, lat0, lon0)
        laid.append(dataclasses.replace(k, x=x, y=y))
    out = KitMap(kit=laid, radius_m=radius_m)
    if not crimes_dir:
        out.note = ("No police.uk crime files are set for this desk (the crimes_dir setting, as "
                    "the crime evaluation uses): the loans are shown without crime.")
        return out
    try:
        chosen, crimes = _latest(Path(crimes_dir), months)
    except (CrimeDataError, OSError) as exc:  # the kit is still shown, and why not crime
        out.note = f"The crime files could not be read: {exc}"
        return out
    out.months = sorted({month for month, _force in chosen})
    near = np.zeros(crimes.rows, dtype=bool)  # unlocated rows (NaN) are near nothing
    for lat, lon in {(k.lat, k.lon) for k in kit}:
        near |= distance_m(lat, lon, crimes.lat, crimes.lon) <= radius_m
    for i in np.flatnonzero(near):
        x, y = _xy(crimes.lat[i], crimes.lon[i], lat0, lon0)
        out.crimes.append(Crime(x, y, crimes.crime_type[i], crimes.month[i]))
    if not out.months:
        out.note = f"No police.uk street files with a month in their name in {crimes_dir}."
    return out
