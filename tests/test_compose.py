"""Composing the office's e-mail: Chinese that survives the wire, and words that fit the day."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from mailkit import addresses, attachments, parse, write_workbook

from toolkit import compose
from toolkit.compose import Attachment, IssueLine, Letterhead, Standing, message_bytes
from toolkit.errors import MailError
from toolkit.model import Unit
from toolkit.periods import parse_period

PLAN = "喀什地区推进新型城镇化行动方案（2024—2025年）"
DEADLINE = dt.date(2024, 7, 10)
TASHKURGAN = Unit("653131", "塔什库尔干塔吉克自治县", "county", ("tx@example.cn",))


def head(lang="zh", today=dt.date(2024, 6, 20), **kw):
    return Letterhead(PLAN, parse_period("2024H1"), DEADLINE, kw.pop("sender",
                      "office@example.gov.cn"), lang=lang, today=today, **kw)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    path = write_workbook(tmp_path_factory.mktemp("wb") / "653131_塔什库尔干塔吉克自治县_2024H1.xlsx")
    return Attachment(path.name, path.read_bytes())


def header_lines(raw: bytes) -> list[bytes]:
    """Every header line of every part (up to each part's blank line)."""
    out, in_headers = [], True
    for line in raw.split(b"\r\n"):
        if line.startswith(b"--==="):
            in_headers = True
            continue
        if in_headers and line == b"":
            in_headers = False
            continue
        if in_headers:
            out.append(line)
    return out


def test_template_message_names_plan_unit_period_and_deadline_in_chinese(workbook):
    msg = parse(message_bytes(compose.template_message(head(), TASHKURGAN,
                                                         TASHKURGAN.emails, workbook)))
    subject = str(msg["Subject"])
    for text in (PLAN, "塔什库尔干塔吉克自治县", "2024年上半年", "2024年7月10日"):
        assert text in subject
    body = msg.get_body(("plain",)).get_content()
    for text in (PLAN, "塔什库尔干塔吉克自治县", "2024年上半年", "2024年7月10日", "回复本邮件"):
        assert text in body


def test_english_on_request(workbook):
    msg = parse(message_bytes(compose.template_message(head("en"), TASHKURGAN,
                                                         TASHKURGAN.emails, workbook)))
    assert str(msg["Subject"]).startswith(f"[{PLAN}] 2024 H1 report template")
    assert "2024-07-10" in str(msg["Subject"])
    assert "Please fill it in" in msg.get_body(("plain",)).get_content()


def test_headers_are_ascii_encoded_words_folded_under_78_columns(workbook):
    raw = message_bytes(compose.template_message(head(), TASHKURGAN, TASHKURGAN.emails,
                                                 workbook))
    lines = header_lines(raw)
    assert len([x for x in lines if b"=?utf-8?" in x]) >= 5  # Subject, From, name: folded
    for line in lines:
        assert line.isascii(), line
        if b"=?utf-8?" in line or b"%E5" in line:
            assert len(line) <= 78, line
        assert len(line) <= 80, line  # only the xlsx media type itself runs past 78
    assert re.search(rb"^Subject: =\?utf-8\?b\?", raw, re.M)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout


def test_attachment_name_is_rfc2231_with_an_rfc2047_name_for_older_readers(workbook):
    raw = message_bytes(compose.template_message(head(), TASHKURGAN, TASHKURGAN.emails,
                                                 workbook))
    assert b"filename*0*=utf-8''653131_%E5%A1%94" in raw  # RFC 2231, percent-encoded UTF-8
    assert b'name="=?utf-8?b?' in raw  # RFC 2047 words in Content-Type
    msg = parse(raw)
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == workbook.filename
    assert part.get_content_type() == compose.MIME_TYPES[".xlsx"][0] + "/" + \
        compose.MIME_TYPES[".xlsx"][1]
    assert part.get_content() == workbook.data
    # a reader that only knows the Content-Type name gets the same name
    assert part["Content-Type"].params["name"] == workbook.filename


def test_body_survives_servers_without_8bit(workbook):
    raw = message_bytes(compose.template_message(head(), TASHKURGAN, TASHKURGAN.emails,
                                                 workbook))
    assert raw.isascii()


def test_reply_to_is_the_office_and_to_the_unit_contacts(workbook):
    contacts = ("a@tx.example.cn", "b@tx.example.cn")
    msg = parse(message_bytes(compose.template_message(
        head(sender="城镇化办 <office@example.gov.cn>"), TASHKURGAN, contacts, workbook)))
    assert addresses(msg["To"]) == list(contacts)
    assert addresses(msg["Reply-To"]) == ["office@example.gov.cn"]
    assert msg["From"].addresses[0].display_name == "城镇化办"
    assert msg["X-Report-Unit"] == "653131" and msg["X-Report-Period"] == "2024H1"


def test_message_ids_are_unique_and_carry_the_office_domain(workbook):
    ids = {str(compose.template_message(head(), TASHKURGAN, TASHKURGAN.emails,
                                        workbook)["Message-ID"]) for _ in range(5)}
    assert len(ids) == 5
    for mid in ids:
        assert re.fullmatch(r"<[^<>@\s]+@example\.gov\.cn>", mid)


def test_oversized_attachment_is_refused_with_its_name_and_the_limit():
    big = Attachment("653101_喀什市_2024H1.xlsx", b"x" * (2 * 1024 * 1024))
    with pytest.raises(MailError) as err:
        compose.template_message(head(max_attachment_mb=1), TASHKURGAN, TASHKURGAN.emails, big)
    assert "653101_喀什市_2024H1.xlsx" in str(err.value)
    assert "2.0 MB" in str(err.value) and "1 MB" in str(err.value)
    assert "max_attachment_mb" in str(err.value)


def test_feedback_lists_what_to_fix_errors_first(workbook):
    issues = [IssueLine("warning", "与其他单位差异较大，请核实：12000", "指标填报", "F12"),
              IssueLine("error", "不能为负数：-3，请填写 0 或正数", "指标填报", "F9"),
              IssueLine("error", "进展状态必须从下拉列表中选择", "任务进展", "E7")]
    msg = parse(message_bytes(compose.feedback_message(head(), TASHKURGAN, TASHKURGAN.emails,
                                                       workbook, issues)))
    body = msg.get_body(("plain",)).get_content()
    assert "2 处错误、1 处需要核实的提示" in body
    first = body.index("“指标填报”表 F9 单元格：不能为负数：-3")
    second = body.index("“任务进展”表 E7 单元格：进展状态必须从下拉列表中选择")
    third = body.index("“指标填报”表 F12 单元格：与其他单位差异较大")
    assert first < second < third
    assert "退回修改" in str(msg["Subject"])
    assert attachments(msg) == {workbook.filename: workbook.data}


def test_feedback_lists_a_long_list_in_part_and_points_to_the_workbook(workbook):
    issues = [IssueLine("error", f"问题 {n}", "指标填报", f"F{n}") for n in range(1, 61)]
    body = parse(message_bytes(compose.feedback_message(
        head(), TASHKURGAN, TASHKURGAN.emails, workbook, issues))).get_body().get_content()
    assert f"F{compose.MAX_ISSUE_LINES} 单元格" in body
    assert f"F{compose.MAX_ISSUE_LINES + 1} 单元格" not in body
    assert f"另有 {60 - compose.MAX_ISSUE_LINES} 处，见附件" in body


def test_feedback_after_the_deadline_asks_for_it_as_soon_as_possible(workbook):
    late = compose.feedback_message(head(today=dt.date(2024, 7, 15)), TASHKURGAN,
                                    TASHKURGAN.emails, workbook, [])
    body = parse(message_bytes(late)).get_body().get_content()
    assert "已过" in body and "尽快" in body


@pytest.mark.parametrize("today,stage,days", [
    (dt.date(2024, 6, 20), "upcoming", 20),
    (dt.date(2024, 7, 7), "near", 3),
    (dt.date(2024, 7, 10), "today", 0),
    (dt.date(2024, 7, 13), "overdue", 3),
])
def test_deadline_stage(today, stage, days):
    assert compose.deadline_stage(DEADLINE, today) == (stage, days)


@pytest.mark.parametrize("today,subject_has,body_has", [
    (dt.date(2024, 6, 20), "【提醒】", "请按时报送"),
    (dt.date(2024, 7, 8), "【催报】", "还有 2 天"),
    (dt.date(2024, 7, 10), "【催报】", "今天"),
    (dt.date(2024, 7, 15), "已逾期", "已过 5 天"),
])
def test_reminder_wording_follows_the_deadline(today, subject_has, body_has):
    msg = parse(message_bytes(compose.reminder_message(
        head(today=today), TASHKURGAN, TASHKURGAN.emails, Standing("653131", "missing"))))
    assert subject_has in str(msg["Subject"])
    body = msg.get_body().get_content()
    assert body_has in body
    assert "尚未收到" in body
    assert not list(msg.iter_attachments())


def test_reminder_for_an_invalid_report_says_so_and_counts_errors():
    standing = Standing("653131", "invalid", "塔县报表.xlsx", errors=4)
    msg = parse(message_bytes(compose.reminder_message(
        head(today=dt.date(2024, 7, 12)), TASHKURGAN, TASHKURGAN.emails, standing)))
    assert "未通过校验" in str(msg["Subject"]) and "已逾期" in str(msg["Subject"])
    body = msg.get_body().get_content()
    assert "塔县报表.xlsx" in body and "4 处错误" in body


def test_reminder_to_a_missing_unit_carries_its_template_again(workbook):
    msg = parse(message_bytes(compose.reminder_message(
        head(), TASHKURGAN, TASHKURGAN.emails, Standing("653131", "missing"), workbook,
        in_reply_to="<t1@example.gov.cn>")))
    assert attachments(msg) == {workbook.filename: workbook.data}
    assert "再次附上" in msg.get_body().get_content()
    assert msg["In-Reply-To"] == "<t1@example.gov.cn>"
    assert msg["References"] == "<t1@example.gov.cn>"


def test_reminder_subject_differs_by_stage_and_state():
    subjects = {compose.reminder_subject(head(today=day), TASHKURGAN, Standing("653131", state))
                for day in (dt.date(2024, 6, 1), dt.date(2024, 7, 9), dt.date(2024, 7, 11))
                for state in ("missing", "invalid")}
    assert len(subjects) == 6
    # the day and the deadline's nearness do not change it within a stage
    assert compose.reminder_subject(head(today=dt.date(2024, 7, 11)), TASHKURGAN,
                                    Standing("653131", "missing")) == \
        compose.reminder_subject(head(today=dt.date(2024, 8, 30)), TASHKURGAN,
                                 Standing("653131", "missing"))


def test_summary_says_who_reported_and_who_did_not(workbook):
    standings = [Standing("653101", "ok"), Standing("653121", "ok"),
                 Standing("653122", "invalid", "x.xlsx", 2), Standing("653123", "missing"),
                 Standing("653124", "missing")]
    names = {"653101": "喀什市", "653121": "疏附县", "653122": "疏勒县",
             "653123": "英吉沙县", "653124": "泽普县"}
    msg = parse(message_bytes(compose.summary_message(head(), ["lead@example.gov.cn"],
                                                      (workbook,), standings, names)))
    body = msg.get_body().get_content()
    assert "应报 5 个单位，已报送 3 个（通过校验 2 个，未通过 1 个），未报送 2 个" in body
    assert "未报送单位：英吉沙县、泽普县" in body
    assert "未通过校验单位：疏勒县" in body
    assert "汇总表" in str(msg["Subject"])
    assert msg["X-Report-Unit"] is None
