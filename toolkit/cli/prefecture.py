"""``toolkit prefecture``: the figures the prefecture reports itself (地区层面指标)."""

from __future__ import annotations

import click

from toolkit.cli import handle_errors, lang_option, parse_period_arg, pass_state, period_option


@click.command()
@period_option
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.xlsx", help="Write the prefecture-level indicators to fill in.")
@click.option("--import", "import_path", type=click.Path(exists=True, dir_okay=False),
              default=None, metavar="FILE.xlsx",
              help="Store the filled workbook's figures for the period.")
@lang_option
@pass_state
@handle_errors
def prefecture(state, period, export_path, import_path):
    """Enter the figures of the indicators no unit reports (地区层面指标).

    Some targets belong to the prefecture as a whole (the 喀什城市圈's population
    and bus lines, say): no county template asks for them. Export the workbook,
    have the lead departments' figures typed into the light-blue cells, import
    it; `merge` then rates them like any other indicator. Importing again
    replaces the period's figures. With neither option: show what is stored.

    \b
    Examples:
      toolkit prefecture -p 2024H1 --export 地区层面指标2024H1.xlsx
      toolkit prefecture -p 2024H1 --import 地区层面指标2024H1.xlsx
    """
    from toolkit import prefecture as figures
    from toolkit.catalogue import t

    workspace, lang = state.workspace, state.lang
    period = parse_period_arg(period)
    plan = workspace.tasklist
    total = len(figures.prefecture_indicators(plan))
    if export_path and import_path:
        raise click.UsageError(t("prefecture.cli.both", lang))
    if export_path:
        existing = figures.load_figures(workspace.db_path, period)
        figures.export_figures(plan, period, export_path, lang=lang, existing=existing)
        click.echo(t("prefecture.cli.exported", lang, count=total, path=export_path))
        return
    if import_path:
        stored = figures.import_figures(import_path, workspace.db_path, plan, period, lang)
        click.echo(t("prefecture.cli.imported", lang, count=figures.reported(stored), total=total,
                     period=period.code))
        return
    stored = figures.load_figures(workspace.db_path, period)
    click.echo(t("prefecture.cli.stored", lang, period=period.code, count=figures.reported(stored),
                 total=total))


COMMANDS = (prefecture,)
