"""Formula cells of an .ods, found in its content.xml (written here with odfpy); the
choice of scanner by format."""

from __future__ import annotations

import io
import zipfile

from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from toolkit.formulas import formula_cells, ods_formula_cells


def ods(path, sheets):
    """sheets: {name: [[cell, ...] row, ...]} where a cell is a value, ("=", formula, value)
    or ("rep", n, cell) for a cell repeated n columns; a row may be ("rows", n, [cells])."""
    doc = OpenDocumentSpreadsheet()

    def cell(spec):
        if isinstance(spec, tuple) and spec[0] == "rep":
            out = cell(spec[2])
            out.setAttribute("numbercolumnsrepeated", str(spec[1]))
            return out
        if isinstance(spec, tuple) and spec[0] == "=":
            out = TableCell(valuetype="float", value=spec[2], formula=f"of:={spec[1]}")
            out.addElement(P(text=str(spec[2])))
            return out
        if spec is None:
            return TableCell()
        out = TableCell(valuetype="string")
        out.addElement(P(text=str(spec)))
        return out

    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            repeat = 1
            if isinstance(row, tuple) and row[0] == "rows":
                repeat, row = row[1], row[2]
            line = TableRow()
            if repeat > 1:
                line.setAttribute("numberrowsrepeated", str(repeat))
            for spec in row:
                line.addElement(cell(spec))
            table.addElement(line)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def test_formula_cells_are_found_where_they_stand(tmp_path):
    path = ods(tmp_path / "a.ods", {
        "说明": [["x"]],
        "指标填报": [["id", "name"], [("rep", 2, None), ("=", "[.A1]*2", 4)],
                    ["1.1", None, None, ("=", "SUM([.A1:.A2])", 3)]],
    })
    assert ods_formula_cells(path) == {("指标填报", "C2"), ("指标填报", "D3")}


def test_repeated_rows_and_columns_count_for_position(tmp_path):
    path = ods(tmp_path / "b.ods", {"S": [("rows", 3, [None]), ["a", ("rep", 2, ("=", "1", 1))],
                                          ("rows", 2, [None, ("=", "2", 2)])]})
    assert ods_formula_cells(path) == {("S", "B4"), ("S", "C4"), ("S", "B5"), ("S", "B6")}


def test_a_file_without_formulas_and_a_broken_one(tmp_path):
    assert ods_formula_cells(ods(tmp_path / "c.ods", {"S": [["a", 1]]})) == frozenset()
    broken = tmp_path / "d.ods"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("content.xml", "<not-closed")
    assert ods_formula_cells(broken) is None
    assert ods_formula_cells(tmp_path / "missing.ods") is None


def test_the_scanner_follows_the_format(tmp_path):
    path = ods(tmp_path / "e.ods", {"S": [[("=", "1", 1)]]})
    assert formula_cells(path) == {("S", "A1")}
    copy = tmp_path / "e.bin"
    copy.write_bytes(path.read_bytes())
    assert formula_cells(copy, "ods") == {("S", "A1")}
    assert formula_cells(copy) is None and formula_cells(path, "xls") is None


def _xlsx(path, broken_sheet: bytes | None = None):
    """A two-sheet .xlsx written by xlsxwriter: a formula in 甲!B2, none in 乙; ``broken_sheet``
    replaces the part of 乙 (sheet2.xml)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    first, second = book.add_worksheet("甲"), book.add_worksheet("乙")
    first.write_number("A2", 1)
    first.write_formula("B2", "=A2*2", None, 2)
    second.write_string("A1", "=A2*2 is text here")
    book.close()
    if broken_sheet is not None:
        data = path.read_bytes()
        with zipfile.ZipFile(path, "w") as out, zipfile.ZipFile(io.BytesIO(data)) as src:
            for info in src.infolist():
                out.writestr(info, broken_sheet if info.filename == "xl/worksheets/sheet2.xml"
                             else src.read(info.filename))
    return path


def test_xlsx_formulas_are_found_by_sheet_and_cell(tmp_path):
    assert formula_cells(_xlsx(tmp_path / "a.xlsx")) == {("甲", "B2")}


def test_a_sheet_without_a_formula_element_is_not_parsed(tmp_path):
    """Its bytes cannot hold a formula cell, so a malformed one changes nothing here
    (whether it reads is the reader's to say)."""
    path = _xlsx(tmp_path / "b.xlsx", broken_sheet=b"<worksheet><sheetData><row>")
    assert formula_cells(path) == {("甲", "B2")}


def test_a_malformed_sheet_with_a_formula_element_cannot_be_checked(tmp_path):
    path = _xlsx(tmp_path / "c.xlsx", broken_sheet=b'<worksheet><sheetData><row><c r="A1"><f>1')
    assert formula_cells(path) is None
