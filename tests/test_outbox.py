"""Dry runs and workspaces without a mail server: .eml files in outputs/<PERIOD>/outbox/."""

from __future__ import annotations

import datetime as dt

import pytest
from mailkit import (CONTACTS, NAMES, add_submission, addresses, attachments,  # noqa: F401
                     cached_tasklists, county_reply, mail_log, parse, supersede, write_config,
                     write_reply, write_workbook)

from toolkit.catalogue import t
from toolkit.config import open_workspace
from toolkit.errors import MailError
from toolkit.mailer import send_mail
from toolkit.periods import parse_period

pytestmark = pytest.mark.usefixtures("cached_tasklists")
P = parse_period("2024H1")


def make_workspace(root, units=CONTACTS, templates=tuple(CONTACTS), **config):
    config.setdefault("summary_to", ("lead@example.gov.cn",))
    config.setdefault("deadlines", {"2024H1": "2024-07-10"})
    write_config(root, units=units, **config)
    for code in templates:
        write_workbook(root / "outputs" / "2024H1" / "templates" /
                       f"{code}_{NAMES[code]}_2024H1.xlsx", text=NAMES[code])
    return open_workspace(root)


def outbox(ws):
    folder = ws.period_dir(P) / "outbox"
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def by_status(report, status):
    return {o.unit_code for o in report.outcomes if o.status == status}


def test_dry_run_writes_eml_files_that_parse_back(tmp_path):
    ws = make_workspace(tmp_path)
    report = send_mail(ws, "templates", P, dry_run=True)
    assert by_status(report, "written") == set(CONTACTS)
    files = outbox(ws)
    assert len(files) == 3
    log = {row["unit_code"]: row for row in mail_log(ws.db_path)}
    for path in files:
        msg = parse(path)
        code = msg["X-Report-Unit"]
        assert addresses(msg["To"]) == CONTACTS[code]
        template = ws.period_dir(P) / "templates" / f"{code}_{NAMES[code]}_2024H1.xlsx"
        assert attachments(msg) == {template.name: template.read_bytes()}
        assert str(msg["Subject"]) == log[code]["subject"]
        assert NAMES[code] in str(msg["Subject"])
        assert str(msg["Message-ID"]) == log[code]["message_id"]
        assert log[code]["transport"] == "outbox"
        assert log[code]["recipients"] == ", ".join(CONTACTS[code])
        assert msg["X-Unsent"] == "1"  # opens as a draft in Outlook
    assert not list((ws.period_dir(P) / "outbox").glob("*.part"))


def test_without_a_host_the_outbox_is_the_default(tmp_path):
    ws = make_workspace(tmp_path)
    report = send_mail(ws, "templates", P)
    assert report.transport == "outbox"
    assert len(outbox(ws)) == 3


def test_dry_run_never_touches_a_configured_server(tmp_path):
    # a host on a port where nothing listens: a real attempt would fail
    ws = make_workspace(tmp_path, smtp={"host": "127.0.0.1", "port": 9, "security": "none"})
    report = send_mail(ws, "templates", P, dry_run=True)
    assert by_status(report, "written") == set(CONTACTS)


def test_rerun_writes_nothing_twice_unless_resend(tmp_path):
    ws = make_workspace(tmp_path)
    send_mail(ws, "templates", P, dry_run=True)
    first = {p: p.read_bytes() for p in outbox(ws)}
    again = send_mail(ws, "templates", P, dry_run=True)
    assert by_status(again, "skipped") == set(CONTACTS)
    assert {p: p.read_bytes() for p in outbox(ws)} == first
    assert len(mail_log(ws.db_path)) == 3
    resent = send_mail(ws, "templates", P, dry_run=True, resend=True)
    assert by_status(resent, "written") == set(CONTACTS)
    files = outbox(ws)
    assert len(files) == 6
    for path, data in first.items():  # the earlier files stay as they were
        assert path.read_bytes() == data
    assert len(mail_log(ws.db_path)) == 6


def test_a_contact_added_later_gets_the_message_alone(tmp_path):
    ws = make_workspace(tmp_path)
    send_mail(ws, "templates", P, dry_run=True)
    more = dict(CONTACTS, **{"653121": ["shufu@example.cn", "shufu.new@example.cn"]})
    ws = make_workspace(tmp_path, units=more)
    report = send_mail(ws, "templates", P, dry_run=True)
    assert by_status(report, "written") == {"653121"}
    written = next(o for o in report.outcomes if o.status == "written")
    assert addresses(parse(written.path)["To"]) == ["shufu.new@example.cn"]


def test_units_without_contacts_or_templates_are_reported(tmp_path):
    units = dict(CONTACTS, **{"653122": []})
    ws = make_workspace(tmp_path, units=units, templates=("653101", "653122"))
    report = send_mail(ws, "templates", P, dry_run=True)
    notes = {o.unit_code: o.detail for o in report.outcomes if o.status == "not_sent"}
    assert "没有联系邮箱" in notes["653122"]
    assert "没有该单位的填报模板" in notes["653121"]
    assert by_status(report, "written") == {"653101"}
    # every unit of the plan is accounted for, none silently dropped
    assert {o.unit_code for o in report.outcomes} == {u.code for u in ws.tasklist.units}


def test_an_invalid_address_is_reported_not_sent(tmp_path):
    units = dict(CONTACTS, **{"653121": ["shufu at example.cn"]})
    ws = make_workspace(tmp_path, units=units)
    report = send_mail(ws, "templates", P, dry_run=True)
    note = next(o for o in report.outcomes if o.unit_code == "653121")
    assert note.status == "not_sent" and "shufu at example.cn" in note.detail


def test_no_templates_at_all_says_what_to_run(tmp_path):
    ws = make_workspace(tmp_path, templates=())
    with pytest.raises(MailError, match="toolkit generate -p 2024H1"):
        send_mail(ws, "templates", P, dry_run=True)


def test_an_oversized_attachment_stops_the_run_before_anything_is_written(tmp_path):
    ws = make_workspace(tmp_path, max_attachment_mb=0.05)
    write_workbook(ws.period_dir(P) / "templates" / "653121_疏附县_2024H1.xlsx", rows=4000)
    with pytest.raises(MailError, match="653121_疏附县_2024H1.xlsx.*max_attachment_mb"):
        send_mail(ws, "templates", P, dry_run=True)
    assert outbox(ws) == []
    assert mail_log(ws.db_path) == []


def test_feedback_carries_the_workbook_and_the_issues_in_the_thread(tmp_path):
    ws = make_workspace(tmp_path)
    templates = send_mail(ws, "templates", P, dry_run=True)
    template_id = next(o.message_id for o in templates.outcomes if o.unit_code == "653121")
    add_submission(ws.db_path, "2024H1", "653121", "invalid", issues=[
        ("error", "指标填报", "F9", "不能为负数：-3"),
        ("warning", "指标填报", "F12", "比上期下降，请核实")])
    add_submission(ws.db_path, "2024H1", "653101", "valid")
    feedback = write_workbook(ws.period_dir(P) / "feedback" / "653121_疏附县_2024H1_退回修改.xlsx",
                              text="批注")
    report = send_mail(ws, "feedback", P, dry_run=True)
    assert by_status(report, "written") == {"653121"}
    msg = parse(next(o.path for o in report.outcomes if o.status == "written"))
    assert msg["In-Reply-To"] == template_id
    assert attachments(msg) == {feedback.name: feedback.read_bytes()}
    body = msg.get_body(("plain",)).get_content()
    assert "“指标填报”表 F9 单元格：不能为负数：-3" in body
    assert "“指标填报”表 F12 单元格：比上期下降，请核实" in body
    # the same workbook is not sent twice; a new one is
    assert by_status(send_mail(ws, "feedback", P, dry_run=True), "skipped") == {"653121"}
    write_workbook(feedback, text="第二次批注")
    assert by_status(send_mail(ws, "feedback", P, dry_run=True), "written") == {"653121"}


def test_feedback_lists_the_current_submission_not_a_superseded_one(tmp_path):
    ws = make_workspace(tmp_path)
    old = add_submission(ws.db_path, "2024H1", "653121", "invalid",
                         issues=[("error", "指标填报", "F5", "旧问题")])
    new = add_submission(ws.db_path, "2024H1", "653121", "invalid",
                         issues=[("error", "指标填报", "F6", "新问题")])
    supersede(ws.db_path, old, new)
    write_workbook(ws.period_dir(P) / "feedback" / "653121_疏附县.xlsx")
    report = send_mail(ws, "feedback", P, dry_run=True)
    body = parse(next(o.path for o in report.outcomes if o.status == "written")).get_body()
    assert "新问题" in body.get_content() and "旧问题" not in body.get_content()


def test_an_out_of_date_feedback_workbook_is_not_sent(tmp_path):
    ws = make_workspace(tmp_path)
    old = add_submission(ws.db_path, "2024H1", "653121", "invalid",
                         issues=[("error", "指标填报", "F5", "不能为空")])
    new = add_submission(ws.db_path, "2024H1", "653121", "valid")
    supersede(ws.db_path, old, new)
    write_workbook(ws.period_dir(P) / "feedback" / "653121_疏附县.xlsx")
    report = send_mail(ws, "feedback", P, dry_run=True)
    (note,) = report.outcomes
    assert note.status == "not_sent" and "653121_疏附县.xlsx 已过时" in note.detail
    assert outbox(ws) == [] and mail_log(ws.db_path) == []


def test_explained_warnings_are_not_asked_about_again(tmp_path):
    ws = make_workspace(tmp_path)
    add_submission(ws.db_path, "2024H1", "653121", "valid",
                   issues=[("info", "指标填报", "G9", "已说明：新建园区，数量较多")])
    write_workbook(ws.period_dir(P) / "feedback" / "653121_疏附县.xlsx")
    (note,) = send_mail(ws, "feedback", P, dry_run=True).outcomes
    assert note.status == "not_sent" and "已过时" in note.detail
    assert outbox(ws) == []


def test_a_feedback_workbook_older_than_the_latest_report_is_not_sent(tmp_path):
    ws = make_workspace(tmp_path)
    write_workbook(ws.period_dir(P) / "feedback" / "653121_疏附县.xlsx")
    later = (dt.datetime.now().astimezone() + dt.timedelta(minutes=5)).isoformat()
    add_submission(ws.db_path, "2024H1", "653121", "invalid", received_at=later,
                   issues=[("error", "指标填报", "F5", "不能为空")])
    (note,) = send_mail(ws, "feedback", P, dry_run=True).outcomes
    assert note.status == "not_sent"
    assert note.detail == t("mail.note.old_feedback", "zh", name="653121_疏附县.xlsx",
                            period="2024H1")
    assert outbox(ws) == []


def test_feedback_without_workbooks_while_units_are_invalid_says_what_to_run(tmp_path):
    ws = make_workspace(tmp_path)
    add_submission(ws.db_path, "2024H1", "653121", "invalid",
                   issues=[("error", "指标填报", "F9", "x")])
    with pytest.raises(MailError, match="toolkit feedback -p 2024H1"):
        send_mail(ws, "feedback", P, dry_run=True)


def test_feedback_with_nothing_to_return_sends_nothing(tmp_path):
    ws = make_workspace(tmp_path)
    add_submission(ws.db_path, "2024H1", "653121", "valid")
    report = send_mail(ws, "feedback", P, dry_run=True)
    assert report.outcomes == [] and outbox(ws) == []


def reminder_workspace(tmp_path):
    """653101 valid; 653121 invalid; 653122 missing (its file went to another period);
    653123 valid once, then superseded by an invalid resubmission."""
    units = dict(CONTACTS, **{"653123": ["yjs@example.cn"]})
    ws = make_workspace(tmp_path, units=units)
    add_submission(ws.db_path, "2024H1", "653101", "valid")
    add_submission(ws.db_path, "2024H1", "653121", "invalid", name="疏附县报表.xlsx",
                   issues=[("error", "指标填报", "F9", "不能为负数")] * 2)
    add_submission(ws.db_path, "2024H1", "653122", "other_period")
    add_submission(ws.db_path, "2024H1", None, "unidentified")
    first = add_submission(ws.db_path, "2024H1", "653123", "valid")
    second = add_submission(ws.db_path, "2024H1", "653123", "invalid", name="英吉沙.xlsx")
    supersede(ws.db_path, first, second)
    return ws


def test_reminders_go_to_units_missing_or_invalid(tmp_path):
    ws = reminder_workspace(tmp_path)
    report = send_mail(ws, "reminders", P, dry_run=True, today=dt.date(2024, 7, 8))
    assert by_status(report, "written") == {"653121", "653122", "653123"}
    sent = {o.unit_code: parse(o.path) for o in report.outcomes if o.status == "written"}
    assert "【催报】" in str(sent["653122"]["Subject"])
    assert "尚未收到" in sent["653122"].get_body().get_content()
    # the missing unit gets its template again; the invalid ones are told what failed
    assert list(attachments(sent["653122"])) == ["653122_疏勒县_2024H1.xlsx"]
    body = sent["653121"].get_body().get_content()
    assert "疏附县报表.xlsx" in body and "2 处错误" in body
    assert not attachments(sent["653121"])
    assert "英吉沙.xlsx" in sent["653123"].get_body().get_content()
    # units with no contacts are reported, units that reported are left alone
    assert "653101" not in {o.unit_code for o in report.outcomes}
    assert "653124" in {o.unit_code for o in report.outcomes if o.status == "not_sent"}


def test_reminder_wording_passes_from_near_to_overdue_and_each_goes_once(tmp_path):
    ws = reminder_workspace(tmp_path)
    near = send_mail(ws, "reminders", P, dry_run=True, today=dt.date(2024, 7, 8))
    assert len(by_status(near, "written")) == 3
    same = send_mail(ws, "reminders", P, dry_run=True, today=dt.date(2024, 7, 9))
    assert by_status(same, "written") == set()
    assert by_status(same, "skipped") == {"653121", "653122", "653123"}
    late = send_mail(ws, "reminders", P, dry_run=True, today=dt.date(2024, 7, 12))
    assert by_status(late, "written") == {"653121", "653122", "653123"}
    for outcome in late.outcomes:
        if outcome.status == "written":
            msg = parse(outcome.path)
            assert "已逾期" in str(msg["Subject"])
            assert "已过 2 天" in msg.get_body().get_content()


def test_a_new_submission_that_still_fails_is_chased_again(tmp_path):
    ws = reminder_workspace(tmp_path)
    send_mail(ws, "reminders", P, dry_run=True, today=dt.date(2024, 7, 12))
    later = (dt.datetime.now().astimezone() + dt.timedelta(minutes=5)).isoformat()
    add_submission(ws.db_path, "2024H1", "653121", "invalid", name="疏附县报表v2.xlsx",
                   received_at=later)
    again = send_mail(ws, "reminders", P, dry_run=True, today=dt.date(2024, 7, 13))
    assert by_status(again, "written") == {"653121"}


def test_summary_goes_to_the_leadership_with_the_consolidated_workbook(tmp_path):
    ws = reminder_workspace(tmp_path)
    summary = write_workbook(ws.period_dir(P) / "consolidated_2024H1.xlsx", text="汇总")
    report = send_mail(ws, "summary", P, dry_run=True)
    (done,) = [o for o in report.outcomes if o.status == "written"]
    msg = parse(done.path)
    assert addresses(msg["To"]) == ["lead@example.gov.cn"]
    assert attachments(msg) == {summary.name: summary.read_bytes()}
    body = msg.get_body().get_content()
    assert "已报送 3 个（通过校验 1 个，未通过 2 个）" in body
    assert mail_log(ws.db_path)[-1]["unit_code"] is None
    assert by_status(send_mail(ws, "summary", P, dry_run=True), "skipped") == {None}


def test_a_township_run_sends_the_lineage_workbook_beside_the_summary(tmp_path):
    ws = reminder_workspace(tmp_path)
    summary = write_workbook(ws.period_dir(P) / "consolidated_2024H1.xlsx", text="汇总")
    lineage = write_workbook(ws.period_dir(P) / "consolidated_2024H1_lineage.xlsx",
                             text="数据明细")
    (done,) = [o for o in send_mail(ws, "summary", P, dry_run=True).outcomes
               if o.status == "written"]
    assert attachments(parse(done.path)) == {summary.name: summary.read_bytes(),
                                             lineage.name: lineage.read_bytes()}


def test_summary_needs_the_workbook_and_recipients(tmp_path):
    ws = make_workspace(tmp_path)
    with pytest.raises(MailError, match="toolkit merge -p 2024H1"):
        send_mail(ws, "summary", P, dry_run=True)
    ws = make_workspace(tmp_path, summary_to=())
    write_workbook(ws.period_dir(P) / "consolidated_2024H1.xlsx")
    with pytest.raises(MailError, match="summary_to"):
        send_mail(ws, "summary", P, dry_run=True)


def test_english_messages(tmp_path):
    ws = make_workspace(tmp_path)
    report = send_mail(ws, "templates", P, dry_run=True, lang="en")
    msg = parse(next(o.path for o in report.outcomes if o.status == "written"))
    assert "report template" in str(msg["Subject"]) and "2024-07-10" in str(msg["Subject"])


@pytest.mark.parametrize("style,charset", [("rfc2231", "utf-8"), ("rfc2047", "utf-8"),
                                           ("rfc2047", "gbk")])
def test_a_county_reply_to_an_outbox_message(tmp_path, style, charset):
    ws = make_workspace(tmp_path)
    report = send_mail(ws, "templates", P, dry_run=True)
    written = next(o for o in report.outcomes if o.unit_code == "653121")
    filled = write_workbook(tmp_path / "疏附县 填报 2024H1（终）.xlsx", text="已填")
    path = write_reply(tmp_path / "inbox" / "reply.eml", written.path, filled, style=style,
                       charset=charset)
    reply = parse(path)
    original = parse(written.path)
    assert addresses(reply["From"]) == ["shufu@example.cn"]
    assert addresses(reply["To"]) == ["office@example.gov.cn"]
    assert str(reply["Subject"]) == f"Re: {original['Subject']}"
    assert reply["In-Reply-To"] == original["Message-ID"] == written.message_id
    assert attachments(reply) == {filled.name: filled.read_bytes()}
    assert county_reply(original, filled.read_bytes(), filename="x.xlsx")  # from bytes too
