"""``toolkit demo``: one whole reporting period on the bundled plan, in a fresh workspace."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli import handle_errors, lang_option, parse_period_arg, pass_state

BEHIND_SHOWN = 8


def _rel(path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def render_demo(report, seed: int, lang: str) -> str:
    from toolkit.catalogue import t
    from toolkit.cli.table import render
    from toolkit.demo import CAST

    root = report.workspace
    names = report.validation.unit_names
    period = report.period
    out = [t("demo.head", lang, period=period.label(lang), root=root, seed=seed)]
    if report.history is not None:
        out.append(t("demo.history", lang, period=report.history.label(lang)))
    out.append(t("demo.allocated", lang, count=report.allocations, year=period.year,
                 warnings=report.allocation_warnings))
    folder = report.templates[0].parent if report.templates else ""
    out.append(t("demo.generated", lang, count=len(report.templates), folder=_rel(folder, root)))
    out.append("")
    out.append(t("demo.units", lang) + (" " + t(f"demo.saved_with.{report.saved_with}", lang)
                                         if report.saved_with else ""))
    statuses = report.statuses
    late = {row.unit_code for row in report.standing if row.timeliness == "late"}
    rows = [[f"{c.unit} {names.get(c.unit, '')}", t(f"demo.story.{c.story}", lang),
             t(f"demo.status.{statuses.get(c.unit, 'missing')}", lang)
             + (t("demo.late", lang) if c.unit in late else "")] for c in CAST]
    out.append(render([t(f"demo.col.{k}", lang) for k in ("unit", "story", "status")], rows,
                      limits={1: 60}))
    out.append("")
    sep = "，" if lang == "zh" else ", "
    counts = sep.join(f"{t(f'collect.status.{s}', lang)} {n}"
                      for s, n in sorted(report.collect.counts.items()))
    received = root / "outputs" / period.code / "received"
    out.append(t("demo.collected", lang, files=len(report.collect.rows), counts=counts,
                 folder=_rel(received, root)))
    by_status = list(statuses.values())
    out.append(t("demo.validated", lang, valid=by_status.count("valid"),
                 warnings=by_status.count("warnings"), invalid=by_status.count("invalid"),
                 missing=by_status.count("missing"),
                 path=_rel(report.validation.workbook or "", root)))
    if report.feedback:
        out.append(t("demo.feedback", lang, count=len(report.feedback),
                     folder=_rel(report.feedback[0].path.parent, root)))
    if report.prefecture_figures:
        out.append(t("demo.prefecture", lang, count=report.prefecture_figures))
    merge = report.merge
    out.append(t("demo.merged", lang, count=len(merge.included), **merge.rag))
    if merge.behind:
        out.append(t("demo.behind", lang, count=len(merge.behind),
                     shown=min(BEHIND_SHOWN, len(merge.behind))))
        for item in merge.behind[:BEHIND_SHOWN]:
            out.append(f"  {item.indicator} {item.name}  {item.ratio:.0%}  "
                       f"{t(f'summary.rag.{item.rag}', lang)}")
    mail = {kind: m.count("written") for kind, m in report.mail.items()}
    outbox = report.mail["templates"].outbox
    out.append(t("demo.outbox", lang, folder=_rel(outbox, root), **mail))
    out.append("")
    out.append(t("demo.open", lang))
    opened = [("summary", merge.path), ("validation", report.validation.workbook)]
    if report.feedback:
        opened.append(("feedback", report.feedback[0].path))
    if report.templates:
        opened.append(("template", report.templates[0]))
    for key, path in opened:
        if path:
            out.append(f"  {t(f'demo.open.{key}', lang)}: {path}")
    return "\n".join(out)


@click.command()
@click.option("--period", "-p", default="2024H1", show_default=True, metavar="PERIOD",
              help="The period to run: 2024, 2024H1, 2024H2, 2024Q1..2025Q4.")
@click.option("--out", "out", type=click.Path(file_okay=False), default="outputs/demo",
              show_default=True, metavar="DIR",
              help="The demo's workspace; emptied first if an earlier demo made it.")
@click.option("--seed", type=int, default=2024, show_default=True,
              help="Seed of the simulated clerks: the same seed, the same figures and mistakes.")
@click.option("--no-history", is_flag=True,
              help="Do not run the period's earlier quarter or half first.")
@lang_option
@pass_state
@handle_errors
def demo(state, period, out, seed, no_history):
    """Run one whole reporting period on the bundled plan, in a fresh workspace.

    Allocates the targets, generates the 13 templates and writes them to the
    outbox, simulates the counties filling them in (numbers typed as text, .xls
    and .ods saves, a renamed file, a resubmission, a unit that never reports, a
    stale template, a value out of range, another unit's workbook, a narrative
    starting with "=", a late reply, replies as .eml), then collects, validates,
    writes feedback, enters the prefecture's own figures, merges, and writes
    feedback, reminders and the summary to the outbox. Nothing is sent. Prints
    what happened and the workbooks to open.

    \b
    Examples:
      toolkit demo
      toolkit demo --period 2025 --out /tmp/demo-2025 --lang en
    """
    from toolkit.demo import run_demo

    lang = state.lang_arg or "zh"
    report = run_demo(out, parse_period_arg(period), seed=seed, lang=lang,
                      history=not no_history)
    click.echo(render_demo(report, seed, lang))


COMMANDS = (demo,)
