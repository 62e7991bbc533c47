"""Variance of an actual value against its target and against expected progress (序时进度).

Pure functions over numbers and the task list's indicators.

- completion rate = actual / target;
- expected progress at the period's end: for a cumulative indicator the annual
  target × the elapsed share of the year (H1 0.5, Q3 0.75, annual 1); for a
  rate or level the target itself; for a milestone its target (1 = done), so a
  milestone is judged by its status, done or not;
- progress ratio, direction-aware: for higher-is-better, actual / expected; for
  lower-is-better, 2 − actual / expected (never below 0), so 1 means exactly on
  schedule either way and above 1 means ahead. With an expected value of 0 or
  less the ratio is 1 when the actual is on the good side of it, else 0;
- red / amber / green from the ratio: ``ratio >= thresholds.green`` green,
  ``>= thresholds.amber`` amber, else red; no ratio, no colour.

The consolidated workbook's conditional formatting and formulas mirror these
functions exactly (``toolkit.summary`` writes the same arithmetic as Excel
formulas).
"""

from __future__ import annotations

from dataclasses import dataclass

RAGS = ("green", "amber", "red")
# Rules that judge each unit against the prefecture target itself (a level every
# unit must reach); a sum needs an allocated target per unit.
SHARED_TARGET_RULES = ("mean", "min", "max", "weighted", "none")


def unit_target(indicator, year: int, allocated: float | None) -> float | None:
    """The target a unit is judged against: its allocated target (任务分解) when it has
    one; else the prefecture target when that target is a level every unit must reach
    (rules mean/min/max/weighted/none, and milestones); a zero target of a sum holds
    for every unit too. Otherwise the unit has no target of its own."""
    if allocated is not None:
        return float(allocated)
    target = indicator.target(year)
    if target is None:
        return None
    if indicator.kind == "milestone" or indicator.aggregation in SHARED_TARGET_RULES:
        return float(target)
    if indicator.aggregation == "sum" and target == 0:
        return 0.0
    return None


def expected_share(indicator, period) -> float:
    """The share of the annual target expected by the period's end."""
    return period.elapsed if indicator.kind == "cumulative" else 1.0


def expected(indicator, target: float | None, period) -> float | None:
    """Expected progress (序时进度) at the period's end for ``target``."""
    if target is None:
        return None
    return target * expected_share(indicator, period)


def completion(actual: float | None, target: float | None) -> float | None:
    """actual / target; None without both, or with a zero target."""
    if actual is None or target is None or target == 0:
        return None
    return actual / target


def difference(actual: float | None, reference: float | None) -> float | None:
    """actual − reference (the gap to a target or to expected progress)."""
    if actual is None or reference is None:
        return None
    return actual - reference


def progress_ratio(actual: float | None, expected_value: float | None,
                   direction: str) -> float | None:
    """Progress against expected progress, direction-aware (1 = exactly on schedule)."""
    if actual is None or expected_value is None:
        return None
    if expected_value > 0:
        ratio = actual / expected_value
        return ratio if direction != "lower" else max(0.0, 2.0 - ratio)
    on_good_side = actual <= expected_value if direction == "lower" else actual >= expected_value
    return 1.0 if on_good_side else 0.0


def rag(ratio: float | None, thresholds) -> str | None:
    """"green", "amber", "red" or None (no ratio) for a progress ratio."""
    if ratio is None:
        return None
    if ratio >= thresholds.green:
        return "green"
    if ratio >= thresholds.amber:
        return "amber"
    return "red"


@dataclass(frozen=True)
class Variance:
    """One value judged against its target and expected progress."""

    actual: float | None
    target: float | None
    expected: float | None
    completion: float | None  # actual / target
    ratio: float | None  # progress against expected, direction-aware
    gap: float | None  # actual − target
    variance: float | None  # actual − expected
    rag: str | None

    @property
    def behind(self) -> bool:
        return self.rag in ("amber", "red")


def assess(indicator, period, actual: float | None, target: float | None,
           thresholds) -> Variance:
    """Judge ``actual`` of ``indicator`` for ``period`` against ``target``."""
    exp = expected(indicator, target, period)
    ratio = progress_ratio(actual, exp, indicator.direction)
    return Variance(actual=actual, target=target, expected=exp,
                    completion=completion(actual, target), ratio=ratio,
                    gap=difference(actual, target), variance=difference(actual, exp),
                    rag=rag(ratio, thresholds))


@dataclass(frozen=True)
class Change:
    """Period over period: this period's value against the previous period's."""

    previous: float | None
    current: float | None
    change: float | None  # current − previous
    relative: float | None  # change / |previous|; None when previous is 0 or missing
    flagged: bool  # a cumulative value fell within the same year


def change(indicator, previous_period, period, previous: float | None,
           current: float | None) -> Change:
    """Compare ``current`` (in ``period``) with ``previous`` (in ``previous_period``)."""
    delta = difference(current, previous)
    relative = delta / abs(previous) if delta is not None and previous else None
    same_year = previous_period is not None and previous_period.year == period.year
    flagged = (indicator.kind == "cumulative" and same_year and delta is not None
               and delta < 0)
    return Change(previous, current, delta, relative, flagged)


def decrease_flagged(indicator, previous_period, period) -> bool:
    """Whether a decrease of ``indicator`` between these periods is flagged."""
    return (indicator.kind == "cumulative" and previous_period is not None
            and previous_period.year == period.year)
