"""Read numbers the way county clerks type them, and say what leniency it took.

``parse_number("1,234")`` gives ``(1234.0, ("thousands",))``. Accepted beyond a
plain number: a leading apostrophe, full-width characters (``１２３``, ``％``,
``，``, ``．``), the ideographic full stop between digits (``1。5``), thousands
groups with commas or spaces (``1,234`` / ``1 234``), a trailing ``%`` (``45%``
is 45, in percent), the multipliers 万 and 亿 (``1.2万`` is 12000), and the
indicator's own unit of measure after the number (``12个``). Anything else
raises ``NotANumber``; nothing is guessed (``1,23`` is refused, not read as 1.23
or 123).

Arithmetic is decimal, so ``1.2万`` is exactly 12000 and every accepted style
parses back to the number it was formatted from (see tests/test_numbers.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Leniencies, in the order they are applied; each has a catalogue text
# ``number.how.<name>`` for the clerk.
LENIENCIES = ("text", "apostrophe", "fullwidth", "cn_decimal", "minus_sign", "spaces",
              "unit", "percent", "wan", "yi", "thousands")

MULTIPLIERS = {"万": Decimal(10) ** 4, "亿": Decimal(10) ** 8}
_APOSTROPHES = "'‘’`"
_MINUSES = "\u2212\u2010\u2011\u2012\u2013\u2014\ufe63"
_BODY = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")
_SPACED = re.compile(r"^[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?$")


class NotANumber(ValueError):
    """A value that cannot be read as a number without guessing."""

    def __init__(self, raw, reason: str = "text"):
        self.raw = raw
        self.reason = reason  # text, date, bool, nan, grouping
        super().__init__(f"not a number: {raw!r} ({reason})")


@dataclass(frozen=True)
class NumberReading:
    """What a cell held and the number read from it.

    ``value`` is None for an empty cell; ``how`` names the leniencies applied
    (empty for a cell that held a real number); ``error`` is set when the cell
    held something that is not a number.
    """

    raw: object
    value: float | None
    how: tuple[str, ...] = ()
    error: str = ""

    @property
    def empty(self) -> bool:
        return self.value is None and not self.error

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def lenient(self) -> bool:
        return bool(self.how)


def unit_scale(unit: str) -> tuple[Decimal, str]:
    """A unit of measure as (scale, base): "万元" -> (10000, "元"), "个" -> (1, "个")."""
    unit = unicodedata.normalize("NFKC", unit or "").strip()
    for word, scale in MULTIPLIERS.items():
        if unit.startswith(word) and len(unit) > 1:
            return scale, unit[len(word):]
    return Decimal(1), unit


def _strip_suffix(text: str, suffix: str) -> str | None:
    if suffix and text.endswith(suffix) and len(text) > len(suffix):
        return text[: -len(suffix)].rstrip()
    return None


def parse_number(text: str, unit: str = "") -> tuple[float, tuple[str, ...]]:
    """Parse typed text leniently; return (value, leniencies) or raise NotANumber.

    ``unit`` is the indicator's unit of measure: typed after the number it is
    dropped, and 万/亿 count relative to it ("1.2万" is 1.2 when the unit is 万人).
    The leniencies never include "text": the caller knows it read text.
    """
    if not isinstance(text, str):
        raise NotANumber(text, "text")
    how: list[str] = []
    s = text.strip()
    if s[:1] in _APOSTROPHES and len(s) > 1:
        s = s[1:].strip()
        how.append("apostrophe")
    normal = unicodedata.normalize("NFKC", s)
    if "．" in s:
        how.append("cn_decimal")
    if normal != s:
        how.append("fullwidth")
    s = normal
    if re.search(r"\d。\d", s):
        s = re.sub(r"(?<=\d)。(?=\d)", ".", s)
        how.append("cn_decimal")
    if any(ch in s for ch in _MINUSES):
        s = "".join("-" if ch in _MINUSES else ch for ch in s)
        how.append("minus_sign")
    s = re.sub(r"\s+", " ", s).strip()
    if not s:
        raise NotANumber(text, "text")
    s, factor, flags = _suffixes(s, unit)
    how.extend(flags)
    return _finish(text, s, how, factor)


def _suffixes(s: str, unit: str) -> tuple[str, Decimal, tuple[str, ...]]:
    """Strip a unit of measure, %, 万 or 亿 from the end of ``s``.

    Returns (the rest, the factor that turns it into the indicator's unit, the
    leniencies used).
    """
    scale, base = unit_scale(unit)
    full = unicodedata.normalize("NFKC", unit or "").strip()
    if scale != 1 and (rest := _strip_suffix(s, full)) is not None:
        return rest, Decimal(1), ("unit",)
    flags: tuple[str, ...] = ()
    factor = Decimal(1)
    if base and base != "%" and (rest := _strip_suffix(s, base)) is not None:
        s, flags = rest, ("unit",)
    elif (rest := _strip_suffix(s, "%")) is not None:
        return rest, factor, ("percent",)
    for word, mult in MULTIPLIERS.items():
        if (rest := _strip_suffix(s, word)) is not None:
            return rest, mult / scale, (*flags, "wan" if word == "万" else "yi")
    return s, (factor / scale if flags else factor), flags


def _finish(text, s: str, how: list[str], factor: Decimal) -> tuple[float, tuple[str, ...]]:
    if " " in s:
        if not _SPACED.match(s):
            raise NotANumber(text, "grouping" if re.search(r"\d \d", s) else "text")
        s = s.replace(" ", "")
        how.append("spaces")
    if not _BODY.match(s):
        reason = "grouping" if re.fullmatch(r"[+-]?[\d,]+(?:\.\d+)?", s) else "text"
        raise NotANumber(text, reason)
    if "," in s:
        s = s.replace(",", "")
        how.append("thousands")
    try:
        number = Decimal(s) * factor
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise NotANumber(text, "text") from None
    value = float(number)
    if not math.isfinite(value):
        raise NotANumber(text, "nan")
    return value, tuple(dict.fromkeys(how))


def read_number(value, unit: str = "") -> NumberReading:
    """Read one cell value (as calamine gives it) as a number, leniently.

    A real number is taken as it is; text goes through ``parse_number`` and is
    marked "text"; dates, booleans, NaN and unparseable text come back with
    ``error`` set and no value.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return NumberReading(value, None)
    if isinstance(value, bool):
        return NumberReading(value, None, (), "bool")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return NumberReading(value, None, (), "nan")
        return NumberReading(value, float(value))
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return NumberReading(value, None, (), "date")
    try:
        number, how = parse_number(str(value), unit)
    except NotANumber as exc:
        return NumberReading(value, None, (), exc.reason)
    return NumberReading(value, number, ("text", *how))


def looks_like_fraction(indicator, value: float, year: int) -> bool:
    """A percentage between 0 and 1 where the target is above 1: Excel turns "45%" typed
    into a cell formatted 0.00 into 0.45."""
    return (indicator.is_percent and 0 < value < 1
            and (indicator.target(year) or 100) > 1)


def format_number(value: float) -> str:
    """A number as a clerk would read it back: 1234, 12.5, 0.25 (no exponent)."""
    if value is None:
        return ""
    value = round(float(value), 6)
    if value.is_integer():
        return str(int(value))
    text = f"{Decimal(repr(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
