"""The task list as a workbook in the conventional 重点任务清单 layout, out and back in.

``export_tasklist`` writes it with xlsxwriter: one row per indicator on the main
sheet (the task's columns repeated on each of its rows), the actions on a second
sheet, the plan and how to edit on a third. ``import_tasklist`` reads such a
workbook with python-calamine (xlsx, xls or ods, Chinese or English headers,
labels or raw codes), reports every problem with its row and cell, and writes
the list as YAML in the format of ``templates/tasklist.yaml``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import replace
from pathlib import Path

from toolkit.atomic import atomic_path
from toolkit.catalogue import LANGS, t
from toolkit.errors import WorkbookError
from toolkit.layout import a1
from toolkit.model import (AGGREGATIONS, DIRECTIONS, KINDS, SCOPE_WORDS, Action, Indicator,
                           Task, TaskList, Unit)

TASK_COLUMNS = ("seq", "title", "text", "lead", "implementers", "deadline", "action", "units",
                "items")
INDICATOR_COLUMNS = ("ind_id", "ind_name", "ind_unit", "kind", "direction")
TAIL_COLUMNS = ("scope", "aggregation", "weight", "source")
REQUIRED = ("seq", "title", "action", "ind_id", "ind_name", "ind_unit", "kind", "direction",
            "scope", "aggregation")
LABELLED = {"kind": KINDS, "direction": DIRECTIONS, "aggregation": AGGREGATIONS}
LIST_SEPARATOR = "、"
HEADER_SCAN_ROWS = 10
_SPLIT_LIST = re.compile(r"[、，,;；\n]+")
_SPLIT_CODES = re.compile(r"[、，,;；\s]+")
_YEAR_HEADER = re.compile(r"^(\d{4})(?:年目标|年|目标|target)?$")
_NO_TARGET = {"", "—", "-", "–", "/", "／"}

WIDTHS = {"seq": 6, "title": 18, "text": 50, "lead": 18, "implementers": 18, "deadline": 12,
          "action": 20, "units": 14, "items": 50, "ind_id": 9, "ind_name": 24, "ind_unit": 9,
          "kind": 9, "direction": 10, "target": 14, "scope": 14, "aggregation": 10,
          "weight": 10, "source": 40}


def _columns(years) -> list[tuple[str, int | None]]:
    """(column key, year) in sheet order; year only for target columns."""
    return ([(k, None) for k in TASK_COLUMNS + INDICATOR_COLUMNS]
            + [("target", y) for y in years] + [(k, None) for k in TAIL_COLUMNS])


def _header(key: str, year: int | None, lang: str) -> str:
    if key == "target":
        return t("tasklist.col.target", lang, year=year)
    return t(f"tasklist.col.{key}", lang)


def _label(field: str, code: str, lang: str) -> str:
    return t(f"tasklist.{field}.{code}", lang)


def _scope_text(value, lang: str) -> str:
    if isinstance(value, str):
        return _label("scope", value, lang) if value in SCOPE_WORDS else value
    return ",".join(value)


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


# --- export ------------------------------------------------------------------

def export_tasklist(tasklist: TaskList, path, lang: str = "zh") -> Path:
    """Write ``tasklist`` as a 重点任务清单 workbook at ``path`` (atomically)."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path) as tmp:
        workbook = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                                  "strings_to_urls": False,
                                                  "strings_to_numbers": False})
        workbook.set_properties({"title": t("tasklist.title", lang, plan=tasklist.title)})
        fmt = {
            "title": workbook.add_format({"bold": True, "font_size": 14, "align": "center",
                                          "valign": "vcenter"}),
            "head": workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                         "text_wrap": True, "align": "center",
                                         "valign": "vcenter"}),
            "cell": workbook.add_format({"border": 1, "text_wrap": True, "valign": "top"}),
            "int": workbook.add_format({"border": 1, "valign": "top", "num_format": "#,##0"}),
            "num": workbook.add_format({"border": 1, "valign": "top"}),
            "label": workbook.add_format({"bold": True, "valign": "top"}),
            "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        }
        _write_main(workbook, tasklist, lang, fmt)
        _write_actions(workbook, tasklist, lang, fmt)
        _write_notes(workbook, tasklist, lang, fmt)
        workbook.close()
    return path


def _task_cells(task: Task, tasklist: TaskList, lang: str) -> dict[str, str]:
    action = next((a.title for a in tasklist.actions if a.id == task.action), task.action)
    return {"seq": task.id, "title": task.title, "text": task.text,
            "lead": LIST_SEPARATOR.join(task.lead),
            "implementers": LIST_SEPARATOR.join(task.implementers),
            "deadline": task.deadline, "action": action,
            "units": _scope_text(task.units, lang), "items": "\n".join(task.items)}


def _indicator_cells(ind: Indicator, lang: str) -> dict[str, str]:
    return {"ind_id": ind.id, "ind_name": ind.name, "ind_unit": ind.unit,
            "kind": _label("kind", ind.kind, lang),
            "direction": _label("direction", ind.direction, lang),
            "scope": _scope_text(ind.scope, lang),
            "aggregation": _label("aggregation", ind.aggregation, lang),
            "weight": ind.weight, "source": ind.source}


def _write_main(workbook, tasklist: TaskList, lang: str, fmt) -> None:
    sheet = workbook.add_worksheet(t("tasklist.sheet.main", lang))
    columns = _columns(tasklist.years)
    last = len(columns) - 1
    sheet.merge_range(0, 0, 0, last, t("tasklist.title", lang, plan=tasklist.title), fmt["title"])
    sheet.set_row(0, 28)
    for col, (key, year) in enumerate(columns):
        sheet.write_string(1, col, _header(key, year, lang), fmt["head"])
        sheet.set_column(col, col, WIDTHS[key])
    row = 2
    for task in tasklist.tasks:
        cells = _task_cells(task, tasklist, lang)
        indicators = [i for i in tasklist.indicators if i.task == task.id] or [None]
        for ind in indicators:
            values = dict(cells, **(_indicator_cells(ind, lang) if ind else {}))
            for col, (key, year) in enumerate(columns):
                value = ind.target(year) if key == "target" and ind else values.get(key, "")
                if isinstance(value, (int, float)):
                    integral = float(value).is_integer()
                    sheet.write_number(row, col, value, fmt["int" if integral else "num"])
                elif value:
                    sheet.write_string(row, col, value, fmt["cell"])
                else:
                    sheet.write_blank(row, col, None, fmt["cell"])
            row += 1
    for key, codes in LABELLED.items():
        col = next(i for i, (k, _) in enumerate(columns) if k == key)
        sheet.data_validation(2, col, max(row - 1, 2), col, {
            "validate": "list", "source": [_label(key, c, lang) for c in codes],
            "error_type": "information"})
    sheet.freeze_panes(2, 2)
    sheet.autofilter(1, 0, max(row - 1, 1), last)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(1)


def _write_actions(workbook, tasklist: TaskList, lang: str, fmt) -> None:
    sheet = workbook.add_worksheet(t("tasklist.sheet.actions", lang))
    sheet.write_string(0, 0, t("tasklist.col.action_id", lang), fmt["head"])
    sheet.write_string(0, 1, t("tasklist.col.action_title", lang), fmt["head"])
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 44)
    for row, action in enumerate(tasklist.actions, start=1):
        sheet.write_string(row, 0, action.id, fmt["cell"])
        sheet.write_string(row, 1, action.title, fmt["cell"])


def _write_notes(workbook, tasklist: TaskList, lang: str, fmt) -> None:
    sheet = workbook.add_worksheet(t("tasklist.sheet.notes", lang))
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 100)

    def labels(field, codes):
        return "/".join(_label(field, c, lang) for c in codes)

    rows = [
        (t("tasklist.notes.plan", lang), tasklist.title),
        (t("tasklist.notes.years", lang), LIST_SEPARATOR.join(map(str, tasklist.years))),
        (t("tasklist.notes.version", lang), tasklist.version),
        (t("tasklist.notes.fingerprint", lang), tasklist.fingerprint()),
        ("", ""),
        (t("tasklist.notes.how", lang), f"1. {t('tasklist.notes.how1', lang)}"),
        ("", f"2. {t('tasklist.notes.how2', lang)}"),
        ("", "3. " + t("tasklist.notes.how3", lang, kinds=labels("kind", KINDS),
                       directions=labels("direction", DIRECTIONS),
                       aggregations=labels("aggregation", AGGREGATIONS))),
        ("", "4. " + t("tasklist.notes.how4", lang, scopes=labels("scope", SCOPE_WORDS))),
        ("", f"5. {t('tasklist.notes.how5', lang)}"),
        ("", f"6. {t('tasklist.notes.how6', lang)}"),
        ("", ""),
        (t("tasklist.notes.unit_code", lang), t("tasklist.notes.unit_name", lang)),
    ] + [(u.code, u.name) for u in tasklist.units]
    for row, (label, value) in enumerate(rows):
        if label:
            sheet.write_string(row, 0, label, fmt["label"])
        if value:
            sheet.write_string(row, 1, value, fmt["wrap"])


# --- import ------------------------------------------------------------------

def _norm(value) -> str:
    return re.sub(r"\s+", "", _text(value)).lower().rstrip(":：*")


def _text(value) -> str:
    """A cell as text: '' when empty, integral numbers without '.0', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return _number_text(value) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _read_sheets(path: Path, lang: str) -> dict[str, list[list]]:
    """Every sheet's rows, merged areas filled with their top-left value."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (OSError, CalamineError) as exc:
        raise WorkbookError(t("tasklist.err.unreadable", lang, path=path, reason=exc)) from None
    try:
        sheets = {}
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            rows = [list(r) for r in sheet.to_python(skip_empty_area=False)]
            for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ():
                if r0 < len(rows) and c0 < len(rows[r0]):
                    top_left = rows[r0][c0]
                    for r in range(r0, min(r1 + 1, len(rows))):
                        for c in range(c0, min(c1 + 1, len(rows[r]))):
                            rows[r][c] = top_left
            sheets[name] = rows
    except CalamineError as exc:
        raise WorkbookError(t("tasklist.err.unreadable", lang, path=path, reason=exc)) from None
    finally:
        workbook.close()
    return sheets


def _find_sheet(sheets: dict, key: str):
    names = {_norm(t(key, lang)) for lang in LANGS}
    return next((n for n in sheets if _norm(n) in names), None)


def _find_header(rows, first_key: str) -> int | None:
    wanted = {_norm(t(first_key, lang)) for lang in LANGS}
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if any(_norm(v) in wanted for v in row):
            return r
    return None


class _Problems(list):
    """Located problems of one import, rendered from the catalogue, listed by row."""

    def __init__(self, lang: str, sheet: str):
        super().__init__()
        self.lang, self.sheet = lang, sheet

    def add(self, key: str, row: int | None = None, col: int | None = None, **fields):
        if row is not None:
            fields["row"] = row
            if col is not None:
                fields["cell"] = f"{self.sheet}!{a1(row, col)}"
        self.append((row or 0, t(f"tasklist.err.{key}", self.lang, **fields)))

    def raise_if_any(self, path) -> None:
        if self:
            messages = [text for _, text in sorted(self, key=lambda p: p[0])]
            head = t("tasklist.err.summary", self.lang, path=path, count=len(messages))
            error = WorkbookError("\n".join([head, *(f"  {m}" for m in messages)]))
            error.problems = messages
            raise error


def _label_lookup(field: str, codes) -> dict[str, str]:
    lookup = {}
    for code in codes:
        lookup[_norm(code)] = code
        for lang in LANGS:
            lookup[_norm(_label(field, code, lang))] = code
    return lookup


def _join(items, lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _allowed(field: str, codes, lang: str) -> str:
    labels = [_label(field, c, lang) for c in codes]
    if labels == list(codes):
        return _join(labels, lang)
    return f"{_join(labels, lang)} ({', '.join(codes)})"


def _parse_target(value):
    """A target cell as a number; None when empty; ValueError when not a number."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else value
    text = unicodedata.normalize("NFKC", _text(value)).replace(",", "").replace(" ", "")
    if text in _NO_TARGET:
        return None
    number = float(text)  # raises ValueError
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return int(number) if number.is_integer() else number


def _read_actions(sheets, path, lang) -> tuple[Action, ...]:
    name = _find_sheet(sheets, "tasklist.sheet.actions")
    zh_name = t("tasklist.sheet.actions", lang)
    if name is None:
        raise WorkbookError(t("tasklist.err.no_sheet", lang, path=path, sheet=zh_name,
                              found=_join(sheets, lang)))
    rows = sheets[name]
    problems = _Problems(lang, name)
    header = _find_header(rows, "tasklist.col.action_id")
    expected = [t("tasklist.col.action_id", lang), t("tasklist.col.action_title", lang)]
    cols = {}
    if header is not None:
        for key in ("action_id", "action_title"):
            labels = {_norm(t(f"tasklist.col.{key}", x)) for x in LANGS}
            cols[key] = next((c for c, v in enumerate(rows[header]) if _norm(v) in labels), None)
    missing = [e for e, k in zip(expected, ("action_id", "action_title")) if cols.get(k) is None]
    if missing:
        raise WorkbookError(t("tasklist.err.missing_columns", lang, path=path, sheet=name,
                              missing=_join(missing, lang), expected=_join(expected, lang)))
    actions, seen = [], {}
    for r in range(header + 1, len(rows)):
        row = rows[r]
        aid = _text(row[cols["action_id"]]) if cols["action_id"] < len(row) else ""
        title = _text(row[cols["action_title"]]) if cols["action_title"] < len(row) else ""
        if not aid and not title:
            continue
        if not aid:
            problems.add("empty", r + 1, cols["action_id"] + 1, column=expected[0])
        elif aid in seen:
            problems.add("dup_action", r + 1, sheet=name, id=aid, first=seen[aid])
        else:
            seen[aid] = r + 1
            actions.append(Action(aid, title))
    if not actions and not problems:
        problems.add("no_actions", sheet=name, id_col=expected[0], title_col=expected[1])
    problems.raise_if_any(path)
    return tuple(actions)


def _read_notes(sheets) -> dict[str, str]:
    name = _find_sheet(sheets, "tasklist.sheet.notes")
    found = {}
    for row in sheets.get(name, []) if name else []:
        if len(row) >= 2:
            for key in ("plan", "version"):
                if _norm(row[0]) in {_norm(t(f"tasklist.notes.{key}", x)) for x in LANGS}:
                    found.setdefault(key, _text(row[1]))
    return found


def _map_header(header_row) -> tuple[dict[str, int], dict[int, int]]:
    """Column index of each known key, and of each year's target column."""
    lookup = {}
    for key in TASK_COLUMNS + INDICATOR_COLUMNS + TAIL_COLUMNS:
        for lang in LANGS:
            lookup.setdefault(_norm(t(f"tasklist.col.{key}", lang)), key)
    cols, years = {}, {}
    for c, value in enumerate(header_row):
        norm = _norm(value)
        if norm in lookup:
            cols.setdefault(lookup[norm], c)
        elif match := _YEAR_HEADER.match(norm):
            years.setdefault(int(match[1]), c)
    return cols, dict(sorted(years.items()))


def parse_tasklist_sheets(sheets: dict[str, list[list]], units: tuple[Unit, ...], path,
                          lang: str = "zh") -> TaskList:
    """Turn a workbook's sheets (rows of values) into a TaskList; WorkbookError if malformed."""
    main = _find_sheet(sheets, "tasklist.sheet.main") or next(iter(sheets), None)
    rows = sheets.get(main, []) if main else []
    expected = _join([_header(k, y, lang) for k, y in _columns((2024, 2025))], lang)
    header = _find_header(rows, "tasklist.col.seq")
    if header is None:
        raise WorkbookError(t("tasklist.err.no_header", lang, path=path, sheet=main,
                              rows=HEADER_SCAN_ROWS,
                              seq=t("tasklist.col.seq", lang), expected=expected))
    cols, year_cols = _map_header(rows[header])
    missing = [t(f"tasklist.col.{k}", lang) for k in REQUIRED if k not in cols]
    if missing:
        raise WorkbookError(t("tasklist.err.missing_columns", lang, path=path, sheet=main,
                              missing=_join(missing, lang), expected=expected))
    if not year_cols:
        raise WorkbookError(t("tasklist.err.no_years", lang, path=path, sheet=main,
                              example=t("tasklist.col.target", lang, year=2024)))
    actions = _read_actions(sheets, path, lang)
    notes = _read_notes(sheets)
    problems = _Problems(lang, main)
    reader = _RowReader(cols, year_cols, actions, units, problems, lang)
    for r in range(header + 1, len(rows)):
        reader.read(r + 1, rows[r])
    tasks = reader.tasks()
    if not tasks and not problems:
        problems.add("no_tasks", sheet=main)
    reader.check_weights()
    problems.raise_if_any(path)
    return TaskList(title=notes.get("plan", ""), years=tuple(year_cols),
                    version=notes.get("version", ""), actions=actions,
                    tasks=tasks,
                    indicators=tuple(reader.indicators), units=tuple(units),
                    source_path=str(path))


class _RowReader:
    """Reads the main sheet row by row, collecting tasks, indicators and problems."""

    def __init__(self, cols, year_cols, actions, units, problems: _Problems, lang):
        self.cols, self.year_cols, self.actions = cols, year_cols, actions
        self.units, self.problems, self.lang = units, problems, lang
        self.labels = {f: _label_lookup(f, codes) for f, codes in LABELLED.items()}
        self.scope_words = _label_lookup("scope", SCOPE_WORDS)
        self.task_rows: dict[str, dict[str, tuple[str, int]]] = {}
        self.indicators: list[Indicator] = []
        self.indicator_rows: dict[str, int] = {}
        self.weights: list[tuple[int, str]] = []

    def cell(self, row_values, key):
        col = self.cols.get(key)
        return row_values[col] if col is not None and col < len(row_values) else None

    def where(self, row, key) -> dict:
        return {"row": row, "col": self.cols[key] + 1,
                "column": t(f"tasklist.col.{key}", self.lang)}

    def read(self, row: int, values: list) -> None:
        texts = {k: _text(self.cell(values, k)) for k in self.cols}
        targets = {y: values[c] if c < len(values) else None for y, c in self.year_cols.items()}
        if not any(texts.values()) and all(_text(v) == "" for v in targets.values()):
            return
        seq = texts["seq"]
        if not seq:
            self.problems.add("no_seq", **self.where(row, "seq"))
            return
        self.read_task(row, seq, texts)
        if any(texts.get(k) for k in INDICATOR_COLUMNS + TAIL_COLUMNS) or any(
                _text(v) for v in targets.values()):
            self.read_indicator(row, seq, texts, targets)

    def read_task(self, row, seq, texts) -> None:
        """Note the task's cells; its rows must agree (empty cells may be left out)."""
        seen = self.task_rows.setdefault(seq, {"": ("", row)})
        for key in TASK_COLUMNS[1:]:
            value = texts.get(key, "")
            if not value:
                continue
            if key in seen and seen[key][0] != value:
                self.problems.add("task_conflict", **self.where(row, key), id=seq,
                                  first=seen[key][1])
            seen.setdefault(key, (value, row))

    def tasks(self) -> tuple[Task, ...]:
        """The tasks in order of first appearance, each from its first non-empty cells."""
        tasks = []
        for seq, seen in self.task_rows.items():
            first_row = seen[""][1]

            def cell(key):
                return seen.get(key, ("", first_row))

            title, row = cell("title")
            if not title:
                self.problems.add("empty", **self.where(row, "title"))
            units = self.unit_scope(cell("units")[1], "units", cell("units")[0]) if (
                "units" in self.cols) else "all"
            tasks.append(Task(
                id=seq, action=self.action(cell("action")[1], cell("action")[0]), title=title,
                text=cell("text")[0], items=_lines(cell("items")[0]),
                lead=_list(cell("lead")[0]), implementers=_list(cell("implementers")[0]),
                units=units, deadline=cell("deadline")[0]))
        return tuple(tasks)

    def action(self, row, value) -> str:
        for action in self.actions:
            if value in (action.id, action.title):
                return action.id
        if not value:
            self.problems.add("empty", **self.where(row, "action"))
        else:
            allowed = _join([f"{a.id} {a.title}" for a in self.actions], self.lang)
            self.problems.add("unknown_action", **self.where(row, "action"), value=value,
                              sheet=t("tasklist.sheet.actions", self.lang), allowed=allowed)
        return value

    def unit_scope(self, row, key, value):
        if not value:
            if key == "units":
                return "all"
            self.problems.add("empty", **self.where(row, key))
            return "all"
        if _norm(value) in self.scope_words:
            return self.scope_words[_norm(value)]
        codes = []
        for token in filter(None, _SPLIT_CODES.split(value)):
            unit = next((u for u in self.units if token in (u.code, u.name)), None)
            if unit is None:
                words = _join([_label("scope", w, self.lang) for w in SCOPE_WORDS], self.lang)
                allowed = ", ".join(u.code for u in self.units)
                self.problems.add("unknown_unit", **self.where(row, key), value=token,
                                  words=words, allowed=allowed)
            else:
                codes.append(unit.code)
        return tuple(codes) or "all"

    def read_indicator(self, row, seq, texts, targets) -> None:
        problems = self.problems
        iid = texts["ind_id"]
        for key in ("ind_id", "ind_name"):
            if not texts[key]:
                problems.add("empty", **self.where(row, key))
        if iid in self.indicator_rows:
            problems.add("dup_indicator", **self.where(row, "ind_id"), id=iid,
                         first=self.indicator_rows[iid])
        elif iid:
            self.indicator_rows[iid] = row
        coded = {}
        for field, codes in LABELLED.items():
            value = texts[field]
            coded[field] = self.labels[field].get(_norm(value), value)
            if not value:
                problems.add("empty", **self.where(row, field))
            elif coded[field] not in codes:
                problems.add("bad_label", **self.where(row, field), value=value,
                             allowed=_allowed(field, codes, self.lang))
        numbers = {}
        for year, raw in targets.items():
            try:
                numbers[year] = _parse_target(raw)
            except ValueError:
                problems.add("not_number", row=row, col=self.year_cols[year] + 1,
                             column=t("tasklist.col.target", self.lang, year=year),
                             value=_text(raw))
                numbers[year] = None
        weight = texts.get("weight", "")
        if coded["aggregation"] == "weighted":
            if not weight:
                where = self.where(row, "weight") if "weight" in self.cols else self.where(
                    row, "aggregation")
                problems.add("no_weight", **where)
            else:
                self.weights.append((row, weight))
        self.indicators.append(Indicator(
            id=iid, task=seq, name=texts["ind_name"], unit=texts["ind_unit"],
            kind=coded["kind"], direction=coded["direction"],
            targets=tuple(sorted(numbers.items())),
            scope=self.unit_scope(row, "scope", texts["scope"]),
            aggregation=coded["aggregation"], source=texts.get("source", ""), weight=weight))

    def check_weights(self) -> None:
        for row, weight in self.weights:
            if weight not in self.indicator_rows:
                self.problems.add("unknown_weight", **self.where(row, "weight"), value=weight)


def _list(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in _SPLIT_LIST.split(text) if p.strip())


def _lines(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.splitlines() if p.strip())


def import_tasklist(path, dest_yaml, units: tuple[Unit, ...] | None = None,
                    lang: str = "zh") -> TaskList:
    """Read a 重点任务清单 workbook, check it, write it as YAML at ``dest_yaml``.

    Returns the list as ``load_tasklist`` reads the written file. Raises
    WorkbookError naming every malformed row and cell; ``dest_yaml`` is only
    replaced when the whole workbook reads cleanly.
    """
    from toolkit.tasklist import load_tasklist, load_units
    from toolkit.tasklist_yaml import dump_tasklist_yaml

    path, dest = Path(path), Path(dest_yaml)
    units = tuple(units) if units is not None else load_units()
    tasklist = parse_tasklist_sheets(_read_sheets(path, lang), units, path, lang)
    with atomic_path(dest) as tmp:
        tmp.write_text(dump_tasklist_yaml(tasklist), encoding="utf-8")
        loaded = load_tasklist(tmp, units=units)
    return replace(loaded, source_path=str(dest))
