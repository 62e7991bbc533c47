"""Feedback workbooks: the unit's own template back, problems marked, fixable and resubmittable."""

from __future__ import annotations

import json

import openpyxl
import pytest
from validation_helpers import (PERIOD, UNIT, actual_cell, fill, first, make_template,
                                sheet_names, submit, task_row, tasklist, workspace_with_contacts)

from toolkit import layout
from toolkit.extract import EXPLAIN_COLS, EXPLAIN_FIRST_ROW, extract
from toolkit.feedback import write_feedback
from toolkit.read import read_identity, read_values
from toolkit.template import COLOURS
from toolkit.validation_report import report_json
from toolkit.validation_run import run_validation

PLAN = tasklist()
TEXTED = first(PLAN, UNIT, lambda i: i.kind == "cumulative" and i.unit in ("个", "所", "人"))
NEGATIVE = first(PLAN, UNIT, lambda i: i.kind == "cumulative" and i.id != TEXTED.id)
OVER = first(PLAN, UNIT, lambda i: i.is_percent and i.target(2024) is None)
BEHIND = first(PLAN, UNIT, lambda i: i.is_percent and i.aggregation == "mean"
               and i.target(2024) is not None and i.id != OVER.id)
BAD_STATUS = next(x for x in PLAN.tasks_for(UNIT) if x.id not in (BEHIND.task,))
IND, PROG = sheet_names()["indicators"], sheet_names()["progress"]
RED, YELLOW = (f"FF{COLOURS[k].lstrip('#').upper()}" for k in ("error", "warning"))
EXPLAINED = "本期指标按季度统计，年底前可达标"


@pytest.fixture(scope="module")
def round_one(tmp_path_factory):
    """喀什市 submits a workbook with errors and warnings; validate, then feedback."""
    root = tmp_path_factory.mktemp("fb")
    ws = workspace_with_contacts(root / "ws")
    template = make_template(root)
    clean_unit = "653122"
    submit(ws, fill(make_template(root, unit=clean_unit), root / "shule.xlsx", unit=clean_unit))

    def formula(book):
        book[IND][actual_cell(UNIT, first(PLAN, UNIT, lambda i: i.unit == "公里").id)] = "=2*3"
        narrative = book[PROG].cell(task_row(UNIT, BAD_STATUS.id), layout.PROG_COLS["progress"])
        narrative.value, narrative.data_type = "=正在推进", "s"  # typed as text, '= kept

    path = fill(template, root / "喀什市报表.xlsx",
                actual={TEXTED.id: "1,234", NEGATIVE.id: -5, OVER.id: 180,
                        BEHIND.id: BEHIND.target(2024) - 20},
                note={TEXTED.id: "含新建学校"},
                progress={BAD_STATUS.id: {"status": "进行中"},
                          BEHIND.task: {"status": "已完成"}},
                filler={"phone": None}, edit=formula)
    submit(ws, path)
    report = run_validation(ws, PERIOD)
    written = write_feedback(ws, PERIOD, report=report)
    return ws, template, path, report, written


def explain(book, codes) -> None:
    """Type EXPLAINED into the 问题清单 against every problem of ``codes``, as a clerk does."""
    for row in book["问题清单"].iter_rows(min_row=EXPLAIN_FIRST_ROW):
        if row[EXPLAIN_COLS["code"] - 1].value in codes:
            row[EXPLAIN_COLS["explanation"] - 1].value = EXPLAINED


def test_feedback_goes_to_units_with_problems_only(round_one):
    ws, _, _, report, written = round_one
    assert [w.unit for w in written] == [UNIT]
    assert report.result("653122").status == "valid"
    item = written[0]
    assert item.path.parent == ws.period_dir(PERIOD) / "feedback"
    assert item.path.name == f"{UNIT}_喀什市_{PERIOD}_问题反馈.xlsx"
    assert (item.errors, item.warnings) == (report.result(UNIT).errors,
                                            report.result(UNIT).warnings)


def test_problem_cells_are_red_or_yellow_with_the_message_as_comment(round_one):
    _, _, _, report, written = round_one
    book = openpyxl.load_workbook(written[0].path)
    by_cell = {}
    for issue in report.result(UNIT).issues:
        if issue.cell:
            by_cell.setdefault((issue.sheet, issue.cell), []).append(issue)
    expected = {
        (IND, actual_cell(UNIT, TEXTED.id)): (YELLOW, "W-TEXT-NUMBER"),
        (IND, actual_cell(UNIT, NEGATIVE.id)): (RED, "E-NEGATIVE"),
        (IND, actual_cell(UNIT, OVER.id)): (RED, "E-PERCENT-OVER-100"),
        (PROG, layout.a1(task_row(UNIT, BAD_STATUS.id), layout.PROG_COLS["status"])):
            (RED, "E-STATUS-NOT-IN-LIST"),
        (PROG, layout.a1(task_row(UNIT, BEHIND.task), layout.PROG_COLS["status"])):
            (YELLOW, "W-DONE-BELOW-TARGET"),
        (IND, layout.a1(*layout.FILLER_CELLS["phone"])): (RED, "E-REQUIRED-EMPTY"),
    }
    for (sheet, cell), (colour, code) in expected.items():
        target = book[sheet][cell]
        assert target.fill.fgColor.rgb == colour, (sheet, cell, code)
        assert target.comment is not None and code in {i.code for i in by_cell[(sheet, cell)]}
        message = next(i for i in by_cell[(sheet, cell)] if i.code == code).message()
        assert message in target.comment.text
    untouched = book[IND][actual_cell(UNIT, BEHIND.id)]
    assert untouched.fill.fgColor.rgb == f"FF{COLOURS['input'].lstrip('#').upper()}"
    assert untouched.comment is None


def test_the_issue_sheet_links_every_problem_and_asks_for_explanations(round_one):
    _, _, _, report, written = round_one
    book = openpyxl.load_workbook(written[0].path)
    sheet = book["问题清单"]
    assert book.active.title == "问题清单"
    rows = list(sheet.iter_rows(min_row=EXPLAIN_FIRST_ROW))
    counted = [i for i in report.result(UNIT).issues if i.counted]
    assert len(rows) == len(counted)
    codes = [row[EXPLAIN_COLS["code"] - 1].value for row in rows]
    assert codes.index("E-NEGATIVE") < codes.index("W-TEXT-NUMBER")  # errors first
    for row in rows:
        code = row[EXPLAIN_COLS["code"] - 1].value
        link = row[EXPLAIN_COLS["cell"] - 1]
        if code == "I-FORMULA-UNCHECKED":
            continue
        assert link.hyperlink is not None, code
        sheet_name, cell = link.hyperlink.location.split("!")
        assert sheet_name.strip("'") in (IND, PROG) and cell == link.value
        assert row[EXPLAIN_COLS["message"] - 1].value
        explanation = row[EXPLAIN_COLS["explanation"] - 1]
        assert explanation.protection.locked is False and explanation.value is None
    assert sheet.protection.sheet
    assert sheet.column_dimensions[layout.col_letter(EXPLAIN_COLS["key"])].hidden


def test_the_feedback_workbook_is_the_units_template_prefilled(round_one):
    _, template, submitted, _, written = round_one
    values = read_values(written[0].path)
    identity = read_identity(values)
    assert identity.consistent
    assert identity.identity == read_identity(read_values(template)).identity
    again = extract(values, PLAN, identity.identity, unit=UNIT)
    before = read_values(submitted)
    first_time = extract(before, PLAN, read_identity(before).identity, unit=UNIT)
    assert again.issues == ()
    for reading in first_time.indicators:
        assert again.indicator(reading.id).value == reading.value, reading.id
    assert again.indicator(TEXTED.id).raw == 1234  # typed as text, handed back as the number
    assert again.indicator(TEXTED.id).note == "含新建学校"
    assert again.task(BAD_STATUS.id).status == "进行中"  # handed back as typed, marked red
    assert again.task(BAD_STATUS.id).progress == "=正在推进"  # text stays text
    assert again.filler_value("filler") == "张三"


def test_a_resubmission_with_fixes_and_explanations_is_accepted(round_one, tmp_path):
    ws, _, _, _, written = round_one
    book = openpyxl.load_workbook(written[0].path)
    ind, prog = book[IND], book[PROG]
    ind[actual_cell(UNIT, NEGATIVE.id)] = 5
    ind[actual_cell(UNIT, OVER.id)] = 80
    ind[actual_cell(UNIT, first(PLAN, UNIT, lambda i: i.unit == "公里").id)] = 6
    ind[layout.a1(*layout.FILLER_CELLS["phone"])] = "0998-2512345"
    prog[layout.a1(task_row(UNIT, BAD_STATUS.id), layout.PROG_COLS["status"])] = "推进中"
    explain(book, ("W-DONE-BELOW-TARGET", "E-NEGATIVE"))
    resubmitted = tmp_path / "喀什市报表（修改后）.xlsx"
    book.save(resubmitted)
    submit(ws, resubmitted)
    report = run_validation(ws, PERIOD)
    result = report.result(UNIT)
    assert result.file == resubmitted.name
    assert (result.status, result.errors, result.warnings) == ("valid", 0, 0)
    (explained,) = result.issues
    assert (explained.code, explained.severity, explained.explanation) == (
        "W-DONE-BELOW-TARGET", "info", EXPLAINED)
    data = report_json(report)
    entry = next(i for i in data["issues"] if i["unit"] == UNIT)
    assert entry["accepted"] is True and entry["severity"] == "info"
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert write_feedback(ws, PERIOD, report=report) == []


def test_an_explained_warning_stays_explained_in_the_next_feedback(round_one, tmp_path):
    """Round two still has an error: the new feedback keeps the earlier explanation."""
    ws, _, _, _, written = round_one
    book = openpyxl.load_workbook(written[0].path)
    explain(book, ("W-DONE-BELOW-TARGET",))
    path = tmp_path / "again.xlsx"
    book.save(path)
    submit(ws, path)
    report = run_validation(ws, PERIOD)
    assert report.result(UNIT).status == "invalid"
    (again,) = write_feedback(ws, PERIOD, report=report)
    sheet = openpyxl.load_workbook(again.path)["问题清单"]
    carried = [row for row in sheet.iter_rows(min_row=EXPLAIN_FIRST_ROW, values_only=True)
               if row[EXPLAIN_COLS["code"] - 1] == "W-DONE-BELOW-TARGET"]
    assert [row[EXPLAIN_COLS["explanation"] - 1] for row in carried] == [EXPLAINED]
    target = openpyxl.load_workbook(again.path)[PROG][
        layout.a1(task_row(UNIT, BEHIND.task), layout.PROG_COLS["status"])]
    assert target.fill.fgColor.rgb != YELLOW  # accepted: no longer marked


def test_a_stale_submission_gets_the_current_template_back_with_its_values(tmp_path):
    import dataclasses

    ws = workspace_with_contacts(tmp_path / "ws")
    old_plan = dataclasses.replace(PLAN, version="2023.9", indicators=tuple(
        dataclasses.replace(i, targets=((2024, 1.0), (2025, 1.0))) if i.id == NEGATIVE.id
        else i for i in PLAN.indicators))
    old = make_template(tmp_path, plan=old_plan)
    submit(ws, fill(old, tmp_path / "old.xlsx", actual={TEXTED.id: 77}))
    report = run_validation(ws, PERIOD)
    assert "E-STALE-TEMPLATE" in {i.code for i in report.issues}
    (item,) = write_feedback(ws, PERIOD, report=report)
    values = read_values(item.path)
    identity = read_identity(values).identity
    assert identity.template_version == layout.template_version(PLAN.version)
    assert identity.fingerprint == layout.template_fingerprint(PLAN)
    assert extract(values, PLAN, identity, unit=UNIT).indicator(TEXTED.id).value == 77


@pytest.mark.libreoffice
def test_explanations_survive_a_save_in_libreoffice(round_one, tmp_path):
    from toolkit.office import convert, soffice

    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    ws, _, _, _, written = round_one
    book = openpyxl.load_workbook(written[0].path)
    explain(book, ("W-DONE-BELOW-TARGET",))
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    saved = convert([edited], "xlsx", tmp_path / "lo")[edited]
    assert saved is not None
    submit(ws, saved, name="喀什市报表（LibreOffice）.xlsx")
    result = run_validation(ws, PERIOD).result(UNIT)
    explained = [i for i in result.issues if i.code == "W-DONE-BELOW-TARGET"]
    assert [(i.severity, i.explanation) for i in explained] == [("info", EXPLAINED)]
