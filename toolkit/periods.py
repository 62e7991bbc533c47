"""Reporting periods: ``2024`` (annual), ``2024H1``/``H2``, ``2024Q1``–``Q4``.

A period knows the share of its year that has elapsed at its end (序时进度),
its end date, and the earlier periods of the same year.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from toolkit.errors import PeriodError

PLAN_YEARS = (2024, 2025)
_FORM = re.compile(r"^(\d{4})(?:([HQ])([1-4]))?$")
ACCEPTED = "YYYY, YYYYH1, YYYYH2, YYYYQ1..YYYYQ4 (e.g. 2024, 2024H1, 2025Q3)"


@dataclass(frozen=True, order=True)
class Period:
    year: int
    months: int  # months of the year covered at the period's end: 3, 6, 9 or 12
    kind: str  # "Y", "H" or "Q"

    @property
    def code(self) -> str:
        if self.kind == "Y":
            return str(self.year)
        if self.kind == "H":
            return f"{self.year}H{self.months // 6}"
        return f"{self.year}Q{self.months // 3}"

    def __str__(self) -> str:
        return self.code

    @property
    def elapsed(self) -> float:
        """Share of the year elapsed at the period's end: H1 0.5, Q3 0.75, annual 1."""
        return self.months / 12

    @property
    def end(self) -> dt.date:
        if self.months == 12:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, self.months + 1, 1) - dt.timedelta(days=1)

    def label(self, lang: str = "zh") -> str:
        if lang == "en":
            return {"Y": f"{self.year} annual", "H": f"{self.year} H{self.months // 6}",
                    "Q": f"{self.year} Q{self.months // 3}"}[self.kind]
        if self.kind == "Y":
            return f"{self.year}年度"
        if self.kind == "H":
            return f"{self.year}年{'上' if self.months == 6 else '下'}半年"
        return f"{self.year}年第{'一二三四'[self.months // 3 - 1]}季度"

    def default_deadline(self) -> dt.date:
        """Ten days after the period ends, the usual reporting window."""
        return self.end + dt.timedelta(days=10)


def parse_period(text: str, years=PLAN_YEARS) -> Period:
    """Parse a period code; raise PeriodError naming the accepted forms."""
    raw = str(text).strip().upper()
    match = _FORM.match(raw)
    if not match:
        raise PeriodError(f"unknown period {text!r}: use {ACCEPTED}")
    year, kind, num = int(match[1]), match[2], match[3]
    if year not in years:
        raise PeriodError(f"period {text!r} is outside the plan years "
                          f"{years[0]}-{years[-1]}: use {ACCEPTED}")
    if kind is None:
        return Period(year, 12, "Y")
    n = int(num)
    if kind == "H":
        if n > 2:
            raise PeriodError(f"unknown period {text!r}: a half-year is H1 or H2; use {ACCEPTED}")
        return Period(year, 6 * n, "H")
    return Period(year, 3 * n, "Q")


def earlier_in_year(period: Period, candidates) -> list[Period]:
    """Those of ``candidates`` in the same year that end before ``period``, latest first."""
    same = [p for p in candidates if p.year == period.year and p.months < period.months]
    return sorted(same, key=lambda p: p.months, reverse=True)
