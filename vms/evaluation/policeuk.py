"""Reading police.uk street-level crime files (``YYYY-MM-<force>-street.csv``).

What the published files do, and what is done about it:

- ``Crime ID`` is empty for anti-social behaviour and repeats within a month: every row is
  one crime as published, so rows are counted, never de-duplicated by ID.
- ``Month`` has no day; it is kept as ``YYYY-MM`` and reports say so.
- Longitude comes before Latitude; columns are found by header name, not position.
- Rows without a location (``No Location`` / ``No location``, empty coordinates) are kept
  and counted as unlocated; they can be in no radius.
- Rows snapped outside the force are kept: a site is served by distance, not by force.

A file that is not a street-crime file, or a row whose month or coordinates are not what
the format says, is an error that names the file and line: counts from a half-read file
would look plausible and be wrong.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vms.errors import (
    CrimeDataError,  # defined with every other error
    )

REQUIRED = ("Crime ID", "Month", "Falls within", "Longitude", "Latitude", "Location",
            "Crime type")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
NO_LOCATION = "no location"


@dataclass
class Crimes:
    """All rows of the files read, as columns (numpy for the distance sums)."""

    month: np.ndarray  # str "YYYY-MM"
    crime_type: np.ndarray  # str
    force: np.ndarray  # str: "Falls within"
    lat: np.ndarray  # float, NaN when unlocated
    lon: np.ndarray
    files: list[str]

    @property
    def rows(self) -> int:
        return len(self.month)

    @property
    def located(self) -> np.ndarray:
        return ~np.isnan(self.lat)


@dataclass
class _Row:
    month: str
    crime_type: str
    force: str
    lat: float
    lon: float


def read_file(path: Path) -> Iterator[_Row]:
    try:
        f = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CrimeDataError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise CrimeDataError(f"{path.name} is not a police.uk street-level crime file: no "
                                 f"{', '.join(repr(m) for m in missing)} column")
        try:
            for row in reader:
                yield _parse(row, path, reader.line_num)
        except csv.Error as exc:
            raise CrimeDataError(f"{path.name}, line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise CrimeDataError(f"{path.name}, line {reader.line_num}: not UTF-8 text") from None


def _parse(row: dict[str, str | None], path: Path, line: int) -> _Row:
    month = (row["Month"] or "").strip()
    if not MONTH.match(month):
        raise CrimeDataError(f"{path.name}, line {line}: month {month!r} is not YYYY-MM")
    lon_s, lat_s = (row["Longitude"] or "").strip(), (row["Latitude"] or "").strip()
    location = (row["Location"] or "").strip().casefold()
    if not lon_s and not lat_s:
        lat = lon = float("nan")
    elif location == NO_LOCATION:
        lat = lon = float("nan")  # a location-less row with stray coordinates: still unlocated
    else:
        try:
            lon, lat = float(lon_s), float(lat_s)
        except ValueError:
            raise CrimeDataError(f"{path.name}, line {line}: coordinates {lon_s!r}, {lat_s!r} "
                                 "are not numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise CrimeDataError(f"{path.name}, line {line}: latitude {lat} / longitude {lon} "
                                 "is not a place on Earth (are the columns swapped?)")
    return _Row(month, (row["Crime type"] or "").strip() or "Unknown",
                (row["Falls within"] or "").strip(), lat, lon)


def find_files(folder: Path) -> list[Path]:
    """The street files under ``folder`` (police.uk archives put each month in its own
    folder). The same file twice (a re-download beside the original) is read once."""
    if not folder.is_dir():
        raise CrimeDataError(f"{folder} is not a folder of police.uk crime files")
    seen: dict[str, Path] = {}
    for p in sorted(folder.rglob("*-street.csv")):
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        seen.setdefault(digest, p)
    if not seen:
        raise CrimeDataError(f"no police.uk street-level files (*-street.csv) in {folder}")
    return sorted(seen.values(), key=lambda p: p.name)


def load(folder: Path) -> Crimes:
    return read_files(find_files(folder))


def read_files(files: list[Path]) -> Crimes:
    """These street files, as columns."""
    rows = [r for p in files for r in read_file(p)]
    return Crimes(
        month=np.array([r.month for r in rows], dtype=object),
        crime_type=np.array([r.crime_type for r in rows], dtype=object),
        force=np.array([r.force for r in rows], dtype=object),
        lat=np.array([r.lat for r in rows], dtype=float),
        lon=np.array([r.lon for r in rows], dtype=float),
        files=[p.name for p in files])
