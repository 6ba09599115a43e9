"""Loaned kit by coordinates (``vms.maps.coordinates``) on the real police.uk files: the crimes
it keeps are exactly those within the radius in the latest months, counted independently, and
distances on its layout are those on the ground."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from tests.conftest import shared_path
from vms.evaluation.compare import distance_m
from vms.evaluation.policeuk import load
from vms.maps.coordinates import Kit, kit_map

UNTIL = dt.date(2027, 1, 1)
ELM = Kit(1, "cam1", 1, "12 Elm Road", UNTIL, 52.24, -0.9)
OAK = Kit(2, "cam2", 2, "3 Oak Street", UNTIL, 52.249, -0.9)  # 1 km north


def test_the_crimes_kept_are_those_within_the_radius_in_the_latest_three_months() -> None:
    folder = shared_path("data/policeuk")
    m = kit_map([ELM, OAK], str(folder), radius_m=400)
    everything = load(folder)
    latest = sorted(set(everything.month))[-3:]
    assert m.months == latest and m.note == ""
    lat, lon = everything.lat, everything.lon
    near = (distance_m(ELM.lat, ELM.lon, lat, lon) <= 400) | \
        (distance_m(OAK.lat, OAK.lon, lat, lon) <= 400)
    want = int((near & np.isin(everything.month, latest)).sum())
    assert len(m.crimes) == want > 100
    burglaries = int((near & np.isin(everything.month, latest)
                      & (everything.crime_type == "Burglary")).sum())
    assert m.burglaries() == burglaries > 0


def test_distances_on_the_layout_are_those_on_the_ground() -> None:
    m = kit_map([ELM, OAK], "")
    elm, oak = m.kit
    ground = float(distance_m(ELM.lat, ELM.lon, np.array([OAK.lat]), np.array([OAK.lon]))[0])
    assert abs((oak.y - elm.y) - ground) < ground * 0.005 and abs(oak.x - elm.x) < 1
    assert abs(ground - 1000.8) < 2  # 0.009 degrees of latitude
    assert "No police.uk crime files are set" in m.note and m.crimes == []


def test_crime_files_that_cannot_be_read_leave_the_kit_shown_and_say_why(
        tmp_path: Path) -> None:
    bad = tmp_path / "2019-02-nowhere-street.csv"
    bad.write_text("not,a,crime,file\n1,2,3,4\n")
    m = kit_map([ELM], str(tmp_path))
    assert [k.device for k in m.kit] == ["cam1"] and m.crimes == []
    assert "could not be read" in m.note and "not a police.uk street-level crime file" in m.note
    assert kit_map([], str(tmp_path)).note == "No cameras are on loan now."


def test_each_force_shows_its_own_latest_months(tmp_path: Path) -> None:
    """Forces publish up to different months: one whose files stop earlier is not left out."""
    folder = shared_path("data/policeuk")
    for name in ("2019-02-northamptonshire-street.csv", "2018-10-nottinghamshire-street.csv"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    nottingham = Kit(3, "cam3", 3, "Old Market Square", UNTIL, 52.9534, -1.1496)
    m = kit_map([ELM, nottingham], str(tmp_path), months=1)
    assert m.months == ["2018-10", "2019-02"]
    assert {c.month for c in m.crimes if c.y > 0} == {"2018-10"}  # Nottingham, 79 km north
    assert {c.month for c in m.crimes if c.y < 0} == {"2019-02"}
