"""The task list loader: located errors, the bundled list against the plan, the fingerprint."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from toolkit.errors import TaskListError
from toolkit.tasklist import BUNDLED_TASKLIST, load_tasklist, load_units
from toolkit.tasklist_yaml import dump_tasklist_yaml

MINI = """\
plan:
  title: 测试方案
  years: [2024, 2025]
  version: "t1"

actions:
  - id: "1"
    title: 行动一

tasks:
  - id: "1"
    action: "1"
    title: 任务一
    lead: [地区发改委]
    implementers: [各县市人民政府]
    units: all
  - id: "2"
    action: "1"
    title: 任务二

indicators:
  - id: "1.1"
    task: "1"
    name: 指标一
    unit: 个
    kind: cumulative
    direction: higher
    targets: {2024: 10, 2025: 20}
    scope: all
    aggregation: sum
"""

INDICATOR_2 = """
  - id: "{id}"
    task: "{task}"
    name: 指标二
    unit: "%"
    kind: {kind}
    direction: {direction}
    targets: {targets}
    scope: counties
    aggregation: {aggregation}
"""


def indicator(id="1.2", task="1", kind="rate", direction="higher", aggregation="mean",
              targets="{2024: 50, 2025: 55}") -> str:
    return INDICATOR_2.format(id=id, task=task, kind=kind, direction=direction,
                              aggregation=aggregation, targets=targets)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line that contains ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def problems_of(tmp_path, text: str):
    path = tmp_path / "tasklist.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaskListError) as info:
        load_tasklist(path)
    return path, info.value


def test_mini_list_loads(tmp_path):
    path = tmp_path / "tasklist.yaml"
    path.write_text(MINI + indicator(), encoding="utf-8")
    tasklist = load_tasklist(path)
    assert [t.id for t in tasklist.tasks] == ["1", "2"]
    assert tasklist.indicator("1.2").target(2025) == 55


def test_duplicate_task_id(tmp_path):
    text = MINI.replace('  - id: "2"\n    action', '  - id: "1"\n    action')
    path, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert problem.file == str(path)
    assert problem.line == line_of(text, '- id: "1"', occurrence=3)
    assert "duplicate task id '1'" in problem.message
    first = line_of(text, '- id: "1"', occurrence=2)
    assert f"first used at line {first}" in problem.hint
    assert f"{path}:{problem.line}:" in str(error)


def test_duplicate_indicator_id(tmp_path):
    text = MINI + indicator(id="1.1")
    path, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert (problem.file, problem.line) == (str(path), line_of(text, '- id: "1.1"', 2))
    assert "duplicate indicator id '1.1'" in problem.message
    first = line_of(text, '- id: "1.1"')
    assert f"first used at line {first}" in problem.hint


def test_indicator_pointing_at_unknown_task(tmp_path):
    text = MINI + indicator(task="9")
    path, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert (problem.file, problem.line) == (str(path), line_of(text, '- id: "1.2"'))
    assert "unknown task '9'" in problem.message
    assert "tasks are numbered" in problem.hint


def test_target_for_a_year_outside_the_plan(tmp_path):
    text = MINI + indicator(targets="{2023: 40, 2025: 55}")
    path, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert (problem.file, problem.line) == (str(path), line_of(text, '- id: "1.2"'))
    assert "year 2023 outside the plan" in problem.message
    assert problem.hint == "plan years are 2024, 2025"


@pytest.mark.parametrize("field, bad, allowed", [
    ("kind", "amount", "cumulative, rate, milestone"),
    ("direction", "up", "higher, lower"),
    ("aggregation", "median", "sum, mean, min, max, weighted, none"),
])
def test_unknown_kind_direction_aggregation(tmp_path, field, bad, allowed):
    text = MINI + indicator(**{field: bad})
    path, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert (problem.file, problem.line) == (str(path), line_of(text, '- id: "1.2"'))
    assert f"unknown {field} '{bad}'" in problem.message
    assert problem.hint == f"use one of {allowed}"


def test_every_problem_is_reported_at_once(tmp_path):
    text = MINI + indicator(task="9", kind="amount")
    _, error = problems_of(tmp_path, text)
    messages = " | ".join(p.message for p in error.problems)
    assert "unknown task '9'" in messages and "unknown kind 'amount'" in messages


def test_an_entry_that_is_not_a_mapping_is_a_problem_not_a_crash(tmp_path):
    text = MINI.replace("tasks:\n", "tasks:\n  - just a line of text\n", 1) + indicator()
    _, error = problems_of(tmp_path, text)
    [problem] = [p for p in error.problems if "not a mapping" in p.message]
    assert "entry 1 of `tasks:`" in problem.message and "'just a line of text'" in problem.message
    first_task = line_of(text, "just a line of text") + 1
    assert problem.line == first_task and f"before line {first_task}" in problem.message
    assert "- id:" in problem.hint


@pytest.mark.parametrize("bad", ["yes", "true", "no"])
def test_a_yes_or_no_target_is_not_a_number(tmp_path, bad):
    text = MINI + indicator(targets=f"{{2024: {bad}, 2025: 55}}")
    _, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert "is not a number" in problem.message


def test_unit_code_twice_in_units_file(tmp_path):
    text = ('units:\n'
            '  - {code: "653101", name: 喀什市}\n'
            '  - {code: "653121", name: 疏附县}\n'
            '  - {code: "653101", name: 喀什市二}\n')
    path = tmp_path / "units.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaskListError) as info:
        load_units(path)
    [problem] = info.value.problems
    assert (problem.file, problem.line) == (str(path), 4)
    assert "unit code 653101 appears twice" in problem.message
    assert problem.hint == "first at line 2; codes must be unique"


def test_invalid_yaml_names_its_line(tmp_path):
    text = MINI.replace("targets: {2024: 10, 2025: 20}", "targets: {2024: 10, 2025: 20")
    path, error = problems_of(tmp_path, text)
    [problem] = error.problems
    assert problem.file == str(path)
    # PyYAML notices the unclosed flow mapping where the next key starts
    assert line_of(text, "targets:") <= problem.line <= line_of(text, "scope: all")
    assert "not valid YAML" in problem.message
    assert "indentation" in problem.hint


def test_a_list_saved_in_another_encoding_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "tasklist.yaml"
    path.write_bytes(MINI.encode("gb18030"))
    with pytest.raises(TaskListError) as info:
        load_tasklist(path)
    [problem] = info.value.problems
    assert "not UTF-8" in problem.message and "UTF-8" in problem.hint


# --- the bundled list against the plan ---------------------------------------

@pytest.fixture(scope="module")
def bundled():
    return load_tasklist()


def test_counts(bundled):
    assert [a.id for a in bundled.actions] == [str(n) for n in range(1, 7)]
    assert [t.id for t in bundled.tasks] == [str(n) for n in range(1, 27)]
    assert len(bundled.units) == 13
    assert {u.code for u in bundled.units} >= {"653101", "653125", "653131"}
    assert [u.kind for u in bundled.units].count("zone") == 1


@pytest.mark.parametrize("task_id, title", [
    ("1", "持续深化户籍制度改革"),
    ("2", "提升基本公共教育服务水平"),
    ("9", "推进“喀什城市圈”一体化发展"),
    ("11", "推动莎车副中心城市建设"),
    ("19", "推进绿色低碳发展"),
    ("26", "促进人才入乡就业创业"),
])
def test_task_titles_as_in_the_plan(bundled, task_id, title):
    assert bundled.task(task_id).title == title


def test_action_titles_as_in_the_plan(bundled):
    assert bundled.actions[0].title == "实施农业转移人口市民化质量提升行动"
    assert bundled.actions[1].title == "产城融合发展效能提升行动"
    assert bundled.actions[5].title == "实施城乡融合发展水平提升行动"


def one(tasklist, task: str, name: str):
    """The one indicator of ``task`` whose name contains ``name``."""
    found = [i for i in tasklist.indicators if i.task == task and name in i.name]
    assert len(found) == 1, [i.name for i in found]
    return found[0]


@pytest.mark.parametrize("task, name, unit, t2024, t2025", [
    ("2", "新增义务教育学位", "个", 18600, 12800),  # 1.86万个 / 1.28万个
    ("6", "规上工业增加值", "元", 7_600_000_000, 10_000_000_000),  # 76亿元 / 100亿元
    ("4", "养老机构护理型床位占比", "%", 50, 55),
    ("5", "城镇新增就业", "人", 75000, None),  # 2024年…7.5万人以上
    ("19", "污水处理率", "%", 97, 97),  # 保持97%以上: no year, holds for both
    ("8", "专项行动", "项", 18, 18),  # 喀什市…确定的18个专项行动
    ("23", "老年人人均面积", "平方米", 0.1, 0.1),  # 按照老年人人均不少于0.1平方米的要求
])
def test_targets_as_in_the_plan(bundled, task, name, unit, t2024, t2025):
    ind = one(bundled, task, name)
    assert ind.unit == unit
    assert (ind.target(2024), ind.target(2025)) == (t2024, t2025)


def test_garden_city_creations_belong_to_the_counties_the_plan_names(bundled):
    national = one(bundled, "16", "创建国家园林城市")
    names = {bundled.unit(code).name for code in national.scope}
    assert names == {"喀什市", "英吉沙县", "麦盖提县", "叶城县", "疏勒县"}
    assert one(bundled, "16", "泽普县").scope == ("653124",)
    assert one(bundled, "21", "国土空间规划报批").scope == "counties"


def test_shache_targets_are_its_own(bundled):
    ind = one(bundled, "11", "工业总产值")
    assert ind.scope == ("653125",)
    assert bundled.unit("653125").name == "莎车县"
    assert ind.target(2025) == 7_000_000_000
    assert ind in bundled.indicators_for("653125")
    assert ind not in bundled.indicators_for("653101")


_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿)?")
_SCALE = {None: 1, "万": 10_000, "亿": 100_000_000}
# Targets the plan states in words rather than digits.
_WORDS = {"全面": Decimal(100), "全覆盖": Decimal(100), "无": Decimal(0)}


def numbers_in(phrase: str) -> set[Decimal]:
    found = set()
    for match in _NUMBER.finditer(phrase):
        found.add(Decimal(match[1]) * _SCALE[match[2]])
    found.update(v for word, v in _WORDS.items() if word in phrase)
    return found


def test_numbers_in_handles_wan_and_yi():
    assert numbers_in("新增义务教育学位数1.86万个") == {Decimal(18600)}
    assert numbers_in("规上工业增加值76亿元…14.8亿元") == {Decimal(7_600_000_000),
                                                    Decimal(1_480_000_000)}


def test_every_target_appears_in_its_own_source_phrase(bundled):
    wrong = []
    for ind in bundled.indicators:
        assert ind.source, f"indicator {ind.id} has no source phrase"
        if ind.kind == "milestone":  # done / not done: 1 in the year it is due
            if not {v for _, v in ind.targets} <= {1, None}:
                wrong.append((ind.id, ind.targets))
            continue
        found = numbers_in(ind.source)
        for year, value in ind.targets:
            if value is not None and Decimal(str(value)) not in found:
                wrong.append((ind.id, year, value, ind.source))
    assert not wrong


def test_every_indicator_has_a_target_and_a_known_task(bundled):
    task_ids = {t.id for t in bundled.tasks}
    for ind in bundled.indicators:
        assert ind.task in task_ids
        assert any(v is not None for _, v in ind.targets), ind.id
        if ind.aggregation == "weighted":
            assert ind.weight in {i.id for i in bundled.indicators}


# --- fingerprint ---------------------------------------------------------------

def test_fingerprint_is_stable_across_loads(bundled):
    again = load_tasklist(BUNDLED_TASKLIST)
    assert again == bundled
    assert again.fingerprint() == bundled.fingerprint()
    assert re.fullmatch(r"[0-9a-f]{12}", bundled.fingerprint())


def test_fingerprint_changes_when_a_target_is_edited(tmp_path, bundled):
    text = dump_tasklist_yaml(bundled)
    path = tmp_path / "tasklist.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_tasklist(path).fingerprint() == bundled.fingerprint()
    edited, count = re.subn(r"targets: \{2024: 18600,", "targets: {2024: 18700,", text)
    assert count == 1
    path.write_text(edited, encoding="utf-8")
    changed = load_tasklist(path)
    assert changed.fingerprint() != bundled.fingerprint()
    assert changed != bundled


def test_fingerprint_ignores_comments_and_text(tmp_path, bundled):
    text = "# a comment the office added\n" + dump_tasklist_yaml(bundled)
    path = tmp_path / "tasklist.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_tasklist(path).fingerprint() == bundled.fingerprint()


def test_dump_reads_back_equal(tmp_path, bundled):
    path = tmp_path / "tasklist.yaml"
    path.write_text(dump_tasklist_yaml(bundled), encoding="utf-8")
    assert load_tasklist(path) == bundled


@pytest.mark.parametrize("text", ["两行\n文本", "  行首空格", "行尾空格  ", "制表\t符", "",
                                  "# 不是注释", "一是…\n\n二是…", "全角\u3000空格"])
def test_dump_keeps_task_text_that_cannot_be_folded(tmp_path, bundled, text):
    task = replace(bundled.tasks[0], text=text)
    changed = replace(bundled, tasks=(task, *bundled.tasks[1:]))
    path = tmp_path / "tasklist.yaml"
    path.write_text(dump_tasklist_yaml(changed), encoding="utf-8")
    assert load_tasklist(path).tasks[0].text == text
