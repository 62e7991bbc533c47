"""Commands about the plan itself: ``init`` and ``tasklist``."""

from __future__ import annotations

import json

import click

from toolkit.cli import handle_errors, lang_option, pass_state


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing toolkit.toml.")
@lang_option
@pass_state
@handle_errors
def init(state, force):
    """Write a commented toolkit.toml into the workspace.

    \b
    Example:
      toolkit --workspace office/ init
    """
    from toolkit.atomic import write_text
    from toolkit.catalogue import t
    from toolkit.config import CONFIG_NAME
    from toolkit.config_template import default_config_text

    workspace = state.workspace
    path = workspace.root / CONFIG_NAME
    if path.exists() and not force:
        raise click.ClickException(t("cli.init.exists", state.lang, path=path))
    workspace.root.mkdir(parents=True, exist_ok=True)
    write_text(path, default_config_text(workspace.tasklist.units))
    (workspace.outputs).mkdir(exist_ok=True)
    click.echo(t("cli.init.done", state.lang, path=path))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.xlsx", help="Write the list as a workbook (重点任务清单 layout).")
@click.option("--import", "import_path", type=click.Path(exists=True, dir_okay=False),
              default=None, metavar="FILE.xlsx",
              help="Read such a workbook back into YAML (see --out).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.yaml",
              help="With --import: where to write the YAML (default: the workspace's "
                   "tasklist.yaml; set [plan] tasklist to use it).")
@lang_option
@pass_state
@handle_errors
def tasklist(state, as_json, export_path, import_path, out_path):
    """Show, export or import the plan's task list.

    \b
    Examples:
      toolkit tasklist                       actions, tasks and indicators with targets
      toolkit tasklist --json > list.json
      toolkit tasklist --export 任务清单.xlsx
      toolkit tasklist --import 任务清单.xlsx --out my-list.yaml
    """
    from toolkit.catalogue import t

    if import_path:
        from toolkit.tasklist_xlsx import import_tasklist

        dest = out_path or str(state.workspace.root / "tasklist.yaml")
        result = import_tasklist(import_path, dest, units=state.workspace.tasklist.units,
                                 lang=state.lang)
        click.echo(t("cli.tasklist.imported", state.lang, path=dest,
                     tasks=len(result.tasks), indicators=len(result.indicators)))
        return
    plan = state.workspace.tasklist
    if export_path:
        from toolkit.tasklist_xlsx import export_tasklist

        export_tasklist(plan, export_path, lang=state.lang)
        click.echo(t("cli.tasklist.exported", state.lang, path=export_path))
        return
    if as_json:
        from toolkit.tasklist import tasklist_json

        click.echo(json.dumps(tasklist_json(plan), ensure_ascii=False, indent=2))
        return
    click.echo(render_tasklist(plan, state.lang))


def _num(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def render_tasklist(plan, lang: str) -> str:
    from toolkit.catalogue import t
    from toolkit.cli.table import render

    out = [f"{plan.title}  ({t('cli.tasklist.counts', lang, actions=len(plan.actions), tasks=len(plan.tasks), indicators=len(plan.indicators), units=len(plan.units))})"]
    for action in plan.actions:
        out.append("")
        out.append(f"[{action.id}] {action.title}")
        for task in (x for x in plan.tasks if x.action == action.id):
            out.append(f"  {task.id}. {task.title}  — {t('cli.tasklist.lead', lang)}: "
                       f"{'、'.join(task.lead)}")
    out.append("")
    headers = [t(f"cli.tasklist.col.{k}", lang) for k in
               ("id", "name", "unit", "kind", *map(str, plan.years), "scope", "aggregation")]
    rows = []
    for ind in plan.indicators:
        scope = ind.scope if isinstance(ind.scope, str) else ",".join(ind.scope)
        rows.append([ind.id, ind.name, ind.unit, ind.kind,
                     *(_num(ind.target(y)) for y in plan.years), scope, ind.aggregation])
    out.append(render(headers, rows, limits={1: 36}))
    return "\n".join(out)


COMMANDS = (init, tasklist)
