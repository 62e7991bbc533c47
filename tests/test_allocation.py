"""Target allocation: export, fill as the office would (openpyxl), import, check the sums."""

from __future__ import annotations

import openpyxl
import pytest

from toolkit import allocation, layout
from toolkit.allocation import (CODES_ROW, FIRST_UNIT_COL, HEADER_ROW, check_sums,
                                export_allocations, import_allocations, load_allocations,
                                split_indicators, unit_allocations)
from toolkit.catalogue import t
from toolkit.config import open_workspace
from toolkit.errors import WorkbookError
from toolkit.read import read_values
from toolkit.template import generate_templates


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return open_workspace(tmp_path_factory.mktemp("plan")).tasklist


def rows_by_id(ws) -> dict[str, int]:
    return {str(ws.cell(r, 1).value): r for r in range(CODES_ROW + 1, ws.max_row + 1)
            if ws.cell(r, 1).value}


def cols_by_code(ws) -> dict[str, int]:
    return {str(ws.cell(CODES_ROW, c).value): c
            for c in range(FIRST_UNIT_COL, ws.max_column + 1)}


def fill(path, values: dict[tuple[str, str], object]) -> None:
    """Type targets into an exported workbook, as the office does in Excel."""
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    rows, cols = rows_by_id(ws), cols_by_code(ws)
    for (ind, code), value in values.items():
        ws.cell(rows[ind], cols[code]).value = value
    book.save(path)


def even_split(plan, ind, year, exact=True) -> dict[tuple[str, str], float]:
    scope = plan.scope_units(ind)
    share = ind.target(year) / len(scope)
    values = {(ind.id, code): share for code in scope}
    if not exact:
        values[(ind.id, scope[0])] = share + 1
    return values


def prefilled(plan, year) -> dict[tuple[str, str], float]:
    """What an export holds before anyone types: sum indicators reported by one unit only."""
    return {(i.id, plan.scope_units(i)[0]): i.target(year) for i in plan.indicators
            if i.aggregation == "sum" and len(plan.scope_units(i)) == 1
            and i.target(year) is not None}


def test_export_lists_split_indicators_first_and_units_as_columns(plan, tmp_path):
    path = export_allocations(plan, 2024, tmp_path / "alloc.xlsx")
    ws = openpyxl.load_workbook(path).worksheets[0]
    split, other = split_indicators(plan)
    assert split and other
    assert all(i.aggregation == "sum" and len(plan.scope_units(i)) > 1 for i in split)
    assert list(rows_by_id(ws)) == [i.id for i in split + other]
    assert not any(plan.scope_units(i) == () for i in split + other)  # prefecture-only left out
    assert list(cols_by_code(ws)) == [u.code for u in plan.units]
    assert [ws.cell(HEADER_ROW, c).value for c in cols_by_code(ws).values()] == [
        u.name for u in plan.units]
    rows, cols = rows_by_id(ws), cols_by_code(ws)
    for ind in split + other:
        assert ws.cell(rows[ind.id], 5).value == ind.target(2024)
        scope = set(plan.scope_units(ind))
        for code, col in cols.items():
            cell = ws.cell(rows[ind.id], col)
            assert cell.protection.locked is (code not in scope), (ind.id, code)
    assert ws.protection.sheet


def test_round_trip_stores_targets_and_templates_show_them(tmp_path):
    workspace = open_workspace(tmp_path)
    plan = workspace.tasklist
    split, _ = split_indicators(plan)
    values = prefilled(plan, 2024)
    assert values  # the bundled list has such indicators
    for ind in split:
        if ind.target(2024) is not None:
            values |= even_split(plan, ind, 2024)
    path = export_allocations(plan, 2024, tmp_path / "alloc.xlsx")
    fill(path, values)
    result = import_allocations(path, workspace.db_path, plan)
    assert (result.year, result.stored, result.warnings, result.ignored) == (
        2024, len(values), (), ())
    stored = load_allocations(workspace.db_path, 2024)
    assert {(i, u): v for i, units in stored.items() for u, v in units.items()} == \
        pytest.approx(values)
    assert load_allocations(workspace.db_path, 2025) == {}
    # generate prefills each unit's own target
    paths = generate_templates(workspace, "2024H1", units=["653125"])
    sheet = read_values(paths[0]).sheet(t("layout.sheet.indicators"))
    shown = {sheet.get(r, 1): sheet.get(r, layout.IND_COLS["allocated"])
             for r in range(layout.IND_FIRST_ROW, sheet.max_row + 1)}
    mine = unit_allocations(workspace.db_path, 2024)["653125"]
    assert {k: v for k, v in shown.items() if v is not None} == pytest.approx(mine)
    assert mine  # the unit has targets
    # an export now carries what is stored, and re-importing it changes nothing
    again = export_allocations(plan, 2024, tmp_path / "again.xlsx", existing=stored)
    assert import_allocations(again, workspace.db_path, plan).stored == len(values)
    assert load_allocations(workspace.db_path, 2024) == stored


def test_sum_mismatch_is_a_warning_naming_indicator_sum_and_target(plan, tmp_path):
    off, right = [i for i in split_indicators(plan)[0] if i.target(2024)][:2]
    values = prefilled(plan, 2024) | even_split(plan, off, 2024, exact=False) | \
        even_split(plan, right, 2024)
    path = export_allocations(plan, 2024, tmp_path / "alloc.xlsx")
    fill(path, values)
    result = import_allocations(path, tmp_path / "toolkit.db", plan)
    assert result.stored == len(values)  # stored all the same
    assert [w.indicator for w in result.warnings] == [off.id]
    warning = result.warnings[0]
    assert warning.target == off.target(2024)
    assert warning.total == pytest.approx(off.target(2024) + 1)
    message = warning.message("zh")
    assert off.id in message and off.name in message
    assert allocation._show(warning.total) in message
    assert allocation._show(warning.target) in message


def test_check_sums_ignores_other_aggregations_and_unallocated(plan):
    mean = next(i for i in plan.indicators if i.aggregation == "mean" and i.target(2024))
    total = next(i for i in plan.indicators if i.aggregation == "sum" and i.target(2024))
    assert check_sums(plan, 2024, {mean.id: {"653101": 1.0}}) == []
    assert check_sums(plan, 2024, {}) == []
    assert [w.indicator for w in check_sums(plan, 2024, {total.id: {"653101": 1.0}})] == \
        [total.id]


def test_text_numbers_are_read_and_out_of_scope_cells_ignored(plan, tmp_path):
    county_only = next(i for i in split_indicators(plan)[0]
                       if "6531KF" not in plan.scope_units(i))
    path = export_allocations(plan, 2024, tmp_path / "alloc.xlsx")
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    rows, cols = rows_by_id(ws), cols_by_code(ws)
    ws.cell(rows[county_only.id], cols["653101"]).value = "1,234"
    ws.cell(rows[county_only.id], cols["653121"]).value = "１２"
    zone_cell = ws.cell(rows[county_only.id], cols["6531KF"])
    zone_cell.value = 5
    book.save(path)
    result = import_allocations(path, tmp_path / "toolkit.db", plan)
    stored = load_allocations(tmp_path / "toolkit.db", 2024)[county_only.id]
    assert stored == {"653101": 1234.0, "653121": 12.0}
    assert result.ignored == (zone_cell.coordinate,)


def test_malformed_workbooks_get_a_clear_error_and_store_nothing(plan, tmp_path):
    db = tmp_path / "toolkit.db"
    bare = tmp_path / "bare.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "随便写的表"
    book.save(bare)
    with pytest.raises(WorkbookError, match=t("alloc.col.id")):
        import_allocations(bare, db, plan)
    path = export_allocations(plan, 2024, tmp_path / "alloc.xlsx")
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    rows, cols = rows_by_id(ws), cols_by_code(ws)
    ind = split_indicators(plan)[0][0]
    ws.cell(rows[ind.id], cols["653101"]).value = "约50"
    ws.cell(rows[ind.id], cols["653121"]).value = -3
    ws.cell(CODES_ROW, cols["653122"]).value = "999999"
    book.save(path)
    with pytest.raises(WorkbookError) as caught:
        import_allocations(path, db, plan)
    text = str(caught.value)
    for cell in (layout.a1(rows[ind.id], cols["653101"]), layout.a1(rows[ind.id], cols["653121"]),
                 layout.a1(CODES_ROW, cols["653122"])):
        assert cell in text
    assert "约50" in text and "999999" in text
    assert load_allocations(db, 2024) == {}
    with pytest.raises(WorkbookError, match="2025"):
        import_allocations(export_allocations(plan, 2024, tmp_path / "b.xlsx"), db, plan,
                           year=2025)
    not_a_workbook = tmp_path / "x.xlsx"
    not_a_workbook.write_text("hello")
    with pytest.raises(WorkbookError, match="x.xlsx"):
        import_allocations(not_a_workbook, db, plan)
