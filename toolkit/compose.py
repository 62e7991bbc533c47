"""Compose the office's e-mail: templates, feedback, reminders (催报) and the summary.

Pure: every function takes plain values (the workbook bytes included) and
returns an ``email.message.EmailMessage``; nothing here touches disk or network
(``toolkit.mailer`` does). Subjects and bodies come from the catalogue, Chinese
by default.

What the e-mail package emits, and what we add (checked against Python's own
parser, and what Thunderbird sends):
- headers with Chinese text (Subject, the From name) as RFC 2047 encoded words,
  folded at 78 columns (``email.policy.SMTP``);
- the body as UTF-8 in base64, so no server needs 8BITMIME;
- the attachment's file name as RFC 2231 ``filename*=utf-8''...`` in
  Content-Disposition (the e-mail package's own output), and also as RFC 2047
  encoded words in the Content-Type ``name`` parameter, the form Outlook and
  many webmail readers fall back to; readers that know RFC 2231 prefer it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from toolkit.catalogue import t
from toolkit.errors import MailError
from toolkit.periods import Period

KINDS = ("templates", "feedback", "reminders", "summary")
NEAR_DAYS = 3  # a reminder this many days or fewer before the deadline is 催报, not 提醒
MAX_ISSUE_LINES = 40  # issues listed in a feedback body; the workbook holds them all
POLICY = email_policy.SMTP  # CRLF line ends, 78-column folding, RFC 2047 headers
MIME_TYPES = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
    ".xls": ("application", "vnd.ms-excel"),
    ".ods": ("application", "vnd.oasis.opendocument.spreadsheet"),
}
_EW_CHUNK = 42  # bytes of file name per encoded word: the line stays under 78 columns


@dataclass(frozen=True)
class Attachment:
    """A file to attach: the name the recipient sees and its exact bytes."""

    filename: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Letterhead:
    """What every message of one run shares: plan, period, deadline, sender, language."""

    plan: str
    period: Period
    deadline: dt.date
    sender: str  # [mail] from: "office@example.gov.cn" or "名称 <office@example.gov.cn>"
    lang: str = "zh"
    max_attachment_mb: float = 10.0
    today: dt.date = field(default_factory=dt.date.today)

    @property
    def address(self) -> str:
        return parseaddr(self.sender)[1] or self.sender

    @property
    def office(self) -> str:
        return parseaddr(self.sender)[0] or t("mail.office", self.lang)

    @property
    def domain(self) -> str:
        """The domain of every Message-ID: the office's, never this machine's name."""
        domain = self.address.rpartition("@")[2]
        return domain or "localhost"

    def date(self, day: dt.date) -> str:
        return t("mail.date", self.lang, year=day.year, month=day.month, day=day.day)

    def fields(self, **more) -> dict:
        return {"plan": self.plan, "period": self.period.label(self.lang),
                "deadline": self.date(self.deadline), "office": self.office, **more}


@dataclass(frozen=True)
class IssueLine:
    """One point to fix, as the issues table holds it."""

    severity: str  # error or warning
    message: str
    sheet: str | None = None
    cell: str | None = None


@dataclass(frozen=True)
class Standing:
    """Where a unit stands for the period: missing, invalid, rejected or ok."""

    unit_code: str
    state: str
    file: str = ""  # the original name of the current submission
    errors: int = 0  # error issues of the current submission
    reason: str = ""  # why a file was rejected


def deadline_stage(deadline: dt.date, today: dt.date) -> tuple[str, int]:
    """("upcoming" | "near" | "today" | "overdue", days to or past the deadline)."""
    left = (deadline - today).days
    if left < 0:
        return "overdue", -left
    if left == 0:
        return "today", 0
    return ("near" if left <= NEAR_DAYS else "upcoming"), left


def check_size(name: str, size: int, limit_mb: float, lang: str = "zh") -> None:
    """Refuse an attachment of ``size`` bytes over ``limit_mb`` megabytes (MailError)."""
    size_mb = size / (1024 * 1024)
    if size_mb > limit_mb:
        raise MailError(t("mail.error.too_large", lang, name=name, size=size_mb,
                          limit=limit_mb))


class _FoldedHeader(str):
    """A header value emitted exactly as folded here (the e-mail package's refolding of a
    long Content-Type with an encoded ``name`` mangles the media type)."""

    def __new__(cls, name: str, lines: list[str]):
        self = super().__new__(cls, " ".join(line.strip() for line in lines))
        self.name = name
        self._lines = lines
        return self

    def fold(self, *, policy) -> str:
        return f"{self.name}: " + policy.linesep.join(self._lines) + policy.linesep


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 base64 words, each whole characters and under 75 columns."""
    words, chunk = [], b""
    for ch in text:
        raw = ch.encode("utf-8")
        if len(chunk) + len(raw) > _EW_CHUNK:
            words.append(chunk)
            chunk = b""
        chunk += raw
    if chunk:
        words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words]


def _attach(msg: EmailMessage, attachment: Attachment) -> None:
    suffix = "." + attachment.filename.rpartition(".")[2].lower()
    maintype, subtype = MIME_TYPES.get(suffix, ("application", "octet-stream"))
    msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                       filename=attachment.filename)
    if attachment.filename.isascii():
        return
    part = list(msg.iter_attachments())[-1]
    words = _encoded_words(attachment.filename)
    lines = [f"{maintype}/{subtype};", f' name="{words[0]}']
    lines += [f" {w}" for w in words[1:]]
    lines[-1] += '"'
    part.replace_header("Content-Type", _FoldedHeader("Content-Type", lines))


def message_id(kind: str, period: str, unit_code: str | None, domain: str) -> str:
    """``<kind.period.unit.random@office-domain>``: unique, and short enough for one line."""
    return f"<{kind}.{period}.{unit_code or 'all'}.{secrets.token_hex(8)}@{domain}>"


def _message(head: Letterhead, kind: str, unit_code: str | None, to, subject: str,
             body: str, attachments=(), in_reply_to: str | None = None,
             now: dt.datetime | None = None) -> EmailMessage:
    for attachment in attachments:
        check_size(attachment.filename, attachment.size, head.max_attachment_mb, head.lang)
    now = now or dt.datetime.now().astimezone()
    msg = EmailMessage(policy=POLICY)
    msg["From"] = formataddr((head.office, head.address))
    msg["Reply-To"] = head.address
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(kind, head.period.code, unit_code, head.domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["X-Report-Kind"] = kind
    msg["X-Report-Period"] = head.period.code
    if unit_code:
        msg["X-Report-Unit"] = unit_code
    signature = t("mail.signature", head.lang, office=head.office, date=head.date(now.date()))
    msg.set_content(f"{body}\n\n{signature}\n", charset="utf-8", cte="base64")
    for attachment in attachments:
        _attach(msg, attachment)
    return msg


def template_message(head: Letterhead, unit, to, attachment: Attachment, *,
                     now: dt.datetime | None = None) -> EmailMessage:
    """Each unit its own template, to the unit's contacts."""
    fields = head.fields(unit=unit.name)
    return _message(head, "templates", unit.code, to, t("mail.template.subject", head.lang,
                    **fields), t("mail.template.body", head.lang, **fields), [attachment],
                    now=now)


def issue_lines(issues, lang: str = "zh", limit: int = MAX_ISSUE_LINES) -> list[str]:
    """The plain-language list of what to fix: errors first, then points to confirm."""
    ordered = sorted(issues, key=lambda i: i.severity != "error")
    lines = []
    for n, issue in enumerate(ordered[:limit], 1):
        level = "error" if issue.severity == "error" else "warning"
        severity = t(f"mail.feedback.severity.{level}", lang)
        if issue.sheet and issue.cell:
            where = t("mail.feedback.where", lang, sheet=issue.sheet, cell=issue.cell)
        elif issue.sheet:
            where = t("mail.feedback.where_sheet", lang, sheet=issue.sheet)
        elif issue.cell:
            where = t("mail.feedback.where_cell", lang, cell=issue.cell)
        else:
            where = ""
        key = "mail.feedback.line" if where else "mail.feedback.line_nowhere"
        lines.append(t(key, lang, n=n, severity=severity, where=where, message=issue.message))
    if len(ordered) > limit:
        lines.append(t("mail.feedback.more", lang, count=len(ordered) - limit))
    return lines


def feedback_message(head: Letterhead, unit, to, attachment: Attachment, issues, *,
                     in_reply_to: str | None = None,
                     now: dt.datetime | None = None) -> EmailMessage:
    """The unit's annotated workbook and, in the body, what to fix."""
    issues = list(issues)
    errors = sum(1 for i in issues if i.severity == "error")
    fields = head.fields(unit=unit.name, errors=errors, warnings=len(issues) - errors)
    lines = issue_lines(issues, head.lang) or [t("mail.feedback.none", head.lang)]
    stage, _ = deadline_stage(head.deadline, head.today)
    resubmit = "asap" if stage == "overdue" else "before"
    body = "\n\n".join([t("mail.feedback.intro", head.lang, **fields), "\n".join(lines),
                        t("mail.feedback.explain", head.lang),
                        t(f"mail.feedback.resubmit.{resubmit}", head.lang, **fields)])
    return _message(head, "feedback", unit.code, to,
                    t("mail.feedback.subject", head.lang, **fields), body, [attachment],
                    in_reply_to=in_reply_to, now=now)


def reminder_subject(head: Letterhead, unit, standing: Standing) -> str:
    stage, _ = deadline_stage(head.deadline, head.today)
    state = "missing" if standing.state == "missing" else "invalid"
    stage = "near" if stage == "today" else stage
    return t(f"mail.reminder.subject.{state}.{stage}", head.lang, **head.fields(unit=unit.name))


def reminder_message(head: Letterhead, unit, to, standing: Standing,
                     attachment: Attachment | None = None, *, in_reply_to: str | None = None,
                     now: dt.datetime | None = None) -> EmailMessage:
    """催报: a unit whose report is missing, rejected or did not pass the checks.

    The wording follows the deadline: a reminder while it is far, 催报 as it nears,
    overdue once it has passed. A missing unit gets its template again when given.
    """
    stage, days = deadline_stage(head.deadline, head.today)
    fields = head.fields(unit=unit.name, today=head.date(head.today), days=days,
                         file=standing.file, errors=standing.errors)
    paragraphs = [f"{unit.name}：" if head.lang == "zh" else f"{unit.name}:"]
    state = standing.state if standing.state in ("invalid", "rejected") else "missing"
    opening = t(f"mail.reminder.state.{state}", head.lang, **fields)
    if state == "rejected" and standing.reason:
        opening += "\n" + t("mail.reminder.reason", head.lang, reason=standing.reason)
    paragraphs.append(opening)
    paragraphs.append(t(f"mail.reminder.stage.{stage}", head.lang, **fields))
    if state == "invalid":
        action = "invalid"
    else:
        action = "template" if attachment else "missing"
    paragraphs.append(t(f"mail.reminder.action.{action}", head.lang))
    return _message(head, "reminders", unit.code, to, reminder_subject(head, unit, standing),
                    "\n\n".join(paragraphs), [attachment] if attachment else [],
                    in_reply_to=in_reply_to, now=now)


def summary_message(head: Letterhead, to, attachments, standings, unit_names,
                    *, now: dt.datetime | None = None) -> EmailMessage:
    """The consolidated workbook to the leadership, with who reported and who did not.

    ``attachments``: the consolidated workbook, and its lineage workbook when merge
    wrote one."""
    standings = list(standings)
    missing = [s for s in standings if s.state == "missing"]
    failed = [s for s in standings if s.state in ("invalid", "rejected")]
    fields = head.fields(expected=len(standings), reported=len(standings) - len(missing),
                         passed=len(standings) - len(missing) - len(failed),
                         failed=len(failed), missing=len(missing))
    body = t("mail.summary.body", head.lang, **fields)
    sep = t("mail.list_sep", head.lang)
    for key, group in (("mail.summary.missing_units", missing),
                       ("mail.summary.failed_units", failed)):
        if group:
            names = sep.join(unit_names.get(s.unit_code, s.unit_code) for s in group)
            body += "\n" + t(key, head.lang, names=names)
    return _message(head, "summary", None, to, t("mail.summary.subject", head.lang, **fields),
                    body, list(attachments), now=now)


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent and as written to an .eml file (CRLF line ends)."""
    return msg.as_bytes(policy=POLICY)
