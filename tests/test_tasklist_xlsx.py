"""The task list as a 重点任务清单 workbook: written by xlsxwriter, read back by openpyxl and
python-calamine; a round trip gives the same list, a malformed sheet a clear message."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit import office
from toolkit.errors import WorkbookError
from toolkit.tasklist import load_tasklist
from toolkit.model import AGGREGATIONS, DIRECTIONS, KINDS, Action, Indicator, Task, TaskList
from toolkit.tasklist_xlsx import export_tasklist, import_tasklist
from toolkit.tasklist_yaml import dump_tasklist_yaml

HEADERS_ZH = ["序号", "重点任务", "具体目标", "牵头单位", "责任单位", "完成时限", "所属行动",
              "实施单位范围", "分项", "指标编号", "指标名称", "计量单位", "指标类型", "方向",
              "2024年目标", "2025年目标", "填报范围", "汇总方式", "加权指标", "依据原文"]
HEADER_ROW = 2


@pytest.fixture(scope="module")
def bundled():
    return load_tasklist()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, bundled):
    path = tmp_path_factory.mktemp("export") / "任务清单.xlsx"
    export_tasklist(bundled, path)
    return path


def columns(sheet) -> dict[str, int]:
    return {c.value: c.column for c in sheet[HEADER_ROW] if c.value}


def data_rows(sheet):
    return range(HEADER_ROW + 1, sheet.max_row + 1)


def row_of(sheet, indicator_id: str) -> int:
    col = columns(sheet)["指标编号"]
    return next(r for r in data_rows(sheet) if sheet.cell(r, col).value == indicator_id)


def edited(exported, tmp_path, change) -> Path:
    """A copy of the exported workbook changed by ``change(sheet)`` and saved by openpyxl."""
    book = openpyxl.load_workbook(exported)
    change(book["重点任务清单"])
    path = tmp_path / "edited.xlsx"
    book.save(path)
    return path


def import_error(path, tmp_path, lang="zh") -> WorkbookError:
    dest = tmp_path / "out.yaml"
    with pytest.raises(WorkbookError) as info:
        import_tasklist(path, dest, lang=lang)
    assert not dest.exists()
    return info.value


# --- round trip ------------------------------------------------------------------

def test_round_trip_gives_the_same_list(exported, bundled, tmp_path):
    dest = tmp_path / "tasklist.yaml"
    back = import_tasklist(exported, dest, units=bundled.units)
    assert back == bundled
    assert back.fingerprint() == bundled.fingerprint()
    assert dest.read_text(encoding="utf-8") == dump_tasklist_yaml(bundled)
    assert back.source_path == str(dest)
    assert load_tasklist(dest) == bundled


def test_english_export_imports_too(bundled, tmp_path):
    path = tmp_path / "tasklist-en.xlsx"
    export_tasklist(bundled, path, lang="en")
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Task list", "Actions", "Notes"]
    headers = [c.value for c in next(book["Task list"].iter_rows(min_row=2, max_row=2))]
    assert headers[:3] == ["No.", "Key task", "Specific goals"]
    assert "2024 target" in headers
    book.close()
    assert import_tasklist(path, tmp_path / "en.yaml", units=bundled.units) == bundled
    assert import_tasklist(path, tmp_path / "en2.yaml", lang="en") == bundled


def test_raw_codes_are_accepted_for_labels(exported, bundled, tmp_path):
    codes = {"累计量": "cumulative", "比率": "rate", "里程碑": "milestone",
             "越高越好": "higher", "越低越好": "lower", "求和": "sum", "平均": "mean",
             "最小": "min", "不汇总": "none", "全部单位": "all", "各县市": "counties",
             "仅全地区": "prefecture"}

    def to_codes(sheet):
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
            for cell in row:
                if cell.value in codes:
                    cell.value = codes[cell.value]

    path = edited(exported, tmp_path, to_codes)
    assert import_tasklist(path, tmp_path / "codes.yaml") == bundled


def test_merged_task_cells_are_accepted(exported, bundled, tmp_path):
    def merge(sheet):
        first = row_of(sheet, next(i.id for i in bundled.indicators if i.task == "2"))
        count = sum(1 for i in bundled.indicators if i.task == "2")
        for col in range(1, 10):  # 序号 … 分项
            sheet.merge_cells(start_row=first, start_column=col,
                              end_row=first + count - 1, end_column=col)

    path = edited(exported, tmp_path, merge)
    assert openpyxl.load_workbook(path)["重点任务清单"].merged_cells.ranges
    assert import_tasklist(path, tmp_path / "merged.yaml") == bundled


def test_a_new_indicator_added_by_the_office(exported, bundled, tmp_path):
    def add(sheet):
        cols = columns(sheet)
        source = row_of(sheet, "1.1")
        new = sheet.max_row + 1
        for col in range(1, sheet.max_column + 1):
            sheet.cell(new, col).value = sheet.cell(source, col).value
        sheet.cell(new, cols["指标编号"]).value = "1.9"
        sheet.cell(new, cols["指标名称"]).value = "网上办理户籍业务量"
        sheet.cell(new, cols["2024年目标"]).value = "1,200"
        sheet.cell(new, cols["2025年目标"]).value = None

    path = edited(exported, tmp_path, add)
    back = import_tasklist(path, tmp_path / "added.yaml")
    new = back.indicator("1.9")
    assert (new.task, new.target(2024), new.target(2025)) == ("1", 1200, None)
    assert back.tasks == bundled.tasks
    assert back.fingerprint() != bundled.fingerprint()


# --- the workbook a reader sees ---------------------------------------------------

def test_the_workbook_has_the_conventional_layout(exported, bundled):
    book = openpyxl.load_workbook(exported)
    assert book.sheetnames == ["重点任务清单", "六大行动", "说明"]
    sheet = book["重点任务清单"]
    assert [c.value for c in sheet[HEADER_ROW]] == HEADERS_ZH
    assert "重点任务清单" in sheet["A1"].value
    expected_rows = sum(max(1, sum(1 for i in bundled.indicators if i.task == t.id))
                        for t in bundled.tasks)
    assert sheet.max_row - HEADER_ROW == expected_rows
    assert sheet.freeze_panes == "C3"
    actions = book["六大行动"]
    assert [c.value for c in actions[1]] == ["编号", "行动"]
    assert [actions.cell(r, 1).value for r in range(2, 8)] == ["1", "2", "3", "4", "5", "6"]
    notes = [[c.value for c in row] for row in book["说明"].iter_rows()]
    assert ["方案名称", bundled.title] in notes
    assert ["清单版本", bundled.version] in notes
    assert ["清单指纹", bundled.fingerprint()] in notes
    assert any("--import" in (row[1] or "") for row in notes)


def test_an_indicator_row_in_chinese_labels(exported, bundled):
    sheet = openpyxl.load_workbook(exported)["重点任务清单"]
    cols = columns(sheet)
    ind = next(i for i in bundled.indicators if i.task == "6" and i.name == "规上工业增加值")
    row = row_of(sheet, ind.id)

    def value(header):
        return sheet.cell(row, cols[header]).value

    assert value("序号") == "6"
    assert value("重点任务") == "突出产业发展重点"
    assert value("所属行动") == bundled.actions[1].title
    assert value("牵头单位") == "、".join(bundled.task("6").lead)
    assert "、" in value("牵头单位")
    assert (value("2024年目标"), value("2025年目标")) == (7_600_000_000, 10_000_000_000)
    assert (value("指标类型"), value("方向"), value("汇总方式")) == ("累计量", "越高越好", "求和")
    assert value("填报范围") == "全部单位"
    lower = next(i for i in bundled.indicators if i.direction == "lower")
    assert sheet.cell(row_of(sheet, lower.id), cols["方向"]).value == "越低越好"
    shache = next(i for i in bundled.indicators if i.scope == ("653125",))
    assert sheet.cell(row_of(sheet, shache.id), cols["填报范围"]).value == "653125"


def test_a_task_without_indicators_takes_one_row(exported, bundled):
    sheet = openpyxl.load_workbook(exported)["重点任务清单"]
    cols = columns(sheet)
    bare = [t for t in bundled.tasks if not any(i.task == t.id for i in bundled.indicators)]
    assert bare
    for task in bare:
        rows = [r for r in data_rows(sheet) if sheet.cell(r, 1).value == task.id]
        assert len(rows) == 1
        assert sheet.cell(rows[0], cols["重点任务"]).value == task.title
        assert all(sheet.cell(rows[0], cols[h]).value is None
                   for h in ("指标编号", "指标名称", "2024年目标", "汇总方式"))


def test_sub_items_are_one_per_line(exported, bundled):
    sheet = openpyxl.load_workbook(exported)["重点任务清单"]
    task = next(t for t in bundled.tasks if len(t.items) >= 2)
    row = next(r for r in data_rows(sheet) if sheet.cell(r, 1).value == task.id)
    cell = sheet.cell(row, columns(sheet)["分项"]).value
    assert cell.split("\n") == list(task.items)
    assert cell.startswith("一是")


def test_text_that_looks_like_a_formula_stays_text(bundled, tmp_path):
    task = replace(bundled.tasks[0], title="=HYPERLINK(\"http://x\")", text="+1+2")
    odd = replace(bundled, tasks=(task, *bundled.tasks[1:]))
    path = tmp_path / "odd.xlsx"
    export_tasklist(odd, path)
    sheet = openpyxl.load_workbook(path)["重点任务清单"]
    assert sheet["B3"].data_type == "s"
    assert sheet["B3"].value == "=HYPERLINK(\"http://x\")"
    assert import_tasklist(path, tmp_path / "odd.yaml", units=odd.units) == odd


def test_a_weighted_indicator_keeps_its_weight(bundled, tmp_path):
    rate = next(i for i in bundled.indicators if i.aggregation == "mean")
    weights = next(i for i in bundled.indicators if i.aggregation == "sum")
    weighted = replace(rate, aggregation="weighted", weight=weights.id)
    changed = replace(bundled, indicators=tuple(weighted if i.id == rate.id else i
                                                for i in bundled.indicators))
    path = tmp_path / "weighted.xlsx"
    export_tasklist(changed, path)
    back = import_tasklist(path, tmp_path / "weighted.yaml", units=bundled.units)
    assert back.indicator(rate.id).weight == weights.id
    assert back == changed


# Text a clerk might type: any printable character; list entries without the separators.
_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"))
_TEXT = st.text(_CHARS, min_size=1, max_size=12).map(str.strip).filter(bool)
_ENTRY = _TEXT.filter(lambda s: not set(s) & set("、，,;；"))
_ID = st.from_regex(r"[0-9A-Za-z][0-9A-Za-z._-]{0,5}", fullmatch=True)
_TARGET = st.none() | st.builds(lambda n, k: n / 10 ** k, st.integers(-10 ** 9, 10 ** 9),
                                st.integers(0, 4))


@st.composite
def tasklists(draw, units):
    codes = [u.code for u in units]
    scope = st.sampled_from(["all", "counties", "prefecture"]) | st.lists(
        st.sampled_from(codes), min_size=1, max_size=3, unique=True).map(tuple)
    task_ids = draw(st.lists(_ID, min_size=1, max_size=3, unique=True))
    tasks = tuple(Task(id=tid, action="1", title=draw(_TEXT), text=draw(_TEXT | st.just("")),
                       items=tuple(draw(st.lists(_TEXT, max_size=2))),
                       lead=tuple(draw(st.lists(_ENTRY, max_size=2))),
                       implementers=tuple(draw(st.lists(_ENTRY, max_size=2))),
                       units=draw(scope), deadline=draw(st.sampled_from(["", "2025-12-31"])))
                  for tid in task_ids)
    indicators = []
    for tid in task_ids:  # grouped by task, as the sheet lists them
        for iid in draw(st.lists(_ID, max_size=2, unique=True)):
            iid = f"{tid}:{iid}"
            aggregation = draw(st.sampled_from(AGGREGATIONS))
            indicators.append(Indicator(
                id=iid, task=tid, name=draw(_TEXT), unit=draw(_TEXT | st.just("%")),
                kind=draw(st.sampled_from(KINDS)), direction=draw(st.sampled_from(DIRECTIONS)),
                targets=((2024, draw(_TARGET)), (2025, draw(_TARGET))), scope=draw(scope),
                aggregation=aggregation, source=draw(_TEXT | st.just("")),
                weight=iid if aggregation == "weighted" else ""))
    return TaskList(title=draw(_TEXT), years=(2024, 2025), version=draw(_ID),
                    actions=(Action("1", draw(_TEXT)),), tasks=tasks,
                    indicators=tuple(indicators), units=units)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
@example(data=None)
def test_any_list_survives_the_round_trip(tmp_path, bundled, data):
    if data is None:  # text that means something else to YAML or to the xlsx format
        odd = ["null", "yes", "- a", "a: b", "#x", "'q'", "\"q\"", "1.0", "_x0041_", "[x]",
               "@x", "%", "~", "2024-01-01", "0?", "a?b"]
        tasklist = TaskList(
            title=odd[0], years=(2024, 2025), version="1.0", actions=(Action("1", odd[1]),),
            tasks=tuple(Task(id=str(n), action="1", title=text, text=text, items=(text,),
                             lead=(text,), deadline=text) for n, text in enumerate(odd)),
            indicators=tuple(Indicator(id=f"{n}.1", task=str(n), name=text, unit=text,
                                       kind="rate", direction="lower",
                                       targets=((2024, 0.5), (2025, None)),
                                       scope="all", aggregation="mean", source=text)
                             for n, text in enumerate(odd)),
            units=bundled.units)
    else:
        tasklist = data.draw(tasklists(bundled.units))
    folder = tmp_path / f"case-{abs(hash(tasklist))}"
    export_tasklist(tasklist, folder / "list.xlsx")
    back = import_tasklist(folder / "list.xlsx", folder / "list.yaml", units=bundled.units)
    assert back == tasklist
    assert (folder / "list.yaml").read_text(encoding="utf-8") == dump_tasklist_yaml(tasklist)


# --- malformed sheets -----------------------------------------------------------

def test_missing_required_column(exported, tmp_path):
    path = edited(exported, tmp_path, lambda s: s.delete_cols(columns(s)["指标类型"]))
    message = str(import_error(path, tmp_path))
    assert "缺少必需的列：指标类型" in message
    assert "应有的列：序号、重点任务、具体目标" in message


def test_a_row_without_its_number(exported, tmp_path):
    row = {}

    def clear(sheet):
        row["n"] = row_of(sheet, "2.3")
        sheet.cell(row["n"], 1).value = None

    path = edited(exported, tmp_path, clear)
    error = import_error(path, tmp_path)
    [problem] = error.problems
    assert f"第 {row['n']} 行 重点任务清单!A{row['n']}：没有序号" in problem


def test_an_unknown_kind_label(exported, tmp_path):
    where = {}

    def mislabel(sheet):
        col = columns(sheet)["指标类型"]
        where["row"], where["col"] = row_of(sheet, "4.1"), col
        sheet.cell(where["row"], col).value = "累积值"

    path = edited(exported, tmp_path, mislabel)
    [problem] = import_error(path, tmp_path).problems
    letter = openpyxl.utils.get_column_letter(where["col"])
    assert f"第 {where['row']} 行 重点任务清单!{letter}{where['row']}（指标类型）" in problem
    assert "无法识别“累积值”" in problem
    assert "累计量、比率、里程碑" in problem


def test_a_non_numeric_target(exported, tmp_path):
    where = {}

    def spoil(sheet):
        col = columns(sheet)["2025年目标"]
        where["row"], where["col"] = row_of(sheet, "2.3"), col
        sheet.cell(where["row"], col).value = "约1.3万"

    path = edited(exported, tmp_path, spoil)
    [problem] = import_error(path, tmp_path).problems
    letter = openpyxl.utils.get_column_letter(where["col"])
    assert f"重点任务清单!{letter}{where['row']}（2025年目标）" in problem
    assert "“约1.3万”不是数字" in problem


def test_a_duplicate_indicator_id(exported, tmp_path):
    rows = {}

    def duplicate(sheet):
        rows["first"], rows["second"] = row_of(sheet, "2.1"), row_of(sheet, "2.2")
        sheet.cell(rows["second"], columns(sheet)["指标编号"]).value = "2.1"

    path = edited(exported, tmp_path, duplicate)
    [problem] = import_error(path, tmp_path).problems
    assert f"第 {rows['second']} 行" in problem
    assert f"指标编号 2.1 重复（第 {rows['first']} 行已使用）" in problem


def test_rows_of_one_task_must_agree(exported, tmp_path):
    def conflict(sheet):
        sheet.cell(row_of(sheet, "2.2"), columns(sheet)["重点任务"]).value = "别的任务"

    [problem] = import_error(edited(exported, tmp_path, conflict), tmp_path).problems
    assert "序号 2 的“重点任务”与第" in problem


def test_unknown_action_and_unit(exported, tmp_path):
    def spoil(sheet):
        cols = columns(sheet)
        sheet.cell(row_of(sheet, "1.1"), cols["所属行动"]).value = "第七行动"
        sheet.cell(row_of(sheet, "2.1"), cols["填报范围"]).value = "653101,999999"

    problems = import_error(edited(exported, tmp_path, spoil), tmp_path).problems
    assert len(problems) == 2
    assert "“第七行动”不在“六大行动”表中" in problems[0]
    assert "未知单位“999999”" in problems[1] and "6531KF" in problems[1]


def test_every_problem_is_listed_at_once_in_english(exported, tmp_path):
    def spoil(sheet):
        cols = columns(sheet)
        sheet.cell(row_of(sheet, "4.1"), cols["方向"]).value = "up"
        sheet.cell(row_of(sheet, "5.1"), cols["2024年目标"]).value = "many"

    error = import_error(edited(exported, tmp_path, spoil), tmp_path, lang="en")
    assert len(error.problems) == 2
    text = str(error)
    assert "2 problem(s); fix them and import again" in text
    assert "(Direction): unknown value 'up'; allowed: higher is better, lower is better" in text
    assert "'many' is not a number" in text


def test_no_header_row(tmp_path):
    path = tmp_path / "empty.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "随便写点什么"
    book.save(path)
    message = str(import_error(path, tmp_path))
    assert "没有表头行" in message and "序号" in message


def test_missing_actions_sheet(exported, tmp_path):
    book = openpyxl.load_workbook(exported)
    del book["六大行动"]
    path = tmp_path / "no-actions.xlsx"
    book.save(path)
    assert "找不到工作表“六大行动”" in str(import_error(path, tmp_path))


def test_not_a_workbook(tmp_path):
    path = tmp_path / "清单.xlsx"
    path.write_text("序号,重点任务\n1,持续深化户籍制度改革\n", encoding="utf-8")
    assert "无法读取任务清单工作簿" in str(import_error(path, tmp_path))


def test_a_failed_import_leaves_the_previous_yaml(exported, tmp_path):
    dest = tmp_path / "tasklist.yaml"
    dest.write_text("previous\n", encoding="utf-8")
    path = edited(exported, tmp_path, lambda s: s.delete_cols(columns(s)["方向"]))
    with pytest.raises(WorkbookError):
        import_tasklist(path, dest)
    assert dest.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


# --- a real office suite --------------------------------------------------------

@pytest.mark.libreoffice
@pytest.mark.skipif(office.soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_saved_by_libreoffice_as_xls_and_ods(exported, bundled, tmp_path):
    converted = {}
    for fmt in ("xls", "ods"):  # one soffice start per format
        converted.update({fmt: office.convert([exported], fmt, tmp_path / fmt)[exported]})
    for fmt, path in converted.items():
        assert path is not None, f"LibreOffice produced no .{fmt}"
        assert import_tasklist(path, tmp_path / f"{fmt}.yaml") == bundled
