"""The I/O edge of validation: from the store to issues, and back into the store.

``evaluate`` loads a period's current submissions with the values collect
stored for them, the units' history and allocations, and runs extraction and
the rules (``toolkit.extract``, ``toolkit.validate``) without writing anything.
``run_validation`` then records what it found: the ``readings``,
``progress_readings`` and ``issues`` of each submission (replacing the last
run's) and its status (valid, warnings or invalid). Workbooks are never
re-read: collect's readers stored the formula cells beside the values (values
alone cannot show a formula); only a record from before they did sends
validation to the stored copy's sheet XML.

From ``SPLIT_FROM`` submissions on, and where there are two cores, the second
half of the units is judged in a forked child while this process judges the
first: each half loads its own values from the store and sends back plain rows
(the readings to record, the values the cross-unit rule compares), not the
extracted objects, whose pickling would cost what the second core saves. And
while this process records what was found, a forked child writes the validation
workbook, put in place once the recording is done.
``extraction`` derives a submission's inputs again from the stored values for
the few that need them later (a feedback workbook is prefilled with them).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import issues as iss
from toolkit import heap, layout, store
from toolkit.formulas import FORMATS, formula_cells
from toolkit.periods import Period, parse_period


@dataclass(frozen=True)
class SubmissionResult:
    """One unit's current submission, validated."""

    submission_id: int
    unit: str
    unit_name: str
    file: str  # the name it arrived with
    stored_path: str
    received_at: str
    status: str  # valid, warnings or invalid
    issues: tuple[iss.Issue, ...]
    # what is recorded of it: (indicator, sheet, A1, text, value, note) of each indicator,
    # (task, sheet, row, status, progress, problems, next steps) of each task
    readings: tuple = field(default=(), compare=False, repr=False)
    progress: tuple = field(default=(), compare=False, repr=False)

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    @property
    def accepted(self) -> int:
        return sum(1 for i in self.issues if i.accepted)


@dataclass(frozen=True)
class ValidationReport:
    period: str
    results: tuple[SubmissionResult, ...]
    missing: tuple[str, ...]  # unit codes with no current submission
    unit_names: dict = field(default_factory=dict, compare=False)
    workbook: Path | None = None

    @property
    def has_errors(self) -> bool:
        return any(r.errors for r in self.results)

    @property
    def issues(self) -> tuple[iss.Issue, ...]:
        return tuple(i for r in self.results for i in r.issues)

    def result(self, unit: str) -> SubmissionResult | None:
        return next((r for r in self.results if r.unit == unit), None)


# --- reading the store --------------------------------------------------------

def _sender_units(tasklist) -> dict[str, str]:
    """{e-mail address (lower case): unit code} from the units' contacts."""
    out = {}
    for unit in tasklist.units:
        for address in unit.emails:
            out[address.strip().lower()] = unit.code
    return out


def _expected_unit(sender: str | None, by_address: dict[str, str]) -> str:
    if not sender:
        return ""
    address = email.utils.parseaddr(sender)[1].strip().lower()
    return by_address.get(address, "")


def load_allocations(conn, year: int) -> dict[str, dict[str, float]]:
    """{unit code: {indicator: allocated target}} for ``year``."""
    out: dict[str, dict[str, float]] = {}
    for row in conn.execute("SELECT unit_code, indicator, target FROM allocations WHERE year = ?",
                            (year,)):
        out.setdefault(row["unit_code"], {})[row["indicator"]] = row["target"]
    return out


def load_history(conn, period: Period) -> dict[str, dict[str, tuple[tuple[str, float], ...]]]:
    """{unit: {indicator: ((period code, value), ...)}} of earlier periods, latest first.

    Merged facts first; for an earlier period not merged, the readings of its
    current submission (the last validated, not superseded one).
    """
    from toolkit.ledger import current_all

    found: dict[tuple[str, str, str], float] = {}
    for row in conn.execute("SELECT period, unit_code, indicator, actual FROM facts "
                            "WHERE actual IS NOT NULL"):
        found[(row["period"], row["unit_code"], row["indicator"])] = row["actual"]
    merged_periods = {p for p, _, _ in found}
    periods = {row[0] for row in conn.execute("SELECT DISTINCT period FROM submissions")}
    for code in periods - merged_periods - {period.code}:
        try:
            earlier = parse_period(code, years=range(1900, 3000))
        except Exception:  # noqa: BLE001 - a period the ledger holds but no longer parses
            continue
        if (earlier.year, earlier.months) >= (period.year, period.months):
            continue
        for unit, sub in current_all(conn, earlier.code).items():
            if sub.status not in ("valid", "warnings"):
                continue
            for row in conn.execute("SELECT indicator, value FROM readings WHERE "
                                    "submission_id = ? AND value IS NOT NULL", (sub.id,)):
                found[(code, unit, row["indicator"])] = row["value"]
    parsed: dict[str, Period | None] = {}  # each period code parsed once, not per fact
    for code in {c for c, _, _ in found}:
        try:
            parsed[code] = parse_period(code, years=range(1900, 3000))
        except Exception:  # noqa: BLE001
            parsed[code] = None
    history: dict[str, dict[str, list]] = {}
    for (code, unit, indicator), value in found.items():
        p = parsed[code]
        if p is None or (p.year, p.months) >= (period.year, period.months):
            continue
        history.setdefault(unit, {}).setdefault(indicator, []).append((p, value))
    return {unit: {ind: tuple((p.code, v) for p, v in sorted(
        pairs, key=lambda pv: (pv[0].year, pv[0].months), reverse=True))
        for ind, pairs in by_ind.items()} for unit, by_ind in history.items()}


def stored_file(workspace, stored_path: str) -> Path | None:
    """The stored copy of a submission (paths in the ledger may be workspace-relative)."""
    if not stored_path:
        return None
    path = Path(stored_path)
    if not path.is_absolute():
        path = workspace.root / path
    return path if path.is_file() else None


def _format_of(sub) -> str:
    fmt = (sub.format or "").lower()
    if not fmt and sub.stored_path:
        fmt = Path(sub.stored_path).suffix.lstrip(".").lower()
    return fmt


# --- the run ---------------------------------------------------------------------

SPLIT_FROM = 100  # submissions from which a forked child judges half of them


@dataclass(frozen=True)
class _Basis:
    """What judging any unit's submission needs besides its values: loaded once, before
    a child is forked (which inherits it)."""

    workspace: object
    period: Period
    fingerprint: str
    version: str
    by_address: dict
    allocations: dict
    history: dict


@dataclass(frozen=True)
class _Judged:
    """One submission judged, as plain data (sent back from a child as it is)."""

    sub: object  # toolkit.ledger.Submission
    issues: list
    explanations: tuple
    points: dict  # toolkit.validate.points
    readings: tuple
    progress: tuple


@heap.paused()  # plain data only, a thousand units' of it: see toolkit.heap
def evaluate(workspace, period: Period | str) -> ValidationReport:
    """Validate every current submission of ``period``; write nothing."""
    from toolkit import ledger, processes
    from toolkit.validate import apply_explanations, compare_units

    tasklist = workspace.tasklist
    if not isinstance(period, Period):
        period = parse_period(period, years=tasklist.years)
    with store.opened(workspace.db_path) as conn:
        current = ledger.current_all(conn, period.code)
        basis = _Basis(workspace, period, layout.template_fingerprint(tasklist),
                       layout.template_version(tasklist.version), _sender_units(tasklist),
                       load_allocations(conn, period.year), load_history(conn, period))
    subs = [sub for _, sub in sorted(current.items())]
    if len(subs) >= SPLIT_FROM:
        half = (len(subs) + 1) // 2
        mine, theirs = processes.both(lambda: _judge(basis, subs[:half]),
                                      lambda: _judge(basis, subs[half:]))
        judged = mine + theirs
    else:
        judged = _judge(basis, subs)

    outliers = compare_units([(j.sub.unit_code, j.sub.original_name, j.points) for j in judged],
                             tasklist, basis.allocations, workspace.config.thresholds.robust_z)
    names = {u.code: u.name for u in tasklist.units}
    results = []
    for j in judged:
        sub = j.sub
        issues = apply_explanations(j.issues + outliers.get(sub.unit_code, []), j.explanations)
        results.append(SubmissionResult(
            sub.id, sub.unit_code, names.get(sub.unit_code, sub.unit_code), sub.original_name,
            sub.stored_path, sub.received_at, iss.status_for(issues), tuple(issues),
            j.readings, j.progress))
    done = {r.unit for r in results}
    missing = tuple(u.code for u in tasklist.units if u.code not in done)
    return ValidationReport(period.code, tuple(results), missing, names)


def _judge(basis: _Basis, subs) -> list[_Judged]:
    """Extract and check each of ``subs`` (current submissions, one per unit), loading
    its values from the store: may run in a forked child, so it opens the store itself."""
    from toolkit import ledger
    from toolkit.extract import text
    from toolkit.validate import points

    with store.opened(basis.workspace.db_path) as conn:
        stored = [(sub, ledger.load_values(conn, sub.id)) for sub in subs]
    out = []
    for sub, values in stored:
        if values is None:
            continue  # nothing readable was stored: collect recorded why
        extracted, issues = _extract_and_check(basis, sub, values)
        out.append(_Judged(
            sub, issues, extracted.explanations, points(extracted),
            tuple((r.id, r.sheet, r.cell, text(r.raw), r.value, r.note)
                  for r in extracted.indicators),
            tuple((r.id, r.sheet, r.row, r.canonical_status or r.status, r.progress,
                   r.problems, r.next_steps) for r in extracted.tasks)))
    return out


def _extract_and_check(basis: _Basis, sub, values):
    """(Extracted, issues of the submission alone) from its stored values."""
    from toolkit.validate import Context, check_submission

    workspace, unit = basis.workspace, sub.unit_code
    reading, extracted = _extract(workspace, values, unit, sub.original_name)
    fmt = _format_of(sub)
    formulas = None
    if fmt in FORMATS:
        formulas = values.formulas  # found by collect's reader, beside the values
        if formulas is None:  # a record from before that: look in the stored copy
            path = stored_file(workspace, sub.stored_path)
            formulas = formula_cells(path, fmt) if path is not None else None
        if formulas is None:
            formulas = frozenset()  # the stored copy is gone or unreadable: nothing to flag
    ctx = Context(period=basis.period, tasklist=workspace.tasklist,
                  fingerprint=basis.fingerprint, template_version=basis.version, unit=unit,
                  file=sub.original_name, expected_unit=_expected_unit(sub.sender,
                                                                       basis.by_address),
                  allocations=basis.allocations.get(unit, {}),
                  history=basis.history.get(unit, {}), formulas=formulas,
                  format=fmt or "?", thresholds=workspace.config.thresholds)
    return extracted, check_submission(reading, extracted, ctx)


def _extract(workspace, values, unit: str, file: str):
    """(identity reading, Extracted) of a submission's stored values: how validation and
    the feedback it leads to both see them."""
    from toolkit.extract import extract
    from toolkit.read import read_identity

    reading = read_identity(values)
    return reading, extract(values, workspace.tasklist, reading.identity, unit=unit, file=file)


def extraction(workspace, conn, result: SubmissionResult):
    """The inputs of ``result``'s submission (``toolkit.extract.Extracted``) as validation
    found them, derived again from the values collect stored; None when there are none."""
    from toolkit import ledger

    values = ledger.load_values(conn, result.submission_id)
    if values is None:
        return None
    return _extract(workspace, values, result.unit, result.file)[1]


def run_validation(workspace, period: Period | str, lang: str | None = None,
                   write_workbook: bool = True) -> ValidationReport:
    """Validate, record readings, issues and statuses, and write the validation workbook:
    put in place only once the store holds what it shows. From ``SPLIT_FROM`` results
    on, a forked child writes it while this process records."""
    from dataclasses import replace
    from functools import partial

    from toolkit import processes
    from toolkit.atomic import atomic_path
    from toolkit.validation_report import write_workbook as write

    lang = lang or workspace.config.lang
    report = evaluate(workspace, period)
    record = partial(_record, workspace, report, lang)
    if not write_workbook:
        record()
        return report
    path = workspace.period_dir(report.period) / f"validation_{report.period}.xlsx"
    with atomic_path(path) as tmp:
        if len(report.results) >= SPLIT_FROM:
            processes.both(record, partial(write, report, tmp, lang))
        else:
            record()
            write(report, tmp, lang)
    return replace(report, workbook=path)


def _record(workspace, report: ValidationReport, lang: str) -> None:
    """Record ``report``'s readings, issues and statuses in the store."""
    from toolkit import ledger

    with heap.paused(), store.opened(workspace.db_path) as conn:  # see evaluate
        record_all(conn, report.results, lang)
        for result in report.results:
            ledger.set_status(conn, result.submission_id, result.status)


def _last_of_each(rows) -> list[tuple]:
    """The last of the rows of each (submission, indicator or task): an identity listing
    a row twice reads it twice. What INSERT OR REPLACE keeps, at a third of its cost."""
    return list({row[:2]: row for row in rows}.values())


def record_all(conn, results, lang: str) -> None:
    """Replace the readings, progress readings and issues of each of ``results`` in the
    store (one statement per table for them all)."""
    ids = [(r.submission_id,) for r in results]
    for table in ("readings", "progress_readings", "issues"):
        conn.executemany(f"DELETE FROM {table} WHERE submission_id = ?", ids)  # noqa: S608
    conn.executemany(
        "INSERT INTO readings (submission_id, indicator, sheet, cell, raw, value, "
        "note) VALUES (?, ?, ?, ?, ?, ?, ?)",
        _last_of_each((result.submission_id, *row) for result in results
                      for row in result.readings))
    conn.executemany(
        "INSERT INTO progress_readings (submission_id, task, sheet, row, status, "
        "progress, problems, next_steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        _last_of_each((result.submission_id, *row) for result in results
                      for row in result.progress))
    conn.executemany(
        "INSERT INTO issues (submission_id, severity, code, sheet, cell, indicator, value, "
        "message, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(result.submission_id, i.severity, i.code, i.sheet, i.cell, i.indicator, i.value,
          i.message(lang), i.explanation or None) for result in results for i in result.issues])
