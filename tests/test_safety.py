"""The checks a received file passes before any parser sees it, on files built here."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from collect_fixtures import (CSV, HTML, billion_laughs, duplicate_part, encrypted_workbook,
                              far_cell, ole_file, rezip, template_bytes, zip_bomb)

from toolkit.safety import Limits, check, ole_stream_names


@pytest.fixture(scope="module")
def workbook() -> bytes:
    return template_bytes("653101")


def test_a_real_template_passes_as_xlsx(workbook):
    verdict = check(workbook)
    assert verdict.ok and verdict.format == "xlsx" and not verdict.macros


def test_zip_bomb_is_refused_before_inflating_it_all(workbook):
    bomb = zip_bomb(workbook, inflated_mb=20)
    assert len(bomb) < 100_000  # small on disk...
    verdict = check(bomb)  # ...about 1000 times larger inflated
    assert verdict.reason == "inflate"
    assert "xl/worksheets/sheet1.xml" in verdict.detail


def test_a_part_lying_about_its_size_is_measured_not_believed(workbook):
    """The declared (uncompressed) size says 1000 bytes; the part really inflates to 8 MB."""
    bomb = bytearray(zip_bomb(workbook, inflated_mb=8))
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := bomb.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if bomb[name_at:name_at + len(name)] == name:
                struct.pack_into("<I", bomb, start + size_at, 1000)
            start += 4
    with zipfile.ZipFile(io.BytesIO(bytes(bomb))) as archive:
        assert archive.getinfo(name.decode()).file_size == 1000
    assert check(bytes(bomb)).reason == "inflate"


def test_parts_over_100_times_are_fine_while_small():
    """A 90 KB part of zeros inflates ~1000 times but stays under the 100 KB floor."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + " " * 90_000 + "</worksheet>")
    assert check(out.getvalue()).ok


def test_inflated_total_is_capped_across_parts(workbook):
    parts = {f"xl/media/pad{i}.xml": b"<a>" + bytes(range(256)) * 400 + b"</a>" for i in range(8)}
    padded = rezip(workbook, add=parts, compresslevel=0)
    assert check(padded, Limits(max_inflated=600_000)).reason == "inflate"
    assert check(padded).ok


def test_duplicate_part_names_are_refused(workbook):
    verdict = check(duplicate_part(workbook))
    assert verdict.reason == "duplicate_parts" and verdict.fields["part"] == "xl/workbook.xml"


def test_duplicates_differing_only_in_case_are_refused(workbook):
    assert check(rezip(workbook, add={"XL/Workbook.xml": b"<workbook/>"})).reason == \
        "duplicate_parts"


def test_too_many_parts_are_refused(workbook):
    verdict = check(workbook, Limits(max_parts=5))
    assert verdict.reason == "too_many_parts" and verdict.fields["count"] > 5


def test_billion_laughs_is_refused(workbook):
    verdict = check(billion_laughs(workbook))
    assert verdict.reason == "entity" and verdict.detail == "xl/sharedStrings.xml"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_dtd_in_utf16_is_refused_too(workbook, encoding):
    from collect_fixtures import BILLION_LAUGHS

    text = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    utf16 = rezip(workbook, replace={"xl/sharedStrings.xml": lambda _: text.encode(encoding)})
    assert check(utf16).reason == "entity"


@pytest.mark.parametrize("dimension", [False, True], ids=["cell", "dimension"])
def test_a_sheet_reaching_xfd1048576_is_refused(workbook, dimension):
    verdict = check(far_cell(workbook, dimension=dimension))
    assert verdict.reason == "too_many_cells" and verdict.fields["cell"] == "XFD1048576"


def test_row_and_column_caps_are_limits(workbook):
    assert check(workbook, Limits(max_rows=5)).reason == "too_many_cells"
    assert check(workbook, Limits(max_cols=3)).reason == "too_many_cells"


def test_macros_are_flagged_not_refused(workbook):
    xlsm = rezip(workbook, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not run"})
    verdict = check(xlsm)
    assert verdict.ok and verdict.format == "xlsm" and verdict.macros


def test_encrypted_workbook_says_remove_the_password():
    data = encrypted_workbook()
    assert {"EncryptionInfo", "EncryptedPackage"} <= set(ole_stream_names(data))
    verdict = check(data)
    assert verdict.reason == "encrypted"
    from toolkit.catalogue import t
    assert t(f"collect.reason.{verdict.reason}", "zh") == "文件已加密，请取消密码后重新报送"


def test_ole_with_a_workbook_stream_is_xls():
    assert check(ole_file({"Workbook": b"\x09\x08" + b"\0" * 100})).format == "xls"
    word = check(ole_file({"WordDocument": b"\xec\xa5"}))
    assert word.reason == "other_document" and word.fields["kind"] == "Word"


def test_truncated_ole_is_damaged():
    assert check(encrypted_workbook()[:600]).reason == "damaged"


@pytest.mark.parametrize("data, reason", [
    (CSV, "csv"), (HTML, "html"), (b"", "empty"), (b"just some words\n", "text"),
    (b"%PDF-1.7\n...", "other_document"), (b"\x00\x01\x02binary", "unknown_format"),
    ('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?><Workbook/>'.encode(),
     "xml_spreadsheet"),
], ids=["csv", "html", "empty", "text", "pdf", "binary", "xml2003"])
def test_other_formats_are_named(data, reason):
    assert check(data).reason == reason


def test_truncated_zip_is_damaged(workbook):
    verdict = check(workbook[: len(workbook) // 2])
    assert verdict.reason == "damaged"


def test_a_zip_member_with_a_bad_checksum_is_damaged(workbook):
    broken = bytearray(workbook)
    start = broken.find(b"PK\x03\x04")
    data_at = start + 30 + struct.unpack_from("<HH", broken, start + 26)[0] + \
        struct.unpack_from("<HH", broken, start + 26)[1]
    broken[data_at + 5] ^= 0xFF
    assert check(bytes(broken)).reason == "damaged"


def test_word_document_renamed_is_named(workbook):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    verdict = check(out.getvalue())
    assert verdict.reason == "other_document" and verdict.format == "docx"


def test_size_limit(workbook):
    verdict = check(workbook, Limits(max_bytes=1000))
    assert verdict.reason == "too_large" and verdict.fields["limit_mb"] == 0


# --- ods ------------------------------------------------------------------------------

def _ods(content: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
        archive.writestr("content.xml", content)
    return out.getvalue()


ODS_BODY = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
            '<office:body><office:spreadsheet><table:table table:name="S">{rows}'
            '</table:table></office:spreadsheet></office:body></office:document-content>')
VALUE = '<table:table-cell office:value-type="float" office:value="1"{rep}><text:p>1</text:p>' \
        '</table:table-cell>'


def test_ods_padded_with_empty_repeats_passes():
    """LibreOffice pads every sheet with empty repeated cells and rows to its very end."""
    rows = ('<table:table-row>' + VALUE.format(rep="") +
            '<table:table-cell table:number-columns-repeated="16383"/></table:table-row>'
            '<table:table-row table:number-rows-repeated="1048575">'
            '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')
    verdict = check(_ods(ODS_BODY.format(rows=rows)))
    assert verdict.ok and verdict.format == "ods"


def test_ods_repeating_a_value_over_the_sheet_is_refused():
    rows = ('<table:table-row table:number-rows-repeated="1048576">'
            + VALUE.format(rep=' table:number-columns-repeated="16384"') + '</table:table-row>')
    verdict = check(_ods(ODS_BODY.format(rows=rows)))
    assert verdict.reason == "too_many_cells" and verdict.fields["cell"] == "XFD1048576"


def test_ods_value_after_a_long_empty_stretch_is_refused():
    rows = ('<table:table-row table:number-rows-repeated="500000"><table:table-cell/>'
            '</table:table-row><table:table-row>' + VALUE.format(rep="") + '</table:table-row>')
    assert check(_ods(ODS_BODY.format(rows=rows))).reason == "too_many_cells"


def test_ods_written_by_odfpy_passes(tmp_path):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="指标填报")
    row = TableRow()
    cell = TableCell(valuetype="float", value="12")
    cell.addElement(P(text="12"))
    row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "a.ods"))
    verdict = check((tmp_path / "a.ods").read_bytes())
    assert verdict.ok and verdict.format == "ods"


def test_every_refusal_has_a_message_in_both_languages():
    import re
    from pathlib import Path

    from toolkit import safety
    from toolkit.catalogue import entries

    source = Path(safety.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'_refuse\(\s*[^,()]+,\s*"(\w+)"', source))
    assert {"encrypted", "inflate", "entity", "too_many_cells", "csv", "html"} <= codes
    read_failures = {f"read_{kind}" for kind in ("crash", "memory", "timeout", "error")}
    for code in codes | read_failures | {"unreadable", "unidentified", "other_period"}:
        texts = entries()[f"collect.reason.{code}"]
        assert texts["zh"] and texts["en"]
        assert "\n" not in texts["zh"] and texts["zh"].count("。") == 0  # one plain sentence


# --- the sheet's extent: where the reader places every cell, in any spelling ------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sheet(body: str, head: str = "") -> bytes:
    return (f'<worksheet xmlns="{MAIN_NS}" xmlns:x="{MAIN_NS}">{head}'
            f"<sheetData>{body}</sheetData></worksheet>").encode()


@pytest.fixture(scope="module")
def one_sheet(tmp_path_factory) -> bytes:
    """A workbook of one empty sheet (xlsxwriter): what its sheet XML says is all it holds."""
    import xlsxwriter

    path = tmp_path_factory.mktemp("one") / "one.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet()
    book.close()
    return path.read_bytes()


def _with_sheet(workbook: bytes, xml: bytes, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    return rezip(workbook, replace={part: lambda _: xml})


def _read_extent(data: bytes) -> tuple[int, int]:
    """The last row and column of the first sheet holding a value, as python-calamine (the
    reader collect uses) places its cells. Only for sheets of a few hundred cells: it
    lays the sheet out in full."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_name(book.sheets_metadata[0].name).to_python(skip_empty_area=False)
    placed = [(r, c) for r, line in enumerate(rows, 1) for c, v in enumerate(line, 1) if v != ""]
    return max((r for r, _ in placed), default=0), max((c for _, c in placed), default=0)


def _scanned_extent(xml: bytes) -> tuple[int, int]:
    from toolkit.safety import _SheetExtent

    extent = _SheetExtent()
    for at in range(0, len(xml), 7):  # fed in pieces, as a part is inflated
        extent.feed(xml[at:at + 7])
    extent.close()
    return extent.rows, extent.cols


CELL_SPELLINGS = [
    '<c r="{ref}" s="1"><v>1</v></c>',
    '<c s="1" r="{ref}"><v>1</v></c>',  # r not first
    "<c r='{ref}'><v>1</v></c>",  # single quotes
    '<c\tr="{ref}"><v>1</v></c>',  # a tab after the name
    '<c\nr="{ref}"><v>1</v></c>',
    '<x:c r="{ref}"><x:v>1</x:v></x:c>',  # a prefix
    '<c  r="{ref}"><v>1</v></c>',  # two spaces
    '<c r = "{ref}"><v>1</v></c>',
]
ROW_SPELLINGS = ['<row r="{n}">', '<row spans="1:2" r="{n}">', "<row r='{n}'>",
                 '<x:row r="{n}">', '<row\tr="{n}">', "<row>", '<row s="1">']
UNPLACED_CELLS = ["<c><v>1</v></c>", '<c s="1"><v>2</v></c>', "<c\t><v>3</v></c>"]


def _end(row: str) -> str:
    return "</x:row>" if row.startswith("<x:") else "</row>"


@pytest.mark.parametrize("cell", CELL_SPELLINGS)
@pytest.mark.parametrize("row", ROW_SPELLINGS)
def test_every_spelling_of_a_far_cell_is_seen(cell, row):
    body = (row.format(n=1) + '<c r="A1"><v>1</v></c>' + cell.format(ref="XFD1048576")
            + _end(row) + row.format(n=2) + '<c r="B0002"><v>2</v></c>' + _end(row))
    assert _scanned_extent(_sheet(body, '<dimension ref="A1:B2"/>')) == (1048576, 16384)


@pytest.mark.parametrize("body, where", [
    # a row's end moves to the next row, column 1 again; its start only when it says where
    ('<row r="3"><c r="C3"><v>1</v></c>' + "<c><v>1</v></c>" * 300 + "</row>"
     + "<row/>" * 40 + '<row><c r="B44"><v>1</v></c><c s="1"><v>1</v></c></row>', (44, 303)),
    ('<row r="1"><row r="60"/></row><c><v>1</v></c>', (62, 1)),  # rows inside rows
    ("<c><v>1</v></c>" * 20 + '<row r="2">' + "<c><v>1</v></c>" * 20 + "</row>", (2, 40)),
    ('<row r="2"><c r="C9"><v>1</v></c><c><v>1</v></c></row>', (9, 4)),  # a cell's row
    ('<row r="002"><c r="b0005"><v>1</v></c></row>', (5, 2)),  # leading zeros, lower case
])
def test_cells_without_a_reference_are_placed_where_the_reader_puts_them(one_sheet, body,
                                                                           where):
    data = _with_sheet(one_sheet, _sheet(body))
    assert _read_extent(data) == where
    rows, cols = where
    assert check(data, Limits(max_rows=rows, max_cols=cols)).ok
    for limits in (Limits(max_rows=rows - 1, max_cols=cols), Limits(max_rows=rows,
                                                                      max_cols=cols - 1)):
        assert check(data, limits).reason == "too_many_cells"


def test_what_passes_the_checks_the_reader_places_within_the_caps(one_sheet):
    """Random sheets in every spelling, read back by the reader itself: whatever the checks
    let through, it places within the caps."""
    from hypothesis import given, settings, strategies as st

    placed = st.tuples(st.sampled_from(["A", "b", "J", "Z", "AB", "aC"]), st.integers(1, 70),
                       st.integers(0, 2), st.sampled_from(CELL_SPELLINGS))
    unplaced = st.sampled_from(UNPLACED_CELLS).map(lambda c: ("", 0, 0, c))
    rows = st.lists(st.tuples(st.sampled_from(ROW_SPELLINGS), st.integers(1, 70),
                              st.lists(st.one_of(placed, unplaced), max_size=5),
                              st.booleans()), max_size=6)

    @settings(max_examples=150, deadline=None)
    @given(rows, st.integers(1, 80), st.integers(1, 40))
    def sound(found, max_rows, max_cols):
        parts = []
        for row, number, cells, inside in found:  # cells in a row, or loose in sheetData
            parts.append(row.format(n=number) if inside else "")
            for letters, num, zeros, spelling in cells:
                parts.append(spelling.format(ref=f"{letters}{'0' * zeros}{num}"))
            parts.append(_end(row) if inside else "")
        data = _with_sheet(one_sheet, _sheet("".join(parts)))
        last_row, last_col = _read_extent(data)
        if check(data, Limits(max_rows=max_rows, max_cols=max_cols)).ok:
            assert last_row <= max_rows and last_col <= max_cols

    sound()


@pytest.mark.parametrize("body", [
    '<row r="1"><c r="B1" r="Z900"><v>1</v></c></row>',  # the reader takes the last r
    '<row r="1"><c r="B1"\nr="Z900"><v>1</v></c></row>',
    '<row r="1"><c r="A1"><v>1</v></c></row>' + "<c><v>1</v></c>" * 30,
    '<row r="1"><row r="600"/></row><c><v>1</v></c>',
    '<row r="1"><c r="' + "A" * 50_000 + '1"><v>1</v></c></row>',  # no column that long
])
def test_a_sheet_spelled_to_slip_past_the_caps_is_refused(one_sheet, body):
    verdict = check(_with_sheet(one_sheet, _sheet(body)), Limits(max_rows=500, max_cols=20))
    assert not verdict.ok and verdict.reason in ("too_many_cells", "damaged")
    assert len(verdict.detail) < 200


def test_a_sheet_behind_a_byte_order_mark_is_read_as_the_reader_reads_it(one_sheet):
    """The reader takes sheet XML for UTF-8 whatever mark it starts with."""
    caps = Limits(max_rows=500, max_cols=20)
    far = _sheet('<row r="1"><c r="A1"><v>1</v></c><c r="Z900"><v>1</v></c></row>')
    marked = _with_sheet(one_sheet, b"\xff\xfe" + far)
    assert _read_extent(marked) == (900, 26) and not check(marked, caps).ok
    polyglot = (b"\xff\xfe" + "<a>".encode("utf-16-le") + far
                + (b" " if len(far) % 2 else b"") + "</a>".encode("utf-16-le"))
    assert not check(_with_sheet(one_sheet, polyglot), caps).ok


def test_a_sheet_under_any_name_the_relationships_give_is_checked(one_sheet):
    caps = Limits(max_rows=500, max_cols=20)
    far = _sheet('<row r="600"><c r="A600"><v>1</v></c><c r="AB600"><v>1</v></c></row>')
    with zipfile.ZipFile(io.BytesIO(one_sheet)) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    hidden = rezip(one_sheet, replace={
        "xl/_rels/workbook.xml.rels": lambda _: rels.replace(b"worksheets/sheet1.xml",
                                                             b"media/sheet1.png"),
        "xl/worksheets/sheet1.xml": lambda _: b"",
    }, add={"xl/media/sheet1.png": far})
    assert _read_extent(hidden) == (600, 28)  # the reader does read it as the first sheet
    assert check(hidden, caps).reason == "too_many_cells"
    image = rezip(one_sheet, add={"xl/media/image1.png": b"\x89PNG\r\n<c <row " * 50})
    assert check(image, caps).ok  # a part nothing reads as a sheet is not parsed as one


def test_an_opendocument_file_holding_a_workbook_too_is_refused(one_sheet):
    hybrid = rezip(one_sheet, add={"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                  "content.xml": b"<office:document-content/>",
                                  "META-INF/manifest.xml": b"<manifest/>"})
    assert check(hybrid).reason == "damaged"


def test_a_far_cell_spelled_otherwise_is_still_refused(workbook):
    for spelling in ('<c s="1" r="XFD1048576"><v>1</v></c>', "<c r='XFD1048576'><v>1</v></c>"):
        far = rezip(workbook, replace={"xl/worksheets/sheet2.xml": lambda xml, s=spelling: xml.replace(
            b"</sheetData>", b'<row r="7000">' + s.encode() + b"</row></sheetData>", 1)})
        verdict = check(far)
        assert verdict.reason == "too_many_cells" and verdict.fields["cell"] == "XFD1048576"


def test_a_row_of_cells_without_references_past_the_last_column_is_refused(workbook):
    from toolkit.layout import col_letter

    wide = rezip(workbook, replace={"xl/worksheets/sheet2.xml": lambda xml: xml.replace(
        b"</sheetData>", b'<row r="90">' + b"<c><v>1</v></c>" * 300 + b"</row></sheetData>", 1)})
    verdict = check(wide)
    assert verdict.reason == "too_many_cells" and verdict.fields["cell"].startswith(col_letter(300))
    assert check(wide, Limits(max_cols=300)).ok


# --- the quick test: literal searches that prove a stretch of sheet XML within the caps ---

def test_what_the_quick_test_passes_the_reader_places_within_the_caps(one_sheet):
    from hypothesis import given, settings, strategies as st

    from toolkit.safety import surely_within

    cells = st.one_of(
        st.tuples(st.sampled_from(["A", "J", "Z", "AA", "IV"]), st.integers(1, 90),
                  st.integers(0, 2), st.sampled_from(CELL_SPELLINGS)),
        st.sampled_from(UNPLACED_CELLS).map(lambda c: ("", 0, 0, c)))

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(1, 90), st.lists(cells, max_size=4)), max_size=5),
           st.sampled_from(ROW_SPELLINGS), st.integers(1, 120), st.integers(1, 300))
    def sound(rows, row, max_rows, max_cols):
        parts = []
        for number, found in rows:
            parts.append(row.format(n=number))
            for letters, num, zeros, spelling in found:
                parts.append(spelling.format(ref=f"{letters}{'0' * zeros}{num}"))
            parts.append(_end(row))
        xml = _sheet("".join(parts))
        if surely_within(xml, Limits(max_rows=max_rows, max_cols=max_cols)):
            last_row, last_col = _read_extent(_with_sheet(one_sheet, xml))
            assert last_row <= max_rows and last_col <= max_cols

    sound()


@pytest.mark.parametrize("last", [0, 1, 9, 10, 99, 250, 10000, 12345])
def test_the_pattern_for_row_numbers_takes_those_up_to_the_last_one(last):
    import re

    from toolkit.safety import _up_to

    up_to = re.compile(rb"0*(?:%s)" % _up_to(str(last), b"0123456789"))
    for number in range(0, 21000):
        for text in (str(number), f"00{number}"):
            assert bool(up_to.fullmatch(text.encode())) == (number <= last), text


@pytest.mark.parametrize("last", [1, 3, 26, 27, 52, 256, 702, 703, 16384])
def test_the_pattern_for_columns_takes_those_up_to_the_last_one(last):
    import re

    from toolkit.layout import col_letter
    from toolkit.safety import _up_to

    up_to = re.compile(rb"(?i:%s)" % _up_to(col_letter(last), b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    for col in range(1, 18279):
        for name in (col_letter(col), col_letter(col).lower()):
            assert bool(up_to.fullmatch(name.encode())) == (col <= last), name


def test_the_quick_test_proves_a_real_template_within_the_caps(workbook):
    from toolkit.safety import surely_within

    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        sheets = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and all(surely_within(xml, Limits()) for xml in sheets)


def test_a_big_sheet_of_plain_cells_is_proved_chunk_by_chunk(tmp_path, monkeypatch):
    """However the chunks of its XML fall, a sheet that keeps within the caps is never
    parsed: nothing is left to chance at a chunk's edge."""
    import xlsxwriter

    from toolkit import safety

    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for row in range(3000):
        sheet.write_row(row, 0, [row * 7 + col for col in range(20)])
    sheet.write_row(3000, 200, list(range(56)))  # out to IV, the last column allowed
    sheet.write(9999, 255, "IV10000")  # the last cell allowed
    book.close()
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > 8 * safety._CHUNK

    def parsed(*args, **kwargs):
        raise AssertionError("a sheet within the caps was parsed")

    monkeypatch.setattr(safety, "_SheetExtent", parsed)
    assert check(path.read_bytes()).ok


@pytest.mark.parametrize("limits", [Limits(), Limits(max_rows=5), Limits(max_cols=3),
                                    Limits(max_rows=40, max_cols=9)], ids=repr)
def test_verdicts_are_the_same_with_or_without_the_quick_test(workbook, limits, monkeypatch):
    from toolkit import safety

    files = [workbook, far_cell(workbook), far_cell(workbook, dimension=True)]
    quick = [check(data, limits) for data in files]
    monkeypatch.setattr(safety, "surely_within", lambda *args: False)
    exact = [check(data, limits) for data in files]
    assert [(v.reason, v.fields) for v in quick] == [(v.reason, v.fields) for v in exact]
    assert [v.reason for v in quick] == (["too_many_cells"] * 3 if limits != Limits()
                                         else ["", "too_many_cells", "too_many_cells"])


# --- what a second review found: each a way round the checks once -----------------------

@pytest.mark.parametrize("body, where, tighter", [
    # a row inside a cell's value moves the reader nowhere: it skips what a cell holds
    ("<row/>" * 590 + '<row><c><v>7<row r="1"/></v></c></row><row><c><v>1</v></c></row>',
     (592, 1), Limits(max_rows=591, max_cols=1)),
    ("<c><v>1<row/></v></c>" * 30, (1, 30), Limits(max_rows=40, max_cols=29)),
])
def test_rows_and_cells_inside_a_cell_move_the_count_on_never_back(one_sheet, body, where,
                                                                    tighter):
    data = _with_sheet(one_sheet, _sheet(body))
    assert _read_extent(data) == where
    assert check(data, tighter).reason == "too_many_cells"


def test_a_part_with_a_second_name_in_a_unicode_path_field_is_refused(one_sheet):
    import struct
    import zlib

    shown, real = "xl/media/image1.png", "xl/worksheets/sheet1.xml"
    body = b"\x01" + struct.pack("<I", zlib.crc32(shown.encode())) + real.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(one_sheet)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename == real:
                renamed = zipfile.ZipInfo(shown)
                renamed.extra = struct.pack("<HH", 0x7075, len(body)) + body
                dst.writestr(renamed, _sheet('<row r="900"><c r="Z900"><v>1</v></c></row>'))
            else:
                dst.writestr(info, src.read(info))
    verdict = check(out.getvalue())
    assert verdict.reason == "damaged" and real in verdict.detail


@pytest.mark.parametrize("target", ["worksheets/../worksheets/s.bin", "worksheets/a\\b.bin",
                                    "worksheets/it's.bin", "worksheets/s%2E.bin"])
def test_a_sheet_the_relationships_name_in_any_spelling_is_checked(one_sheet, target):
    from urllib.parse import unquote

    quote = '"' if "'" in target else "'"
    with zipfile.ZipFile(io.BytesIO(one_sheet)) as archive:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    hidden = rezip(one_sheet, replace={
        "xl/_rels/workbook.xml.rels": lambda _: rels.replace(
            b'Target="worksheets/sheet1.xml"', f"Target={quote}{target}{quote}".encode()),
    }, add={"xl/" + unquote(target): _sheet('<row r="900"><c r="Z900"><v>1</v></c></row>')})
    assert check(hidden, Limits(max_rows=500, max_cols=20)).reason == "too_many_cells"


@pytest.mark.parametrize("cell, names", [
    ('<table:table-cell office:value="1" table:number-columns-repeated="300"/>', {}),  # no type
    ('<table:table-cell office:value-type="float" office:value="1" '
     'table:number-columns-repeated="300"/>', {"table": "urn:x"}),  # table: bound elsewhere
])
def test_ods_cells_are_counted_by_the_names_the_reader_reads(cell, names):
    body = ODS_BODY.replace("urn:oasis:names:tc:opendocument:xmlns:table:1.0",
                            names.get("table", "urn:oasis:names:tc:opendocument:xmlns:table:1.0"))
    rows = f'<table:table-row table:number-rows-repeated="20000">{cell}</table:table-row>'
    assert check(_ods(body.format(rows=rows))).reason == "too_many_cells"


def test_a_zip_holding_two_formats_is_refused(one_sheet):
    sheet = b"\x00" * 16
    ods_around_xlsb = rezip(_ods(ODS_BODY.format(rows="")), add={
        "xl/workbook.bin": sheet, "xl/worksheets/sheet1.bin": sheet})
    assert check(ods_around_xlsb).reason == "damaged"
    assert check(rezip(one_sheet, add={"xl/workbook.bin": sheet})).reason == "damaged"


def test_inspect_hands_on_the_parts_it_inflated(workbook):
    from toolkit.safety import inspect

    verdict, parts = inspect(workbook)
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        assert verdict.ok and parts == {n: archive.read(n) for n in archive.namelist()}


def test_inspect_keeps_no_more_than_its_allowance(workbook, monkeypatch):
    from toolkit import safety

    monkeypatch.setattr(safety, "KEPT_BYTES", 30_000)
    verdict, parts = safety.inspect(workbook)
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        assert verdict.ok and 0 < sum(map(len, parts.values())) <= 30_000
        assert all(archive.read(n) == data for n, data in parts.items())


@pytest.mark.parametrize("name, fmt", [("workbook", "xlsx"), ("ole", "xls"), ("csv", "bin"),
                                       ("word", "bin")])
def test_sniff_format_names_what_a_reader_will_be_given(workbook, name, fmt):
    from toolkit.safety import sniff_format

    word = io.BytesIO()
    with zipfile.ZipFile(word, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    data = {"workbook": workbook, "ole": ole_file({"Workbook": b"\x09\x08" + b"\0" * 64}),
            "csv": CSV, "word": word.getvalue()}[name]
    assert sniff_format(data) == fmt


def test_parts_that_passed_are_not_scanned_again_but_every_new_part_is(workbook, monkeypatch):
    from toolkit import safety

    monkeypatch.setattr(safety, "_PASSED", {})
    scanned, real, whole = [], safety._scan_part, safety._whole_part
    monkeypatch.setattr(safety, "_scan_part",
                        lambda archive, info, *a, **k: scanned.append(info.filename)
                        or real(archive, info, *a, **k))
    monkeypatch.setattr(safety, "_whole_part",  # a plain part: judged at once, not streamed
                        lambda data, info, *a: scanned.append(info.filename)
                        or whole(data, info, *a))
    first = safety.inspect(workbook)
    assert first[0].ok and len(scanned) == len(first[1])
    scanned.clear()
    assert safety.inspect(workbook) == first and scanned == []  # the same parts, unscanned
    far = far_cell(workbook)
    verdict = check(far)
    assert verdict.reason == "too_many_cells" and verdict.fields["cell"] == "XFD1048576"
    assert scanned[-2:] == ["xl/worksheets/sheet1.xml"] * 2  # changed: quick, then exact
    assert check(workbook, Limits(max_inflated=50_000)).reason == "inflate"  # other limits


def test_what_is_remembered_stays_within_its_bounds(workbook, monkeypatch):
    from toolkit import safety

    monkeypatch.setattr(safety, "_PASSED", {})
    monkeypatch.setattr(safety, "REMEMBERED_PARTS", 3)
    monkeypatch.setattr(safety, "REMEMBERED_PART_BYTES", 10_000)
    safety.check(workbook)
    assert 0 < len(safety._PASSED) <= 3
    assert all(size <= 10_000 and len(data) == size for size, data in safety._PASSED.values())


# --- a plain part judged at once, any other as a stream: the same verdicts --------------

def _headers(data: bytearray, name: bytes):
    """(offset, kind) of the local and central headers naming ``name``."""
    for signature, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + name_at:start + name_at + len(name)] == name:
                yield start, signature
            start += 4


def _edited(workbook: bytes, edit, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    data = bytearray(workbook)
    for start, signature in list(_headers(data, part.encode())):
        edit(data, start, signature == b"PK\x03\x04")
    return bytes(data)


def _overlapping(data: bytearray, start: int, local: bool) -> None:
    """An entry's bytes said to run into the next entry's (its central size)."""
    if not local:
        at = start + 20
        struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] + 40)


def _stored(workbook: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def _unended(workbook: bytes) -> bytes:
    """The first sheet deflated whole but without the block that ends the stream."""
    import zlib

    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        xml = archive.read(sheet)
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = packer.compress(xml) + packer.flush(zlib.Z_SYNC_FLUSH)  # all of it, no end
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, packed if info.filename == sheet else src.read(info))
    data = bytearray(out.getvalue())
    for start, signature in list(_headers(data, sheet.encode())):  # stored: say deflated
        local = signature == b"PK\x03\x04"
        struct.pack_into("<H", data, start + (8 if local else 10), zipfile.ZIP_DEFLATED)
        struct.pack_into("<I", data, start + (14 if local else 16), zlib.crc32(xml))
        struct.pack_into("<I", data, start + (22 if local else 24), len(xml))
    return bytes(data)


def _straddling(workbook: bytes, part: str, at: bytes, tag: bytes) -> bytes:
    """``part`` with ``tag`` put in place of what starts at ``at`` (or just before it),
    beginning 600 bytes before the edge of the first chunk a stream reads."""
    from toolkit.safety import _CHUNK

    def move(xml: bytes) -> bytes:
        where = xml.index(at)
        pad = b" " * (_CHUNK - 600 - where)
        if at == b"<dimension":
            return xml[:where] + pad + tag + xml[xml.index(b">", where) + 1:]
        return xml[:where] + pad + tag + xml[where:]
    return rezip(workbook, replace={part: move})


def _sharing_a_header(workbook: bytes, part: str = "xl/_rels/workbook.xml.rels",
                      other: str = "xl/other.xml") -> bytes:
    """``workbook`` with a second central entry, ``other``, listed just before ``part``'s
    and naming ``part``'s local header."""
    end = workbook.rindex(b"PK\x05\x06")
    count, size, start = struct.unpack_from("<HII", workbook, end + 10)  # of the directory
    entries, at = [], start
    while at < start + size:
        lengths = struct.unpack_from("<HHH", workbook, at + 28)
        entry = workbook[at:at + 46 + sum(lengths)]
        name = entry[46:46 + lengths[0]].decode()
        if name == part:
            entries.append(entry[:28] + struct.pack("<H", len(other)) + entry[30:46]
                           + other.encode() + entry[46 + lengths[0]:])
        entries.append(entry)
        at += len(entry)
    directory = b"".join(entries)
    tail = bytearray(workbook[end:])
    struct.pack_into("<HHII", tail, 8, count + 1, count + 1, len(directory), start)
    return workbook[:start] + directory + bytes(tail)


def _long_then_row_0(xml: bytes) -> bytes:
    """A sheet whose row 0 a reader refuses, behind a tag longer than a chunk (of letters
    that do not deflate past the ratio cap)."""
    import random

    from toolkit.safety import _CHUNK

    letters = bytes(random.Random(0).choices(b"abcdefghijklmnop", k=2 * _CHUNK + 5000))
    return (b'<worksheet><sheetData><row r="0" x="' + letters
            + b'"><c r="A1"><v>1</v></c></row></sheetData></worksheet>')


def _cut_text_then_row_0(xml: bytes) -> bytes:
    """A sheet whose row 0 a reader refuses, with text that reads as a dimension cut at
    the edge of the first chunk."""
    from toolkit.safety import _CHUNK

    head, cut = b'<worksheet><sheetData><row r="0"><c r="A1"><v>', b'x:dimension ref="A'
    return (head + b"a" * (_CHUNK - len(head) - len(cut)) + cut
            + b'1"</v></c></row></sheetData></worksheet>')


def _odd_files(workbook: bytes) -> dict[str, bytes]:
    from collect_fixtures import BILLION_LAUGHS

    def flag(bit):
        def edit(data, start, local):
            at = start + (6 if local else 8)
            struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] | bit)
        return edit

    def local_name(data, start, local):
        if local:
            data[start + 30 + len(b"xl/worksheets/")] = ord("S")  # Sheet1.xml, here only

    def shorter(data, start, local):  # the stream cut short: its end is never reached
        at = start + (18 if local else 20)
        struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] - 40)

    def crc(data, start, local):
        at = start + (14 if local else 16)
        struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] ^ 1)

    def declared(data, start, local):  # says 1000 bytes, inflates to 8 MB
        struct.pack_into("<I", data, start + (22 if local else 24), 1000)

    def not_utf8_here(data, start, local):  # the name is UTF-8; its local header says not
        if local:
            at = start + 6
            struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] & ~0x800)

    accented = rezip(workbook, add={"docProps/é.xml": b"<a/>"})
    def dtd_far_below(xml):
        return xml.replace(b"</worksheet>", b" " * 100_000 + b"<!DOCTYPE x></worksheet>")

    far_then_dtd = rezip(far_cell(workbook), replace={"xl/worksheets/sheet1.xml": dtd_far_below})
    utf16 = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    return {
        "plain": workbook, "stored": _stored(workbook), "far cell": far_cell(workbook),
        "far dimension": far_cell(workbook, dimension=True),
        "stored far cell": _stored(far_cell(workbook)),
        "entities": billion_laughs(workbook),
        "entities in utf-16": rezip(workbook, replace={
            "xl/sharedStrings.xml": lambda _: utf16.encode("utf-16")}),
        "a byte-order mark": rezip(workbook, replace={
            "xl/worksheets/sheet1.xml": lambda xml: b"\xef\xbb\xbf" + xml}),
        "encrypted entry": _edited(workbook, flag(0x1)),
        "strong encryption": _edited(workbook, flag(0x40)),
        "local name differs": _edited(workbook, local_name),
        "stream cut short": _edited(workbook, shorter), "no end of stream": _unended(workbook),
        "bad checksum": _edited(workbook, crc),
        "declared size a lie": _edited(zip_bomb(workbook, inflated_mb=8), declared),
        "bomb": zip_bomb(workbook, inflated_mb=20),
        "a local name read otherwise": _edited(accented, not_utf8_here, "docProps/é.xml"),
        "overlapping entries": _edited(workbook, _overlapping, "docProps/app.xml"),
        "a far cell, then a DTD": far_then_dtd,
        "a dimension across a chunk's edge": _straddling(
            workbook, "xl/worksheets/sheet1.xml", b"<dimension",
            b"<dimension" + b" " * 1000 + b'ref="A1:XFD1048576"/>'),
        "a dimension with a '>' in it across a chunk's edge": _straddling(
            workbook, "xl/worksheets/sheet1.xml", b"<dimension",
            b'<dimension x=">"' + b" " * 1000 + b'ref="A1:XFD1048576"/>'),
        "a DTD across a chunk's edge": _straddling(
            workbook, "docProps/app.xml", b"<Properties", b"<!" + b" " * 1000 + b"DOCTYPE x>"),
        "a tag longer than a chunk, then row 0": rezip(workbook, replace={
            "xl/worksheets/sheet1.xml": _long_then_row_0}),
        "a stored tag longer than a chunk, then row 0": _stored(rezip(workbook, replace={
            "xl/worksheets/sheet1.xml": _long_then_row_0})),
        "text cut at a chunk's edge, then row 0": rezip(workbook, replace={
            "xl/worksheets/sheet1.xml": _cut_text_then_row_0}),
        "two entries at one local header": _sharing_a_header(_stored(workbook)),
    }


@pytest.mark.parametrize("limits", [Limits(), Limits(max_rows=40, max_cols=9),
                                    Limits(max_inflated=60_000)], ids=repr)
def test_a_part_judged_at_once_gets_the_verdict_it_gets_as_a_stream(workbook, limits,
                                                                   monkeypatch):
    from toolkit import safety

    files = _odd_files(workbook)
    verdicts = {}
    for way, whole in (("at once", safety.WHOLE_PART_BYTES), ("as a stream", 0)):
        monkeypatch.setattr(safety, "WHOLE_PART_BYTES", whole)
        monkeypatch.setattr(safety, "_PASSED", {})
        verdicts[way] = {name: (v.reason, v.detail, v.fields)
                         for name, v in ((n, check(d, limits)) for n, d in files.items())}
    assert verdicts["at once"] == verdicts["as a stream"]
    if limits == Limits():  # and each is the verdict it should be
        reasons = {name: verdict[0] for name, verdict in verdicts["at once"].items()}
        assert reasons == {
            "plain": "", "stored": "", "far cell": "too_many_cells",
            "far dimension": "too_many_cells", "stored far cell": "too_many_cells",
            "entities": "entity", "entities in utf-16": "entity", "a byte-order mark": "",
            "encrypted entry": "damaged", "strong encryption": "damaged",
            "local name differs": "damaged", "stream cut short": "damaged",
            "no end of stream": "",  # as zipfile takes it: all there, checksum and all
            "bad checksum": "damaged", "declared size a lie": "inflate", "bomb": "inflate",
            "a local name read otherwise": "damaged",
            # refused where zipfile looks for overlaps (Python 3.11.9, 3.12.3 and later)
            "overlapping entries": "damaged" if "_end_offset" in zipfile.ZipInfo.__slots__
            else "",
            "a far cell, then a DTD": "too_many_cells",
            "a dimension across a chunk's edge": "too_many_cells",
            "a dimension with a '>' in it across a chunk's edge": "too_many_cells",
            "a DTD across a chunk's edge": "entity",
            "a tag longer than a chunk, then row 0": "damaged",
            "a stored tag longer than a chunk, then row 0": "damaged",
            "text cut at a chunk's edge, then row 0": "damaged",
            "two entries at one local header": "damaged"}


def test_a_plain_part_is_inflated_once(workbook, monkeypatch):
    from toolkit import safety

    monkeypatch.setattr(safety, "_PASSED", {})
    streamed = []
    real = safety._scan_part
    monkeypatch.setattr(safety, "_scan_part",
                        lambda archive, info, *a, **k: streamed.append(info.filename)
                        or real(archive, info, *a, **k))
    assert check(workbook).ok and streamed == []
    assert check(far_cell(workbook)).reason == "too_many_cells"
    # the stream tells what is wrong: its quick test, then the parse that places the cell
    assert streamed == ["xl/worksheets/sheet1.xml"] * 2


def test_a_part_running_into_the_next_is_left_to_the_stream(workbook):
    """Newer Pythons' zipfile refuses it (overlapping entries); judged at once, it would
    pass whatever the Python."""
    from toolkit import safety

    overlapping = _edited(workbook, _overlapping, "docProps/app.xml")
    for data, plain in ((workbook, True), (overlapping, False)):
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        ends = safety._ends(archive, infos)
        info = archive.getinfo("docProps/app.xml")
        whole = safety._whole_part(data, info, Limits(), "xlsx", 10**9, True, ends[id(info)])
        assert (whole is not None) == plain


def test_a_part_that_must_end_where_the_file_begins_is_left_to_the_stream(workbook):
    """An entry sharing the first local header, listed after it: zipfile says its bytes
    end at 0 (overlapping entries)."""
    from toolkit import safety

    archive = zipfile.ZipFile(io.BytesIO(workbook))
    info = archive.getinfo("docProps/app.xml")
    assert safety._whole_part(workbook, info, Limits(), "xlsx", 10**9, False, None) is not None
    assert safety._whole_part(workbook, info, Limits(), "xlsx", 10**9, False, 0) is None
