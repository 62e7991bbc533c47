"""`toolkit generate` and `toolkit targets` run in-process with CliRunner."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from toolkit import layout
from toolkit.allocation import CODES_ROW, FIRST_UNIT_COL, load_allocations
from toolkit.catalogue import t
from toolkit.cli import main
from toolkit.config import open_workspace
from toolkit.read import read_identity, read_values


def run(workspace, *args):
    return CliRunner().invoke(main, ["--workspace", str(workspace), *args])


def test_generate_every_unit_with_the_folder_and_count(tmp_path):
    result = run(tmp_path, "generate", "--period", "2024H1")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "outputs" / "2024H1" / "templates"
    files = sorted(folder.glob("*.xlsx"))
    assert len(files) == 13
    assert result.stdout.strip().splitlines()[-1] == t("cli.generate.done", count=13,
                                                       folder=folder)
    assert t("cli.generate.no_allocation", year=2024) in result.stderr


def test_generate_chosen_units_into_a_folder_in_english(tmp_path):
    out = tmp_path / "send"
    result = run(tmp_path, "generate", "-p", "2025Q3", "--unit", "莎车县", "-u", "6531KF",
                 "--out", str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["653125_莎车县_2025Q3.xlsx",
                                                     "6531KF_喀什经济开发区_2025Q3.xlsx"]
    assert result.stdout.strip().splitlines()[-1] == t("cli.generate.done", "en", count=2,
                                                       folder=out)
    reading = read_identity(read_values(out / "653125_莎车县_2025Q3.xlsx"))
    assert reading.consistent and reading.identity.lang == "en"
    assert reading.identity.period == "2025Q3"


@pytest.mark.parametrize("period", ["2024H3", "2023", "24H1", "2024-06"])
def test_generate_unknown_period_names_the_accepted_forms(tmp_path, period):
    result = run(tmp_path, "generate", "--period", period)
    assert result.exit_code == 2
    assert "YYYY, YYYYH1, YYYYH2, YYYYQ1..YYYYQ4" in result.output
    assert not (tmp_path / "outputs").exists()


def test_generate_unknown_unit_is_an_error_listing_the_units(tmp_path):
    result = run(tmp_path, "generate", "-p", "2024", "--unit", "乌鲁木齐市")
    assert result.exit_code == 1
    assert "乌鲁木齐市" in result.output and "653125 莎车县" in result.output
    assert not (tmp_path / "outputs").exists()


def test_generate_uses_the_config_password_and_deadline(tmp_path):
    (tmp_path / "toolkit.toml").write_text(
        '[protection]\npassword = "kashi"\n[periods]\n2024H1 = {deadline = 2024-07-20}\n',
        encoding="utf-8")
    result = run(tmp_path, "generate", "-p", "2024H1", "-u", "653101")
    assert result.exit_code == 0, result.output
    from openpyxl.utils.protection import hash_password

    path = tmp_path / "outputs" / "2024H1" / "templates" / "653101_喀什市_2024H1.xlsx"
    book = openpyxl.load_workbook(path)
    assert {ws.protection.password for ws in book.worksheets} == {hash_password("kashi")}
    text = "".join(str(c.value) for r in book.worksheets[0].iter_rows() for c in r)
    assert "2024-07-20" in text


def test_targets_export_fill_import_then_generate(tmp_path):
    export = tmp_path / "任务分解2024.xlsx"
    result = run(tmp_path, "targets", "--year", "2024", "--export", str(export))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == t("cli.targets.exported", year=2024, path=export)
    plan = open_workspace(tmp_path).tasklist
    ind = next(i for i in plan.indicators if i.aggregation == "sum" and i.target(2024)
               and len(plan.scope_units(i)) > 1)
    book = openpyxl.load_workbook(export)
    ws = book.worksheets[0]
    row = next(r for r in range(CODES_ROW + 1, ws.max_row + 1) if ws.cell(r, 1).value == ind.id)
    col = next(c for c in range(FIRST_UNIT_COL, ws.max_column + 1)
               if ws.cell(CODES_ROW, c).value == "653125")
    ws.cell(row, col).value = 1
    book.save(export)
    result = run(tmp_path, "targets", "--import", str(export))
    assert result.exit_code == 0, result.output  # a mismatch warns, it does not fail
    stored = load_allocations(tmp_path / "toolkit.db", 2024)
    assert stored[ind.id] == {"653125": 1.0}
    warning = t("alloc.warn.sum", indicator=ind.id, name=ind.name, total="1",
                target=f"{int(ind.target(2024)):,}")
    assert t("cli.targets.warning", message=warning) in result.stderr
    assert t("cli.targets.imported", year=2024, count=sum(map(len, stored.values()))) \
        in result.stdout
    result = run(tmp_path, "targets", "--year", "2024")
    assert result.exit_code == 0 and warning in result.stderr
    result = run(tmp_path, "generate", "-p", "2024H1", "-u", "653125")
    assert result.exit_code == 0
    assert t("cli.generate.no_allocation", year=2024) not in result.output
    sheet = read_values(tmp_path / "outputs" / "2024H1" / "templates" /
                        "653125_莎车县_2024H1.xlsx").sheet(t("layout.sheet.indicators"))
    row = next(r for r in range(layout.IND_FIRST_ROW, sheet.max_row + 1)
               if sheet.get(r, 1) == ind.id)
    assert sheet.get(row, layout.IND_COLS["allocated"]) == 1


def test_targets_import_of_a_malformed_sheet_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "各县市目标"
    book.save(bad)
    result = run(tmp_path, "targets", "--import", str(bad))
    assert result.exit_code == 1
    assert t("alloc.err.head", path=bad) in result.output
    assert t("alloc.err.no_header", label=t("alloc.col.id")) in result.output


def test_targets_usage_errors(tmp_path):
    result = run(tmp_path, "targets", "--export", str(tmp_path / "a.xlsx"))
    assert result.exit_code == 2 and t("cli.targets.need_year") in result.output
    result = run(tmp_path, "targets", "--year", "2030", "--export", str(tmp_path / "a.xlsx"))
    assert result.exit_code == 2 and "2030" in result.output
    result = run(tmp_path, "targets")
    assert result.exit_code == 2 and t("cli.targets.need_action") in result.output
    assert not (tmp_path / "a.xlsx").exists()


@pytest.mark.parametrize("command", ["generate", "targets"])
def test_help_has_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"toolkit {command} " in result.output
