"""Validation issues as data: a stable code, a severity, where, what, and a message.

An ``Issue`` never carries a glued-together sentence: its message is rendered
from the catalogue entry ``issue.<CODE>`` with the issue's fields, in the
language asked for. ``CODES`` is the registry of every code (severity and
meaning, catalogue ``issue_code.<CODE>``); the README's code table is made from it.

Severities: ``error`` blocks the merge for the unit; ``warning`` does not;
``info`` is a note (a check that could not be made, or a warning the unit
explained in a resubmission: kept with its explanation, never counted).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

SEVERITIES = ("error", "warning", "info")
# message fields whose value is a catalogue word: field -> key prefix
TRANSLATED = {"what": "issue.what", "hint": "issue.hint", "reason": "number.reason",
              "basis": "issue.basis"}


@dataclass(frozen=True)
class Code:
    code: str
    severity: str

    def meaning(self, lang: str = "zh") -> str:
        from toolkit.catalogue import t

        return t(f"issue_code.{self.code}", lang)


CODES: dict[str, Code] = {c.code: c for c in (
    # the workbook as a whole
    Code("E-NO-IDENTITY", "error"),
    Code("E-STALE-TEMPLATE", "error"),
    Code("E-IDENTITY-MISMATCH", "error"),
    Code("E-UNKNOWN-UNIT", "error"),
    Code("E-WRONG-UNIT", "error"),
    Code("E-WRONG-PERIOD", "error"),
    Code("W-TEMPLATE-VERSION", "warning"),
    # structure
    Code("E-SHEET-MISSING", "error"),
    Code("W-SHEET-RENAMED", "warning"),
    Code("E-COLUMNS-CHANGED", "error"),
    Code("E-ROW-DELETED", "error"),
    Code("E-ROW-DUPLICATE", "error"),
    Code("W-ROW-INSERTED", "warning"),
    Code("W-ROW-MOVED", "warning"),
    # cells
    Code("E-REQUIRED-EMPTY", "error"),
    Code("E-NOT-A-NUMBER", "error"),
    Code("W-TEXT-NUMBER", "warning"),
    Code("E-NEGATIVE", "error"),
    Code("E-PERCENT-OVER-100", "error"),
    Code("W-PERCENT-FRACTION", "warning"),
    Code("E-STATUS-NOT-IN-LIST", "error"),
    Code("E-MILESTONE-NOT-IN-LIST", "error"),
    Code("W-FORMULA", "warning"),
    Code("I-FORMULA-UNCHECKED", "info"),
    # plausibility
    Code("W-DONE-BELOW-TARGET", "warning"),
    Code("W-CUMULATIVE-DECREASE", "warning"),
    Code("W-OUTLIER", "warning"),
    Code("W-JUMP", "warning"),
)}


@dataclass(frozen=True)
class Issue:
    """One problem found in one submission.

    ``sheet``/``cell`` locate it in the submitted workbook (A1); ``indicator``
    or ``task`` name the row; ``column`` is the layout column key (``actual``,
    ``status``, ``phone`` …) so feedback can find the same cell in a fresh
    template. ``params`` are further message fields as (name, text) pairs.
    """

    code: str
    severity: str
    unit: str = ""
    file: str = ""
    sheet: str = ""
    cell: str = ""
    indicator: str = ""
    task: str = ""
    column: str = ""
    value: str = ""
    params: tuple[tuple[str, str], ...] = ()
    explanation: str = ""

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown issue code {self.code!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def accepted(self) -> bool:
        """A warning the unit explained: reported as info, not counted."""
        return bool(self.explanation) and CODES[self.code].severity == "warning"

    @property
    def counted(self) -> bool:
        return self.severity in ("error", "warning")

    @property
    def key(self) -> tuple[str, str, str]:
        """What an explanation is matched on: code and row (indicator, task or column)."""
        return (self.code, self.indicator or (f"task:{self.task}" if self.task else ""),
                self.column if not (self.indicator or self.task) else "")

    def message_fields(self) -> dict[str, str]:
        """Every field a message can name: the issue's own and its parameters."""
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("params", "explanation")}
        data.update(dict(self.params))
        return data

    def message(self, lang: str = "zh") -> str:
        """The clerk's message for this issue, from the catalogue.

        The entry is ``issue.<CODE>``, or ``issue.<CODE>.<variant>`` when the
        issue has a ``variant`` parameter (the same problem, told differently).
        """
        from toolkit.catalogue import t

        data = self.message_fields()
        data["how"] = how_text(data.get("how", ""), lang)
        for name, prefix in TRANSLATED.items():
            if data.get(name):
                data[name] = t(f"{prefix}.{data[name]}", lang)
        data["file"] = data["file"] or "—"
        if data.get("previous_period"):
            data["previous_period"] = _period_label(data["previous_period"], lang)
        data["item"] = item_text(self.indicator, self.task, data.get("name", ""), lang)
        key = f"issue.{self.code}" + (f".{data['variant']}" if data.get("variant") else "")
        return t(key, lang, **_complete(key, lang, data))

    def explained(self, explanation: str) -> Issue:
        """This issue with the unit's explanation.

        A warning becomes info: kept, shown with the explanation, not counted.
        An error keeps its severity (it must be fixed); the explanation is only
        kept for the office to read.
        """
        explanation = (explanation or "").strip()
        if not explanation:
            return self
        severity = "info" if CODES[self.code].severity == "warning" else self.severity
        return replace(self, severity=severity, explanation=explanation)


def _period_label(code: str, lang: str) -> str:
    from toolkit.periods import parse_period

    try:
        return parse_period(code, years=range(1900, 3000)).label(lang)
    except Exception:  # noqa: BLE001 - not a period code: shown as it is
        return code


def _complete(key: str, lang: str, data: dict) -> dict:
    """``data`` with "" for any field the message names but this issue lacks."""
    import string

    from toolkit.catalogue import entries

    names = {name for _, name, _, _ in string.Formatter().parse(entries()[key][lang]) if name}
    return {**{name: "" for name in names}, **data}


def how_text(how: str, lang: str = "zh") -> str:
    """Leniency names ("thousands,wan") as the clerk's words."""
    from toolkit.catalogue import t

    names = [h for h in str(how or "").split(",") if h]
    if len(names) > 1:  # "text" says only that the cell held text; the rest say more
        names = [h for h in names if h != "text"]
    sep = "、" if lang == "zh" else ", "
    return sep.join(t(f"number.how.{h}", lang) for h in names)


def item_text(indicator: str, task: str, name: str = "", lang: str = "zh") -> str:
    """"指标 2.1「…」" / "任务 3「…」": the row an issue is about, in the clerk's words."""
    from toolkit.catalogue import t

    kind = "indicator" if indicator else "task" if task else ""
    if not kind:
        return ""
    key = f"issue.item.{kind}" if name else f"issue.item.{kind}_bare"
    return t(key, lang, id=indicator or task, name=name)


def make(code: str, **kwargs) -> Issue:
    """An issue of a registered code, with its registered severity.

    Keyword arguments that are not Issue fields become message parameters;
    every value is kept as text.
    """
    own = {f.name for f in fields(Issue)} - {"code", "severity", "params"}
    base = {k: _as_text(v) for k, v in kwargs.items() if k in own}
    params = tuple((k, _as_text(v)) for k, v in kwargs.items() if k not in own)
    return Issue(code, CODES[code].severity, params=params, **base)


def _as_text(value) -> str:
    from toolkit.numbers import format_number

    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, (tuple, list)):
        return ",".join(_as_text(v) for v in value)
    return str(value)


def code_table(lang: str = "zh") -> list[tuple[str, str, str]]:
    """(code, severity, meaning) of every registered code, for the README's table."""
    return [(c.code, c.severity, c.meaning(lang)) for c in CODES.values()]


def counts(issues) -> dict[str, int]:
    """{"error": n, "warning": n, "info": n} over ``issues``."""
    out = {s: 0 for s in SEVERITIES}
    for issue in issues:
        out[issue.severity] += 1
    return out


def status_for(issues) -> str:
    """valid, warnings or invalid, from a submission's issues."""
    found = counts(issues)
    if found["error"]:
        return "invalid"
    if found["warning"]:
        return "warnings"
    return "valid"
