"""The plan as frozen values: actions > tasks > indicators, and the reporting units."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

KINDS = ("cumulative", "rate", "milestone")
DIRECTIONS = ("higher", "lower")
AGGREGATIONS = ("sum", "mean", "min", "max", "weighted", "none")
UNIT_KINDS = ("county", "zone")
SCOPE_WORDS = ("all", "counties", "prefecture")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str = "county"
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    id: str
    title: str


@dataclass(frozen=True)
class Task:
    id: str
    action: str
    title: str
    text: str = ""
    items: tuple[str, ...] = ()
    lead: tuple[str, ...] = ()
    implementers: tuple[str, ...] = ()
    units: str | tuple[str, ...] = "all"
    deadline: str = ""


@dataclass(frozen=True)
class Indicator:
    id: str
    task: str
    name: str
    unit: str
    kind: str
    direction: str
    targets: tuple[tuple[int, float | None], ...]
    scope: str | tuple[str, ...]
    aggregation: str
    source: str = ""
    weight: str = ""  # indicator id whose values weight a `weighted` aggregation

    def target(self, year: int) -> float | None:
        return dict(self.targets).get(year)

    @property
    def is_percent(self) -> bool:
        return self.unit == "%"


def _scope_codes(scope, units: tuple[Unit, ...]) -> tuple[str, ...]:
    if scope == "all":
        return tuple(u.code for u in units)
    if scope == "counties":
        return tuple(u.code for u in units if u.kind == "county")
    if scope == "prefecture":
        return ()
    return tuple(c for c in scope)


@dataclass(frozen=True)
class TaskList:
    title: str
    years: tuple[int, ...]
    version: str
    actions: tuple[Action, ...]
    tasks: tuple[Task, ...]
    indicators: tuple[Indicator, ...]
    units: tuple[Unit, ...]
    source_path: str = field(default="", compare=False)

    def unit(self, code_or_name: str) -> Unit:
        from toolkit.errors import UnitError

        key = str(code_or_name).strip()
        for u in self.units:
            if key in (u.code, u.name):
                return u
        matches = [u for u in self.units if key and key in u.name]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(f"{u.code} {u.name}" for u in self.units)
        raise UnitError(f"unknown reporting unit {code_or_name!r}; known units: {known}")

    def task(self, task_id: str) -> Task:
        return next(t for t in self.tasks if t.id == task_id)

    def indicator(self, indicator_id: str) -> Indicator:
        return next(i for i in self.indicators if i.id == indicator_id)

    def _scope(self, scope) -> tuple[tuple[str, ...], frozenset[str]]:
        """The unit codes ``scope`` covers, in unit order and as a set.

        Kept per list: with a province's or townships' thousand units, working them
        out again on every call made per-unit loops quadratic.
        """
        key = scope if isinstance(scope, str) else tuple(scope)

        def make():
            codes = _scope_codes(key, self.units)
            return codes, frozenset(codes)

        return self._kept("_scopes", key, make)

    def _kept(self, name: str, key, make):
        """``make()``, worked out once per ``key`` and kept on this list (not a field: eq
        and repr ignore it; what it returns is not to be changed)."""
        kept = self.__dict__.setdefault(name, {})
        found = kept.get(key)
        if found is None:
            found = kept[key] = make()
        return found

    def indicators_for(self, unit_code: str) -> tuple[Indicator, ...]:
        """The indicators the unit reports on, in list order (kept per unit, as scopes)."""
        return self._kept("_indicators_for", unit_code, lambda: tuple(
            i for i, codes in self._covered("indicators", self.indicators, lambda ind: ind.scope)
            if unit_code in codes))

    def tasks_for(self, unit_code: str) -> tuple[Task, ...]:
        """The tasks the unit implements, in list order (kept per unit, as scopes)."""
        return self._kept("_tasks_for", unit_code, lambda: tuple(
            t for t, codes in self._covered("tasks", self.tasks, lambda task: task.units)
            if unit_code in codes))

    def _covered(self, name: str, items, scope_of) -> tuple[tuple[object, frozenset[str]], ...]:
        """(item, the codes of the units ``scope_of(item)`` covers) of each of ``items``, in
        list order; kept under ``name``."""
        return self._kept("_covering", name, lambda: tuple(
            (item, self._scope(scope_of(item))[1]) for item in items))

    @property
    def indicators_by_id(self) -> dict[str, Indicator]:
        """{id: indicator} (kept, as scopes)."""
        return self._kept("_by_id", "indicators", lambda: {i.id: i for i in self.indicators})

    @property
    def unit_codes(self) -> frozenset[str]:
        """Every unit's code (kept, as scopes)."""
        return self._kept("_unit_codes", "all", lambda: frozenset(u.code for u in self.units))

    def scope_units(self, indicator: Indicator) -> tuple[str, ...]:
        return self._scope(indicator.scope)[0]

    def task_units(self, task: Task) -> tuple[str, ...]:
        """The codes of the units that implement ``task``, in unit order."""
        return self._scope(task.units)[0]

    def canonical(self) -> dict:
        """The list as plain data in a fixed order (the basis of the fingerprint)."""
        return {
            "years": list(self.years),
            "actions": [[a.id, a.title] for a in self.actions],
            "tasks": [[t.id, t.action, t.title,
                       t.units if isinstance(t.units, str) else list(t.units)] for t in self.tasks],
            "indicators": [[i.id, i.task, i.name, i.unit, i.kind, i.direction,
                            [[y, v] for y, v in i.targets],
                            i.scope if isinstance(i.scope, str) else list(i.scope),
                            i.aggregation] for i in self.indicators],
            "units": [[u.code, u.name, u.kind] for u in self.units],
        }

    def fingerprint(self) -> str:
        """12 hex digits over the canonical strings of the list; never over file bytes."""
        text = json.dumps(self.canonical(), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
