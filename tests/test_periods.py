"""Reporting periods: the forms accepted, what share of the year they cover, clear refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from toolkit.errors import PeriodError
from toolkit.periods import Period, earlier_in_year, parse_period


@pytest.mark.parametrize("text, year, months, kind, code", [
    ("2024", 2024, 12, "Y", "2024"),
    ("2024H1", 2024, 6, "H", "2024H1"),
    ("2025h2", 2025, 12, "H", "2025H2"),
    (" 2024Q1 ", 2024, 3, "Q", "2024Q1"),
    ("2025q3", 2025, 9, "Q", "2025Q3"),
])
def test_accepted_forms(text, year, months, kind, code):
    period = parse_period(text)
    assert (period.year, period.months, period.kind) == (year, months, kind)
    assert period.code == code == str(period)
    assert parse_period(period.code) == period


@pytest.mark.parametrize("code, share", [
    ("2024H1", 0.5), ("2024Q3", 0.75), ("2024", 1.0), ("2025Q1", 0.25), ("2025H2", 1.0),
])
def test_elapsed_share_of_the_year(code, share):
    assert parse_period(code).elapsed == share


@pytest.mark.parametrize("code, end", [
    ("2024Q1", dt.date(2024, 3, 31)), ("2024H1", dt.date(2024, 6, 30)),
    ("2024Q3", dt.date(2024, 9, 30)), ("2025", dt.date(2025, 12, 31)),
    ("2025H2", dt.date(2025, 12, 31)),
])
def test_end_dates(code, end):
    period = parse_period(code)
    assert period.end == end
    assert period.default_deadline() == end + dt.timedelta(days=10)


@pytest.mark.parametrize("text", ["2024H3", "2023", "24Q1", "junk", "2024Q5", "", "2024-H1"])
def test_refusals_name_the_accepted_forms(text):
    with pytest.raises(PeriodError) as info:
        parse_period(text)
    message = str(info.value)
    assert repr(text) in message
    for form in ("YYYY", "YYYYH1", "YYYYQ1"):
        assert form in message


def test_year_outside_the_plan_says_which_years():
    with pytest.raises(PeriodError, match="outside the plan years 2024-2025"):
        parse_period("2023")


def test_half_year_three_says_h1_or_h2():
    with pytest.raises(PeriodError, match="H1 or H2"):
        parse_period("2024H3")


def test_labels():
    assert parse_period("2024H1").label() == "2024年上半年"
    assert parse_period("2024Q3").label() == "2024年第三季度"
    assert parse_period("2025").label() == "2025年度"
    assert parse_period("2024H1").label("en") == "2024 H1"
    assert parse_period("2025").label("en") == "2025 annual"


def test_periods_order_within_a_year():
    periods = [parse_period(c) for c in ("2024Q1", "2024H1", "2024Q3", "2024", "2025H1")]
    assert earlier_in_year(parse_period("2024"), periods) == [
        parse_period("2024Q3"), parse_period("2024H1"), parse_period("2024Q1")]
    assert earlier_in_year(parse_period("2025H1"), periods) == []
    assert sorted(periods)[0] == Period(2024, 3, "Q")
