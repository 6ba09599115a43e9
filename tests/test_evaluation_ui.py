"""The crime evaluation window on the real police.uk files: the chart draws the counts the
core gives (checked against an independent count), and the CSV and one-page report carry
them and their limits."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import os
import re
from collections import Counter
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.test_evaluation import SITE, _independent, policeuk  # noqa: F401 (fixture)
from ui.loans.evaluation import EvaluationWindow
from vms.loans.loans import Deployment, Premises


def test_the_evaluation_chart_table_csv_and_report_show_the_counts(
        qtbot: QtBot, policeuk: Path, tmp_path: Path) -> None:  # noqa: F811
    site = Premises(7, "Gold Street flats", "Gold Street, Northampton", SITE[0], SITE[1],
                "repeat burglary", "NP/2018/0071", "immediate", False)
    # Installed mid-December, removed mid-January: both whole months count as "during".
    dep = Deployment(3, 7, site.name, site.urn, dt.date(2018, 12, 12), dt.date(2019, 1, 10),
                     None, None, dt.date(2019, 1, 10), True, "")
    win = EvaluationWindow(str(policeuk), [site], [dep])
    qtbot.addWidget(win)
    win.show()
    win.choose_premises(7)
    assert (win.during_from.text(), win.during_to.text()) == ("2018-12", "2019-01")
    assert (win.lat.value(), win.lon.value()) == SITE
    win.radius.setValue(800)
    win.control.setValue(2000)
    assert not win.csv_button.isEnabled()
    with qtbot.waitSignal(win.evaluated, timeout=60000):
        win.run_button.click()

    # The site's line is the independent count per month; the ring's likewise.
    want, unlocated, _ = _independent(policeuk, *SITE, 800.0)
    ring, _, _ = _independent(policeuk, *SITE, 2000.0, inner=800.0)
    months = ["2018-10", "2018-11", "2018-12", "2019-01", "2019-02"]
    per_month = [sum(n for (m, _k), n in want.items() if m == month) for month in months]
    ring_month = [sum(n for (m, _k), n in ring.items() if m == month) for month in months]
    curves = {c.name(): list(c.getData()[1]) for c in win.monthly.listDataItems()}
    assert curves == {"site": per_month, "control area": ring_month}
    assert f"{unlocated:,} without a" in win.status.text()
    # Before = Oct-Nov, during = Dec-Jan, after = Feb: the bars are rates against before.
    before = (per_month[0] + per_month[1]) / 2
    expect = [100.0, (per_month[2] + per_month[3]) / 2 * 100 / before, per_month[4] * 100 / before]
    assert [round(h, 1) for h in win.index_heights("site")] == [round(x, 1) for x in expect]
    assert len(win.index_heights("control area")) == 3
    assert win.table.rowCount() == 5 and win.table.item(2, 1).text() == "during"
    assert win.table.item(2, 2).text() == str(per_month[2])
    burglary = Counter({m: n for (m, k), n in want.items() if k == "Burglary"})
    assert win.table.item(0, 3).text() == str(burglary["2018-10"])
    if os.environ.get("VMS_SCREENSHOT_DIR"):
        win.resize(1250, 860)
        qtbot.wait(300)
        win.grab().save(os.path.join(os.environ["VMS_SCREENSHOT_DIR"], "evaluation-chart.png"))

    # The CSV holds every count; the report the periods, the limits and the chart.
    out_csv, out_html = tmp_path / "eval.csv", tmp_path / "eval.html"
    win.save_csv(out_csv)
    win.save_html(out_html)
    qtbot.waitUntil(lambda: out_csv.exists() and out_html.exists(), timeout=10000)
    with out_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    got = Counter({(r["month"], r["crime_type"]): int(r["count"]) for r in rows
                   if r["area"] == "site"})
    assert got == want
    assert {r["period"] for r in rows if r["month"] == "2018-12"} == {"during"}
    page = out_html.read_text()
    assert "Gold Street flats" in page and "not a day" in page and "anonymised" in page
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
    assert f"<td>during</td><td>2</td><td>{per_month[2] + per_month[3]}</td>" in page

    # The other kind of control: a comparison site (Nottingham city centre), same radius.
    win.choose_comparison(52.9530, -1.1500, 400)
    assert win.control_lat.isVisible()
    with qtbot.waitSignal(win.evaluated, timeout=60000):
        win.run_button.click()
    other, _, _ = _independent(policeuk, 52.9530, -1.1500, 400.0)
    other_month = [sum(n for (m, _k), n in other.items() if m == month) for month in months]
    curves = {c.name(): list(c.getData()[1]) for c in win.monthly.listDataItems()}
    assert curves == {"site": per_month, "control area": other_month}
    assert win.result is not None and win.result["control"]["kind"] == "site"
