"""Variance against target and against expected progress (序时进度), direction-aware."""

import pytest

from toolkit.config import Thresholds
from toolkit.model import Indicator
from toolkit.periods import parse_period
from toolkit.variance import (assess, change, completion, expected, progress_ratio, rag,
                              unit_target)

TH = Thresholds()


def indicator(kind="cumulative", direction="higher", rule="sum", target=1000.0):
    return Indicator(id="1.1", task="1", name="测试", unit="人", kind=kind, direction=direction,
                     targets=((2024, target), (2025, None)), scope="all", aggregation=rule)


@pytest.mark.parametrize("period, share", [("2024Q1", 0.25), ("2024H1", 0.5), ("2024Q3", 0.75),
                                           ("2024", 1.0)])
def test_cumulative_expected_progress_is_the_elapsed_share_of_the_annual_target(period, share):
    assert expected(indicator(), 1000.0, parse_period(period)) == 1000.0 * share


@pytest.mark.parametrize("kind", ["rate", "milestone"])
def test_rates_and_milestones_compare_with_the_target_directly(kind):
    assert expected(indicator(kind=kind), 50.0, parse_period("2024H1")) == 50.0


def test_no_target_no_expectation():
    assert expected(indicator(), None, parse_period("2024H1")) is None
    assert assess(indicator(), parse_period("2024H1"), 10.0, None, TH).rag is None


def test_unit_target_allocated_first_then_shared_levels_only():
    assert unit_target(indicator(rule="sum"), 2024, 300.0) == 300.0
    assert unit_target(indicator(rule="sum"), 2024, None) is None  # a sum needs an allocation
    assert unit_target(indicator(kind="rate", rule="mean", target=50.0), 2024, None) == 50.0
    assert unit_target(indicator(kind="rate", rule="min", target=59.0), 2024, None) == 59.0
    assert unit_target(indicator(kind="milestone", rule="none", target=1.0), 2024, None) == 1.0
    assert unit_target(indicator(kind="rate", direction="lower", target=0.0), 2024, None) == 0.0
    assert unit_target(indicator(), 2025, None) is None  # no target that year


def test_completion_rate_and_its_edges():
    assert completion(450.0, 1000.0) == 0.45
    assert completion(5.0, 0.0) is None
    assert completion(None, 1000.0) is None


def test_h1_cumulative_half_done_is_on_schedule():
    v = assess(indicator(), parse_period("2024H1"), 500.0, 1000.0, TH)
    assert (v.expected, v.completion, v.ratio, v.rag) == (500.0, 0.5, 1.0, "green")
    assert (v.gap, v.variance) == (-500.0, 0.0)


def test_h1_cumulative_behind_schedule_by_thresholds():
    period = parse_period("2024H1")
    assert assess(indicator(), period, 460.0, 1000.0, TH).rag == "amber"  # 0.92
    assert assess(indicator(), period, 440.0, 1000.0, TH).rag == "red"  # 0.88


def test_lower_is_better_above_target_is_behind():
    ind = indicator(kind="rate", direction="lower", rule="max", target=100.0)
    period = parse_period("2024H1")
    above = assess(ind, period, 105.0, 100.0, TH)
    assert above.ratio == pytest.approx(0.95) and above.rag == "amber"
    assert assess(ind, period, 130.0, 100.0, TH).rag == "red"
    below = assess(ind, period, 80.0, 100.0, TH)
    assert below.ratio == pytest.approx(1.2) and below.rag == "green"
    assert assess(ind, period, 500.0, 100.0, TH).ratio == 0.0  # never below zero


def test_zero_expected_judges_the_side_of_the_actual():
    assert progress_ratio(0.0, 0.0, "lower") == 1.0
    assert progress_ratio(1.0, 0.0, "lower") == 0.0
    assert progress_ratio(0.0, 0.0, "higher") == 1.0


def test_milestone_by_status():
    ind = indicator(kind="milestone", rule="none", target=1.0)
    period = parse_period("2024H1")
    assert assess(ind, period, 1.0, 1.0, TH).rag == "green"
    assert assess(ind, period, 0.0, 1.0, TH).rag == "red"


@pytest.mark.parametrize("ratio, colour", [(1.0, "green"), (1.3, "green"), (0.9, "amber"),
                                           (0.99, "amber"), (0.8999, "red"), (0.0, "red"),
                                           (None, None)])
def test_rag_boundaries_belong_to_the_better_colour(ratio, colour):
    assert rag(ratio, TH) == colour


def test_rag_follows_configured_thresholds():
    strict = Thresholds(green=1.1, amber=1.0)
    assert rag(1.05, strict) == "amber"
    assert rag(0.99, strict) == "red"


def test_cumulative_decrease_within_a_year_is_flagged():
    ind = indicator()
    q1, h1, prev_year = parse_period("2024Q1"), parse_period("2024H1"), parse_period("2024")
    fell = change(ind, q1, h1, 90.0, 80.0)
    assert (fell.change, fell.relative, fell.flagged) == (-10.0, pytest.approx(-1 / 9), True)
    assert not change(ind, q1, h1, 80.0, 90.0).flagged
    assert not change(ind, prev_year, parse_period("2025H1"), 90.0, 10.0).flagged  # new year
    assert not change(indicator(kind="rate"), q1, h1, 90.0, 80.0).flagged
    assert change(ind, q1, h1, 0.0, 5.0).relative is None
    assert change(ind, q1, h1, None, 5.0).change is None
