"""``toolkit mail``: templates out, feedback back, reminders (催报), the summary on."""

from __future__ import annotations

import click

from toolkit.cli import handle_errors, lang_option, pass_state, period_option, parse_period_arg

KINDS = ("templates", "feedback", "reminders", "summary")


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@period_option
@click.option("--dry-run", is_flag=True,
              help="Write each message as an .eml file to outputs/<PERIOD>/outbox/ instead of "
                   "sending (the default when toolkit.toml has no [smtp] host).")
@click.option("--resend", is_flag=True, help="Send again what was sent before.")
@click.option("--today", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, hidden=True,
              help="The date reminders count the deadline from (default: today).")
@lang_option
@pass_state
@handle_errors
def mail(state, kind, period, dry_run, resend, as_of):
    """E-mail the units or the leadership: KIND is templates, feedback, reminders or summary.

    \b
    templates  each unit its own template, to the unit's contacts
    feedback   each unit with issues its annotated workbook and what to fix
    reminders  units not reported, or not passing the checks (催报); the
               wording follows the deadline in toolkit.toml [periods]
    summary    the consolidated workbook (and its lineage workbook, if any) to
               [mail] summary_to

    Nothing is sent twice unless --resend; every message is recorded in the
    workspace database.

    \b
    Examples:
      toolkit mail templates -p 2024H1 --dry-run    write the outbox, send nothing
      toolkit mail reminders -p 2024H1              催报 to every late unit
      toolkit mail summary -p 2024H1 --lang en
    """
    from toolkit.catalogue import t
    from toolkit.cli.table import width
    from toolkit.mailer import OUTBOX, send_mail

    period = parse_period_arg(period)
    workspace = state.workspace
    lang = state.lang
    if not dry_run and not workspace.config.smtp.host:
        click.echo(t("cli.mail.no_host", lang))
    labels = [f"{u.code} {u.name}" for u in workspace.tasklist.units]
    pad = max([width(x) for x in labels] + [0])
    statuses = {s: t(f"cli.mail.status.{s}", lang)
                for s in ("sent", "written", "skipped", "not_sent", "failed")}
    status_pad = max(width(x) for x in statuses.values())

    def show(outcome):
        label = (f"{outcome.unit_code} {outcome.unit_name}" if outcome.unit_code
                 else outcome.unit_name)
        status = statuses[outcome.status]
        cells = [label + " " * max(pad - width(label), 0),
                 status + " " * (status_pad - width(status)),
                 ", ".join(outcome.recipients) or "-"]
        if outcome.detail:
            cells.append(outcome.detail)
        if outcome.path:
            cells.append(outcome.path)
        click.echo("  ".join(cells))

    report = send_mail(workspace, kind, period, dry_run=dry_run, resend=resend, lang=lang,
                       today=as_of.date() if as_of else None, on_outcome=show)
    if not report.outcomes:
        click.echo(t("cli.mail.nothing", lang))
    click.echo(t("cli.mail.counts", lang, kind=t(f"cli.mail.kind.{kind}", lang),
                 **{s: report.count(s) for s in ("sent", "written", "skipped", "not_sent",
                                                 "failed")}))
    if report.transport == OUTBOX and report.count("written"):
        click.echo(t("cli.mail.outbox", lang, folder=report.outbox))
    report.raise_for_failures(lang)


COMMANDS = (mail,)
