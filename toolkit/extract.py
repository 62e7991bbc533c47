"""Find a submission's inputs in its plain values: pure, no I/O.

Rows are found by the id in column A, never by position, so a workbook whose
rows were inserted, deleted or moved is still read correctly; the differences
from the rows the template was written with (the identity's
``indicator_rows``/``task_rows``) come back as structural issues.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from toolkit import issues as iss
from toolkit import layout
from toolkit.layout import Identity, a1
from toolkit.numbers import NumberReading, read_number

# The feedback workbook's 问题清单 sheet (written by toolkit.feedback, read back here
# when a unit resubmits it with explanations).
EXPLAIN_SHEET_KEY = "feedback.sheet.issues"
EXPLAIN_HEADER_ROW = 2
EXPLAIN_FIRST_ROW = 3
EXPLAIN_COLS = {"no": 1, "severity": 2, "code": 3, "sheet": 4, "cell": 5, "item": 6,
                "value": 7, "message": 8, "explanation": 9, "key": 10}

_ID_LIKE = re.compile(r"^\d+(?:\.\d+)*$")


@dataclass(frozen=True)
class IndicatorReading:
    """An indicator's row as found in the submission."""

    id: str
    sheet: str
    row: int
    cell: str  # A1 of the actual
    raw: object  # the actual as the cell held it
    number: NumberReading  # the actual read leniently (milestones: 1 done, 0 not)
    note: str
    note_cell: str
    milestone: bool = False

    @property
    def value(self) -> float | None:
        return self.number.value


@dataclass(frozen=True)
class TaskReading:
    """A task's progress row as found in the submission."""

    id: str
    sheet: str
    row: int
    status: str  # as typed, stripped
    canonical_status: str  # the list's Chinese word when the status is in a list, else ""
    progress: str
    problems: str
    next_steps: str
    columns: tuple[tuple[str, int], ...] = ()  # where the input columns stood, when moved

    def cell(self, column: str) -> str:
        return a1(self.row, _where(self.columns).get(column, layout.PROG_COLS[column]))


@functools.lru_cache(maxsize=64)
def _where(columns: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """{column: where it stood} of a TaskReading's ``columns`` (rows of a sheet share them)."""
    return dict(columns)


@dataclass(frozen=True)
class FillerReading:
    key: str  # filler, phone, reviewer, date
    sheet: str
    cell: str
    value: str


@dataclass(frozen=True)
class Explanation:
    """A line of a resubmitted feedback workbook's 问题清单 with the clerk's explanation."""

    code: str
    key: str  # Issue.key joined by "|"
    cell: str
    text: str


@dataclass(frozen=True)
class Extracted:
    identity: Identity | None
    indicator_sheet: str | None
    progress_sheet: str | None
    indicators: tuple[IndicatorReading, ...] = ()
    tasks: tuple[TaskReading, ...] = ()
    filler: tuple[FillerReading, ...] = ()
    explanations: tuple[Explanation, ...] = ()
    issues: tuple[iss.Issue, ...] = ()

    @functools.cached_property
    def _by_id(self) -> tuple[dict, dict]:
        return {r.id: r for r in self.indicators}, {r.id: r for r in self.tasks}

    def indicator(self, ind_id: str) -> IndicatorReading | None:
        return self._by_id[0].get(ind_id)

    def task(self, task_id: str) -> TaskReading | None:
        return self._by_id[1].get(task_id)

    def filler_value(self, key: str) -> str:
        return next((f.value for f in self.filler if f.key == key), "")

    def input_cells(self):
        """(sheet, A1, column, indicator, task, value) of every input cell read."""
        for r in self.indicators:
            yield r.sheet, r.cell, "actual", r.id, "", r.raw
            yield r.sheet, r.note_cell, "note", r.id, "", r.note
        for r in self.tasks:
            for column in layout.PROG_INPUTS:
                yield r.sheet, r.cell(column), column, "", r.id, getattr(r, column)
        for f in self.filler:
            yield f.sheet, f.cell, f.key, "", "", f.value


def text(value) -> str:
    """A cell value as the text a clerk sees (3.0 -> "3", None -> "")."""
    if value.__class__ is str:  # most cells: nothing to convert
        return value.strip()
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _at(line: tuple, col: int):
    """The value at 1-based ``col`` of a row of a sheet (``SheetValues.get``)."""
    value = line[col - 1] if 0 < col <= len(line) else None
    return None if value == "" else value


def _sheet_by_key(values, key: str, lang: str):
    """(sheet, renamed): by its name in the template's language, then the other, then position."""
    from toolkit.catalogue import t
    from toolkit.read import indicator_sheet, progress_sheet

    for each in dict.fromkeys((lang, "zh", "en")):
        found = values.sheet(t(f"layout.sheet.{key}", each))
        if found is not None:
            return found, False
    fallback = indicator_sheet(values) if key == "indicators" else progress_sheet(values)
    if fallback is not None and fallback.name == _explain_sheet_name(values):
        fallback = None
    return fallback, fallback is not None


def _explain_sheet_name(values) -> str | None:
    from toolkit.catalogue import t

    for lang in ("zh", "en"):
        name = t(EXPLAIN_SHEET_KEY, lang)
        if values.sheet(name) is not None:
            return name
    return None


def _lis_keep(order: list[int]) -> set[int]:
    """Indexes (into ``order``) of a longest increasing subsequence: the rows not moved."""
    import bisect

    if all(a < b for a, b in zip(order, order[1:])):
        return set(range(len(order)))  # nothing moved: the usual case
    tails: list[int] = []
    tails_at: list[int] = []
    back = [-1] * len(order)
    for i, v in enumerate(order):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tails_at.append(i)
        else:
            tails[k] = v
            tails_at[k] = i
        back[i] = tails_at[k - 1] if k else -1
    keep, i = set(), tails_at[-1] if tails_at else -1
    while i >= 0:
        keep.add(i)
        i = back[i]
    return keep


def _rows(sheet, first_row: int, expected: list[str], names: dict, where: dict,
          kind: str) -> tuple[dict[str, int], list[iss.Issue]]:
    """Find each expected id's row by column A; report rows inserted, deleted, moved, doubled."""
    found: dict[str, int] = {}
    problems: list[iss.Issue] = []
    position = {ind_id: n for n, ind_id in reversed(list(enumerate(expected)))}  # first place
    seen_rows: list[tuple[int, str]] = []  # (row, id) of every id-like row in sheet order
    stray: list[int] = []
    for row, line in enumerate(sheet.rows[first_row - 1:], first_row):
        cell_id = text(line[0]) if line else ""
        if cell_id in position:
            if cell_id in found:
                problems.append(iss.make("E-ROW-DUPLICATE", sheet=sheet.name, cell=a1(row, 1),
                                         value=cell_id, first=a1(found[cell_id], 1),
                                         name=names.get(cell_id, ""), column="id",
                                         **{kind: cell_id}, **where))
                continue
            found[cell_id] = row
            seen_rows.append((row, cell_id))
        else:
            stray.append(row)  # inserted inside the block; below it only when id-like
    last = max(found.values(), default=first_row - 1)
    for row in stray:
        line = sheet.rows[row - 1] if row <= sheet.max_row else ()
        content = [text(v) for v in line]
        cell_id = content[0] if content else ""
        inside = row < last
        if inside or (cell_id and (_ID_LIKE.match(cell_id) or cell_id in names)):
            problems.append(iss.make("W-ROW-INSERTED", sheet=sheet.name, cell=a1(row, 1),
                                     value=" / ".join(c for c in content if c)[:80],
                                     column="id", row=row, **where))
    for ind_id in expected:
        if ind_id not in found:
            problems.append(iss.make("E-ROW-DELETED", sheet=sheet.name,
                                     expected_row=first_row + position[ind_id],
                                     name=names.get(ind_id, ""), **{kind: ind_id},
                                     column="id", **where))
    order = [position[i] for _, i in seen_rows]
    keep = _lis_keep(order)
    for n, (row, ind_id) in enumerate(seen_rows):
        if n not in keep:
            problems.append(iss.make("W-ROW-MOVED", sheet=sheet.name, cell=a1(row, 1),
                                     value=ind_id, expected_row=first_row + position[ind_id],
                                     name=names.get(ind_id, ""), **{kind: ind_id},
                                     column="id", **where))
    return found, problems


def _columns(sheet, header_row: int, cols: dict, prefix: str, inputs,
             where: dict) -> tuple[dict[str, int], list[iss.Issue]]:
    """Where each input column stands, found by its header; moved ones are reported.

    A column whose header is not where the template put it (columns were
    inserted or deleted) is read where its header now stands, and reported.
    """
    from toolkit.catalogue import t

    header = [text(v) for v in (sheet.rows[header_row - 1] if header_row <= sheet.max_row else ())]
    found, out = {}, []
    for column in inputs:
        names = {t(f"{prefix}.{column}", each) for each in ("zh", "en")}
        col = cols[column]
        found[column] = col
        here = header[col - 1] if col <= len(header) else ""
        if any(here.startswith(n) for n in names):
            continue
        elsewhere = next((i + 1 for i, h in enumerate(header)
                          if h and any(h.startswith(n) for n in names)), None)
        if elsewhere is not None:
            found[column] = elsewhere
            out.append(iss.make("E-COLUMNS-CHANGED", sheet=sheet.name,
                                cell=a1(header_row, elsewhere), column=column,
                                value=header[elsewhere - 1], expected_cell=a1(header_row, col),
                                **where))
    return found, out


def _filler_cells(sheet) -> dict[str, tuple[int, int]]:
    """(row, col) of each filler value: right of its label, wherever the label now stands."""
    from toolkit.catalogue import t

    row = layout.FILLER_ROW
    line = [text(v) for v in (sheet.rows[row - 1] if row <= sheet.max_row else ())]
    out = {}
    for key, (r, col) in layout.FILLER_CELLS.items():
        labels = {t(f"layout.filler.{key}", each) for each in ("zh", "en")}
        at = col - 1
        if not (at <= len(line) and line[at - 1] in labels):
            at = next((i + 1 for i, v in enumerate(line) if v in labels), at)
        out[key] = (r, at + 1)
    return out


def _expected(identity_rows: str, fallback) -> list[str]:
    rows = [r.strip() for r in (identity_rows or "").split(",") if r.strip()]
    return rows or [x.id for x in fallback]


def extract(values, tasklist, identity: Identity | None, *, unit: str = "",
            file: str = "") -> Extracted:
    """Read indicators, task progress, filler block and explanations from ``values``.

    ``identity`` is the template identity the workbook claims (its row lists
    say which rows the template was written with); without one, the rows the
    task list gives ``unit`` are expected.
    """
    lang = identity.lang if identity is not None and identity.lang in ("zh", "en") else "zh"
    unit = unit or (identity.unit_code if identity is not None else "")
    where = {"unit": unit, "file": file}
    problems: list[iss.Issue] = []
    by_id = tasklist.indicators_by_id
    known_ind = {i.id: i.name for i in by_id.values()}
    known_task = {x.id: x.title for x in tasklist.tasks}

    ind_sheet, ind_renamed = _sheet_by_key(values, "indicators", lang)
    prog_sheet, prog_renamed = _sheet_by_key(values, "progress", lang)
    for key, sheet, renamed in (("indicators", ind_sheet, ind_renamed),
                                ("progress", prog_sheet, prog_renamed)):
        from toolkit.catalogue import t

        expected_name = t(f"layout.sheet.{key}", lang)
        if sheet is None:
            problems.append(iss.make("E-SHEET-MISSING", sheet=expected_name, **where))
        elif renamed:
            problems.append(iss.make("W-SHEET-RENAMED", sheet=sheet.name, value=sheet.name,
                                     expected=expected_name, **where))

    indicators: list[IndicatorReading] = []
    filler: list[FillerReading] = []
    if ind_sheet is not None:
        expected = _expected(identity.indicator_rows if identity else "",
                             tasklist.indicators_for(unit))
        columns, moved = _columns(ind_sheet, layout.IND_HEADER_ROW, layout.IND_COLS,
                                  "layout.ind", layout.IND_INPUTS, where)
        problems += moved
        found, structural = _rows(ind_sheet, layout.IND_FIRST_ROW, expected, known_ind, where,
                                  "indicator")
        problems += structural
        act, note_col = columns["actual"], columns["note"]
        rows = ind_sheet.rows
        for ind_id in expected:
            row = found.get(ind_id)
            if row is None:
                continue
            line = rows[row - 1]
            raw = _at(line, act)
            spec = by_id.get(ind_id)
            milestone = spec is not None and spec.kind == "milestone"
            if milestone:
                number = _milestone(raw)
            else:
                number = read_number(raw, spec.unit if spec is not None else "")
            indicators.append(IndicatorReading(
                ind_id, ind_sheet.name, row, a1(row, act), raw, number,
                text(_at(line, note_col)), a1(row, note_col), milestone))
        for key, (row, col) in _filler_cells(ind_sheet).items():
            filler.append(FillerReading(key, ind_sheet.name, a1(row, col),
                                        text(ind_sheet.get(row, col))))

    tasks: list[TaskReading] = []
    if prog_sheet is not None:
        expected = _expected(identity.task_rows if identity else "", tasklist.tasks_for(unit))
        columns, moved = _columns(prog_sheet, layout.PROG_HEADER_ROW, layout.PROG_COLS,
                                  "layout.prog", layout.PROG_INPUTS, where)
        problems += moved
        found, structural = _rows(prog_sheet, layout.PROG_FIRST_ROW, expected, known_task,
                                  where, "task")
        problems += structural
        rows, placed = prog_sheet.rows, tuple(sorted(columns.items()))
        for task_id in expected:
            row = found.get(task_id)
            if row is None:
                continue
            line = rows[row - 1]
            cells = {c: text(_at(line, columns[c])) for c in layout.PROG_INPUTS}
            tasks.append(TaskReading(task_id, prog_sheet.name, row, cells["status"],
                                     canonical_status(cells["status"]), cells["progress"],
                                     cells["problems"], cells["next_steps"], placed))

    return Extracted(identity, ind_sheet.name if ind_sheet else None,
                     prog_sheet.name if prog_sheet else None, tuple(indicators), tuple(tasks),
                     tuple(filler), read_explanations(values), tuple(problems))


def canonical_status(status: str) -> str:
    """The Chinese list word for a status typed in either language, else ""."""
    status = (status or "").strip()
    if status in layout.STATUSES:
        return status
    lowered = {s.lower(): z for s, z in zip(layout.STATUSES_EN, layout.STATUSES)}
    return lowered.get(status.lower(), "")


def _milestone(raw) -> NumberReading:
    word = text(raw)
    if not word:
        return NumberReading(raw, None)
    if word in layout.MILESTONE_VALUES:
        return NumberReading(raw, 1.0 if word == layout.MILESTONE_VALUES[0] else 0.0)
    return NumberReading(raw, None, (), "milestone")


def read_explanations(values) -> tuple[Explanation, ...]:
    """The clerk's explanations on a resubmitted feedback workbook's 问题清单 sheet."""
    name = _explain_sheet_name(values)
    if name is None:
        return ()
    sheet = values.sheet(name)
    out = []
    cols = EXPLAIN_COLS
    for row in range(EXPLAIN_FIRST_ROW, sheet.max_row + 1):
        explanation = text(sheet.get(row, cols["explanation"]))
        code = text(sheet.get(row, cols["code"]))
        if explanation and code:
            out.append(Explanation(code, text(sheet.get(row, cols["key"])),
                                   text(sheet.get(row, cols["cell"])), explanation))
    return tuple(out)
