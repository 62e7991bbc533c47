"""The README stays true: its commands, its reference, its codes and its settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from toolkit import issues
from toolkit.cli import main
from toolkit.cli.reference import END, START, command_reference
from toolkit.config import parse_config
from toolkit.config_template import default_config_text
from toolkit.tasklist import load_tasklist, load_units

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_opens_with_the_two_commands():
    block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert README.index("```sh") < README.index("## ")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:.*\n\t.*toolkit demo", makefile, re.M)
    assert re.search(r"^test:.*\n\t.*pytest", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_command_reference_is_the_commands_own_help():
    assert START in README and END in README
    written = README[README.index(START):README.index(END) + len(END)]
    assert written == command_reference(), "run `make reference` to bring the README up to date"


def test_every_command_has_a_reference_section_and_an_example_in_its_help():
    for name, command in main.commands.items():
        assert f"### `toolkit {name}`" in README, name
        assert "Example" in (command.help or ""), f"toolkit {name} --help has no example"


def test_every_validation_code_is_explained():
    for code in issues.CODES:
        assert f"| `{code}` | {issues.CODES[code].severity} |" in README, code


def test_every_setting_of_the_commented_config_is_documented():
    text = default_config_text(load_units())
    data = tomllib.loads(text)
    parse_config(data, Path("toolkit.toml"))  # the file init writes is itself valid
    documented = README[README.index("## Workspace settings"):README.index("## The task list")]
    for section, value in data.items():
        assert f"[{section}]" in documented or f"[[{section}]]" in documented, section
        keys = value[0] if isinstance(value, list) else value
        if section == "periods":
            continue  # keys are period codes
        for key in keys:
            assert f"`{key}`" in documented, f"[{section}] {key}"


def test_the_figures_the_readme_gives_for_the_plan_are_the_lists():
    plan = load_tasklist()
    assert f"{len(plan.indicators)} indicators" in README
    assert f"{len(plan.tasks)} key tasks" in README
