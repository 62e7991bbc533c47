"""Where everything sits in a report template: the one contract between the
template writer, the readers, validation, feedback and merge.

Rows and columns are 1-based (Excel's numbering); ``a1(row, col)`` gives "G6".
Sheet names come from the catalogue (``layout.*`` keys) in the template's
language; the hidden identity sheet keeps a fixed ASCII name so it is found
whatever the language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

LAYOUT_VERSION = "1"  # bump when anything below moves; it enters the fingerprint

# Sheet keys in workbook order; names via catalogue key f"layout.sheet.{key}".
SHEETS = ("instructions", "indicators", "progress")
IDENTITY_SHEET = "_identity"  # hidden (not veryHidden), protected, all values text
LISTS_SHEET = "_lists"  # hidden; the dropdown lists data validation refers to

STATUSES = ("未启动", "推进中", "已完成", "滞后")  # task status list (same in both languages)
STATUSES_EN = ("Not started", "In progress", "Completed", "Behind")
MILESTONE_VALUES = ("已完成", "未完成")  # milestone indicator actual: done or not

# --- indicator sheet -------------------------------------------------------
TITLE_ROW = 1
ID_ROW = 2  # identity block: label/value pairs, all locked
ID_CELLS = {  # field -> (row, col) of the value; the label is one column left
    "unit_name": (2, 2), "unit_code": (2, 4), "period": (2, 6),
    "template_version": (2, 8), "fingerprint": (2, 10),
}
FILLER_ROW = 3  # filler block: label/value pairs, values are inputs
FILLER_CELLS = {"filler": (3, 2), "phone": (3, 4), "reviewer": (3, 6), "date": (3, 8)}
IND_HEADER_ROW = 5
IND_FIRST_ROW = 6
IND_COLS = {  # column key -> column number; header text via f"layout.ind.{key}"
    "id": 1, "task": 2, "name": 3, "unit": 4, "target": 5, "allocated": 6,
    "actual": 7, "note": 8,
}
IND_INPUTS = ("actual", "note")

# --- task-progress sheet ---------------------------------------------------
PROG_HEADER_ROW = 3
PROG_FIRST_ROW = 4
PROG_COLS = {
    "id": 1, "action": 2, "title": 3, "lead": 4, "status": 5, "progress": 6,
    "problems": 7, "next_steps": 8,
}
PROG_INPUTS = ("status", "progress", "problems", "next_steps")

# --- identity -------------------------------------------------------------
# Keys stored, as text, in the hidden sheet (column A key, column B value) and as
# custom document properties named "toolkit.<key>".
IDENTITY_KEYS = ("unit_code", "unit_name", "period", "template_version", "fingerprint",
                 "lang", "indicator_rows", "task_rows")
PROPERTY_PREFIX = "toolkit."


@functools.lru_cache(maxsize=1024)
def col_letter(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    return f"{col_letter(col)}{row}"


def template_version(tasklist_version: str) -> str:
    """The version written into a template: the task list's version and the layout's."""
    return f"{tasklist_version or '0'}-L{LAYOUT_VERSION}"


def template_fingerprint(tasklist) -> str:
    """Fingerprint of what a template holds: the task list's plus the layout version."""
    import hashlib

    text = f"{tasklist.fingerprint()}|layout={LAYOUT_VERSION}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Identity:
    """Who and what a template is for. Every field is text."""

    unit_code: str
    unit_name: str
    period: str
    template_version: str
    fingerprint: str
    lang: str = "zh"
    indicator_rows: str = ""  # comma-joined indicator ids, in row order
    task_rows: str = ""  # comma-joined task ids, in row order

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in IDENTITY_KEYS}
