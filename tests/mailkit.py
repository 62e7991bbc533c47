"""Helpers for the mail tests, and for any test that needs what a county sends back.

``county_reply`` builds the reply a county clerk sends to a message of the
office: From the unit's contact, Subject ``Re: <original>``, In-Reply-To and
References the original Message-ID, and the filled workbook attached — encoded
either as Thunderbird and Python do (RFC 2231 file name) or as Outlook and
Foxmail do (RFC 2047 encoded words in both ``name`` and ``filename``, optionally
in GBK).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import email
import json
import sqlite3
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

import pytest

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the units the mail tests write to, and their contacts
CONTACTS = {"653101": ["kashi@example.cn", "kashi.2@example.cn"],
            "653121": ["shufu@example.cn"],
            "653122": ["shule@example.cn"]}
NAMES = {"653101": "喀什市", "653121": "疏附县", "653122": "疏勒县"}


def write_workbook(path, text: str = "填报内容", rows: int = 3) -> Path:
    """A small real .xlsx (xlsxwriter) at ``path``; ``rows`` makes it bigger."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                               "strings_to_urls": False,
                                               "strings_to_numbers": False})
    sheet = workbook.add_worksheet("指标填报")
    for row in range(rows):
        sheet.write_string(row, 0, f"{text} {row}")
        sheet.write_number(row, 1, row * 1.5)
    workbook.close()
    return path


def write_config(root, *, units=None, smtp=None, summary_to=(), sender="office@example.gov.cn",
                 max_attachment_mb=None, deadlines=None) -> Path:
    """A toolkit.toml in ``root``: units {code: [emails]}, smtp {key: value}."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lines = ["[mail]", f'from = "{sender}"',
             "summary_to = [" + ", ".join(f'"{a}"' for a in summary_to) + "]"]
    if max_attachment_mb is not None:
        lines.append(f"max_attachment_mb = {max_attachment_mb}")
    if smtp:
        lines.append("[smtp]")
        for key, value in smtp.items():
            lines.append(f"{key} = {json.dumps(value)}")
    if deadlines:
        lines.append("[periods]")
        for code, day in deadlines.items():
            lines.append(f'"{code}" = {{ deadline = {day} }}')
    for code, emails in (units or {}).items():
        lines += ["[[units]]", f'code = "{code}"',
                  "emails = [" + ", ".join(f'"{a}"' for a in emails) + "]"]
    path = root / "toolkit.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_submission(db_path, period: str, unit_code: str | None, status: str, *,
                   name: str = "报表.xlsx", received_at: str | None = None, reason: str = "",
                   issues=(), superseded_by: int | None = None) -> int:
    """A row of the submissions ledger, with its issues (severity, sheet, cell, message)."""
    from toolkit.store import connect

    conn = connect(db_path)
    try:
        received_at = received_at or dt.datetime.now().astimezone().isoformat(timespec="seconds")
        cur = conn.execute(
            "INSERT INTO submissions (period, sha256, size, original_name, source, received_at, "
            "unit_code, status, reason, superseded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (period, uuid.uuid4().hex, 1000, name, f"inbox/{name}",
             received_at, unit_code, status, reason, superseded_by))
        sid = cur.lastrowid
        for severity, sheet, cell, message in issues:
            conn.execute("INSERT INTO issues (submission_id, severity, code, sheet, cell, "
                         "message) VALUES (?, ?, ?, ?, ?, ?)",
                         (sid, severity, "test", sheet, cell, message))
        conn.commit()
        return sid
    finally:
        conn.close()


def supersede(db_path, old_id: int, new_id: int) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE submissions SET status = 'superseded', superseded_by = ? "
                     "WHERE id = ?", (new_id, old_id))
    conn.close()


def mail_log(db_path) -> list[dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM mail_log ORDER BY id")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def parse(data: bytes | str | Path) -> EmailMessage:
    """An .eml file (path) or message bytes, parsed by the e-mail package."""
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    return email.message_from_bytes(data, policy=policy.default)


def attachments(msg: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in msg.iter_attachments()}


def addresses(header) -> list[str]:
    return [a.addr_spec for a in header.addresses] if header is not None else []


def _encoded_words(text: str, charset: str) -> str:
    """RFC 2047 words of whole characters, folded onto continuation lines."""
    words, chunk = [], b""
    for ch in text:
        raw = ch.encode(charset)
        if len(chunk) + len(raw) > 36:
            words.append(chunk)
            chunk = b""
        chunk += raw
    words.append(chunk)
    return "\r\n\t".join(f"=?{charset.upper()}?B?{base64.b64encode(w).decode('ascii')}?="
                          for w in words)


def _base64_lines(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").rstrip("\n").replace("\n", "\r\n")


def county_reply(original, workbook, *, sender: str | None = None, filename: str | None = None,
                 body: str = "您好，附件是我单位填报的报表，请查收。",
                 date: dt.datetime | None = None, style: str = "rfc2231",
                 charset: str = "utf-8") -> bytes:
    """The reply a county sends to ``original`` (a message, its bytes or an .eml path),
    carrying ``workbook`` (a path, or bytes with ``filename``).

    style "rfc2231": the file name as Python and Thunderbird write it; style "rfc2047":
    encoded words in both Content-Type name and Content-Disposition filename, as Outlook
    and Foxmail write it, in ``charset`` (utf-8 or gbk).
    """
    if not isinstance(original, EmailMessage):
        original = parse(original)
    if isinstance(workbook, (str, Path)):
        filename = filename or Path(workbook).name
        data = Path(workbook).read_bytes()
    else:
        data = bytes(workbook)
        if not filename:
            raise ValueError("give the attachment's filename with workbook bytes")
    sender = sender or addresses(original["To"])[0]
    office = original["Reply-To"] or original["From"]
    office = parseaddr(str(office))[1]
    subject = f"Re: {original['Subject']}"
    original_id = str(original["Message-ID"])
    date = date or dt.datetime.now().astimezone()
    domain = sender.rpartition("@")[2] or "localhost"
    quoted = "\n".join("> " + line for line in
                       original.get_body(("plain",)).get_content().splitlines())

    if style == "rfc2231":
        reply = EmailMessage(policy=policy.SMTP)
        reply["From"] = sender
        reply["To"] = office
        reply["Subject"] = subject
        reply["Date"] = format_datetime(date)
        reply["Message-ID"] = make_msgid(domain=domain)
        reply["In-Reply-To"] = original_id
        reply["References"] = original_id
        reply.set_content(f"{body}\n\n{quoted}\n", charset="utf-8", cte="base64")
        reply.add_attachment(data, maintype="application", subtype=XLSX_TYPE.split("/")[1],
                             filename=filename)
        return reply.as_bytes()
    if style != "rfc2047":
        raise ValueError(f"style must be rfc2231 or rfc2047, not {style!r}")
    boundary = "----=_NextPart_000_0001_01DA0000.00000000"
    text = _base64_lines(f"{body}\n\n{quoted}\n".replace("\n", "\r\n").encode(charset))
    payload = _base64_lines(data)
    name = _encoded_words(filename, charset)
    lines = [
        f"From: {sender}",
        f"To: {office}",
        f"Subject: {_encoded_words(subject, charset)}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {make_msgid(domain=domain)}",
        f"In-Reply-To: {original_id}",
        f"References: {original_id}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "X-Mailer: Foxmail 7.2.25.228[cn]",
        "",
        "This is a multi-part message in MIME format.",
        "",
        f"--{boundary}",
        f'Content-Type: text/plain; charset="{charset}"',
        "Content-Transfer-Encoding: base64",
        "",
        text,
        f"--{boundary}",
        f'Content-Type: {XLSX_TYPE};',
        f'\tname="{name}"',
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment;",
        f'\tfilename="{name}"',
        "",
        payload,
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def write_reply(dest, original, workbook, **kwargs) -> Path:
    """``county_reply`` saved as an .eml file at ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(county_reply(original, workbook, **kwargs))
    return dest


_TASKLISTS: dict = {}


@pytest.fixture
def cached_tasklists(monkeypatch):
    """Parse the bundled task list once per test run, not once per workspace (the pure-Python
    YAML parser takes most of a second); the same file gives the same list."""
    from toolkit import tasklist

    real = tasklist.load_tasklist

    def load(path, units=None, **kwargs):
        shape = None if units is None else tuple((u.code, u.name, u.kind) for u in units)
        key = (str(path), shape, tuple(sorted(kwargs.items())))
        if key not in _TASKLISTS:
            _TASKLISTS[key] = real(path, units=units, **kwargs)
        cached = _TASKLISTS[key]
        return cached if units is None else dataclasses.replace(cached, units=tuple(units))

    monkeypatch.setattr(tasklist, "load_tasklist", load)
