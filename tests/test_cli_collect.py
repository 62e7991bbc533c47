"""``toolkit collect`` and ``toolkit status`` as the office runs them."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from collect_fixtures import (encrypted_workbook, make_workspace, message, template_bytes,
                              write, write_mbox)

from toolkit import ledger
from toolkit.cli import main
from toolkit.store import opened

CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws", deadline="2024-07-10")


@pytest.fixture
def inbox(tmp_path):
    root = tmp_path / "inbox"
    write(root / "喀什市.xlsx", template_bytes("653101"), mtime=dt.datetime(2024, 7, 9, 17))
    write(root / "加密.xlsx", encrypted_workbook())
    write(root / "说明.txt", "请查收".encode())
    write_mbox(root / "inbox.mbox", [message(
        "shule@example.cn", dt.datetime(2024, 7, 12, 9, 30, tzinfo=CST),
        [("疏勒县.xlsx", template_bytes("653122"))], "<late@example.cn>")])
    return root


def run(ws, *args):
    result = CliRunner().invoke(main, ["-w", str(ws.root), *map(str, args)])
    return result


def lines(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


def test_collect_prints_what_happened_to_each_file_and_the_counts(ws, inbox):
    result = run(ws, "collect", inbox, "-p", "2024H1")
    assert result.exit_code == 0, result.output
    out = lines(result.output)
    assert out[0].split() == ["文件", "来自", "单位", "状态", "说明"]
    rows = {line.split()[0]: line for line in out[2:5]}
    assert rows.keys() == {"喀什市.xlsx", "加密.xlsx", "疏勒县.xlsx"}
    assert out[5] == ""
    assert "喀什市  已接收" in rows["喀什市.xlsx"]
    assert rows["加密.xlsx"].endswith("拒收    文件已加密，请取消密码后重新报送")
    assert "shule@example.cn" in rows["疏勒县.xlsx"] and "疏勒县  已接收" in rows["疏勒县.xlsx"]
    assert "  说明.txt" in result.output and "不是工作簿，已跳过" in result.output
    assert out[-1] == "2024H1：收到 3 个文件，新登记 3 个；已接收 2，拒收 1"


def test_collecting_again_changes_nothing_and_says_so(ws, inbox):
    run(ws, "collect", inbox, "-p", "2024H1")
    result = run(ws, "collect", inbox, "-p", "2024H1")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "2024H1：收到 3 个文件，新登记 0 个；已接收 2，拒收 1"
    assert result.output.count("此前已收取") == 3


def test_collect_details_and_english(ws, inbox):
    result = run(ws, "--lang", "en", "collect", inbox, "-p", "2024H1", "--details")
    assert result.exit_code == 0
    assert "The file is password-protected: remove the password and resend it" in result.output
    assert lines(result.output)[-1].startswith("2024H1: 3 files received, 3 newly recorded;")


def test_collect_refuses_a_missing_path_and_a_bad_period(ws, tmp_path):
    missing = run(ws, "collect", tmp_path / "nowhere", "-p", "2024H1")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad = run(ws, "collect", tmp_path, "-p", "2024H3")
    assert bad.exit_code == 2 and "a half-year is H1 or H2" in bad.output


def test_status_one_row_per_unit(ws, inbox):
    run(ws, "collect", inbox, "-p", "2024H1")
    result = run(ws, "status", "-p", "2024H1")
    assert result.exit_code == 0, result.output
    out = lines(result.output)
    units = ws.tasklist.units
    table = out[2:2 + len(units)]
    assert [line.split()[0] for line in table] == [u.name for u in units]
    kashi = table[0].split()
    assert kashi == ["喀什市", "已接收", "2024-07-09", "17:00", "喀什市.xlsx", "—", "—", "按时", "1"]
    shule = next(line for line in table if line.startswith("疏勒县")).split()
    sent = dt.datetime(2024, 7, 12, 9, 30, tzinfo=CST).astimezone()  # shown in local time
    assert shule[1:] == ["已接收", *sent.strftime("%Y-%m-%d %H:%M").split(), "疏勒县.xlsx", "—",
                         "—", "逾期", "1"]
    assert next(line for line in table if line.startswith("疏附县")).split()[-2:] == [
        "逾期未报", "0"]
    assert out[-2] == ("2024H1（截止 2024-07-10）：13 个单位，已报 2，按时 1，逾期 1，未报 11")
    assert out[-1].startswith("另有 1 个文件无法归属单位")


def test_status_shows_validation_counts_and_json(ws, inbox):
    run(ws, "collect", inbox, "-p", "2024H1")
    with opened(ws.db_path) as conn:
        kashi = ledger.current(conn, "2024H1", "653101")
        ledger.set_status(conn, kashi.id, "invalid")
        conn.executemany("INSERT INTO issues (submission_id, severity, code, message) "
                         "VALUES (?, ?, 'X', 'm')", [(kashi.id, "error"), (kashi.id, "warning"),
                                                     (kashi.id, "warning")])
    result = run(ws, "status", "-p", "2024H1", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["period"] == "2024H1" and data["deadline"] == "2024-07-10"
    by_unit = {u["unit"]: u for u in data["units"]}
    assert len(by_unit) == 13
    assert (by_unit["653101"]["status"], by_unit["653101"]["errors"],
            by_unit["653101"]["warnings"]) == ("invalid", 1, 2)
    assert by_unit["653122"]["timeliness"] == "late" and by_unit["653122"]["errors"] is None
    assert by_unit["653121"]["status"] == "missing"
    assert [u["file"] for u in data["unattributed"]] == ["加密.xlsx"]
    table = run(ws, "status", "-p", "2024H1")
    kashi_line = next(line for line in lines(table.output) if line.startswith("喀什市"))
    assert kashi_line.split()[1] == "有错误" and kashi_line.split()[5:7] == ["1", "2"]


def test_status_before_anything_arrived(ws):
    result = run(ws, "status", "-p", "2024H1")
    assert result.exit_code == 0
    assert "13 个单位，已报 0，按时 0，逾期 0，未报 13" in result.output


def test_help_has_examples():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert "collect" in top.output and "status" in top.output
    for command in ("collect", "status"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Examples:" in result.output
        assert f"toolkit {command} " in result.output
