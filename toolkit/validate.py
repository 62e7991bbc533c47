"""The validation rules: pure functions from what a submission holds to issues.

``check_submission`` runs every rule that needs one submission (its identity,
its extracted inputs, its history and which input cells held formulas);
``compare_units`` runs the rule that needs every unit of the period (values
far from the other units); ``apply_explanations`` turns warnings the unit
explained in a resubmitted feedback workbook into accepted notes.

Decisions worth knowing:

* 已完成 against the numbers (W-DONE-BELOW-TARGET) is a warning, not an error:
  a task's work can be finished while an indicator measured later still lags,
  so the office asks for a look or an explanation rather than blocking the
  merge. The target is the unit's allocated target; without one, the
  prefecture target is used only for indicators that are not summed over
  units (rates and levels apply to every unit; a county's count is never
  compared with the prefecture's total). A milestone due this year marked
  未完成 under a task marked 已完成 is the same contradiction.
* A cumulative value below the same unit's earlier figure in the same year
  (W-CUMULATIVE-DECREASE) is a warning: it is usually a typing error, but can
  be a correction of the earlier report, which the unit can explain.
* Jumps (W-JUMP) compare like with like: rates and levels directly; cumulative
  indicators by pace (the value per elapsed share of its year), so a half-year
  figure is not a "jump" from the first quarter's merely for being later.
* Values far from the other units (W-OUTLIER) use the median-based robust
  z-score 0.6745·(x − median)/MAD over the units that reported a usable value
  (at least ``MIN_UNITS``); when every one of them has an allocated target the
  completion ratio is compared instead of the raw value, so a large county is
  not an outlier for being large. The MAD is taken as at least ``MAD_FLOOR`` of
  the median, so where the units agree closely (rates near their target) a
  value within about a tenth of the median is never "far" from the others.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from toolkit import issues as iss
from toolkit import layout
from toolkit.layout import a1
from toolkit.numbers import looks_like_fraction

MIN_UNITS = 5  # fewer values than this: no robust z-score
MAD_SCALE = 0.6745  # makes the MAD comparable to a standard deviation
MEAN_AD_SCALE = 1.253314  # used instead when the MAD is 0 (Iglewicz & Hoaglin)
MAD_FLOOR = 0.02  # the MAD is at least this share of |median|: tiny spreads are not outliers


@dataclass(frozen=True)
class Context:
    """What the rules need to know besides the submission itself."""

    period: object  # toolkit.periods.Period
    tasklist: object  # toolkit.model.TaskList
    fingerprint: str  # the current template fingerprint
    template_version: str  # the current template version
    unit: str = ""  # unit code the submission is filed under
    file: str = ""  # the name the file arrived with
    expected_unit: str = ""  # unit whose address it came from, when known
    allocations: dict = field(default_factory=dict)  # indicator -> this unit's target
    history: dict = field(default_factory=dict)  # indicator -> ((period code, value), ...)
    formulas: frozenset | None = frozenset()  # (sheet, A1) with a formula; None: not checkable
    format: str = "xlsx"
    thresholds: object = None  # toolkit.config.Thresholds

    @property
    def where(self) -> dict:
        return {"unit": self.unit, "file": self.file}


def _unit_name(tasklist, code: str) -> str:
    return next((u.name for u in tasklist.units if u.code == code), code)


def _id_cell(extracted, key: str) -> dict:
    row, col = layout.ID_CELLS[key]
    return {"sheet": extracted.indicator_sheet or "", "cell": a1(row, col) if
            extracted.indicator_sheet else ""}


def identity_rules(reading, extracted, ctx: Context) -> list[iss.Issue]:
    """Stale or foreign template, copies that disagree, wrong unit or period."""
    out = []
    w = ctx.where
    identity = reading.identity
    if identity is None:
        return [iss.make("E-NO-IDENTITY", **w)]
    if reading.disagreements:
        names = sorted({d.split(":", 1)[0] for d in reading.disagreements})
        out.append(iss.make("E-IDENTITY-MISMATCH", value="; ".join(reading.disagreements),
                            fields=",".join(names), **_id_cell(extracted, "unit_code"), **w))
    if identity.unit_code not in ctx.tasklist.unit_codes:
        out.append(iss.make("E-UNKNOWN-UNIT", value=identity.unit_code,
                            **_id_cell(extracted, "unit_code"), **w))
    elif ctx.expected_unit and ctx.expected_unit != identity.unit_code:
        out.append(iss.make("E-WRONG-UNIT", value=identity.unit_code,
                            claimed=_unit_name(ctx.tasklist, identity.unit_code),
                            expected=ctx.expected_unit,
                            expected_name=_unit_name(ctx.tasklist, ctx.expected_unit),
                            **_id_cell(extracted, "unit_code"), **w))
    if identity.period.strip().upper() != ctx.period.code:
        out.append(iss.make("E-WRONG-PERIOD", value=identity.period, expected=ctx.period.code,
                            **_id_cell(extracted, "period"), **w))
    if identity.fingerprint != ctx.fingerprint:
        out.append(iss.make("E-STALE-TEMPLATE", value=identity.template_version or "—",
                            fingerprint=identity.fingerprint, expected=ctx.template_version,
                            expected_fingerprint=ctx.fingerprint,
                            **_id_cell(extracted, "fingerprint"), **w))
    elif identity.template_version != ctx.template_version:
        out.append(iss.make("W-TEMPLATE-VERSION", value=identity.template_version,
                            expected=ctx.template_version,
                            **_id_cell(extracted, "template_version"), **w))
    return out


def _below(ind, value: float, target: float) -> bool:
    return value > target if ind.direction == "lower" else value < target


def cell_rules(extracted, ctx: Context) -> list[iss.Issue]:
    """Required inputs, numbers typed as text, unparseable, negative, over 100%, lists."""
    out = []
    w = ctx.where
    known = ctx.tasklist.indicators_by_id
    for r in extracted.indicators:
        ind = known.get(r.id)
        if ind is None:
            continue  # a row of another list: the stale-template error covers it
        at = {"sheet": r.sheet, "cell": r.cell, "indicator": r.id, "column": "actual",
              "name": ind.name, "measure": ind.unit}
        number = r.number
        if number.empty:
            what = "milestone" if r.milestone else "actual"
            out.append(iss.make("E-REQUIRED-EMPTY", what=what, hint=what, **at, **w))
            continue
        if number.error == "milestone":
            out.append(iss.make("E-MILESTONE-NOT-IN-LIST", value=_shown(r.raw),
                                choices="、".join(layout.MILESTONE_VALUES), **at, **w))
            continue
        if number.error:
            out.append(iss.make("E-NOT-A-NUMBER", value=_shown(r.raw), reason=number.error,
                                **at, **w))
            continue
        if number.lenient:
            out.append(iss.make("W-TEXT-NUMBER", value=_shown(r.raw), read=number.value,
                                how=",".join(number.how), **at, **w))
        if number.value < 0:
            out.append(iss.make("E-NEGATIVE", value=_shown(r.raw), read=number.value, **at, **w))
        elif ind.is_percent and number.value > 100:
            out.append(iss.make("E-PERCENT-OVER-100", value=_shown(r.raw), read=number.value,
                                **at, **w))
        elif looks_like_fraction(ind, number.value, ctx.period.year):
            out.append(iss.make("W-PERCENT-FRACTION", value=_shown(r.raw), read=number.value,
                                meant=number.value * 100, **at, **w))
    titles = {x.id: x.title for x in ctx.tasklist.tasks}
    for r in extracted.tasks:
        at = {"sheet": r.sheet, "cell": r.cell("status"), "task": r.id, "column": "status",
              "name": titles.get(r.id, "")}
        if not r.status:
            out.append(iss.make("E-REQUIRED-EMPTY", what="status", hint="status", **at, **w))
        elif not r.canonical_status:
            out.append(iss.make("E-STATUS-NOT-IN-LIST", value=r.status,
                                choices="、".join(layout.STATUSES), **at, **w))
    for f in extracted.filler:
        if f.key in ("filler", "phone") and not f.value:
            out.append(iss.make("E-REQUIRED-EMPTY", what=f.key, hint=f.key, sheet=f.sheet,
                                cell=f.cell, column=f.key, **w))
    return out


def consistency_rules(extracted, ctx: Context) -> list[iss.Issue]:
    """已完成 while the task's indicators are below target."""
    out = []
    w = ctx.where
    year = ctx.period.year
    in_scope = {i.id: i for i in ctx.tasklist.indicators_for(ctx.unit)} if ctx.unit else {}
    for task in extracted.tasks:
        if task.canonical_status != layout.STATUSES[2]:  # 已完成
            continue
        task_name = next((t.title for t in ctx.tasklist.tasks if t.id == task.id), "")
        for ind in (i for i in in_scope.values() if i.task == task.id):
            r = extracted.indicator(ind.id)
            if r is None or r.value is None:
                continue
            at = {"sheet": task.sheet, "cell": task.cell("status"), "task": task.id,
                  "indicator": ind.id, "column": "status", "name": ind.name,
                  "actual_cell": r.cell, "value": task.status, "task_name": task_name}
            if ind.kind == "milestone":  # due this year (a target) and not done
                if r.value < 1 and ind.target(year) is not None:
                    out.append(iss.make("W-DONE-BELOW-TARGET", read=_shown(r.raw),
                                        target=layout.MILESTONE_VALUES[0], **at, **w))
                continue
            target = ctx.allocations.get(ind.id)
            if target is None and ind.aggregation != "sum":
                target = ind.target(year)
            if target is None or r.value < 0:
                continue
            if _below(ind, r.value, target):
                out.append(iss.make("W-DONE-BELOW-TARGET", read=r.value, target=target, **at,
                                    **w))
    return out


def history_rules(extracted, ctx: Context) -> list[iss.Issue]:
    """Cumulative values below the same year's earlier figure; jumps against the last period."""
    from toolkit.periods import parse_period

    out = []
    w = ctx.where
    jump = ctx.thresholds.jump if ctx.thresholds is not None else 1.0
    known = ctx.tasklist.indicators_by_id
    for r in extracted.indicators:
        ind = known.get(r.id)
        past = ctx.history.get(r.id) or ()
        if ind is None or ind.kind == "milestone" or r.value is None or r.value < 0 or not past:
            continue
        at = {"sheet": r.sheet, "cell": r.cell, "indicator": r.id, "column": "actual",
              "name": ind.name, "value": _shown(r.raw)}
        periods = [(parse_period(code), value) for code, value in past if value is not None]
        periods.sort(key=lambda pv: (pv[0].year, pv[0].months), reverse=True)
        earlier = [(p, v) for p, v in periods if p.year == ctx.period.year
                   and p.months < ctx.period.months]
        if ind.kind == "cumulative" and earlier and r.value < earlier[0][1] - 1e-9:
            out.append(iss.make("W-CUMULATIVE-DECREASE", read=r.value,
                                previous=earlier[0][1], previous_period=earlier[0][0].code,
                                **at, **w))
            continue
        before = [(p, v) for p, v in periods if (p.year, p.months) <
                  (ctx.period.year, ctx.period.months)]
        if not before:
            continue
        prev_period, prev = before[0]
        new_level, old_level = r.value, prev
        if ind.kind == "cumulative":
            new_level, old_level = r.value / ctx.period.elapsed, prev / prev_period.elapsed
        if old_level == 0:
            continue
        change = (new_level - old_level) / abs(old_level)
        if abs(change) > jump:
            out.append(iss.make("W-JUMP", read=r.value, previous=prev,
                                previous_period=prev_period.code,
                                change=f"{change * 100:+.0f}%", threshold=f"{jump * 100:.0f}%",
                                **at, **w))
    return out


def formula_rules(extracted, ctx: Context) -> list[iss.Issue]:
    """A formula in an input cell: reported, its cached value unverified."""
    w = ctx.where
    if ctx.formulas is None:
        return [iss.make("I-FORMULA-UNCHECKED", value=ctx.format, **w)]
    out = []
    if not ctx.formulas:  # none in the file: no input cell to look at
        return out
    for sheet, cell, column, ind_id, task_id, value in extracted.input_cells():
        if (sheet, cell) in ctx.formulas:
            shown = _shown(value)
            out.append(iss.make("W-FORMULA", sheet=sheet, cell=cell, column=column,
                                indicator=ind_id, task=task_id, value=shown,
                                variant="" if shown else "empty", **w))
    return out


def check_submission(reading, extracted, ctx: Context) -> list[iss.Issue]:
    """Every single-submission rule, structural issues from extraction included."""
    found = identity_rules(reading, extracted, ctx)
    found += list(extracted.issues)
    found += cell_rules(extracted, ctx)
    found += consistency_rules(extracted, ctx)
    found += history_rules(extracted, ctx)
    found += formula_rules(extracted, ctx)
    return found


def robust_z(values: dict) -> dict:
    """{key: robust z-score} over ``values`` (at least MIN_UNITS of them), else {}."""
    if len(values) < MIN_UNITS:
        return {}
    data = list(values.values())
    median = statistics.median(data)
    deviations = [abs(x - median) for x in data]
    if not any(deviations):
        return {}
    mad = statistics.median(deviations)
    scale = mad / MAD_SCALE if mad > 0 else MEAN_AD_SCALE * statistics.fmean(deviations)
    scale = max(scale, MAD_FLOOR * abs(median) / MAD_SCALE)
    return {k: (x - median) / scale for k, x in values.items()}


def points(extracted) -> dict[str, tuple]:
    """{indicator id: (value read, sheet, A1, raw)} of a submission's actuals with a
    value: what ``compare_units`` needs of it, as plain tuples (cheap to send between
    processes)."""
    return {r.id: (r.value, r.sheet, r.cell, r.raw) for r in extracted.indicators
            if r.value is not None}


def compare_units(entries, tasklist, allocations: dict, threshold: float) -> dict:
    """Values far from the other units' (W-OUTLIER), per unit.

    ``entries``: (unit code, file, ``points(extracted)``) of every unit's current
    submission; ``allocations``: unit -> indicator -> allocated target.
    """
    out: dict[str, list[iss.Issue]] = {unit: [] for unit, _, _ in entries}
    for ind in tasklist.indicators:
        if ind.kind == "milestone":
            continue
        readings = {}
        for unit, file, found in entries:
            point = found.get(ind.id)
            if point is not None and point[0] >= 0 and not (ind.is_percent and point[0] > 100):
                readings[unit] = (file, point)
        targets = {u: allocations.get(u, {}).get(ind.id) for u in readings}
        by_ratio = bool(readings) and all(t for t in targets.values())
        series = {u: (p[0] / targets[u] if by_ratio else p[0])
                  for u, (_, p) in readings.items()}
        scores = robust_z(series)
        if not scores:
            continue
        median = statistics.median(series.values())
        for unit, z in scores.items():
            if abs(z) <= threshold:
                continue
            file, (value, sheet, cell, raw) = readings[unit]
            out[unit].append(iss.make(
                "W-OUTLIER", unit=unit, file=file, sheet=sheet, cell=cell, indicator=ind.id,
                column="actual", name=ind.name, value=_shown(raw), read=value,
                basis="ratio" if by_ratio else "value",
                median=f"{median * 100:.0f}%" if by_ratio else median,
                z=f"{z:.1f}", threshold=f"{threshold:g}", units=len(series),
                measure=ind.unit))
    return out


def apply_explanations(found, explanations) -> list[iss.Issue]:
    """Warnings the unit explained (问题清单 of a resubmitted feedback workbook) become info."""
    if not explanations:
        return list(found)
    by_key = {e.key: e.text for e in explanations if e.key}
    by_cell = {(e.code, e.cell): e.text for e in explanations}
    out = []
    for issue in found:
        text = by_key.get("|".join(issue.key)) or by_cell.get((issue.code, issue.cell))
        out.append(issue.explained(text) if text else issue)
    return out


def _shown(value) -> str:
    from toolkit.extract import text

    return text(value)
