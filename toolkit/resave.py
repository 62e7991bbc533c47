"""Save a filled workbook as .xls or .ods, the way a clerk's "Save as" does.

Through LibreOffice when it is installed (the real client, which keeps what its
format can hold); otherwise with libraries that write those formats (xlwt for
.xls, odfpy for .ods), keeping every sheet's values and which sheets are
hidden, and nothing else: formulas, validation and styles are left behind.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from toolkit import office
from toolkit.atomic import atomic_path

FORMATS = ("xls", "ods")


def _sheets(src: Path):
    """[(name, hidden, rows of values)] of an .xlsx, with openpyxl."""
    import openpyxl

    book = openpyxl.load_workbook(src, data_only=True)
    return [(ws.title, ws.sheet_state != "visible",
             [[cell.value for cell in row] for row in ws.iter_rows()]) for ws in book.worksheets]


def _cell_value(value):
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)  # dates and the like: as the text a clerk sees


def write_xls(sheets, dest: Path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, hidden, rows in sheets:
        ws = book.add_sheet(name[:31], cell_overwrite_ok=True)
        ws.visibility = 1 if hidden else 0
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                value = _cell_value(value)
                if value is not None:
                    ws.write(r, c, value)
    with atomic_path(dest) as tmp:
        book.save(str(tmp))


def write_ods(sheets, dest: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style, TableProperties
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    shown = Style(name="ta_shown", family="table")
    shown.addElement(TableProperties(display="true"))
    hidden_style = Style(name="ta_hidden", family="table")
    hidden_style.addElement(TableProperties(display="false"))
    doc.automaticstyles.addElement(shown)
    doc.automaticstyles.addElement(hidden_style)
    for name, hidden, rows in sheets:
        table = Table(name=name, stylename=hidden_style if hidden else shown)
        for row in rows:
            line = TableRow()
            for value in row:
                value = _cell_value(value)
                if value is None:
                    line.addElement(TableCell())
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    cell = TableCell(valuetype="float", value=value)
                    cell.addElement(P(text=str(value)))
                    line.addElement(cell)
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=str(value)))
                    line.addElement(cell)
            table.addElement(line)
        doc.spreadsheet.addElement(table)
    with atomic_path(dest) as tmp:
        doc.save(str(tmp))


def save_as(src, dest, fmt: str, use_office: bool = True) -> str:
    """Write ``src`` (.xlsx) as ``dest`` in ``fmt`` ("xls" or "ods").

    Returns what wrote it: "libreoffice", or "library" when LibreOffice is absent
    (or ``use_office`` is false) or failed on the file.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    src, dest = Path(src), Path(dest)
    if use_office and office.soffice():
        with tempfile.TemporaryDirectory(prefix="resave-") as tmpdir:
            converted = office.convert([src], fmt, tmpdir).get(src)
            if converted is not None:
                with atomic_path(dest) as tmp:
                    shutil.copyfile(converted, tmp)
                return "libreoffice"
    sheets = _sheets(src)
    (write_xls if fmt == "xls" else write_ods)(sheets, dest)
    return "library"
