"""The I/O edge of merge: which submissions count, and their tidy facts in the store.

For a period, the *current* submission of each unit is its latest one that
nothing superseded. Those whose status is valid or warnings are merged (with
``include_invalid``, invalid ones too, marked); the rest are left out with a
reason. Their readings become tidy facts (period, unit, indicator, target,
allocated target, actual, status, source file, sheet, cell) and their task
progress becomes progress rows; both replace what the store held for the
period, so merging twice gives the same result and later periods compare
against earlier ones. Workbooks are never re-read: everything comes from the
tables that collect and validate wrote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import store
from toolkit.periods import Period, parse_period
from toolkit.prefecture import figures_in

MERGED = ("valid", "warnings")


@dataclass(frozen=True)
class Submission:
    """A unit's current submission for the period, as the ledger has it."""

    id: int
    unit_code: str
    status: str
    original_name: str
    stored_path: str
    sent_at: str
    received_at: str
    reason: str = ""
    files: int = 1  # distinct files the unit sent for the period
    errors: int = 0
    warnings: int = 0

    @property
    def sent(self) -> dt.datetime | None:
        """When it was sent (e-mail Date, else file time), else when it was received."""
        for text in (self.sent_at, self.received_at):
            if text:
                try:
                    return dt.datetime.fromisoformat(text)
                except ValueError:
                    continue
        return None

    def late(self, deadline: dt.date | None) -> bool | None:
        sent = self.sent
        if deadline is None or sent is None:
            return None
        return sent.date() > deadline


@dataclass(frozen=True)
class LeftOut:
    """A unit whose report is not in the merge, and why (``missing``, ``invalid``,
    ``unvalidated``)."""

    unit_code: str
    reason: str
    submission: Submission | None = None


@dataclass(frozen=True)
class Selection:
    current: dict  # unit code -> Submission
    included: tuple[Submission, ...]
    left_out: tuple[LeftOut, ...]
    unattributed: int = 0  # files of the period that name no unit (unidentified, rejected)

    @property
    def marked(self) -> tuple[str, ...]:
        """Units merged although their submission has errors (``include_invalid``)."""
        return tuple(s.unit_code for s in self.included if s.status not in MERGED)


@dataclass(frozen=True)
class Fact:
    """One unit's value of one indicator for a period, and where it came from."""

    period: str
    unit_code: str
    indicator: str
    target: float | None  # the prefecture's target for the year
    allocated: float | None  # the unit's allocated target (任务分解), when allocated
    actual: float | None
    status: str  # status of the submission it came from
    submission_id: int | None
    source_file: str
    sheet: str
    cell: str
    raw: str = ""  # as typed (not stored in the facts table)
    stored_path: str = ""


@dataclass(frozen=True)
class ProgressRow:
    period: str
    unit_code: str
    task: str
    status: str
    progress: str
    problems: str
    next_steps: str
    submission_id: int | None
    source_file: str
    sheet: str
    row: int | None


@dataclass(frozen=True)
class IssueRow:
    unit_code: str
    submission_id: int
    source_file: str
    severity: str
    code: str
    sheet: str
    cell: str
    indicator: str
    value: str
    message: str
    explanation: str = ""


@dataclass(frozen=True)
class Gathered:
    """Everything merge needs from the store for one period."""

    period: Period
    selection: Selection
    facts: tuple[Fact, ...]
    progress: tuple[ProgressRow, ...]
    issues: tuple[IssueRow, ...]
    previous_period: Period | None = None
    previous_facts: tuple[Fact, ...] = field(default=())
    figures: dict = field(default_factory=dict)  # indicator -> prefecture.Figure


def _text(value) -> str:
    return "" if value is None else str(value)


def current_submissions(conn, period: Period) -> dict[str, Submission]:
    """{unit code: its current submission} for the period (the ledger's rule: the
    latest sent among those not superseded)."""
    from toolkit.ledger import current_all

    files = dict(conn.execute(
        "SELECT unit_code, COUNT(DISTINCT sha256) FROM submissions WHERE period = ? "
        "AND unit_code IS NOT NULL AND status != 'other_period' GROUP BY unit_code",
        (period.code,)).fetchall())
    counts: dict[int, dict[str, int]] = {}
    for sid, severity, n in conn.execute(
            "SELECT i.submission_id, i.severity, COUNT(*) FROM issues i "
            "JOIN submissions s ON s.id = i.submission_id WHERE s.period = ? "
            "GROUP BY i.submission_id, i.severity", (period.code,)):
        counts.setdefault(sid, {})[severity] = n
    current = {}
    for code, row in sorted(current_all(conn, period.code).items()):
        n = counts.get(row.id, {})
        current[code] = Submission(
            id=row.id, unit_code=code, status=row.status, original_name=row.original_name,
            stored_path=row.stored_path, sent_at=row.sent_at, received_at=row.received_at,
            reason=row.reason, files=files.get(code, 1), errors=n.get("error", 0),
            warnings=n.get("warning", 0))
    return current


def select(conn, tasklist, period: Period, include_invalid: bool = False) -> Selection:
    """Which units' current submissions are merged, and why the others are not."""
    current = current_submissions(conn, period)
    included, left_out = [], []
    for unit in tasklist.units:
        sub = current.get(unit.code)
        if sub is None:
            left_out.append(LeftOut(unit.code, "missing"))
        elif sub.status in MERGED or (sub.status == "invalid" and include_invalid):
            included.append(sub)
        elif sub.status == "invalid":
            left_out.append(LeftOut(unit.code, "invalid", sub))
        else:
            left_out.append(LeftOut(unit.code, "unvalidated", sub))
    known = {u.code for u in tasklist.units}
    unattributed = conn.execute(
        "SELECT COUNT(*) FROM submissions WHERE period = ? AND "
        "(unit_code IS NULL OR status IN ('unidentified', 'rejected'))",
        (period.code,)).fetchone()[0]
    unattributed += sum(1 for code in current if code not in known)
    return Selection({c: s for c, s in current.items() if c in known}, tuple(included),
                     tuple(left_out), unattributed)


def allocations(conn, year: int) -> dict[tuple[str, str], float]:
    """{(indicator, unit code): allocated target} for the year."""
    return {(r["indicator"], r["unit_code"]): r["target"] for r in conn.execute(
        "SELECT indicator, unit_code, target FROM allocations WHERE year = ?", (year,))}


def build_facts(conn, tasklist, period: Period, selection: Selection
                ) -> tuple[tuple[Fact, ...], tuple[ProgressRow, ...]]:
    """Facts and progress rows of the included submissions (every reading kept)."""
    allocated = allocations(conn, period.year)
    targets = {i.id: i.target(period.year) for i in tasklist.indicators}
    facts, progress = [], []
    for sub in selection.included:
        readings = {r["indicator"]: r for r in conn.execute(
            "SELECT * FROM readings WHERE submission_id = ?", (sub.id,))}
        ids = [i.id for i in tasklist.indicators_for(sub.unit_code)]
        ids += sorted(set(readings) - set(ids))  # a reading outside the unit's scope is kept
        for ind_id in ids:
            reading = readings.get(ind_id)
            facts.append(Fact(
                period=period.code, unit_code=sub.unit_code, indicator=ind_id,
                target=targets.get(ind_id),
                allocated=allocated.get((ind_id, sub.unit_code)),
                actual=None if reading is None else reading["value"], status=sub.status,
                submission_id=sub.id, source_file=sub.original_name,
                sheet=_text(reading["sheet"]) if reading else "",
                cell=_text(reading["cell"]) if reading else "",
                raw=_text(reading["raw"]) if reading else "", stored_path=sub.stored_path))
        for row in conn.execute("SELECT * FROM progress_readings WHERE submission_id = ? "
                                "ORDER BY row, task", (sub.id,)):
            progress.append(ProgressRow(
                period=period.code, unit_code=sub.unit_code, task=row["task"],
                status=_text(row["status"]), progress=_text(row["progress"]),
                problems=_text(row["problems"]), next_steps=_text(row["next_steps"]),
                submission_id=sub.id, source_file=sub.original_name,
                sheet=_text(row["sheet"]), row=row["row"]))
    return tuple(facts), tuple(progress)


def replace_facts(conn, period: Period, facts, progress) -> None:
    """Replace the period's facts and progress rows with these."""
    conn.execute("DELETE FROM facts WHERE period = ?", (period.code,))
    conn.execute("DELETE FROM progress WHERE period = ?", (period.code,))
    conn.executemany(
        "INSERT INTO facts (period, unit_code, indicator, target, allocated, actual, status, "
        "submission_id, source_file, sheet, cell) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(f.period, f.unit_code, f.indicator, f.target, f.allocated, f.actual, f.status,
          f.submission_id, f.source_file, f.sheet, f.cell) for f in facts])
    conn.executemany(
        "INSERT INTO progress (period, unit_code, task, status, progress, problems, "
        "next_steps, submission_id, source_file, sheet, row) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(p.period, p.unit_code, p.task, p.status, p.progress, p.problems, p.next_steps,
          p.submission_id, p.source_file, p.sheet, p.row) for p in progress])


def load_facts(conn, period: Period | str) -> tuple[Fact, ...]:
    """The stored facts of a period."""
    return tuple(Fact(period=r["period"], unit_code=r["unit_code"], indicator=r["indicator"],
                      target=r["target"], allocated=r["allocated"], actual=r["actual"],
                      status=_text(r["status"]), submission_id=r["submission_id"],
                      source_file=_text(r["source_file"]), sheet=_text(r["sheet"]),
                      cell=_text(r["cell"]))
                 for r in conn.execute("SELECT * FROM facts WHERE period = ? "
                                       "ORDER BY unit_code, indicator", (str(period),)))


def previous_period(conn, period: Period) -> Period | None:
    """The latest period in the store that ends before ``period`` ends."""
    earlier = []
    for (code,) in conn.execute("SELECT DISTINCT period FROM facts"):
        try:
            other = parse_period(code, years=range(1900, 3000))
        except Exception:  # a period code this version does not know: not comparable
            continue
        if other.end < period.end:
            earlier.append(other)
    if not earlier:
        return None
    return max(earlier, key=lambda p: (p.end, p.kind == period.kind))


def load_issues(conn, submissions) -> tuple[IssueRow, ...]:
    """Validation issues of these submissions, in unit order."""
    out = []
    for sub in sorted(submissions, key=lambda s: s.unit_code):
        for r in conn.execute("SELECT * FROM issues WHERE submission_id = ? "
                              "ORDER BY CASE severity WHEN 'error' THEN 0 ELSE 1 END, rowid",
                              (sub.id,)):
            out.append(IssueRow(
                unit_code=sub.unit_code, submission_id=sub.id, source_file=sub.original_name,
                severity=r["severity"], code=r["code"], sheet=_text(r["sheet"]),
                cell=_text(r["cell"]), indicator=_text(r["indicator"]), value=_text(r["value"]),
                message=_text(r["message"]), explanation=_text(r["explanation"])))
    return tuple(out)


def gather(db_path: str | Path, tasklist, period: Period,
           include_invalid: bool = False) -> Gathered:
    """Select, build and store the period's facts; load issues and the previous period."""
    with store.opened(db_path) as conn:
        selection = select(conn, tasklist, period, include_invalid)
        facts, progress = build_facts(conn, tasklist, period, selection)
        replace_facts(conn, period, facts, progress)
        issues = load_issues(conn, selection.current.values())
        prev = previous_period(conn, period)
        prev_facts = load_facts(conn, prev) if prev is not None else ()
        figures = figures_in(conn, period)
    return Gathered(period, selection, facts, progress, issues, prev, prev_facts, figures)
