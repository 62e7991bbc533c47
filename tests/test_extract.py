"""Finding a submission's inputs by id, whatever the clerk did to the rows and sheets."""

from __future__ import annotations

import pytest
from validation_helpers import (UNIT, actual_cell, fill, good_values, indicator_row,
                                make_template, sheet_names, task_row, tasklist)

from toolkit import layout
from toolkit.extract import extract
from toolkit.read import read_identity, read_submission


def extracted(path, unit=UNIT):
    values = read_submission(path)  # the sheets collect keeps, as validation sees them
    return extract(values, tasklist(), read_identity(values).identity, unit=unit,
                   file=path.name)


def codes(result):
    return sorted(i.code for i in result.issues)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("tpl"))


def test_a_clean_fill_is_read_completely(template, tmp_path):
    plan = tasklist()
    ids = [i.id for i in plan.indicators_for(UNIT)]
    counts = {ids[0]: 7, ids[1]: "1,234"}
    path = fill(template, tmp_path / "ok.xlsx", actual=counts, note={ids[0]: "含新建"})
    result = extracted(path)
    assert result.issues == ()
    assert [r.id for r in result.indicators] == ids
    first, second = result.indicator(ids[0]), result.indicator(ids[1])
    assert (first.cell, first.value, first.note, first.sheet) == (
        actual_cell(UNIT, ids[0]), 7.0, "含新建", sheet_names()["indicators"])
    assert (second.raw, second.value, second.number.how) == ("1,234", 1234.0,
                                                             ("text", "thousands"))
    assert [x.id for x in result.tasks] == [x.id for x in plan.tasks_for(UNIT)]
    assert {x.canonical_status for x in result.tasks} == {"推进中"}
    assert result.filler_value("filler") == "张三"
    assert result.filler_value("phone") == "0998-2512345"


def test_milestones_read_as_done_or_not(template, tmp_path):
    plan = tasklist()
    milestones = [i.id for i in plan.indicators_for(UNIT) if i.kind == "milestone"]
    assert milestones, "the bundled list gives 喀什市 a milestone"
    path = fill(template, tmp_path / "m.xlsx", actual={milestones[0]: "已完成"})
    reading = extracted(path).indicator(milestones[0])
    assert reading.milestone and reading.value == 1.0


def test_an_inserted_row_is_reported_and_everything_still_read(template, tmp_path):
    ids = [i.id for i in tasklist().indicators_for(UNIT)]
    last = [i.id for i in tasklist().indicators_for(UNIT) if i.kind != "milestone"][-1]
    at = indicator_row(UNIT, ids[3])

    def insert(book):
        ws = book[sheet_names()["indicators"]]
        ws.insert_rows(at)
        ws.cell(at, 3).value = "自加指标"
        ws.cell(at, layout.IND_COLS["actual"]).value = 99

    path = fill(template, tmp_path / "ins.xlsx", actual={ids[3]: 42, last: 17}, edit=insert)
    result = extracted(path)
    assert codes(result) == ["W-ROW-INSERTED"]
    issue = result.issues[0]
    assert (issue.cell, issue.severity, issue.sheet) == (f"A{at}", "warning",
                                                         sheet_names()["indicators"])
    assert "自加指标" in issue.value and "99" in issue.value
    assert result.indicator(ids[3]).value == 42
    assert result.indicator(ids[3]).cell == f"G{at + 1}"
    assert result.indicator(last).value == 17


def test_a_deleted_row_is_an_error_and_the_rest_still_read(template, tmp_path):
    ids = [i.id for i in tasklist().indicators_for(UNIT)]
    gone = indicator_row(UNIT, ids[2])

    def delete(book):
        book[sheet_names()["indicators"]].delete_rows(gone)

    path = fill(template, tmp_path / "del.xlsx", actual={ids[3]: 33}, edit=delete)
    result = extracted(path)
    assert codes(result) == ["E-ROW-DELETED"]
    issue = result.issues[0]
    assert (issue.indicator, issue.severity, issue.cell) == (ids[2], "error", "")
    assert dict(issue.params)["expected_row"] == str(gone)
    assert result.indicator(ids[2]) is None
    assert result.indicator(ids[3]).value == 33
    assert result.indicator(ids[3]).cell == f"G{gone}"


def test_moved_rows_are_reported_and_read_by_id(template, tmp_path):
    ids = [i.id for i in tasklist().indicators_for(UNIT)]
    a, b = indicator_row(UNIT, ids[1]), indicator_row(UNIT, ids[5])

    def swap(book):
        ws = book[sheet_names()["indicators"]]
        for col in range(1, len(layout.IND_COLS) + 1):
            ws.cell(a, col).value, ws.cell(b, col).value = ws.cell(b, col).value, \
                ws.cell(a, col).value

    path = fill(template, tmp_path / "mv.xlsx", actual={ids[1]: 11, ids[5]: 55}, edit=swap)
    result = extracted(path)
    assert set(codes(result)) == {"W-ROW-MOVED"}
    moved = {i.indicator for i in result.issues}
    assert moved <= {ids[1], ids[5]} and moved
    assert result.indicator(ids[1]).value == 11 and result.indicator(ids[1]).row == b
    assert result.indicator(ids[5]).value == 55 and result.indicator(ids[5]).row == a


def test_a_duplicated_row_is_an_error(template, tmp_path):
    ids = [i.id for i in tasklist().indicators_for(UNIT)]
    row = indicator_row(UNIT, ids[0])

    def copy_below(book):
        ws = book[sheet_names()["indicators"]]
        last = ws.max_row + 1
        for col in range(1, len(layout.IND_COLS) + 1):
            ws.cell(last, col).value = ws.cell(row, col).value

    path = fill(template, tmp_path / "dup.xlsx", edit=copy_below)
    result = extracted(path)
    assert codes(result) == ["E-ROW-DUPLICATE"]
    assert result.issues[0].indicator == ids[0]


def test_task_rows_are_found_by_id_too(template, tmp_path):
    tasks = [x.id for x in tasklist().tasks_for(UNIT)]
    gone = task_row(UNIT, tasks[1])

    def delete(book):
        book[sheet_names()["progress"]].delete_rows(gone)

    path = fill(template, tmp_path / "tdel.xlsx", progress={tasks[2]: {"status": "已完成"}},
                edit=delete)
    result = extracted(path)
    assert codes(result) == ["E-ROW-DELETED"]
    assert result.issues[0].task == tasks[1]
    assert result.task(tasks[2]).canonical_status == "已完成"
    assert result.task(tasks[2]).row == gone


def test_a_renamed_sheet_is_read_by_position(template, tmp_path):
    def rename(book):
        book[sheet_names()["indicators"]].title = "我的数据"

    ids = [i.id for i in tasklist().indicators_for(UNIT)]
    path = fill(template, tmp_path / "ren.xlsx", actual={ids[0]: 5}, edit=rename)
    result = extracted(path)
    assert codes(result) == ["W-SHEET-RENAMED"]
    assert result.issues[0].sheet == "我的数据"
    assert result.indicator(ids[0]).value == 5


def test_a_missing_sheet_is_an_error(template, tmp_path):
    def drop(book):
        del book[sheet_names()["progress"]]
        del book[sheet_names()["instructions"]]

    result = extracted(fill(template, tmp_path / "gone.xlsx", edit=drop))
    assert "E-SHEET-MISSING" in codes(result)
    missing = next(i for i in result.issues if i.code == "E-SHEET-MISSING")
    assert missing.sheet == sheet_names()["progress"]
    assert result.tasks == ()


def test_an_inserted_column_is_an_error_and_read_by_its_header(template, tmp_path):
    ids = [i.id for i in tasklist().indicators_for(UNIT)]

    def insert_col(book):
        book[sheet_names()["indicators"]].insert_cols(layout.IND_COLS["target"])
        book[sheet_names()["indicators"]].insert_cols(1)

    result = extracted(fill(template, tmp_path / "col.xlsx", edit=insert_col))
    assert {i.code for i in result.issues} == {"E-COLUMNS-CHANGED", "E-ROW-DELETED"}
    # ids no longer in column A: the rows cannot be found, the columns can
    changed = [i for i in result.issues if i.code == "E-COLUMNS-CHANGED"]
    assert {i.column for i in changed} == {"actual", "note"}
    assert changed[0].cell == layout.a1(layout.IND_HEADER_ROW, layout.IND_COLS["actual"] + 2)

    def insert_one(book):
        book[sheet_names()["indicators"]].insert_cols(layout.IND_COLS["target"])

    path = fill(template, tmp_path / "col1.xlsx", actual={ids[0]: 31}, edit=insert_one)
    result = extracted(path)
    assert {i.code for i in result.issues} == {"E-COLUMNS-CHANGED"}
    moved = result.indicator(ids[0])
    assert (moved.value, moved.cell) == (31, layout.a1(indicator_row(UNIT, ids[0]),
                                                       layout.IND_COLS["actual"] + 1))
    assert result.filler_value("phone") == "0998-2512345"


def test_an_english_template_reads_the_same(tmp_path):
    template = make_template(tmp_path, lang="en")
    ids = [i.id for i in tasklist().indicators_for(UNIT)]
    path = fill(template, tmp_path / "en.xlsx", actual={ids[0]: 8}, lang="en",
                progress={x: {"status": "Completed"} for x in good_values()["progress"]})
    result = extracted(path)
    assert result.issues == ()
    assert result.indicator(ids[0]).value == 8
    assert {x.canonical_status for x in result.tasks} == {"已完成"}
