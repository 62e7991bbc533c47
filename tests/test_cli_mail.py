"""``toolkit mail`` on the command line."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner
from mailkit import (add_submission, cached_tasklists, mail_log, parse,  # noqa: F401
                     write_config, write_workbook)

from toolkit.cli import main

pytestmark = pytest.mark.usefixtures("cached_tasklists")
CONTACTS = {"653101": ["kashi@example.cn"], "653121": ["shufu@example.cn"]}


@pytest.fixture
def ws(tmp_path):
    write_config(tmp_path, units=CONTACTS, deadlines={"2024H1": "2024-07-10"})
    for code, name in (("653101", "喀什市"), ("653121", "疏附县"), ("653122", "疏勒县")):
        write_workbook(tmp_path / "outputs" / "2024H1" / "templates" / f"{code}_{name}_2024H1.xlsx")
    return tmp_path


def run(root, *args):
    return CliRunner().invoke(main, ["--workspace", str(root), "mail", *args])


def test_dry_run_prints_one_line_per_message_and_the_counts(ws):
    result = run(ws, "templates", "--period", "2024H1", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    kashi = next(x for x in lines if x.startswith("653101 喀什市"))
    assert "已写入" in kashi and "kashi@example.cn" in kashi and "templates_653101.eml" in kashi
    shule = next(x for x in lines if x.startswith("653122 疏勒县"))
    assert "未发送" in shule and "没有联系邮箱" in shule
    yjs = next(x for x in lines if x.startswith("653123 英吉沙县"))
    assert "没有该单位的填报模板" in yjs
    assert "填报模板：已发送 0，写入发件箱 2，跳过 0，未发送 11，失败 0" in result.output
    assert str(ws / "outputs" / "2024H1" / "outbox") in result.output
    assert len(list((ws / "outputs" / "2024H1" / "outbox").glob("*.eml"))) == 2


def test_rerun_skips_and_resend_sends_again(ws):
    run(ws, "templates", "-p", "2024H1", "--dry-run")
    again = run(ws, "templates", "-p", "2024H1", "--dry-run")
    assert "写入发件箱 0，跳过 2" in again.output
    assert "--resend" in next(x for x in again.output.splitlines() if x.startswith("653101"))
    resent = run(ws, "templates", "-p", "2024H1", "--dry-run", "--resend")
    assert "写入发件箱 2，跳过 0" in resent.output
    assert len(mail_log(ws / "toolkit.db")) == 4


def test_without_a_host_it_says_it_writes_the_outbox(ws):
    result = run(ws, "templates", "-p", "2024H1")
    assert result.exit_code == 0
    assert result.output.startswith("toolkit.toml 未配置 [smtp] host，改为写入发件箱")


def test_english(ws):
    result = run(ws, "templates", "-p", "2024H1", "--dry-run", "--lang", "en")
    assert "templates: 0 sent, 2 written to the outbox, 0 skipped, 11 not sent, 0 failed" \
        in result.output
    eml = ws / "outputs" / "2024H1" / "outbox" / "templates_653101.eml"
    assert "report template" in str(parse(eml)["Subject"])


def test_reminders_count_from_the_given_day(ws):
    add_submission(ws / "toolkit.db", "2024H1", "653101", "valid")
    result = run(ws, "reminders", "-p", "2024H1", "--dry-run", "--today", "2024-07-15")
    assert result.exit_code == 0, result.output
    assert "催报：已发送 0，写入发件箱 1" in result.output
    msg = parse(ws / "outputs" / "2024H1" / "outbox" / "reminders_653121.eml")
    assert "已逾期" in str(msg["Subject"])


def test_an_unreachable_server_exits_non_zero_with_the_reason(ws):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(ws, units=CONTACTS, smtp={"host": "127.0.0.1", "port": port,
                                           "security": "none"})
    result = run(ws, "templates", "-p", "2024H1")
    assert result.exit_code == 1
    assert f"Error: MailError: 无法连接邮件服务器 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    assert mail_log(ws / "toolkit.db") == []


def test_missing_inputs_say_what_to_run(ws):
    result = run(ws, "summary", "-p", "2024H1")
    assert result.exit_code == 1
    assert "toolkit merge -p 2024H1" in result.output


def test_unknown_kind_and_period_are_usage_errors(ws):
    assert run(ws, "letters", "-p", "2024H1").exit_code == 2
    bad = run(ws, "templates", "-p", "2024H3")
    assert bad.exit_code == 2 and "--period" in bad.output


def test_help_has_examples():
    result = CliRunner().invoke(main, ["mail", "--help"])
    assert result.exit_code == 0
    assert "toolkit mail templates -p 2024H1 --dry-run" in result.output
    for kind in ("templates", "feedback", "reminders", "summary"):
        assert kind in result.output


def test_the_command_knows_every_kind_compose_knows():
    from toolkit.cli.mail import KINDS
    from toolkit.compose import KINDS as COMPOSED

    assert KINDS == COMPOSED
