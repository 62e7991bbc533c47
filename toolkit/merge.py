"""Merge a period's validated submissions into the consolidated workbook (汇总表).

facts (store) -> aggregate and variance (pure) -> summary (workbook). The
workbook goes to ``outputs/<PERIOD>/consolidated_<PERIOD>.xlsx`` unless told
otherwise, written atomically; the returned MergeReport says which units were
merged, which were left out and why, and which indicators are behind schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from toolkit import aggregate, heap, variance
from toolkit.facts import Gathered, gather
from toolkit.summary import ChangeRow, Consolidated, PrefectureRow, UnitStatus, UnitValue

KEY_INDICATORS = 4  # indicators charted unit by unit on the overview


@dataclass(frozen=True)
class LeftOutUnit:
    code: str
    name: str
    reason: str  # missing, invalid, unvalidated
    errors: int = 0


@dataclass(frozen=True)
class Behind:
    indicator: str
    name: str
    rag: str  # red or amber
    ratio: float


@dataclass(frozen=True)
class MergeReport:
    period: str
    path: Path
    included: tuple[tuple[str, str], ...]  # (code, name) of merged units
    marked: tuple[str, ...]  # codes merged although invalid (--include-invalid)
    left_out: tuple[LeftOutUnit, ...]
    behind: tuple[Behind, ...]
    rag: dict  # green/amber/red/none -> number of prefecture indicators
    facts: int
    previous_period: str | None = None
    lineage: Path | None = None  # 数据明细 in a workbook of its own (many values)


def default_out(workspace, period) -> Path:
    return workspace.period_dir(period) / f"consolidated_{period.code}.xlsx"


def merge(workspace, period, out=None, include_invalid: bool = False,
          lang: str | None = None) -> MergeReport:
    """Merge ``period`` in ``workspace`` (config thresholds and deadline apply)."""
    return consolidate(workspace.db_path, workspace.tasklist, period,
                       Path(out) if out else default_out(workspace, period),
                       thresholds=workspace.config.thresholds,
                       deadline=workspace.deadline(period), include_invalid=include_invalid,
                       lang=lang or workspace.config.lang)


def consolidate(db_path, tasklist, period, out, *, thresholds=None, deadline=None,
                include_invalid: bool = False, lang: str = "zh") -> MergeReport:
    """Store the period's facts, build the consolidated model and write the workbook."""
    from toolkit.config import Thresholds
    from toolkit.summary import write_summary

    thresholds = thresholds or Thresholds()
    deadline = deadline if deadline is not None else period.default_deadline()
    with heap.paused():  # plain data only: see toolkit.heap
        gathered = gather(db_path, tasklist, period, include_invalid)
        model = build_model(tasklist, gathered, thresholds, deadline)
        written = write_summary(out, model, lang)
    return report(model, gathered, written.path, written.lineage)


def _parse(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


def _unit_states(tasklist, gathered: Gathered, deadline) -> tuple[UnitStatus, ...]:
    selection = gathered.selection
    included = {s.unit_code for s in selection.included}
    out = []
    for unit in tasklist.units:
        sub = selection.current.get(unit.code)
        if sub is None:
            state = "missing"
        elif unit.code in included:
            state = {"valid": "merged", "warnings": "warnings"}.get(sub.status, "marked")
        else:
            state = "invalid" if sub.status == "invalid" else "unvalidated"
        out.append(UnitStatus(unit, state, sub, sub.late(deadline) if sub else None))
    return tuple(out)


def _indicator(tasklist, ind_id):
    try:
        return tasklist.indicator(ind_id)
    except StopIteration:
        return None


def _prefecture_row(tasklist, ind, by_indicator, period, thresholds,
                    figure=None) -> PrefectureRow:
    scope = tasklist.scope_units(ind)
    values = by_indicator.get(ind.id, {})
    reported = aggregate.reported(values)
    if not scope and figure is not None and figure.actual is not None:
        # the prefecture reported it itself (toolkit prefecture --import)
        judged = variance.assess(ind, period, figure.actual, ind.target(period.year),
                                 thresholds)
        return PrefectureRow(ind, judged, "reported", 1, 1, int(figure.actual >= 1),
                             source=f"{figure.file} {figure.cell}".strip())
    if not scope and not values:
        state = "prefecture"
    elif ind.aggregation == "none":
        state = "not_aggregated"
    elif reported == 0:
        state = "missing"
    else:
        state = "ok"
    value = None
    if state == "ok":
        value = aggregate.prefecture_value(ind, values, by_indicator.get(ind.weight, {}))
    judged = variance.assess(ind, period, value, ind.target(period.year), thresholds)
    done = sum(1 for v in values.values() if v is not None and v >= 1)
    return PrefectureRow(ind, judged, state, reported, len(scope), done)


def _by_indicator(facts) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for fact in facts:
        out.setdefault(fact.indicator, {})[fact.unit_code] = fact.actual
    return out


def _changes(tasklist, gathered: Gathered, prefecture, units) -> tuple[ChangeRow, ...]:
    prev_period = gathered.previous_period
    if prev_period is None:
        return ()
    period = gathered.period
    previous = _by_indicator(gathered.previous_facts)
    current = _by_indicator(gathered.facts)
    rows = []
    for pref in prefecture:
        ind = pref.indicator
        flag = variance.decrease_flagged(ind, prev_period, period)
        prev_values = previous.get(ind.id, {})
        before = None
        if pref.state in ("ok", "missing") and ind.aggregation != "none":
            before = aggregate.prefecture_value(ind, prev_values,
                                                previous.get(ind.weight, {}))
        now = pref.value.actual
        if before is not None or now is not None:
            rows.append(ChangeRow(ind, "", variance.change(ind, prev_period, period, before,
                                                           now), flag))
        for status in units:
            code = status.unit.code
            before = prev_values.get(code)
            now = current.get(ind.id, {}).get(code)
            if before is not None or now is not None:
                rows.append(ChangeRow(ind, code, variance.change(ind, prev_period, period,
                                                                 before, now), flag))
    return tuple(rows)


def _key_indicators(tasklist, values, scopes, units) -> tuple[str, ...]:
    ranked = []
    for index, ind in enumerate(tasklist.indicators):
        if ind.kind == "milestone" or not scopes.get(ind.id):
            continue
        cells = [values.get((u.unit.code, ind.id)) for u in units]
        completion = sum(1 for c in cells if c and c.value.completion is not None)
        reported = sum(1 for c in cells if c and c.fact.actual is not None)
        ranked.append((-completion, -reported, index, ind.id))
    return tuple(r[-1] for r in sorted(ranked)[:KEY_INDICATORS])


def build_model(tasklist, gathered: Gathered, thresholds, deadline) -> Consolidated:
    """The consolidated workbook's content, computed from the gathered facts (pure)."""
    period = gathered.period
    units = _unit_states(tasklist, gathered, deadline)
    values = {}
    for fact in gathered.facts:
        ind = _indicator(tasklist, fact.indicator)
        if ind is None:
            judged = variance.Variance(fact.actual, None, None, None, None, None, None, None)
        else:
            target = variance.unit_target(ind, period.year, fact.allocated)
            judged = variance.assess(ind, period, fact.actual, target, thresholds)
        values[(fact.unit_code, fact.indicator)] = UnitValue(fact, judged)
    by_indicator = _by_indicator(gathered.facts)
    prefecture = tuple(_prefecture_row(tasklist, ind, by_indicator, period, thresholds,
                                       gathered.figures.get(ind.id))
                       for ind in tasklist.indicators)
    scopes = {ind.id: tasklist.scope_units(ind) for ind in tasklist.indicators}
    task_scopes = {task.id: tasklist.task_units(task) for task in tasklist.tasks}
    tasks = tuple(task for task in tasklist.tasks if task_scopes[task.id])
    times = [_parse(s.received_at) for s in gathered.selection.current.values()]
    as_of = max((x for x in times if x is not None), default=None)
    created = as_of or dt.datetime.combine(period.end, dt.time())
    return Consolidated(
        title=tasklist.title, period=period, thresholds=thresholds, units=units,
        prefecture=prefecture, scopes=scopes, values=values, tasks=tasks,
        task_scopes=task_scopes,
        progress=gathered.progress, issues=gathered.issues,
        previous_period=gathered.previous_period,
        changes=_changes(tasklist, gathered, prefecture, units),
        key_indicators=_key_indicators(tasklist, values, scopes, units),
        deadline=deadline, as_of=as_of, unattributed=gathered.selection.unattributed,
        created=created)


def report(model: Consolidated, gathered: Gathered, path: Path,
           lineage: Path | None = None) -> MergeReport:
    """What the command tells the office after a merge."""
    selection = gathered.selection
    names = {u.unit.code: u.unit.name for u in model.units}
    left_out = tuple(LeftOutUnit(x.unit_code, names.get(x.unit_code, x.unit_code), x.reason,
                                 x.submission.errors if x.submission else 0)
                     for x in selection.left_out)
    behind = tuple(Behind(p.indicator.id, p.indicator.name, p.value.rag, p.value.ratio)
                   for p in model.prefecture if p.value.behind)
    prev = gathered.previous_period
    return MergeReport(
        period=model.period.code, path=path,
        included=tuple((s.unit_code, names.get(s.unit_code, s.unit_code))
                       for s in selection.included),
        marked=selection.marked, left_out=left_out, behind=behind, rag=model.rag_counts(),
        facts=len(gathered.facts), previous_period=prev.code if prev else None,
        lineage=lineage)
