"""Feedback workbooks (退回修改): a unit's own template, prefilled, with its problems marked.

For each unit whose current submission has errors or warnings: a fresh
template for the unit and period (``toolkit.template.build_template``, so its
identity is the template identity and the unit can fix and resubmit this very
workbook), prefilled with what the unit submitted; every problem cell filled
red (error) or yellow (warning) with a comment holding the message; and a
问题清单 sheet listing every issue with a link to its cell and a column for the
clerk's explanation. A warning explained there is accepted when the workbook
comes back (``toolkit.validate.apply_explanations``).

Files go to ``outputs/<PERIOD>/feedback/``, written atomically.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from toolkit import layout
from toolkit.catalogue import t
from toolkit.extract import EXPLAIN_COLS, EXPLAIN_FIRST_ROW, EXPLAIN_HEADER_ROW, EXPLAIN_SHEET_KEY
from toolkit.extract import text as cell_text

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
EXPLANATION_MAX = 500
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class FeedbackFile:
    unit: str
    unit_name: str
    path: Path
    errors: int
    warnings: int


def needs_feedback(result) -> bool:
    """A unit gets feedback when its submission has an error or an unexplained warning."""
    return any(i.severity in ("error", "warning") for i in result.issues)


def listed(result) -> list:
    """The issues the 问题清单 lists: counted ones, and explained warnings (kept explained)."""
    shown = [i for i in result.issues if i.counted or i.accepted]
    return sorted(shown, key=lambda i: SEVERITY_ORDER[i.severity])


def locate(issue, indicator_rows: dict, task_rows: dict) -> tuple[str, int, int] | None:
    """Where ``issue`` sits in a fresh template: (sheet key, row, col), layout numbering.

    Rows come from the fresh template, not from the submitted workbook, so a
    moved or deleted row is pointed at where it belongs. Issues about the
    workbook as a whole, or about rows a template no longer has, have no cell.
    """
    column = issue.column
    if issue.code == "E-ROW-DELETED":
        column = "status" if issue.task else "actual"
    elif column == "id":
        return None
    if column in layout.FILLER_CELLS:
        return ("indicators", *layout.FILLER_CELLS[column])
    if issue.task and column in layout.PROG_COLS and issue.task in task_rows:
        return ("progress", task_rows[issue.task], layout.PROG_COLS[column])
    if issue.indicator and column in layout.IND_COLS and issue.indicator in indicator_rows:
        return ("indicators", indicator_rows[issue.indicator], layout.IND_COLS[column])
    return None


def prefill_from(extracted, marks: dict):
    """What the unit submitted, as a template ``Prefill`` (numbers read, else the text typed)."""
    from toolkit.template import Prefill

    actual, note, progress, filler = {}, {}, {}, {}
    for r in extracted.indicators:
        if r.milestone or r.value is None:
            shown = cell_text(r.raw)
            if shown:
                actual[r.id] = shown
        else:
            actual[r.id] = r.value
        if r.note:
            note[r.id] = r.note
    for r in extracted.tasks:
        progress[r.id] = {"status": r.canonical_status or r.status, "progress": r.progress,
                          "problems": r.problems, "next_steps": r.next_steps}
    for f in extracted.filler:
        value = f.value
        if f.key == "date" and value:
            try:
                value = dt.date.fromisoformat(value[:10])
            except ValueError:
                pass
        if value:
            filler[f.key] = value
    return Prefill(actual=actual, note=note, progress=progress, filler=filler, marks=marks)


def feedback_filename(unit, period, lang: str) -> str:
    name = _UNSAFE.sub("_", unit.name).strip(" .") or "unit"
    return t("feedback.file", lang, code=unit.code, unit=name, period=period.code)


def write_unit_feedback(path, spec, result, extracted, lang: str) -> Path:
    """Write one unit's feedback workbook (atomically), prefilled with ``extracted`` (what
    its submission held: ``toolkit.validation_run.extraction``); returns its path."""
    from toolkit.atomic import atomic_path
    from toolkit.template import build_template, open_workbook

    indicators = spec.tasklist.indicators_for(spec.unit.code)
    tasks = spec.tasklist.tasks_for(spec.unit.code)
    ind_rows = {i.id: layout.IND_FIRST_ROW + n for n, i in enumerate(indicators)}
    task_rows = {x.id: layout.PROG_FIRST_ROW + n for n, x in enumerate(tasks)}
    issues = listed(result)
    placed = [(issue, locate(issue, ind_rows, task_rows)) for issue in issues]
    marks: dict = {}
    notes: dict = {}
    for issue, where in placed:
        if where is None or issue.severity not in ("error", "warning"):
            continue
        if marks.get(where) != "error":
            marks[where] = issue.severity
        notes.setdefault(where, []).append(issue.message(lang))
    path = Path(path)
    with atomic_path(path) as tmp:
        book = open_workbook(tmp)
        built = build_template(book, spec, prefill_from(extracted, marks))
        if built.indicator_rows != ind_rows or built.task_rows != task_rows:
            raise AssertionError("template rows differ from toolkit.layout")  # pragma: no cover
        for (key, row, col), messages in notes.items():
            body = "\n\n".join(messages)
            built.sheets[key].write_comment(row - 1, col - 1, body, {
                "author": t("feedback.sheet.issues", lang), "x_scale": 3,
                "y_scale": min(8, 1 + len(body) // 60)})
        sheet = _issue_sheet(book, built, placed, spec, lang)
        sheet.activate()
        built.sheets["instructions"].selected = 0  # one selected tab, never a group
        book.close()
    return path


def _issue_sheet(book, built, placed, spec, lang):
    sheet = book.add_worksheet(t(EXPLAIN_SHEET_KEY, lang))
    border = {"border": 1, "border_color": "#808080", "valign": "top"}
    fmt = {
        "title": book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        "header": book.add_format({**border, "bold": True, "bg_color": "#D9D9D9",
                                   "pattern": 1, "text_wrap": True}),
        "cell": book.add_format({**border, "text_wrap": True}),
        "link": book.add_format({**border, "font_color": "blue", "underline": 1}),
        "input": book.add_format({**border, "locked": False, "text_wrap": True,
                                  "bg_color": "#DDEBF7", "pattern": 1}),
        "error": book.add_format({**border, "bg_color": "#FFC7CE", "pattern": 1}),
        "warning": book.add_format({**border, "bg_color": "#FFEB9C", "pattern": 1}),
        "info": book.add_format({**border, "bg_color": "#E2EFDA", "pattern": 1}),
    }
    cols = EXPLAIN_COLS
    last_col = max(cols.values()) - 1
    sheet.merge_range(0, 0, 0, last_col - 1, t("feedback.title", lang, unit=spec.unit.name,
                                                period=spec.period.label(lang)), fmt["title"])
    sheet.set_row(0, 48)
    widths = {"no": 5, "severity": 8, "code": 22, "sheet": 10, "cell": 10, "item": 24,
              "value": 14, "message": 70, "explanation": 40, "key": 10}
    for key, col in cols.items():
        sheet.write_string(EXPLAIN_HEADER_ROW - 1, col - 1, t(f"feedback.col.{key}", lang),
                           fmt["header"])
        options = {"hidden": True} if key == "key" else {}
        sheet.set_column(col - 1, col - 1, widths[key], None, options)
    names = {i.id: i.name for i in spec.tasklist.indicators}
    titles = {x.id: x.title for x in spec.tasklist.tasks}
    from toolkit.issues import item_text

    for n, (issue, where) in enumerate(placed):
        row = EXPLAIN_FIRST_ROW - 1 + n
        values = {
            "severity": t(f"validation.severity.{issue.severity}", lang), "code": issue.code,
            "item": item_text(issue.indicator, issue.task,
                              names.get(issue.indicator) or titles.get(issue.task, ""), lang),
            "value": issue.value, "message": issue.message(lang), "key": "|".join(issue.key),
        }
        sheet.write_number(row, cols["no"] - 1, n + 1, fmt["cell"])
        for key, value in values.items():
            style = fmt[issue.severity] if key == "severity" else fmt["cell"]
            if value:
                sheet.write_string(row, cols[key] - 1, value, style)
            else:
                sheet.write_blank(row, cols[key] - 1, None, style)
        if where is not None:
            key, r, c = where
            name = built.sheets[key].name
            cell = layout.a1(r, c)
            sheet.write_string(row, cols["sheet"] - 1, name, fmt["cell"])
            sheet.write_url(row, cols["cell"] - 1, f"internal:'{name}'!{cell}", fmt["link"],
                            string=cell, tip=issue.message(lang)[:255])
        else:
            sheet.write_string(row, cols["sheet"] - 1, issue.sheet or "", fmt["cell"])
            sheet.write_string(row, cols["cell"] - 1, "—", fmt["cell"])
        if issue.explanation:
            sheet.write_string(row, cols["explanation"] - 1, issue.explanation, fmt["input"])
        else:
            sheet.write_blank(row, cols["explanation"] - 1, None, fmt["input"])
        sheet.data_validation(row, cols["explanation"] - 1, row, cols["explanation"] - 1, {
            "validate": "length", "criteria": "<=", "value": EXPLANATION_MAX,
            "ignore_blank": True, "input_title": t("feedback.col.explanation", lang)[:32],
            "input_message": t("feedback.explanation.prompt", lang)[:255]})
    sheet.freeze_panes(EXPLAIN_FIRST_ROW - 1, 0)
    sheet.protect(spec.password, {"format_columns": True, "format_rows": True})
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(EXPLAIN_HEADER_ROW - 1)
    return sheet


def write_feedback(workspace, period, lang: str | None = None, report=None) -> list[FeedbackFile]:
    """One feedback workbook per unit whose current submission has errors or warnings."""
    from toolkit import store
    from toolkit.periods import Period, parse_period
    from toolkit.template import TemplateSpec
    from toolkit.validation_run import evaluate, extraction, load_allocations

    tasklist = workspace.tasklist
    if not isinstance(period, Period):
        period = parse_period(period, years=tasklist.years)
    lang = lang or workspace.config.lang
    report = report or evaluate(workspace, period)
    units = {u.code: u for u in tasklist.units}
    due = [r for r in report.results if r.unit in units and needs_feedback(r)]
    with store.opened(workspace.db_path) as conn:
        allocations = load_allocations(conn, period.year)
        inputs = {r.submission_id: extraction(workspace, conn, r) for r in due}
    sender = workspace.config.mail.sender
    contact = "" if sender.endswith("@localhost") else sender
    out_dir = workspace.period_dir(period) / "feedback"
    written = []
    for result in due:
        unit, extracted = units[result.unit], inputs[result.submission_id]
        if extracted is None:
            continue
        spec = TemplateSpec(tasklist=tasklist, unit=unit, period=period, lang=lang,
                            allocations=allocations.get(unit.code, {}),
                            deadline=workspace.deadline(period), contact=contact,
                            password=workspace.config.password)
        path = write_unit_feedback(out_dir / feedback_filename(unit, period, lang), spec, result,
                                   extracted, lang)
        written.append(FeedbackFile(unit.code, unit.name, path, result.errors, result.warnings))
    return written
