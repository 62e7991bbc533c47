"""The workspace: the folder the office works in, and its ``toolkit.toml``.

Every command works with no config at all, on the bundled defaults.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from toolkit.errors import ConfigError
from toolkit.periods import Period

CONFIG_NAME = "toolkit.toml"
DB_NAME = "toolkit.db"
ENV_WORKSPACE = "TOOLKIT_WORKSPACE"
SECURITIES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class Thresholds:
    """Red/amber/green and outlier thresholds (documented in the README)."""

    green: float = 1.0  # progress against 序时进度 at or above this share: green
    amber: float = 0.9  # at or above this share (and below green): amber; below: red
    robust_z: float = 3.5  # |robust z| against the other units above this: warning
    jump: float = 1.0  # relative change against the previous period above this: warning


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    security: str = "none"
    user: str = ""
    password_env: str = ""

    def password(self) -> str:
        if not self.password_env:
            return ""
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(f"[smtp] password_env names {self.password_env}, which is not set: "
                              f"export {self.password_env}=... before sending")
        return value


@dataclass(frozen=True)
class MailSettings:
    sender: str = "urbanization-office@localhost"
    summary_to: tuple[str, ...] = ()
    max_attachment_mb: float = 10.0


@dataclass(frozen=True)
class Config:
    lang: str = "zh"
    tasklist: str = ""  # path to a replacement task list; empty: the bundled one
    units: dict = field(default_factory=dict)  # code -> {"name":..., "emails": (...)}
    deadlines: dict = field(default_factory=dict)  # period code -> date
    thresholds: Thresholds = Thresholds()
    password: str = ""  # sheet protection password; empty: protected without one
    smtp: SmtpSettings = SmtpSettings()
    mail: MailSettings = MailSettings()


def _address(text: str) -> str:
    """The address in "Name <address>"; anything else as written (the mailer judges it)."""
    start, end = text.rfind("<"), text.rfind(">")
    if 0 <= start < end and "@" in text[start:end]:
        return text[start + 1:end].strip()
    return text.strip()


def _section(data: dict, name: str, path: Path) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value


def parse_config(data: dict, path: Path) -> Config:
    """Turn parsed TOML into a Config, with a clear message for each wrong key."""
    plan = _section(data, "plan", path)
    lang = plan.get("lang", "zh")
    if lang not in ("zh", "en"):
        raise ConfigError(f"{path}: [plan] lang must be \"zh\" or \"en\", not {lang!r}")
    units = {}
    for row in data.get("units", []):
        if "code" not in row:
            raise ConfigError(f"{path}: every [[units]] entry needs a code")
        code = str(row["code"])
        if code in units:
            raise ConfigError(f"{path}: unit code {code} appears twice in [[units]]")
        emails = row.get("emails", [])
        if isinstance(emails, str):
            emails = [emails]
        # "疏附县发改委 <fzw@example.cn>" and plain addresses alike: keep the address itself
        emails = [_address(str(e)) for e in emails]
        units[code] = {"name": row.get("name"), "emails": tuple(emails),
                       "kind": row.get("kind")}
    deadlines = {}
    for code, value in _section(data, "periods", path).items():
        deadline = value.get("deadline") if isinstance(value, dict) else value
        if isinstance(deadline, str):
            try:
                deadline = dt.date.fromisoformat(deadline)
            except ValueError:
                raise ConfigError(f"{path}: [periods] {code} deadline {deadline!r} "
                                  "is not a date like 2024-07-10") from None
        if not isinstance(deadline, dt.date):
            raise ConfigError(f"{path}: [periods] {code} needs deadline = 2024-07-10")
        deadlines[str(code).upper()] = deadline
    th = _section(data, "thresholds", path)
    try:
        thresholds = Thresholds(**{k: float(v) for k, v in th.items()})
    except TypeError as exc:
        raise ConfigError(f"{path}: [thresholds] {exc}; known keys: green, amber, robust_z, "
                          "jump") from None
    if not thresholds.amber <= thresholds.green:
        raise ConfigError(f"{path}: [thresholds] amber must not exceed green")
    smtp_data = _section(data, "smtp", path)
    if "password" in smtp_data:
        raise ConfigError(f"{path}: [smtp] must not hold a password; set password_env to the "
                          "name of an environment variable that holds it")
    try:
        smtp = SmtpSettings(**smtp_data)
    except TypeError as exc:
        raise ConfigError(f"{path}: [smtp] {exc}; known keys: host, port, security, user, "
                          "password_env") from None
    if smtp.security not in SECURITIES:
        raise ConfigError(f"{path}: [smtp] security must be one of {', '.join(SECURITIES)}")
    mail_data = _section(data, "mail", path)
    mail = MailSettings(sender=mail_data.get("from", MailSettings.sender),
                        summary_to=tuple(mail_data.get("summary_to", ())),
                        max_attachment_mb=float(mail_data.get("max_attachment_mb", 10)))
    protection = _section(data, "protection", path)
    return Config(lang=lang, tasklist=str(plan.get("tasklist", "")), units=units,
                  deadlines=deadlines, thresholds=thresholds,
                  password=str(protection.get("password", "")), smtp=smtp, mail=mail)


@dataclass
class Workspace:
    """A workspace folder: config, database and outputs."""

    root: Path
    config: Config

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def period_dir(self, period: Period | str) -> Path:
        return self.outputs / str(period)

    def deadline(self, period: Period) -> dt.date:
        return self.config.deadlines.get(period.code, period.default_deadline())

    @cached_property
    def tasklist(self):
        """The task list (bundled unless [plan] tasklist names another), units from config."""
        from toolkit.tasklist import BUNDLED_TASKLIST, load_tasklist, load_units

        path = Path(self.config.tasklist) if self.config.tasklist else BUNDLED_TASKLIST
        if not path.is_absolute():
            path = self.root / path
        units = []
        for unit in load_units():
            extra = self.config.units.get(unit.code, {})
            units.append(replace(unit, name=extra.get("name") or unit.name,
                                 kind=extra.get("kind") or unit.kind,
                                 emails=extra.get("emails", unit.emails)))
        known = {u.code for u in units}
        for code, extra in self.config.units.items():
            if code not in known:
                if not extra.get("name"):
                    raise ConfigError(f"[[units]] {code} is not a bundled unit: give it a name")
                from toolkit.model import Unit

                units.append(Unit(code, extra["name"], extra.get("kind") or "county",
                                  extra.get("emails", ())))
        return load_tasklist(path, units=tuple(units))


def resolve_root(workspace: str | os.PathLike | None = None) -> Path:
    if workspace:
        return Path(workspace)
    return Path(os.environ.get(ENV_WORKSPACE) or ".")


def _read_toml(path: Path) -> dict:
    """The TOML at ``path``, parsed once for its bytes as they are (``toolkit.parsed``)."""
    from toolkit.parsed import name_for, parsed, parser, text_of

    raw = path.read_bytes()

    def parse():
        import tomllib

        try:
            return tomllib.loads(text_of(raw))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    return parsed(name_for("config", path), [raw], parse, parser("tomllib", __file__))


def open_workspace(workspace: str | os.PathLike | None = None) -> Workspace:
    """Open the workspace at ``workspace`` (or $TOOLKIT_WORKSPACE, or the current folder)."""
    root = resolve_root(workspace).resolve()
    path = root / CONFIG_NAME
    if path.exists():
        config = parse_config(_read_toml(path), path)
    else:
        config = Config()
    return Workspace(root, config)
