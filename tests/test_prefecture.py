"""The figures the prefecture reports itself: export, fill as the office would, import, merge."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from toolkit.catalogue import t
from toolkit.cli import main
from toolkit.config import open_workspace
from toolkit.errors import WorkbookError
from toolkit.merge import merge
from toolkit.periods import parse_period
from toolkit.prefecture import (FIRST_ROW, PERIOD_ROW, _col, export_figures, import_figures,
                                load_figures, prefecture_indicators)

H1 = parse_period("2024H1")


@pytest.fixture
def ws(tmp_path):
    return open_workspace(tmp_path / "ws")


def rows_by_id(sheet) -> dict[str, int]:
    return {str(sheet.cell(r, 1).value): r for r in range(FIRST_ROW, sheet.max_row + 1)
            if sheet.cell(r, 1).value}


def fill(path, values: dict[str, object], period_cell: str | None = None):
    """Type figures into the exported workbook, as the office does in Excel."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    rows = rows_by_id(sheet)
    for ind_id, value in values.items():
        row = rows.get(ind_id)
        if row is None:  # a row the office added by hand
            row = sheet.max_row + 1
            sheet.cell(row, 1).value = ind_id
        sheet.cell(row, _col("actual")).value = value
    if period_cell is not None:
        sheet.cell(PERIOD_ROW, 2).value = period_cell
    book.save(path)


def test_the_export_lists_every_indicator_no_unit_reports(ws, tmp_path):
    plan = ws.tasklist
    wanted = prefecture_indicators(plan)
    assert wanted and all(not plan.scope_units(i) for i in wanted)
    path = export_figures(plan, H1, tmp_path / "地区.xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet.title == t("prefecture.sheet")
    assert list(rows_by_id(sheet)) == [i.id for i in wanted]
    assert sheet.protection.sheet
    for row in rows_by_id(sheet).values():
        assert sheet.cell(row, _col("actual")).protection.locked is False
        assert sheet.cell(row, _col("name")).protection.locked is not False
    validated = {str(r) for dv in sheet.data_validations.dataValidation for r in dv.sqref.ranges}
    assert len(validated) == len(wanted)


def test_imported_figures_are_rated_in_the_consolidated_workbook(ws, tmp_path):
    plan = ws.tasklist
    path = export_figures(plan, H1, tmp_path / "地区.xlsx")
    population = next(i for i in prefecture_indicators(plan) if "常住人口" in i.name)
    milestone = next(i for i in prefecture_indicators(plan) if i.kind == "milestone"
                     and i.target(2024) is not None)
    fill(path, {population.id: "50万", milestone.id: "已完成"})
    stored = import_figures(path, ws.db_path, plan, H1)
    assert stored[population.id].actual == 500000 and stored[milestone.id].actual == 1.0
    assert load_figures(ws.db_path, H1) == stored
    report = merge(ws, H1)
    rows = CalamineWorkbook.from_path(str(report.path)).get_sheet_by_name(
        t("summary.sheet.prefecture")).to_python()
    by_id = {str(r[0]): r for r in rows[4:]}
    head = rows[3]
    row = by_id[population.id]
    assert row[head.index(t("summary.prefecture.col.actual"))] == 500000
    note = row[head.index(t("summary.prefecture.col.note"))]
    assert "地区.xlsx" in note and stored[population.id].cell in note
    assert by_id[milestone.id][head.index(t("summary.prefecture.col.rag"))] == t(
        "summary.rag.green")
    untouched = next(i for i in prefecture_indicators(plan) if i.id not in stored)
    assert by_id[untouched.id][head.index(t("summary.prefecture.col.actual"))] == t(
        "summary.prefecture.actual.prefecture")


def test_every_problem_is_named_with_its_cell_and_nothing_is_stored(ws, tmp_path):
    plan = ws.tasklist
    path = export_figures(plan, H1, tmp_path / "地区.xlsx")
    ids = [i for i in prefecture_indicators(plan)]
    number = next(i for i in ids if i.kind != "milestone")
    other = next(i for i in ids if i.kind != "milestone" and i.id != number.id)
    milestone = next(i for i in ids if i.kind == "milestone")
    fill(path, {number.id: "约一百", other.id: -3, milestone.id: "差不多", "99.9": 5})
    with pytest.raises(WorkbookError) as info:
        import_figures(path, ws.db_path, plan, H1)
    message = str(info.value)
    rows = rows_by_id(openpyxl.load_workbook(path).worksheets[0])
    for ind in (number, other, milestone):
        assert f"G{rows[ind.id]}" in message
    assert "约一百" in message and "差不多" in message and "99.9" in message
    assert load_figures(ws.db_path, H1) == {}


def test_a_workbook_of_another_period_is_refused(ws, tmp_path):
    path = export_figures(ws.tasklist, H1, tmp_path / "地区.xlsx")
    with pytest.raises(WorkbookError, match="2024H1"):
        import_figures(path, ws.db_path, ws.tasklist, parse_period("2024"))


def test_the_command(tmp_path):
    root = tmp_path / "ws"
    runner = CliRunner()
    out = tmp_path / "地区层面指标.xlsx"
    result = runner.invoke(main, ["-w", str(root), "prefecture", "-p", "2024H1",
                                  "--export", str(out)])
    assert result.exit_code == 0, result.output
    total = len(prefecture_indicators(open_workspace(root).tasklist))
    assert t("prefecture.cli.exported", count=total, path=out) in result.output
    first = prefecture_indicators(open_workspace(root).tasklist)[0]
    fill(out, {first.id: "已完成" if first.kind == "milestone" else 3})
    result = runner.invoke(main, ["-w", str(root), "prefecture", "-p", "2024H1",
                                  "--import", str(out)])
    assert result.exit_code == 0, result.output
    assert t("prefecture.cli.imported", count=1, total=total, period="2024H1") in result.output
    both = runner.invoke(main, ["-w", str(root), "prefecture", "-p", "2024H1",
                                "--import", str(out), "--export", str(out)])
    assert both.exit_code == 2 and t("prefecture.cli.both") in both.output


def test_a_fraction_for_a_percent_and_a_row_twice_are_refused(ws, tmp_path):
    plan = ws.tasklist
    path = export_figures(plan, H1, tmp_path / "地区.xlsx")
    share = next(i for i in prefecture_indicators(plan) if i.is_percent
                 and max(v or 0 for _, v in i.targets) > 1)
    count = next(i for i in prefecture_indicators(plan) if i.kind != "milestone"
                 and not i.is_percent)
    fill(path, {share.id: 0.85})
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    extra = sheet.max_row + 1
    sheet.cell(extra, 1).value = count.id
    sheet.cell(extra, _col("actual")).value = 7
    book.save(path)
    with pytest.raises(WorkbookError) as info:
        import_figures(path, ws.db_path, plan, H1)
    message = str(info.value)
    assert "0.85" in message and "85" in message
    assert f"A{extra}" in message and f"A{rows_by_id(sheet)[count.id]}" in message


def test_a_note_without_a_figure_is_kept_and_figures_export_again_as_numbers(ws, tmp_path):
    plan = ws.tasklist
    path = export_figures(plan, H1, tmp_path / "地区.xlsx")
    count = next(i for i in prefecture_indicators(plan) if i.kind != "milestone")
    waiting = next(i for i in prefecture_indicators(plan) if i.id != count.id)
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    rows = rows_by_id(sheet)
    sheet.cell(rows[count.id], _col("actual")).value = "1,225"
    sheet.cell(rows[waiting.id], _col("note")).value = "统计局数据7月底发布"
    book.save(path)
    stored = import_figures(path, ws.db_path, plan, H1)
    assert stored[waiting.id].actual is None and stored[waiting.id].note == "统计局数据7月底发布"
    again = export_figures(plan, H1, tmp_path / "again.xlsx", existing=load_figures(ws.db_path,
                                                                                    H1))
    sheet = openpyxl.load_workbook(again).worksheets[0]
    value = sheet.cell(rows[count.id], _col("actual"))
    assert value.value == 1225 and value.data_type == "n"
    assert sheet.cell(rows[waiting.id], _col("note")).value == "统计局数据7月底发布"
    assert sheet.cell(rows[waiting.id], _col("actual")).value is None
    report = merge(ws, H1)
    assert report.path.exists()  # a note alone leaves the indicator at 地区层面, unrated
