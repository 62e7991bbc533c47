"""``toolkit merge``: the consolidated workbook (汇总表) of a period."""

from __future__ import annotations

import click

from toolkit.cli import handle_errors, lang_option, parse_period_arg, pass_state, period_option


@click.command()
@period_option
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, metavar="FILE.xlsx",
              help="Where to write the workbook (default: "
                   "outputs/<PERIOD>/consolidated_<PERIOD>.xlsx).")
@click.option("--include-invalid", is_flag=True,
              help="Merge units whose submission has errors too, marked as such.")
@lang_option
@pass_state
@handle_errors
def merge(state, period, out, include_invalid):
    """Merge the validated submissions of a period into the consolidated workbook.

    Takes each unit's current submission that passed validation (valid or with
    warnings), stores the tidy facts for later periods to compare against, and
    writes the consolidated workbook: overview and charts, prefecture summary
    against expected progress (序时进度) with red/amber/green, units x indicators,
    period-over-period change, task progress, submissions, validation issues and
    the lineage of every value. Thresholds come from [thresholds] in toolkit.toml
    (default green >= 1.0, amber >= 0.9 of expected progress). From 20,000 values
    on (a township run), the lineage is a workbook of its own beside it,
    consolidated_<PERIOD>_lineage.xlsx, written at the same time on another core.

    \b
    Examples:
      toolkit merge -p 2024H1
      toolkit merge -p 2024H1 --include-invalid --out 汇总表.xlsx
      toolkit merge -p 2024 --lang en
    """
    from toolkit.catalogue import t
    from toolkit.cli.table import render
    from toolkit.merge import merge as run_merge

    lang = state.lang
    report = run_merge(state.workspace, parse_period_arg(period), out=out,
                       include_invalid=include_invalid, lang=lang)
    if report.included:
        click.echo(t("merge.included", lang, count=len(report.included),
                     units="、".join(name for _, name in report.included)))
    else:
        click.echo(t("merge.included.none", lang))
    if report.marked:
        names = dict(report.included)
        click.echo(t("merge.marked", lang, units="、".join(names[c] for c in report.marked)))
    if report.left_out:
        click.echo(t("merge.left_out", lang, count=len(report.left_out)))
        rows = [[x.code, x.name, t(f"merge.reason.{x.reason}", lang, errors=x.errors)]
                for x in report.left_out]
        click.echo(render([t(f"merge.col.{k}", lang) for k in ("code", "unit", "reason")],
                          rows))
    click.echo(t("merge.rag", lang, **report.rag))
    if report.behind:
        click.echo(t("merge.behind", lang))
        for item in report.behind:
            click.echo(f"  {item.indicator} {item.name}  {item.ratio:.0%}  "
                       f"{t(f'summary.rag.{item.rag}', lang)}")
    click.echo(t("merge.previous", lang, previous=report.previous_period)
               if report.previous_period else t("merge.no_previous", lang))
    click.echo(t("merge.wrote", lang, path=report.path))
    if report.lineage is not None:
        click.echo(t("merge.wrote_lineage", lang, path=report.lineage))


COMMANDS = (merge,)
