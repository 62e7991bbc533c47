"""Collecting a period's returned workbooks end to end, on files built here."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest
from collect_fixtures import (CSV, HTML, billion_laughs, duplicate_part, encrypted_workbook,
                              far_cell, fingerprint_tree, make_workspace, message, rezip,
                              template_bytes, write, write_maildir, write_mbox, zip_bomb)

from toolkit import ledger, sandbox
from toolkit.catalogue import t
from toolkit.collect import Options, collect
from toolkit.read import read_identity, read_values
from toolkit.store import opened

CST = dt.timezone(dt.timedelta(hours=8))
JULY = [dt.datetime(2024, 7, day, 10, 0, tzinfo=CST) for day in range(1, 32)]


def july(day: int) -> dt.datetime:
    return JULY[day - 1]


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


def rows_of(ws, period="2024H1"):
    with opened(ws.db_path) as conn:
        return ledger.submissions(conn, period)


def by_name(report):
    return {row.name: row for row in report.rows}


# --- readers for the sandbox hook (module level: picklable wherever workers come from) ---

def _unit_of(path) -> str:
    reading = read_identity(read_values(path))
    return reading.identity.unit_code if reading.identity else ""


def crashing_reader(path):
    """Reads like the real reader, but dies hard on 653122's file (as a native crash would)."""
    if _unit_of(path) == "653122":
        os.abort()
    return read_values(path)


def hanging_reader(path):
    if _unit_of(path) == "653122":
        time.sleep(30)
    return read_values(path)


# --- the whole loop -----------------------------------------------------------------

@pytest.fixture(scope="module")
def inbox_files():
    """What one period's inbox holds (built once): mail, folders, and the usual mess."""
    v1 = template_bytes("653101", actual=10.0)
    return {
        "喀什市.xlsx": (v1, july(5)),
        "again/喀什市(1).xlsx": (v1, july(6)),
        "疏附县.xls": (template_bytes("653121"), None),  # an .xlsx renamed .xls
        "bad/炸弹.xlsx": (zip_bomb(v1), None),
        "bad/加密.xlsx": (encrypted_workbook(), None),
        "bad/导出.xls": (CSV, None),
        "bad/网页.xls": (HTML, None),
        "bad/空.xlsx": (b"", None),
        "bad/截断.xlsx": (v1[:5000], None),
        "bad/重名.xlsx": (duplicate_part(v1), None),
        "bad/实体.xlsx": (billion_laughs(v1), None),
        "bad/超大范围.xlsx": (far_cell(v1), None),
        "other/三季度.xlsx": (template_bytes("653123", period="2024Q3"), None),
    }


@pytest.fixture
def inbox(tmp_path, inbox_files):
    root = tmp_path / "inbox"
    for name, (data, sent) in inbox_files.items():
        write(root / name, data, mtime=sent.replace(tzinfo=None) if sent else None)
    write_mbox(root / "mail.mbox", [
        message("shule@example.cn", july(4), [("../../evil.xlsx", template_bytes("653122"))],
                "<s1@example.cn>"),
        message("shule@example.cn", july(9), [("疏勒县修改.xlsx",
                                               template_bytes("653122", actual=7.0))],
                "<s2@example.cn>"),
    ])
    write_maildir(root / "Maildir", [
        message("yingjisha@example.cn", july(8), [("英吉沙县.xlsx", template_bytes("653123"))],
                "<y1@example.cn>")])
    return root


EXPECTED = {  # name -> (status, reason code or None)
    "喀什市.xlsx": ("received", None),
    "喀什市(1).xlsx": ("duplicate", None),
    "疏附县.xls": ("received", None),
    "炸弹.xlsx": ("rejected", "inflate"),
    "加密.xlsx": ("rejected", "encrypted"),
    "导出.xls": ("rejected", "csv"),
    "网页.xls": ("rejected", "html"),
    "空.xlsx": ("rejected", "empty"),
    "截断.xlsx": ("rejected", "damaged"),
    "重名.xlsx": ("rejected", "duplicate_parts"),
    "实体.xlsx": ("rejected", "entity"),
    "超大范围.xlsx": ("rejected", "too_many_cells"),
    "三季度.xlsx": ("other_period", None),
    "../../evil.xlsx": ("superseded", None),
    "疏勒县修改.xlsx": ("received", None),
    "英吉沙县.xlsx": ("received", None),
}


def test_every_file_ends_in_the_ledger_with_a_status(ws, inbox):
    report = collect(ws, "2024H1", [inbox])
    found = by_name(report)
    assert {n: r.status for n, r in found.items()} == {n: s for n, (s, _) in EXPECTED.items()}
    for name, (_, code) in EXPECTED.items():
        if code is not None:
            assert found[name].reason == t(f"collect.reason.{code}", "zh",
                                           cell="XFD1048576"), name
    assert len(rows_of(ws)) == len(EXPECTED) == len(report.rows)
    assert report.counts == {"received": 4, "duplicate": 1, "rejected": 9, "other_period": 1,
                             "superseded": 1}
    current = {code: s.original_name for code, s in _current(ws).items()}
    assert current == {"653101": "喀什市.xlsx", "653121": "疏附县.xls",
                       "653122": "疏勒县修改.xlsx", "653123": "英吉沙县.xlsx"}


def _current(ws):
    with opened(ws.db_path) as conn:
        return ledger.current_all(conn, "2024H1")


def test_originals_are_never_modified_and_collecting_twice_changes_nothing(ws, inbox):
    before = fingerprint_tree(inbox)
    first = collect(ws, "2024H1", [inbox])
    assert fingerprint_tree(inbox) == before
    ledger_after, outputs_after = rows_of(ws), fingerprint_tree(ws.outputs)
    again = collect(ws, "2024H1", [inbox])
    assert fingerprint_tree(inbox) == before
    assert rows_of(ws) == ledger_after
    assert fingerprint_tree(ws.outputs) == outputs_after
    assert again.new == 0 and first.new == len(first.rows)
    assert {r.name: r.status for r in again.rows} == {r.name: r.status for r in first.rows}
    assert all(r.reason.startswith("此前已收取") for r in again.rows)


def test_copies_have_generated_names_and_refusals_say_why_beside_them(ws, inbox):
    report = collect(ws, "2024H1", [inbox])
    period_dir = ws.period_dir("2024H1")
    received = sorted(p.name for p in (period_dir / "received").iterdir())
    assert len(received) == 5  # 4 current + 1 superseded; the duplicate is not stored twice
    for row in report.rows:
        if row.status in ("received", "superseded"):
            stored = ws.root / row.stored_path
            assert stored.parent == period_dir / "received"
            assert stored.name == f"{row.unit_code}_{_sha(ws, row)[:12]}{stored.suffix}"
    evil = by_name(report)["../../evil.xlsx"]
    assert evil.stored_path.startswith("outputs/2024H1/received/653122_")
    assert not list(ws.root.parent.rglob("evil.xlsx"))
    bomb = by_name(report)["炸弹.xlsx"]
    note = (ws.root / (bomb.stored_path + ".txt")).read_text(encoding="utf-8")
    assert note.splitlines()[:2] == [t("collect.reason.inflate", "zh"), "炸弹.xlsx"]
    assert (ws.root / bomb.stored_path).parent == period_dir / "quarantine"
    assert not (period_dir / ".incoming").exists()


def _sha(ws, row):
    with opened(ws.db_path) as conn:
        return ledger.get(conn, row.submission_id).sha256


def test_duplicate_points_at_the_first_copy(ws, inbox):
    report = collect(ws, "2024H1", [inbox])
    first, dup = by_name(report)["喀什市.xlsx"], by_name(report)["喀什市(1).xlsx"]
    assert dup.stored_path == first.stored_path and dup.unit_code == "653101"
    assert dup.reason == t("collect.reason.duplicate", "zh", id=first.submission_id,
                           name="喀什市.xlsx")


def test_mail_metadata_and_renamed_file(ws, inbox):
    collect(ws, "2024H1", [inbox])
    subs = {s.original_name: s for s in rows_of(ws)}
    shule = subs["疏勒县修改.xlsx"]
    assert (shule.sender, shule.message_id) == ("shule@example.cn", "<s2@example.cn>")
    assert ledger.parse_time(shule.sent_at) == july(9)
    assert subs["../../evil.xlsx"].superseded_by == shule.id
    renamed = subs["疏附县.xls"]
    assert (renamed.format, Path(renamed.stored_path).suffix) == ("xlsx", ".xlsx")
    kashi = subs["喀什市.xlsx"]
    assert ledger.parse_time(kashi.sent_at) == july(5).replace(tzinfo=None).astimezone()
    assert (kashi.period_claimed, kashi.unit_code) == ("2024H1", "653101")
    assert kashi.fingerprint and kashi.template_version


def test_read_values_are_kept_so_later_stages_never_reread(ws, inbox):
    collect(ws, "2024H1", [inbox])
    with opened(ws.db_path) as conn:
        for sub in ledger.submissions(conn, "2024H1"):
            values = ledger.load_values(conn, sub.id)
            if sub.status in ("received", "superseded", "other_period"):
                fresh = read_values(ws.root / sub.stored_path)
                assert [(s.name, s.visible) for s in values.sheets] == \
                    [(s.name, s.visible) for s in fresh.sheets]
                kept = {s.name: s.rows for s in values.sheets if s.read}
                assert kept == {s.name: s.rows for s in fresh.sheets if s.name in kept}
                # what validation reads is kept; the instructions and the lists are not
                assert set(kept) == {"指标填报", "任务进展", "_identity"}
                assert read_identity(values).identity.unit_code == sub.unit_code
            else:
                assert values is None, sub.original_name


def test_a_resubmission_collected_before_the_original_still_wins(ws, tmp_path):
    v1 = template_bytes("653101", actual=1.0)
    v2 = template_bytes("653101", actual=2.0)
    write(tmp_path / "later.eml",
          message("kashi@example.cn", july(8), [("第二版.xlsx", v2)]).as_bytes())
    write(tmp_path / "earlier.eml",
          message("kashi@example.cn", july(5), [("第一版.xlsx", v1)]).as_bytes())
    collect(ws, "2024H1", [tmp_path / "later.eml"])
    report = collect(ws, "2024H1", [tmp_path / "earlier.eml"])
    assert by_name(report)["第一版.xlsx"].status == "superseded"
    assert _current(ws)["653101"].original_name == "第二版.xlsx"
    assert len(list((ws.period_dir("2024H1") / "received").iterdir())) == 2  # both kept


def test_unit_from_sender_when_the_identity_is_missing(ws, tmp_path):
    import xlsxwriter

    plain = tmp_path / "自制表.xlsx"
    book = xlsxwriter.Workbook(str(plain))
    book.add_worksheet("Sheet1").write_string(0, 0, "城镇化率")
    book.close()
    write(tmp_path / "m.eml", message("ShuLe@example.cn", july(6),
                                      [("自制表.xlsx", plain.read_bytes())]).as_bytes())
    report = collect(ws, "2024H1", [tmp_path / "m.eml", plain])
    rows = [r for r in report.rows]
    by_mail = next(r for r in rows if r.sender)
    assert (by_mail.status, by_mail.unit_code) == ("received", "653122")
    assert by_mail.reason == t("collect.note.unit_by_sender", "zh", unit="疏勒县（653122）")
    loose = next(r for r in rows if not r.sender)
    assert loose.status == "duplicate"  # the same bytes: recorded against the first copy
    other = tmp_path / "另一个.xlsx"
    book = xlsxwriter.Workbook(str(other))
    book.add_worksheet("Sheet1").write_string(0, 0, "别的")
    book.close()
    [unknown] = collect(ws, "2024H1", [other]).rows
    assert unknown.status == "unidentified" and unknown.unit_code == ""
    assert unknown.stored_path.startswith("outputs/2024H1/quarantine/unknown_")
    assert unknown.reason == t("collect.reason.unidentified", "zh")


def test_identity_copies_that_disagree_are_recorded(ws, tmp_path):
    edited = rezip(template_bytes("653101"), replace={
        "docProps/custom.xml": lambda xml: xml.replace(b">653101<", b">653122<")})
    write(tmp_path / "改过.xlsx", edited)
    [row] = collect(ws, "2024H1", [tmp_path / "改过.xlsx"]).rows
    assert (row.status, row.unit_code) == ("received", "653101")  # the hidden sheet's copy
    assert row.reason == t("collect.note.identity_disagree", "zh", fields="unit_code")
    assert "properties='653122'" in row.detail


def test_sender_of_another_unit_is_noted(ws, tmp_path):
    write(tmp_path / "m.eml", message("shule@example.cn", july(6),
                                      [("喀什市.xlsx", template_bytes("653101"))]).as_bytes())
    [row] = collect(ws, "2024H1", [tmp_path / "m.eml"]).rows
    assert row.unit_code == "653101"
    assert row.reason == t("collect.note.sender_other_unit", "zh",
                           sender_unit="疏勒县（653122）", unit="喀什市（653101）")


def test_a_neighbours_later_mail_does_not_replace_the_units_own_report(ws, tmp_path):
    own = message("kashi@example.cn", july(5), [("喀什市.xlsx", template_bytes("653101"))])
    forwarded = message("shule@example.cn", july(8),
                        [("喀什市.xlsx", template_bytes("653101", actual=7))])
    write(tmp_path / "in" / "own.eml", own.as_bytes())
    write(tmp_path / "in" / "forwarded.eml", forwarded.as_bytes())
    report = collect(ws, "2024H1", [tmp_path / "in"])
    by_sender = {r.sender: r for r in report.rows}
    assert by_sender["kashi@example.cn"].status == "received"
    later = by_sender["shule@example.cn"]
    assert later.status == "superseded"
    assert later.reason == t("collect.reason.superseded_foreign", "zh",
                             id=by_sender["kashi@example.cn"].submission_id,
                             sender_unit="疏勒县（653122）")
    # with nothing of the unit's own, the forwarded file is what there is
    alone = tmp_path / "alone"
    write(alone / "forwarded.eml", message("shule@example.cn", july(8), [
        ("喀什市.xlsx", template_bytes("653101", actual=9))]).as_bytes())
    [row] = collect(ws, "2024H1", [alone]).rows
    assert row.status == "superseded"  # the unit's own file, collected before, still counts
    [row] = collect(make_workspace(tmp_path / "fresh"), "2024H1", [alone]).rows
    assert row.status == "received"


def test_a_file_collected_before_shows_what_became_of_it_since(ws, tmp_path):
    forwarded = message("shule@example.cn", july(8),
                        [("喀什市.xlsx", template_bytes("653101", actual=7))])
    write(tmp_path / "in" / "forwarded.eml", forwarded.as_bytes())
    [first] = collect(ws, "2024H1", [tmp_path / "in"]).rows
    assert first.status == "received"
    own = message("kashi@example.cn", july(5), [("喀什市.xlsx", template_bytes("653101"))])
    write(tmp_path / "in" / "own.eml", own.as_bytes())
    rows = {r.sender: r for r in collect(ws, "2024H1", [tmp_path / "in"]).rows}
    assert rows["kashi@example.cn"].status == "received"
    again = rows["shule@example.cn"]  # taken in the first time, superseded this time
    assert not again.new and again.status == "superseded"
    assert "不替代本单位自己报送" in again.reason


def test_macros_are_flagged_and_values_still_read(ws, tmp_path):
    xlsm = rezip(template_bytes("653101"), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0..."})
    write(tmp_path / "带宏.xlsm", xlsm)
    [row] = collect(ws, "2024H1", [tmp_path / "带宏.xlsm"]).rows
    assert (row.status, row.reason) == ("received", t("collect.note.macros", "zh"))
    assert row.stored_path.endswith(".xlsm")


def test_english_reasons(ws, tmp_path):
    write(tmp_path / "locked.xlsx", encrypted_workbook())
    [row] = collect(ws, "2024H1", [tmp_path / "locked.xlsx"], lang="en").rows
    assert row.reason == "The file is password-protected: remove the password and resend it"


# --- the sandbox: a reader that dies or hangs takes one file with it, never the run -----

def test_a_reader_crash_becomes_one_ledger_line_and_the_run_goes_on(ws, tmp_path):
    for code in ("653101", "653122", "653123"):
        write(tmp_path / "in" / f"{code}.xlsx", template_bytes(code))
    report = collect(ws, "2024H1", [tmp_path / "in"], options=Options(reader=crashing_reader))
    found = by_name(report)
    assert {n: r.status for n, r in found.items()} == {
        "653101.xlsx": "received", "653122.xlsx": "rejected", "653123.xlsx": "received"}
    crashed = found["653122.xlsx"]
    assert crashed.reason == t("collect.reason.read_crash", "zh")
    assert "SIGABRT" in crashed.detail
    assert crashed.stored_path.startswith("outputs/2024H1/quarantine/")
    assert len(rows_of(ws)) == 3


def test_a_reader_that_hangs_is_stopped(ws, tmp_path):
    for code in ("653101", "653122"):
        write(tmp_path / "in" / f"{code}.xlsx", template_bytes(code))
    report = collect(ws, "2024H1", [tmp_path / "in"],
                     options=Options(reader=hanging_reader, timeout=1))
    found = by_name(report)
    assert found["653101.xlsx"].status == "received"
    assert found["653122.xlsx"].status == "rejected"
    assert found["653122.xlsx"].reason == t("collect.reason.read_timeout", "zh")


def test_the_sandbox_survives_what_the_checks_would_have_refused(tmp_path):
    """calamine asks for ~512 GB on a cell at XFD1048576 and aborts: in a worker, that is a
    result, and the next file is read by a fresh worker."""
    good = write(tmp_path / "good.xlsx", template_bytes("653101"))
    # on the indicator sheet: a sheet the reader reads (it leaves the instructions)
    far = write(tmp_path / "far.xlsx", far_cell(template_bytes("653101"),
                                                part="xl/worksheets/sheet2.xml"))
    results = sandbox.read_all([far, good, far, good], workers=1)
    assert [r.ok for r in results] == [False, True, False, True]
    assert results[0].failure == "memory"  # python-calamine 0.9: an abort on a failed allocation
    assert "memory allocation" in results[0].detail
    assert results[1].values.sheet("_identity") is not None


def test_the_memory_cap_turns_a_hungry_reader_into_a_result(tmp_path):
    result = sandbox.read_one(tmp_path, reader=_hungry, memory_mb=256)
    assert result.failure == "memory"


def _hungry(path):
    return bytearray(1024 * 1024 * 1024)


def test_a_reader_error_is_a_result(tmp_path):
    result = sandbox.read_one(tmp_path / "missing.xlsx")
    assert result.failure == "error" and "No such file" in result.detail


# --- real office suites -------------------------------------------------------------

SYSTEM_PYTHON = "/usr/bin/python3"
SAVE_SCRIPT = Path(__file__).with_name("lo_save.py")


def _has_uno() -> bool:
    import subprocess

    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def saved_by_libreoffice(tmp_path_factory):
    """One template saved by LibreOffice as .xls, as .ods and as a password-protected .xls
    (one soffice process for all three)."""
    import json
    import subprocess

    from toolkit.office import soffice

    if soffice() is None or not _has_uno():
        pytest.skip(f"LibreOffice (soffice) and python3-uno for {SYSTEM_PYTHON} are needed; "
                    ".ci/run installs them")
    folder = tmp_path_factory.mktemp("lo")
    source = write(folder / "src" / "疏勒县.xlsx", template_bytes("653122", actual=42.0))
    jobs = {"xls": ("MS Excel 97", ""), "ods": ("calc8", ""), "locked.xls": ("MS Excel 97", "pw")}
    spec = {"profile": str(folder / "profile"), "files": [
        {"src": str(source), "dest": str(folder / f"out.{name}"), "filter": flt,
         "password": password} for name, (flt, password) in jobs.items()]}
    (folder / "job.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([SYSTEM_PYTHON, str(SAVE_SCRIPT), str(folder / "job.json")],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return {name: folder / f"out.{name}" for name in jobs}


@pytest.mark.libreoffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_xls_and_ods_saved_by_libreoffice_are_collected(ws, tmp_path, saved_by_libreoffice, fmt):
    path = shutil.copy(saved_by_libreoffice[fmt], tmp_path / f"疏勒县报表.{fmt}")
    [row] = collect(ws, "2024H1", [path]).rows
    assert (row.status, row.unit_code) == ("received", "653122")
    assert row.reason == ""  # the identity's copies agree after the round trip
    sub = rows_of(ws)[0]
    assert sub.format == fmt and sub.stored_path.endswith(f".{fmt}")
    with opened(ws.db_path) as conn:
        values = ledger.load_values(conn, sub.id)
    first = ws.tasklist.indicators_for("653122")[0]
    from toolkit import layout
    from toolkit.read import indicator_sheet

    sheet = indicator_sheet(values)
    assert sheet.get(layout.IND_FIRST_ROW, layout.IND_COLS["id"]) == first.id
    assert sheet.get(layout.IND_FIRST_ROW, layout.IND_COLS["actual"]) == 42.0


@pytest.mark.libreoffice
def test_a_renamed_xls_is_still_an_xls(ws, tmp_path, saved_by_libreoffice):
    path = shutil.copy(saved_by_libreoffice["xls"], tmp_path / "报表.xlsx")
    [row] = collect(ws, "2024H1", [path]).rows
    assert row.status == "received" and row.stored_path.endswith(".xls")


@pytest.mark.libreoffice
def test_a_password_protected_xls_says_remove_the_password(ws, tmp_path, saved_by_libreoffice):
    path = shutil.copy(saved_by_libreoffice["locked.xls"], tmp_path / "疏勒县.xls")
    [row] = collect(ws, "2024H1", [path]).rows
    assert row.status == "rejected"
    assert row.reason == "文件已加密，请取消密码后重新报送"
    assert row.stored_path.startswith("outputs/2024H1/quarantine/")


def test_an_oversized_file_is_recorded_but_not_copied(ws, tmp_path):
    from toolkit.safety import Limits

    write(tmp_path / "大.xlsx", template_bytes("653101"))
    [row] = collect(ws, "2024H1", [tmp_path / "大.xlsx"],
                    options=Options(limits=Limits(max_bytes=1000))).rows
    assert row.status == "rejected" and row.stored_path == ""
    assert row.reason.startswith("文件过大")
    assert rows_of(ws)[0].size == len(template_bytes("653101"))


def test_a_corrupt_archive_member_is_recorded_as_unreadable(ws, tmp_path):
    import zipfile

    archive = tmp_path / "报表.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        out.writestr("喀什市.xlsx", template_bytes("653101"))
        out.writestr("疏勒县.xlsx", template_bytes("653122"))
    data = bytearray(archive.read_bytes())
    data[200] ^= 0xFF  # inside the first member's bytes: its checksum no longer matches
    archive.write_bytes(bytes(data))
    report = collect(ws, "2024H1", [archive])
    found = by_name(report)
    assert found["喀什市.xlsx"].status == "rejected"
    assert found["喀什市.xlsx"].reason == t("collect.reason.unreadable", "zh")
    assert "Bad CRC" in found["喀什市.xlsx"].detail
    assert found["疏勒县.xlsx"].status == "received"


def test_a_copy_of_a_file_refused_while_reading_is_read_again(ws, tmp_path):
    """A read that timed out may succeed when the same bytes are sent again."""
    data = template_bytes("653122")
    write(tmp_path / "first" / "疏勒县.xlsx", data)
    write(tmp_path / "first" / "疏勒县 副本.xlsx", data)
    first = collect(ws, "2024H1", [tmp_path / "first"],
                    options=Options(reader=hanging_reader, timeout=1))
    assert [r.status for r in first.rows] == ["rejected", "rejected"]
    assert len({r.stored_path for r in first.rows}) == 1  # refused, and kept once
    write(tmp_path / "resent.eml", message("shule@example.cn", july(9),
                                           [("疏勒县.xlsx", data)]).as_bytes())
    [again] = collect(ws, "2024H1", [tmp_path / "resent.eml"]).rows
    assert (again.status, again.unit_code) == ("received", "653122")
    [copy] = collect(ws, "2024H1", [write(tmp_path / "third.xlsx", data)]).rows
    assert copy.status == "duplicate"
    assert copy.reason == t("collect.reason.duplicate", "zh", id=again.submission_id,
                            name="疏勒县.xlsx")


def test_the_same_file_reached_twice_is_one_file(ws, tmp_path):
    path = write(tmp_path / "in" / "sub" / "喀什市.xlsx", template_bytes("653101"))
    msg = message("shule@example.cn", july(6), [("疏勒县.xlsx", template_bytes("653122"))],
                  "<same@example.cn>")
    box = write_mbox(tmp_path / "in" / "box.mbox", [msg, msg])  # a message stored twice
    report = collect(ws, "2024H1", [path, tmp_path / "in", tmp_path / "in" / "sub", box])
    assert sorted(r.name for r in report.rows) == ["喀什市.xlsx", "疏勒县.xlsx"]
    assert len(rows_of(ws)) == 2


def _logged(path):
    """A reader that takes half a second over files named slow*, and notes every file read."""
    import time
    from pathlib import Path

    path = Path(path)
    if path.name.startswith("slow"):
        time.sleep(0.5)
    (path.parent / "log").mkdir(exist_ok=True)
    (path.parent / "log" / path.name).touch()
    return path.name


def test_results_stream_in_order_and_a_slow_file_holds_back_only_a_window(tmp_path):
    paths = [tmp_path / "slow0"] + [tmp_path / f"f{i:02d}" for i in range(1, 30)]
    stream = sandbox.read_each(paths, workers=2, reader=_logged)
    first = next(stream)
    read_meanwhile = len(list((tmp_path / "log").iterdir()))
    rest = list(stream)
    assert [first.values] + [r.values for r in rest] == [p.name for p in paths]
    # while the slow file was read the other worker went on, but only AHEAD per worker
    # past it: the results waiting here stay bounded
    assert 2 <= read_meanwhile <= sandbox.AHEAD * 2 + 1


def _by_name(path):
    """A reader that dies hard on files named crash*, hangs on hang*, runs out of memory on
    mem* (its worker answers, then exits), fails on err*, notes the others; every file it
    is given is counted in the log, one character a reading."""
    import time
    from pathlib import Path

    name = Path(path).name
    (Path(path).parent / "log").mkdir(exist_ok=True)
    with open(Path(path).parent / "log" / name, "a") as count:
        count.write("x")
    if name.startswith("crash"):
        os.abort()
    if name.startswith("mem"):
        raise MemoryError
    if name.startswith("err"):
        raise ValueError(name)
    if name.startswith("hang"):
        time.sleep(30)
    return _logged(path)


def test_a_reader_holds_its_next_file_while_the_caller_records_a_result(tmp_path):
    """One worker: while the caller still holds the first result, the worker reads the
    next file and has the one after waiting in its pipe, never more."""
    paths = [tmp_path / f"f{i:02d}" for i in range(8)]
    stream = sandbox.read_each(paths, workers=1, reader=_logged)
    assert next(stream).values == "f00"
    log = tmp_path / "log"
    deadline = time.monotonic() + 10
    while len(list(log.iterdir())) < 1 + sandbox.DEPTH and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # and no further, until the caller takes a result
    assert sorted(p.name for p in log.iterdir()) == ["f00", "f01", "f02"]
    assert [r.values for r in stream] == [p.name for p in paths[1:]]


def test_files_waiting_behind_a_crash_or_a_hang_are_read_by_another_worker(tmp_path):
    names = ["f00", "crash01", "f02", "f03", "hang04", "f05", "mem06", "f07", "mem08", "f09"]
    results = sandbox.read_all([tmp_path / n for n in names], workers=1, timeout=1,
                               reader=_by_name)
    assert [r.failure for r in results] == ["", "crash", "", "", "timeout", "", "memory", "",
                                            "memory", ""]
    read = ["f00", "f02", "f03", "f05", "f07", "f09"]
    assert [r.values for r in results if r.ok] == read
    assert "SIGABRT" in results[1].detail
    readings = {p.name: p.read_text() for p in (tmp_path / "log").iterdir()}
    assert readings == {n: "x" for n in names}  # each given to a reader once


def test_a_file_waiting_in_a_pipe_is_timed_from_when_its_reader_starts_it(tmp_path):
    """Back to back, each file takes 0.5 s of a 0.9 s time-out: none is timed out for the
    time the one before it took."""
    paths = [tmp_path / f"slow{i}" for i in range(4)]
    results = sandbox.read_all(paths, workers=1, timeout=0.9, reader=_logged)
    assert [(r.failure, r.values) for r in results] == [("", p.name) for p in paths]


def test_a_file_behind_an_error_is_read_once_whatever_it_does_to_its_reader(tmp_path):
    """An ordinary error leaves the reader going on with the file waiting in its pipe; when
    that file then crashes it or runs it out of memory, it is not read a second time."""
    names = ["f00", "err01", "mem02", "f03", "err04", "crash05", "f06"]
    results = []
    for result in sandbox.read_each([tmp_path / n for n in names], workers=1,
                                    reader=_by_name):
        results.append(result)
        time.sleep(0.2)  # the caller records slowly: the reader is on its next file
    assert [r.failure for r in results] == ["", "error", "memory", "", "error", "crash", ""]
    readings = {p.name: p.read_text() for p in (tmp_path / "log").iterdir()}
    assert readings == {n: "x" for n in names}  # each given to a reader once


def test_a_worker_found_gone_when_handed_a_file_is_taken_at_its_last_word(tmp_path,
                                                                           monkeypatch):
    """A worker whose heap ran dry answers and exits; when it is found gone only as it is
    handed its next file, its answer still stands (memory, not a crash) and that next
    file goes to a new worker."""
    hand_out = sandbox._next_worker

    def late(pool, *args):  # the caller is slow: the worker is gone by the time it sends
        worker = hand_out(pool, *args)
        if worker is not None and worker.tasks:
            time.sleep(0.3)
        return worker

    monkeypatch.setattr(sandbox, "_next_worker", late)
    results = sandbox.read_all([tmp_path / n for n in ("f00", "mem01", "f02")], workers=1,
                               reader=_by_name)
    assert [(r.failure, r.values) for r in results] == [("", "f00"), ("memory", None),
                                                        ("", "f02")]


def test_a_run_stopped_midway_loses_no_file(ws, inbox, monkeypatch):
    """Records are committed every so often, not file by file: a run that stops between
    two commits leaves files placed but not recorded, and the next run records them all."""
    from toolkit import collect as collecting

    monkeypatch.setattr(collecting, "COMMIT_EVERY", 3600.0)  # nothing committed before the end
    recorded, real = [], collecting._record_read

    def stop_at_the_third(run, conn, entry, result):
        if len(recorded) == 2:
            raise KeyboardInterrupt
        recorded.append(entry.item.original_name)
        real(run, conn, entry, result)

    monkeypatch.setattr(collecting, "_record_read", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        collect(ws, "2024H1", [inbox])
    assert rows_of(ws) == [] and len(recorded) == 2  # rolled back, the originals untouched
    monkeypatch.setattr(collecting, "_record_read", real)
    report = collect(ws, "2024H1", [inbox])
    assert {r.name: r.status for r in by_name(report).values()} == \
        {n: s for n, (s, _) in EXPECTED.items()}
    assert len(rows_of(ws)) == len(EXPECTED)
    for row in rows_of(ws):
        assert not row.stored_path or (ws.root / row.stored_path).is_file()


def test_reading_starts_while_later_files_are_still_being_staged(tmp_path):
    """read_each takes its paths one at a time: the first result arrives before the
    caller has produced the last path."""
    produced = []

    def paths():
        for i in range(12):
            produced.append(i)
            yield tmp_path / f"f{i:02d}"

    stream = sandbox.read_each(paths(), workers=2, reader=_logged)
    first = next(stream)
    assert first.values == "f00" and len(produced) < 12
    assert [r.values for r in stream] == [f"f{i:02d}" for i in range(1, 12)]


def test_values_read_from_the_checked_bytes_are_the_values_read_from_the_file(tmp_path):
    from toolkit.read import read_submission, values_to_json
    from toolkit.safety import inspect

    path = write(tmp_path / "疏勒县.xlsx", template_bytes("653122", actual=42.0))
    verdict, parts = inspect(path.read_bytes())
    given = read_submission(path, verdict.format, path.read_bytes(), parts)
    assert parts and values_to_json(given) == values_to_json(read_submission(path))
    assert read_identity(given).identity.unit_code == "653122"


def test_a_failure_while_later_files_are_prepared_stops_the_readers(tmp_path):
    """An error in the caller's iterable (a disk that filled while staging, say) reaches
    the caller, and no reader process is left behind."""
    import multiprocessing

    def paths():
        yield tmp_path / "f00"
        yield tmp_path / "f01"
        raise OSError("No space left on device")

    stream = sandbox.read_each(paths(), workers=2, reader=_logged)
    with pytest.raises(OSError, match="No space"):
        list(stream)
    assert multiprocessing.active_children() == []
