"""What the paths given to collect expand to: folders, archives, messages, mailboxes."""

from __future__ import annotations

import datetime as dt
import email.policy
import io
import zipfile
from email.message import EmailMessage

import pytest
from collect_fixtures import (fingerprint_tree, message, rfc2047_message, template_bytes,
                              write, write_maildir, write_mbox)

from toolkit.sources import display_name, expand

CST = dt.timezone(dt.timedelta(hours=8))
JULY5 = dt.datetime(2024, 7, 5, 9, 30, tzinfo=CST)


@pytest.fixture(scope="module")
def workbook() -> bytes:
    return template_bytes("653101")


def names(expansion):
    return [i.original_name for i in expansion.items]


def test_a_folder_is_searched_recursively_and_noise_passed_over(tmp_path, workbook):
    write(tmp_path / "in" / "喀什市.xlsx", workbook)
    write(tmp_path / "in" / "county" / "deep" / "疏勒县.ods", b"PK\x03\x04")
    write(tmp_path / "in" / "renamed.dat", workbook)  # a workbook whatever its name
    write(tmp_path / "in" / "notes.txt", b"call back")
    write(tmp_path / "in" / "~$喀什市.xlsx", b"lock")  # Excel's lock file
    write(tmp_path / "in" / ".DS_Store", b"x")
    write(tmp_path / "in" / "letter.docx", workbook)  # a zip, but a Word document by name
    found = expand([tmp_path / "in"])
    assert sorted(names(found)) == ["renamed.dat", "喀什市.xlsx", "疏勒县.ods"]
    assert {s.name: s.why for s in found.skipped} == {"notes.txt": "not_a_workbook",
                                                      "letter.docx": "not_a_workbook"}
    item = next(i for i in found.items if i.original_name == "喀什市.xlsx")
    assert item.read(10**8) == workbook and item.size == len(workbook)
    assert item.sent_at is not None and item.sender == ""


def test_a_file_named_explicitly_is_always_taken(tmp_path):
    path = write(tmp_path / "notes.txt", b"not a workbook")
    assert names(expand([path])) == ["notes.txt"]


def test_file_time_is_the_sent_time(tmp_path, workbook):
    when = dt.datetime(2024, 7, 3, 16, 0)
    path = write(tmp_path / "a.xlsx", workbook, mtime=when)
    item = expand([path]).items[0]
    assert item.sent_at == when.astimezone()
    assert item.read(5) == workbook[:5]


def test_zip_members_are_read_in_memory_and_names_never_become_paths(tmp_path, workbook):
    archive = tmp_path / "returned.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("../../evil.xlsx", workbook)
        out.writestr("/etc/abs.xlsx", workbook)
        out.writestr("folder/喀什市.xlsx", workbook)
        out.writestr("readme.txt", "hello")
        out.writestr("__MACOSX/folder/._喀什市.xlsx", "mac")
    before = fingerprint_tree(tmp_path)
    found = expand([archive])
    assert sorted(names(found)) == ["abs.xlsx", "evil.xlsx", "喀什市.xlsx"]
    assert {i.source for i in found.items} == {f"{archive}!../../evil.xlsx",
                                               f"{archive}!/etc/abs.xlsx",
                                               f"{archive}!folder/喀什市.xlsx"}
    assert all(i.read(10**8) == workbook for i in found.items)
    assert fingerprint_tree(tmp_path) == before  # nothing extracted anywhere
    assert not (tmp_path.parent / "evil.xlsx").exists()


def test_gbk_member_names_from_windows_zips_are_decoded(tmp_path, workbook):
    name = "喀什市报表.xlsx"
    raw = name.encode("gbk")
    placeholder = "X" * (len(raw) - 5) + ".xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr(placeholder, workbook)
    data = buffer.getvalue().replace(placeholder.encode(), raw)  # no UTF-8 flag: as WinRAR
    archive = write(tmp_path / "a.zip", data)
    assert names(expand([archive])) == [name]


def test_a_workbook_renamed_zip_is_a_workbook(tmp_path, workbook):
    path = write(tmp_path / "report.zip", workbook)
    found = expand([path])
    assert names(found) == ["report.zip"] and found.items[0].source == str(path)


def test_eml_gives_attachments_with_sender_id_and_date(tmp_path, workbook):
    msg = message("KaShi@Example.cn", JULY5, [("喀什市2024上半年.xlsx", workbook)],
                  message_id="<r1@example.cn>")
    path = write(tmp_path / "m.eml", msg.as_bytes())
    found = expand([path])
    [item] = found.items
    assert item.original_name == "喀什市2024上半年.xlsx"  # RFC 2231, decoded
    assert item.sender == "kashi@example.cn"
    assert item.message_id == "<r1@example.cn>"
    assert item.sent_at == JULY5
    assert item.read(10**8) == workbook
    assert item.source.startswith(f"{path}#") and item.source.endswith("喀什市2024上半年.xlsx")


def test_rfc2047_names_are_decoded(tmp_path, workbook):
    raw = rfc2047_message("a@example.cn", JULY5, "疏勒县报表.xlsx", workbook)
    assert b'filename="=?gb18030?' in raw
    found = expand([write(tmp_path / "m.eml", raw)])
    assert names(found) == ["疏勒县报表.xlsx"]


def test_hostile_attachment_names_are_metadata_only(tmp_path, workbook):
    msg = message("a@example.cn", JULY5, [("../../evil.xlsx", workbook),
                                           ("/tmp/abs\x1b[2J.xlsx", workbook)])
    path = write(tmp_path / "mail" / "m.eml", msg.as_bytes())
    before = fingerprint_tree(tmp_path)
    found = expand([path])
    assert names(found) == ["../../evil.xlsx", "/tmp/abs[2J.xlsx"]  # no control characters
    assert fingerprint_tree(tmp_path) == before


def test_mbox_messages_are_named_by_message_id(tmp_path, workbook):
    first = message("kashi@example.cn", JULY5, [("a.xlsx", workbook)], "<m1@example.cn>")
    second = message("shule@example.cn", JULY5 + dt.timedelta(days=1),
                     [("b.xlsx", workbook), ("c.xls", workbook)], "<m2@example.cn>")
    plain = message("shule@example.cn", JULY5, [], "<m3@example.cn>")
    box = write_mbox(tmp_path / "inbox", [first, second, plain])  # detected by "From " line
    found = expand([box])
    assert names(found) == ["a.xlsx", "b.xlsx", "c.xls"]
    assert [i.message_id for i in found.items] == ["<m1@example.cn>", "<m2@example.cn>",
                                                   "<m2@example.cn>"]
    assert found.items[1].source.startswith(f"{box}#<m2@example.cn>#")
    assert [s.why for s in found.skipped] == ["no_attachment"]
    assert expand([box]).items == found.items  # the same sources every time


def test_maildir_in_a_folder(tmp_path, workbook):
    msg = message("shule@example.cn", JULY5, [("疏勒县.xlsx", workbook)], "<md@example.cn>")
    write_maildir(tmp_path / "in" / "Maildir", [msg])
    found = expand([tmp_path / "in"])
    [item] = found.items
    assert (item.original_name, item.sender, item.sent_at) == ("疏勒县.xlsx", "shule@example.cn",
                                                               JULY5)
    assert expand([tmp_path / "in" / "Maildir"]).items == found.items


def test_zip_attached_to_a_message_is_opened(tmp_path, workbook):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr("喀什市.xlsx", workbook)
        out.writestr("疏附县.xlsx", workbook)
    msg = message("kashi@example.cn", JULY5, [])
    msg.add_attachment(buffer.getvalue(), maintype="application", subtype="zip",
                       filename="报表.zip")
    found = expand([write(tmp_path / "m.eml", msg.as_bytes())])
    assert names(found) == ["喀什市.xlsx", "疏附县.xlsx"]
    assert {i.sender for i in found.items} == {"kashi@example.cn"}
    assert {i.sent_at for i in found.items} == {JULY5}  # the message's Date, not the zip's


def test_forwarded_message_attachments_are_found(tmp_path, workbook):
    inner = message("shule@example.cn", JULY5, [("疏勒县.xlsx", workbook)])
    outer = EmailMessage(policy=email.policy.default)
    outer["From"] = "office@example.cn"
    outer["Date"] = "Mon, 08 Jul 2024 10:00:00 +0800"
    outer.set_content("转发")
    outer.add_attachment(inner)
    found = expand([write(tmp_path / "fwd.eml", outer.as_bytes())])
    assert names(found) == ["疏勒县.xlsx"] and found.items[0].sender == "office@example.cn"


def test_signature_images_are_passed_over(tmp_path, workbook):
    msg = message("a@example.cn", JULY5, [("表.xlsx", workbook)])
    msg.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename="image001.png")
    found = expand([write(tmp_path / "m.eml", msg.as_bytes())])
    assert names(found) == ["表.xlsx"] and [s.name for s in found.skipped] == ["image001.png"]


def test_display_name_drops_control_characters():
    assert display_name("a\x00b\x1b[31m.xlsx\n") == "ab[31m.xlsx"
    assert display_name("") == "unnamed"


def test_the_workspace_outputs_are_never_collected_again(tmp_path, workbook):
    write(tmp_path / "ws" / "outputs" / "2024H1" / "received" / "653101_abc.xlsx", workbook)
    write(tmp_path / "ws" / "inbox" / "喀什市.xlsx", workbook)
    found = expand([tmp_path / "ws"], exclude=[tmp_path / "ws" / "outputs"])
    assert names(found) == ["喀什市.xlsx"]
    assert [(s.name, s.why) for s in found.skipped] == [("outputs", "workspace_output")]


def test_a_link_into_the_workspace_outputs_is_not_collected_either(tmp_path, workbook):
    kept = write(tmp_path / "ws" / "outputs" / "2024H1" / "received" / "653101_abc.xlsx",
                 workbook)
    write(tmp_path / "inbox" / "喀什市.xlsx", workbook)
    (tmp_path / "inbox" / "link.xlsx").symlink_to(kept)
    (tmp_path / "inbox" / "folder").symlink_to(kept.parent, target_is_directory=True)
    found = expand([tmp_path / "inbox"], exclude=[tmp_path / "ws" / "outputs"])
    assert names(found) == ["喀什市.xlsx"]
    assert sorted((s.name, s.why) for s in found.skipped) == [
        ("folder", "workspace_output"), ("link.xlsx", "workspace_output")]
