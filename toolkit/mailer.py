"""Send the office's e-mail, or write it to the outbox: the I/O edge of ``toolkit.compose``.

``send_mail(workspace, kind, period)`` finds what each message carries (the
templates, feedback workbooks and consolidated workbook under
``outputs/<PERIOD>/``, the ledger and issues in the database), composes every
message first — so an oversized attachment stops the run before anything is
sent — and then hands them to one of two transports:

- ``smtp``: the server in ``[smtp]`` of toolkit.toml (security none, starttls or
  ssl; the password read from the environment variable ``password_env`` names);
- ``outbox``: with ``dry_run``, or when no host is configured, each message is
  written atomically as an ``.eml`` file to ``outputs/<PERIOD>/outbox/``.

Each message is recorded in ``mail_log`` only once the server accepted it (or
the file is in place), one commit per message: what was not sent is never
marked sent. A message already recorded for the same transport is not sent
again unless ``resend``: templates once per unit and address; feedback and the
summary once per workbook (by SHA-256) and address; reminders once per wording
(a reminder, 催报 as the deadline nears, overdue) and address since the unit's
last submission.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from toolkit import compose
from toolkit.catalogue import t
from toolkit.compose import Attachment, IssueLine, Letterhead, Standing
from toolkit.errors import MailError
from toolkit.periods import Period

SMTP, OUTBOX = "smtp", "outbox"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
# A unit counts as reported while its current submission is one of these.
REPORTED = ("valid", "warnings", "received")
# Statuses a submission keeps while it is the unit's current one.
CURRENT = ("valid", "warnings", "received", "invalid", "rejected")
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


@dataclass(frozen=True)
class Outcome:
    """What became of one message (or of one unit that got none)."""

    kind: str
    unit_code: str | None
    unit_name: str
    recipients: tuple[str, ...]
    status: str  # sent, written, skipped, not_sent, failed
    detail: str = ""
    path: str = ""  # the .eml file, for the outbox
    message_id: str = ""
    refused: tuple[str, ...] = ()  # recipients the server refused (the rest got it)


@dataclass
class MailReport:
    kind: str
    period: str
    transport: str
    outbox: Path | None
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed" or o.refused]

    def raise_for_failures(self, lang: str = "zh") -> None:
        """MailError naming every message that did not reach all its recipients."""
        if self.failed:
            units = "; ".join(f"{o.unit_code or o.unit_name} ({o.detail})" for o in self.failed)
            raise MailError(t("mail.error.failed", lang, count=len(self.failed), units=units))


@dataclass
class _Draft:
    unit_code: str | None
    unit_name: str
    recipients: tuple[str, ...]
    build: Callable  # (to) -> EmailMessage
    attachments: tuple[Attachment, ...] = ()
    subject: str = ""  # reminders: the wording, part of what counts as "already sent"
    since: dt.datetime | None = None  # reminders: the unit's last submission


# -- what there is to send --------------------------------------------------------------


def _unit_files(folder: Path, codes) -> tuple[dict[str, Path], list[str]]:
    """Workbooks in ``folder`` by unit code (the name's first ``_`` part), and the names
    that begin with no known code. The newest file wins when a unit has several."""
    found: dict[str, Path] = {}
    unknown = []
    if not folder.is_dir():
        return found, unknown
    for path in sorted(folder.iterdir()):
        if (not path.is_file() or path.name.startswith((".", "~$"))
                or path.suffix.lower() not in WORKBOOK_SUFFIXES):
            continue
        code = path.name.split("_", 1)[0]
        if code not in codes:
            unknown.append(path.name)
        elif code not in found or path.stat().st_mtime > found[code].stat().st_mtime:
            found[code] = path
    return found, unknown


def _instant(text) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else value.astimezone()


def standings(conn, period: Period, units) -> dict[str, Standing]:
    """Where each unit stands for ``period``, from the submissions ledger.

    A unit has reported when its current (not superseded) submission is valid,
    has warnings only, or awaits validation (received). Otherwise the latest
    invalid or rejected one speaks for it; with neither it is missing.
    """
    rows = conn.execute(
        "SELECT id, unit_code, status, superseded_by, original_name, reason FROM submissions "
        "WHERE period = ? AND unit_code IS NOT NULL ORDER BY id", (period.code,)).fetchall()
    out = {}
    for unit in units:
        mine = [r for r in rows if r["unit_code"] == unit.code and r["status"] in CURRENT
                and r["superseded_by"] is None]
        if any(r["status"] in REPORTED for r in mine):
            out[unit.code] = Standing(unit.code, "ok")
        elif mine:
            last = mine[-1]
            errors = conn.execute("SELECT COUNT(*) FROM issues WHERE submission_id = ? AND "
                                  "severity = 'error'", (last["id"],)).fetchone()[0]
            out[unit.code] = Standing(unit.code, last["status"], last["original_name"] or "",
                                      errors, last["reason"] or "")
        else:
            out[unit.code] = Standing(unit.code, "missing")
    return out


def _last_received(conn, period: Period, unit_code: str) -> dt.datetime | None:
    rows = conn.execute("SELECT received_at FROM submissions WHERE period = ? AND unit_code = ?",
                        (period.code, unit_code)).fetchall()
    times = [x for x in (_instant(r[0]) for r in rows) if x is not None]
    return max(times) if times else None


def _current_submission(conn, period: Period, unit_code: str):
    """The unit's current (not superseded) submission row: id and received_at, or None."""
    return conn.execute(
        "SELECT id, received_at FROM submissions WHERE period = ? AND unit_code = ? AND "
        f"superseded_by IS NULL AND status IN ({','.join('?' * len(CURRENT))}) "
        "ORDER BY id DESC LIMIT 1", (period.code, unit_code, *CURRENT)).fetchone()


def _open_issues(conn, submission_id: int) -> list[IssueLine]:
    """What the unit still has to fix or explain: errors and warnings (an explained
    warning was recorded as info, and is not asked about again)."""
    issues = conn.execute("SELECT severity, message, sheet, cell FROM issues "
                          "WHERE submission_id = ? AND severity IN ('error', 'warning') "
                          "ORDER BY rowid", (submission_id,)).fetchall()
    return [IssueLine(i["severity"], i["message"], i["sheet"], i["cell"]) for i in issues]


def _written_before(path: Path, moment: dt.datetime | None) -> bool:
    """The file was written before ``moment`` (so it cannot be about what came then)."""
    if moment is None:
        return False
    made = dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    return made < moment


def _thread(conn, period: Period, unit_code: str, transport: str) -> str | None:
    """The Message-ID of the unit's template message, so later messages join its thread."""
    row = conn.execute("SELECT message_id FROM mail_log WHERE kind = 'templates' AND period = ? "
                       "AND unit_code = ? AND transport = ? ORDER BY id DESC LIMIT 1",
                       (period.code, unit_code, transport)).fetchone()
    return row[0] if row else None


def _attachment(path: Path, head: Letterhead) -> Attachment:
    compose.check_size(path.name, path.stat().st_size, head.max_attachment_mb, head.lang)
    return Attachment(path.name, path.read_bytes())


def _in_scope(plan):
    return [u for u in plan.units if plan.indicators_for(u.code) or plan.tasks_for(u.code)]


class _Gather:
    """Drafts for one kind of mail, and notes for units that get none."""

    def __init__(self, workspace, conn, kind: str, period: Period, head: Letterhead,
                 transport: str):
        self.workspace, self.conn, self.kind, self.period = workspace, conn, kind, period
        self.head, self.transport, self.lang = head, transport, head.lang
        self.plan = workspace.tasklist
        self.folder = workspace.period_dir(period)
        self.items: list[_Draft | Outcome] = []

    def note(self, unit, detail: str, recipients=()) -> None:
        self.items.append(Outcome(self.kind, unit.code, unit.name, tuple(recipients),
                                  "not_sent", detail))

    def contacts(self, unit) -> tuple[str, ...] | None:
        """The unit's valid addresses, or None (with a note) when it has none to use."""
        emails = tuple(e.strip() for e in unit.emails if e and e.strip())
        if not emails:
            self.note(unit, t("mail.note.no_contacts", self.lang))
            return None
        bad = [e for e in emails if not _ADDRESS.match(e)]
        if bad:
            self.note(unit, t("mail.note.bad_address", self.lang, addresses=", ".join(bad)),
                      emails)
            return None
        return emails

    def templates(self) -> None:
        folder = self.folder / "templates"
        files, unknown = _unit_files(folder, {u.code for u in self.plan.units})
        if not files:
            raise MailError(t("mail.error.no_templates", self.lang, folder=folder,
                              period=self.period.code))
        self._unknown(unknown)
        for unit in _in_scope(self.plan):
            if unit.code not in files:
                self.note(unit, t("mail.note.no_template", self.lang))
                continue
            to = self.contacts(unit)
            if to is None:
                continue
            attachment = _attachment(files[unit.code], self.head)
            self.items.append(_Draft(
                unit.code, unit.name, to, attachments=(attachment,),
                build=lambda rcpt, u=unit, a=attachment: compose.template_message(
                    self.head, u, rcpt, a)))

    def feedback(self) -> None:
        folder = self.folder / "feedback"
        files, unknown = _unit_files(folder, {u.code for u in self.plan.units})
        if not files:
            current = standings(self.conn, self.period, self.plan.units)
            if any(s.state == "invalid" for s in current.values()):
                raise MailError(t("mail.error.no_feedback", self.lang, folder=folder,
                                  period=self.period.code))
        self._unknown(unknown)
        for unit in self.plan.units:
            if unit.code not in files:
                continue
            to = self.contacts(unit)
            if to is None:
                continue
            sub = _current_submission(self.conn, self.period, unit.code)
            issues = _open_issues(self.conn, sub["id"]) if sub else []
            if not issues:  # the workbook is about a report since replaced, or one that passed
                self.note(unit, t("mail.note.stale_feedback", self.lang,
                                  name=files[unit.code].name, period=self.period.code), to)
                continue
            if _written_before(files[unit.code], _instant(sub["received_at"])):
                self.note(unit, t("mail.note.old_feedback", self.lang,
                                  name=files[unit.code].name, period=self.period.code), to)
                continue
            attachment = _attachment(files[unit.code], self.head)
            thread = _thread(self.conn, self.period, unit.code, self.transport)
            self.items.append(_Draft(
                unit.code, unit.name, to, attachments=(attachment,),
                build=lambda rcpt, u=unit, a=attachment, i=issues, th=thread:
                    compose.feedback_message(self.head, u, rcpt, a, i, in_reply_to=th)))

    def reminders(self) -> None:
        units = _in_scope(self.plan)
        current = standings(self.conn, self.period, units)
        templates, _ = _unit_files(self.folder / "templates", {u.code for u in units})
        for unit in units:
            standing = current[unit.code]
            if standing.state == "ok":
                continue
            to = self.contacts(unit)
            if to is None:
                continue
            attachments = ()
            if standing.state == "missing" and unit.code in templates:
                attachments = (_attachment(templates[unit.code], self.head),)
            thread = _thread(self.conn, self.period, unit.code, self.transport)
            self.items.append(_Draft(
                unit.code, unit.name, to, attachments=attachments,
                subject=compose.reminder_subject(self.head, unit, standing),
                since=_last_received(self.conn, self.period, unit.code),
                build=lambda rcpt, u=unit, s=standing, a=attachments, th=thread:
                    compose.reminder_message(self.head, u, rcpt, s, a[0] if a else None,
                                             in_reply_to=th)))

    def summary(self) -> None:
        path = self.folder / f"consolidated_{self.period.code}.xlsx"
        if not path.is_file():
            raise MailError(t("mail.error.no_summary", self.lang, path=path,
                              period=self.period.code))
        to = tuple(e.strip() for e in self.workspace.config.mail.summary_to if e.strip())
        if not to:
            raise MailError(t("mail.error.no_summary_to", self.lang))
        bad = [e for e in to if not _ADDRESS.match(e)]
        if bad:
            raise MailError(t("mail.note.bad_address", self.lang, addresses=", ".join(bad)))
        units = _in_scope(self.plan)
        current = standings(self.conn, self.period, units)
        names = {u.code: u.name for u in units}
        from toolkit.summary import lineage_path

        lineage = lineage_path(path)  # beside the summary after a township run
        files = (path, lineage) if lineage.is_file() else (path,)
        attached = tuple(_attachment(f, self.head) for f in files)
        self.items.append(_Draft(
            None, t("mail.leadership", self.lang), to, attachments=attached,
            build=lambda rcpt: compose.summary_message(self.head, rcpt, attached,
                                                       current.values(), names)))

    def _unknown(self, names) -> None:
        for name in names:
            self.items.append(Outcome(self.kind, None, name, (), "not_sent",
                                      t("mail.note.unknown_unit", self.lang, name=name)))


# -- what was sent already --------------------------------------------------------------


def _sha(attachments) -> str | None:
    return ",".join(a.sha256 for a in attachments) or None


def _already_sent(conn, kind: str, period: Period, draft: _Draft, transport: str) -> set[str]:
    """Addresses (lower case) this message has reached already over ``transport``."""
    rows = conn.execute(
        "SELECT recipients, subject, attachment_sha256, sent_at FROM mail_log WHERE kind = ? "
        "AND period = ? AND unit_code IS ? AND transport = ?",
        (kind, period.code, draft.unit_code, transport)).fetchall()
    covered: set[str] = set()
    sha = _sha(draft.attachments)
    for row in rows:
        if kind in ("feedback", "summary") and row["attachment_sha256"] != sha:
            continue
        if kind == "reminders":
            if row["subject"] != draft.subject:
                continue
            sent = _instant(row["sent_at"])
            if draft.since and sent and sent < draft.since:
                continue
        covered.update(a.strip().lower() for a in row["recipients"].split(",") if a.strip())
    return covered


def _record(conn, kind: str, period: Period, unit_code, recipients, msg, attachments,
            transport: str) -> None:
    conn.execute(
        "INSERT INTO mail_log (kind, period, unit_code, recipients, subject, message_id, "
        "attachment_sha256, sent_at, transport) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, period.code, unit_code, ", ".join(recipients), str(msg["Subject"]),
         str(msg["Message-ID"]), _sha(attachments),
         dt.datetime.now().astimezone().isoformat(timespec="seconds"), transport))
    conn.commit()


# -- transports -------------------------------------------------------------------------


def _outbox_path(folder: Path, kind: str, unit_code: str | None) -> Path:
    stem = f"{kind}_{unit_code or 'all'}"
    path = folder / f"{stem}.eml"
    n = 2
    while path.exists():
        path = folder / f"{stem}_{n}.eml"
        n += 1
    return path


def _connect(settings, head: Letterhead, ssl_context, timeout: float):
    """An open, logged-in SMTP connection, or a MailError saying why not."""
    lang = head.lang
    password = None
    if settings.user:
        if not settings.password_env:
            raise MailError(t("mail.error.no_password", lang))
        password = settings.password()
    where = {"host": settings.host, "port": settings.port}
    context = ssl_context or ssl.create_default_context()
    try:
        if settings.security == "ssl":
            server = smtplib.SMTP_SSL(settings.host, settings.port, local_hostname=head.domain,
                                      timeout=timeout, context=context)
        else:
            server = smtplib.SMTP(settings.host, settings.port, local_hostname=head.domain,
                                  timeout=timeout)
    except ssl.SSLError as exc:
        raise MailError(t("mail.error.tls", lang, reason=exc.reason or exc, **where)) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(t("mail.error.unreachable", lang, reason=_reason(exc), **where)) from None
    try:
        if settings.security == "starttls":
            try:
                server.starttls(context=context)
            except (ssl.SSLError, smtplib.SMTPNotSupportedError, smtplib.SMTPResponseException) \
                    as exc:
                raise MailError(t("mail.error.tls", lang, reason=_reason(exc), **where)) from None
        if settings.user:
            try:
                server.login(settings.user, password)
            except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError,
                    smtplib.SMTPResponseException) as exc:
                raise MailError(t("mail.error.login", lang, user=settings.user,
                                  reason=_reason(exc), env=settings.password_env)) from None
    except MailError:
        _close(server)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        _close(server)
        raise MailError(t("mail.error.unreachable", lang, reason=_reason(exc), **where)) from None
    return server


def _reason(exc) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(_reason(smtplib.SMTPResponseException(code, msg))
                         for code, msg in exc.recipients.values())
    return str(exc) or type(exc).__name__


def _close(server) -> None:
    try:
        server.quit()
    except (OSError, smtplib.SMTPException):
        server.close()


# -- the run ----------------------------------------------------------------------------


def letterhead(workspace, period: Period, lang: str | None = None,
               today: dt.date | None = None) -> Letterhead:
    config = workspace.config
    return Letterhead(plan=workspace.tasklist.title, period=period,
                      deadline=workspace.deadline(period), sender=config.mail.sender,
                      lang=lang or config.lang, max_attachment_mb=config.mail.max_attachment_mb,
                      today=today or dt.date.today())


def send_mail(workspace, kind: str, period: Period, *, dry_run: bool = False,
              resend: bool = False, lang: str | None = None, today: dt.date | None = None,
              ssl_context: ssl.SSLContext | None = None, timeout: float = 30,
              on_outcome: Callable[[Outcome], None] | None = None) -> MailReport:
    """Send (or write to the outbox) one kind of mail for ``period``; see the module doc.

    ``on_outcome`` is called for each message as it goes. A refused login or an
    unreachable server raises MailError before anything is sent; a server lost
    mid-run raises MailError after recording what it accepted; a refused recipient
    is an outcome of its message (see ``MailReport.raise_for_failures``).
    """
    from toolkit.store import connect

    head = letterhead(workspace, period, lang, today)
    if kind not in compose.KINDS:
        raise MailError(t("mail.error.kind", head.lang, kind=kind))
    settings = workspace.config.smtp
    transport = OUTBOX if dry_run or not settings.host else SMTP
    outbox = workspace.period_dir(period) / "outbox"
    report = MailReport(kind, period.code, transport, outbox if transport == OUTBOX else None)

    def emit(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    conn = connect(workspace.db_path)
    try:
        gather = _Gather(workspace, conn, kind, period, head, transport)
        getattr(gather, kind)()
        items = []  # in unit order; every message composed before anything goes out
        for item in gather.items:
            if isinstance(item, Outcome):
                items.append(item)
                continue
            covered = set() if resend else _already_sent(conn, kind, period, item, transport)
            to = tuple(a for a in item.recipients if a.lower() not in covered)
            if to:
                items.append((item, to, item.build(to)))
            else:
                items.append(Outcome(kind, item.unit_code, item.unit_name, item.recipients,
                                     "skipped", t("mail.note.skipped", head.lang)))
        if transport == OUTBOX:
            _write_outbox(conn, kind, period, items, outbox, emit)
        else:
            _send_smtp(conn, kind, period, items, settings, head, ssl_context, timeout, emit,
                       report)
    finally:
        conn.close()
    return report


def _write_outbox(conn, kind, period, items, folder: Path, emit) -> None:
    from toolkit.atomic import write_bytes

    for item in items:
        if isinstance(item, Outcome):
            emit(item)
            continue
        draft, to, msg = item
        msg["X-Unsent"] = "1"  # Outlook opens such a file as a draft, ready to send
        path = write_bytes(_outbox_path(folder, kind, draft.unit_code),
                           compose.message_bytes(msg))
        _record(conn, kind, period, draft.unit_code, to, msg, draft.attachments, OUTBOX)
        emit(Outcome(kind, draft.unit_code, draft.unit_name, to, "written", path=str(path),
                     message_id=str(msg["Message-ID"])))


def _send_smtp(conn, kind, period, items, settings, head, ssl_context, timeout, emit,
               report) -> None:
    lang = head.lang
    server = None
    if any(not isinstance(item, Outcome) for item in items):
        server = _connect(settings, head, ssl_context, timeout)
    sent = 0
    try:
        for item in items:
            if isinstance(item, Outcome):
                emit(item)
                continue
            draft, to, msg = item
            try:
                refused = server.sendmail(head.address, list(to), compose.message_bytes(msg))
            except smtplib.SMTPRecipientsRefused as exc:
                emit(Outcome(kind, draft.unit_code, draft.unit_name, to, "failed",
                             t("mail.error.recipients", lang,
                               addresses=", ".join(exc.recipients), reason=_reason(exc)),
                             refused=tuple(exc.recipients)))
                continue
            except smtplib.SMTPSenderRefused as exc:
                raise _attach_report(MailError(t("mail.error.sender", lang, sender=head.address,
                                                 reason=_reason(exc))), report) from None
            except smtplib.SMTPDataError as exc:
                emit(Outcome(kind, draft.unit_code, draft.unit_name, to, "failed",
                             t("mail.error.data", lang, reason=_reason(exc))))
                continue
            except (OSError, smtplib.SMTPException) as exc:
                raise _attach_report(MailError(t(
                    "mail.error.disconnected", lang, host=settings.host, port=settings.port,
                    reason=_reason(exc), sent=sent)), report) from None
            accepted = tuple(a for a in to if a not in refused)
            _record(conn, kind, period, draft.unit_code, accepted, msg, draft.attachments, SMTP)
            sent += 1
            detail = ""
            if refused:
                detail = t("mail.note.partial", lang, addresses=", ".join(refused))
            emit(Outcome(kind, draft.unit_code, draft.unit_name, accepted, "sent", detail,
                         message_id=str(msg["Message-ID"]), refused=tuple(refused)))
    finally:
        if server is not None:
            _close(server)


def _attach_report(error: MailError, report: MailReport) -> MailError:
    error.report = report
    return error
