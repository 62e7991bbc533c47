"""Load and check the plan's task list (``templates/tasklist.yaml``) and units.

Every problem is reported with file, line and a hint, all at once, so the
office fixes the file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import TaskListError
from toolkit.model import (AGGREGATIONS, DIRECTIONS, KINDS, SCOPE_WORDS, UNIT_KINDS, Action,
                           Indicator, Task, TaskList, Unit)

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "templates"
BUNDLED_TASKLIST = BUNDLED_DIR / "tasklist.yaml"
BUNDLED_UNITS = BUNDLED_DIR / "units.yaml"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        tail = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.file}:{self.line}: {self.message}{tail}"


class _LineDict(dict):
    line = 0


def _yaml_load(path: Path, problems: list[Problem], lines: bool = True, kind: str = "yaml"):
    """Parse YAML keeping each mapping's line; a syntax error becomes a Problem.
    ``lines=False``: plain mappings, parsed once for the file's bytes
    (``toolkit.parsed``, as a ``kind`` of file): for a file that has no problem, whose
    lines nothing reads."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaskListError([Problem(str(path), 0, f"cannot read the file: {exc.strerror}",
                                     "check the path in toolkit.toml [plan]")]) from exc
    if not lines:
        return _plain_yaml(path, raw, problems, kind)
    import yaml

    def construct_mapping(loader, node, deep=False):
        mapping = _LineDict(loader.construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        return mapping

    class Loader(yaml.SafeLoader):
        pass

    class FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present
        pass

    for cls in (Loader, FastLoader):
        cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    from toolkit.parsed import text_of

    try:
        text = text_of(raw)
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), 0, f"not UTF-8 text: {exc}",
                                "save the file as UTF-8"))
        return None
    try:
        return yaml.load(text, Loader=FastLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError:
        pass  # parsed again below, so that the message is the same with or without libyaml
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(Problem(str(path), mark.line + 1 if mark else 0,
                                f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                "check indentation and quoting on this line"))
        return None


def _plain_yaml(path: Path, raw: bytes, problems: list[Problem], kind: str):
    """``raw`` parsed without lines, from the parse kept for these bytes when there is
    one; anything wrong with it is a Problem with no line (parse again with lines)."""
    from toolkit.parsed import name_for, parsed, parser, text_of

    def parse():
        import yaml

        class Plain(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # as with lines, but plain
            pass

        Plain.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              lambda loader, node: loader.construct_mapping(node, deep=True))
        return yaml.load(text_of(raw), Loader=Plain)  # noqa: S506 - SafeLoader subclass

    try:
        return parsed(name_for(kind, path), [raw], parse, parser("yaml", __file__))
    except Exception as exc:  # noqa: BLE001 - any failure is told again, with its line
        problems.append(Problem(str(path), 0, f"{type(exc).__name__}: {exc}"))
        return None


def _str_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _number(value):
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # yes/no is no target
        return value
    raise ValueError(value)


def _entries(rows, section: str, file: str, problems: list[Problem]) -> list:
    """The mappings of a list section; anything else is a Problem (never a crash)."""
    if rows is None:
        return []
    if not isinstance(rows, list):
        problems.append(Problem(file, getattr(rows, "line", 1),
                                f"`{section}:` must be a list of entries",
                                f"write each entry as `- id: ...` under `{section}:`"))
        return []
    lines = [getattr(row, "line", 0) if isinstance(row, dict) else 0 for row in rows]
    kept = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            kept.append(row)
            continue
        # a plain value keeps no line of its own: name the entries around it
        before = next((n for n in reversed(lines[:number - 1]) if n), 0)
        after = next((n for n in lines[number:] if n), 0)
        where = f"after line {before}" if before else (f"before line {after}" if after else "")
        problems.append(Problem(file, before or after or 1,
                                f"entry {number} of `{section}:` is not a mapping "
                                f"(found {row!r}){' — ' + where if where else ''}",
                                "write each entry as `- id: ...` with its keys indented below"))
    return kept


def load_units(path: Path = BUNDLED_UNITS, problems: list[Problem] | None = None) -> tuple[Unit, ...]:
    """The units of ``path``. Its problems are added to ``problems``, else raised as a
    TaskListError. Read without lines (``_yaml_load``), and again with them to tell its
    problems when it has any."""
    found: list[Problem] = []
    units = _units(path, found, lines=False)
    if found:
        found = []
        units = _units(path, found, lines=True)
    if problems is not None:
        problems.extend(found)
    elif found:
        raise TaskListError(found)
    return units


def _units(path: Path, problems: list[Problem], lines: bool) -> tuple[Unit, ...]:
    data = _yaml_load(path, problems, lines, "units")
    units: list[Unit] = []
    seen: dict[str, int] = {}
    rows = (data or {}).get("units") if isinstance(data, dict) else None
    if data is not None and not isinstance(rows, list):
        problems.append(Problem(str(path), 1, "no `units:` list", "see templates/units.yaml"))
        rows = []
    for row in _entries(rows, "units", str(path), problems):
        line = getattr(row, "line", 0)
        code, name = str(row.get("code", "")).strip(), str(row.get("name", "")).strip()
        kind = row.get("kind", "county")
        if not code or not name:
            problems.append(Problem(str(path), line, "a unit needs both `code` and `name`"))
            continue
        if code in seen:
            problems.append(Problem(str(path), line, f"unit code {code} appears twice",
                                    f"first at line {seen[code]}; codes must be unique"))
            continue
        if kind not in UNIT_KINDS:
            problems.append(Problem(str(path), line, f"unknown unit kind {kind!r}",
                                    f"use one of {', '.join(UNIT_KINDS)}"))
        seen[code] = line
        units.append(Unit(code, name, kind, _str_list(row.get("emails"))))
    return tuple(units)


def _scope(value, known_units: set[str], where: Problem, problems: list[Problem], field: str):
    if isinstance(value, str) and value in SCOPE_WORDS:
        return value
    if isinstance(value, (list, tuple)) and value:
        codes = tuple(str(v) for v in value)
        unknown = [c for c in codes if c not in known_units]
        if unknown:
            problems.append(Problem(where.file, where.line,
                                    f"{field} names unknown unit code(s) {', '.join(unknown)}",
                                    "use codes from templates/units.yaml"))
        return codes
    problems.append(Problem(where.file, where.line, f"unknown {field} {value!r}",
                            f"use one of {', '.join(SCOPE_WORDS)} or a list of unit codes"))
    return "all"


def load_tasklist(path: Path | str = BUNDLED_TASKLIST,
                  units: tuple[Unit, ...] | None = None,
                  units_path: Path | str = BUNDLED_UNITS) -> TaskList:
    """Load and check the task list; raise TaskListError listing every problem. Read
    without lines (``_yaml_load``), and again with them to tell its problems."""
    try:
        return _tasklist(Path(path), units, Path(units_path), lines=False)
    except TaskListError:
        return _tasklist(Path(path), units, Path(units_path), lines=True)


def _tasklist(path: Path, units: tuple[Unit, ...] | None, units_path: Path,
              lines: bool) -> TaskList:
    problems: list[Problem] = []
    if units is None:
        units = load_units(units_path, problems)
    data = _yaml_load(path, problems, lines, "tasklist")
    if data is None:
        raise TaskListError(problems or [Problem(str(path), 1, "the file is empty")])
    if not isinstance(data, dict):
        raise TaskListError([Problem(str(path), 1, "expected sections plan, actions, tasks, "
                                     "indicators", "see templates/tasklist.yaml")])
    file = str(path)
    plan = data.get("plan") or {}
    if not isinstance(plan, dict):
        problems.append(Problem(file, 1, "`plan:` must be a mapping (title, years, version)",
                                "see templates/tasklist.yaml"))
        plan = {}
    try:
        years = tuple(int(y) for y in plan.get("years", (2024, 2025)))
    except (TypeError, ValueError):
        problems.append(Problem(file, getattr(plan, "line", 1),
                                f"plan years {plan.get('years')!r} are not years",
                                "e.g. years: [2024, 2025]"))
        years = (2024, 2025)
    known_units = {u.code for u in units}

    def located(row) -> Problem:
        return Problem(file, getattr(row, "line", 0), "")

    def dup_check(rows, what):
        seen: dict[str, int] = {}
        for row in rows:
            rid = str(row.get("id", "")).strip()
            line = getattr(row, "line", 0)
            if not rid:
                problems.append(Problem(file, line, f"{what} without an id"))
            elif rid in seen:
                problems.append(Problem(file, line, f"duplicate {what} id {rid!r}",
                                        f"first used at line {seen[rid]}; ids must be unique"))
            else:
                seen[rid] = line
        return seen

    action_rows = _entries(data.get("actions"), "actions", file, problems)
    task_rows = _entries(data.get("tasks"), "tasks", file, problems)
    indicator_rows = _entries(data.get("indicators"), "indicators", file, problems)
    for name, rows in (("actions", action_rows), ("tasks", task_rows)):
        if not rows:
            problems.append(Problem(file, 1, f"no `{name}:` list", "see templates/tasklist.yaml"))
    action_ids = dup_check(action_rows, "action")
    task_ids = dup_check(task_rows, "task")
    dup_check(indicator_rows, "indicator")

    actions = tuple(Action(str(r.get("id")), str(r.get("title", ""))) for r in action_rows)
    tasks = []
    for row in task_rows:
        where = located(row)
        if str(row.get("action")) not in action_ids:
            problems.append(Problem(file, where.line,
                                    f"task {row.get('id')!r} points at unknown action "
                                    f"{row.get('action')!r}",
                                    f"known actions: {', '.join(action_ids)}"))
        tasks.append(Task(
            id=str(row.get("id")), action=str(row.get("action")), title=str(row.get("title", "")),
            text=str(row.get("text", "") or ""), items=_str_list(row.get("items")),
            lead=_str_list(row.get("lead")), implementers=_str_list(row.get("implementers")),
            units=_scope(row.get("units", "all"), known_units, where, problems, "units"),
            deadline=str(row.get("deadline", "") or "")))

    indicators = []
    for row in indicator_rows:
        where = located(row)
        iid = str(row.get("id"))
        if str(row.get("task")) not in task_ids:
            problems.append(Problem(file, where.line,
                                    f"indicator {iid!r} points at unknown task {row.get('task')!r}",
                                    "tasks are numbered 1-26 as in the plan"))
        for field, allowed in (("kind", KINDS), ("direction", DIRECTIONS),
                               ("aggregation", AGGREGATIONS)):
            if row.get(field) not in allowed:
                problems.append(Problem(file, where.line,
                                        f"indicator {iid!r} has unknown {field} {row.get(field)!r}",
                                        f"use one of {', '.join(allowed)}"))
        targets: dict[int, float | None] = {y: None for y in years}
        raw_targets = row.get("targets") or {}
        if not isinstance(raw_targets, dict):
            problems.append(Problem(file, where.line, f"indicator {iid!r}: targets must be a "
                                    "mapping of year to number", "e.g. {2024: 6, 2025: 5}"))
            raw_targets = {}
        for year, value in raw_targets.items():
            try:
                year = int(year)
            except (TypeError, ValueError):
                year = None
            if year not in years:
                problems.append(Problem(file, where.line,
                                        f"indicator {iid!r} has a target for year {year!r} "
                                        "outside the plan",
                                        f"plan years are {', '.join(map(str, years))}"))
                continue
            try:
                targets[year] = _number(value)
            except ValueError:
                problems.append(Problem(file, where.line,
                                        f"indicator {iid!r}: target {value!r} is not a number",
                                        "write base units, e.g. 18600 for 1.86万"))
        if row.get("aggregation") == "weighted" and not row.get("weight"):
            problems.append(Problem(file, where.line,
                                    f"indicator {iid!r} is weighted but names no `weight`",
                                    "add `weight: <indicator id>` whose values are the weights"))
        indicators.append(Indicator(
            id=iid, task=str(row.get("task")), name=str(row.get("name", "")),
            unit=str(row.get("unit", "") or ""), kind=str(row.get("kind")),
            direction=str(row.get("direction")), targets=tuple(sorted(targets.items())),
            scope=_scope(row.get("scope", "all"), known_units, where, problems, "scope"),
            aggregation=str(row.get("aggregation")), source=str(row.get("source", "") or ""),
            weight=str(row.get("weight", "") or "")))
    if problems:
        raise TaskListError(problems)
    return TaskList(title=str(plan.get("title", "")), years=years,
                    version=str(plan.get("version", "")), actions=actions, tasks=tuple(tasks),
                    indicators=tuple(indicators), units=units, source_path=file)


def _plain_number(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def tasklist_json(tasklist: TaskList) -> dict:
    """The list as JSON-ready data (the shape ``toolkit tasklist --json`` prints)."""
    def scope(value):
        return value if isinstance(value, str) else list(value)

    return {
        "plan": {"title": tasklist.title, "years": list(tasklist.years),
                 "version": tasklist.version, "fingerprint": tasklist.fingerprint()},
        "actions": [{"id": a.id, "title": a.title} for a in tasklist.actions],
        "tasks": [{"id": t.id, "action": t.action, "title": t.title, "lead": list(t.lead),
                   "implementers": list(t.implementers), "units": scope(t.units),
                   "items": list(t.items), "deadline": t.deadline} for t in tasklist.tasks],
        "indicators": [{"id": i.id, "task": i.task, "name": i.name, "unit": i.unit,
                        "kind": i.kind, "direction": i.direction,
                        "targets": {str(y): _plain_number(v) for y, v in i.targets},
                        "scope": scope(i.scope), "aggregation": i.aggregation,
                        "source": i.source} for i in tasklist.indicators],
        "units": [{"code": u.code, "name": u.name, "kind": u.kind} for u in tasklist.units],
    }
