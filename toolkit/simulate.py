"""Simulated county clerks for the demo and the benchmarks.

Fills generated templates the way a clerk would in Excel (openpyxl stands in
for the office suite): plausible values near each unit's allocated target, some
ahead and some behind, deterministic for a seed, and with the mistakes real
clerks make when asked to (``Mistakes``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import layout

NARRATIVES = (
    "按计划推进，已完成阶段性目标。",
    "项目已开工建设，资金已落实到位。",
    "完成前期手续办理，正在组织施工。",
    "部分项目受资金影响进度偏慢，正在协调解决。",
)
PROBLEMS = ("无", "资金缺口较大。", "建设用地指标紧张。", "专业技术人员不足。")
NEXT_STEPS = ("加快项目建设进度。", "积极争取上级资金支持。", "加强督导调度，确保按期完成。")


@dataclass(frozen=True)
class Mistakes:
    """What a clerk gets wrong in one workbook."""

    thousands_text: bool = False  # "12,345" typed as text
    fullwidth: bool = False  # "１２３" typed with full-width digits
    wan_and_percent: bool = False  # "1.2万" and "45%" typed as text
    out_of_range: bool = False  # a percentage over 100
    negative: bool = False  # a negative count
    formula_narrative: bool = False  # a narrative that starts with "="
    leave_empty: tuple[str, ...] = ()  # indicator ids left blank


@dataclass(frozen=True)
class FillPlan:
    """What one clerk types: actual values per indicator, progress per task."""

    actual: dict = field(default_factory=dict)
    note: dict = field(default_factory=dict)
    progress: dict = field(default_factory=dict)
    filler: dict = field(default_factory=dict)


def _as_typed(value: float, unit: str) -> float | int:
    if unit in ("%", "‰") or not float(value).is_integer() and abs(value) < 1000:
        return round(value, 1)
    return int(round(value))


def plan_fill(tasklist, unit, period, allocations: dict, seed: int,
              mistakes: Mistakes = Mistakes()) -> FillPlan:
    """Decide what the clerk of ``unit`` types for ``period``; same seed, same plan."""
    rng = random.Random(f"{seed}:{unit.code}:{period.code}")
    actual, note, progress = {}, {}, {}
    indicators = tasklist.indicators_for(unit.code)
    for ind in indicators:
        if ind.kind == "milestone":
            actual[ind.id] = "已完成" if rng.random() < 0.5 + 0.5 * period.elapsed else "未完成"
            continue
        target = allocations.get(ind.id, ind.target(period.year))
        if target is None:
            target = 10.0
        pace = rng.uniform(0.6, 1.3)
        if ind.kind == "cumulative":
            value = target * period.elapsed * pace
        else:
            value = target * rng.uniform(0.85, 1.08) if ind.direction == "higher" \
                else target * rng.uniform(0.9, 1.2)
            if ind.unit == "%":
                value = min(value, 100.0)
        actual[ind.id] = _as_typed(value, ind.unit)
    numeric = [i for i in indicators if i.kind != "milestone" and i.id not in mistakes.leave_empty]
    counts = [i for i in numeric if i.kind == "cumulative" and actual[i.id] >= 1000]
    rates = [i for i in numeric if i.unit == "%"]
    if mistakes.thousands_text and counts:
        actual[counts[0].id] = f"{int(actual[counts[0].id]):,}"
    if mistakes.fullwidth and numeric:
        ind = numeric[-1]
        actual[ind.id] = str(actual[ind.id]).translate(
            str.maketrans("0123456789.", "０１２３４５６７８９．"))
    if mistakes.wan_and_percent:
        if counts:
            ind = counts[-1]
            actual[ind.id] = f"{actual[ind.id] / 10000:.2f}万"
        if rates:
            actual[rates[0].id] = f"{actual[rates[0].id]}%"
    if mistakes.out_of_range and rates:
        actual[rates[-1].id] = 180
    if mistakes.negative and numeric:
        actual[numeric[0].id] = -abs(float(actual[numeric[0].id]) if isinstance(
            actual[numeric[0].id], (int, float)) else 5)
    for ind_id in mistakes.leave_empty:
        actual.pop(ind_id, None)
    statuses = layout.STATUSES
    for i, task in enumerate(tasklist.tasks_for(unit.code)):
        status = rng.choices(statuses, weights=(1, 6, 2, 1))[0]
        narrative = rng.choice(NARRATIVES)
        if mistakes.formula_narrative and i == 0:
            narrative = "=已完成厂房主体建设，正在招商"
        progress[task.id] = {"status": status, "progress": narrative,
                             "problems": rng.choice(PROBLEMS), "next_steps": rng.choice(NEXT_STEPS)}
    filler = {"filler": f"{unit.name[:2]}填报员", "phone": f"0998-{rng.randint(2000000, 2999999)}",
              "reviewer": f"{unit.name[:2]}审核人", "date": period.default_deadline().isoformat()}
    return FillPlan(actual, note, progress, filler)


def fill_workbook(template: Path, dest: Path, plan: FillPlan) -> Path:
    """Type ``plan`` into a copy of ``template`` as a clerk would and save it as ``dest``."""
    import openpyxl

    from toolkit.atomic import atomic_path
    from toolkit.catalogue import t

    book = openpyxl.load_workbook(template)
    names = {key: next((n for n in book.sheetnames
                        if n in (t(f"layout.sheet.{key}", "zh"), t(f"layout.sheet.{key}", "en"))),
                       None) for key in ("indicators", "progress")}
    ind = book[names["indicators"]]
    for key, (row, col) in layout.FILLER_CELLS.items():
        if key in plan.filler:
            ind.cell(row, col).value = plan.filler[key]
    id_col = layout.IND_COLS["id"]
    for row in range(layout.IND_FIRST_ROW, ind.max_row + 1):
        ind_id = ind.cell(row, id_col).value
        if ind_id is None:
            continue
        ind_id = str(ind_id)
        if ind_id in plan.actual:
            ind.cell(row, layout.IND_COLS["actual"]).value = plan.actual[ind_id]
        if ind_id in plan.note:
            ind.cell(row, layout.IND_COLS["note"]).value = plan.note[ind_id]
    prog = book[names["progress"]]
    for row in range(layout.PROG_FIRST_ROW, prog.max_row + 1):
        task_id = prog.cell(row, layout.PROG_COLS["id"]).value
        entry = plan.progress.get(str(task_id)) if task_id is not None else None
        for key, value in (entry or {}).items():
            cell = prog.cell(row, layout.PROG_COLS[key])
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # typed text, as a clerk's leading "=" with '-prefix
    with atomic_path(dest) as tmp:
        book.save(tmp)
    return dest
