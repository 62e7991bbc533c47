"""The submissions ledger: every file received, whatever became of it.

Operations on the ``submissions`` and ``workbook_values`` tables of the
workspace database (``toolkit.store``). A row is never deleted: an exact
duplicate is recorded with status ``duplicate`` and points at the first copy;
a resubmission supersedes the unit's earlier one by sent time (e-mail Date,
else file time), and both stay.

``stored_path`` is relative to the workspace root, with ``/`` separators.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, fields, replace

STATUSES = ("received", "valid", "warnings", "invalid", "superseded", "unidentified",
            "rejected", "duplicate", "other_period")
# a unit's current submission has one of these; validation moves received -> valid/...
CURRENT_STATUSES = ("received", "valid", "warnings", "invalid")
VALIDATED_STATUSES = ("valid", "warnings", "invalid")


@dataclass(frozen=True)
class Submission:
    """One row of the ledger. Times are ISO 8601 text with their UTC offset."""

    period: str  # the period being collected when it arrived
    sha256: str
    size: int
    original_name: str  # metadata only; never chooses a path
    source: str  # path, archive!member or mailbox#message#n:name
    status: str
    received_at: str
    sender: str = ""
    message_id: str = ""
    sent_at: str = ""  # e-mail Date, else file modification time
    stored_path: str = ""  # relative to the workspace root
    unit_code: str = ""
    period_claimed: str = ""
    template_version: str = ""
    fingerprint: str = ""
    format: str = ""
    reason: str = ""
    superseded_by: int | None = None
    id: int | None = None

    @property
    def sent(self) -> dt.datetime | None:
        return parse_time(self.sent_at) or parse_time(self.received_at)

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_STATUSES


_COLUMNS = tuple(f.name for f in fields(Submission) if f.name != "id")
_NULLABLE = ("sender", "message_id", "sent_at", "stored_path", "unit_code", "period_claimed",
             "template_version", "fingerprint", "format", "reason")
_INSERT = (f"INSERT INTO submissions ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.astimezone()


def iso(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat(timespec="seconds")


_FIELDS = frozenset((*_COLUMNS, "id"))
_MAY_BE_NULL = frozenset(("superseded_by", "id"))  # else a NULL comes back as ""


def _from_row(row: sqlite3.Row) -> Submission:
    return Submission(**{k: "" if v is None and k not in _MAY_BE_NULL else v
                         for k, v in zip(row.keys(), row) if k in _FIELDS})


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown submission status {status!r}; one of {', '.join(STATUSES)}")


def record(conn: sqlite3.Connection, sub: Submission) -> Submission:
    """Insert ``sub``; returns it with its id."""
    _check_status(sub.status)
    values = [getattr(sub, k) for k in _COLUMNS]  # plain fields: no deep copy (asdict)
    values = [None if k in _NULLABLE and v == "" else v for k, v in zip(_COLUMNS, values)]
    cursor = conn.execute(_INSERT, values)
    return replace(sub, id=cursor.lastrowid)


def get(conn: sqlite3.Connection, submission_id: int) -> Submission | None:
    row = conn.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
    return _from_row(row) if row else None


def find(conn: sqlite3.Connection, period: str, sha256: str, source: str) -> Submission | None:
    """The row for exactly this file from exactly this source, if collected before."""
    row = conn.execute("SELECT * FROM submissions WHERE period = ? AND sha256 = ? AND source = ?",
                       (period, sha256, source)).fetchone()
    return _from_row(row) if row else None


def first_with_hash(conn: sqlite3.Connection, period: str, sha256: str) -> Submission | None:
    """The first copy of these bytes in the period that duplicates point at.

    A copy that was taken in (read) comes before one that was refused: a refusal
    may not hold for the same bytes sent again (a read that timed out).
    """
    row = conn.execute("SELECT * FROM submissions WHERE period = ? AND sha256 = ? "
                       "AND status != 'duplicate' "
                       "ORDER BY CASE WHEN status = 'rejected' THEN 1 ELSE 0 END, id LIMIT 1",
                       (period, sha256)).fetchone()
    return _from_row(row) if row else None


def submissions(conn: sqlite3.Connection, period: str,
                unit_code: str | None = None) -> list[Submission]:
    """Every row of the period (of one unit when given), in the order received."""
    if unit_code is None:
        rows = conn.execute("SELECT * FROM submissions WHERE period = ? ORDER BY id", (period,))
    else:
        rows = conn.execute("SELECT * FROM submissions WHERE period = ? AND unit_code = ? "
                            "ORDER BY id", (period, unit_code))
    return [_from_row(r) for r in rows]


def _sent_key(sub: Submission):
    sent = sub.sent
    return (sent.timestamp() if sent else 0.0, sub.id or 0)


def current(conn: sqlite3.Connection, period: str, unit_code: str) -> Submission | None:
    """The unit's current submission: the latest sent among those not superseded."""
    rows = [s for s in submissions(conn, period, unit_code) if s.is_current]
    return max(rows, key=_sent_key) if rows else None


def current_all(conn: sqlite3.Connection, period: str) -> dict[str, Submission]:
    """Each unit's current submission in the period."""
    out: dict[str, Submission] = {}
    for sub in submissions(conn, period):
        if sub.is_current and sub.unit_code:
            best = out.get(sub.unit_code)
            if best is None or _sent_key(sub) > _sent_key(best):
                out[sub.unit_code] = sub
    return out


def supersede(conn: sqlite3.Connection, period: str, unit_code: str,
              reason=None, foreign=None) -> Submission | None:
    """Make the unit's latest-sent submission current and mark the others superseded.

    Ties in sent time go to the one received later. ``foreign``, when given, tells
    a submission that came from another unit's address: such a file never
    supersedes one the unit sent itself (a county that mails a neighbour's
    workbook does not replace the neighbour's own report), though it counts when
    it is all there is. ``reason``, when given, is a function of (the current
    submission, a superseded one) giving the text stored on each row that becomes
    superseded. Returns the current submission.
    """
    rows = [s for s in submissions(conn, period, unit_code)
            if s.status in CURRENT_STATUSES or s.status == "superseded"]
    if not rows:
        return None

    def rank(sub: Submission):
        return (not (foreign and foreign(sub)), *_sent_key(sub))

    latest = max(rows, key=rank)
    for sub in rows:
        if sub.id == latest.id:
            if sub.status == "superseded":  # latest again: to be validated afresh
                conn.execute("UPDATE submissions SET status = 'received', superseded_by = NULL "
                             "WHERE id = ?", (sub.id,))
        elif sub.status != "superseded" or sub.superseded_by != latest.id:
            text = reason(latest, sub) if reason else None
            conn.execute("UPDATE submissions SET status = 'superseded', superseded_by = ?, "
                         "reason = COALESCE(?, reason) WHERE id = ?", (latest.id, text, sub.id))
    if latest.status == "superseded":  # as the row now is
        return replace(latest, status="received", superseded_by=None)
    return latest


def set_status(conn: sqlite3.Connection, submission_id: int, status: str,
               reason: str | None = None) -> None:
    """Set a row's status (validation: received -> valid, warnings or invalid)."""
    _check_status(status)
    if reason is None:
        conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (status, submission_id))
    else:
        conn.execute("UPDATE submissions SET status = ?, reason = ? WHERE id = ?",
                     (status, reason or None, submission_id))


def store_values(conn: sqlite3.Connection, submission_id: int, data: str) -> None:
    """Keep the plain values read from the file (``read.values_to_json``)."""
    conn.execute("INSERT OR REPLACE INTO workbook_values (submission_id, data) VALUES (?, ?)",
                 (submission_id, data))


def load_values(conn: sqlite3.Connection, submission_id: int):
    """The values read at collect time (``read.WorkbookValues``), or None."""
    row = conn.execute("SELECT data FROM workbook_values WHERE submission_id = ?",
                       (submission_id,)).fetchone()
    if row is None:
        return None
    from toolkit.read import values_from_json

    return values_from_json(row["data"])


def issue_counts(conn: sqlite3.Connection, submission_ids) -> dict[int, tuple[int, int]]:
    """(errors, warnings) recorded by validation for each of ``submission_ids``."""
    ids = list(submission_ids)
    counts = {i: (0, 0) for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(
            "SELECT submission_id, "
            "SUM(CASE WHEN severity = 'error' THEN 1 ELSE 0 END) AS errors, "
            "SUM(CASE WHEN severity = 'warning' THEN 1 ELSE 0 END) AS warnings "
            f"FROM issues WHERE submission_id IN ({', '.join('?' for _ in chunk)}) "
            "GROUP BY submission_id", chunk)
        for row in rows:
            counts[row["submission_id"]] = (int(row["errors"] or 0), int(row["warnings"] or 0))
    return counts
