"""Issue 27: the programme reports. Calls, loans and alarms are made through the real services
on a simulated site; every figure of both reports is then recomputed here from the raw
records (the SQLite files, the audit trail and the police.uk CSV files read with ``csv``),
without the report's own code."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
import os
import sqlite3
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ADMIN, ADMIN_PASSWORD, Sim, shared_path, vms_cmd
from tests.wall_helpers import OPERATOR, OPERATOR_PASSWORD, Site, register
from vms.errors import PermissionDenied
from vms.evaluation.policeuk import load
from vms.events.engine import Event
from vms.events.store import EventStore
from vms.events.topics import DomainEvent
from vms.incidents.queue import IncidentQueue
from vms.loans.feedback import Feedback
from vms.loans.loans import Loans, today_london
from vms.loans.triage import FALSE, SUSPICIOUS, Triage
from vms.reports import helppoints, loans
from vms.reports.figures import Period

UK = ZoneInfo("Europe/London")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture(scope="module")
def site(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = register(sim, tmp_path_factory.mktemp("reports") / "data", ["hp1", "hp2", "pid1", "cam1"])
    yield s
    s.profile.close()


def _t(utc: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(utc.replace("Z", "+00:00")) if utc else None


def _secs(a: str | None, b: str | None) -> float | None:
    ta, tb = _t(a), _t(b)
    return None if ta is None or tb is None else max(0.0, (tb - ta).total_seconds())


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[math.ceil(0.9 * len(v)) - 1]


def _check_spread(got: dict[str, Any], values: list[float], edges: list[float]) -> None:
    assert got["n"] == len(values)
    assert got["median"] == (round(statistics.median(values), 1) if values else None)
    p90 = _p90(values)
    assert got["p90"] == (None if p90 is None else round(p90, 1))
    assert got["max"] == (round(max(values), 1) if values else None)
    counts = [0] * (len(edges) + 1)
    for v in values:
        i = 0
        while i < len(edges) and v >= edges[i]:
            i += 1
        counts[i] += 1
    assert [b["count"] for b in got["buckets"]] == counts


def _press(q: IncidentQueue, device: int, name: str, kind: str = "help_button") -> int:
    inc = q.on_event(Event(int(time.time() * 1000) % 10**9, device, name, "Reports test",
                           DomainEvent(kind, "DI_0" if kind == "help_button" else "Field1",
                                       True, False, False, None, "t"), time.time()))
    assert inc is not None
    return inc.id


def test_uk_days_are_whole_days_in_gmt_and_bst() -> None:
    assert Period.parse("2026-07-01", "2026-07-01").utc_bounds() == (
        "2026-06-30T23:00:00.000Z", "2026-07-01T23:00:00.000Z")
    assert Period.parse("2026-03-29", "2026-03-29").utc_bounds() == (  # the clocks go forward
        "2026-03-29T00:00:00.000Z", "2026-03-29T23:00:00.000Z")
    with pytest.raises(Exception, match="before it starts"):
        Period.parse("2026-02-02", "2026-02-01")
    with pytest.raises(Exception, match="between the years"):
        Period.parse("2026-02-02", "9999-12-31")
    assert Period.parse("2026-10-25", "2026-10-25").utc_bounds() == (  # the clocks go back
        "2026-10-24T23:00:00.000Z", "2026-10-26T00:00:00.000Z")


def test_the_help_point_report_counts_calls_made_through_the_queue(
        site: Site, tmp_path: Path) -> None:
    profile, op = site.profile, site.operator
    admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    store = EventStore.for_profile(profile.data_dir)
    q = IncidentQueue(profile, store)
    hp1, hp2 = site.ids["hp1"], site.ids["hp2"]
    # 1: answered, light on, police told with units, closed: police.
    a = _press(q, hp1, "hp1")
    time.sleep(0.4)
    q.accept(op, a)
    q.log(op, a, "blue light", {"mode": "on", "via": "test"})
    q.log(op, a, "blue light", {"mode": "off", "via": "test"})
    q.escalate(op, a, "CAD 1234", units="PC 101, PC 102")
    time.sleep(0.3)
    q.close(op, a, "police")
    # 2: answered quickly, an accidental press.
    b = _press(q, hp2, "hp2")
    q.accept(op, b)
    q.close(op, b, "accidental")
    # 3: answered, put on hold, light only flashed, police told without units.
    c = _press(q, hp2, "hp2")
    time.sleep(0.2)
    q.accept(op, c)
    q.log(op, c, "blue light", {"mode": "pulse", "via": "test"})
    q.escalate(op, c, "=HYPERLINK(\"x\") CAD 99")  # typed text a spreadsheet must not run
    q.hold(op, c, "waiting for the police")
    q.close(op, c, "no-reply")
    # 4: a press nobody has answered yet; 5: an intrusion (not a Help Point call).
    d = _press(q, hp1, "hp1")
    e = _press(q, site.ids["pid1"], "pid1", "intrusion")

    today = today_london()
    period = Period(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    with pytest.raises(PermissionDenied):
        helppoints.report(profile, op, store, period)  # operators do not read programme reports
    rep = helppoints.report(profile, admin, store, period)
    assert any(e.action == "report.helppoints" and e.user == ADMIN
               for e in profile.audit.entries())

    # Recomputed from the raw rows.
    raw = sqlite3.connect(profile.data_dir / "events.db")
    raw.row_factory = sqlite3.Row
    start, end = (dt.datetime.combine(period.first, dt.time(), UK),
                  dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), UK))
    rows = [r for r in raw.execute("SELECT * FROM incidents WHERE kind = 'help_button'")
            if start <= _t(r["raised_utc"]) < end]  # type: ignore[operator]
    lit = {r["incident_id"] for r in raw.execute(
        "SELECT incident_id, detail FROM incident_actions WHERE action = 'blue light'")
        if json.loads(r["detail"])["mode"] in ("on", "pulse")}
    assert {r["id"] for r in rows} == {a, b, c, d} and lit >= {a, c}

    def expect(rs: list[sqlite3.Row], got: dict[str, Any]) -> None:
        n = len(rs)
        assert got["calls"] == n
        answer = [s for r in rs if (s := _secs(r["raised_utc"], r["accepted_utc"])) is not None]
        length = [s for r in rs if r["state"] == "closed"
                  and (s := _secs(r["accepted_utc"], r["closed_utc"])) is not None]
        assert got["answered"] == {"count": len(answer), "of": n,
                                   "percent": round(100 * len(answer) / n, 1)}
        assert got["still_open"] == sum(r["state"] != "closed" for r in rs)
        hours = Counter(_t(r["raised_utc"]).astimezone(UK).hour for r in rs)  # type: ignore[union-attr]
        assert got["by_hour"] == [hours.get(h, 0) for h in range(24)]
        days = Counter(DAYS[_t(r["raised_utc"]).astimezone(UK).weekday()] for r in rs)  # type: ignore[union-attr]
        assert got["by_weekday"] == {d: days.get(d, 0) for d in DAYS}
        _check_spread(got["time_to_answer"], answer, [10, 20, 30, 60, 120])
        _check_spread(got["call_length"], length, [60, 120, 300, 600, 1800])
        assert got["outcomes"] == dict(Counter(r["outcome"] for r in rs if r["outcome"]))
        assert got["police_informed"]["count"] == sum(bool(r["police_informed_utc"]) for r in rs)
        assert got["units_sent"]["count"] == sum(bool(r["units"]) for r in rs)
        assert got["blue_light"]["count"] == sum(r["id"] in lit for r in rs)
        assert got["evidence_exported"]["count"] == 0  # exports are counted in test_evidence

    expect(rows, rep["overall"])
    assert rep["overall"]["answered"]["count"] == 3 and rep["overall"]["blue_light"]["count"] == 2
    assert [p["help_point"] for p in rep["help_points"]] == ["hp1", "hp2"]
    for p in rep["help_points"]:
        expect([r for r in rows if r["device_id"] == p["device_id"]], p)

    # The CLI writes the CSV (one row per call) and the HTML page, and prints the same report.
    env = {**os.environ, "VMS_USER": ADMIN, "VMS_PASSWORD": ADMIN_PASSWORD}
    out = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "report", "helppoints",
                                 "--from", period.first.isoformat(), "--to",
                                 period.last.isoformat(), "--csv", str(tmp_path / "hp.csv"),
                                 "--html", str(tmp_path / "hp.html"), "--json"),
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["overall"] == rep["overall"]
    table = list(csv.DictReader((tmp_path / "hp.csv").open(encoding="utf-8")))
    assert [int(r["id"]) for r in table] == sorted(r["id"] for r in rows)
    by_id = {int(r["id"]): r for r in table}
    assert by_id[a]["blue_light"] == "True" and by_id[a]["units"] == "PC 101, PC 102"
    assert by_id[d]["answer_s"] == "" and by_id[b]["outcome"] == "accidental"
    assert by_id[c]["police_ref"] == "'=HYPERLINK(\"x\") CAD 99"  # shown as text, never run
    page = (tmp_path / "hp.html").read_text(encoding="utf-8")
    assert "Help Point programme report" in page and "<script" not in page
    assert "Calls by hour of day" in page and "Police attended or were informed" in page
    text = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "report", "helppoints",
                                  "--from", period.first.isoformat(), "--to",
                                  period.last.isoformat()),
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert text.returncode == 0 and "answered 3 of 4 (75 %)" in text.stdout, text.stdout
    refused = subprocess.run(
        vms_cmd("--data-dir", str(profile.data_dir), "report", "helppoints", "--from",
                "2026-01-01", "--to", "2026-01-31"),
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "VMS_USER": OPERATOR, "VMS_PASSWORD": OPERATOR_PASSWORD})
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "programme reports" in refused.stderr, refused.stderr
    for iid in (d, e):
        q.close(op, q.accept(op, iid).id, "test")
    store.close()


# -- the loaned-camera programme ------------------------------------------------------------------

EARTH_M = 6_371_008.8


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_M * math.asin(math.sqrt(a))


def _crimes(folder: Path) -> list[dict[str, str]]:
    """Every street-level row of the shared police.uk files, with ``csv`` only."""
    rows: list[dict[str, str]] = []
    for f in sorted(folder.glob("*-street.csv")):
        with f.open(encoding="utf-8", newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def test_the_loan_programme_report_on_police_uk_data_and_real_loans(
        site: Site, tmp_path: Path) -> None:
    profile, op = site.profile, site.operator
    coord = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    folder = shared_path("data/policeuk/README.md").parent
    store = EventStore.for_profile(profile.data_dir)
    q = IncidentQueue(profile, store)
    pid, cam, hp2 = site.ids["pid1"], site.ids["cam1"], site.ids["hp2"]
    lo = Loans(profile, coord)
    d = dt.date
    common = {"reason": "repeat burglary", "response_level": "urgent", "contact": "07700 900123"}
    # A: extended, then removed; B: not extended; C: removed early; T: on test; E: now.
    a = lo.open_loan(name="Site A", address="1 Abington St", lat=52.237517, lon=-0.892228,
                     urn="NP/2018/1", devices=[pid], installed=d(2018, 11, 5), signage=True,
                     **common)
    lo.extend(a.id, d(2019, 1, 4), "INV-A")
    lo.remove(a.id, d(2019, 1, 4))
    b = lo.open_loan(name="Site B", address="2 Kettering Rd", lat=52.254608, lon=-0.888330,
                     urn="NP/2019/2", devices=[pid], installed=d(2019, 1, 10), signage=True,
                     **common)
    lo.remove(b.id, d(2019, 2, 9))
    c = lo.open_loan(name="Site C", address="3 High St", lat=52.316189, lon=-0.688795,
                     urn="NP/2019/3", devices=[pid], installed=d(2019, 2, 15), signage=False,
                     **common)
    lo.remove(c.id, d(2019, 2, 20))
    t = lo.open_loan(name="Depot test", address="Depot", lat=52.24, lon=-0.89, urn="TEST",
                     devices=[hp2], installed=d(2019, 2, 1), signage=False, on_test=True,
                     **common)
    lo.remove(t.id, d(2019, 2, 3))
    today = today_london()
    e = lo.open_loan(name="Site E", address="5 Derby Rd", lat=52.955, lon=-1.158,
                     urn="NT/2026/5", devices=[pid, cam], installed=today - dt.timedelta(days=3),
                     signage=True, **common)
    lo.extend(e.id, today + dt.timedelta(days=60), "INV-E")
    # Alarms at E, decided by the operator: one genuine (escalated), one false, one suspicious.
    tri = Triage(profile, op, q)
    ids = []
    for decision in ("genuine", FALSE, SUSPICIOUS):
        iid = _press(q, pid, "pid1", "intrusion")
        q.presented(op, iid)
        q.accept(op, iid)
        if decision == "genuine":
            tri.escalate(iid, "CAD 77", "two men in the garden")
            q.close(op, iid, "police")
            tri.police_result(iid, "no-trace")  # what the police said afterwards
        elif decision == FALSE:
            tri.classify(iid, FALSE, "animal")
        else:
            tri.classify(iid, SUSPICIOUS)
            q.close(op, iid, "other", "nothing more seen")
        ids.append(iid)
    tri.close()
    # Victims' feedback, as staff record it from phone calls.
    fb = Feedback(lo)
    for dep, consent, answers in (
            (a, True, {"police_satisfaction": "5", "safe_before": "2", "safe_after": "4",
                       "extended": "yes", "extended_why": "peace of mind"}),
            (b, False, {}),
            (c, True, {"police_satisfaction": "3", "safe_before": "3", "safe_after": "3",
                       "advice_acted": "no"}),
            (t, True, {"police_satisfaction": "1"})):  # on test: not counted
        fb.record(dep.id, answered=dep.installed + dt.timedelta(days=3), channel="phone",
                  consent=consent, answers=answers)

    period = Period(d(2018, 10, 1), today)
    radius = 500.0
    settings = loans.CrimeSettings(load(folder), radius_m=radius, categories=("Burglary",))
    reader = Triage(profile, coord, q)
    with pytest.raises(PermissionDenied):
        loans.report(profile, op, Triage(profile, op, q), period, settings, today=today)
    rep = loans.report(profile, coord, reader, period, settings, today=today)
    reader.close()

    # Recomputed from the raw records.
    raw = sqlite3.connect(profile.data_dir / "loans.db")
    raw.row_factory = sqlite3.Row
    deps = {r["id"]: r for r in raw.execute(
        "SELECT d.*, s.name, s.lat, s.lon, s.on_test, s.urn, "
        "(SELECT MAX(until) FROM extensions x WHERE x.deployment_id = d.id) AS ext "
        "FROM deployments d JOIN premises s ON s.id = d.premises_id")}
    by_installed = [a.id, b.id, t.id, c.id, e.id]
    assert [r["deployment"] for r in rep["deployments"]] == by_installed
    crimes = [r for r in _crimes(folder) if r["Crime type"] == "Burglary" and r["Latitude"]]
    months_present = sorted({r["Month"] for r in _crimes(folder)})
    events = sqlite3.connect(profile.data_dir / "events.db")
    events.row_factory = sqlite3.Row
    decisions = {r["incident_id"]: r["decision"] for r in raw.execute(
        "SELECT incident_id, decision FROM alarm_decisions ORDER BY id")}
    expected_ext = {}
    totals = Counter()
    site_months = Counter()
    targeted = known = 0
    for got in rep["deployments"]:
        r = deps[got["deployment"]]
        installed, removed = d.fromisoformat(r["installed"]), (
            d.fromisoformat(r["removed"]) if r["removed"] else None)
        funded_end = d.fromisoformat(r["funded_end"])
        assert funded_end == installed + dt.timedelta(days=29)
        if r["ext"]:
            ext = "extended"
        elif removed and removed < funded_end:
            ext = "removed early"
        elif (removed and removed >= funded_end) or today > funded_end:
            ext = "not extended"
        else:
            ext = "within funded days"
        expected_ext[r["id"]] = ext
        assert got["extension"] == ext and got["on_test"] == bool(r["on_test"])
        last = removed or today
        first_m, last_m = installed.strftime("%Y-%m"), last.strftime("%Y-%m")
        near = [x for x in crimes
                if _haversine(r["lat"], r["lon"], float(x["Latitude"]), float(x["Longitude"]))
                <= radius]
        per = {"before": [x for x in near if x["Month"] < first_m],
               "during": [x for x in near if first_m <= x["Month"] <= last_m],
               "after": [x for x in near if x["Month"] > last_m]}
        for p, xs in per.items():
            assert got["crime"]["periods"][p]["total"] == len(xs), (r["name"], p)
        # Months counted: those with a police.uk file, split the same way (a month with no
        # file is not a month without crime).
        n_months = {"before": sum(x < first_m for x in months_present),
                    "during": sum(first_m <= x <= last_m for x in months_present),
                    "after": sum(x > last_m for x in months_present)}
        assert got["crime"]["data_months"] == n_months
        assert got["crime"]["targeted_during"] == bool(per["during"])
        # Alarms: intrusions from its devices while deployed, by the last decision.
        devs = [x["device_id"] for x in raw.execute(
            "SELECT device_id FROM deployment_devices WHERE deployment_id = ?", (r["id"],))]
        incs = [i for i in events.execute("SELECT * FROM incidents WHERE kind = 'intrusion'")
                if i["device_id"] in devs
                and installed <= _t(i["raised_utc"]).astimezone(UK).date() <= last  # type: ignore[union-attr]
                and i["raised_utc"] >= r["installed"]]
        site_created = raw.execute("SELECT created_utc FROM premises WHERE id = ?",
                                   (r["premises_id"],)).fetchone()[0]
        incs = [i for i in incs if i["raised_utc"] >= site_created]
        assert got["alarms"] == len(incs)
        by = Counter(decisions.get(i["id"], "undecided") for i in incs)
        assert {k: v for k, v in got["by_decision"].items() if v} == dict(by)
        assert got["escalations"] == sum(bool(i["police_informed_utc"]) for i in incs)
        results = {x["incident_id"]: x["result"] for x in raw.execute(
            "SELECT incident_id, result FROM police_results ORDER BY id")}
        assert got["by_police_result"] == dict(Counter(
            results.get(i["id"], "awaited") for i in incs if i["police_informed_utc"]))
        surveys = raw.execute("SELECT consent FROM feedback WHERE deployment_id = ?",
                              (r["id"],)).fetchall()
        assert (got["feedback_answered"], got["feedback_declined"]) == (
            sum(x[0] for x in surveys), sum(not x[0] for x in surveys))
        if not r["on_test"]:
            for p in per:
                totals[p] += len(per[p])
                site_months[p] += n_months[p]
            if n_months["during"]:  # a site with no crime file for its months: unknown
                targeted += bool(per["during"])
                known += 1
    assert expected_ext == {a.id: "extended", b.id: "not extended", c.id: "removed early",
                            t.id: "removed early", e.id: "extended"}
    s = rep["summary"]
    assert s["deployments"] == 4  # the site on test is listed, not counted
    assert s["extension_rate"] == {"count": 2, "of": 3, "percent": 66.7}
    assert s["removed_early"] == 1 and s["within_funded_days"] == 0
    assert s["alarms"] == 3 and s["escalations"] == 1
    assert s["police_results"]["no-trace"] == 1 and sum(s["police_results"].values()) == 1
    counted = [r["deployment"] for r in rep["deployments"] if not r["on_test"]]
    scores = [json.loads(x["scores"]) for x in raw.execute(
        "SELECT scores, deployment_id FROM feedback WHERE consent = 1")
        if x["deployment_id"] in counted]
    f = s["feedback"]
    assert (f["answered"], f["declined"]) == (len(scores), 1) == (2, 1)
    sat = [x["police_satisfaction"] for x in scores]
    assert f["questions"]["police_satisfaction"]["counts"] == {
        str(i): sat.count(i) for i in range(1, 6)}
    assert f["questions"]["police_satisfaction"]["median"] == statistics.median(sat)
    assert f["safety_change"] == {"n": 2, "safer": 1, "same": 1, "less_safe": 0}
    assert s["by_decision"] == {"genuine": 1, "suspicious": 1, "false": 1, "undecided": 0}
    assert s["false_share"] == {"count": 1, "of": 3, "percent": 33.3}
    assert s["crime"]["totals"] == dict(totals)
    assert s["crime"]["site_months"] == dict(site_months)
    assert s["crime"]["targeted_during"]["count"] == targeted
    assert s["crime"]["targeted_during"]["of"] == known == 3  # E's months have no file yet
    assert totals["before"] + totals["during"] > 0, "the sites were chosen where burglaries are"
    assert s["crime"]["per_site_month"] == {
        p: round(totals[p] / site_months[p], 2) if site_months[p] else None for p in totals}
    accepted = rep["deployments"][-1]["response_s"]["accepted"]
    assert accepted["n"] == 3 and s["response"]["accepted"]["n"] == 3

    # The CLI: CSV (one row per deployment), HTML, the same summary; no victim's contact.
    env = {**os.environ, "VMS_USER": ADMIN, "VMS_PASSWORD": ADMIN_PASSWORD}
    out = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "report", "loans",
                                 "--from", "2018-10-01", "--to", today.isoformat(),
                                 "--crimes", str(folder), "--radius", str(radius),
                                 "--csv", str(tmp_path / "loans.csv"),
                                 "--html", str(tmp_path / "loans.html"), "--json"),
                         capture_output=True, text=True, env=env, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["summary"] == s
    table = list(csv.DictReader((tmp_path / "loans.csv").open(encoding="utf-8")))
    assert [int(r["deployment"]) for r in table] == by_installed
    assert [int(r["crime_during"]) for r in table] == [
        g["crime"]["periods"]["during"]["total"] for g in rep["deployments"]]
    page = (tmp_path / "loans.html").read_text(encoding="utf-8")
    for words in ("Loaned-camera programme report", "2 of 3 (66.7 %)", "No control area",
                  "snap points", f"Deployment {a.id}", "NP/2018/1", "Victim feedback",
                  "3 surveys recorded: 2 answered, 1 declined",
                  "Police result: Police attended, no trace of offenders",
                  "1 felt safer with the camera, 1 the same"):
        assert words in page, words
    for where in (page, (tmp_path / "loans.csv").read_text(encoding="utf-8")):
        assert "Site A" not in where and "Abington" not in where  # a victim's home: not named
        assert "peace of mind" not in where  # free text is personal: never in a report
    for where in (out.stdout, page, (tmp_path / "loans.csv").read_text(encoding="utf-8")):
        assert "07700 900123" not in where
    # A month whose file has no burglary near anywhere is still a month with data.
    keep = ~((settings.crimes.month == "2018-12") & (settings.crimes.crime_type == "Burglary"))
    sparse = dataclasses.replace(settings, crimes=dataclasses.replace(
        settings.crimes, **{f: getattr(settings.crimes, f)[keep]
                            for f in ("month", "crime_type", "force", "lat", "lon")}))
    again = loans.report(profile, coord, Triage(profile, coord, q), period, sparse, today=today)
    first = again["deployments"][0]
    assert first["deployment"] == a.id
    assert first["crime"]["data_months"] == rep["deployments"][0]["crime"]["data_months"]
    assert first["crime"]["data_months"]["during"] == 3  # Nov, Dec (no burglary), Jan
    bad = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "report", "loans",
                                 "--from", "2018-10-01", "--to", "2019-03-01", "--crimes",
                                 str(folder), "--crime-type", "Bicycle thieves"),
                         capture_output=True, text=True, env=env, timeout=180, check=False)
    assert bad.returncode != 0 and "no crime in the files is of type Bicycle thieves" in (
        bad.stderr), bad.stderr
    lo.remove(e.id, today)
    lo.close()
    store.close()
