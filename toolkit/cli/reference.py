"""The README's command reference, made from the commands' own ``--help``.

``python -m toolkit.cli.reference README.md`` rewrites the part of the README
between the two marker lines; ``tests/test_docs.py`` fails when that part and
the commands' help differ, so the reference never goes stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

START = "<!-- command reference: made by `make reference`; do not edit by hand -->"
END = "<!-- end of command reference -->"
WIDTH = 100


def help_text(command: click.Command, name: str, parent: click.Context | None = None) -> str:
    """``command``'s --help as printed at a fixed width."""
    settings = {"max_content_width": WIDTH, **command.context_settings}
    ctx = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH, **settings)
    return command.get_help(ctx)


def command_reference() -> str:
    """Markdown: the top-level help, then one section per command, in name order."""
    from toolkit.cli import main

    top = click.Context(main, info_name="toolkit", terminal_width=WIDTH, **main.context_settings)
    parts = [START, "", "```text", help_text(main, "toolkit"), "```", ""]
    for name in sorted(main.commands):
        parts += [f"### `toolkit {name}`", "", "```text",
                  help_text(main.commands[name], name, parent=top), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def replace_reference(text: str) -> str:
    """``text`` (the README) with its reference part made anew."""
    if START not in text or END not in text:
        raise SystemExit(f"the README needs the two marker lines:\n{START}\n{END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + command_reference() + tail


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "README.md")
    path.write_text(replace_reference(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"rewrote the command reference in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
