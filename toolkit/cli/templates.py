"""Commands that write what goes out to the units: ``generate`` and ``targets``."""

from __future__ import annotations

import sys

import click

from toolkit.cli import handle_errors, lang_option, parse_period_arg, pass_state, period_option


@click.command()
@period_option
@click.option("--unit", "-u", "units", multiple=True, metavar="CODE_OR_NAME",
              help="Only this unit (code or name); repeat for several. Default: every unit.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Folder for the templates (default: outputs/<PERIOD>/templates/).")
@lang_option
@pass_state
@handle_errors
def generate(state, period, units, out_dir):
    """Write one report template (.xlsx) per reporting unit for a period.

    Each unit's allocated targets come from the imported allocation (toolkit targets).

    \b
    Examples:
      toolkit generate -p 2024H1
      toolkit generate -p 2024 --unit 莎车县 --unit 653101 --out to-send/
      toolkit generate -p 2025Q3 --lang en
    """
    from toolkit.allocation import load_allocations
    from toolkit.catalogue import t
    from toolkit.template import generate_templates, select_units

    period = parse_period_arg(period)
    workspace = state.workspace
    lang = state.lang
    chosen = select_units(workspace.tasklist, units or None)
    if not load_allocations(workspace.db_path, period.year):
        click.echo(t("cli.generate.no_allocation", lang, year=period.year), err=True)
    with click.progressbar(length=len(chosen), label=t("cli.generate.writing", lang),
                           file=sys.stderr) as bar:
        written = generate_templates(workspace, period, units=[u.code for u in chosen],
                                     out_dir=out_dir, lang=lang,
                                     progress=lambda done, total: bar.update(done - bar.pos))
    folder = written[0].parent if written else out_dir
    click.echo(t("cli.generate.done", lang, count=len(written), folder=folder))


@click.command()
@click.option("--year", "-y", type=int, default=None, metavar="YYYY",
              help="The plan year to export (or to check an import against).")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.xlsx", help="Write the indicator × unit workbook to fill in.")
@click.option("--import", "import_path", type=click.Path(exists=True, dir_okay=False),
              default=None, metavar="FILE.xlsx",
              help="Store a filled allocation workbook in the workspace.")
@lang_option
@pass_state
@handle_errors
def targets(state, year, export_path, import_path):
    """Split the prefecture's targets over the units (任务分解).

    Export a workbook, type each unit's targets into the light blue cells, import it;
    `generate` then shows each unit its own target. A summed indicator whose unit
    targets do not add up to the prefecture target is reported as a warning.
    With --year only: show what is stored for that year.

    \b
    Examples:
      toolkit targets --year 2024 --export 任务分解2024.xlsx
      toolkit targets --import 任务分解2024.xlsx
      toolkit targets --year 2024
    """
    from toolkit import allocation
    from toolkit.catalogue import t

    workspace, lang = state.workspace, state.lang
    plan = workspace.tasklist
    if export_path and import_path:
        raise click.UsageError(t("cli.targets.both", lang))
    if year is not None and year not in plan.years:
        raise click.BadParameter(t("alloc.err.bad_year", lang, value=year,
                                   years=", ".join(map(str, plan.years))), param_hint="--year")
    if export_path:
        if year is None:
            raise click.UsageError(t("cli.targets.need_year", lang))
        existing = allocation.load_allocations(workspace.db_path, year)
        allocation.export_allocations(plan, year, export_path, lang=lang, existing=existing)
        click.echo(t("cli.targets.exported", lang, year=year, path=export_path))
        return
    if import_path:
        result = allocation.import_allocations(import_path, workspace.db_path, plan, year, lang)
        click.echo(t("cli.targets.imported", lang, year=result.year, count=result.stored))
        if result.ignored:
            click.echo(t("cli.targets.ignored", lang, cells=", ".join(result.ignored)), err=True)
        for warning in result.warnings:
            click.echo(t("cli.targets.warning", lang, message=warning.message(lang)), err=True)
        return
    if year is None:
        raise click.UsageError(t("cli.targets.need_action", lang))
    stored = allocation.load_allocations(workspace.db_path, year)
    click.echo(t("cli.targets.stored", lang, year=year,
                 count=sum(len(v) for v in stored.values()), indicators=len(stored)))
    warnings = allocation.check_sums(plan, year, stored)
    for warning in warnings:
        click.echo(t("cli.targets.warning", lang, message=warning.message(lang)), err=True)
    if stored and not warnings:
        click.echo(t("cli.targets.sums_ok", lang))


COMMANDS = (generate, targets)
