"""Files a collect run receives, built small: filled templates, messages, and hostile files."""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import hashlib
import io
import os
import struct
import warnings
import zipfile
from email.message import EmailMessage
from pathlib import Path

from toolkit.config import open_workspace
from toolkit.periods import parse_period

EMAILS = {"653101": "kashi@example.cn", "653122": "shule@example.cn"}
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


_PLANS: dict = {}


def make_workspace(root: Path, deadline: str = "2024-07-10"):
    """A workspace whose units 653101 and 653122 have e-mail contacts."""
    root.mkdir(parents=True, exist_ok=True)
    units = "".join(f'[[units]]\ncode = "{code}"\nemails = ["{address}"]\n\n'
                    for code, address in EMAILS.items())
    (root / "toolkit.toml").write_text(f'{units}[periods]\n2024H1 = "{deadline}"\n',
                                       encoding="utf-8")
    workspace = open_workspace(root)
    if units in _PLANS:  # the same config gives the same plan: load it once per session
        workspace.__dict__["tasklist"] = _PLANS[units]
    else:
        _PLANS[units] = workspace.tasklist
    return workspace


@functools.cache
def _plan():
    from toolkit.tasklist import load_tasklist

    return load_tasklist()


@functools.cache
def template_bytes(unit_code: str, period: str = "2024H1", actual: float | None = None,
                   lang: str = "zh") -> bytes:
    """A unit's template (written by the template writer), optionally with one value typed in."""
    import tempfile

    from toolkit.template import Prefill, TemplateSpec, write_template

    plan = _plan()
    unit = plan.unit(unit_code)
    prefill = None
    if actual is not None:
        first = plan.indicators_for(unit_code)[0]
        prefill = Prefill(actual={first.id: actual})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.xlsx"
        write_template(path, TemplateSpec(plan, unit, parse_period(period), lang=lang), prefill)
        return path.read_bytes()


def write(path: Path, data: bytes, mtime: dt.datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        stamp = mtime.timestamp()
        os.utime(path, (stamp, stamp))
    return path


def fingerprint_tree(root: Path) -> dict:
    """{relative path: (sha256, mtime_ns)} of every file under root: shows any change."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                path.stat().st_mtime_ns)
    return out


# --- messages -------------------------------------------------------------------

def message(sender: str, date: dt.datetime, attachments, message_id: str | None = None,
            subject: str = "报表") -> EmailMessage:
    """A message with ``attachments`` [(name, bytes)], names encoded as a mail client does."""
    msg = EmailMessage()
    msg["From"] = f"填报员 <{sender}>"
    msg["To"] = "office@example.cn"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="example.cn")
    msg.set_content("附件是本期报表，请查收。")
    for name, data in attachments:
        msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name)
    return msg


def rfc2047_message(sender: str, date: dt.datetime, name: str, data: bytes) -> bytes:
    """A message whose attachment name is an RFC 2047 encoded word, as older Outlook sends."""
    from email.header import Header

    encoded = Header(name, "gb18030").encode()
    raw = message(sender, date, [("PLACEHOLDER.xlsx", data)]).as_bytes()
    assert b'filename="PLACEHOLDER.xlsx"' in raw
    return raw.replace(b'filename="PLACEHOLDER.xlsx"', f'filename="{encoded}"'.encode())


def write_mbox(path: Path, messages) -> Path:
    import mailbox

    box = mailbox.mbox(str(path))
    for msg in messages:
        box.add(msg.as_bytes())
    box.flush()
    box.close()
    return path


def write_maildir(path: Path, messages) -> Path:
    import mailbox

    path.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(str(path), create=True)
    for msg in messages:
        box.add(msg.as_bytes())
    box.close()
    return path


# --- hostile and broken files -------------------------------------------------------

def rezip(data: bytes, replace: dict | None = None, add: dict | None = None,
          compresslevel: int = 6) -> bytes:
    """A copy of the zip ``data`` with parts replaced or added."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename in replace:
                content = replace[info.filename](content)
            dst.writestr(info.filename, content)
        for name, content in add.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Duplicate name" is the point
                dst.writestr(name, content)
    return out.getvalue()


def zip_bomb(base: bytes, inflated_mb: int = 20) -> bytes:
    """A workbook whose first sheet inflates ~1000 times (zeros after the real XML)."""
    def bloat(xml: bytes) -> bytes:
        return xml + b"0" * (inflated_mb * 1024 * 1024)
    return rezip(base, replace={"xl/worksheets/sheet1.xml": bloat}, compresslevel=9)


def duplicate_part(base: bytes) -> bytes:
    """A second xl/workbook.xml after the first: readers silently take the last."""
    with zipfile.ZipFile(io.BytesIO(base)) as src:
        original = src.read("xl/workbook.xml")
    return rezip(base, add={"xl/workbook.xml": original.replace(b"sheet", b"sheeT", 1)})


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">
<si><t>&lol9;</t></si></sst>"""


def billion_laughs(base: bytes) -> bytes:
    return rezip(base, replace={"xl/sharedStrings.xml": lambda _: BILLION_LAUGHS})


def far_cell(base: bytes, dimension: bool = False,
             part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """The first sheet (or ``part``) reaching XFD1048576: by its dimension ref, or by a real
    cell there."""
    def reach(xml: bytes) -> bytes:
        if dimension:
            import re

            return re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>',
                          xml, count=1)
        return xml.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c>'
                                            b"</row></sheetData>", 1)
    return rezip(base, replace={part: reach})


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (MS-CFB v3) holding ``streams`` at its root.

    Streams are padded to 4096 bytes so they live in regular sectors (no mini stream).
    """
    sector = 512
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    names = list(streams)
    assert len(names) <= 3, "one directory sector holds the root and three streams"
    data_sectors, chains, next_free = [], [], 2  # sector 0: FAT, sector 1: directory
    for name in names:
        body = streams[name].ljust(4096, b"\0")
        count = -(-len(body) // sector)
        chains.append((next_free, count, len(streams[name])))
        data_sectors.append(body.ljust(count * sector, b"\0"))
        next_free += count
    fat = [fatsect, end]
    for start, count, _ in chains:
        fat.extend(list(range(start + 1, start + count)) + [end])
    assert len(fat) <= sector // 4
    fat += [free] * (sector // 4 - len(fat))

    def entry(name, kind, start, size, child=free, right=free):
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 16 + b"\0" * 4
                + b"\0" * 16 + struct.pack("<IQ", start, size))

    entries = [entry("Root Entry", 5, end, 0, child=1 if names else free)]
    for i, (name, (start, _count, size)) in enumerate(zip(names, chains)):
        entries.append(entry(name, 2, start, size, right=i + 2 if i + 1 < len(names) else free))
    directory = b"".join(entries).ljust(sector, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<108I", *([free] * 108)))
    assert len(header) == 512
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + b"".join(data_sectors)


def encrypted_workbook() -> bytes:
    """What Excel writes for a password-protected .xlsx: OLE2 with the encrypted package."""
    return ole_file({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"<encryption/>",
                     "EncryptedPackage": struct.pack("<Q", 9000) + os.urandom(64)})


CSV = "指标编号,本期累计完成\n1.1,120\n1.2,35\n".encode("gb18030")
HTML = ("<html><head><meta charset='utf-8'></head><body><table><tr><td>指标</td><td>120</td>"
        "</tr></table></body></html>").encode()
