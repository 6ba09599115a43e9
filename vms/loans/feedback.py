"""Victim feedback on a loan: a short survey, recorded by staff from a phone call or
imported from an online form's CSV export, with consent and retention.

The survey's questions are configurable; each version is kept, and a response keeps the
version it answered. Answers to scale and choice questions are not personal and are what
the programme report counts. The respondent's name and free-text answers are personal
data: only roles with ``loans.feedback.read`` read them, each reading is audited, and they
are blanked once the response's retention date has passed (``purge``, also run before every
reading). A victim who declines is recorded as declined and nothing else; one who withdraws
consent has the whole response deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from vms.access.roles import Permission
from vms.errors import ConfigError
from vms.events.store import utc_now
from vms.loans.loans import Deployment, Loans, today_london

SCALE, CHOICE, TEXT = "scale", "choice", "text"
KINDS = (SCALE, CHOICE, TEXT)
CHANNELS = ("phone", "online form", "paper", "in person")
WITHDRAWN_BY = ("phone call", "email", "letter", "in person", "online form")
RETENTION_MONTHS = 12  # after the answer: the scheme's evaluation cycle
CSV_MAX_BYTES = 5_000_000
TEXT_MAX = 2000


@dataclass(frozen=True)
class Question:
    """One question. A scale is answered 1 (``low``) to 5 (``high``); a choice with one of
    ``options``; text freely (and is personal data)."""

    key: str
    text: str
    kind: str
    options: tuple[str, ...] = ()
    low: str = ""
    high: str = ""

    def check(self) -> None:
        if not self.key or not self.key.replace("_", "").isalnum() or not self.key.isascii():
            raise ConfigError(f"question key {self.key!r}: letters, digits and _ only")
        if not self.text.strip():
            raise ConfigError(f"question {self.key}: the question's text is empty")
        if self.kind not in KINDS:
            raise ConfigError(f"question {self.key}: kind must be one of {', '.join(KINDS)}")
        if self.kind == CHOICE and len(self.options) < 2:
            raise ConfigError(f"question {self.key}: a choice needs at least two options")

    def parse(self, raw: str) -> int | str | None:
        """An answer as typed or exported; empty is "not answered"."""
        text = raw.strip()
        if not text:
            return None
        if self.kind == SCALE:
            try:
                n = int(text.split()[0].rstrip(".-–"))
            except (ValueError, IndexError):
                raise ConfigError(f"{self.key}: {text!r} is not a number from 1 to 5") from None
            if not 1 <= n <= 5:
                raise ConfigError(f"{self.key}: {n} is not a number from 1 to 5")
            return n
        if self.kind == CHOICE:
            for o in self.options:
                if o.casefold() == text.casefold():
                    return o
            raise ConfigError(f"{self.key}: {text!r} is not one of {', '.join(self.options)}")
        if len(text) > TEXT_MAX:
            raise ConfigError(f"{self.key}: longer than {TEXT_MAX} characters")
        return text


DEFAULT_QUESTIONS: tuple[Question, ...] = (
    Question("police_satisfaction", "How satisfied are you with how the police dealt with "
             "your case?", SCALE, low="very dissatisfied", high="very satisfied"),
    Question("safe_before", "Before the camera was installed, how safe did you feel at home?",
             SCALE, low="very unsafe", high="very safe"),
    Question("safe_after", "With the camera installed, how safe did you feel at home?", SCALE,
             low="very unsafe", high="very safe"),
    Question("advice_acted", "Did you act on the crime-prevention advice you were given?",
             CHOICE, ("yes", "partly", "no", "no advice given")),
    Question("extended", "Did you extend the loan after the 30 funded days?", CHOICE,
             ("yes", "no", "not yet decided")),
    Question("extended_why", "Why did you extend the loan, or not?", TEXT),
    Question("comments", "Is there anything else you would like to tell us?", TEXT),
)


@dataclass(frozen=True)
class Survey:
    id: int | None  # None: the default, never saved
    questions: tuple[Question, ...]

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


@dataclass(frozen=True)
class Response:
    """A response as the programme sees it: no respondent, no free text."""

    id: int
    deployment_id: int
    survey_id: int | None
    answered: dt.date
    channel: str
    consent: bool
    scores: dict[str, Any]
    retain_until: dt.date
    purged: bool


@dataclass(frozen=True)
class Answers:
    """A response with its personal data, as only ``Feedback.answers`` returns it."""

    response: Response
    respondent: str
    personal: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Imported:
    added: int
    declined: int
    already: int  # rows whose form response id was imported (or withdrawn) before
    first: dt.date | None = None  # the answer dates imported, to check against the form
    last: dt.date | None = None


def questions_from_json(text: str) -> tuple[Question, ...]:
    """A survey from JSON: a list of {key, text, kind, options?, low?, high?}."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the survey is not valid JSON: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ConfigError("the survey must be a JSON list of questions")
    out = []
    for i, q in enumerate(raw, 1):
        if not isinstance(q, dict):
            raise ConfigError(f"question {i} is not an object")
        try:
            out.append(Question(str(q["key"]), str(q["text"]), str(q["kind"]),
                                tuple(str(o) for o in q.get("options", ())),
                                str(q.get("low", "")), str(q.get("high", ""))))
        except KeyError as exc:
            raise ConfigError(f"question {i} has no {exc.args[0]!r}") from None
    _check_all(out)
    return tuple(out)


def _check_all(questions: list[Question] | tuple[Question, ...]) -> None:
    keys = [q.key for q in questions]
    if len(set(keys)) != len(keys):
        raise ConfigError("two questions have the same key")
    for q in questions:
        q.check()


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


class Feedback:
    """Surveys and responses in the loans store, as the signed-in user of ``loans``."""

    def __init__(self, loans: Loans) -> None:
        self.loans = loans
        self.store = loans.store
        self.access = loans.access
        self.session = loans.session

    # -- the survey --------------------------------------------------------------------------
    def survey(self) -> Survey:
        row = self.store.conn.execute(
            "SELECT id, questions FROM surveys ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return Survey(None, DEFAULT_QUESTIONS)
        return self._survey(int(row[0]), str(row[1]))

    @staticmethod
    def _survey(sid: int, text: str) -> Survey:
        return Survey(sid, tuple(Question(**{**q, "options": tuple(q.get("options", ()))})
                                 for q in json.loads(text)))

    def _survey_by_id(self, sid: int | None) -> Survey:
        if sid is None:
            return Survey(None, DEFAULT_QUESTIONS)
        row = self.store.conn.execute("SELECT questions FROM surveys WHERE id = ?",
                                      (sid,)).fetchone()
        return self._survey(sid, str(row[0])) if row else Survey(None, DEFAULT_QUESTIONS)

    def set_questions(self, questions: tuple[Question, ...]) -> Survey:
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.survey.set")
        _check_all(questions)
        with self.store.transaction() as c:
            # A key keeps its kind across versions: the programme report counts answers by
            # key, and a scale that became a choice could no longer be counted as either.
            for row in c.execute("SELECT questions FROM surveys"):
                for old in json.loads(row[0]):
                    new = next((q for q in questions if q.key == old["key"]), None)
                    if new is not None and new.kind != old["kind"]:
                        raise ConfigError(
                            f"question {new.key} was a {old['kind']} question in an earlier "
                            f"version, and answers to it are kept: give the {new.kind} "
                            "question a new key")
            cur = c.execute("INSERT INTO surveys (questions, user, utc) VALUES (?,?,?)",
                            (json.dumps([asdict(q) for q in questions]), self.session.user,
                             utc_now()))
            sid = int(cur.lastrowid or 0)
        self.access.record(self.session, "loans.survey.set",
                           detail={"survey": sid, "questions": [q.key for q in questions]})
        return self.survey()

    def _current_id(self, c: sqlite3.Connection) -> int | None:
        """The survey being answered, saving the default the first time it is used so a
        later change of questions cannot change what old answers meant."""
        row = c.execute("SELECT id FROM surveys ORDER BY id DESC LIMIT 1").fetchone()
        if row is not None:
            return int(row[0])
        cur = c.execute("INSERT INTO surveys (questions, user, utc) VALUES (?,?,?)",
                        (json.dumps([asdict(q) for q in DEFAULT_QUESTIONS]), "system",
                         utc_now()))
        return int(cur.lastrowid or 0)

    # -- recording -------------------------------------------------------------------------------
    def record(self, deployment_id: int, *, answered: dt.date, channel: str, consent: bool,
               answers: dict[str, str], respondent: str = "", source_ref: str | None = None
               ) -> Response:
        """One response, typed in by staff. Without consent only the refusal is kept (a
        declined survey still counts in the response rate)."""
        self.access.require(self.session, Permission.LOANS_MANAGE, action="loans.feedback.add")
        dep = self.loans.deployment(deployment_id)
        row = self._checked(dep, answered, channel, consent, answers, respondent, self.survey())
        with self.store.transaction() as c:
            fid = self._insert(c, row, source_ref)
        self.access.record(self.session, "loans.feedback.add",
                           detail={"feedback": fid, "deployment": dep.id, "consent": consent,
                                   "channel": channel})
        return self.response(fid)

    def _checked(self, dep: Deployment, answered: dt.date, channel: str, consent: bool,
                 answers: dict[str, str], respondent: str, survey: Survey) -> dict[str, Any]:
        if channel not in CHANNELS:
            raise ConfigError(f"how the feedback was given: one of {', '.join(CHANNELS)}")
        if answered < dep.installed:
            raise ConfigError(f"answered on {answered:%d %b %Y}, before the loan was installed "
                              f"({dep.installed:%d %b %Y})")
        if answered > today_london():
            raise ConfigError(f"answered on {answered:%d %b %Y}: that is in the future")
        unknown = [k for k in answers if survey.question(k) is None]
        if unknown:
            raise ConfigError(f"not questions of the survey: {', '.join(unknown)}")
        scores: dict[str, Any] = {}
        personal: dict[str, str] = {}
        if consent:
            for q in survey.questions:
                value = q.parse(answers.get(q.key, ""))
                if value is None:
                    continue
                if q.kind == TEXT:
                    personal[q.key] = str(value)
                else:
                    scores[q.key] = value
            if not scores and not personal:
                raise ConfigError("no question was answered: record the survey as declined "
                                  "if the victim did not want to answer")
        elif any(v.strip() for v in answers.values()) or respondent.strip():
            raise ConfigError("the victim did not consent: no answer or name may be kept")
        if len(respondent) > 200:
            raise ConfigError("the respondent's name is longer than 200 characters")
        return {"deployment_id": dep.id, "survey_id": survey.id, "answered": answered,
                "channel": channel, "consent": consent, "scores": scores,
                "personal": personal if consent else None,
                "respondent": respondent.strip() if consent else None}

    def _insert(self, c: sqlite3.Connection, row: dict[str, Any], source_ref: str | None
                ) -> int:
        sid = row["survey_id"] if row["survey_id"] is not None else self._current_id(c)
        retain = add_months(row["answered"], RETENTION_MONTHS)
        personal, respondent = row["personal"], row["respondent"]
        purged = None
        if retain < today_london():  # an old answer imported late: its personal data is
            personal = respondent = None  # already past retention, so it is never stored
            purged = utc_now()
        cur = c.execute(
            "INSERT INTO feedback (deployment_id, survey_id, answered, channel, consent, scores, "
            "personal, respondent, retain_until, source_ref, user, utc, purged_utc) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (row["deployment_id"], sid, row["answered"].isoformat(), row["channel"],
             int(row["consent"]), json.dumps(row["scores"]),
             json.dumps(personal) if personal is not None else None,
             respondent, retain.isoformat(), source_ref, self.session.user, utc_now(), purged))
        return int(cur.lastrowid or 0)

    def import_csv(self, text: str) -> Imported:
        """Responses from an online form's CSV export, all or nothing: one bad row refuses
        the file with every bad row's line and reason, so a corrected file can be imported
        again. Rows whose ``response_id`` was imported before are skipped, not doubled, and
        so are those whose victim later withdrew consent (never brought back).

        Columns: ``urn`` (the loan's police URN), ``answered`` (YYYY-MM-DD or DD/MM/YYYY),
        ``consent`` (yes/no); optional ``response_id``, ``respondent``, ``installed`` (to
        pick one of several loans at the URN); then each question by its key or its text.
        Any other column is refused, not ignored: its answers would be lost in silence.
        """
        self.access.require(self.session, Permission.LOANS_MANAGE,
                            action="loans.feedback.import")
        if len(text) > CSV_MAX_BYTES:
            raise ConfigError("the file is larger than 5 MB: not a survey export")
        if "\x00" in text:
            raise ConfigError("the file holds NUL bytes: it is not a CSV export as text "
                              "(a spreadsheet's own format, or UTF-16?)")
        survey = self.survey()
        try:
            parsed = _read_csv(text.lstrip("\ufeff"), survey)
        except csv.Error as exc:
            raise ConfigError(f"the file cannot be read as CSV: {exc}") from None
        deployments = self.loans.deployments(include_removed=True)
        rows: list[tuple[dict[str, Any], str | None]] = []
        errors: list[str] = []
        seen: dict[str, dict[str, str]] = {}
        already = 0
        for line, cells in parsed:
            ref = cells.pop("response_id", "").strip() or None
            try:
                if ref is not None and ref in seen:
                    if seen[ref] != cells:
                        raise ConfigError(f"response id {ref} is in the file twice, with "
                                          "different answers")
                    already += 1
                    continue
                if ref is not None and self._known_ref(self.store.conn, ref):
                    already += 1
                    continue
                answered = _parse_date(cells.get("answered", ""))
                consent = _yes_no(cells.get("consent", ""))
                dep = _pick(deployments, cells.get("urn", "").strip(),
                            cells.get("installed", "").strip(), answered)
                answers = {k: v for k, v in cells.items() if k not in _FIXED}
                respondent = cells.get("respondent", "")
                rows.append((self._checked(dep, answered, "online form", consent,
                                           answers if consent else {},
                                           respondent if consent else "", survey), ref))
                if ref is not None:
                    seen[ref] = dict(cells)
            except ConfigError as exc:
                errors.append(f"line {line}: {exc}")
        if errors:
            shown = errors[:20] + ([f"… and {len(errors) - 20} more"] if len(errors) > 20 else [])
            raise ConfigError("nothing was imported; correct these rows and import the file "
                              "again:\n" + "\n".join(shown))
        with self.store.transaction() as c:
            # Checked again inside the write lock: another import of the same export may
            # have finished since the rows were read.
            fresh = [(row, ref) for row, ref in rows if ref is None or not self._known_ref(c, ref)]
            already += len(rows) - len(fresh)
            ids = [self._insert(c, row, ref) for row, ref in fresh]
        declined = sum(not r["consent"] for r, _ in fresh)
        days = sorted(r["answered"] for r, _ in fresh)
        self.access.record(self.session, "loans.feedback.import",
                           detail={"added": len(ids), "declined": declined, "already": already,
                                   "feedback": ids[:100]})
        return Imported(len(ids) - declined, declined, already,
                        days[0] if days else None, days[-1] if days else None)

    @staticmethod
    def _known_ref(c: sqlite3.Connection, ref: str) -> bool:
        return c.execute("SELECT 1 FROM feedback WHERE source_ref = ? UNION ALL "
                         "SELECT 1 FROM feedback_withdrawn WHERE source_ref = ?",
                         (ref, ref)).fetchone() is not None

    # -- reading ------------------------------------------------------------------------------
    def responses(self, deployment_ids: list[int] | None = None) -> list[Response]:
        """Responses without personal data: for the programme's figures and lists."""
        self.access.require(self.session, Permission.LOANS_VIEW, action="loans.feedback.list")
        self.purge()
        sql = ("SELECT id, deployment_id, survey_id, answered, channel, consent, scores, "
               "retain_until, purged_utc FROM feedback")
        rows = self.store.conn.execute(sql + " ORDER BY answered, id").fetchall()
        out = [_response(r) for r in rows]
        if deployment_ids is not None:
            wanted = set(deployment_ids)
            out = [r for r in out if r.deployment_id in wanted]
        return out

    def response(self, fid: int) -> Response:
        row = self.store.conn.execute(
            "SELECT id, deployment_id, survey_id, answered, channel, consent, scores, "
            "retain_until, purged_utc FROM feedback WHERE id = ?", (fid,)).fetchone()
        if row is None:
            raise ConfigError(f"there is no feedback {fid}")
        return _response(row)

    def answers(self, deployment_id: int) -> list[Answers]:
        """Every response to one loan with its personal data: audited, role-limited."""
        self.access.require(self.session, Permission.FEEDBACK_READ,
                            action="loans.feedback.read")
        self.purge()
        rows = self.store.conn.execute(
            "SELECT id, deployment_id, survey_id, answered, channel, consent, scores, "
            "retain_until, purged_utc, personal, respondent FROM feedback "
            "WHERE deployment_id = ? ORDER BY answered, id", (deployment_id,)).fetchall()
        out = [Answers(_response(r), str(r["respondent"] or ""),
                       json.loads(r["personal"]) if r["personal"] else {}) for r in rows]
        self.access.record(self.session, "loans.feedback.read",
                           detail={"deployment": deployment_id,
                                   "feedback": [a.response.id for a in out]})
        return out

    def questions_of(self, response: Response) -> Survey:
        return self._survey_by_id(response.survey_id)

    def summary(self, deployment_ids: list[int]) -> dict[str, Any]:
        """The feedback on these loans, counted (see ``summary``)."""
        return self.summarise(self.responses(deployment_ids))

    def summarise(self, responses: list[Response]) -> dict[str, Any]:
        """Responses already read, counted with the survey versions they answered."""
        surveys = {sid: self._survey_by_id(sid) for sid in {r.survey_id for r in responses}}
        return summary(responses, surveys)

    def withdraw(self, fid: int, how: str) -> None:
        """The victim withdrew consent: the whole response goes, scores included; a form's
        response id is kept (nothing else) so that the next import skips it. ``how`` is one
        of ``WITHDRAWN_BY``: the audit trail, which administrators read, holds no free text
        about the victim."""
        self.access.require(self.session, Permission.FEEDBACK_READ,
                            action="loans.feedback.withdraw")
        if how not in WITHDRAWN_BY:
            raise ConfigError(f"how the victim withdrew consent: one of {', '.join(WITHDRAWN_BY)}")
        gone = self.response(fid)
        with self.store.transaction() as c:
            ref = c.execute("SELECT source_ref FROM feedback WHERE id = ?", (fid,)).fetchone()
            if ref is not None and ref[0]:
                c.execute("INSERT OR IGNORE INTO feedback_withdrawn (source_ref, utc) "
                          "VALUES (?, ?)", (ref[0], utc_now()))
            c.execute("DELETE FROM feedback WHERE id = ?", (fid,))
        self.access.record(self.session, "loans.feedback.withdraw",
                           detail={"feedback": fid, "deployment": gone.deployment_id,
                                   "how": how})

    def purge(self, today: dt.date | None = None) -> int:
        """Blank the personal data of responses past their retention date; the scores stay
        for the programme figures. Returns how many were purged (audited when any). Reads
        first, so the usual case (nothing due) takes no write lock."""
        day = (today or today_london()).isoformat()
        due = "retain_until < ? AND purged_utc IS NULL"
        if self.store.conn.execute(f"SELECT 1 FROM feedback WHERE {due}",  # noqa: S608
                                   (day,)).fetchone() is None:
            return 0
        with self.store.transaction() as c:
            ids = [int(r[0]) for r in c.execute(f"SELECT id FROM feedback WHERE {due}",  # noqa: S608
                                                (day,))]
            c.execute(f"UPDATE feedback SET personal = NULL, respondent = NULL, "  # noqa: S608
                      f"purged_utc = ? WHERE {due}", (utc_now(), day))
        if ids:
            self.access.record(self.session, "loans.feedback.purge",
                               detail={"feedback": ids[:1000], "count": len(ids),
                                       "before": day})
        return len(ids)


def _response(r: sqlite3.Row) -> Response:
    return Response(int(r["id"]), int(r["deployment_id"]),
                    int(r["survey_id"]) if r["survey_id"] is not None else None,
                    dt.date.fromisoformat(r["answered"]), str(r["channel"]), bool(r["consent"]),
                    json.loads(r["scores"] or "{}"), dt.date.fromisoformat(r["retain_until"]),
                    r["purged_utc"] is not None)


_FIXED = ("urn", "answered", "consent", "response_id", "respondent", "installed")


def _columns(head: list[str], survey: Survey) -> dict[str, str]:
    """Each CSV header to a fixed field or a question key (by key or by question text).
    A header that is neither, or two headers for one field, refuse the file: a question
    reworded on the form would otherwise lose its answers without a word."""
    out: dict[str, str] = {}
    by_text = {q.text.casefold().strip(): q.key for q in survey.questions}
    by_key = {q.key.casefold(): q.key for q in survey.questions}
    unknown: list[str] = []
    for h in head:
        low = h.casefold().strip()
        name = low.replace(" ", "_")
        field = (name if name in _FIXED else by_key.get(low) or by_text.get(low))
        if field is None:
            unknown.append(h)
        elif field in out.values():
            raise ConfigError(f"two columns are both {field!r}: keep one and import again")
        else:
            out[h] = field
    if unknown:
        raise ConfigError(
            "columns that are neither a question of the survey nor urn, answered, consent, "
            f"response_id, respondent or installed: {', '.join(repr(u) for u in unknown)}. "
            "Remove them, or name them by a question's key (vms feedback questions), and "
            "import again")
    return out


def _read_csv(text: str, survey: Survey) -> list[tuple[int, dict[str, str]]]:
    """The rows of an export with the line each starts on, keyed by field; rows with every
    cell empty (Excel's trailing ",,,,") skipped; a row with more cells than the header
    refused (an unquoted comma would shift its answers into the wrong questions)."""
    reader = csv.reader(io.StringIO(text))
    head = [h.strip() for h in next(reader, [])]
    columns = _columns(head, survey)
    for need in ("urn", "answered", "consent"):
        if need not in columns.values():
            raise ConfigError(f"the file has no {need!r} column (columns: "
                              f"{', '.join(head) or 'none'})")
    fields = [columns[h] for h in head]
    out: list[tuple[int, dict[str, str]]] = []
    wrong: list[str] = []
    line = reader.line_num + 1
    for row in reader:
        if any(cell.strip() for cell in row):
            if len(row) > len(fields):
                wrong.append(f"line {line}: {len(row)} cells under {len(fields)} columns "
                             "(a comma in an answer not in quotes?)")
            else:
                out.append((line, dict(zip(fields, row, strict=False))))
        line = reader.line_num + 1
    if wrong:
        raise ConfigError("nothing was imported; correct these rows and import the file "
                          "again:\n" + "\n".join(wrong[:20]))
    return out


def decode_csv(raw: bytes) -> str:
    """An export's bytes as text: UTF-8 (with or without Excel's BOM), or Windows-1252 (Excel's
    "CSV" on Windows) when the file has no UTF-8 in it at all. A UTF-8 file with a damaged
    byte is refused rather than read as 1252, which would garble every accented name."""
    if len(raw) > CSV_MAX_BYTES:
        raise ConfigError("the file is larger than 5 MB: not a survey export")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError("the file is UTF-16: save it from the spreadsheet as "
                          "\"CSV UTF-8\" and import again")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if re.search(rb"[\xc2-\xf4][\x80-\xbf]", raw):
            raise ConfigError(f"the file is not valid UTF-8 (byte {exc.start + 1}): save it "
                              "as \"CSV UTF-8\" and import again") from None
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        raise ConfigError("the file's text is neither UTF-8 nor Windows-1252: save it as "
                          "\"CSV UTF-8\" and import again") from None


def _parse_date(text: str) -> dt.date:
    """YYYY-MM-DD, or day first as written in the UK. A date that only makes sense month
    first (03/25/2026) is refused: the whole export is then month first, and its other
    dates would be read wrongly without a word."""
    t = text.strip()
    m = re.match(r"(\d{1,2})/(\d{1,2})/\d{4}", t)
    if m and int(m.group(2)) > 12 >= int(m.group(1)):
        raise ConfigError(f"answered: {t!r} is month first; export the dates as DD/MM/YYYY "
                          "or YYYY-MM-DD")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M:%S",
                "%d/%m/%Y %H:%M"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ConfigError(f"answered: {t!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _yes_no(text: str) -> bool:
    t = text.strip().casefold()
    if t in ("yes", "y", "true", "1", "agreed", "i agree"):
        return True
    if t in ("no", "n", "false", "0", "declined"):
        return False
    raise ConfigError(f"consent: {text.strip()!r} is not yes or no")


def _pick(deployments: list[Deployment], urn: str, installed: str,
          answered: dt.date) -> Deployment:
    """The loan a row is about: at its URN, the one installed on ``installed`` if given,
    else the latest installed on or before the answer."""
    if not urn:
        raise ConfigError("no URN")
    at = [d for d in deployments if d.urn.casefold() == urn.casefold()]
    if not at:
        raise ConfigError(f"no loan has the URN {urn!r}")
    if installed:
        day = _parse_date(installed)
        exact = [d for d in at if d.installed == day]
        if not exact:
            raise ConfigError(f"no loan at {urn} was installed on {day:%d %b %Y}")
        return exact[0]
    before = [d for d in at if d.installed <= answered]
    if not before:
        raise ConfigError(f"the loan at {urn} was installed after the answer")
    return max(before, key=lambda d: (d.installed, d.id))


def summary(responses: list[Response], surveys: dict[int | None, Survey]) -> dict[str, Any]:
    """What the programme report says of the feedback: no personal data, only counts.

    Questions are matched by key across survey versions. Safety before and after are
    compared within each response that answered both ("felt safer" is a change in one
    person's answer, not a difference of averages)."""
    answered = [r for r in responses if r.consent]
    out: dict[str, Any] = {"responses": len(responses), "answered": len(answered),
                           "declined": len(responses) - len(answered), "questions": {}}
    keys: dict[str, Question] = {}
    options: dict[str, list[str]] = {}
    for r in answered:
        for q in surveys[r.survey_id].questions:
            keys.setdefault(q.key, q)
            seen = options.setdefault(q.key, [])
            seen += [o for o in q.options if o not in seen]
    for key, q in keys.items():
        if q.kind == TEXT:
            continue
        values = [r.scores[key] for r in answered if key in r.scores]
        entry: dict[str, Any] = {"text": q.text, "kind": q.kind, "n": len(values)}
        if q.kind == SCALE:
            values = [v for v in values if isinstance(v, int)]  # a key never changes kind
            entry["n"] = len(values)
            entry["counts"] = {str(i): sum(v == i for v in values) for i in range(1, 6)}
            entry["median"] = statistics.median(values) if values else None
            entry["low"], entry["high"] = q.low, q.high
        else:
            # Options across every version answered: an option added later is counted too.
            entry["counts"] = {o: sum(v == o for v in values) for o in options[key]}
        out["questions"][key] = entry
    pairs = [(r.scores["safe_before"], r.scores["safe_after"]) for r in answered
             if isinstance(r.scores.get("safe_before"), int)
             and isinstance(r.scores.get("safe_after"), int)]
    if pairs:
        out["safety_change"] = {"n": len(pairs), "safer": sum(a > b for b, a in pairs),
                                "same": sum(a == b for b, a in pairs),
                                "less_safe": sum(a < b for b, a in pairs)}
    return out
