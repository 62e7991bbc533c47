"""One whole reporting period on the bundled plan, in a fresh workspace.

The prefecture office allocates its targets, generates the thirteen templates
and mails them (to the outbox); the counties fill them in, each clerk in their
own way (``CAST``: numbers typed as text, an .xls and an .ods save, a renamed
file, a resubmission, a unit that never reports, a stale template, a value out
of range, a workbook of another unit, a narrative starting with "=", a late
reply) and send them back as e-mails; the office collects, validates, writes
feedback, enters the prefecture's own figures, merges and mails feedback,
reminders and the summary.

When the period has an earlier one in its year (2024H1 has 2024Q1), that one
is run first with clean replies, so the period-over-period comparison and the
"a cumulative figure fell" check have something to compare with.

A seed fixes every figure, mistake and date the clerks produce, so the same
seed gives the same results (the files' bytes still differ: office suites stamp
the time they save). Nothing is printed here: ``run_demo`` returns a
``DemoReport`` and the CLI shows it.
"""

from __future__ import annotations

import datetime as dt
import email.message
import email.utils
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.periods import Period, parse_period
from toolkit.simulate import Mistakes

MARKER = ".toolkit-demo"  # a folder holding it was made by the demo and may be made afresh
DOMAIN = "kashi.example"
OFFICE = f"office@{DOMAIN}"
LEADERS = (f"leaders@{DOMAIN}",)
ZONE = dt.timezone(dt.timedelta(hours=8))  # Beijing time, the offices' clock


class DemoError(ToolkitError):
    """The demo cannot run in the folder it was given."""


@dataclass(frozen=True)
class Clerk:
    """How one unit's clerk fills the template and sends it back."""

    unit: str
    story: str  # what this clerk does, as a catalogue key under demo.story.
    mistakes: Mistakes = Mistakes()
    days_before: int = 4  # sent this many days before the deadline (negative: late)
    attachment: str = ""  # the name the clerk gives the file ("" keeps the template's name)
    fmt: str = "xlsx"  # "xls" or "ods": saved in another format
    by_mail: bool = True  # an e-mail reply (.eml); else a file the office saved from mail
    twice: bool = False  # the same e-mail sent twice
    stale: bool = False  # filled an old template of an earlier task-list version
    claims: str = ""  # filled (and sent) the template of this other unit instead
    corrected_days_before: int | None = None  # a corrected workbook follows, superseding
    reports: bool = True


CAST = (
    Clerk("653101", "twice", twice=True),
    Clerk("653121", "thousands", Mistakes(thousands_text=True)),
    Clerk("653122", "fullwidth", Mistakes(fullwidth=True), days_before=6),
    Clerk("653123", "wan_percent", Mistakes(wan_and_percent=True), by_mail=False,
          attachment="英吉沙县上半年报表（终版）.xlsx"),
    Clerk("653124", "xls", fmt="xls"),
    Clerk("653125", "ods", fmt="ods"),
    Clerk("653126", "renamed", attachment="新建 Microsoft Excel 工作表.xlsx"),
    Clerk("653127", "resubmitted", Mistakes(negative=True), days_before=7,
          corrected_days_before=2),
    Clerk("653128", "silent", reports=False),
    Clerk("653129", "stale", stale=True),
    Clerk("653130", "out_of_range", Mistakes(out_of_range=True), days_before=1),
    Clerk("653131", "other_unit", claims="653130", days_before=3),
    Clerk("6531KF", "formula_late", Mistakes(formula_narrative=True), days_before=-3),
)


@dataclass(frozen=True)
class Sent:
    """One thing a county sent: an e-mail with its workbook, or a file saved from one."""

    unit: str
    path: Path
    attachment: str  # the workbook's name as sent


@dataclass
class DemoReport:
    workspace: Path
    period: Period
    history: Period | None = None
    allocations: int = 0
    allocation_warnings: int = 0
    prefecture_figures: int = 0  # figures the prefecture reported itself
    templates: list = field(default_factory=list)
    sent: list = field(default_factory=list)  # Sent
    saved_with: str = ""  # "libreoffice" or "library": what wrote the .xls and .ods
    collect: object = None  # collect.CollectReport
    validation: object = None  # validation_run.ValidationReport
    feedback: list = field(default_factory=list)  # feedback.FeedbackFile
    merge: object = None  # merge.MergeReport
    mail: dict = field(default_factory=dict)  # kind -> mailer.MailReport
    standing: tuple = ()  # status.UnitStatus per unit, the day after the deadline

    @property
    def statuses(self) -> dict[str, str]:
        """{unit code: valid | warnings | invalid | missing}."""
        out = {r.unit: r.status for r in self.validation.results}
        out.update({code: "missing" for code in self.validation.missing})
        return out


def history_period(period: Period) -> Period | None:
    """The earlier period of the same year that the demo runs first, if any."""
    months = {12: 6, 9: 6, 6: 3}.get(period.months)
    if months is None:
        return None
    return Period(period.year, months, "Q" if months == 3 else "H")


def prepare_folder(root: Path, lang: str = "zh") -> None:
    """Make ``root`` an empty folder for the demo; refuse a folder the demo did not make."""
    from toolkit.catalogue import t

    if root.exists():
        if not root.is_dir():
            raise DemoError(t("demo.error.file", lang, root=root))
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise DemoError(t("demo.error.not_empty", lang, root=root))
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by `toolkit demo`; it is emptied on the next run\n",
                               encoding="utf-8")


def unit_address(code: str) -> str:
    return f"report-{code.lower()}@{DOMAIN}"


def write_config(root: Path, units) -> None:
    """A toolkit.toml as `toolkit init` writes it, with contacts and recipients filled in."""
    from toolkit.atomic import write_text
    from toolkit.config_template import default_config_text

    text = default_config_text(tuple(replace(u, emails=(unit_address(u.code),)) for u in units))
    for old, new in (('from = "urbanization-office@example.gov.cn"', f'from = "{OFFICE}"'),
                     ("summary_to = []", f"summary_to = {list(LEADERS)!r}".replace("'", '"'))):
        if old not in text:
            raise AssertionError(f"toolkit.toml template changed: {old!r} not found")
        text = text.replace(old, new)
    write_text(root / "toolkit.toml", text)


def allocate(workspace, year: int, seed: int, lang: str):
    """Export the allocation workbook, type the office's split into it, import it."""
    from toolkit.allocation import export_allocations, import_allocations
    from toolkit.simulate import fill_allocations, propose_allocations

    path = workspace.root / f"任务分解{year}.xlsx"
    export_allocations(workspace.tasklist, year, path, lang=lang)
    fill_allocations(path, propose_allocations(workspace.tasklist, year, seed))
    return import_allocations(path, workspace.db_path, workspace.tasklist, year, lang)


def report_prefecture(workspace, period: Period, seed: int, lang: str) -> int:
    """The lead departments' own figures: export, type, import. Returns how many."""
    from toolkit.prefecture import export_figures, import_figures, reported
    from toolkit.simulate import fill_prefecture, prefecture_figures

    path = workspace.root / f"地区层面指标{period.code}.xlsx"
    export_figures(workspace.tasklist, period, path, lang=lang)
    fill_prefecture(path, prefecture_figures(workspace.tasklist, period, seed))
    return reported(import_figures(path, workspace.db_path, workspace.tasklist, period, lang))


def older_tasklist(tasklist):
    """The list as it stood before its last revision: an earlier version, one target off."""
    first = tasklist.indicators[0]
    changed = replace(first, targets=tuple((y, None if v is None else v * 0.9)
                                           for y, v in first.targets))
    return replace(tasklist, version=f"{tasklist.version}-draft",
                   indicators=(changed,) + tasklist.indicators[1:])


def reply(sender: str, when: dt.datetime, subject: str, name: str, data: bytes,
          message_id: str) -> bytes:
    """A county's reply e-mail with its workbook attached, as its mail client writes it."""
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = OFFICE
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = message_id
    msg.set_content("您好，附件是我单位本期填报的报表，请查收。\n")
    subtype = {".xls": "vnd.ms-excel", ".ods": "vnd.oasis.opendocument.spreadsheet"}.get(
        Path(name).suffix, "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    msg.add_attachment(data, maintype="application", subtype=subtype, filename=name)
    return bytes(msg)


class _Counties:
    """The thirteen clerks: fill, save, send. Writes into ``inbox`` only."""

    def __init__(self, workspace, period: Period, templates: dict, inbox: Path, seed: int,
                 lang: str):
        from toolkit.allocation import unit_allocations

        self.workspace, self.period, self.templates = workspace, period, templates
        self.inbox, self.seed, self.lang = inbox, seed, lang
        self.allocations = unit_allocations(workspace.db_path, period.year)
        self.deadline = workspace.deadline(period)
        self.work = inbox.parent / f".clerks-{period.code}"  # the clerks' own desks
        self.saved_with = ""

    def at(self, days_before: int, unit: str) -> dt.datetime:
        minute = sum(map(ord, unit)) % 50
        return dt.datetime.combine(self.deadline - dt.timedelta(days=days_before),
                                   dt.time(10, minute), ZONE)

    def _template(self, clerk: Clerk, unit) -> Path:
        if not clerk.stale:
            return self.templates[unit.code]
        from toolkit.template import TemplateSpec, write_template

        spec = TemplateSpec(tasklist=older_tasklist(self.workspace.tasklist), unit=unit,
                            period=self.period, lang=self.lang,
                            allocations=self.allocations.get(unit.code, {}),
                            deadline=self.deadline)
        return write_template(self.work / "stale" / self.templates[unit.code].name, spec)

    def _fill(self, clerk: Clerk, mistakes: Mistakes, tag: str) -> Path:
        from toolkit.simulate import fill_workbook, plan_fill

        tasklist = self.workspace.tasklist
        unit = tasklist.unit(clerk.claims or clerk.unit)
        plan = plan_fill(tasklist, unit, self.period, self.allocations.get(unit.code, {}),
                         self.seed, mistakes)
        template = self._template(clerk, unit)
        filled = fill_workbook(template, self.work / tag / template.name, plan)
        if clerk.fmt == "xlsx":
            return filled
        from toolkit.resave import save_as

        dest = filled.with_suffix(f".{clerk.fmt}")
        self.saved_with = save_as(filled, dest, clerk.fmt)
        return dest

    def _send(self, clerk: Clerk, path: Path, days_before: int, tag: str) -> list[Sent]:
        name = clerk.attachment or path.name
        if clerk.attachment and path.suffix != Path(name).suffix:
            name = Path(name).stem + path.suffix
        when = self.at(days_before, clerk.unit)
        unit = self.workspace.tasklist.unit(clerk.unit)
        if not clerk.by_mail:  # saved from the mail client under the clerk's name
            dest = self.inbox / "saved" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            os.utime(dest, (when.timestamp(), when.timestamp()))
            return [Sent(clerk.unit, dest, name)]
        subject = f"回复：{self.workspace.tasklist.title} {self.period.label('zh')}报表 {unit.name}"
        sender = email.utils.formataddr((f"{unit.name}发改委", unit_address(unit.code)))
        out = []
        for copy in range(2 if clerk.twice else 1):
            message_id = f"<{clerk.unit}.{self.period.code}.{tag}.{copy + 1}@{DOMAIN}>"
            data = reply(sender, when, subject, name, path.read_bytes(), message_id)
            dest = self.inbox / f"{when:%Y%m%d-%H%M}-{clerk.unit}-{tag}-{copy + 1}.eml"
            dest.write_bytes(data)
            out.append(Sent(clerk.unit, dest, name))
        return out

    def send_all(self, cast) -> list[Sent]:
        self.inbox.mkdir(parents=True, exist_ok=True)
        sent = []
        for clerk in cast:
            if not clerk.reports:
                continue
            path = self._fill(clerk, clerk.mistakes, "first")
            sent += self._send(clerk, path, clerk.days_before, "first")
            if clerk.corrected_days_before is not None:
                path = self._fill(clerk, Mistakes(), "corrected")
                sent += self._send(clerk, path, clerk.corrected_days_before, "corrected")
        shutil.rmtree(self.work, ignore_errors=True)
        return sent


def _templates(workspace, period: Period, lang: str) -> dict[str, Path]:
    from toolkit.template import generate_templates

    paths = generate_templates(workspace, period, lang=lang)
    return {unit.code: path for unit, path in zip(workspace.tasklist.units, paths)}


def _replies(workspace, period: Period, templates: dict, cast, seed: int, lang: str):
    """The counties fill and send; the office collects and validates. (sent, saved_with,
    collect report, validation report)."""
    from toolkit.collect import collect
    from toolkit.validation_run import run_validation

    inbox = workspace.root / "inbox" / period.code
    counties = _Counties(workspace, period, templates, inbox, seed, lang)
    sent = counties.send_all(cast)
    collected = collect(workspace, period, [inbox], lang=lang)
    return sent, counties.saved_with, collected, run_validation(workspace, period, lang=lang)


def standing(workspace, period: Period, today: dt.date):
    """Where each unit stands (``toolkit status``) on ``today``."""
    from toolkit import ledger
    from toolkit.status import unit_status
    from toolkit.store import opened

    with opened(workspace.db_path) as conn:
        subs = ledger.submissions(conn, period.code)
        counts = ledger.issue_counts(conn, [s.id for s in subs])
    return unit_status(workspace.tasklist.units, subs, counts, workspace.deadline(period), today)


def run_demo(out, period: str | Period = "2024H1", seed: int = 2024, lang: str = "zh",
             history: bool = True) -> DemoReport:
    """Run the whole loop in a fresh workspace at ``out``; see the module doc."""
    from toolkit.config import open_workspace
    from toolkit.feedback import write_feedback
    from toolkit.mailer import send_mail
    from toolkit.merge import merge
    from toolkit.tasklist import load_units

    root = Path(out).resolve()
    if not isinstance(period, Period):
        period = parse_period(period)
    prepare_folder(root, lang)
    write_config(root, load_units())
    workspace = open_workspace(root)
    report = DemoReport(workspace=root, period=period)
    result = allocate(workspace, period.year, seed, lang)
    report.allocations, report.allocation_warnings = result.stored, len(result.warnings)
    report.history = history_period(period) if history else None
    if report.history is not None:  # every unit reports, cleanly, and is merged
        earlier = report.history
        templates = _templates(workspace, earlier, lang)
        clean = tuple(Clerk(c.unit, "clean") for c in CAST)
        _replies(workspace, earlier, templates, clean, seed, lang)
        merge(workspace, earlier, lang=lang)
    templates = _templates(workspace, period, lang)
    report.templates = list(templates.values())
    report.mail["templates"] = send_mail(workspace, "templates", period, dry_run=True,
                                         lang=lang, today=period.end)
    report.sent, report.saved_with, report.collect, report.validation = _replies(
        workspace, period, templates, CAST, seed, lang)
    report.feedback = write_feedback(workspace, period, lang=lang, report=report.validation)
    report.prefecture_figures = report_prefecture(workspace, period, seed, lang)
    report.merge = merge(workspace, period, lang=lang)
    after = workspace.deadline(period) + dt.timedelta(days=1)
    report.standing = standing(workspace, period, after)
    for kind in ("feedback", "reminders", "summary"):
        report.mail[kind] = send_mail(workspace, kind, period, dry_run=True, lang=lang,
                                      today=after)
    return report
