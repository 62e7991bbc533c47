"""Unit values -> prefecture value, rule by rule; nobody reported is missing, never zero."""

import math

import pytest

from toolkit.aggregate import aggregate, prefecture_value, reported
from toolkit.model import AGGREGATIONS, Indicator


def indicator(rule, weight=""):
    return Indicator(id="9.1", task="9", name="测试", unit="%", kind="rate", direction="higher",
                     targets=((2024, 50.0),), scope="all", aggregation=rule, weight=weight)


@pytest.mark.parametrize("rule, expected", [
    ("sum", 60.0), ("mean", 20.0), ("min", 10.0), ("max", 30.0)])
def test_rules_skip_units_that_did_not_report(rule, expected):
    assert aggregate(rule, [10, None, 20, 30, None]) == expected


@pytest.mark.parametrize("rule", AGGREGATIONS)
def test_nobody_reported_is_missing_not_zero(rule):
    assert aggregate(rule, [None, None], [1, 2]) is None
    assert aggregate(rule, []) is None


def test_a_reported_zero_counts_as_zero():
    assert aggregate("sum", [0, None]) == 0
    assert aggregate("mean", [0, 10]) == 5


def test_none_never_aggregates():
    assert aggregate("none", [1, 2, 3]) is None


def test_weighted_mean_uses_the_weights_of_units_that_have_both():
    # 80% of 100 people and 90% of 300 people: 87.5%; the third unit has no weight
    assert aggregate("weighted", [80, 90, 10], [100, 300, None]) == pytest.approx(87.5)


def test_weighted_with_no_weight_or_zero_weights_is_missing():
    assert aggregate("weighted", [80, 90]) is None
    assert aggregate("weighted", [80, 90], [0, 0]) is None


def test_sum_is_exact_for_many_small_parts():
    values = [0.1] * 10
    assert aggregate("sum", values) == math.fsum(values) == 1.0


def test_unknown_rule_is_a_programmer_error():
    with pytest.raises(ValueError, match="unknown aggregation rule 'median'"):
        aggregate("median", [1])


def test_prefecture_value_takes_weights_from_the_named_indicator():
    ind = indicator("weighted", weight="9.2")
    values = {"653101": 80.0, "653121": 90.0, "653122": None}
    weights = {"653101": 100.0, "653121": 300.0, "653122": 50.0}
    assert prefecture_value(ind, values, weights) == pytest.approx(87.5)
    assert prefecture_value(indicator("max"), values) == 90.0
    assert reported(values) == 2
