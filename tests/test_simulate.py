"""The simulated office and clerks behind the demo and the benchmarks."""

from __future__ import annotations

import pytest

from toolkit import layout
from toolkit.allocation import check_sums, split_indicators
from toolkit.periods import parse_period
from toolkit.simulate import Mistakes, plan_fill, propose_allocations
from toolkit.tasklist import load_tasklist

PLAN = load_tasklist()
Q1, H1 = parse_period("2024Q1"), parse_period("2024H1")


def by_indicator(values):
    out = {}
    for (ind, code), value in values.items():
        out.setdefault(ind, {})[code] = value
    return out


@pytest.mark.parametrize("year", PLAN.years)
def test_the_office_split_adds_up_to_every_prefecture_target(year):
    values = propose_allocations(PLAN, year, seed=3)
    assert check_sums(PLAN, year, by_indicator(values)) == []
    split, _ = split_indicators(PLAN)
    with_target = [i for i in split if i.target(year) is not None]
    assert {i.id for i in with_target} <= set(by_indicator(values))
    for ind in with_target:
        parts = [values[(ind.id, code)] for code in PLAN.scope_units(ind)]
        assert all(p >= 0 for p in parts)
        if float(ind.target(year)).is_integer() and ind.unit != "%":
            assert all(float(p).is_integer() for p in parts), ind.id
    assert propose_allocations(PLAN, year, seed=3) == values


def test_a_clerk_types_the_same_for_the_same_seed_and_keeps_pace_within_the_year():
    unit = PLAN.unit("653125")
    allocations = {i: v for (i, c), v in propose_allocations(PLAN, 2024, 1).items()
                   if c == unit.code}
    first = plan_fill(PLAN, unit, H1, allocations, seed=5)
    assert plan_fill(PLAN, unit, H1, allocations, seed=5) == first
    assert plan_fill(PLAN, unit, H1, allocations, seed=6) != first
    earlier = plan_fill(PLAN, unit, Q1, allocations, seed=5)
    cumulative = [i for i in PLAN.indicators_for(unit.code) if i.kind == "cumulative"]
    assert cumulative
    for ind in cumulative:
        assert earlier.actual[ind.id] <= first.actual[ind.id], ind.id


def test_a_task_is_marked_completed_only_when_its_indicators_reached_their_targets():
    unit = PLAN.unit("653101")
    allocations = {i: v for (i, c), v in propose_allocations(PLAN, 2024, 1).items()
                   if c == unit.code}
    for seed in range(5):
        plan = plan_fill(PLAN, unit, parse_period("2024"), allocations, seed=seed)
        for task_id, entry in plan.progress.items():
            if entry["status"] != layout.STATUSES[2]:
                continue
            for ind in (i for i in PLAN.indicators_for(unit.code) if i.task == task_id):
                value = plan.actual[ind.id]
                if ind.kind == "milestone":
                    assert value == "已完成"
                    continue
                target = allocations.get(ind.id, ind.target(2024))
                target = 10.0 if target is None else target  # what the clerk aims at then
                if ind.direction == "higher":
                    assert value >= target * 0.999, (ind.id, value, target)
                else:
                    assert value <= target * 1.001, (ind.id, value, target)


def test_the_prefectures_own_figures_never_fall_back_within_a_year():
    from toolkit.simulate import prefecture_figures

    quarters = [prefecture_figures(PLAN, parse_period(f"2025Q{q}"), seed=4) for q in (1, 2, 3, 4)]
    assert quarters[-1]
    for earlier, later in zip(quarters, quarters[1:]):
        for ind_id, value in earlier.items():
            if value == "已完成":
                assert later[ind_id] == "已完成"
            elif isinstance(value, (int, float)) and PLAN.indicator(ind_id).kind == "cumulative":
                assert later[ind_id] >= value


def test_mistakes_show_in_what_the_clerk_types():
    unit = PLAN.unit("653101")
    allocations = {i: v for (i, c), v in propose_allocations(PLAN, 2024, 1).items()
                   if c == unit.code}
    clean = plan_fill(PLAN, unit, H1, allocations, seed=1)
    assert not any(isinstance(v, str) and v not in ("已完成", "未完成")
                   for v in clean.actual.values())
    typed = plan_fill(PLAN, unit, H1, allocations, seed=1, mistakes=Mistakes(
        thousands_text=True, fullwidth=True, wan_and_percent=True, out_of_range=True,
        formula_narrative=True, negative=True))
    texts = [v for v in typed.actual.values() if isinstance(v, str)]
    assert any("," in v for v in texts)
    assert any(v.endswith("万") for v in texts) and any(v.endswith("%") for v in texts)
    assert any(ch in "０１２３４５６７８９" for v in texts for ch in v)
    assert 180 in typed.actual.values()
    assert any(isinstance(v, float) and v < 0 for v in typed.actual.values())
    assert any(e["progress"].startswith("=") for e in typed.progress.values())
