"""The workspace's embedded SQLite database: ledger, issues, facts, allocations,
prefecture figures, mail log.

One schema, created on first use. Modules that own a table (``ledger``,
``allocation``, ``facts``, ``mail``) read and write it through a connection
from ``connect``; nothing else touches the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Every file received, whatever became of it. Originals are never modified.
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,            -- the period being collected when it arrived
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    original_name TEXT NOT NULL,     -- metadata only; never chooses a path
    source TEXT NOT NULL,            -- path given to collect, or path!member / message
    sender TEXT,                     -- e-mail From address, when from a message
    message_id TEXT,
    sent_at TEXT,                    -- e-mail Date, else the file's modification time (ISO)
    received_at TEXT NOT NULL,       -- when collect took it in (ISO)
    stored_path TEXT,                -- copy under outputs/<PERIOD>/received/ (or quarantine/)
    unit_code TEXT,                  -- unit claimed by the workbook's identity
    period_claimed TEXT,
    template_version TEXT,
    fingerprint TEXT,
    format TEXT,                     -- xlsx, xlsm, xls, ods, or what it really was
    status TEXT NOT NULL,            -- received, valid, warnings, invalid, superseded,
                                     -- unidentified, rejected, duplicate, other_period
    reason TEXT,
    superseded_by INTEGER REFERENCES submissions(id),
    UNIQUE (period, sha256, source)
);
CREATE INDEX IF NOT EXISTS submissions_period_unit ON submissions (period, unit_code);
-- each received file is looked up by its hash (collected before? a copy of one?)
CREATE INDEX IF NOT EXISTS submissions_period_sha ON submissions (period, sha256);

-- Plain values of each workbook read at collect time (JSON of read.WorkbookValues),
-- so later stages never re-read the file.
CREATE TABLE IF NOT EXISTS workbook_values (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
    data TEXT NOT NULL
);

-- What validation read from each submission's input cells (one row per indicator).
CREATE TABLE IF NOT EXISTS readings (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    indicator TEXT NOT NULL,
    sheet TEXT, cell TEXT,           -- where it stood in the submitted workbook (A1)
    raw TEXT,                        -- the value as typed, as text
    value REAL,                      -- the number read leniently (milestones: 1 done, 0 not)
    note TEXT,
    PRIMARY KEY (submission_id, indicator)
);

-- What validation read from each submission's task-progress rows.
CREATE TABLE IF NOT EXISTS progress_readings (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    task TEXT NOT NULL,
    sheet TEXT, row INTEGER,
    status TEXT, progress TEXT, problems TEXT, next_steps TEXT,
    PRIMARY KEY (submission_id, task)
);

-- Validation issues of a submission (replaced each time it is validated).
CREATE TABLE IF NOT EXISTS issues (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    severity TEXT NOT NULL,          -- error or warning
    code TEXT NOT NULL,
    sheet TEXT, cell TEXT, indicator TEXT, value TEXT,
    message TEXT NOT NULL,
    explanation TEXT                 -- the clerk's explanation, from a feedback workbook
);
CREATE INDEX IF NOT EXISTS issues_submission ON issues (submission_id);

-- Tidy facts of merged submissions: later periods compare against them.
CREATE TABLE IF NOT EXISTS facts (
    period TEXT NOT NULL, unit_code TEXT NOT NULL, indicator TEXT NOT NULL,
    target REAL, allocated REAL, actual REAL, status TEXT,
    submission_id INTEGER, source_file TEXT, sheet TEXT, cell TEXT,
    PRIMARY KEY (period, unit_code, indicator)
);

-- Task progress of merged submissions.
CREATE TABLE IF NOT EXISTS progress (
    period TEXT NOT NULL, unit_code TEXT NOT NULL, task TEXT NOT NULL,
    status TEXT, progress TEXT, problems TEXT, next_steps TEXT,
    submission_id INTEGER, source_file TEXT, sheet TEXT, row INTEGER,
    PRIMARY KEY (period, unit_code, task)
);

-- Target allocation (任务分解): the prefecture target split over units.
CREATE TABLE IF NOT EXISTS allocations (
    year INTEGER NOT NULL, indicator TEXT NOT NULL, unit_code TEXT NOT NULL,
    target REAL NOT NULL,
    PRIMARY KEY (year, indicator, unit_code)
);

-- Figures the prefecture reports itself, for the indicators no unit reports.
CREATE TABLE IF NOT EXISTS prefecture_figures (
    period TEXT NOT NULL, indicator TEXT NOT NULL,
    actual REAL, raw TEXT, note TEXT,   -- raw: as typed; milestones 1 done, 0 not
    source_file TEXT, cell TEXT,
    PRIMARY KEY (period, indicator)
);

-- Every message sent (or written to the outbox).
CREATE TABLE IF NOT EXISTS mail_log (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, period TEXT NOT NULL, unit_code TEXT,
    recipients TEXT NOT NULL, subject TEXT, message_id TEXT NOT NULL,
    attachment_sha256 TEXT, sent_at TEXT NOT NULL,
    transport TEXT NOT NULL           -- smtp or outbox
);
"""


def connect(db_path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the database; rows come back as sqlite3.Row."""
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    conn.commit()
    return conn


@contextlib.contextmanager
def opened(db_path: str | Path):
    """``with opened(path) as conn:`` commits on success, rolls back on error, closes."""
    conn = connect(db_path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
