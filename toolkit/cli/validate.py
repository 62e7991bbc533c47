"""``toolkit validate`` and ``toolkit feedback``."""

from __future__ import annotations

import json
import sys

import click

from toolkit.cli import handle_errors, lang_option, pass_state, period_option


@click.command()
@period_option
@click.option("--json", "json_path", type=click.Path(dir_okay=False, allow_dash=True),
              default=None, metavar="FILE",
              help="Also write the issues as JSON to FILE ('-' for standard output).")
@lang_option
@pass_state
@handle_errors
def validate(state, period, json_path):
    """Check every unit's current submission cell by cell.

    Prints one row per unit (status, errors, warnings), writes
    outputs/<PERIOD>/validation_<PERIOD>.xlsx and, with --json, the issues as
    JSON. Exits 1 when any submission has an error (it is left out of the
    merge until the unit fixes it), else 0.

    \b
    Examples:
      toolkit validate -p 2024H1
      toolkit validate -p 2024H1 --json issues.json
    """
    from toolkit.atomic import write_text
    from toolkit.catalogue import t
    from toolkit.cli import parse_period_arg
    from toolkit.validation_report import report_json
    from toolkit.validation_run import run_validation

    lang = state.lang
    workspace = state.workspace
    period = parse_period_arg(period)
    report = run_validation(workspace, period, lang=lang)
    to_stderr = json_path == "-"  # standard output carries the JSON alone
    if not report.results:
        click.echo(t("cli.validate.none", lang, period=period.code), err=True)
    else:
        click.echo(summary_table(report, lang), err=to_stderr)
    counts = {s: sum(1 for r in report.results if r.status == s)
              for s in ("valid", "warnings", "invalid")}
    click.echo(t("cli.validate.totals", lang, submissions=len(report.results),
                 missing=len(report.missing), **counts), err=to_stderr)
    if report.workbook is not None:
        click.echo(t("cli.validate.workbook", lang, path=report.workbook), err=to_stderr)
    if json_path:
        data = json.dumps(report_json(report, lang), ensure_ascii=False, indent=2)
        if json_path == "-":
            click.echo(data)
        else:
            write_text(json_path, data + "\n")
            click.echo(t("cli.validate.json", lang, path=json_path), err=True)
    sys.exit(1 if report.has_errors else 0)


def summary_table(report, lang: str) -> str:
    from toolkit.catalogue import t
    from toolkit.cli.table import render

    headers = [t(f"cli.validate.col.{k}", lang)
               for k in ("unit", "status", "errors", "warnings", "file")]
    rows = []
    by_unit = {r.unit: r for r in report.results}
    for unit, name in report.unit_names.items():
        r = by_unit.get(unit)
        if r is not None:
            rows.append([f"{unit} {name}", t(f"validation.status.{r.status}", lang), r.errors,
                         r.warnings, r.file])
        elif unit in report.missing:
            rows.append([f"{unit} {name}", t("validation.status.missing", lang), "", "", ""])
    return render(headers, rows, limits={4: 40})


@click.command()
@period_option
@lang_option
@pass_state
@handle_errors
def feedback(state, period):
    """Write a feedback workbook for each unit whose submission has problems.

    Each is the unit's own template prefilled with what it sent, problem cells
    red (error) or yellow (warning) with a comment, and a 问题清单 sheet linking
    to every problem with a column for explanations. The unit fixes and
    resubmits that very workbook. Written to outputs/<PERIOD>/feedback/.

    \b
    Example:
      toolkit feedback -p 2024H1
    """
    from toolkit.catalogue import t
    from toolkit.cli import parse_period_arg
    from toolkit.feedback import write_feedback

    lang = state.lang
    period = parse_period_arg(period)
    written = write_feedback(state.workspace, period, lang=lang)
    if not written:
        click.echo(t("cli.feedback.none", lang, period=period.code))
    for item in written:
        click.echo(t("cli.feedback.written", lang, path=item.path,
                     unit=f"{item.unit} {item.unit_name}", errors=item.errors,
                     warnings=item.warnings))


COMMANDS = (validate, feedback)
