"""Which cells of an .ods hold a formula: (sheet name, A1) from its content.xml.

OpenDocument marks a formula cell with a ``table:formula`` attribute; rows and
cells may stand for several (``number-rows-repeated``, ``number-columns-
repeated``), which is how the position is counted. The stored copy passed
collect's safety checks; the XML is still parsed with defusedxml, streaming, and
any failure means "could not check" (None).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from toolkit.layout import a1

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_T = "{" + TABLE + "}"
MAX_COLUMNS = 16384  # a repeated formula cell or row counts at most this far (Excel's size)
MAX_ROWS = 1048576


def ods_formula_cells(path: str | Path) -> frozenset[tuple[str, str]] | None:
    """(sheet, A1) of every formula cell in the .ods at ``path``; None if unreadable."""
    from defusedxml import ElementTree

    found: set[tuple[str, str]] = set()
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
            sheet, row, col, columns = "", 0, 0, []
            for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == f"{_T}table":
                        sheet, row = element.get(f"{_T}name", ""), 0
                    elif tag == f"{_T}table-row":
                        col, columns = 0, []
                    elif tag in (f"{_T}table-cell", f"{_T}covered-table-cell"):
                        repeat = int(element.get(f"{_T}number-columns-repeated", "1"))
                        if element.get(f"{_T}formula") is not None:
                            columns += range(col, min(col + repeat, MAX_COLUMNS))
                        col += repeat
                elif tag == f"{_T}table-row":
                    repeat = int(element.get(f"{_T}number-rows-repeated", "1"))
                    for offset in range(min(repeat, MAX_ROWS) if columns else 0):
                        found.update((sheet, a1(row + offset + 1, c + 1)) for c in columns)
                    row += repeat
                    element.clear()
    except Exception:  # noqa: BLE001 - damaged or odd file: the check could not be made
        return None
    return frozenset(found)
