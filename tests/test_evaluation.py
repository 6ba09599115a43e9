"""Crime around a site from the real police.uk files: the published reference counts, radius
counts against an independent computation, unlocated rows, and the traps of the format."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import shared_path, vms_cmd
from vms.errors import ConfigError, CrimeDataError
from vms.evaluation.compare import Catchment, evaluate, month_of, month_range
from vms.evaluation.policeuk import load, read_file

# Northampton town centre; a point in Nottingham for the other force's files.
SITE = (52.2370, -0.8975)
R_EARTH = 6_371_008.8


@pytest.fixture(scope="module")
def policeuk() -> Path:
    return shared_path("data/policeuk/README.md").parent


def reference_table(folder: Path) -> dict[str, tuple[int, int, int]]:
    """The table in the data's README: file -> rows, burglaries, anti-social behaviour."""
    rows = re.findall(r"^\| (\d{4}-\d{2}-\w+) \| (\d+) \| (\d+) \| (\d+) \|$",
                      (folder / "README.md").read_text(), re.M)
    return {f: (int(a), int(b), int(c)) for f, a, b, c in rows}


def test_the_published_reference_counts_are_reproduced_exactly(policeuk: Path) -> None:
    table = reference_table(policeuk)
    assert len(table) == 10
    for name, (rows, burglary, asb) in table.items():
        got = list(read_file(policeuk / f"{name}-street.csv"))
        kinds = Counter(r.crime_type for r in got)
        assert (len(got), kinds["Burglary"], kinds["Anti-social behaviour"]) == \
            (rows, burglary, asb), name
    crimes = load(policeuk)
    assert crimes.rows == sum(v[0] for v in table.values())
    assert len(crimes.files) == 10
    assert len(set(crimes.crime_type)) == 14


def _independent(folder: Path, lat: float, lon: float, radius: float,
                 inner: float = 0.0) -> tuple[Counter[tuple[str, str]], int, float]:
    """Straight from the CSVs with the csv module and spherical trigonometry by angle between
    unit vectors (not haversine); also the closest any crime comes to the edge."""
    def unit(la: float, lo: float) -> tuple[float, float, float]:
        a, b = math.radians(la), math.radians(lo)
        return (math.cos(a) * math.cos(b), math.cos(a) * math.sin(b), math.sin(a))
    c = unit(lat, lon)
    counts: Counter[tuple[str, str]] = Counter()
    unlocated = 0
    edge = math.inf
    for path in sorted(folder.glob("*-street.csv")):
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if not row["Latitude"] or row["Location"].lower() == "no location":
                    unlocated += 1
                    continue
                p = unit(float(row["Latitude"]), float(row["Longitude"]))
                cross = math.sqrt(sum(x * x for x in (
                    c[1] * p[2] - c[2] * p[1], c[2] * p[0] - c[0] * p[2],
                    c[0] * p[1] - c[1] * p[0])))
                d = R_EARTH * math.atan2(cross, sum(a * b for a, b in zip(c, p, strict=True)))
                edge = min(edge, abs(d - radius), abs(d - inner) if inner else math.inf)
                if inner < d <= radius or (not inner and d <= radius):
                    counts[(row["Month"], row["Crime type"])] += 1
    return counts, unlocated, edge


@pytest.mark.parametrize("lat,lon,radius", [(*SITE, 800.0), (52.9530, -1.1500, 400.0)])
def test_radius_counts_agree_with_an_independent_computation(
        policeuk: Path, lat: float, lon: float, radius: float) -> None:
    want, unlocated, edge = _independent(policeuk, lat, lon, radius)
    assert edge > 0.01, "a crime sits on the edge: choose another radius"
    assert sum(want.values()) > 100  # a real test: there are crimes in there
    r = evaluate(load(policeuk), Catchment(lat, lon, radius))
    got = Counter({(m["month"], k): n for m in r["months"] for k, n in m["counts"].items()})
    assert got == want
    assert r["unlocated"] == unlocated > 0
    assert all(m["total"] == sum(m["counts"].values()) for m in r["months"])


def test_the_cli_prints_the_same_counts_with_a_control_ring_and_the_deployment(
        policeuk: Path) -> None:
    res = subprocess.run(vms_cmd("evaluate", "--crimes", str(policeuk), "--lat", str(SITE[0]),
                                 "--lon", str(SITE[1]), "--radius", "800", "--during",
                                 "2018-12-10", "2019-01-08", "--control-radius", "2000",
                                 "--json"), capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert [m["month"] for m in r["months"]] == ["2018-10", "2018-11", "2018-12", "2019-01",
                                                  "2019-02"]
    want, unlocated, _ = _independent(policeuk, *SITE, 800.0)
    assert {(m["month"], k): n for m in r["months"] for k, n in m["counts"].items()} == want
    assert r["unlocated"] == unlocated
    ring, _, edge = _independent(policeuk, *SITE, 2000.0, inner=800.0)
    assert edge > 0.01
    got_ring = {(m["month"], k): n for m in r["control"]["months"]
                for k, n in m["counts"].items()}
    assert got_ring == ring and r["control"]["kind"] == "ring"
    p = r["periods"]
    assert p["during"]["months"] == ["2018-12", "2019-01"]
    assert p["before"]["months"] == ["2018-10", "2018-11"] and p["after"]["months"] == ["2019-02"]
    assert sum(v["total"] for v in p.values()) == sum(m["total"] for m in r["months"])
    assert any("month" in x and "day" in x for x in r["limits"])
    # Text: the same table, marked months, and the limits.
    res = subprocess.run(vms_cmd("evaluate", "--crimes", str(policeuk), "--lat", str(SITE[0]),
                                 "--lon", str(SITE[1]), "--radius", "800", "--during",
                                 "2018-12", "2019-01"), capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    first = r["months"][0]
    assert f"2018-10  {first['total']:>6}" in res.stdout
    assert "2018-12* " in res.stdout and "Limits:" in res.stdout


def _write(path: Path, rows: list[list[str]], header: str | None = None) -> Path:
    head = header or ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
                      "LSOA code,LSOA name,Crime type,Last outcome category,Context")
    path.write_text("\ufeff" + head + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def _row(month: str, lon: str, lat: str, location: str, kind: str = "Burglary") -> list[str]:
    return ["", month, "Force", "Force", lon, lat, location, "", "", kind, "", ""]


def test_rows_without_a_location_are_unlocated_in_either_spelling(tmp_path: Path) -> None:
    _write(tmp_path / "2019-03-test-street.csv", [
        _row("2019-03", "-0.8975", "52.2370", "On or near High Street"),
        _row("2019-03", "", "", "No Location"),
        _row("2019-03", "", "", "No location", "Anti-social behaviour"),
        _row("2019-03", "-0.8975", "52.2370", "No location"),  # stray coordinates: still none
    ])
    crimes = load(tmp_path)
    assert crimes.rows == 4
    r = evaluate(crimes, Catchment(*SITE, 100))
    assert r["unlocated"] == 3
    assert r["months"] == [{"month": "2019-03", "counts": {"Burglary": 1}, "total": 1}]


def test_a_file_twice_is_read_once_and_months_without_a_file_are_named(tmp_path: Path) -> None:
    rows = [_row("2019-01", "-0.8975", "52.2370", "On or near X")]
    _write(tmp_path / "2019-01-test-street.csv", rows)
    (tmp_path / "2019-01").mkdir()
    _write(tmp_path / "2019-01" / "2019-01-test-street.csv", rows)
    _write(tmp_path / "2019-03-test-street.csv", [_row("2019-03", "-0.8975", "52.2370", "X")])
    r = evaluate(load(tmp_path), Catchment(*SITE, 100))
    assert r["rows"] == 2
    assert [m["month"] for m in r["months"]] == ["2019-01", "2019-02", "2019-03"]
    assert r["missing_months"] == ["2019-02"]


@pytest.mark.parametrize("rows,header,words", [
    ([_row("March", "-0.9", "52.2", "X")], None, "month 'March' is not YYYY-MM"),
    ([_row("2019-03", "52.2", "-200.0", "X")], None, "not a place on Earth"),
    ([_row("2019-03", "west", "52.2", "X")], None, "are not numbers"),
    ([["1", "2019-03"]], "Crime ID,Month", "not a police.uk street-level crime file"),
])
def test_a_malformed_file_is_refused_naming_file_and_line(
        tmp_path: Path, rows: list[list[str]], header: str | None, words: str) -> None:
    _write(tmp_path / "2019-03-bad-street.csv", rows, header)
    with pytest.raises(CrimeDataError, match=re.escape(words)) as e:
        load(tmp_path)
    assert "2019-03-bad-street.csv" in str(e.value)
    res = subprocess.run(vms_cmd("evaluate", "--crimes", str(tmp_path), "--lat", "52.2",
                                 "--lon", "-0.9", "--radius", "500"), capture_output=True,
                         text=True, timeout=60, check=False)
    assert res.returncode != 0 and words in res.stderr and "Traceback" not in res.stderr


def test_bad_arguments_get_plain_errors(tmp_path: Path) -> None:
    with pytest.raises(CrimeDataError, match=r"no police\.uk street-level files"):
        load(tmp_path)
    _write(tmp_path / "2019-03-test-street.csv", [_row("2019-03", "-0.9", "52.2", "X")])
    crimes = load(tmp_path)
    with pytest.raises(ConfigError, match="radius"):
        evaluate(crimes, Catchment(*SITE, 0))
    with pytest.raises(ConfigError, match="outer radius"):
        evaluate(crimes, Catchment(*SITE, 500), control=Catchment(*SITE, 400, inner_m=500))
    with pytest.raises(ConfigError, match="ends"):
        evaluate(crimes, Catchment(*SITE, 500), during=("2019-04", "2019-03"))
    with pytest.raises(ConfigError, match="not a month"):
        month_of("next week")
    assert month_of("2019-01-31") == "2019-01" and month_range("2018-11", "2019-02") == [
        "2018-11", "2018-12", "2019-01", "2019-02"]


def test_the_cli_writes_the_csv_and_report_and_a_hostile_crime_type_stays_text(
        tmp_path: Path) -> None:
    crimes = tmp_path / "crimes"
    crimes.mkdir()
    row = _row("2019-03", "-0.8975", "52.2370", "On or near High Street")
    row[9] = '"=HYPERLINK(""http://x"")"'  # a crime type written to run as a formula
    _write(crimes / "2019-03-test-street.csv", [row, _row("2019-03", "-0.8975", "52.2370",
                                                          "On or near High Street")])
    out_csv, out_html = tmp_path / "e.csv", tmp_path / "e.html"
    res = subprocess.run(vms_cmd("evaluate", "--crimes", str(crimes), "--lat", "52.2370",
                                 "--lon", "-0.8975", "--radius", "100", "--csv", str(out_csv),
                                 "--html", str(out_html)), capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["crime_type"] for r in rows) == ["'=HYPERLINK(\"http://x\")", "Burglary"]
    assert sum(int(r["count"]) for r in rows) == 2
    page = out_html.read_text()
    assert "=HYPERLINK(&quot;http://x&quot;)" in page and "<script" not in page
    assert "Limits of this evaluation" in page
