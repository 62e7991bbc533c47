"""The workspace config: defaults without a file, what init writes, clear refusals."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from click.testing import CliRunner

from toolkit.cli import main
from toolkit.config import CONFIG_NAME, ENV_WORKSPACE, Config, Thresholds, open_workspace
from toolkit.errors import ConfigError
from toolkit.periods import parse_period
from toolkit.tasklist import load_units


def write_config(folder, text: str):
    path = folder / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_works_on_defaults(tmp_path):
    workspace = open_workspace(tmp_path)
    assert workspace.root == tmp_path.resolve()
    assert workspace.config == Config()
    assert workspace.config.thresholds == Thresholds(green=1.0, amber=0.9)
    assert workspace.config.smtp.host == ""
    assert len(workspace.tasklist.tasks) == 26
    assert len(workspace.tasklist.units) == 13
    assert workspace.deadline(parse_period("2024H1")) == dt.date(2024, 7, 10)
    assert workspace.db_path == tmp_path.resolve() / "toolkit.db"
    assert workspace.period_dir("2024H1") == tmp_path.resolve() / "outputs" / "2024H1"


def test_init_writes_a_config_that_parses_back(tmp_path):
    result = CliRunner().invoke(main, ["--workspace", str(tmp_path), "init"])
    assert result.exit_code == 0, result.output
    path = tmp_path / CONFIG_NAME
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert [u["code"] for u in data["units"]] == [u.code for u in load_units()]
    assert len(data["units"]) == 13
    assert "password" not in data["smtp"]
    assert data["smtp"]["password_env"]
    workspace = open_workspace(tmp_path)
    assert workspace.config.deadlines[parse_period("2024H1").code] == dt.date(2024, 7, 10)
    assert workspace.config.smtp.security in ("none", "starttls", "ssl")
    assert workspace.tasklist.unit("653125").name == "莎车县"
    assert (tmp_path / "outputs").is_dir()


@pytest.mark.parametrize("text, expected", [
    ('[smtp]\nhost = "mail.example"\npassword = "secret"\n', "password_env"),
    ('[smtp]\nsecurity = "tls"\n', "security must be one of none, starttls, ssl"),
    ('[smtp]\nhots = "mail.example"\n', "known keys: host, port, security, user"),
    ("[thresholds]\ngreen = 0.9\namber = 1.2\n", "amber must not exceed green"),
    ("[thresholds]\nred = 0.5\n", "known keys: green, amber, robust_z, jump"),
    ('[periods]\n"2024H1" = { deadline = "July 10" }\n', "is not a date like 2024-07-10"),
    ('[periods]\n"2024H1" = { deadline = 5 }\n', "needs deadline = 2024-07-10"),
    ('[plan]\nlang = "fr"\n', 'lang must be "zh" or "en"'),
    ('[[units]]\nname = "无代码"\n', "needs a code"),
    ("[smtp\nhost = 1\n", "not valid TOML"),
])
def test_each_bad_key_gives_a_clear_error(tmp_path, text, expected):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        open_workspace(tmp_path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_smtp_password_only_from_the_environment(tmp_path, monkeypatch):
    write_config(tmp_path, '[smtp]\nhost = "mail.example"\npassword_env = "OFFICE_SMTP_PW"\n')
    smtp = open_workspace(tmp_path).config.smtp
    monkeypatch.delenv("OFFICE_SMTP_PW", raising=False)
    with pytest.raises(ConfigError, match="OFFICE_SMTP_PW"):
        smtp.password()
    monkeypatch.setenv("OFFICE_SMTP_PW", "s3cret")
    assert smtp.password() == "s3cret"


def test_environment_variable_chooses_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_WORKSPACE, str(tmp_path))
    assert open_workspace().root == tmp_path.resolve()
    result = CliRunner().invoke(main, ["init"], env={ENV_WORKSPACE: str(tmp_path / "office")})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "office" / CONFIG_NAME).exists()


def test_workspace_option_chooses_the_folder(tmp_path):
    other = tmp_path / "elsewhere"
    result = CliRunner().invoke(main, ["--workspace", str(other), "init"],
                                env={ENV_WORKSPACE: str(tmp_path / "not-this")})
    assert result.exit_code == 0, result.output
    assert (other / CONFIG_NAME).exists()
    assert not (tmp_path / "not-this").exists()


def test_unit_emails_from_config_reach_the_task_list(tmp_path):
    write_config(tmp_path, '[[units]]\ncode = "653125"\nemails = ["fgw@shache.example", '
                           '"tj@shache.example"]\n\n[[units]]\ncode = "6531KF"\n'
                           'name = "喀什经开区"\nemails = "kf@example.cn"\n')
    tasklist = open_workspace(tmp_path).tasklist
    assert tasklist.unit("653125").emails == ("fgw@shache.example", "tj@shache.example")
    assert tasklist.unit("653125").name == "莎车县"
    assert tasklist.unit("6531KF").name == "喀什经开区"
    assert tasklist.unit("6531KF").emails == ("kf@example.cn",)
    assert tasklist.unit("653101").emails == ()


def test_a_unit_code_twice_in_config_is_refused(tmp_path):
    write_config(tmp_path, '[[units]]\ncode = "653101"\n\n[[units]]\ncode = "653101"\n')
    with pytest.raises(ConfigError, match="653101 appears twice"):
        open_workspace(tmp_path)


def test_a_replacement_task_list_from_config(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "mine.yaml").write_text(
        'plan: {title: 替换清单, years: [2024, 2025], version: "9"}\n'
        'actions:\n  - {id: "1", title: 行动}\n'
        'tasks:\n  - {id: "1", action: "1", title: 任务}\n', encoding="utf-8")
    write_config(tmp_path, '[plan]\ntasklist = "lists/mine.yaml"\n')
    tasklist = open_workspace(tmp_path).tasklist
    assert tasklist.title == "替换清单"
    assert len(tasklist.tasks) == 1
    assert len(tasklist.units) == 13


def test_a_contact_written_with_a_display_name_is_its_address(tmp_path):
    (tmp_path / "toolkit.toml").write_text(
        '[[units]]\ncode = "653121"\nemails = ["疏附县发改委 <FZW@example.cn>", "b@example.cn"]\n',
        encoding="utf-8")
    unit = open_workspace(tmp_path).tasklist.unit("653121")
    assert unit.emails == ("FZW@example.cn", "b@example.cn")


def test_the_address_is_the_one_in_angle_brackets(tmp_path):
    (tmp_path / "toolkit.toml").write_text(
        '[[units]]\ncode = "653121"\nemails = ["old@example.cn <new@example.cn>", '
        '"not an address"]\n', encoding="utf-8")
    unit = open_workspace(tmp_path).tasklist.unit("653121")
    assert unit.emails == ("new@example.cn", "not an address")
