"""Write a template's identity where office suites keep it.

Three copies (reading and cross-checking them is ``toolkit.read.read_identity``):
a hidden — not veryHidden — protected sheet with every value as text, text-only
custom document properties, and the visible locked block on the indicator sheet
(written with that sheet, by ``toolkit.template``).
"""

from __future__ import annotations

from toolkit import layout
from toolkit.layout import Identity

PROPERTY_LIMIT = 255  # Excel's limit for a text document property, in UTF-16 units


def make_identity(tasklist, unit, period, lang: str, indicator_ids, task_ids) -> Identity:
    """The identity of ``unit``'s template for ``period`` (every field text)."""
    return Identity(unit_code=str(unit.code), unit_name=str(unit.name), period=period.code,
                    template_version=layout.template_version(tasklist.version),
                    fingerprint=layout.template_fingerprint(tasklist), lang=lang,
                    indicator_rows=",".join(indicator_ids), task_rows=",".join(task_ids))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def write_identity_sheet(workbook, identity: Identity, password: str = "", key_format=None):
    """Add the hidden, protected ``_identity`` sheet: key in column A, value in B, as text."""
    sheet = workbook.add_worksheet(layout.IDENTITY_SHEET)
    for row, (key, value) in enumerate(identity.as_dict().items()):
        sheet.write_string(row, 0, key, key_format)
        sheet.write_string(row, 1, value, key_format)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 40)
    sheet.protect(password)
    sheet.hide()
    return sheet


def set_identity_properties(workbook, identity: Identity) -> None:
    """Custom document properties ``toolkit.<key>``, all of type text.

    A value over Excel's 255-character limit (the row lists of a very long task
    list) is left out: the hidden sheet still holds it, and the fields the copies
    are cross-checked on are always short.
    """
    for key, value in identity.as_dict().items():
        if _utf16_len(value) <= PROPERTY_LIMIT:
            workbook.set_custom_property(layout.PROPERTY_PREFIX + key, value, "text")
