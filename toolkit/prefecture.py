"""Figures the prefecture reports itself (地区层面指标): indicators no unit reports.

Some targets of the plan belong to the prefecture as a whole (the 喀什城市圈's
population and bus lines, the two colleges' expansion): no county template asks
for them. The office exports a workbook of the period's prefecture-level
indicators with their targets and lead departments, has the departments' figures
typed into it, and imports it; merge then rates those indicators like any other.

Numbers are read leniently (``toolkit.numbers``); a milestone is 已完成 or 未完成.
Every problem of an import is named with its cell, and nothing is stored then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit import layout
from toolkit.catalogue import t, texts
from toolkit.errors import WorkbookError
from toolkit.model import Indicator, TaskList
from toolkit.periods import Period
from toolkit.read import cell_text

TITLE_ROW, PERIOD_ROW, HINT_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3, 5, 6
COLUMNS = ("id", "task", "name", "unit", "target", "lead", "actual", "note")
INPUTS = ("actual", "note")


@dataclass(frozen=True)
class Figure:
    """One prefecture-level figure as imported: the value and where it was typed."""

    indicator: str
    actual: float | None
    raw: str = ""
    note: str = ""
    file: str = ""
    cell: str = ""


def reported(figures: dict[str, Figure]) -> int:
    """How many of ``figures`` hold a value (a note alone is no figure)."""
    return sum(1 for f in figures.values() if f.actual is not None)


def prefecture_indicators(tasklist: TaskList) -> list[Indicator]:
    """The indicators no reporting unit has in its template, in list order."""
    return [i for i in tasklist.indicators if not tasklist.scope_units(i)]


def _col(key: str) -> int:
    return COLUMNS.index(key) + 1


# --- the workbook --------------------------------------------------------------

def export_figures(tasklist: TaskList, period: Period, path, lang: str = "zh",
                   existing: dict[str, Figure] | None = None) -> Path:
    """Write the prefecture-level indicators of ``period`` to fill in (atomically)."""
    from toolkit.atomic import atomic_path
    from toolkit.template import CELL_BORDER as border
    from toolkit.template import COLOURS, number_format, office_formats, open_workbook

    existing = existing or {}
    path = Path(path)
    year = period.year
    with atomic_path(path) as tmp:
        book = open_workbook(tmp)
        ws = book.add_worksheet(t("prefecture.sheet", lang))
        fmt = {
            **office_formats(book),
            "input": book.add_format({**border, "locked": False, "text_wrap": True,
                                      "bg_color": COLOURS["input"]}),
        }
        ws.write_string(TITLE_ROW - 1, 0, t("prefecture.title", lang, plan=tasklist.title),
                        fmt["title"])
        ws.write_string(PERIOD_ROW - 1, 0, t("prefecture.period", lang), fmt["label"])
        ws.write_string(PERIOD_ROW - 1, 1, period.code, fmt["label"])
        ws.write_string(HINT_ROW - 1, 0, t("prefecture.hint", lang, period=period.label(lang)),
                        fmt["hint"])
        for col, key in enumerate(COLUMNS):
            ws.write_string(HEADER_ROW - 1, col, t(f"prefecture.col.{key}", lang, year=year),
                            fmt["header"])
        tasks = {task.id: task for task in tasklist.tasks}
        for row, ind in enumerate(prefecture_indicators(tasklist), start=FIRST_ROW - 1):
            task = tasks.get(ind.task)
            ws.write_string(row, 0, ind.id, fmt["center"])
            ws.write_string(row, 1, task.title if task else ind.task, fmt["text"])
            ws.write_string(row, 2, ind.name, fmt["text"])
            ws.write_string(row, 3, ind.unit, fmt["center"])
            target = ind.target(year)
            number = book.add_format({**border, "num_format": number_format(ind.unit)})
            if target is None:
                ws.write_blank(row, 4, None, number)
            else:
                ws.write_number(row, 4, target, number)
            ws.write_string(row, 5, "、".join(task.lead) if task else "", fmt["text"])
            before = existing.get(ind.id)
            actual_fmt = book.add_format({**border, "locked": False,
                                          "num_format": number_format(ind.unit),
                                          "bg_color": COLOURS["input"]})
            if before is None or before.actual is None:
                ws.write_blank(row, 6, None, actual_fmt)
            elif ind.kind == "milestone":
                ws.write_string(row, 6, before.raw, actual_fmt)
            else:
                ws.write_number(row, 6, before.actual, actual_fmt)
            ws.write_string(row, 7, before.note if before else "", fmt["input"])
            if ind.kind == "milestone":
                ws.data_validation(row, 6, row, 6, {
                    "validate": "list", "source": list(layout.MILESTONE_VALUES),
                    "input_title": t("prefecture.dv.title", lang),
                    "input_message": t("prefecture.dv.milestone", lang),
                    "error_message": t("prefecture.dv.milestone", lang)})
            else:
                bounds = ({"criteria": "between", "minimum": 0, "maximum": 100}
                          if ind.is_percent else {"criteria": ">=", "value": 0})
                ws.data_validation(row, 6, row, 6, {
                    "validate": "decimal", **bounds,
                    "input_title": t("prefecture.dv.title", lang),
                    "input_message": t("prefecture.dv.number", lang, unit=ind.unit)[:250],
                    "error_message": t("prefecture.dv.number", lang, unit=ind.unit)[:250]})
        for col, width in enumerate((9, 22, 30, 10, 16, 30, 16, 36)):
            ws.set_column(col, col, width)
        ws.set_row(HEADER_ROW - 1, 30)
        ws.freeze_panes(FIRST_ROW - 1, 3)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(HEADER_ROW - 1)
        ws.protect("", {"format_columns": True, "format_rows": True})
        book.close()
    return path


def read_figures(path, tasklist: TaskList, period: Period,
                 lang: str = "zh") -> dict[str, Figure]:
    """{indicator: Figure} from a filled workbook; WorkbookError naming every problem."""
    from toolkit.numbers import format_number, looks_like_fraction, read_number
    from toolkit.read import read_values

    path = Path(path)
    try:
        values = read_values(path)
    except Exception as exc:  # not a workbook at all, or a damaged one
        raise WorkbookError(t("prefecture.err.unreadable", lang, path=path, error=exc)) from None
    sheet = next((s for name in texts("prefecture.sheet") if (s := values.sheet(name))),
                 None) or next((s for s in values.sheets if s.visible == "visible"), None)

    def fail(*problems):
        raise WorkbookError("\n  ".join([t("prefecture.err.head", lang, path=path), *problems]))

    if sheet is None or cell_text(sheet.get(HEADER_ROW, 1)) not in texts("prefecture.col.id"):
        fail(t("prefecture.err.layout", lang, label=t("prefecture.col.id", lang),
               cell=layout.a1(HEADER_ROW, 1)))
    found = cell_text(sheet.get(PERIOD_ROW, 2))
    if found != period.code:
        fail(t("prefecture.err.period", lang, found=found or "—", period=period.code,
               cell=layout.a1(PERIOD_ROW, 2)))
    wanted = {i.id: i for i in prefecture_indicators(tasklist)}
    figures: dict[str, Figure] = {}
    rows: dict[str, str] = {}  # indicator -> the A1 cell of its first row
    problems = []
    for row in range(FIRST_ROW, sheet.max_row + 1):
        ind_id = cell_text(sheet.get(row, _col("id")))
        if not ind_id:
            continue
        ind = wanted.get(ind_id)
        cell = layout.a1(row, _col("actual"))
        if ind is None:
            problems.append(t("prefecture.err.indicator", lang, cell=layout.a1(row, 1),
                              id=ind_id))
            continue
        if ind_id in rows:
            problems.append(t("prefecture.err.twice", lang, cell=layout.a1(row, 1), id=ind_id,
                              first=rows[ind_id]))
            continue
        rows[ind_id] = layout.a1(row, 1)
        raw = sheet.get(row, _col("actual"))
        note = cell_text(sheet.get(row, _col("note")))
        if raw is None or cell_text(raw) == "":
            if note:  # an explanation without a figure yet: kept, and exported again
                figures[ind.id] = Figure(ind.id, None, "", note, path.name, cell)
            continue
        if ind.kind == "milestone":
            if cell_text(raw) not in layout.MILESTONE_VALUES:
                problems.append(t("prefecture.err.milestone", lang, cell=cell, value=cell_text(raw),
                                  choices="、".join(layout.MILESTONE_VALUES)))
                continue
            actual = 1.0 if cell_text(raw) == layout.MILESTONE_VALUES[0] else 0.0
        else:
            reading = read_number(raw, ind.unit)
            if reading.value is None:
                problems.append(t("prefecture.err.number", lang, cell=cell, value=cell_text(raw),
                                  unit=ind.unit))
                continue
            if reading.value < 0 or (ind.is_percent and reading.value > 100):
                problems.append(t("prefecture.err.range", lang, cell=cell,
                                  value=format_number(reading.value)))
                continue
            if looks_like_fraction(ind, reading.value, period.year):
                problems.append(t("prefecture.err.fraction", lang, cell=cell,
                                  value=format_number(reading.value),
                                  meant=format_number(reading.value * 100)))
                continue
            actual = reading.value
        figures[ind.id] = Figure(ind.id, actual, cell_text(raw), note, path.name, cell)
    if problems:
        fail(*problems)
    return figures


# --- the database ------------------------------------------------------------

def store_figures(db_path, period: Period, figures: dict[str, Figure]) -> int:
    """Replace the period's prefecture-level figures; returns how many were stored."""
    from toolkit.store import opened

    with opened(db_path) as conn:
        conn.execute("DELETE FROM prefecture_figures WHERE period = ?", (period.code,))
        conn.executemany(
            "INSERT INTO prefecture_figures (period, indicator, actual, raw, note, source_file, "
            "cell) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(period.code, f.indicator, f.actual, f.raw, f.note, f.file, f.cell)
             for f in figures.values()])
    return len(figures)


def load_figures(db_path, period: Period | str) -> dict[str, Figure]:
    """The period's prefecture-level figures, by indicator."""
    from toolkit.store import opened

    with opened(db_path) as conn:
        return figures_in(conn, period)


def figures_in(conn, period: Period | str) -> dict[str, Figure]:
    """``load_figures`` on an open connection."""
    rows = conn.execute("SELECT indicator, actual, raw, note, source_file, cell FROM "
                        "prefecture_figures WHERE period = ?", (str(period),)).fetchall()
    return {r["indicator"]: Figure(r["indicator"], r["actual"], r["raw"] or "", r["note"] or "",
                                   r["source_file"] or "", r["cell"] or "") for r in rows}


def import_figures(path, db_path, tasklist: TaskList, period: Period,
                   lang: str = "zh") -> dict[str, Figure]:
    """Read a filled workbook and replace the period's figures in the database."""
    figures = read_figures(path, tasklist, period, lang)
    store_figures(db_path, period, figures)
    return figures
