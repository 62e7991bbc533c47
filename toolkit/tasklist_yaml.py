"""Write a TaskList as YAML in the layout of ``templates/tasklist.yaml``.

One key per line in a fixed order, one blank line between entries, the long task
text as a folded block: a change to one target is a one-line diff.
"""

from __future__ import annotations

import json
import re

from toolkit.model import Indicator, Task, TaskList

HEADER = """\
# The plan's task list as data: actions, tasks, indicators.
# Same format as templates/tasklist.yaml; units (reporting units) live in units.yaml.
# Targets are plain numbers in base units (万 and 亿 multiplied out, percentages in
# percent); null = no target that year.
"""


_NOT_PLAIN = set(":?#,[]{}&*!|>'\"%@`\\")
# Characters a YAML reader refuses raw, or reads as a line break inside quotes.
_YAML_UNSAFE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
                          "|[\u2028\u2029]")


def _dump(value, **options) -> str:
    import yaml

    text = yaml.safe_dump(value, allow_unicode=True, width=1 << 30, sort_keys=False, **options)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.rstrip("\n")


def quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (JSON's escapes are YAML's too)."""
    text = str(text)
    if _YAML_UNSAFE.search(text):
        return _dump(text, default_style='"')
    return json.dumps(text, ensure_ascii=False)


def _reads_as_string(text: str) -> bool:
    import yaml

    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    return tag == "tag:yaml.org,2002:str"


def scalar(text: str) -> str:
    """``text`` plain when that is safe in block and flow context, else double-quoted."""
    text = str(text)
    if (text and text == text.strip() and text.isprintable() and text[0] not in "-?~"
            and not _NOT_PLAIN.intersection(text) and _reads_as_string(text)):
        return text
    return quoted(text)


def number(value) -> str:
    """A target as YAML: null, an integer, or a float YAML reads back as a float."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    if isinstance(value, int):
        return str(value)
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def flow(values) -> str:
    """A list of strings on one line: ``[地区发改委, 地区住建局]``."""
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def _codes(value) -> str:
    if isinstance(value, str):
        return scalar(value)
    return "[" + ", ".join(quoted(c) for c in value) + "]"


def _block_text(text: str, indent: str) -> str:
    """The task text as ``>-`` folded block when it is one clean line, else quoted."""
    if text and "\n" not in text and text == text.strip() and text.isprintable():
        return f">-\n{indent}  {text}"
    return quoted(text)


def _task_lines(task: Task) -> list[str]:
    lines = [
        f"  - id: {quoted(task.id)}",
        f"    action: {quoted(task.action)}",
        f"    title: {scalar(task.title)}",
        f"    text: {_block_text(task.text, '    ')}",
    ]
    if task.items:
        lines.append("    items:")
        lines.extend(f"      - {quoted(item)}" for item in task.items)
    else:
        lines.append("    items: []")
    lines += [
        f"    lead: {flow(task.lead)}",
        f"    implementers: {flow(task.implementers)}",
        f"    units: {_codes(task.units)}",
        f"    deadline: {quoted(task.deadline)}",
    ]
    return lines


def _indicator_lines(ind: Indicator) -> list[str]:
    targets = ", ".join(f"{year}: {number(value)}" for year, value in ind.targets)
    lines = [
        f"  - id: {quoted(ind.id)}",
        f"    task: {quoted(ind.task)}",
        f"    name: {scalar(ind.name)}",
        f"    unit: {scalar(ind.unit)}",
        f"    kind: {scalar(ind.kind)}",
        f"    direction: {scalar(ind.direction)}",
        f"    targets: {{{targets}}}",
        f"    scope: {_codes(ind.scope)}",
        f"    aggregation: {scalar(ind.aggregation)}",
        f"    source: {quoted(ind.source)}",
    ]
    if ind.weight:
        lines.append(f"    weight: {quoted(ind.weight)}")
    return lines


def dump_tasklist_yaml(tasklist: TaskList) -> str:
    """The list as YAML text that ``load_tasklist`` reads back to an equal TaskList."""
    out = [HEADER.rstrip("\n"), ""]
    out += ["plan:",
            f"  title: {scalar(tasklist.title)}",
            f"  years: [{', '.join(str(y) for y in tasklist.years)}]",
            f"  version: {quoted(tasklist.version)}",
            "",
            "actions:"]
    for action in tasklist.actions:
        out += [f"  - id: {quoted(action.id)}", f"    title: {scalar(action.title)}"]
    out += ["", "tasks:"]
    for n, task in enumerate(tasklist.tasks):
        if n:
            out.append("")
        out += _task_lines(task)
    out += ["", "indicators:"]
    for n, ind in enumerate(tasklist.indicators):
        if n:
            out.append("")
        out += _indicator_lines(ind)
    return "\n".join(out) + "\n"
