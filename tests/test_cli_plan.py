"""The command line through CliRunner: help, `tasklist`, `init`, languages, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from toolkit.catalogue import t
from toolkit.cli import main
from toolkit.config import CONFIG_NAME
from toolkit.tasklist import load_tasklist


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def bundled():
    return load_tasklist()


def all_commands(group=main, prefix=()):
    """Every command path under ``group``, e.g. ("mail", "templates")."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_help_lists_every_registered_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert {"init", "tasklist"} <= set(main.commands)
    for name in main.commands:
        assert f"  {name}" in result.output, name


@pytest.mark.parametrize("path", list(all_commands()), ids=" ".join)
def test_every_command_help_has_an_example(runner, path):
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    examples = [line.split() for line in result.output.splitlines()
                if line.strip().startswith("toolkit ")]
    assert any(all(word in example for word in path) for example in examples), examples


def test_python_dash_m_toolkit_help():
    done = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "tasklist" in done.stdout and "init" in done.stdout


def test_tasklist_table_shows_counts_and_targets(runner, tmp_path, bundled):
    result = runner.invoke(main, ["-w", str(tmp_path), "tasklist"])
    assert result.exit_code == 0, result.output
    counts = t("cli.tasklist.counts", "zh", actions=6, tasks=26,
               indicators=len(bundled.indicators), units=13)
    assert counts in result.output
    assert "6大行动、26项重点任务" in counts
    assert "持续深化户籍制度改革" in result.output
    assert "18,600" in result.output and "12,800" in result.output
    assert "7,600,000,000" in result.output


def test_tasklist_table_in_english(runner, tmp_path):
    result = runner.invoke(main, ["-w", str(tmp_path), "tasklist", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "6 actions, 26 key tasks" in result.output
    assert "13 reporting units" in result.output


def test_tasklist_json_has_the_required_shape(runner, tmp_path, bundled):
    result = runner.invoke(main, ["-w", str(tmp_path), "tasklist", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"actions", "tasks", "indicators", "units"} <= set(data)
    assert [set(a) for a in data["actions"]] == [{"id", "title"}] * 6
    for task in data["tasks"]:
        assert {"id", "action", "title", "lead", "implementers"} <= set(task)
        assert isinstance(task["lead"], list) and isinstance(task["implementers"], list)
        assert all(isinstance(x, str) for x in task["lead"] + task["implementers"])
    assert len(data["tasks"]) == 26
    for ind in data["indicators"]:
        assert {"id", "task", "name", "unit", "kind", "direction", "targets", "scope",
                "aggregation"} <= set(ind)
        assert set(ind["targets"]) == {"2024", "2025"}
        assert all(v is None or isinstance(v, (int, float)) for v in ind["targets"].values())
        assert ind["scope"] in ("all", "counties", "prefecture") or isinstance(ind["scope"], list)
    assert [set(u) >= {"code", "name"} for u in data["units"]] == [True] * 13
    seats = next(i for i in data["indicators"] if i["task"] == "2" and "学位" in i["name"])
    assert seats["targets"] == {"2024": 18600, "2025": 12800}
    assert [i["id"] for i in data["indicators"]] == [i.id for i in bundled.indicators]


def test_init_writes_and_refuses_to_overwrite(runner, tmp_path):
    first = runner.invoke(main, ["-w", str(tmp_path), "init"])
    assert first.exit_code == 0, first.output
    path = tmp_path / CONFIG_NAME
    assert str(path) in first.output
    path.write_text(path.read_text(encoding="utf-8") + "\n# office notes\n", encoding="utf-8")
    again = runner.invoke(main, ["-w", str(tmp_path), "init"])
    assert again.exit_code == 1
    assert "--force" in again.output and "已存在" in again.output
    assert path.read_text(encoding="utf-8").endswith("# office notes\n")
    forced = runner.invoke(main, ["-w", str(tmp_path), "init", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "# office notes" not in path.read_text(encoding="utf-8")


def test_lang_en_gives_english_messages(runner, tmp_path):
    result = runner.invoke(main, ["-w", str(tmp_path), "init", "--lang", "en"])
    assert result.exit_code == 0
    assert result.output.startswith("Wrote ")
    again = runner.invoke(main, ["-w", str(tmp_path), "--lang", "en", "init"])
    assert "exists; add --force" in again.output


def test_a_toolkit_error_is_one_line_without_traceback(runner, tmp_path):
    (tmp_path / CONFIG_NAME).write_text("[thresholds]\ngreen = 0.5\namber = 0.8\n",
                                        encoding="utf-8")
    result = runner.invoke(main, ["-w", str(tmp_path), "tasklist"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ConfigError: ")
    assert "amber must not exceed green" in result.output
    assert "Traceback" not in result.output


def test_verbose_shows_the_traceback(runner, tmp_path):
    (tmp_path / CONFIG_NAME).write_text("[plan]\nlang = 'fr'\n", encoding="utf-8")
    result = runner.invoke(main, ["-w", str(tmp_path), "-v", "tasklist"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ConfigError"


def test_tasklist_export_then_import(runner, tmp_path, bundled):
    book = tmp_path / "任务清单.xlsx"
    exported = runner.invoke(main, ["-w", str(tmp_path), "tasklist", "--export", str(book)])
    assert exported.exit_code == 0, exported.output
    assert book.exists() and str(book) in exported.output
    out = tmp_path / "mine.yaml"
    imported = runner.invoke(main, ["-w", str(tmp_path), "tasklist", "--import", str(book),
                                    "--out", str(out)])
    assert imported.exit_code == 0, imported.output
    assert f"已导入 26 项任务、{len(bundled.indicators)} 个指标" in imported.output
    assert load_tasklist(out) == bundled


def test_tasklist_import_of_a_broken_workbook_is_an_error(runner, tmp_path):
    bad = tmp_path / "清单.xlsx"
    bad.write_bytes(b"not a workbook at all")
    result = runner.invoke(main, ["-w", str(tmp_path), "tasklist", "--import", str(bad),
                                  "--out", str(tmp_path / "x.yaml"), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: WorkbookError: cannot read the task list workbook")
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.yaml").exists()
