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
    """What a clerk types: whole numbers for counts and large amounts, else one decimal."""
    from toolkit.template import COUNT_UNITS

    if unit in COUNT_UNITS or abs(value) >= 1000 and unit not in ("%", "‰"):
        return int(round(value))
    return round(value, 1)


def plan_fill(tasklist, unit, period, allocations: dict, seed: int,
              mistakes: Mistakes = Mistakes()) -> FillPlan:
    """Decide what the clerk of ``unit`` types for ``period``; same seed, same plan."""
    rng = random.Random(f"{seed}:{unit.code}:{period.code}")
    actual, note, progress = {}, {}, {}
    indicators = tasklist.indicators_for(unit.code)
    reached = {}  # indicator id -> the unit is at or past its target for the year
    for ind in indicators:
        # a unit keeps its pace on an indicator all year, so cumulative figures grow
        steady = random.Random(f"{seed}:{unit.code}:{ind.id}:{period.year}")
        if ind.kind == "milestone":
            done = steady.random() < period.elapsed
            actual[ind.id] = "已完成" if done else "未完成"
            reached[ind.id] = done
            continue
        target = allocations.get(ind.id, ind.target(period.year))
        if target is None:
            target = 10.0
        if ind.kind == "cumulative":
            pace = steady.uniform(0.6, 1.3) * rng.uniform(0.98, 1.02)
            value = target * period.elapsed * pace
            reached[ind.id] = value >= target
        else:
            level = steady.uniform(0.93, 1.05) if ind.direction == "higher" \
                else steady.uniform(0.95, 1.12)
            value = target * level
            if ind.unit == "%":
                value = min(value, 100.0)
            reached[ind.id] = value >= target if ind.direction == "higher" else value <= target
        actual[ind.id] = _as_typed(value, ind.unit)
    free = [i for i in indicators if i.kind != "milestone" and i.id not in mistakes.leave_empty]

    def take(wanted=lambda i: True, last=False):
        """An indicator no other mistake has touched yet (each mistake gets its own cell)."""
        found = [i for i in free if wanted(i)]
        if not found:
            return None
        ind = found[-1] if last else found[0]
        free.remove(ind)
        return ind

    def large(i):
        return i.kind == "cumulative" and actual[i.id] >= 1000

    def rate(i):
        return i.unit == "%"

    if mistakes.thousands_text and (ind := take(large)):
        actual[ind.id] = f"{int(actual[ind.id]):,}"
    if mistakes.wan_and_percent:
        if ind := take(large, last=True):
            actual[ind.id] = f"{actual[ind.id] / 10000:.2f}万"
        if ind := take(rate):
            actual[ind.id] = f"{actual[ind.id]}%"
    if mistakes.out_of_range and (ind := take(rate, last=True)):
        actual[ind.id] = 180
    if mistakes.fullwidth and (ind := take(last=True)):
        actual[ind.id] = str(actual[ind.id]).translate(
            str.maketrans("0123456789.", "０１２３４５６７８９．"))
    if mistakes.negative and (ind := take()):
        actual[ind.id] = -abs(float(actual[ind.id]))
    for ind_id in mistakes.leave_empty:
        actual.pop(ind_id, None)
    statuses = layout.STATUSES
    for i, task in enumerate(tasklist.tasks_for(unit.code)):
        own = [reached[ind.id] for ind in indicators if ind.task == task.id]
        if own and all(own):
            status = statuses[2]  # 已完成
        elif not own:  # nothing to measure it by: any status
            status = rng.choices(statuses, weights=(1, 6, 2, 1))[0]
        else:  # 未启动 rarely, 滞后 now and then, mostly 推进中
            status = rng.choices((statuses[0], statuses[1], statuses[3]), weights=(1, 7, 2))[0]
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


# --- the prefecture office splitting its targets (任务分解) ---------------------

def propose_allocations(tasklist, year: int, seed: int) -> dict[tuple[str, str], float]:
    """What the office types into the allocation workbook: {(indicator, unit code): target}.

    A summed target is split over the units in its scope by fixed random weights
    (whole numbers by largest remainder for whole targets, else the rounding on the
    largest share, so the parts add up to the prefecture target); any other target is every unit's own level.
    Milestones and indicators without a target that year get nothing.
    """
    from toolkit.allocation import split_indicators

    rng = random.Random(f"{seed}:allocations:{year}")
    weights = {u.code: rng.uniform(0.5, 1.5) for u in tasklist.units}
    split, other = split_indicators(tasklist)
    values: dict[tuple[str, str], float] = {}
    for ind in split:
        target = ind.target(year)
        if target is None:
            continue
        scope = tasklist.scope_units(ind)
        total = sum(weights[c] for c in scope)
        whole = ind.unit not in ("%", "‰") and float(target).is_integer()
        exact = {c: target * weights[c] / total for c in scope}
        if whole:  # largest remainder: whole shares that still add up
            shares = {c: float(int(v)) for c, v in exact.items()}
            by_remainder = sorted(scope, key=lambda c: shares[c] - exact[c])
            for code in by_remainder[:int(target - sum(shares.values()))]:
                shares[code] += 1
        else:
            shares = {c: round(v, 4) for c, v in exact.items()}
            largest = max(scope, key=lambda c: weights[c])
            shares[largest] = round(shares[largest] + target - sum(shares.values()), 4)
        values.update({(ind.id, c): v for c, v in shares.items()})
    for ind in other:
        target = ind.target(year)
        if target is None or ind.kind == "milestone":
            continue
        values.update({(ind.id, c): target for c in tasklist.scope_units(ind)})
    return values


def fill_allocations(path: Path, values: dict[tuple[str, str], float]) -> Path:
    """Type ``values`` into an exported allocation workbook, as the office does in Excel."""
    import openpyxl

    from toolkit.allocation import CODES_ROW, FIRST_UNIT_COL
    from toolkit.atomic import atomic_path

    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    rows = {str(ws.cell(r, 1).value): r for r in range(CODES_ROW + 1, ws.max_row + 1)
            if ws.cell(r, 1).value}
    cols = {str(ws.cell(CODES_ROW, c).value): c for c in range(FIRST_UNIT_COL, ws.max_column + 1)}
    for (ind, code), value in values.items():
        ws.cell(rows[ind], cols[code]).value = value
    with atomic_path(path) as tmp:
        book.save(tmp)
    return path


# --- the prefecture's lead departments (地区层面指标) ---------------------------

def prefecture_figures(tasklist, period, seed: int) -> dict[str, object]:
    """What the lead departments report for the indicators no unit reports."""
    from toolkit.prefecture import prefecture_indicators

    out: dict[str, object] = {}
    for ind in prefecture_indicators(tasklist):
        target = ind.target(period.year)
        if target is None:
            continue
        # as with the clerks: a steady pace within the year, so figures never fall back
        steady = random.Random(f"{seed}:prefecture:{ind.id}:{period.year}")
        if ind.kind == "milestone":
            out[ind.id] = "已完成" if steady.random() < period.elapsed else "未完成"
        elif ind.kind == "cumulative":
            out[ind.id] = _as_typed(target * period.elapsed * steady.uniform(0.7, 1.2),
                                    ind.unit)
        else:
            out[ind.id] = _as_typed(target * steady.uniform(0.9, 1.03), ind.unit)
    return out


def fill_prefecture(path: Path, values: dict[str, object]) -> Path:
    """Type the departments' figures into an exported prefecture workbook."""
    import openpyxl

    from toolkit.atomic import atomic_path
    from toolkit.prefecture import FIRST_ROW, _col

    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    for row in range(FIRST_ROW, ws.max_row + 1):
        ind_id = ws.cell(row, 1).value
        if ind_id is not None and str(ind_id) in values:
            ws.cell(row, _col("actual")).value = values[str(ind_id)]
    with atomic_path(path) as tmp:
        book.save(tmp)
    return path
