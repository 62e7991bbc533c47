"""``toolkit collect`` (take in returned workbooks) and ``toolkit status`` (who stands where)."""

from __future__ import annotations

import json

import click

from toolkit.cli import (handle_errors, lang_option, parse_period_arg, pass_state,
                         period_option)


def _short(text: str, limit: int = 36) -> str:
    """The end of a long source (the file name end is what tells them apart)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def _status_word(status: str, lang: str) -> str:
    from toolkit.catalogue import t

    return t(f"collect.status.{status}", lang)


def render_report(report, units: dict, lang: str) -> str:
    from toolkit.catalogue import t
    from toolkit.cli.table import render

    headers = [t(f"collect.cli.col.{k}", lang) for k in
               ("name", "from", "unit", "status", "reason")]
    rows = []
    for row in report.rows:
        unit = units.get(row.unit_code)
        origin = row.sender or _short(row.source.rsplit("!", 1)[0].rsplit("#", 1)[0])
        rows.append([row.name, origin, unit.name if unit else row.unit_code or "—",
                     _status_word(row.status, lang), row.reason])
    out = [render(headers, rows, limits={0: 40, 1: 36, 4: 90})] if rows else [
        t("collect.cli.nothing", lang)]
    if report.skipped:
        out.append("")
        out.append(t("collect.cli.skipped", lang, count=len(report.skipped)))
        for item in report.skipped:
            out.append(f"  {item.name}  ({_short(item.source, 60)}): "
                       f"{t(f'collect.skip.{item.why}', lang)}")
    sep = "，" if lang == "zh" else ", "
    counts = sep.join(f"{_status_word(s, lang)} {n}" for s, n in sorted(report.counts.items()))
    out.append("")
    out.append(t("collect.cli.counts", lang, period=report.period, files=len(report.rows),
                 new=report.new, counts=counts or "0"))
    return "\n".join(out)


@click.command()
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, readable=True), metavar="PATH...")
@period_option
@click.option("--timeout", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Longest time one file may take to read (default 60).")
@click.option("--memory-mb", type=click.IntRange(min=64), default=None, metavar="MB",
              help="Memory one reader process may use (default 1024).")
@click.option("--workers", type=click.IntRange(min=1, max=16), default=None, metavar="N",
              help="Reader processes side by side (default 2).")
@click.option("--details", is_flag=True,
              help="Also print the technical detail of each refusal.")
@lang_option
@pass_state
@handle_errors
def collect(state, paths, period, timeout, memory_mb, workers, details):
    """Take in the workbooks units sent back, and record each in the ledger.

    PATH may be a workbook, a folder (searched recursively), a .zip archive, an .eml
    message, an mbox file or a Maildir folder (attachments are taken from the
    messages, with sender, Message-ID and Date). Accepted: .xlsx, .xlsm (values
    only), .xls, .ods. Each file is copied under outputs/PERIOD/received/ (refused
    or unidentified ones under quarantine/, with the reason); originals are never
    changed. A unit's later file supersedes its earlier one; both are kept.
    Collecting the same files again changes nothing.

    \b
    Examples:
      toolkit collect inbox/ -p 2024H1
      toolkit collect 喀什市.xlsx 疏勒县.xls -p 2024H1
      toolkit collect mail/2024H1.mbox ~/Maildir -p 2024H1
      toolkit collect returned.zip -p 2024H1 --timeout 120
    """
    from dataclasses import replace

    from toolkit.collect import Options, collect as run_collect

    period = parse_period_arg(period)
    workspace = state.workspace
    options = Options()
    if timeout is not None:
        options = replace(options, timeout=timeout)
    if memory_mb is not None:
        options = replace(options, memory_mb=memory_mb)
    if workers is not None:
        options = replace(options, workers=workers)
    report = run_collect(workspace, period, paths, lang=state.lang, options=options)
    units = {u.code: u for u in workspace.tasklist.units}
    click.echo(render_report(report, units, state.lang))
    if details:
        for row in report.rows:
            if row.detail:
                click.echo(f"  {row.name}: {row.detail}")


def render_status(rows, period, deadline, unattributed: int, folder, lang: str) -> str:
    from toolkit.catalogue import t
    from toolkit.cli.table import render

    headers = [t(f"collect.cli.col.{k}", lang) for k in
               ("unit", "status", "sent", "current", "errors", "warnings", "timeliness",
                "count")]
    table = []
    for row in rows:
        table.append([row.unit_name, _status_word(row.status, lang),
                      row.sent.astimezone().strftime("%Y-%m-%d %H:%M") if row.sent else "—",
                      row.file or "—",
                      "—" if row.errors is None else row.errors,
                      "—" if row.warnings is None else row.warnings,
                      t(f"collect.timeliness.{row.timeliness}", lang), row.files])
    out = [render(headers, table, limits={3: 40}), ""]
    reported = sum(1 for r in rows if r.timeliness in ("on_time", "late"))
    out.append(t("collect.cli.status_counts", lang, period=period.code, deadline=deadline,
                 units=len(rows), reported=reported,
                 on_time=sum(1 for r in rows if r.timeliness == "on_time"),
                 late=sum(1 for r in rows if r.timeliness == "late"),
                 missing=len(rows) - reported))
    if unattributed:
        out.append(t("collect.cli.unattributed", lang, count=unattributed, folder=folder))
    return "\n".join(out)


@click.command()
@period_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@lang_option
@pass_state
@handle_errors
def status(state, period, as_json):
    """One row per unit: received when, current file, status, errors, warnings, on time.

    Errors and warnings show once `toolkit validate` has run. On time is judged by
    the first file a unit sent that was taken in, against the period's deadline
    ([periods] in toolkit.toml, else ten days after the period ends).

    \b
    Examples:
      toolkit status -p 2024H1
      toolkit status -p 2024H1 --json > status.json
    """
    import datetime as dt

    from toolkit import ledger
    from toolkit.status import unattributed, unit_status
    from toolkit.store import opened

    period = parse_period_arg(period)
    workspace = state.workspace
    with opened(workspace.db_path) as conn:
        subs = ledger.submissions(conn, period.code)
        counts = ledger.issue_counts(conn, [s.id for s in subs])
    deadline = workspace.deadline(period)
    rows = unit_status(workspace.tasklist.units, subs, counts, deadline, dt.date.today())
    loose = unattributed(subs)
    if as_json:
        click.echo(json.dumps({
            "period": period.code, "deadline": deadline.isoformat(),
            "units": [{"unit": r.unit_code, "name": r.unit_name, "status": r.status,
                       "timeliness": r.timeliness,
                       "sent": r.sent.isoformat() if r.sent else None, "file": r.file,
                       "stored_path": r.stored_path, "errors": r.errors,
                       "warnings": r.warnings, "files": r.files} for r in rows],
            "unattributed": [{"file": s.original_name, "status": s.status,
                              "reason": s.reason, "stored_path": s.stored_path}
                             for s in loose],
        }, ensure_ascii=False, indent=2))
        return
    folder = workspace.period_dir(period) / "quarantine"
    click.echo(render_status(rows, period, deadline, len(loose), folder, state.lang))


COMMANDS = (collect, status)
