"""`toolkit demo`: the whole period on the bundled plan, with the mess real counties send.

The demo runs once (module fixture) through the command line; each test reads back
what a user would open: the ledger, the validation results, the feedback workbooks,
the consolidated workbook (read by openpyxl and calamine, not by the xlsxwriter that
wrote it) and the outbox (parsed by the e-mail package).
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from toolkit.catalogue import t
from toolkit.cli import main
from toolkit.demo import CAST, MARKER, LEADERS, unit_address

STORY = {c.unit: c.story for c in CAST}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "ws"
    result = CliRunner().invoke(main, ["demo", "--out", str(root)])
    assert result.exit_code == 0, result.output
    return root, result.output


def ledger(root, period="2024H1"):
    conn = sqlite3.connect(root / "toolkit.db")
    try:
        return conn.execute("SELECT id, unit_code, status, original_name, sender, reason, "
                            "stored_path FROM submissions WHERE period = ? ORDER BY id",
                            (period,)).fetchall()
    finally:
        conn.close()


def issues(root):
    conn = sqlite3.connect(root / "toolkit.db")
    try:
        return conn.execute("SELECT s.unit_code, i.code, i.severity FROM issues i JOIN "
                            "submissions s ON s.id = i.submission_id "
                            "WHERE s.period = '2024H1'").fetchall()
    finally:
        conn.close()


def current_status(root) -> dict[str, str]:
    rows = [r for r in ledger(root) if r[2] in ("valid", "warnings", "invalid")]
    return {r[1]: r[2] for r in rows}


def test_the_output_names_every_unit_and_the_workbooks_to_open(demo):
    root, output = demo
    period_dir = root / "outputs" / "2024H1"
    for name in ("喀什市", "岳普湖县", "喀什经济开发区"):
        assert name in output
    assert str(period_dir / "consolidated_2024H1.xlsx") in output
    assert str(period_dir / "validation_2024H1.xlsx") in output
    assert (period_dir / "consolidated_2024H1.xlsx").stat().st_size > 0
    assert len(list((period_dir / "templates").glob("*.xlsx"))) == 13


def test_each_clerks_mistake_ends_where_it_should(demo):
    root, _ = demo
    status = current_status(root)
    found = {(u, c) for u, c, _ in issues(root)}
    assert status["653101"] == "valid"
    for unit in ("653121", "653122", "653123"):  # numbers typed as text: read, warned
        assert status[unit] == "warnings" and (unit, "W-TEXT-NUMBER") in found
    assert ("653129", "E-STALE-TEMPLATE") in found and status["653129"] == "invalid"
    assert ("653130", "E-PERCENT-OVER-100") in found and status["653130"] == "invalid"
    assert status["653124"] in ("valid", "warnings") and status["653125"] in ("valid",
                                                                              "warnings")
    assert "653128" not in status and "653131" not in status  # never reported
    assert status["6531KF"] in ("valid", "warnings")


def test_every_message_to_a_clerk_is_complete(demo):
    root, _ = demo
    conn = sqlite3.connect(root / "toolkit.db")
    try:
        messages = [m for (m,) in conn.execute("SELECT message FROM issues")]
    finally:
        conn.close()
    assert len(messages) > 10
    for message in messages:  # no field of a message left blank
        assert not any(pair in message for pair in ("「」", "“”", "（）", "()")), message


def test_every_file_sent_is_in_the_ledger_and_nothing_received_is_lost(demo):
    root, _ = demo
    inbox = root / "inbox" / "2024H1"
    sent = sorted(p for p in inbox.rglob("*") if p.is_file())
    rows = ledger(root)
    expected = sum(1 + c.twice + (c.corrected_days_before is not None) for c in CAST
                   if c.reports)
    assert len(rows) == len(sent) == expected == 14
    by_unit = {}
    for _, unit, state, name, sender, reason, stored in rows:
        by_unit.setdefault(unit, []).append((state, name, sender, reason, stored))
        if state != "duplicate":
            assert stored and (root / stored).is_file()
    assert sorted(s for s, *_ in by_unit["653101"]) == ["duplicate", "valid"]
    # the negative figure was superseded by the correction, and both are kept
    assert sorted(s for s, *_ in by_unit["653127"]) == ["superseded", "warnings"]
    # 塔县 mailed 巴楚县's workbook: recorded, and it did not replace 巴楚县's own report
    forwarded = [r for r in by_unit["653130"] if r[2] == unit_address("653131")]
    assert [r[0] for r in forwarded] == ["superseded"] and "塔什库尔干" in forwarded[0][3]
    names = {name for _, _, _, name, *_ in rows}
    assert {"新建 Microsoft Excel 工作表.xlsx", "英吉沙县上半年报表（终版）.xlsx"} <= names
    assert any(n.endswith(".xls") for n in names) and any(n.endswith(".ods") for n in names)


def test_feedback_goes_to_the_units_with_problems(demo):
    root, _ = demo
    folder = root / "outputs" / "2024H1" / "feedback"
    units = {p.name.split("_")[0] for p in folder.glob("*.xlsx")}
    with_problems = {u for u, _, sev in issues(root) if sev in ("error", "warning")}
    assert units == with_problems & set(current_status(root))
    book = openpyxl.load_workbook(folder / next(p.name for p in folder.glob("653130_*")))
    assert t("feedback.sheet.issues", "zh") in book.sheetnames


def test_the_consolidated_workbook_reads_back_and_keeps_text_as_text(demo):
    root, _ = demo
    path = root / "outputs" / "2024H1" / "consolidated_2024H1.xlsx"
    book = openpyxl.load_workbook(path)
    assert t("summary.sheet.overview") in book.sheetnames
    narratives = book[t("summary.sheet.narratives")]
    typed = [c for row in narratives.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=")]
    assert typed and all(c.data_type == "s" for c in typed)
    calamine = CalamineWorkbook.from_path(str(path))
    rows = calamine.get_sheet_by_name(t("summary.sheet.submissions")).to_python()
    text = "\n".join(" ".join(str(v) for v in r) for r in rows)
    assert "岳普湖县" in text and "塔什库尔干塔吉克自治县" in text
    # the lead departments' own figures were imported and are rated
    prefecture = calamine.get_sheet_by_name(t("summary.sheet.prefecture")).to_python()
    notes = [str(v) for r in prefecture for v in r if "地区层面指标任务" in str(v)
             or "牵头部门填报" in str(v)]
    assert any("地区层面指标2024H1.xlsx" in n for n in notes)
    # the earlier quarter ran first, so the period change sheet has figures
    change = calamine.get_sheet_by_name(t("summary.sheet.change")).to_python()
    assert any(isinstance(v, float) for r in change[4:] for v in r)


def test_the_outbox_holds_every_message_of_the_period(demo):
    root, _ = demo
    outbox = root / "outputs" / "2024H1" / "outbox"

    def messages(kind):
        return {p.stem.split("_", 1)[1]: email.message_from_bytes(p.read_bytes(),
                                                                 policy=email.policy.default)
                for p in sorted(outbox.glob(f"{kind}_*.eml"))}

    templates = messages("templates")
    assert len(templates) == 13
    for code, msg in templates.items():
        assert unit_address(code) in str(msg["To"])
        [attachment] = msg.iter_attachments()
        assert attachment.get_filename().startswith(code) and attachment.get_filename().endswith(
            "_2024H1.xlsx")
    assert set(messages("feedback")) == {p.name.split("_")[0] for p in (
        root / "outputs" / "2024H1" / "feedback").glob("*.xlsx")}
    # 催报: the units that never reported, and those whose report did not pass
    assert set(messages("reminders")) == {"653128", "653131", "653129", "653130"}
    [summary] = messages("summary").values()
    assert LEADERS[0] in str(summary["To"])
    assert [a.get_filename() for a in summary.iter_attachments()] == ["consolidated_2024H1.xlsx"]


def test_the_demo_refuses_a_folder_it_did_not_make_and_reruns_in_its_own(demo, tmp_path):
    mine = tmp_path / "papers"
    mine.mkdir()
    (mine / "keep.txt").write_text("office notes", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--out", str(mine), "--no-history"])
    assert result.exit_code == 1
    assert t("demo.error.not_empty", "zh", root=mine.resolve()) in result.output
    assert (mine / "keep.txt").read_text(encoding="utf-8") == "office notes"
    root, _ = demo
    assert (root / MARKER).exists()


def test_a_bad_period_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d"), "-p", "2026"])
    assert result.exit_code == 2
    assert "2024" in result.output and not (tmp_path / "d").exists()


def test_without_libreoffice_the_xls_and_ods_replies_come_from_the_libraries(tmp_path,
                                                                             monkeypatch):
    from toolkit import office
    from toolkit.demo import run_demo

    monkeypatch.setattr(office, "soffice", lambda: None)
    report = run_demo(tmp_path / "ws", "2024H1", history=False)
    assert report.saved_with == "library"
    status = report.statuses
    assert status["653124"] in ("valid", "warnings") and status["653125"] in ("valid",
                                                                              "warnings")
    assert report.history is None and report.merge.previous_period is None


def test_the_same_seed_gives_the_same_figures_and_another_seed_others(tmp_path, monkeypatch):
    from toolkit import office
    from toolkit.demo import run_demo

    monkeypatch.setattr(office, "soffice", lambda: None)

    def figures(root, seed):
        run_demo(root, "2024H1", seed=seed, history=False)
        conn = sqlite3.connect(root / "toolkit.db")
        try:
            return conn.execute("SELECT unit_code, indicator, actual, status FROM facts "
                                "ORDER BY unit_code, indicator").fetchall()
        finally:
            conn.close()

    first = figures(tmp_path / "a", 7)
    assert first and first == figures(tmp_path / "b", 7)
    assert figures(tmp_path / "c", 8) != first
