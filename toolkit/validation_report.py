"""Write what validation found: the validation workbook and its JSON.

The workbook (``outputs/<PERIOD>/validation_<PERIOD>.xlsx``) has one sheet with
every issue and one with a row per unit (missing units included). Everything
that came from a submission is written as text, never as a formula or link.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.catalogue import t

ISSUE_COLUMNS = ("severity", "code", "unit", "unit_name", "file", "sheet", "cell", "indicator",
                 "task", "value", "message", "explanation")
UNIT_COLUMNS = ("unit", "unit_name", "status", "errors", "warnings", "accepted", "file",
                "received")
WIDTHS = {"severity": 8, "code": 22, "unit": 9, "unit_name": 16, "file": 30, "sheet": 10,
          "cell": 7, "indicator": 8, "task": 6, "value": 14, "message": 90, "explanation": 30,
          "status": 9, "errors": 6, "warnings": 6, "accepted": 7, "received": 20}
FILLS = {"error": "#FFC7CE", "warning": "#FFEB9C", "info": "#E2EFDA", "invalid": "#FFC7CE",
         "warnings": "#FFEB9C", "valid": "#C6EFCE", "missing": "#D9D9D9"}


def report_json(report, lang: str = "zh") -> dict:
    """The report as JSON-ready data: period, submissions, issues (and unit summaries)."""
    return {
        "period": report.period,
        "submissions": [{"unit": r.unit, "unit_name": r.unit_name, "file": r.file,
                         "status": r.status, "errors": r.errors, "warnings": r.warnings,
                         "accepted": r.accepted, "submission_id": r.submission_id}
                        for r in report.results],
        "missing": list(report.missing),
        "issues": [{"severity": i.severity, "code": i.code, "unit": i.unit, "file": i.file,
                    "sheet": i.sheet, "cell": i.cell, "indicator": i.indicator, "task": i.task,
                    "value": i.value, "message": i.message(lang),
                    "explanation": i.explanation, "accepted": i.accepted}
                   for i in report.issues],
    }


def _issue_row(issue, names: dict, lang: str) -> list[str]:
    return [t(f"validation.severity.{issue.severity}", lang), issue.code, issue.unit,
            names.get(issue.unit, issue.unit), issue.file, issue.sheet, issue.cell,
            issue.indicator, issue.task, issue.value, issue.message(lang), issue.explanation]


def _unit_rows(report, lang: str) -> list[tuple[str, list]]:
    rows = []
    by_unit = {r.unit: r for r in report.results}
    for unit in list(report.unit_names) or [r.unit for r in report.results]:
        r = by_unit.get(unit)
        if r is not None:
            rows.append((r.status, [r.unit, r.unit_name, t(f"validation.status.{r.status}", lang),
                                    r.errors, r.warnings, r.accepted, r.file, r.received_at]))
        elif unit in report.missing:
            rows.append(("missing", [unit, report.unit_names.get(unit, unit),
                                     t("validation.status.missing", lang), "", "", "", "", ""]))
    return rows


def write_workbook(report, target: str | Path, lang: str = "zh") -> None:
    """Write the validation workbook to ``target``, a temporary file: ``run_validation``
    puts it in place (atomically) once the store holds what it shows."""
    import xlsxwriter

    from toolkit.template import CREATED, WORKBOOK_OPTIONS

    book = xlsxwriter.Workbook(str(target), WORKBOOK_OPTIONS)
    book.set_properties({"title": t("validation.title", lang, period=report.period),
                         "created": CREATED})
    header = book.add_format({"bold": True, "bg_color": "#D9D9D9", "pattern": 1,
                              "border": 1, "text_wrap": True, "valign": "vcenter"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    fills = {k: book.add_format({"bg_color": v, "pattern": 1, "valign": "top"})
             for k, v in FILLS.items()}
    title = book.add_format({"bold": True, "font_size": 13})

    units = book.add_worksheet(t("validation.sheet.units", lang))
    units.write_string(0, 0, t("validation.title", lang, period=report.period), title)
    for col, key in enumerate(UNIT_COLUMNS):
        units.write_string(1, col, t(f"validation.col.{key}", lang), header)
        units.set_column(col, col, WIDTHS[key])
    unit_rows = _unit_rows(report, lang)
    for n, (status, cells) in enumerate(unit_rows, start=2):
        for col, value in enumerate(cells):
            fmt = fills[status] if UNIT_COLUMNS[col] == "status" else None
            if isinstance(value, int):
                units.write_number(n, col, value, fmt)
            else:
                units.write_string(n, col, str(value or ""), fmt)
    units.freeze_panes(2, 2)
    units.autofilter(1, 0, 1 + max(1, len(unit_rows)), len(UNIT_COLUMNS) - 1)

    sheet = book.add_worksheet(t("validation.sheet.issues", lang))
    for col, key in enumerate(ISSUE_COLUMNS):
        sheet.write_string(0, col, t(f"validation.col.{key}", lang), header)
        sheet.set_column(col, col, WIDTHS[key], wrap if key == "message" else None)
    issues = report.issues
    for n, issue in enumerate(issues, start=1):
        for col, value in enumerate(_issue_row(issue, report.unit_names, lang)):
            fmt = fills[issue.severity] if col == 0 else (
                wrap if ISSUE_COLUMNS[col] == "message" else None)
            sheet.write_string(n, col, str(value or ""), fmt)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(1, len(issues)), len(ISSUE_COLUMNS) - 1)
    units.activate()
    book.close()
