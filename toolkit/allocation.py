"""Target allocation (任务分解): the prefecture's yearly targets split over the units.

The office exports an indicator × unit workbook, types each unit's target into
it and imports it back; the targets are kept in the workspace database
(``allocations`` table) and prefilled into each unit's template. Allocations of
a sum-aggregated indicator that do not add up to the prefecture target are
reported as warnings, never refused.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from toolkit import layout
from toolkit.catalogue import t, texts
from toolkit.errors import WorkbookError
from toolkit.model import Indicator, TaskList

TITLE_ROW, YEAR_ROW, HINT_ROW, HEADER_ROW, CODES_ROW, FIRST_ROW = 1, 2, 3, 5, 6, 7
FIXED_COLS = ("id", "name", "unit", "aggregation", "target", "total")  # then one per unit
FIRST_UNIT_COL = len(FIXED_COLS) + 1


@dataclass(frozen=True)
class SumWarning:
    """A sum-aggregated indicator whose unit targets do not add up to the prefecture's."""

    indicator: str
    name: str
    total: float
    target: float
    units: int  # how many units have a target

    def message(self, lang: str = "zh") -> str:
        return t("alloc.warn.sum", lang, indicator=self.indicator, name=self.name,
                 total=_show(self.total), target=_show(self.target))


@dataclass(frozen=True)
class ImportResult:
    year: int
    stored: int  # unit targets stored
    warnings: tuple[SumWarning, ...]
    ignored: tuple[str, ...]  # A1 cells holding a target for a unit outside the indicator's scope


def _show(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def split_indicators(tasklist: TaskList) -> tuple[list[Indicator], list[Indicator]]:
    """(sum-aggregated indicators reported by several units, every other unit-reported one)."""
    split, other = [], []
    for ind in tasklist.indicators:
        scope = tasklist.scope_units(ind)
        if not scope:
            continue
        (split if ind.aggregation == "sum" and len(scope) > 1 else other).append(ind)
    return split, other


# --- the database ------------------------------------------------------------

def load_allocations(db_path, year: int) -> dict[str, dict[str, float]]:
    """{indicator id: {unit code: target}} stored for ``year``; {} when there is no database."""
    from toolkit.store import opened

    if not Path(db_path).exists():
        return {}
    result: dict[str, dict[str, float]] = {}
    with opened(db_path) as conn:
        for row in conn.execute("SELECT indicator, unit_code, target FROM allocations "
                                "WHERE year = ? ORDER BY indicator, unit_code", (year,)):
            result.setdefault(row["indicator"], {})[row["unit_code"]] = row["target"]
    return result


def unit_allocations(db_path, year: int) -> dict[str, dict[str, float]]:
    """{unit code: {indicator id: target}} for ``year`` (what each template shows)."""
    by_unit: dict[str, dict[str, float]] = {}
    for indicator, units in load_allocations(db_path, year).items():
        for code, target in units.items():
            by_unit.setdefault(code, {})[indicator] = target
    return by_unit


def store_allocations(db_path, year: int, values: Mapping[tuple[str, str], float]) -> int:
    """Replace ``year``'s allocations with ``values`` {(indicator, unit code): target}."""
    from toolkit.store import opened

    with opened(db_path) as conn:
        conn.execute("DELETE FROM allocations WHERE year = ?", (year,))
        conn.executemany("INSERT INTO allocations (year, indicator, unit_code, target) "
                         "VALUES (?, ?, ?, ?)",
                         [(year, ind, code, float(v)) for (ind, code), v in sorted(values.items())])
    return len(values)


def check_sums(tasklist: TaskList, year: int,
               allocations: Mapping[str, Mapping[str, float]]) -> list[SumWarning]:
    """Warnings for sum-aggregated indicators whose allocated targets miss the year's target.

    Only indicators with at least one allocated unit and a target for ``year`` are checked.
    """
    warnings = []
    for ind in tasklist.indicators:
        units = allocations.get(ind.id) or {}
        target = ind.target(year)
        if ind.aggregation != "sum" or not units or target is None:
            continue
        total = math.fsum(units.values())
        if not math.isclose(total, target, rel_tol=1e-9, abs_tol=1e-9):
            warnings.append(SumWarning(ind.id, ind.name, total, float(target), len(units)))
    return warnings


# --- the workbook the office fills ---------------------------------------------

def export_allocations(tasklist: TaskList, year: int, path, lang: str = "zh",
                       existing: Mapping[str, Mapping[str, float]] | None = None,
                       password: str = "") -> Path:
    """Write the indicator × unit allocation workbook for ``year`` (atomically).

    Cells hold ``existing`` allocations; a sum indicator reported by one unit only
    is prefilled with the prefecture target, the only value that adds up.
    """
    from toolkit.atomic import atomic_path
    from toolkit.template import CELL_BORDER as border
    from toolkit.template import COLOURS, office_formats, open_workbook, value_kind

    existing = existing or {}
    split, other = split_indicators(tasklist)
    units = tasklist.units
    path = Path(path)
    with atomic_path(path) as tmp:
        workbook = open_workbook(tmp)
        ws = workbook.add_worksheet(t("alloc.sheet", lang))
        fmt = {
            **office_formats(workbook),
            "section": workbook.add_format({"bold": True}),
            "number": workbook.add_format({**border, "num_format": "#,##0.####"}),
            "input": workbook.add_format({**border, "locked": False, "num_format": "#,##0.####",
                                          "bg_color": COLOURS["input"]}),
            "out": workbook.add_format({**border, "bg_color": COLOURS["locked"]}),
        }
        ws.write_string(TITLE_ROW - 1, 0, t("alloc.title", lang, plan=tasklist.title, year=year),
                        fmt["title"])
        ws.write_string(YEAR_ROW - 1, 0, t("alloc.year", lang), fmt["label"])
        ws.write_string(YEAR_ROW - 1, 1, str(year), fmt["label"])
        ws.write_string(HINT_ROW - 1, 0, t("alloc.hint", lang, year=year), fmt["hint"])
        for col, key in enumerate(FIXED_COLS):
            ws.write_string(HEADER_ROW - 1, col, t(f"alloc.col.{key}", lang, year=year),
                            fmt["header"])
            ws.write_blank(CODES_ROW - 1, col, None, fmt["header"])
        ws.write_string(CODES_ROW - 1, 0, t("alloc.codes", lang), fmt["header"])
        for offset, unit in enumerate(units):
            col = FIRST_UNIT_COL - 1 + offset
            ws.write_string(HEADER_ROW - 1, col, unit.name, fmt["header"])
            ws.write_string(CODES_ROW - 1, col, unit.code, fmt["header"])
        last_col = FIRST_UNIT_COL - 1 + len(units) - 1
        row = FIRST_ROW - 1
        for section, indicators in (("split", split), ("other", other)):
            if not indicators:
                continue
            ws.write_string(row, 1, t(f"alloc.section.{section}", lang), fmt["section"])
            row += 1
            for ind in indicators:
                scope = set(tasklist.scope_units(ind))
                target = ind.target(year)
                ws.write_string(row, 0, ind.id, fmt["center"])
                ws.write_string(row, 1, ind.name, fmt["text"])
                ws.write_string(row, 2, ind.unit, fmt["center"])
                ws.write_string(row, 3, t(f"alloc.agg.{ind.aggregation}", lang), fmt["center"])
                if target is None:
                    ws.write_blank(row, 4, None, fmt["number"])
                else:
                    ws.write_number(row, 4, target, fmt["number"])
                if ind.aggregation == "sum":
                    first = layout.a1(row + 1, FIRST_UNIT_COL)
                    last = layout.a1(row + 1, last_col + 1)
                    ws.write_formula(row, 5, f"=SUM({first}:{last})", fmt["number"])
                else:
                    ws.write_blank(row, 5, None, fmt["number"])
                percent = value_kind(ind) == "percent"
                for offset, unit in enumerate(units):
                    col = FIRST_UNIT_COL - 1 + offset
                    if unit.code not in scope:
                        ws.write_blank(row, col, None, fmt["out"])
                        continue
                    value = (existing.get(ind.id) or {}).get(unit.code)
                    if value is None and len(scope) == 1 and ind.aggregation == "sum":
                        value = target
                    if value is None:
                        ws.write_blank(row, col, None, fmt["input"])
                    else:
                        ws.write_number(row, col, value, fmt["input"])
                    key = "alloc.dv.percent" if percent else "alloc.dv.prompt"
                    bounds = {"criteria": "between", "minimum": 0, "maximum": 100} if percent \
                        else {"criteria": ">=", "value": 0}
                    ws.data_validation(row, col, row, col, {
                        "validate": "decimal", **bounds,
                        "input_title": t("alloc.dv.title", lang),
                        "input_message": t(key, lang, unit=unit.name, name=ind.name,
                                           uom=ind.unit, year=year)[:250],
                        "error_title": t("alloc.dv.title", lang),
                        "error_message": t("alloc.dv.error", lang)})
                row += 1
        ws.set_column(0, 0, 10)
        ws.set_column(1, 1, 40)
        ws.set_column(2, 3, 10)
        ws.set_column(4, 5, 16)
        ws.set_column(FIRST_UNIT_COL - 1, last_col, 13)
        ws.set_row(HEADER_ROW - 1, 45)
        ws.freeze_panes(FIRST_ROW - 1, 2)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(HEADER_ROW - 1, CODES_ROW - 1)
        ws.protect(password, {"format_columns": True, "format_rows": True})
        workbook.set_properties({"title": t("alloc.title", lang, plan=tasklist.title,
                                            year=year)})
        workbook.close()
    return path


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


def _number(value) -> float | None:
    """A typed target: a number, or text such as "1,234" or "１２３"; None when not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    text = _text(value).replace(",", "").replace(" ", "").lstrip("'")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_allocation_workbook(path, tasklist: TaskList, year: int | None = None,
                             lang: str = "zh") -> tuple[int, dict, tuple[str, ...]]:
    """(year, {(indicator, unit code): target}, ignored cells) from a filled allocation workbook.

    Raises WorkbookError naming every problem (header, year, unknown codes, values
    that are not numbers) at once; nothing is stored then.
    """
    from toolkit.read import read_values

    try:
        values = read_values(path)
    except Exception as exc:  # not a workbook at all, or a damaged one
        raise WorkbookError(t("alloc.err.unreadable", lang, path=path, error=exc)) from None
    sheet = next((s for name in texts("alloc.sheet") if (s := values.sheet(name))), None)
    if sheet is None:
        sheet = next((s for s in values.sheets if s.visible == "visible"), None)

    def fail(*problems):
        raise WorkbookError("\n  ".join([t("alloc.err.head", lang, path=path), *problems]))

    if sheet is None:
        fail(t("alloc.err.no_sheet", lang))
    rows = range(1, sheet.max_row + 1)
    header = next((r for r in rows if _text(sheet.get(r, 1)) in texts("alloc.col.id")), None)
    if header is None:
        fail(t("alloc.err.no_header", lang, label=t("alloc.col.id", lang)))
    codes_row = header + 1
    if _text(sheet.get(codes_row, 1)) not in texts("alloc.codes"):
        fail(t("alloc.err.no_codes", lang, label=t("alloc.codes", lang)))
    found = next((_text(sheet.get(r, 2)) for r in range(1, header)
                  if _text(sheet.get(r, 1)) in texts("alloc.year")), "")
    problems = []
    if found:
        if not found.isdigit() or int(found) not in tasklist.years:
            fail(t("alloc.err.bad_year", lang, value=found,
                   years=", ".join(map(str, tasklist.years))))
        if year is not None and int(found) != year:
            fail(t("alloc.err.year_mismatch", lang, found=found, given=year))
        year = int(found)
    elif year is None:
        fail(t("alloc.err.no_year", lang, label=t("alloc.year", lang)))
    known_units = {u.code for u in tasklist.units}
    width = max((len(r) for r in sheet.rows), default=0)
    unit_cols = {}
    for col in range(FIRST_UNIT_COL, width + 1):
        code = _text(sheet.get(codes_row, col))
        if not code:
            continue
        if code not in known_units:
            problems.append(t("alloc.err.unit", lang, cell=layout.a1(codes_row, col), code=code))
        else:
            unit_cols[col] = code
    indicators = {i.id: i for i in tasklist.indicators}
    result: dict[tuple[str, str], float] = {}
    ignored = []
    for row in range(codes_row + 1, sheet.max_row + 1):
        ind_id = _text(sheet.get(row, 1))
        if not ind_id:
            continue  # a section title or an empty row
        ind = indicators.get(ind_id)
        if ind is None:
            problems.append(t("alloc.err.indicator", lang, cell=layout.a1(row, 1), id=ind_id))
            continue
        scope = set(tasklist.scope_units(ind))
        for col, code in unit_cols.items():
            raw = sheet.get(row, col)
            if raw is None or _text(raw) == "":
                continue
            cell = layout.a1(row, col)
            number = _number(raw)
            if number is None:
                problems.append(t("alloc.err.number", lang, cell=cell, value=_text(raw)))
            elif number < 0:
                problems.append(t("alloc.err.negative", lang, cell=cell, value=_show(number)))
            elif ind.unit == "%" and number > 100:
                problems.append(t("alloc.err.percent", lang, cell=cell, value=_show(number)))
            elif code not in scope:
                ignored.append(cell)
            else:
                result[(ind.id, code)] = number
    if problems:
        fail(*problems)
    return year, result, tuple(ignored)


def import_allocations(path, db_path, tasklist: TaskList, year: int | None = None,
                       lang: str = "zh") -> ImportResult:
    """Read a filled allocation workbook and replace that year's allocations in the database."""
    year, values, ignored = read_allocation_workbook(path, tasklist, year, lang)
    stored = store_allocations(db_path, year, values)
    by_indicator: dict[str, dict[str, float]] = {}
    for (ind, code), value in values.items():
        by_indicator.setdefault(ind, {})[code] = value
    return ImportResult(year, stored, tuple(check_sums(tasklist, year, by_indicator)), ignored)
