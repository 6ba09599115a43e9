"""loans.db: premises and the deployments of kit to them.

A file of its own beside the registry. The premises' contact (a burglary victim's name and
telephone number) is personal data: it has its own column that only ``Loans.contact``
reads, so no list or report carries it by accident.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vms.errors import ProfileError
from vms.sqlite_local import LocalConnections, SqliteStore, rename_column, rename_table

SCHEMA = """
CREATE TABLE IF NOT EXISTS premises (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    contact TEXT NOT NULL DEFAULT '',   -- personal data: read only through Loans.contact
    reason TEXT NOT NULL,               -- repeat burglary, intelligence
    urn TEXT NOT NULL,                  -- police unique reference number
    response_level TEXT NOT NULL,
    on_test INTEGER NOT NULL DEFAULT 0, -- commissioning: alarms logged, not escalated
    created_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY,
    premises_id INTEGER NOT NULL REFERENCES premises(id),
    installed TEXT NOT NULL,            -- date (UK local), day 1 of the loan
    funded_end TEXT NOT NULL,           -- last funded day
    removed TEXT,                       -- date the kit came out
    signage INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS deployment_devices (
    deployment_id INTEGER NOT NULL REFERENCES deployments(id),
    device_id INTEGER NOT NULL,
    device TEXT NOT NULL,
    PRIMARY KEY (deployment_id, device_id)
);
CREATE TABLE IF NOT EXISTS extensions (
    id INTEGER PRIMARY KEY,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id),
    until TEXT NOT NULL,
    reference TEXT NOT NULL,            -- the client's payment or order reference
    added_by TEXT NOT NULL,
    added_utc TEXT NOT NULL
);
-- Each triage decision on an alarm from a loaned camera; the last one per incident stands.
-- The URN and on-test flag are copied as they were, so a premises renumbered later keeps its count.
CREATE TABLE IF NOT EXISTS alarm_decisions (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL,       -- incidents.id in events.db
    deployment_id INTEGER REFERENCES deployments(id),
    premises_id INTEGER REFERENCES premises(id),
    urn TEXT,
    on_test INTEGER NOT NULL,
    decision TEXT NOT NULL,             -- genuine, suspicious, false
    cause TEXT,                         -- false: animal, weather, authorised, equipment, other
    said TEXT,                          -- genuine: what the police were told
    user TEXT NOT NULL,
    utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_incident ON alarm_decisions(incident_id, id);
CREATE INDEX IF NOT EXISTS decisions_urn ON alarm_decisions(urn, utc);
-- What the police did after an escalation, as they report it back; the last one stands.
CREATE TABLE IF NOT EXISTS police_results (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL,       -- an escalated incident in events.db
    result TEXT NOT NULL,               -- arrest, attended, no-trace, not-attended, other
    note TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL,
    utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS police_results_incident ON police_results(incident_id, id);
-- The victim survey: each version of its questions is kept, so old answers keep their
-- questions when the survey is changed.
CREATE TABLE IF NOT EXISTS surveys (
    id INTEGER PRIMARY KEY,
    questions TEXT NOT NULL,            -- JSON list of {key, text, kind, options, low, high}
    user TEXT NOT NULL,
    utc TEXT NOT NULL
);
-- One victim's feedback on a loan. Answers to scale and choice questions are not personal
-- and stay for the programme figures; the respondent and free-text answers are personal
-- data, read only through Feedback.answers (audited) and blanked after retain_until.
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id),
    survey_id INTEGER REFERENCES surveys(id),
    answered TEXT NOT NULL,             -- UK date the victim answered (or declined)
    channel TEXT NOT NULL,              -- phone, online form, paper
    consent INTEGER NOT NULL,           -- 0: declined, nothing but the fact is kept
    scores TEXT NOT NULL DEFAULT '{}',  -- JSON {question key: answer}
    personal TEXT,                      -- JSON {question key: free text}; NULL once purged
    respondent TEXT,                    -- who answered; NULL once purged
    retain_until TEXT NOT NULL,         -- personal data is blanked after this date
    source_ref TEXT UNIQUE,             -- the online form's response id: no double import
    user TEXT NOT NULL,
    utc TEXT NOT NULL,
    purged_utc TEXT
);
CREATE INDEX IF NOT EXISTS feedback_deployment ON feedback(deployment_id);
CREATE INDEX IF NOT EXISTS feedback_retention ON feedback(retain_until) WHERE purged_utc IS NULL;
-- Form response ids of responses deleted when the victim withdrew consent: a later import
-- of the same export must not bring them back. The id is the form's, nothing personal.
CREATE TABLE IF NOT EXISTS feedback_withdrawn (
    source_ref TEXT PRIMARY KEY,
    utc TEXT NOT NULL
);
"""


def _setup(c: sqlite3.Connection) -> None:
    c.row_factory = sqlite3.Row
    c.execute("PRAGMA foreign_keys=ON")
    # Victims' contacts and answers, once deleted or purged, are overwritten, not left in
    # free pages for anyone with the file to read.
    c.execute("PRAGMA secure_delete=ON")


def _rename_sites(c: sqlite3.Connection) -> None:
    """A loan's place was called a "site" before, as were a device grouping (now an area) and
    the whole installation (still the site): a loans.db from then is renamed in place."""
    if rename_table(c, "sites", "premises"):
        rename_column(c, "deployments", "site_id", "premises_id")
        rename_column(c, "alarm_decisions", "site_id", "premises_id")


class LoanStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = LocalConnections(path, setup=_setup)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn.execute("PRAGMA journal_mode=WAL")
            with self.transaction() as c:  # two processes opening an old store: one renames
                _rename_sites(c)
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ProfileError(f"the loans store {path} cannot be opened: {exc}") from None

    @classmethod
    def for_profile(cls, data_dir: Path) -> LoanStore:
        return cls(data_dir / "loans.db")
