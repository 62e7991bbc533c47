"""The validation rules, on workbooks filled the way clerks fill them.

Templates are written by the template writer, filled and edited with
openpyxl, read back with calamine; formulas are found in the saved file's XML.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from validation_helpers import (PERIOD, UNIT, actual_cell, fill, first, make_template, period,
                                sheet_names, submit, task_row, tasklist, workspace_with_contacts)

from toolkit import issues as iss
from toolkit.collect import collect
from toolkit import layout
from toolkit.config import Thresholds
from toolkit.extract import Explanation, extract
from toolkit.read import read_identity, read_values
from toolkit.validate import Context, apply_explanations, check_submission, robust_z
from toolkit.formulas import formula_cells
from toolkit.validation_run import run_validation

PLAN = tasklist()
COUNT = first(PLAN, UNIT, lambda i: i.kind == "cumulative" and i.unit in ("个", "所", "人"))
AMOUNT = first(PLAN, UNIT, lambda i: i.kind == "cumulative" and i.aggregation == "sum"
               and i.task != COUNT.task)
PCT = first(PLAN, UNIT, lambda i: i.is_percent and i.aggregation == "mean"
            and i.target(2024) is not None)
MILESTONE = first(PLAN, UNIT, lambda i: i.kind == "milestone" and i.target(2024) is not None)
IND = sheet_names()["indicators"]
PROG = sheet_names()["progress"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("tpl"))


def check(path, unit=UNIT, code=PERIOD, **overrides):
    values = read_values(path)
    reading = read_identity(values)
    extracted = extract(values, PLAN, reading.identity, unit=unit, file=path.name)
    options = dict(period=period(code), tasklist=PLAN,
                   fingerprint=layout.template_fingerprint(PLAN),
                   template_version=layout.template_version(PLAN.version), unit=unit,
                   file=path.name, formulas=formula_cells(path), thresholds=Thresholds())
    options.update(overrides)
    return check_submission(reading, extracted, Context(**options))


def only(found, code):
    matches = [i for i in found if i.code == code]
    assert len(matches) == 1, [i.code for i in found]
    return matches[0]


def assert_names_place(issue, file):
    """The clerk's message says which file, sheet and cell, in both languages."""
    for lang in ("zh", "en"):
        text = issue.message(lang)
        assert file in text
        if issue.cell:
            assert issue.sheet in text and issue.cell in text


def test_a_clean_submission_has_no_issues(template, tmp_path):
    assert check(fill(template, tmp_path / "ok.xlsx")) == []


@pytest.mark.parametrize("typed, ind, read, how", [
    ("1,234", COUNT, 1234, "千分位"),
    ("１２３", COUNT, 123, "全角"),
    ("1.2万", COUNT, 12000, "万"),
    ("'123", COUNT, 123, "单引号"),
    ("45%", PCT, 45, "百分号"),
    ("12", COUNT, 12, "文本格式"),  # a text cell, as Excel keeps a number typed as '12
])
def test_a_number_typed_as_text_is_read_and_warned(template, tmp_path, typed, ind, read, how):
    path = fill(template, tmp_path / "text.xlsx", actual={ind.id: typed})
    found = check(path)
    issue = only(found, "W-TEXT-NUMBER")
    assert [i.code for i in found] == ["W-TEXT-NUMBER"]
    assert (issue.severity, issue.sheet, issue.cell, issue.indicator, issue.value) == (
        "warning", IND, actual_cell(UNIT, ind.id), ind.id, typed)
    assert dict(issue.params)["read"] == str(read)
    message = issue.message("zh")
    assert f"已按数值 {read} 读取" in message and how in message
    assert_names_place(issue, path.name)


def test_an_unparseable_value_is_an_error(template, tmp_path):
    path = fill(template, tmp_path / "bad.xlsx", actual={COUNT.id: "约100"})
    issue = only(check(path), "E-NOT-A-NUMBER")
    assert (issue.severity, issue.cell, issue.value) == ("error", actual_cell(UNIT, COUNT.id),
                                                          "约100")
    assert "约100" in issue.message() and COUNT.unit in issue.message()
    assert_names_place(issue, path.name)


def test_negatives_are_errors_whether_typed_as_numbers_or_text(template, tmp_path):
    path = fill(template, tmp_path / "neg.xlsx", actual={COUNT.id: -5, AMOUNT.id: "-7"})
    found = check(path)
    negatives = {i.cell: i for i in found if i.code == "E-NEGATIVE"}
    assert set(negatives) == {actual_cell(UNIT, COUNT.id), actual_cell(UNIT, AMOUNT.id)}
    assert negatives[actual_cell(UNIT, COUNT.id)].value == "-5"
    assert only(found, "W-TEXT-NUMBER").cell == actual_cell(UNIT, AMOUNT.id)
    assert all(i.severity == "error" for i in negatives.values())


def test_a_percentage_over_100_is_an_error(template, tmp_path):
    path = fill(template, tmp_path / "pct.xlsx", actual={PCT.id: 180})
    issue = only(check(path), "E-PERCENT-OVER-100")
    assert (issue.severity, issue.cell, issue.value) == ("error", actual_cell(UNIT, PCT.id),
                                                          "180")
    assert "180%" in issue.message()


def test_a_percentage_typed_as_a_fraction_is_warned(template, tmp_path):
    path = fill(template, tmp_path / "frac.xlsx", actual={PCT.id: 0.45})
    issue = only(check(path), "W-PERCENT-FRACTION")
    assert (issue.severity, issue.cell, issue.value) == ("warning", actual_cell(UNIT, PCT.id),
                                                          "0.45")
    assert "请填写 45" in issue.message()


def test_required_inputs_left_empty_are_errors(template, tmp_path):
    task = PLAN.tasks_for(UNIT)[0]
    path = fill(template, tmp_path / "empty.xlsx", actual={COUNT.id: None, MILESTONE.id: None},
                progress={task.id: {"status": None}}, filler={"filler": None, "phone": None})
    found = [i for i in check(path) if i.code == "E-REQUIRED-EMPTY"]
    cells = {i.cell: i for i in found}
    name_cell = layout.a1(*layout.FILLER_CELLS["filler"])
    phone_cell = layout.a1(*layout.FILLER_CELLS["phone"])
    status_cell = layout.a1(task_row(UNIT, task.id), layout.PROG_COLS["status"])
    assert set(cells) == {actual_cell(UNIT, COUNT.id), actual_cell(UNIT, MILESTONE.id),
                          status_cell, name_cell, phone_cell}
    assert cells[status_cell].sheet == PROG and cells[status_cell].task == task.id
    assert "填报人" in cells[name_cell].message() and "联系电话" in cells[phone_cell].message()
    assert "已完成" in cells[actual_cell(UNIT, MILESTONE.id)].message()
    assert all(i.severity == "error" for i in found)
    for issue in found:
        assert_names_place(issue, path.name)


def test_a_status_or_milestone_not_in_its_list_is_an_error(template, tmp_path):
    task = PLAN.tasks_for(UNIT)[1]
    path = fill(template, tmp_path / "lists.xlsx", actual={MILESTONE.id: "完成了"},
                progress={task.id: {"status": "进行中"}})
    found = check(path)
    status = only(found, "E-STATUS-NOT-IN-LIST")
    assert (status.cell, status.value, status.severity) == (
        layout.a1(task_row(UNIT, task.id), layout.PROG_COLS["status"]), "进行中", "error")
    assert "未启动、推进中、已完成、滞后" in status.message()
    milestone = only(found, "E-MILESTONE-NOT-IN-LIST")
    assert (milestone.cell, milestone.value) == (actual_cell(UNIT, MILESTONE.id), "完成了")


def test_completed_tasks_below_target_are_warned(template, tmp_path):
    target = PCT.target(2024)
    path = fill(template, tmp_path / "done.xlsx",
                actual={PCT.id: target - 10, AMOUNT.id: 1, MILESTONE.id: "未完成"},
                progress={x: {"status": "已完成"} for x in {PCT.task, AMOUNT.task,
                                                             MILESTONE.task}})
    found = [i for i in check(path) if i.code == "W-DONE-BELOW-TARGET"]
    # a summed count without an allocated target is never held to the prefecture total;
    # every milestone of the task due this year and not done is
    due = {i.id for i in PLAN.indicators_for(UNIT) if i.task == MILESTONE.task
           and i.kind == "milestone" and i.target(2024) is not None}
    assert MILESTONE.id in due
    assert {i.indicator for i in found} == {PCT.id} | due
    rate = next(i for i in found if i.indicator == PCT.id)
    assert (rate.severity, rate.sheet, rate.cell, rate.task) == (
        "warning", PROG, layout.a1(task_row(UNIT, PCT.task), layout.PROG_COLS["status"]),
        PCT.task)
    assert str(target - 10).rstrip("0").rstrip(".") in rate.message()
    task_title = tasklist().task(PCT.task).title
    assert f"任务 {PCT.task}「{task_title}」" in rate.message()
    with_allocation = [i for i in check(path, allocations={AMOUNT.id: 3})
                       if i.code == "W-DONE-BELOW-TARGET"]
    assert AMOUNT.id in {i.indicator for i in with_allocation}
    at_target = fill(template, tmp_path / "done2.xlsx", actual={PCT.id: target},
                     progress={PCT.task: {"status": "已完成"}})
    assert not [i for i in check(at_target) if i.code == "W-DONE-BELOW-TARGET"]


def test_a_formula_in_an_input_cell_is_reported(template, tmp_path):
    def formula(book):
        book[IND][actual_cell(UNIT, COUNT.id)] = "=1+1"

    path = fill(template, tmp_path / "f.xlsx", edit=formula)
    found = check(path)
    issue = only(found, "W-FORMULA")
    assert (issue.cell, issue.sheet, issue.indicator, issue.severity) == (
        actual_cell(UNIT, COUNT.id), IND, COUNT.id, "warning")
    # openpyxl stores no cached result: nothing was read, so the cell is also empty
    assert only(found, "E-REQUIRED-EMPTY").cell == issue.cell
    assert_names_place(issue, path.name)


def test_formulas_cannot_be_checked_in_other_formats(template, tmp_path):
    path = fill(template, tmp_path / "x.xlsx")
    issue = only(check(path, formulas=None, format="xls"), "I-FORMULA-UNCHECKED")
    assert issue.severity == "info" and "xls" in issue.message()


def test_a_file_from_another_units_address_is_an_error(template, tmp_path):
    path = fill(template, tmp_path / "w.xlsx")
    issue = only(check(path, expected_unit="653121"), "E-WRONG-UNIT")
    assert issue.severity == "error" and issue.value == UNIT
    assert "疏附县" in issue.message() and "喀什市" in issue.message()


def test_a_stale_template_is_an_error(tmp_path):
    old_indicators = tuple(dataclasses.replace(i, targets=((2024, 1.0), (2025, 1.0)))
                           if i.id == COUNT.id else i for i in PLAN.indicators)
    old_plan = dataclasses.replace(PLAN, version="2023.9", indicators=old_indicators)
    old = make_template(tmp_path, plan=old_plan)
    path = fill(old, tmp_path / "stale.xlsx")
    issue = only(check(path), "E-STALE-TEMPLATE")
    assert issue.severity == "error" and issue.value == layout.template_version("2023.9")
    assert layout.template_version(PLAN.version) in issue.message()


def test_identity_copies_that_disagree_are_an_error(template, tmp_path):
    def tamper(book):
        ws = book[layout.IDENTITY_SHEET]
        for row in ws.iter_rows():
            if row[0].value == "unit_code":
                row[1].value = "653121"

    issue = only(check(fill(template, tmp_path / "t.xlsx", edit=tamper)), "E-IDENTITY-MISMATCH")
    assert "unit_code" in issue.value and issue.severity == "error"


def test_a_template_of_another_period_is_an_error(tmp_path):
    other = make_template(tmp_path, code="2024Q3")
    issue = only(check(fill(other, tmp_path / "q3.xlsx")), "E-WRONG-PERIOD")
    assert (issue.value, dict(issue.params)["expected"]) == ("2024Q3", PERIOD)


def test_history_rules(template, tmp_path):
    rate = first(PLAN, UNIT, lambda i: i.kind == "rate" and not i.is_percent
                 and i.aggregation != "sum")
    path = fill(template, tmp_path / "h.xlsx", actual={COUNT.id: 120, AMOUNT.id: 120,
                                                      rate.id: 50})
    history = {COUNT.id: (("2024Q1", 500.0),),  # cumulative fell within the year
               AMOUNT.id: (("2024Q1", 60.0),),  # same pace as Q1: no jump
               rate.id: (("2024Q1", 10.0),)}  # a level five times the last one
    found = check(path, history=history)
    fell = only(found, "W-CUMULATIVE-DECREASE")
    assert (fell.indicator, fell.cell, fell.severity) == (COUNT.id, actual_cell(UNIT, COUNT.id),
                                                          "warning")
    assert "2024年第一季度" in fell.message() and "500" in fell.message()
    assert "2024 Q1" in fell.message("en")
    jump = only(found, "W-JUMP")
    assert jump.indicator == rate.id and dict(jump.params)["change"] == "+400%"
    calm = check(path, history=history, thresholds=Thresholds(jump=5.0))
    assert not [i for i in calm if i.code == "W-JUMP"]


def test_every_message_names_file_sheet_and_cell(template, tmp_path):
    task = PLAN.tasks_for(UNIT)[0]
    path = fill(template, tmp_path / "messy.xlsx",
                actual={COUNT.id: "1 234", AMOUNT.id: -1, PCT.id: 101, MILESTONE.id: "好"},
                progress={task.id: {"status": "?"}}, filler={"phone": None})
    found = check(path, expected_unit="653122", formulas=None, format="xls")
    assert len({i.code for i in found}) >= 7
    for issue in found:
        assert_names_place(issue, path.name)


def test_every_code_has_a_message_a_meaning_and_a_matching_severity():
    from toolkit.catalogue import entries

    catalogue = entries()
    for code, entry in iss.CODES.items():
        assert entry.severity == {"E": "error", "W": "warning", "I": "info"}[code[0]]
        for lang in ("zh", "en"):
            assert catalogue[f"issue.{code}"][lang] and entry.meaning(lang)


def test_explained_warnings_are_kept_but_not_counted():
    warning = iss.make("W-OUTLIER", unit=UNIT, file="a.xlsx", sheet=IND, cell="G9",
                       indicator=COUNT.id, column="actual")
    error = iss.make("E-NEGATIVE", unit=UNIT, file="a.xlsx", sheet=IND, cell="G10",
                     indicator=AMOUNT.id, column="actual")
    notes = (Explanation("W-OUTLIER", "|".join(warning.key), "G9", "新建园区，数量较多"),
             Explanation("E-NEGATIVE", "|".join(error.key), "G10", "填错了"))
    kept = apply_explanations([warning, error], notes)
    assert [(i.code, i.severity, i.explanation) for i in kept] == [
        ("W-OUTLIER", "info", "新建园区，数量较多"), ("E-NEGATIVE", "error", "填错了")]
    assert kept[0].accepted and not kept[0].counted
    assert not kept[1].accepted and kept[1].counted
    assert iss.status_for(kept) == "invalid" and iss.status_for(kept[:1]) == "valid"


def test_robust_z():
    assert robust_z({"a": 1, "b": 2, "c": 3}) == {}  # too few units to say
    scores = robust_z({u: 10.0 for u in "abcde"} | {"f": 11.0, "g": 9.0, "h": 100.0})
    assert abs(scores["h"]) > 3.5 and max(abs(scores[u]) for u in "abcdefg") < 3.5
    assert robust_z({u: 5.0 for u in "abcdef"}) == {}  # no spread, no outlier
    # units that agree closely: a value a few percent off is not far from the others
    close = robust_z({"a": 10.0, "b": 10.0, "c": 10.0, "d": 10.01, "e": 9.99, "f": 10.5})
    assert max(abs(z) for z in close.values()) < 3.5
    assert abs(robust_z({"a": 10.0, "b": 10.0, "c": 10.0, "d": 10.01, "e": 9.99,
                         "f": 12.0})["f"]) > 3.5


# --- the run: store in, store out ---------------------------------------------------------

def statuses(workspace):
    conn = sqlite3.connect(workspace.db_path)
    try:
        return dict(conn.execute("SELECT id, status FROM submissions").fetchall())
    finally:
        conn.close()


def count(workspace, sql, *args):
    conn = sqlite3.connect(workspace.db_path)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def test_a_run_records_readings_issues_and_statuses(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")
    good = fill(make_template(tmp_path), tmp_path / "kashi.xlsx", actual={COUNT.id: "1,234"})
    other = "653122"
    bad_template = make_template(tmp_path, unit=other)
    bad = fill(bad_template, tmp_path / "shule.xlsx", unit=other,
               actual={first(PLAN, other, lambda i: i.is_percent).id: 150})
    good_id, bad_id = submit(ws, good), submit(ws, bad)
    report = run_validation(ws, PERIOD)
    assert statuses(ws) == {good_id: "warnings", bad_id: "invalid"}
    assert report.has_errors and len(report.missing) == len(PLAN.units) - 2
    assert count(ws, "SELECT COUNT(*) FROM readings WHERE submission_id = ?", good_id) == \
        len(PLAN.indicators_for(UNIT))
    assert count(ws, "SELECT value FROM readings WHERE submission_id = ? AND indicator = ?",
                 good_id, COUNT.id) == 1234
    assert count(ws, "SELECT raw FROM readings WHERE submission_id = ? AND indicator = ?",
                 good_id, COUNT.id) == "1,234"
    assert count(ws, "SELECT COUNT(*) FROM progress_readings WHERE submission_id = ?",
                 good_id) == len(PLAN.tasks_for(UNIT))
    assert count(ws, "SELECT code FROM issues WHERE submission_id = ?", bad_id) == \
        "E-PERCENT-OVER-100"
    before = count(ws, "SELECT COUNT(*) FROM issues")
    run_validation(ws, PERIOD)  # again: replaced, not added to
    assert count(ws, "SELECT COUNT(*) FROM issues") == before == 2

    units, issues = workbook_rows(report.workbook).values()
    assert len(units) == 2 + len(PLAN.units)
    status_by_unit = {row[0]: row[2] for row in units[2:]}
    assert status_by_unit[UNIT] == "有警告" and status_by_unit[other] == "有错误"
    assert status_by_unit["653121"] == "未报送"
    assert sorted(row[1] for row in issues[1:]) == ["E-PERCENT-OVER-100", "W-TEXT-NUMBER"]


def test_an_identity_listing_a_row_twice_records_it_once(tmp_path):
    from toolkit.layout import IDENTITY_SHEET

    def twice(book):
        for row in book[IDENTITY_SHEET].iter_rows():
            if row[0].value in ("indicator_rows", "task_rows"):
                ids = row[1].value.split(",")
                row[1].value = ",".join([ids[0], *ids])  # the first row listed twice

    ws = workspace_with_contacts(tmp_path / "ws")
    path = fill(make_template(tmp_path), tmp_path / "kashi.xlsx", actual={COUNT.id: 7},
                edit=twice)
    sub_id = submit(ws, path)
    run_validation(ws, PERIOD)
    assert count(ws, "SELECT COUNT(*) FROM readings WHERE submission_id = ?", sub_id) == \
        len(PLAN.indicators_for(UNIT))
    assert count(ws, "SELECT COUNT(*) FROM progress_readings WHERE submission_id = ?",
                 sub_id) == len(PLAN.tasks_for(UNIT))
    assert count(ws, "SELECT value FROM readings WHERE submission_id = ? AND indicator = ?",
                 sub_id, COUNT.id) == 7


def test_only_the_current_submission_is_validated(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")
    template = make_template(tmp_path)
    first_id = submit(ws, fill(template, tmp_path / "v1.xlsx", actual={COUNT.id: -3}))
    second_id = submit(ws, fill(template, tmp_path / "v2.xlsx"))
    report = run_validation(ws, PERIOD)
    assert [r.submission_id for r in report.results] == [second_id]
    assert statuses(ws) == {first_id: "superseded", second_id: "valid"}


def test_a_file_sent_from_another_units_address_is_flagged(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws", {"653121": "shufu@example.cn"})
    path = fill(make_template(tmp_path), tmp_path / "kashi.xlsx")
    submit(ws, path, sender="shufu@example.cn")
    report = run_validation(ws, PERIOD)
    issue = only(report.issues, "E-WRONG-UNIT")
    assert issue.unit == UNIT and dict(issue.params)["expected"] == "653121"


def test_a_formula_in_the_stored_file_is_found(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")

    def formula(book):
        book[IND][actual_cell(UNIT, COUNT.id)] = "=SUM(1,2)"

    submit(ws, fill(make_template(tmp_path), tmp_path / "f.xlsx", edit=formula))
    # collect's reader found the formula beside the values: validation reads nothing again
    for stored in (ws.period_dir(PERIOD) / "received").iterdir():
        stored.write_bytes(b"")
    report = run_validation(ws, PERIOD)
    assert only(report.issues, "W-FORMULA").cell == actual_cell(UNIT, COUNT.id)


def counties(tmp_path, number, value):
    """(workspace, unit codes, indicator) after collecting ``number`` counties' workbooks,
    the n-th with ``value(n, code)`` for an indicator they all report."""
    ws = workspace_with_contacts(tmp_path / "ws")
    units = [u.code for u in PLAN.units if u.kind == "county"][:number]
    shared = first(PLAN, units[0], lambda i: i.kind == "cumulative" and i.scope == "counties"
                   and i.unit in ("个", "所", "人"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n, code in enumerate(units):
        fill(make_template(tmp_path, unit=code), inbox / f"{code}.xlsx", unit=code,
             actual={shared.id: value(n, code)})
    collect(ws, PERIOD, [inbox])
    return ws, units, shared


def test_values_far_from_the_other_units_are_warned(tmp_path):
    ws, units, shared = counties(tmp_path, 6, lambda n, code: 12000 if n == 3 else 100 + n)
    report = run_validation(ws, PERIOD)
    outliers = [i for i in report.issues if i.code == "W-OUTLIER"]
    assert [(i.unit, i.indicator) for i in outliers] == [(units[3], shared.id)]
    assert outliers[0].cell == actual_cell(units[3], shared.id)
    assert "12000" in outliers[0].message()
    assert report.result(units[3]).status == "warnings"


def recorded(workspace) -> dict:
    """Everything a validation run records, table by table, in a stable order."""
    queries = {
        "status": "SELECT id, status FROM submissions",
        "readings": "SELECT submission_id, indicator, sheet, cell, raw, value, note FROM readings",
        "progress": "SELECT submission_id, task, sheet, row, status, progress, problems, "
                    "next_steps FROM progress_readings",
        "issues": "SELECT submission_id, severity, code, sheet, cell, indicator, value, message "
                  "FROM issues"}
    conn = sqlite3.connect(workspace.db_path)
    try:
        return {name: sorted(conn.execute(sql).fetchall(), key=repr)
                for name, sql in queries.items()}
    finally:
        conn.close()


def test_two_processes_judging_halves_record_what_one_does(tmp_path, monkeypatch):
    import os
    import time

    import openpyxl

    from toolkit import processes, validation_report, validation_run
    from toolkit.extract import EXPLAIN_COLS, EXPLAIN_FIRST_ROW
    from toolkit.feedback import write_feedback

    # seven counties: an error and a number typed as text here, outliers in the child
    ws, units, shared = counties(tmp_path, 7, lambda n, code: {1: -4, 2: "1,234", 5: 9000,
                                                               6: 12000}.get(n, 100 + n))
    ordered = sorted(units)  # the first four are judged here, the last three in the child
    conn = sqlite3.connect(ws.db_path)
    with conn:  # nothing readable stored for one unit: it is missing from the results
        conn.execute("DELETE FROM workbook_values WHERE submission_id = (SELECT id FROM "
                     "submissions WHERE unit_code = ?)", (ordered[0],))
    conn.close()
    # the last unit resubmits its feedback workbook, its outlier explained
    explained = units[6]
    (back,) = [f for f in write_feedback(ws, PERIOD, report=run_validation(ws, PERIOD))
               if f.unit == explained]
    book = openpyxl.load_workbook(back.path)
    for row in book["问题清单"].iter_rows(min_row=EXPLAIN_FIRST_ROW):
        if row[EXPLAIN_COLS["code"] - 1].value == "W-OUTLIER":
            row[EXPLAIN_COLS["explanation"] - 1].value = "本县新建学校集中在上半年"
    resubmitted = tmp_path / "resubmitted.xlsx"
    book.save(resubmitted)
    later = time.time() + 60  # sent after the files collected above
    os.utime(resubmitted, (later, later))
    collect(ws, PERIOD, [resubmitted])

    monkeypatch.setattr(validation_run, "SPLIT_FROM", 1000)
    alone = run_validation(ws, PERIOD)
    one, one_book = recorded(ws), workbook_rows(alone.workbook)

    judged_in, written_in = tmp_path / "pids", tmp_path / "writer"
    judge = validation_run._judge
    write = validation_report.write_workbook

    def judge_noting_the_process(basis, subs):
        with open(judged_in, "a") as out:
            out.write(f"{os.getpid()} {len(subs)}\n")
        return judge(basis, subs)

    def write_noting_the_process(*args):
        written_in.write_text(str(os.getpid()))
        return write(*args)

    monkeypatch.setattr(validation_run, "SPLIT_FROM", 2)
    monkeypatch.setattr(validation_run, "_judge", judge_noting_the_process)
    monkeypatch.setattr(validation_report, "write_workbook", write_noting_the_process)
    split = run_validation(ws, PERIOD)
    halves = [line.split() for line in judged_in.read_text().splitlines()]
    here = [n for pid, n in halves if pid == str(os.getpid())]
    assert sorted(n for _, n in halves) == ["3", "4"]
    if processes.cores() > 1 and processes.can_fork():
        assert here == ["4"]  # the first half here, the other in a forked child
        assert written_in.read_text() != str(os.getpid())  # the workbook in a child too
    else:
        assert sorted(here) == ["3", "4"]  # both here, one after the other
    assert recorded(ws) == one
    assert split.workbook == alone.workbook and workbook_rows(split.workbook) == one_book
    assert split.results == alone.results and split.missing == alone.missing
    assert ordered[0] in split.missing and len(split.results) == 6
    assert [(r.readings, r.progress) for r in split.results] == \
        [(r.readings, r.progress) for r in alone.results]
    codes = {(i.unit, i.code, i.severity) for i in split.issues}
    assert {(units[5], "W-OUTLIER", "warning"), (units[1], "E-NEGATIVE", "error"),
            (units[2], "W-TEXT-NUMBER", "warning"), (explained, "W-OUTLIER", "info")} <= codes
    assert split.result(explained).file == resubmitted.name
    assert split.result(explained).status == "valid"


def workbook_rows(path) -> dict:
    """Each sheet's rows of the workbook at ``path``, read back with openpyxl."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    finally:
        book.close()


@pytest.mark.parametrize("split_from", [2, 1000], ids=["forked", "alone"])
def test_the_workbook_is_put_in_place_only_once_the_store_holds_its_findings(
        tmp_path, monkeypatch, split_from):
    from toolkit import validation_run
    from toolkit.catalogue import t

    ws, units, _ = counties(tmp_path, 3, lambda n, code: 100 + n)
    kept = run_validation(ws, PERIOD).workbook
    kept_bytes, folder = kept.read_bytes(), kept.parent
    before = sorted(p.name for p in folder.iterdir())
    percent = first(PLAN, units[0], lambda i: i.is_percent)
    collect(ws, PERIOD, [fill(make_template(tmp_path, unit=units[0]), tmp_path / "again.xlsx",
                              unit=units[0], actual={percent.id: 150})])  # now an error
    collected = statuses(ws)

    def locked(conn, results, lang):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(validation_run, "SPLIT_FROM", split_from)
    monkeypatch.setattr(validation_run, "record_all", locked)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        run_validation(ws, PERIOD, lang="en")  # in English: another workbook
    assert kept.read_bytes() == kept_bytes  # the last good one, as it was
    assert sorted(p.name for p in folder.iterdir()) == before  # no temporary file left
    assert statuses(ws) == collected

    monkeypatch.undo()  # the store writable again: this run's workbook takes the place
    monkeypatch.setattr(validation_run, "SPLIT_FROM", split_from)
    again = run_validation(ws, PERIOD, lang="en")
    assert again.workbook == kept and again.result(units[0]).status == "invalid"
    assert list(workbook_rows(kept)) == [t("validation.sheet.units", "en"),
                                         t("validation.sheet.issues", "en")]


def test_a_cumulative_value_below_the_earlier_period_is_warned(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")
    q1 = fill(make_template(tmp_path, code="2024Q1"), tmp_path / "q1.xlsx",
              actual={COUNT.id: 500})
    submit(ws, q1, code="2024Q1")
    assert run_validation(ws, "2024Q1").results[0].status == "valid"
    h1 = fill(make_template(tmp_path), tmp_path / "h1.xlsx", actual={COUNT.id: 300})
    submit(ws, h1)
    issue = only(run_validation(ws, PERIOD).issues, "W-CUMULATIVE-DECREASE")
    assert dict(issue.params)["previous_period"] == "2024Q1"
    assert dict(issue.params)["previous"] == "500"


# --- LibreOffice as the clerk's office suite ---------------------------------------------

@pytest.fixture(scope="module")
def office_files(tmp_path_factory):
    from toolkit.office import convert, soffice

    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("office")
    template = make_template(folder)

    def formula(book):
        book[IND][actual_cell(UNIT, COUNT.id)] = "=1+1"

    source = fill(template, folder / "clerk.xlsx", actual={AMOUNT.id: "1,234"}, edit=formula)
    saved = convert([source], "xlsx", folder / "xlsx")[source]
    ods = convert([source], "ods", folder / "ods")[source]
    assert saved is not None and ods is not None
    return saved, ods


@pytest.mark.libreoffice
def test_a_formula_saved_by_libreoffice_keeps_its_cached_value_unverified(office_files):
    found = check(office_files[0])
    issue = only(found, "W-FORMULA")
    assert (issue.cell, issue.value) == (actual_cell(UNIT, COUNT.id), "2")
    assert not [i for i in found if i.code == "E-REQUIRED-EMPTY"]
    assert only(found, "W-TEXT-NUMBER").cell == actual_cell(UNIT, AMOUNT.id)


@pytest.mark.libreoffice
def test_a_formula_in_an_ods_save_is_found_too(office_files):
    ods = office_files[1]
    found = check(ods, formulas=formula_cells(ods), format="ods")
    issue = only(found, "W-FORMULA")
    assert (issue.cell, issue.value) == (actual_cell(UNIT, COUNT.id), "2")
    assert not [i for i in found if i.code == "I-FORMULA-UNCHECKED"]



def test_a_new_version_label_over_the_same_list_is_only_a_warning(tmp_path):
    relabelled = make_template(tmp_path, plan=dataclasses.replace(PLAN, version="2024.9"))
    issue = only(check(fill(relabelled, tmp_path / "v.xlsx")), "W-TEMPLATE-VERSION")
    assert issue.severity == "warning" and issue.value == layout.template_version("2024.9")
