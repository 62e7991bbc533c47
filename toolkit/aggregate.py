"""Unit values -> one prefecture value, by the indicator's aggregation rule.

Pure functions. A unit that did not report is left out of every rule (never
counted as zero); when nobody reported, the prefecture value is missing
(``None``). ``none`` never aggregates: such indicators are judged unit by unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from toolkit.model import AGGREGATIONS


def _numbers(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not _nan(v)]


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def aggregate(rule: str, values: Iterable[float | None],
              weights: Iterable[float | None] | None = None) -> float | None:
    """Aggregate ``values`` by ``rule`` (sum, mean, min, max, weighted, none).

    ``weights`` pairs with ``values`` for ``weighted``: only units with both a
    value and a weight count, and the result is sum(v·w) / sum(w); no such unit,
    or weights summing to zero, gives ``None``.
    """
    if rule not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation rule {rule!r}; use one of {', '.join(AGGREGATIONS)}")
    if rule == "none":
        return None
    if rule == "weighted":
        values = list(values)
        weights = list(weights) if weights is not None else [None] * len(values)
        if len(weights) != len(values):
            raise ValueError("weighted aggregation needs one weight per value")
        pairs = [(float(v), float(w)) for v, w in zip(values, weights)
                 if v is not None and w is not None and not _nan(v) and not _nan(w)]
        total = math.fsum(w for _, w in pairs)
        if not pairs or total == 0:
            return None
        return math.fsum(v * w for v, w in pairs) / total
    numbers = _numbers(values)
    if not numbers:
        return None
    if rule == "sum":
        return math.fsum(numbers)
    if rule == "mean":
        return math.fsum(numbers) / len(numbers)
    if rule == "min":
        return min(numbers)
    return max(numbers)


def prefecture_value(indicator, unit_values: Mapping[str, float | None],
                     weight_values: Mapping[str, float | None] | None = None) -> float | None:
    """The prefecture value of ``indicator`` from {unit code: value}.

    ``weight_values`` are the units' values of the indicator named by
    ``indicator.weight`` (for a ``weighted`` rule).
    """
    codes = sorted(unit_values)
    values = [unit_values[c] for c in codes]
    weights = None
    if indicator.aggregation == "weighted":
        weight_values = weight_values or {}
        weights = [weight_values.get(c) for c in codes]
    return aggregate(indicator.aggregation, values, weights)


def reported(unit_values: Mapping[str, float | None]) -> int:
    """How many units gave a value."""
    return len(_numbers(unit_values.values()))
