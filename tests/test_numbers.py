"""Lenient number reading: every style a clerk types reads back to the number meant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.numbers import LENIENCIES, NotANumber, format_number, parse_number, read_number

FULLWIDTH = str.maketrans("0123456789.,-%", "０１２３４５６７８９．，－％")


@pytest.mark.parametrize("text, unit, value, how", [
    ("1,234", "", 1234, ("thousands",)),
    ("１２３", "", 123, ("fullwidth",)),
    ("45%", "%", 45, ("percent",)),
    ("45 %", "%", 45, ("percent",)),
    ("４５％", "%", 45, ("fullwidth", "percent")),
    ("1.2万", "", 12000, ("wan",)),
    ("3亿", "元", 300000000, ("yi",)),
    ("'123", "", 123, ("apostrophe",)),
    ("1 234", "", 1234, ("spaces",)),
    ("1．5", "", 1.5, ("cn_decimal", "fullwidth")),
    ("1。5", "", 1.5, ("cn_decimal",)),
    ("12个", "个", 12, ("unit",)),
    ("1.2万", "万元", 1.2, ("wan",)),
    ("12000元", "万元", 1.2, ("unit",)),
    ("1.2亿元", "万元", 12000, ("unit", "yi")),
    ("1.5万人", "人", 15000, ("unit", "wan")),
    ("−3", "", -3, ("minus_sign",)),
    ("-7", "", -7, ()),
    ("  42  ", "", 42, ()),
    (".5", "", 0.5, ()),
    ("１，２３４．５", "", 1234.5, ("cn_decimal", "fullwidth", "thousands")),
])
def test_lenient_styles(text, unit, value, how):
    assert parse_number(text, unit) == (value, how)


@pytest.mark.parametrize("text, reason", [
    ("1,23", "grouping"),  # a decimal comma or a slip: refused, never guessed
    ("12 34", "grouping"),
    ("abc", "text"),
    ("无", "text"),
    ("/", "text"),
    ("1.2.3", "text"),
    ("约100", "text"),
    ("100-200", "text"),
    ("", "text"),
    ("'", "text"),
])
def test_unparseable_text_is_refused_with_a_reason(text, reason):
    with pytest.raises(NotANumber) as caught:
        parse_number(text)
    assert caught.value.reason == reason


def test_a_unit_of_another_indicator_is_not_dropped():
    with pytest.raises(NotANumber):
        parse_number("12户", "个")


@pytest.mark.parametrize("cell, value, how, error", [
    (12.0, 12.0, (), ""),
    (7, 7.0, (), ""),
    ("1,234", 1234.0, ("text", "thousands"), ""),
    ("12", 12.0, ("text",), ""),
    (None, None, (), ""),
    ("   ", None, (), ""),
    (True, None, (), "bool"),
    (dt.date(2024, 1, 2), None, (), "date"),
    (float("nan"), None, (), "nan"),
    ("abc", None, (), "text"),
])
def test_read_number_on_cell_values(cell, value, how, error):
    reading = read_number(cell)
    assert (reading.value, reading.how, reading.error) == (value, how, error)
    assert reading.empty == (cell is None or cell == "   ")
    assert reading.lenient == bool(how)


def test_format_number_has_no_exponent_or_float_noise():
    assert format_number(1234.0) == "1234"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(0.00001) == "0.00001"
    assert format_number(-12.5) == "-12.5"


# --- round trips ----------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2,
                      allow_nan=False, allow_infinity=False)


def plain(d: Decimal) -> str:
    return f"{d:f}"


def grouped(d: Decimal, sep: str) -> str:
    whole, _, frac = f"{abs(d):f}".partition(".")
    groups = f"{int(whole):,}".replace(",", sep)
    return ("-" if d < 0 else "") + groups + (f".{frac}" if frac else "")


STYLES = {
    "plain": lambda d: plain(d),
    "thousands": lambda d: grouped(d, ","),
    "spaces": lambda d: grouped(d, " "),
    "fullwidth": lambda d: grouped(d, ",").translate(FULLWIDTH),
    "cn_decimal": lambda d: plain(d).replace(".", "．"),
    "apostrophe": lambda d: "'" + plain(d),
    "percent": lambda d: plain(d) + "%",
    "wan": lambda d: plain((d / 10000).normalize()) + "万",
    "yi": lambda d: plain((d / 100000000).normalize()) + "亿",
    "unit": lambda d: plain(d) + "个",
}


@pytest.mark.parametrize("style", sorted(STYLES))
@given(number=amounts)
def test_every_lenient_style_parses_back_to_the_number(style, number):
    text = STYLES[style](number)
    value, how = parse_number(text, "个")
    assert value == float(number)
    if style != "plain" and not (style in ("thousands", "spaces") and abs(number) < 1000):
        assert style in how or (style == "fullwidth" and "fullwidth" in how)


@given(number=amounts)
def test_a_real_number_cell_is_taken_as_it_is(number):
    reading = read_number(float(number))
    assert reading.value == float(number) and reading.how == ()


@given(text=st.text(alphabet="0123456789,. %万亿'", max_size=12))
def test_parsing_never_fails_other_than_by_refusing(text):
    try:
        value, how = parse_number(text)
    except NotANumber:
        return
    assert isinstance(value, float)


def test_every_leniency_is_told_in_the_clerks_words():
    from toolkit.catalogue import entries

    for name in LENIENCIES:
        if name != "text":
            assert entries()[f"number.how.{name}"]["zh"]
