"""The ``toolkit`` command line. The only part of the toolkit that imports click or prints.

Each command module opens the workspace, calls one library function and turns
library errors into a short ``Error: ...`` line (a traceback only with ``-v``).
Heavy libraries (pandas, openpyxl) are imported inside commands, so ``--help``
starts fast.
"""

from __future__ import annotations

import functools
import sys

import click

from toolkit import __version__
from toolkit.errors import ToolkitError

COMMAND_MODULES = ("plan", "templates", "prefecture", "collect", "validate", "merge", "mail",
                   "demo")


class State:
    def __init__(self, workspace, lang, verbose):
        self.workspace_arg = workspace
        self.lang_arg = lang
        self.verbose = verbose
        self._workspace = None

    @property
    def workspace(self):
        if self._workspace is None:
            from toolkit.config import open_workspace

            self._workspace = open_workspace(self.workspace_arg)
        return self._workspace

    @property
    def lang(self) -> str:
        return self.lang_arg or self.workspace.config.lang


def lang_option(func):
    """``--lang zh|en`` on a command; overrides the group option and the config."""

    @click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                  help="Language of workbooks and messages (default: config, else zh).")
    @functools.wraps(func)
    def wrapper(*args, lang=None, **kwargs):
        if lang:
            click.get_current_context().find_object(State).lang_arg = lang
        return func(*args, **kwargs)

    return wrapper


def period_option(func):
    return click.option("--period", "-p", required=True, metavar="PERIOD",
                        help="Reporting period: 2024, 2024H1, 2024H2, 2024Q1..2025Q4.")(func)


def parse_period_arg(text):
    from toolkit.periods import parse_period

    try:
        return parse_period(text)
    except ToolkitError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


def handle_errors(func):
    """Turn library errors into ``Error: Type: message`` and exit code 1 (usage errors are 2)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ToolkitError as exc:
            state = click.get_current_context().find_object(State)
            if state is not None and state.verbose:
                raise
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None

    return wrapper


pass_state = click.make_pass_decorator(State)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--workspace", "-w", envvar="TOOLKIT_WORKSPACE", default=None, metavar="DIR",
              help="Workspace folder (default: $TOOLKIT_WORKSPACE, else the current folder).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of workbooks and messages (default: config, else zh).")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="toolkit")
@click.pass_context
def main(ctx, workspace, lang, verbose):
    """Run the reporting of the Kashgar urbanization action plan through Excel.

    \b
    A period, start to end:
      toolkit init                         write toolkit.toml (units, contacts, deadlines)
      toolkit generate -p 2024H1           one template per reporting unit
      toolkit mail templates -p 2024H1     send each unit its template
      toolkit collect inbox/ -p 2024H1     take in what came back
      toolkit validate -p 2024H1           check every cell
      toolkit feedback -p 2024H1           annotated workbooks for units to fix
      toolkit merge -p 2024H1              the consolidated workbook (汇总表)
    """
    ctx.obj = State(workspace, lang, verbose)


def _register():
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"toolkit.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"toolkit.cli.{name}":
                raise
            continue
        for command in module.COMMANDS:
            main.add_command(command)


_register()


def run():  # pragma: no cover - console entry for `python -m toolkit`
    main(prog_name="toolkit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
