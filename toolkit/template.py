"""Write the per-unit report template a county clerk fills in.

Sheets, rows and columns follow ``toolkit.layout`` exactly: instructions,
indicators, task progress, then the hidden list sheet and the hidden identity
sheet. Input cells are unlocked, coloured and validated; everything else is
locked under sheet protection. Output is deterministic (fixed creation date),
so two runs on the same inputs give the same workbook.

``build_template`` writes into an open xlsxwriter workbook (the feedback writer
adds to it); ``write_template`` writes one file atomically; ``generate_templates``
writes one per unit for a period.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from toolkit import layout
from toolkit.catalogue import t
from toolkit.identity import make_identity, set_identity_properties, write_identity_sheet
from toolkit.model import Indicator, TaskList, Unit
from toolkit.periods import Period

CREATED = dt.datetime(2024, 1, 1)  # fixed creation date: the same inputs give the same file
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
                    "strings_to_numbers": False}
COLOURS = {"input": "#DDEBF7", "locked": "#F2F2F2", "header": "#D9D9D9",
           "error": "#FFC7CE", "warning": "#FFEB9C"}
MARKS = ("error", "warning")
CELL_BORDER = {"border": 1, "border_color": "#808080", "valign": "vcenter"}
# Units of measure counted in whole numbers; anything else with a unit gets 2 decimals.
COUNT_UNITS = frozenset("个 所 户 人 人次 条 套 片 项 家 座 处 辆 间 栋 名 次 张 场 台 宗".split())
TEXT_MAX = {"note": 500, "progress": 1000, "problems": 1000, "next_steps": 1000}
SHORT_MAX = 50  # filler name, phone, reviewer
FORMATS_BY_KIND = {"percent": "0.00", "integer": "#,##0", "number": "#,##0.00"}
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class TemplateSpec:
    """Everything one unit's template for one period depends on."""

    tasklist: TaskList
    unit: Unit
    period: Period
    lang: str = "zh"
    allocations: Mapping[str, float] = field(default_factory=dict)  # indicator id -> target
    deadline: dt.date | None = None
    contact: str = ""
    password: str = ""


@dataclass(frozen=True)
class Prefill:
    """Values from a submission written back into the input cells (untrusted: text or numbers).

    ``marks`` colours cells red ("error") or yellow ("warning") instead of the
    input colour, keyed by (sheet key, row, col) in ``toolkit.layout`` numbering.
    """

    actual: Mapping[str, object] = field(default_factory=dict)
    note: Mapping[str, str] = field(default_factory=dict)
    progress: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    filler: Mapping[str, str] = field(default_factory=dict)
    marks: Mapping[tuple[str, int, int], str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltTemplate:
    """What ``build_template`` wrote: worksheets by sheet key, formats by name, row maps."""

    sheets: dict
    formats: dict
    indicator_rows: dict[str, int]
    task_rows: dict[str, int]
    identity: layout.Identity


# --- units of measure ------------------------------------------------------

def value_kind(indicator: Indicator) -> str:
    """How the actual of ``indicator`` is entered: milestone, percent, integer or number."""
    if indicator.kind == "milestone":
        return "milestone"
    if indicator.unit == "%":
        return "percent"
    return "integer" if indicator.unit in COUNT_UNITS else "number"


def number_format(unit_of_measure: str) -> str:
    """Excel number format for values in ``unit_of_measure`` (percent values are 0-100)."""
    if unit_of_measure == "%":
        return FORMATS_BY_KIND["percent"]
    return FORMATS_BY_KIND["integer" if unit_of_measure in COUNT_UNITS else "number"]


@functools.lru_cache(maxsize=4096)
def display_width(text: str) -> int:
    """Width in Excel column units: a Chinese character takes two."""
    text = str(text)
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _clip(text: str, limit: int = 255) -> str:
    """Excel's limit on validation prompts counts UTF-16 units."""
    while len(text.encode("utf-16-le")) // 2 > limit:
        text = text[:-2] + "…"
    return text


# --- formats ---------------------------------------------------------------

class _Styles:
    """Named formats of one workbook, with red/yellow variants made on demand."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.props: dict[str, dict] = {}
        self.formats: dict = {}
        border = CELL_BORDER
        locked = {**border, "locked": True}
        grey = {**locked, "bg_color": COLOURS["locked"], "pattern": 1}
        inp = {**border, "locked": False, "bg_color": COLOURS["input"], "pattern": 1}
        self.define("title", bold=True, font_size=14)
        self.define("subtitle", font_size=11)
        self.define("hint", italic=True, font_color="#595959")
        self.define("heading", bold=True, font_size=11)
        self.define("para", text_wrap=True, valign="top")
        self.define("plain")
        self.define("header", **locked, bold=True, align="center", text_wrap=True,
                    bg_color=COLOURS["header"], pattern=1)
        self.define("label", **grey, bold=True, align="right")
        self.define("fixed", **grey)
        self.define("text", **locked, text_wrap=True)
        self.define("center", **locked, align="center")
        for kind, num in FORMATS_BY_KIND.items():
            self.define(f"num:{kind}", **locked, num_format=num)
            self.define(f"in:{kind}", **inp, num_format=num)
        self.define("in:list", **inp, align="center")
        self.define("in:text", **inp, text_wrap=True)
        self.define("in:short", **inp, num_format="@")
        self.define("in:date", **inp, num_format="yyyy-mm-dd", align="left")
        for name in ("input", "locked", *MARKS):
            self.define(f"legend:{name}", **border, bg_color=COLOURS[name], pattern=1)
        for mark in MARKS:  # for whoever annotates a built template (feedback)
            self.define(mark, **border, text_wrap=True, bg_color=COLOURS[mark], pattern=1)

    def define(self, name: str, **props) -> None:
        self.props[name] = props
        self.formats[name] = self.workbook.add_format(props)

    def __call__(self, name: str, mark: str | None = None):
        if mark not in MARKS:
            return self.formats[name]
        key = f"{name}+{mark}"
        if key not in self.formats:
            self.define(key, **{**self.props[name], "bg_color": COLOURS[mark], "pattern": 1})
        return self.formats[key]


class _Sheet:
    """A worksheet addressed in layout numbering (1-based), honouring marks and widths."""

    def __init__(self, worksheet, key: str, styles: _Styles, marks: Mapping):
        self.ws = worksheet
        self.key = key
        self.styles = styles
        self.marks = marks
        self.widths: dict[int, int] = {}
        self.validations: list[tuple[int, int, dict]] = []

    def fmt(self, name: str, row: int, col: int):
        return self.styles(name, self.marks.get((self.key, row, col)))

    def measure(self, col: int, text) -> None:
        self.widths[col] = max(self.widths.get(col, 0), display_width(text))

    def text(self, row: int, col: int, value, style: str, measure: bool = True) -> None:
        value = "" if value is None else str(value)
        if value:
            self.ws.write_string(row - 1, col - 1, value, self.fmt(style, row, col))
        else:
            self.ws.write_blank(row - 1, col - 1, None, self.fmt(style, row, col))
        if measure:
            self.measure(col, value)

    def number(self, row: int, col: int, value, style: str) -> None:
        if value is None:
            self.ws.write_blank(row - 1, col - 1, None, self.fmt(style, row, col))
            return
        self.ws.write_number(row - 1, col - 1, value, self.fmt(style, row, col))
        self.measure(col, f"{value:,.2f}")

    def value(self, row: int, col: int, value, style: str) -> None:
        """An untrusted value: a finite number as a number, anything else as text."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value):
            self.number(row, col, value, style)
        elif isinstance(value, (dt.date, dt.datetime)) and style == "in:date":
            if not isinstance(value, dt.datetime):
                value = dt.datetime(value.year, value.month, value.day)
            self.ws.write_datetime(row - 1, col - 1, value, self.fmt(style, row, col))
        elif isinstance(value, (dt.date, dt.datetime)):
            self.text(row, col, value.isoformat(), style, measure=False)
        else:
            self.text(row, col, value, style, measure=False)

    def validate(self, row: int, col: int, options: dict) -> None:
        self.validations.append((row, col, options))

    def write_validations(self) -> None:
        """One validation per run of cells in a column that share the same rule."""
        runs: list[list] = []  # [col, first row, last row, options]
        for row, col, options in sorted(self.validations, key=lambda v: (v[1], v[0])):
            last = runs[-1] if runs else None
            if last and last[0] == col and last[2] == row - 1 and last[3] == options:
                last[2] = row
            else:
                runs.append([col, row, row, options])
        for col, first, last, options in runs:
            self.ws.data_validation(first - 1, col - 1, last - 1, col - 1, options)

    def set_widths(self, minimum: int = 6, caps: Mapping[int, int] = {}) -> None:
        for col, width in sorted(self.widths.items()):
            cap = caps.get(col, 50)
            self.ws.set_column(col - 1, col - 1, max(minimum, min(cap, width + 2)))

    def row_height(self, row: int, texts: Mapping[int, str], caps: Mapping[int, int],
                   minimum_lines: int = 1) -> None:
        lines = minimum_lines
        for col, text in texts.items():
            width = max(6, min(caps.get(col, 50), self.widths.get(col, 0) + 2))
            lines = max(lines, math.ceil(display_width(text) / max(1, width - 1)))
        if lines > 1:
            self.ws.set_row(row - 1, 15 * min(lines, 8) + 2)


def _protect(sheet: _Sheet, password: str) -> None:
    sheet.ws.protect(password, {"format_columns": True, "format_rows": True})


def _print_setup(ws, header_row: int) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(header_row - 1)
    ws.set_footer("&C&P / &N")


# --- validation rules --------------------------------------------------------

def _list_source(column: str, count: int) -> str:
    return f"='{layout.LISTS_SHEET}'!${column}$1:${column}${count}"


def _rule(kind: str, lang: str, **fields) -> dict:
    """A data validation with its prompt and error message, from the catalogue."""
    text = lambda key: _clip(t(key, lang, **fields))  # noqa: E731
    common = {"show_input": True, "show_error": True, "error_type": "stop",
              "ignore_blank": True}
    if kind == "percent":
        return {**common, "validate": "decimal", "criteria": "between", "minimum": 0,
                "maximum": 100, "input_title": text("template.dv.percent.title"),
                "input_message": text("template.dv.percent.prompt"),
                "error_title": text("template.dv.percent.title"),
                "error_message": text("template.dv.percent.error")}
    if kind in ("integer", "number"):
        return {**common, "validate": "integer" if kind == "integer" else "decimal",
                "criteria": ">=", "value": 0, "input_title": text("template.dv.number.title"),
                "input_message": text(f"template.dv.{kind}.prompt"),
                "error_title": text("template.dv.number.title"),
                "error_message": text(f"template.dv.{kind}.error")}
    if kind in ("milestone", "status"):
        column, count = ("B", len(layout.MILESTONE_VALUES)) if kind == "milestone" \
            else ("A", len(layout.STATUSES))
        return {**common, "validate": "list", "source": _list_source(column, count),
                "input_title": text(f"template.dv.{kind}.title"),
                "input_message": text(f"template.dv.{kind}.prompt"),
                "error_title": text(f"template.dv.{kind}.title"),
                "error_message": text(f"template.dv.{kind}.error")}
    if kind == "date":
        return {**common, "validate": "date", "criteria": "between",
                "minimum": fields["first"], "maximum": fields["last"],
                "input_title": text("template.dv.date.title"),
                "input_message": text("template.dv.date.prompt"),
                "error_title": text("template.dv.date.title"),
                "error_message": text("template.dv.date.error")}
    # free text: a length limit, so the prompt shows and a runaway paste is refused
    limit = fields["max"]
    prompt = fields.get("prompt", "template.dv.note.prompt")
    error = "template.dv.text.error" if limit > SHORT_MAX else "template.dv.short.error"
    return {**common, "validate": "length", "criteria": "<=", "value": limit,
            "input_title": text("template.dv.text.title"), "input_message": text(prompt),
            "error_title": text("template.dv.text.title"), "error_message": text(error)}


# --- the sheets --------------------------------------------------------------

def _instructions(sheet: _Sheet, spec: TemplateSpec, identity, deadline: dt.date) -> None:
    lang, period = spec.lang, spec.period
    names = {k: t(f"layout.sheet.{k}", lang) for k in layout.SHEETS}
    lines: list[tuple[str, str]] = [
        ("title", t("template.instr.title", lang, plan=spec.tasklist.title,
                    period=period.label(lang))),
        ("plain", ""),
        ("subtitle", t("template.instr.unit", lang, name=spec.unit.name, code=spec.unit.code)),
        ("subtitle", t("template.instr.period", lang, period=period.label(lang),
                       end=period.end.isoformat())),
        ("heading", t("template.instr.deadline", lang, date=deadline.isoformat())),
        ("subtitle", t("template.instr.contact", lang, contact=spec.contact) if spec.contact
         else t("template.instr.contact_none", lang)),
        ("plain", ""),
    ]
    for section, count in (("what", 3), ("how", 3), ("dont", 3)):
        lines.append(("heading", t(f"template.instr.{section}", lang)))
        lines += [("para", t(f"template.instr.{section}.{n}", lang, **names))
                  for n in range(1, count + 1)]
        lines.append(("plain", ""))
    row = 1
    for style, text in lines:
        sheet.text(row, 2, text, style, measure=False)
        if style == "para":
            sheet.ws.set_row(row - 1, 15 * math.ceil(display_width(text) / 96) + 3)
        row += 1
    sheet.text(row, 2, t("template.instr.legend", lang), "heading", measure=False)
    for name in ("input", "locked", *MARKS):
        row += 1
        sheet.ws.write_blank(row - 1, 0, None, sheet.styles(f"legend:{name}"))
        sheet.text(row, 2, t(f"template.legend.{name}", lang), "plain", measure=False)
    row += 2
    sheet.text(row, 2, t("template.instr.footer", lang, version=identity.template_version,
                         fingerprint=identity.fingerprint), "hint", measure=False)
    sheet.ws.set_column(0, 0, 4)
    sheet.ws.set_column(1, 1, 100)
    sheet.ws.set_landscape()
    sheet.ws.set_paper(9)
    sheet.ws.fit_to_pages(1, 0)


def _indicators(sheet: _Sheet, spec: TemplateSpec, prefill: Prefill, identity,
                indicators) -> dict[str, int]:
    lang, year = spec.lang, spec.period.year
    cols = layout.IND_COLS
    sheet.text(layout.TITLE_ROW, 1, t("layout.title", lang, plan=spec.tasklist.title),
               "title", measure=False)
    values = identity.as_dict()
    for key, (row, col) in layout.ID_CELLS.items():
        sheet.text(row, col - 1, t(f"layout.id.{key}", lang), "label")
        sheet.text(row, col, values[key], "fixed")
    first, last = dt.date(year, 1, 1), dt.date(year + 1, 12, 31)
    for key, (row, col) in layout.FILLER_CELLS.items():
        sheet.text(row, col - 1, t(f"layout.filler.{key}", lang), "label")
        if key == "date":
            sheet.value(row, col, prefill.filler.get(key), "in:date")
            sheet.validate(row, col, _rule("date", lang, first=first, last=last,
                                           example=spec.period.default_deadline().isoformat()))
        else:
            sheet.value(row, col, prefill.filler.get(key), "in:short")
            sheet.validate(row, col, _rule("text", lang, max=SHORT_MAX,
                                           prompt=f"template.dv.{key}.prompt"))
        sheet.measure(col, "0000-00000000")
    sheet.text(layout.IND_HEADER_ROW - 1, 1, t("template.ind.hint", lang), "hint", measure=False)
    for key, col in cols.items():
        sheet.text(layout.IND_HEADER_ROW, col, t(f"layout.ind.{key}", lang, year=year), "header",
                   measure=False)
    rows: dict[str, int] = {}
    task_titles = {task.id: task.title for task in spec.tasklist.tasks}
    caps = {cols["task"]: 28, cols["name"]: 40, cols["note"]: 30}
    for offset, ind in enumerate(indicators):
        row = layout.IND_FIRST_ROW + offset
        rows[ind.id] = row
        kind = value_kind(ind)
        shown = "integer" if kind == "milestone" else kind
        sheet.text(row, cols["id"], ind.id, "center")
        sheet.text(row, cols["task"], task_titles.get(ind.task, ind.task), "text")
        sheet.text(row, cols["name"], ind.name, "text")
        sheet.text(row, cols["unit"], ind.unit, "center")
        sheet.number(row, cols["target"], ind.target(year), f"num:{shown}")
        sheet.number(row, cols["allocated"], spec.allocations.get(ind.id), f"num:{shown}")
        actual_style = "in:list" if kind == "milestone" else f"in:{kind}"
        sheet.value(row, cols["actual"], prefill.actual.get(ind.id), actual_style)
        sheet.validate(row, cols["actual"], _rule(kind, lang, name=ind.name, unit=ind.unit))
        sheet.value(row, cols["note"], prefill.note.get(ind.id), "in:text")
        sheet.validate(row, cols["note"], _rule("text", lang, max=TEXT_MAX["note"]))
    if not indicators:
        sheet.text(layout.IND_FIRST_ROW, cols["name"],
                   t("template.none", lang, what=t("template.none.indicators", lang)), "hint",
                   measure=False)
    for col in (cols["target"], cols["allocated"], cols["actual"]):
        sheet.measure(col, "000,000,000.00")
    sheet.measure(cols["note"], "一" * 14)
    sheet.set_widths(caps=caps)
    for ind in indicators:
        sheet.row_height(rows[ind.id], {cols["task"]: task_titles.get(ind.task, ""),
                                        cols["name"]: ind.name}, caps)
    sheet.ws.set_row(layout.IND_HEADER_ROW - 1, 32)
    sheet.ws.freeze_panes(layout.IND_FIRST_ROW - 1, cols["name"])
    _print_setup(sheet.ws, layout.IND_HEADER_ROW)
    return rows


def _progress(sheet: _Sheet, spec: TemplateSpec, prefill: Prefill, tasks) -> dict[str, int]:
    lang = spec.lang
    cols = layout.PROG_COLS
    sheet.text(1, 1, t("layout.progress_title", lang, plan=spec.tasklist.title), "title",
               measure=False)
    sheet.text(2, 1, t("template.prog.subtitle", lang, name=spec.unit.name,
                       period=spec.period.label(lang)), "subtitle", measure=False)
    for key, col in cols.items():
        sheet.text(layout.PROG_HEADER_ROW, col, t(f"layout.prog.{key}", lang), "header",
                   measure=False)
    actions = {a.id: a.title for a in spec.tasklist.actions}
    caps = {cols["action"]: 20, cols["title"]: 28, cols["lead"]: 20}
    rows: dict[str, int] = {}
    for offset, task in enumerate(tasks):
        row = layout.PROG_FIRST_ROW + offset
        rows[task.id] = row
        entry = prefill.progress.get(task.id, {})
        sheet.text(row, cols["id"], task.id, "center")
        sheet.text(row, cols["action"], actions.get(task.action, task.action), "text")
        sheet.text(row, cols["title"], task.title, "text")
        sheet.text(row, cols["lead"], "、".join(task.lead), "text")
        sheet.value(row, cols["status"], entry.get("status"), "in:list")
        sheet.validate(row, cols["status"], _rule("status", lang))
        for key in ("progress", "problems", "next_steps"):
            sheet.value(row, cols[key], entry.get(key), "in:text")
            sheet.validate(row, cols[key], _rule("text", lang, max=TEXT_MAX[key],
                                                 prompt=f"template.dv.{key}.prompt"))
    if not tasks:
        sheet.text(layout.PROG_FIRST_ROW, cols["title"],
                   t("template.none", lang, what=t("template.none.tasks", lang)), "hint",
                   measure=False)
    sheet.measure(cols["status"], "一" * 4)
    for key in ("progress", "problems", "next_steps"):
        sheet.measure(cols[key], "一" * 16)
    sheet.set_widths(caps=caps)
    for task in tasks:
        sheet.row_height(rows[task.id], {cols["action"]: actions.get(task.action, ""),
                                         cols["title"]: task.title,
                                         cols["lead"]: "、".join(task.lead)}, caps,
                         minimum_lines=3)
    sheet.ws.set_row(layout.PROG_HEADER_ROW - 1, 24)
    sheet.ws.freeze_panes(layout.PROG_FIRST_ROW - 1, cols["title"])
    _print_setup(sheet.ws, layout.PROG_HEADER_ROW)
    return rows


def _lists(sheet: _Sheet) -> None:
    for row, status in enumerate(layout.STATUSES, start=1):
        sheet.text(row, 1, status, "plain")
    for row, value in enumerate(layout.MILESTONE_VALUES, start=1):
        sheet.text(row, 2, value, "plain")


# --- public API --------------------------------------------------------------

def open_workbook(path):
    """An xlsxwriter workbook that writes text as text (no formulas, links or numbers).

    Assembled in memory: a template is small, and temporary files cost more than it.
    """
    import xlsxwriter

    return xlsxwriter.Workbook(str(path), {**WORKBOOK_OPTIONS, "in_memory": True})


def office_formats(workbook) -> dict:
    """The formats of the office's own workbooks (allocation, prefecture figures): title,
    hint, label, header, text and centred cells; each workbook adds its own inputs."""
    return {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "hint": workbook.add_format({"italic": True, "font_color": "#595959"}),
        "label": workbook.add_format({**CELL_BORDER, "bold": True}),
        "header": workbook.add_format({**CELL_BORDER, "bold": True, "align": "center",
                                       "text_wrap": True, "bg_color": COLOURS["header"]}),
        "text": workbook.add_format({**CELL_BORDER, "text_wrap": True}),
        "center": workbook.add_format({**CELL_BORDER, "align": "center"}),
    }


def build_template(workbook, spec: TemplateSpec, prefill: Prefill | None = None) -> BuiltTemplate:
    """Write ``spec``'s template into the open xlsxwriter ``workbook``.

    Open it with ``open_workbook`` (or the same options) so that text stays text.
    Prefilled values are written with write_string / write_number, never as formulas.
    """
    prefill = prefill or Prefill()
    lang = spec.lang
    indicators = spec.tasklist.indicators_for(spec.unit.code)
    tasks = spec.tasklist.tasks_for(spec.unit.code)
    identity = make_identity(spec.tasklist, spec.unit, spec.period, lang,
                             [i.id for i in indicators], [x.id for x in tasks])
    deadline = spec.deadline or spec.period.default_deadline()
    styles = _Styles(workbook)
    sheets = {key: _Sheet(workbook.add_worksheet(t(f"layout.sheet.{key}", lang)), key, styles,
                          prefill.marks)
              for key in layout.SHEETS}
    lists = _Sheet(workbook.add_worksheet(layout.LISTS_SHEET), layout.LISTS_SHEET, styles, {})
    _instructions(sheets["instructions"], spec, identity, deadline)
    indicator_rows = _indicators(sheets["indicators"], spec, prefill, identity, indicators)
    task_rows = _progress(sheets["progress"], spec, prefill, tasks)
    _lists(lists)
    for sheet in (*sheets.values(), lists):
        sheet.write_validations()
        _protect(sheet, spec.password)
    lists.ws.hide()
    identity_ws = write_identity_sheet(workbook, identity, spec.password)
    sheets["instructions"].ws.activate()
    set_identity_properties(workbook, identity)
    workbook.set_properties({
        "title": t("template.doc.title", lang, unit=spec.unit.name,
                   period=spec.period.label(lang)),
        "subject": spec.tasklist.title, "created": CREATED,
    })
    worksheets = {key: sheet.ws for key, sheet in sheets.items()}
    worksheets[layout.LISTS_SHEET] = lists.ws
    worksheets[layout.IDENTITY_SHEET] = identity_ws
    return BuiltTemplate(worksheets, styles.formats, indicator_rows, task_rows, identity)


def write_template(path, spec: TemplateSpec, prefill: Prefill | None = None) -> Path:
    """Write one template file atomically; returns its path."""
    from toolkit.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        workbook = open_workbook(tmp)
        build_template(workbook, spec, prefill)
        workbook.close()
    return path


def template_filename(unit: Unit, period: Period) -> str:
    """``653125_莎车县_2024H1.xlsx``: unit code, unit name and period."""
    name = _UNSAFE_NAME.sub("_", unit.name).strip(" .") or "unit"
    return f"{unit.code}_{name}_{period.code}.xlsx"


def select_units(tasklist: TaskList, units: Iterable[str] | None = None) -> list[Unit]:
    """The units named by code or name (UnitError for an unknown one); all when None."""
    if not units:
        return list(tasklist.units)
    chosen: list[Unit] = []
    for key in units:
        unit = tasklist.unit(key)
        if unit not in chosen:
            chosen.append(unit)
    return chosen


def generate_templates(workspace, period, units=None, out_dir=None, lang=None,
                       progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write one template per unit for ``period`` into ``out_dir``.

    Default folder: ``<workspace>/outputs/<PERIOD>/templates/``; units default to
    all; each unit's allocated targets come from the workspace's allocations
    table. ``progress(done, total)`` is called after each file.
    """
    from toolkit.allocation import unit_allocations
    from toolkit.periods import parse_period

    if not isinstance(period, Period):
        period = parse_period(period, years=workspace.tasklist.years)
    tasklist = workspace.tasklist
    chosen = select_units(tasklist, units)
    lang = lang or workspace.config.lang
    out_dir = Path(out_dir) if out_dir else workspace.period_dir(period) / "templates"
    allocations = unit_allocations(workspace.db_path, period.year)
    sender = workspace.config.mail.sender
    contact = "" if sender.endswith("@localhost") else sender
    common = {"tasklist": tasklist, "period": period, "lang": lang,
              "deadline": workspace.deadline(period), "contact": contact,
              "password": workspace.config.password}
    jobs = [(out_dir / template_filename(unit, period), unit, allocations.get(unit.code, {}))
            for unit in chosen]
    written = []
    for done, path in enumerate(_write_all(jobs, common), start=1):
        written.append(path)
        if progress is not None:
            progress(done, len(chosen))
    return written


# --- many templates: every core at work ----------------------------------------------

PARALLEL_FROM = 20  # from this many templates on, a pool of processes writes them
_COMMON: dict = {}  # a pool worker's spec fields shared by every template


def _workers(count: int) -> int:
    from toolkit.processes import cores

    return 1 if count < PARALLEL_FROM else max(1, min(cores(), 4))


def _init_worker(common: dict) -> None:
    _COMMON.clear()
    _COMMON.update(common)


def _write_one(job) -> Path:
    path, unit, allocations = job
    return write_template(path, TemplateSpec(unit=unit, allocations=allocations, **_COMMON))


def _write_all(jobs, common: dict):
    """Write each (path, unit, allocations) in ``jobs``; yield the paths in job order.

    One process for a few templates; for many, a pool with one worker per core
    (up to 4), each given the task list once. The files are the same either way.
    """
    workers = _workers(len(jobs))
    if workers == 1:
        for path, unit, allocations in jobs:
            yield write_template(path, TemplateSpec(unit=unit, allocations=allocations,
                                                    **common))
        return
    from concurrent.futures import ProcessPoolExecutor

    from toolkit.processes import context

    pool = ProcessPoolExecutor(workers, mp_context=context(), initializer=_init_worker,
                               initargs=(common,))
    try:
        yield from pool.map(_write_one, jobs, chunksize=4)
    finally:  # on an error (or Ctrl-C) the templates not yet started are not written
        pool.shutdown(wait=True, cancel_futures=True)
