"""`toolkit validate` and `toolkit feedback`, run in-process with CliRunner."""

from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner
from validation_helpers import (PERIOD, UNIT, actual_cell, fill, first, make_template, submit,
                                tasklist, workspace_with_contacts)

from toolkit.catalogue import t
from toolkit.cli import main

PLAN = tasklist()
OTHER = "653122"  # 疏勒县
PCT = first(PLAN, OTHER, lambda i: i.is_percent)
COUNT = first(PLAN, UNIT, lambda i: i.kind == "cumulative" and i.unit in ("个", "所", "人"))


def run(workspace, *args):
    return CliRunner().invoke(main, ["--workspace", str(workspace.root), *args])


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """喀什市 sent a workbook with a warning, 疏勒县 one with an error; 11 units are missing."""
    root = tmp_path_factory.mktemp("cli")
    ws = workspace_with_contacts(root / "ws")
    submit(ws, fill(make_template(root), root / "kashi.xlsx", actual={COUNT.id: "1,234"}))
    submit(ws, fill(make_template(root, unit=OTHER), root / "疏勒县.xlsx", unit=OTHER,
                    actual={PCT.id: 150}))
    return ws


def test_validate_prints_a_row_per_unit_writes_the_workbook_and_exits_1_on_errors(office):
    result = run(office, "validate", "--period", PERIOD)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    kashi = next(line for line in lines if line.startswith(f"{UNIT} 喀什市"))
    shule = next(line for line in lines if line.startswith(f"{OTHER} 疏勒县"))
    assert kashi.split()[2:5] == ["有警告", "0", "1"]
    assert shule.split()[2:5] == ["有错误", "1", "0"]
    assert sum(line.split()[2:3] == ["未报送"] for line in lines) == len(PLAN.units) - 2
    assert t("cli.validate.totals", submissions=2, valid=0, warnings=1, invalid=1,
             missing=len(PLAN.units) - 2) in lines
    workbook = office.period_dir(PERIOD) / f"validation_{PERIOD}.xlsx"
    assert lines[-1] == t("cli.validate.workbook", path=workbook)
    assert openpyxl.load_workbook(workbook).sheetnames == ["单位情况", "全部问题"]


def test_validate_writes_json_of_the_documented_shape(office, tmp_path):
    out = tmp_path / "issues.json"
    result = run(office, "validate", "-p", PERIOD, "--json", str(out))
    assert result.exit_code == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["period"] == PERIOD
    assert sorted((s["unit"], s["file"], s["status"]) for s in data["submissions"]) == [
        (UNIT, "kashi.xlsx", "warnings"), (OTHER, "疏勒县.xlsx", "invalid")]
    by_code = {i["code"]: i for i in data["issues"]}
    assert set(by_code) == {"W-TEXT-NUMBER", "E-PERCENT-OVER-100"}
    error = by_code["E-PERCENT-OVER-100"]
    assert {k: error[k] for k in ("severity", "unit", "file", "sheet", "cell", "indicator",
                                  "value")} == {
        "severity": "error", "unit": OTHER, "file": "疏勒县.xlsx", "sheet": "指标填报",
        "cell": actual_cell(OTHER, PCT.id), "indicator": PCT.id, "value": "150"}
    assert "疏勒县.xlsx" in error["message"] and actual_cell(OTHER, PCT.id) in error["message"]


def test_validate_json_to_standard_output_alone(office):
    result = run(office, "validate", "-p", PERIOD, "--json", "-", "--lang", "en")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    warning = next(i for i in data["issues"] if i["code"] == "W-TEXT-NUMBER")
    assert "read as the number 1234" in warning["message"]
    assert "invalid" in result.stderr


def test_feedback_writes_one_workbook_per_unit_with_problems(office):
    run(office, "validate", "-p", PERIOD)
    result = run(office, "feedback", "-p", PERIOD)
    assert result.exit_code == 0, result.output
    folder = office.period_dir(PERIOD) / "feedback"
    files = sorted(folder.glob("*.xlsx"))
    assert [f.name for f in files] == [f"{UNIT}_喀什市_{PERIOD}_问题反馈.xlsx",
                                       f"{OTHER}_疏勒县_{PERIOD}_问题反馈.xlsx"]
    assert result.stdout.splitlines() == [
        t("cli.feedback.written", path=folder / f"{UNIT}_喀什市_{PERIOD}_问题反馈.xlsx",
          unit=f"{UNIT} 喀什市", errors=0, warnings=1),
        t("cli.feedback.written", path=folder / f"{OTHER}_疏勒县_{PERIOD}_问题反馈.xlsx",
          unit=f"{OTHER} 疏勒县", errors=1, warnings=0)]


def test_validate_exits_0_when_nothing_is_wrong(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")
    submit(ws, fill(make_template(tmp_path), tmp_path / "ok.xlsx"))
    result = run(ws, "validate", "-p", PERIOD)
    assert result.exit_code == 0, result.output
    assert t("cli.validate.totals", submissions=1, valid=1, warnings=0, invalid=0,
             missing=len(PLAN.units) - 1) in result.stdout
    feedback = run(ws, "feedback", "-p", PERIOD)
    assert feedback.stdout.strip() == t("cli.feedback.none", period=PERIOD)


def test_validate_with_nothing_collected_says_so(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")
    result = run(ws, "validate", "-p", PERIOD)
    assert result.exit_code == 0
    assert t("cli.validate.none", period=PERIOD) in result.stderr


def test_a_bad_period_is_refused_with_the_accepted_forms(tmp_path):
    ws = workspace_with_contacts(tmp_path / "ws")
    result = run(ws, "validate", "-p", "2024H3")
    assert result.exit_code == 2 and "2024H1" in result.output
