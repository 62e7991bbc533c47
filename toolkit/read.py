"""Turn any workbook (xlsx, xlsm, xls, ods) into plain values, and read its identity.

python-calamine reads every format alike and fast. It has no limits of its own:
call it only on files that passed ``toolkit.safety`` checks, and in a child
process when the file came from outside (``toolkit.sandbox``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import layout
from toolkit.layout import Identity


@dataclass(frozen=True)
class SheetValues:
    """One sheet's cell values from A1, as lists of rows; '' for an empty cell. A sheet
    not ``read`` (nothing reads its values) is there by its name and place only."""

    name: str
    visible: str  # "visible", "hidden" or "veryhidden"
    rows: tuple[tuple, ...]
    read: bool = True

    def get(self, row: int, col: int):
        """Value at 1-based (row, col); None when empty or outside the used area."""
        if row < 1 or col < 1 or row > len(self.rows):
            return None
        line = self.rows[row - 1]
        if col > len(line):
            return None
        value = line[col - 1]
        return None if value == "" else value

    @property
    def max_row(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class WorkbookValues:
    path: str
    sheets: tuple[SheetValues, ...]
    properties: dict = field(default_factory=dict)  # custom document properties (text)
    # (sheet, A1) of the cells holding a formula; None: not looked for, or not checkable
    formulas: frozenset | None = None

    def sheet(self, name: str) -> SheetValues | None:
        return next((s for s in self.sheets if s.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sheets)


def _visibility(meta) -> str:
    text = str(meta.visible).lower()
    if "very" in text:
        return "veryhidden"
    return "hidden" if "hidden" in text else "visible"




def read_values(path: str | Path, parts: dict | None = None,
                data: bytes | None = None, wanted=None) -> WorkbookValues:
    """Every sheet's values and the custom properties of a workbook file. ``data``: the
    bytes of a zip workbook (xlsx, xlsm, ods), already read: its format is then told by
    them, not by the name; ``parts``: zip parts already inflated (see
    ``toolkit.safety.inspect``); ``wanted``: given the sheets' (name, visibility), the
    names of those to read (the others are not ``read``); None: all of them."""
    import io

    from python_calamine import CalamineWorkbook

    path = Path(path)
    workbook = CalamineWorkbook.from_path(str(path)) if data is None else \
        CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        listed = [(meta.name, _visibility(meta)) for meta in workbook.sheets_metadata]
        names = {name for name, _ in listed} if wanted is None else wanted(listed)
        sheets = []
        for name, visible in listed:
            if name not in names:
                sheets.append(SheetValues(name, visible, (), read=False))
                continue
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append(SheetValues(name, visible, tuple(tuple(r) for r in rows)))
    finally:
        workbook.close()
    return WorkbookValues(str(path), tuple(sheets), read_custom_properties(path, parts))


def submission_sheets(listed) -> set[str]:
    """Of a submission's sheets ((name, visibility), in order), those validation reads:
    the identity, the indicators, the progress and a returned feedback workbook's issue
    list, by their names in either language, and the second and third visible sheets
    (where the indicators and the progress are looked for when renamed). The
    instructions and the hidden lists are left."""
    from toolkit.catalogue import texts
    from toolkit.extract import EXPLAIN_SHEET_KEY

    names = {layout.IDENTITY_SHEET} | texts(EXPLAIN_SHEET_KEY)
    names |= texts("layout.sheet.indicators") | texts("layout.sheet.progress")
    visible = [name for name, visibility in listed if visibility == "visible"]
    return names | set(visible[1:3])


def read_submission(path: str | Path, fmt: str = "", data: bytes | None = None,
                    parts: dict | None = None) -> WorkbookValues:
    """``read_values`` of the sheets validation reads (``submission_sheets``) and the cells
    holding a formula (``toolkit.formulas``): what collect keeps of a received workbook,
    read once. ``fmt``: its real format (else the suffix says); ``data`` and ``parts``:
    its bytes and the zip parts the safety checks already inflated
    (``toolkit.safety.inspect``), used instead of reading them again."""
    from dataclasses import replace

    from toolkit.formulas import formula_cells

    zipped = data if fmt in _ZIPPED else None  # an .xls is told by its name
    return replace(read_values(path, parts, zipped, submission_sheets),
                   formulas=formula_cells(path, fmt, parts))


_ZIPPED = ("xlsx", "xlsm", "ods")


_CUSTOM = "docProps/custom.xml"


def read_custom_properties(path: str | Path, parts: dict | None = None) -> dict[str, str]:
    """Custom document properties of an xlsx/xlsm (docProps/custom.xml) or ods (meta.xml).

    Other formats (xls) give {}: that copy of the identity is then simply absent.
    ``parts``: inflated zip parts to take docProps/custom.xml from (see ``read_values``).
    """
    from defusedxml import ElementTree

    if parts and _CUSTOM in parts:
        try:
            return _custom_properties(ElementTree.fromstring(parts[_CUSTOM]))
        except Exception:  # malformed XML in a property part: the copy is just absent
            return {}
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _CUSTOM in names:
                return _custom_properties(ElementTree.fromstring(archive.read(_CUSTOM)))
            if "meta.xml" in names:
                root = ElementTree.fromstring(archive.read("meta.xml"))
                ns = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
                return {el.get(f"{ns}name"): (el.text or "")
                        for el in root.iter(f"{ns}user-defined")}
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    except Exception:  # malformed XML in a property part: the copy is just absent
        return {}
    return {}


def _custom_properties(root) -> dict[str, str]:
    props = {}
    for prop in root:
        name = prop.get("name")
        if name and len(prop):
            props[name] = prop[0].text or ""
    return props


@dataclass(frozen=True)
class IdentityReading:
    """The three copies of a workbook's identity and whether they agree."""

    sheet: Identity | None  # hidden _identity sheet
    properties: Identity | None  # custom document properties
    block: Identity | None  # visible block on the indicator sheet (fewer fields)
    identity: Identity | None  # the agreed identity (hidden sheet first), or None
    disagreements: tuple[str, ...]  # "field: sheet=… properties=… block=…"

    @property
    def copies(self) -> dict[str, bool]:
        """Which copies were found."""
        return {"sheet": self.sheet is not None, "properties": self.properties is not None,
                "block": self.block is not None}

    @property
    def consistent(self) -> bool:
        return self.identity is not None and not self.disagreements


def cell_text(value) -> str:
    """A cell as text: '' when empty, whole numbers without '.0', surrounding space dropped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed over as a number, or an xls round trip
    return str(value).strip()


def _identity_from(fields: dict[str, str]) -> Identity | None:
    if not fields.get("unit_code") and not fields.get("fingerprint"):
        return None
    return Identity(**{k: fields.get(k, "") for k in layout.IDENTITY_KEYS})


def indicator_sheet(values: WorkbookValues) -> SheetValues | None:
    """The indicator sheet: by its name in either language, else the second visible sheet."""
    from toolkit.catalogue import t

    for lang in ("zh", "en"):
        found = values.sheet(t("layout.sheet.indicators", lang))
        if found is not None:
            return found
    visible = [s for s in values.sheets if s.visible == "visible"]
    return visible[1] if len(visible) > 1 else None


def progress_sheet(values: WorkbookValues) -> SheetValues | None:
    from toolkit.catalogue import t

    for lang in ("zh", "en"):
        found = values.sheet(t("layout.sheet.progress", lang))
        if found is not None:
            return found
    visible = [s for s in values.sheets if s.visible == "visible"]
    return visible[2] if len(visible) > 2 else None


def read_identity(values: WorkbookValues) -> IdentityReading:
    """Read all three identity copies and cross-check them field by field."""
    sheet_copy = None
    hidden = values.sheet(layout.IDENTITY_SHEET)
    if hidden is not None:
        fields = {}
        for row in hidden.rows:
            if len(row) >= 2 and cell_text(row[0]) in layout.IDENTITY_KEYS:
                fields[cell_text(row[0])] = cell_text(row[1])
        sheet_copy = _identity_from(fields)
    props = {k[len(layout.PROPERTY_PREFIX):]: cell_text(v) for k, v in values.properties.items()
             if k.startswith(layout.PROPERTY_PREFIX)}
    prop_copy = _identity_from(props)
    block_copy = None
    ind = indicator_sheet(values)
    if ind is not None:
        fields = {k: cell_text(ind.get(r, c)) for k, (r, c) in layout.ID_CELLS.items()}
        block_copy = _identity_from(fields)
    copies = {"sheet": sheet_copy, "properties": prop_copy, "block": block_copy}
    disagreements = []
    for key in ("unit_code", "period", "template_version", "fingerprint"):
        seen = {name: getattr(c, key) for name, c in copies.items() if c is not None}
        if len(set(seen.values())) > 1:
            disagreements.append(f"{key}: " + " ".join(f"{n}={v!r}" for n, v in seen.items()))
    agreed = sheet_copy or prop_copy or block_copy
    return IdentityReading(sheet_copy, prop_copy, block_copy, agreed, tuple(disagreements))


def _encode(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"seconds": value.total_seconds()}
    return value


def _decode(value):
    import datetime as dt

    if isinstance(value, dict):
        if "datetime" in value:
            return dt.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
        if "time" in value:
            return dt.time.fromisoformat(value["time"])
        if "seconds" in value:
            return dt.timedelta(seconds=value["seconds"])
    return value


def _encode_other(value):
    """``json.dumps`` hook: only values JSON has no type for (dates, times) come here."""
    encoded = _encode(value)
    if encoded is value:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return encoded


def values_to_json(values: WorkbookValues) -> str:
    """Serialise for the store (``workbook_values`` table); dates keep their type."""
    import json

    formulas = None if values.formulas is None else sorted(values.formulas)
    return json.dumps({
        "path": values.path, "properties": values.properties,
        "sheets": [{"name": s.name, "visible": s.visible, "rows": s.rows} if s.read else
                   {"name": s.name, "visible": s.visible, "rows": [], "read": False}
                   for s in values.sheets],
        "formulas": formulas,
    }, ensure_ascii=False, default=_encode_other)


# how values_to_json spells an encoded cell (json.dumps' own separators)
_ENCODED = tuple(f'{{"{key}": ' for key in ("datetime", "date", "time", "seconds"))


def values_from_json(text: str) -> WorkbookValues:
    import json

    data = json.loads(text)
    if any(marker in text for marker in _ENCODED):  # a date or time among the cells
        sheets = tuple(SheetValues(s["name"], s["visible"], tuple(
            tuple(_decode(v) if isinstance(v, dict) else v for v in row) for row in s["rows"]),
            s.get("read", True)) for s in data["sheets"])
    else:  # plain values only: rows as they are
        sheets = tuple(SheetValues(s["name"], s["visible"], tuple(map(tuple, s["rows"])),
                                   s.get("read", True)) for s in data["sheets"])
    formulas = data.get("formulas")
    return WorkbookValues(data["path"], sheets, data.get("properties", {}),
                          None if formulas is None else frozenset(map(tuple, formulas)))
