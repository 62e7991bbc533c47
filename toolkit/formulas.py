"""Which cells of a workbook hold a formula: (sheet name, A1), never evaluated.

Formulas in submissions are never trusted: validation reports a formula in an
input cell and treats its cached value as unverified. This finds them, in the
sheet XML of an .xlsx/.xlsm and in the content.xml of an .ods (OpenDocument
marks a formula cell with ``table:formula``; repeated rows and cells count for
position). An .xls cannot be checked here (None).

The file passed collect's safety checks; a sheet holding a formula element is
parsed with defusedxml, streaming, and any failure means "could not check"
(None); a sheet with none is not parsed at all. Collect
runs this in its reader processes, beside the values, so no later stage opens
the workbook again.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

from toolkit.layout import a1

FORMATS = ("xlsx", "xlsm", "ods")
# a formula element is spelled <f ...> or <x:f ...>; a match may be a false alarm, never a miss
# (two patterns that each start with a literal byte: much faster than one with a class)
_FORMULA_TAGS = (re.compile(rb"<f[\s>/]"), re.compile(rb":f[\s>/]"))
_CHUNK = 1 << 20
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_T = "{" + TABLE + "}"
MAX_COLUMNS = 16384  # a repeated formula cell or row counts at most this far (Excel's size)
MAX_ROWS = 1048576


def formula_cells(path: str | Path, fmt: str = "",
                  parts: dict | None = None) -> frozenset[tuple[str, str]] | None:
    """The formula cells of the workbook at ``path`` (format from ``fmt``, else the suffix);
    None when it cannot be checked (an .xls, or a file that will not parse). ``parts``:
    zip parts already inflated ({name: bytes}), read instead of the file's."""
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt in ("xlsx", "xlsm"):
        return xlsx_formula_cells(path, parts)
    if fmt == "ods":
        return ods_formula_cells(path)
    return None


def xlsx_formula_cells(path: str | Path,
                       parts: dict | None = None) -> frozenset[tuple[str, str]] | None:
    """(sheet name, A1) of every cell holding a formula in an .xlsx/.xlsm; None if unreadable.

    A sheet whose bytes hold no formula element is not parsed: it cannot hold a formula
    cell, well-formed or not (the reader decides whether it reads). ``parts``: see
    ``formula_cells``.
    """
    from defusedxml import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    try:
        with _Parts(path, parts or {}) as archive:
            sheets = sheet_parts(archive.read("xl/workbook.xml"),
                                 archive.read("xl/_rels/workbook.xml.rels"))
            found = set()
            for name, _, part in sheets:
                if not archive.has(part) or not _may_hold_formulas(archive, part):
                    continue
                with archive.open(part) as stream:
                    cell = None
                    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
                        if event == "start" and element.tag == f"{main}c":
                            cell = element.get("r")
                        elif event == "end" and element.tag == f"{main}f" and cell:
                            found.add((name, cell))
                        elif event == "end" and element.tag == f"{main}row":
                            element.clear()
            return frozenset(found)
    except Exception:  # noqa: BLE001 - damaged or odd file: the check could not be made
        return None


CACHED_PARTS_BYTES = 64 * 1024  # workbook parts up to this size are remembered by digest


def sheet_parts(book_xml: bytes, rels_xml: bytes) -> tuple[tuple[str, str, str], ...]:
    """(sheet name, relationship type, zip part) of each sheet a workbook part names, in
    workbook order (a sheet without a relationship: type and part ""). Files from one template
    share these bytes, so small ones are parsed once (remembered by their digest: a
    reader process does not keep a big hostile part alive)."""
    import hashlib

    if len(book_xml) + len(rels_xml) > CACHED_PARTS_BYTES:
        return _parse_sheet_parts(book_xml, rels_xml)
    key = hashlib.blake2b(len(book_xml).to_bytes(8, "big") + book_xml + rels_xml,
                          digest_size=16).digest()
    found = _SHEET_PARTS.get(key)
    if found is None:
        if len(_SHEET_PARTS) >= 32:
            _SHEET_PARTS.clear()
        found = _SHEET_PARTS[key] = _parse_sheet_parts(book_xml, rels_xml)
    return found


_SHEET_PARTS: dict[bytes, tuple] = {}


def _parse_sheet_parts(book_xml: bytes, rels_xml: bytes) -> tuple[tuple[str, str, str], ...]:
    from defusedxml import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    book = ElementTree.fromstring(book_xml)
    rels = ElementTree.fromstring(rels_xml)
    targets = {r.get("Id"): (str(r.get("Type", "")), r.get("Target") or "")
               for r in rels.iter(f"{pkg}Relationship")}
    out = []
    for sheet in book.iter(f"{main}sheet"):
        kind, target = targets.get(sheet.get(f"{rel_ns}id"), ("", ""))
        part = "" if not target else target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(f"xl/{target}")
        out.append((sheet.get("name"), kind, part))
    return tuple(out)


class _Parts:
    """A workbook's zip parts: those already inflated, else from the file (opened only
    when one is needed)."""

    def __init__(self, path, inflated: dict):
        self.path, self.inflated, self.archive = path, inflated, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.archive is not None:
            self.archive.close()

    def _zip(self) -> zipfile.ZipFile:
        if self.archive is None:
            self.archive = zipfile.ZipFile(self.path)
        return self.archive

    def has(self, part: str) -> bool:
        return part in self.inflated or part in self._zip().NameToInfo

    def read(self, part: str) -> bytes:
        found = self.inflated.get(part)
        return found if found is not None else self._zip().read(part)

    def open(self, part: str):
        import io

        found = self.inflated.get(part)
        return io.BytesIO(found) if found is not None else self._zip().open(part)


def _may_hold_formulas(archive: _Parts, part: str) -> bool:
    """Whether a sheet part may hold a formula element (a byte search; a match may be a
    false alarm, never a miss). UTF-16 parts, where it does not apply, always may."""
    tail = b""
    with archive.open(part) as stream:
        chunk = stream.read(_CHUNK)
        if chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in chunk[:4]:
            return True
        while chunk:
            window = tail + chunk
            if any(tag.search(window) for tag in _FORMULA_TAGS):
                return True
            tail = chunk[-2:]
            chunk = stream.read(_CHUNK)
    return False


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
