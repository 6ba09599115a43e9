"""Issue 27: victim feedback on loaned cameras, and the police's result after an escalation.

Loans, alarms and surveys are made through the real services on a simulated site; what is
stored is read back from loans.db and the audit trail with plain SQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ADMIN_PASSWORD, Sim, vms_cmd
from tests.wall_helpers import Site, register
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.errors import ConfigError, IncidentError, PermissionDenied
from vms.events.engine import Event
from vms.events.store import EventStore
from vms.events.topics import DomainEvent
from vms.incidents.queue import IncidentQueue
from vms.loans.feedback import (
    CHOICE,
    SCALE,
    TEXT,
    Feedback,
    Question,
    add_months,
    decode_csv,
    questions_from_json,
)
from vms.loans.loans import Loans, today_london
from vms.loans.triage import FALSE, Triage
from vms.site.service import SiteService

SUPERVISOR, SUPERVISOR_PASSWORD = "coordinator", "coordinator-pass-123"
D = dt.date


@pytest.fixture(scope="module")
def site(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = register(sim, tmp_path_factory.mktemp("feedback") / "data", ["pid1", "cam1", "pid2", "cam2"])
    admin = s.profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    UserAdmin(s.profile.access, admin).add(SUPERVISOR, Role.SUPERVISOR, SUPERVISOR_PASSWORD)
    yield s
    s.profile.close()


def _loan(lo: Loans, pid: int, urn: str, installed: dt.date) -> int:
    dep = lo.open_loan(name=f"Home {urn}", address="1 Long Lane", lat=52.24, lon=-0.89, urn=urn,
                       reason="repeat burglary", response_level="urgent", contact="07700 900555",
                       devices=[pid], installed=installed, signage=True)
    return dep.id


def _as_coordinator(site: Site) -> tuple[Loans, Feedback]:
    coord = site.profile.access.sign_in(SUPERVISOR, SUPERVISOR_PASSWORD, via="desktop")
    lo = Loans(site.profile, coord)
    return lo, Feedback(lo)


def _raw(site: Site) -> sqlite3.Connection:
    c = sqlite3.connect(site.profile.data_dir / "loans.db")
    c.row_factory = sqlite3.Row
    return c


def _audit(site: Site, action: str) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.user, e.outcome, json.loads(e.detail) if isinstance(e.detail, str) else e.detail)
            for e in site.profile.audit.entries() if e.action == action]


def test_feedback_is_recorded_with_consent_summarised_and_read_only_by_the_coordinator(
        site: Site, tmp_path: Path) -> None:
    profile = site.profile
    lo, fb = _as_coordinator(site)
    today = today_london()
    start = today - dt.timedelta(days=40)
    a = _loan(lo, site.ids["pid1"], "FB/1", start)
    lo.remove(a, start + dt.timedelta(days=30))
    b = _loan(lo, site.ids["pid1"], "FB/2", today - dt.timedelta(days=5))

    # By phone, with consent: scores, a name and free text.
    got = fb.record(a, answered=today - dt.timedelta(days=2), channel="phone", consent=True,
                    answers={"police_satisfaction": "4", "safe_before": "1", "safe_after": "4",
                             "advice_acted": "Partly", "extended": "no",
                             "extended_why": "could not afford it", "comments": ""},
                    respondent="Mrs J Example")
    assert got.consent and got.scores == {"police_satisfaction": 4, "safe_before": 1,
                                          "safe_after": 4, "advice_acted": "partly",
                                          "extended": "no"}
    assert got.retain_until == add_months(today - dt.timedelta(days=2), 12)
    # Declined: the fact only; answers or a name with it are refused, nothing stored.
    with pytest.raises(ConfigError, match="did not consent"):
        fb.record(b, answered=today, channel="phone", consent=False,
                  answers={"police_satisfaction": "5"})
    fb.record(b, answered=today, channel="phone", consent=False, answers={})
    # Bad input: a clear error, nothing stored.
    for answers, said in (({"police_satisfaction": "7"}, "not a number from 1 to 5"),
                          ({"advice_acted": "maybe"}, "not one of"),
                          ({"shoe_size": "9"}, "not questions of the survey"),
                          ({}, "no question was answered")):
        with pytest.raises(ConfigError, match=said):
            fb.record(a, answered=today, channel="phone", consent=True, answers=answers)
    with pytest.raises(ConfigError, match="before the loan was installed"):
        fb.record(a, answered=start - dt.timedelta(days=1), channel="phone", consent=True,
                  answers={"safe_after": "3"})
    with pytest.raises(ConfigError, match="in the future"):
        fb.record(a, answered=today + dt.timedelta(days=1), channel="phone", consent=True,
                  answers={"safe_after": "3"})
    raw = _raw(site)
    rows = raw.execute("SELECT * FROM feedback ORDER BY id").fetchall()
    assert [(r["deployment_id"], r["consent"]) for r in rows] == [(a, 1), (b, 0)]
    assert json.loads(rows[0]["personal"]) == {"extended_why": "could not afford it"}
    assert rows[0]["respondent"] == "Mrs J Example"
    assert rows[1]["personal"] is None and rows[1]["respondent"] is None
    assert json.loads(rows[1]["scores"]) == {}

    # An online form's export: by question text or key, all or nothing, never doubled.
    export = tmp_path / "form.csv"
    uk, iso = today.strftime("%d/%m/%Y"), today.isoformat()
    export.write_text(
        "\ufeffResponse ID,URN,Answered,Consent,Respondent,"
        "\"How satisfied are you with how the police dealt with your case?\","
        "safe_before,safe_after,extended,comments\n"
        f"r-1,FB/2,{uk},Yes,J Smith,5,2,5,not yet decided,\"=HYPERLINK(\"\"x\"\")\"\n"
        f"r-2,fb/1,{iso},no,,,,,,\n",
        encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("response_id,urn,answered,consent,safe_after\n"
                   f"x-1,FB/2,{iso},yes,4\nx-2,NOPE,{iso},yes,3\nx-3,FB/2,yesterday,yes,3\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        fb.import_csv(bad.read_text(encoding="utf-8"))
    assert "line 3: no loan has the URN 'NOPE'" in str(refused.value)
    assert "line 4: answered: 'yesterday' is not a date" in str(refused.value)
    assert raw.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 2  # nothing added
    env = {**os.environ, "VMS_USER": SUPERVISOR, "VMS_PASSWORD": SUPERVISOR_PASSWORD}
    for expect in (f"imported 1 answered and 1 declined survey(s), answered {today:%d %b %Y} "
                   f"to {today:%d %b %Y}; 0 imported or withdrawn before, skipped",
                   "imported 0 answered and 0 declined survey(s); 2 imported or withdrawn "
                   "before, skipped"):
        out = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "feedback", "import",
                                     str(export)), capture_output=True, text=True, env=env,
                             timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        assert expect in out.stdout
    out = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "feedback", "import",
                                 str(bad)), capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert out.returncode != 0 and "nothing was imported" in out.stderr
    rows = raw.execute("SELECT * FROM feedback ORDER BY id").fetchall()
    assert len(rows) == 4
    assert (rows[2]["deployment_id"], rows[2]["channel"], rows[2]["source_ref"]) == (
        b, "online form", "r-1")
    assert json.loads(rows[2]["scores"]) == {"police_satisfaction": 5, "safe_before": 2,
                                             "safe_after": 5, "extended": "not yet decided"}
    assert rows[3]["deployment_id"] == a and rows[3]["consent"] == 0  # fb/1: the URN's case

    # The summary, recomputed from the rows: no personal data in it.
    summary = fb.summary([a, b])
    answered = [json.loads(r["scores"]) for r in rows if r["consent"]]
    assert (summary["responses"], summary["answered"], summary["declined"]) == (
        len(rows), len(answered), sum(not r["consent"] for r in rows))
    sat = [s["police_satisfaction"] for s in answered if "police_satisfaction" in s]
    assert summary["questions"]["police_satisfaction"]["counts"] == {
        str(i): sat.count(i) for i in range(1, 6)}
    assert summary["questions"]["police_satisfaction"]["median"] == 4.5
    assert summary["questions"]["extended"]["counts"] == {"yes": 0, "no": 1,
                                                          "not yet decided": 1}
    pairs = [(s["safe_before"], s["safe_after"]) for s in answered]
    assert summary["safety_change"] == {"n": len(pairs),
                                        "safer": sum(y > x for x, y in pairs),
                                        "same": sum(y == x for x, y in pairs),
                                        "less_safe": sum(y < x for x, y in pairs)}
    assert "extended_why" not in summary["questions"]
    assert "Mrs J Example" not in json.dumps(summary) and "afford" not in json.dumps(summary)

    # Reading the personal data: the coordinator only, each reading audited.
    admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    for who in (site.operator, admin):
        with pytest.raises(PermissionDenied, match="feedback"):
            Feedback(Loans(profile, who)).answers(a)
    read = fb.answers(a)
    assert [x.respondent for x in read] == ["Mrs J Example", ""]
    assert read[0].personal == {"extended_why": "could not afford it"}
    audit = _audit(site, "loans.feedback.read")
    assert [(u, o) for u, o, _ in audit] == [(site.operator.user, "denied"), (ADMIN, "denied"),
                                            (SUPERVISOR, "ok")]
    assert audit[-1][2]["deployment"] == a
    for entry in site.profile.audit.entries():
        assert "Mrs J Example" not in json.dumps(entry.detail)
        assert "afford" not in json.dumps(entry.detail)

    # Retention: past its date the name and free text go; the scores stay for the figures.
    later = read[0].response.retain_until + dt.timedelta(days=1)
    assert fb.purge(later) >= 1
    first = raw.execute("SELECT * FROM feedback WHERE id = ?", (read[0].response.id,)).fetchone()
    assert first["personal"] is None and first["respondent"] is None and first["purged_utc"]
    assert json.loads(first["scores"])["police_satisfaction"] == 4
    assert fb.answers(a)[0].personal == {} and fb.answers(a)[0].response.purged
    # Withdrawn consent: the whole response goes, audited with how.
    # No free text about the victim in the audit trail (administrators read it): a choice.
    with pytest.raises(ConfigError, match="how the victim withdrew"):
        fb.withdraw(rows[2]["id"], "phoned Mrs J Example's daughter")
    fb.withdraw(rows[2]["id"], "phone call")
    assert raw.execute("SELECT COUNT(*) FROM feedback WHERE id = ?",
                       (rows[2]["id"],)).fetchone()[0] == 0
    assert _audit(site, "loans.feedback.withdraw")[-1][2]["how"] == "phone call"
    # The form exports every response each time: the withdrawn one is never brought back.
    again = fb.import_csv(export.read_text(encoding="utf-8"))
    assert (again.added, again.declined, again.already) == (0, 0, 2)
    assert raw.execute("SELECT COUNT(*) FROM feedback WHERE source_ref = 'r-1'").fetchone()[0] == 0
    assert [r[0] for r in raw.execute("SELECT source_ref FROM feedback_withdrawn")] == ["r-1"]
    lo.close()


def test_a_form_export_that_would_lose_or_misread_answers_is_refused_whole(
        site: Site, tmp_path: Path) -> None:
    """Every way a form's CSV could drop answers in silence is refused with its line; nothing
    of a refused file is kept. Old answers imported late keep no personal data."""
    profile = site.profile
    lo, fb = _as_coordinator(site)
    today = today_london()
    long_ago = today - dt.timedelta(days=500)
    _loan(lo, site.ids["cam2"], "FB/9", long_ago)
    uk = f"{today:%d/%m/%Y}"
    head = "response_id,urn,answered,consent,safe_after"
    before = len(fb.responses())

    def refused(text: str, said: str) -> None:
        with pytest.raises(ConfigError) as got:
            fb.import_csv(text)
        assert said in str(got.value), str(got.value)
        assert len(fb.responses()) == before

    refused(f"{head},Email address,Timestamp\nq-1,FB/9,{uk},yes,4,a@b.c,x\n",
            "'Email address', 'Timestamp'")
    refused(f"{head},With the camera installed, how safe did you feel at home?\n",
            "neither a question")  # unquoted: its words become columns
    refused(f'{head},"With the camera installed, how safe did you feel at home?"\n'
            f"q-1,FB/9,{uk},yes,4,4\n", "two columns are both 'safe_after'")
    refused(f"{head}\n,,,,\n\nq-1,FB/9,{uk},yes,4,5\nq-2,FB/9,{uk},yes,3\n",
            "line 4: 6 cells under 5 columns")  # blank rows skipped, lines still right
    refused(f"{head}\nq-1,FB/9,{uk},yes,4\nq-1,FB/9,{uk},yes,2\n",
            "line 3: response id q-1 is in the file twice, with different answers")
    refused(f"{head}\nq-1,FB/9,11/25/2025,yes,4\n", "line 2: answered: '11/25/2025' is "
            "month first")
    refused(f"{head}\nq-1,FB/9,{uk},yes,4\x00\n", "NUL bytes")
    # The same row twice (a form's double export) is one response.
    got = fb.import_csv(f"{head}\n,,,,\nq-1,FB/9,{uk},yes,4\nq-1,FB/9,{uk},yes,4\n")
    assert (got.added, got.already, got.first, got.last) == (1, 1, today, today)
    # Late: answered 13 months ago, so past retention on arrival: the scores only.
    old = long_ago + dt.timedelta(days=30)
    fb.import_csv(f"response_id,urn,answered,consent,respondent,safe_after,comments\n"
                  f"q-3,FB/9,{old.isoformat()},yes,Mr Old,5,kept nothing\n")
    raw = _raw(site)
    row = raw.execute("SELECT * FROM feedback WHERE source_ref = 'q-3'").fetchone()
    assert row["personal"] is None and row["respondent"] is None and row["purged_utc"]
    assert json.loads(row["scores"]) == {"safe_after": 5}
    # Excel's Windows "CSV" reads; a damaged UTF-8 file or UTF-16 is refused, not garbled.
    assert decode_csv("urn,respondent\nFB/9,Zo\u00eb\n".encode("cp1252")).endswith("Zo\u00eb\n")
    assert decode_csv("\ufeffurn\nZo\u00eb\n".encode()) == "urn\nZo\u00eb\n"
    for bad, said in (("Zo\u00eb".encode() + b"\xff", "not valid UTF-8"),
                      ("urn".encode("utf-16"), "UTF-16")):
        with pytest.raises(ConfigError, match=said):
            decode_csv(bad)
    # Retention needs nobody to open the feedback: the site service blanks it by itself.
    fb.import_csv(f"response_id,urn,answered,consent,respondent,comments\n"
                  f"q-4,FB/9,{uk},yes,Ms Due,due for purging\n")
    svc = SiteService(profile, record=False, serve_clients=False)
    try:
        assert svc.purge_personal_data(today + dt.timedelta(days=400)) >= 1
    finally:
        svc.stop()
    row = raw.execute("SELECT * FROM feedback WHERE source_ref = 'q-4'").fetchone()
    assert row["personal"] is None and row["respondent"] is None and row["purged_utc"]
    purges = _audit(site, "loans.feedback.purge")
    assert purges[-1][0] == "site-service" and purges[-1][2]["count"] >= 1
    lo.close()


def test_changed_questions_keep_old_answers_with_the_questions_they_answered(
        site: Site) -> None:
    profile = site.profile
    lo, fb = _as_coordinator(site)
    today = today_london()
    dep = _loan(lo, site.ids["cam1"], "FB/3", today - dt.timedelta(days=10))
    old = fb.record(dep, answered=today, channel="phone", consent=True,
                    answers={"police_satisfaction": "2"})
    with pytest.raises(ConfigError, match="same key"):
        questions_from_json(json.dumps([{"key": "a", "text": "A?", "kind": "scale"}] * 2))
    with pytest.raises(ConfigError, match="at least two options"):
        questions_from_json('[{"key": "a", "text": "A?", "kind": "choice", "options": ["x"]}]')
    with pytest.raises(PermissionDenied):
        Feedback(Loans(profile, site.operator)).set_questions(
            (Question("x", "X?", SCALE),))
    new = (Question("police_satisfaction", "How satisfied with the police?", SCALE,
                    low="not at all", high="fully"),
           Question("would_recommend", "Would you recommend the scheme?", CHOICE,
                    ("yes", "no")),
           Question("why", "Why?", TEXT))
    fb.set_questions(new)
    assert fb.survey().questions == new
    with pytest.raises(ConfigError, match="give the choice question a new key"):
        fb.set_questions((Question("safe_after", "Safer?", CHOICE, ("yes", "no")),))
    now = fb.record(dep, answered=today, channel="paper", consent=True,
                    answers={"would_recommend": "Yes", "why": "felt watched over"})
    assert fb.questions_of(old).question("safe_before") is not None  # the old version
    assert fb.questions_of(now).question("safe_before") is None
    fb.set_questions((*new[:1], Question("would_recommend", "Would you recommend it?", CHOICE,
                                         ("yes", "no", "not sure")), new[2]))
    fb.record(dep, answered=today, channel="phone", consent=True,
              answers={"would_recommend": "not sure"})
    summary = fb.summary([dep])
    assert summary["questions"]["police_satisfaction"]["counts"]["2"] == 1
    # An option added in a later version is counted with the earlier answers.
    assert summary["questions"]["would_recommend"]["counts"] == {"yes": 1, "no": 0,
                                                                 "not sure": 1}
    # The CLI prints the current questions.
    env = {**os.environ, "VMS_USER": ADMIN, "VMS_PASSWORD": ADMIN_PASSWORD}
    out = subprocess.run(vms_cmd("--data-dir", str(profile.data_dir), "feedback", "questions"),
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert [q["key"] for q in json.loads(out.stdout)] == [q.key for q in new]
    lo.close()


def test_the_police_result_of_an_escalation_is_recorded_after_the_call(site: Site) -> None:
    profile, op = site.profile, site.operator
    coord = profile.access.sign_in(SUPERVISOR, SUPERVISOR_PASSWORD, via="desktop")
    q = IncidentQueue(profile, EventStore.for_profile(profile.data_dir))
    lo = Loans(profile, coord)
    today = today_london()
    pid = site.ids["pid2"]
    dep = _loan(lo, pid, "FB/4", today - dt.timedelta(days=1))
    tri = Triage(profile, op, q)
    iids = []

    def alarm() -> int:
        ev = DomainEvent("intrusion", "PID", True, False, False, None, "t")
        inc = q.on_event(Event(1, pid, "pid2", "Loans", ev, 0.0))
        assert inc is not None
        q.accept(op, inc.id)
        iids.append(inc.id)
        return inc.id

    tri.escalate(alarm(), "CAD 101", "a man trying the back door")
    q.close(op, iids[0], "police")
    tri.classify(alarm(), FALSE, "animal")
    with pytest.raises(IncidentError, match="was not escalated"):
        tri.police_result(iids[1], "arrest")
    with pytest.raises(IncidentError, match="choose the police result"):
        tri.police_result(iids[0], "caught")
    with pytest.raises(IncidentError, match="say what the police did"):
        tri.police_result(iids[0], "other")
    admin = profile.access.sign_in(ADMIN, ADMIN_PASSWORD, via="cli")
    UserAdmin(profile.access, admin).add("fitter", Role.INSTALLER, "fitter-password-12")
    fitter = profile.access.sign_in("fitter", "fitter-password-12", via="desktop")
    with pytest.raises(PermissionDenied):  # neither handles calls nor manages loans
        Triage(profile, fitter, q).police_result(iids[0], "attended")
    got = tri.police_result(iids[0], "attended")  # the operator, after the call was closed
    assert got.words == "Police attended, no arrest"
    later = Triage(profile, coord, q).police_result(iids[0], "arrest", "one arrested nearby")
    assert later.result == "arrest"
    report = Triage(profile, coord, q).report(dep)
    assert report["by_police_result"] == {"arrest": 1}
    assert report["escalations"][0]["police_result"] == "arrest"
    raw = _raw(site)
    assert [r["result"] for r in raw.execute(
        "SELECT result FROM police_results WHERE incident_id = ? ORDER BY id", (iids[0],))] == [
        "attended", "arrest"]
    audit = _audit(site, "alarm.police_result")
    assert [(u, d["result"]) for u, o, d in audit if o == "ok"][-2:] == [
        (op.user, "attended"), (SUPERVISOR, "arrest")]
    tri.close()
    lo.close()
