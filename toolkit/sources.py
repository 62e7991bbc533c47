"""Turn the paths given to ``collect`` into the files that were received.

A path may be a workbook, a folder (searched recursively), a ``.zip`` archive,
an ``.eml`` message, an mbox file or a Maildir folder. Messages give their
attachments, with the sender's address, the Message-ID and the Date.

Nothing here writes a file or chooses a path from a name found inside a
container: archive members are read in memory and attachment names (decoded
from RFC 2047/2231) are kept as metadata only — ``../../x.xlsx`` is just text.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import io
import mailbox
import os
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb", ".et", ".ett", ".xltx",
                       ".xltm", ".xlt", ".ots", ".csv")
# documents that share a container format with workbooks but are never one
OTHER_DOCUMENTS = (".doc", ".docx", ".ppt", ".pptx", ".odt", ".odp", ".wps", ".dps", ".pdf",
                   ".msg", ".vsd", ".vsdx", ".pub", ".jar", ".apk", ".epub")
SPREADSHEET_TYPES = ("application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument"
                     ".spreadsheetml", "application/vnd.oasis.opendocument.spreadsheet")
MAX_DEPTH = 3  # archives and messages nested inside each other
MAX_MEMBERS = 1000  # members of one archive
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # an archive member larger than this is not taken in memory


class Unreadable(Exception):
    """A received file whose bytes cannot be got (gone, no permission, corrupt member)."""


@dataclass(frozen=True)
class Incoming:
    """One received file: where it came from and how to get its bytes."""

    source: str  # a path, "archive!member", or "mailbox#message#n:name"; stable across runs
    original_name: str  # as the sender named it: metadata only, never a path
    size: int
    sender: str = ""  # e-mail From address (lower case)
    message_id: str = ""
    sent_at: dt.datetime | None = None  # e-mail Date, else the file's modification time
    loader: Callable[[int], bytes] = field(default=None, repr=False, compare=False)

    def read(self, limit: int) -> bytes:
        """The bytes, at most ``limit`` of them; raises Unreadable when they cannot be got."""
        return self.loader(limit)

    @property
    def extension(self) -> str:
        return os.path.splitext(self.original_name)[1].lower()


@dataclass(frozen=True)
class Skipped:
    """Something found that is not a received workbook (a signature image, a notes file)."""

    source: str
    name: str
    why: str  # catalogue code under collect.skip.


@dataclass(frozen=True)
class Expansion:
    items: tuple[Incoming, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class _Mail:
    sender: str = ""
    message_id: str = ""
    sent_at: dt.datetime | None = None


def display_name(name: str) -> str:
    """A received name fit to show and store: no control characters, no path, bounded."""
    text = "".join(ch for ch in str(name) if unicodedata.category(ch)[0] != "C")
    return text.strip()[:255] or "unnamed"


def _mtime(path: Path) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        return None


def _file_loader(path: Path) -> Callable[[int], bytes]:
    def load(limit: int) -> bytes:
        try:
            with open(path, "rb") as handle:
                return handle.read(limit)
        except OSError as exc:
            raise Unreadable(exc.strerror or str(exc)) from None
    return load


def _bytes_loader(data: bytes) -> Callable[[int], bytes]:
    return lambda limit: data[:limit]


def _head(path: Path, size: int = 8) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def _looks_like_container(head: bytes) -> bool:
    from toolkit.safety import OLE_MAGIC, ZIP_MAGICS

    return head.startswith(OLE_MAGIC) or head.startswith(ZIP_MAGICS)


def _is_workbook_zip(archive: zipfile.ZipFile) -> bool:
    names = {n.lower() for n in archive.namelist()}
    return "[content_types].xml" in names or "mimetype" in names


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


class _Collector:
    def __init__(self, exclude=()):
        self.items: list[Incoming] = []
        self.skipped: list[Skipped] = []
        self.exclude = tuple(Path(p).resolve() for p in exclude)

    def excluded(self, path: Path, folder_real: Path | None = None) -> bool:
        """Whether ``path`` is (or is in) an excluded folder, found where it really is;
        ``folder_real``: where the folder ``path`` is listed in really is, so that a file
        there that is not a link needs no resolving of its own."""
        if not self.exclude:
            return False
        real = folder_real / path.name if folder_real is not None and not path.is_symlink() \
            else path.resolve()
        if any(real == e or e in real.parents for e in self.exclude):
            self.skip(str(path), path.name, "workspace_output")
            return True
        return False

    def skip(self, source: str, name: str, why: str) -> None:
        self.skipped.append(Skipped(source, display_name(name), why))

    # --- paths on disk ------------------------------------------------------------

    def path(self, path: Path, explicit: bool, folder_real: Path | None = None) -> None:
        source = str(path)
        if self.excluded(path, folder_real):
            return
        if path.is_dir():
            if _is_maildir(path):
                self.maildir(path)
            else:
                self.folder(path)
            return
        if not path.is_file():
            self.skip(source, path.name, "not_a_file")
            return
        ext = path.suffix.lower()
        head = _head(path)
        if not head and not os.access(path, os.R_OK):
            self.skip(source, path.name, "unreadable")
            return
        try:
            if ext == ".eml":
                self.message_bytes(path.read_bytes(), source, _mtime(path), depth=0)
                return
            if ext == ".mbox" or head.startswith(b"From "):
                self.mbox(path)
                return
            if ext == ".zip" and head.startswith(b"PK"):
                self.zip_file(path)
                return
        except (OSError, mailbox.Error, ValueError, LookupError) as exc:
            self.skip(source, f"{path.name} ({type(exc).__name__}: {exc})", "unreadable")
            return
        if explicit or ext in WORKBOOK_EXTENSIONS or (
                _looks_like_container(head) and ext not in OTHER_DOCUMENTS):
            self.items.append(Incoming(source, display_name(path.name), path.stat().st_size,
                                       sent_at=_mtime(path), loader=_file_loader(path)))
        else:
            self.skip(source, path.name, "not_a_workbook")

    def folder(self, root: Path) -> None:
        for dirpath, dirnames, filenames in os.walk(root, onerror=self._walk_error):
            here = Path(dirpath)
            real = here.resolve() if self.exclude else None
            keep = []
            for name in sorted(dirnames):
                if name.startswith(".") or self.excluded(here / name):
                    continue
                if _is_maildir(here / name):
                    self.maildir(here / name)
                else:
                    keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                if name.startswith((".", "~$")):  # hidden files, Office lock files
                    continue
                self.path(here / name, explicit=False, folder_real=real)

    def _walk_error(self, exc: OSError) -> None:
        self.skip(str(exc.filename or ""), str(exc.filename or ""), "unreadable")

    def zip_file(self, path: Path) -> None:
        try:
            with zipfile.ZipFile(path) as archive:
                if _is_workbook_zip(archive):  # a workbook renamed .zip
                    raise zipfile.BadZipFile
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            self.items.append(Incoming(str(path), display_name(path.name), path.stat().st_size,
                                       sent_at=_mtime(path), loader=_file_loader(path)))
            return

        def opener():
            return zipfile.ZipFile(path)
        self.archive(opener, str(path), _Mail(sent_at=_mtime(path)), depth=0)

    # --- archives -----------------------------------------------------------------

    def archive(self, opener, source: str, mail: _Mail, depth: int) -> None:
        """Members of a zip archive; each is read from the archive when needed."""
        with opener() as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS:
            self.skip(source, source, "too_many_members")
            return
        for info in infos:
            name = _member_name(info)
            base = name.replace("\\", "/").rsplit("/", 1)[-1]
            member_source = f"{source}!{name}"
            if base.startswith((".", "~$")) or name.startswith("__MACOSX/"):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                self.skip(member_source, base, "too_large")
                continue
            ext = os.path.splitext(base)[1].lower()
            sent = mail.sent_at or _zip_time(info)
            loader = _member_loader(opener, info)
            if ext in (".zip", ".eml") and depth < MAX_DEPTH:
                try:
                    data = loader(MAX_MEMBER_BYTES)
                except Unreadable:
                    self.items.append(Incoming(member_source, display_name(base),
                                               info.file_size, mail.sender, mail.message_id,
                                               sent, loader))
                    continue
                self.nested(data, ext, member_source, base, mail, sent, depth + 1)
                continue
            if ext in WORKBOOK_EXTENSIONS or ext not in OTHER_DOCUMENTS and _peek(loader):
                self.items.append(Incoming(member_source, display_name(base), info.file_size,
                                           mail.sender, mail.message_id, sent, loader))
            else:
                self.skip(member_source, base, "not_a_workbook")

    def nested(self, data: bytes, ext: str, source: str, name: str, mail: _Mail,
               sent: dt.datetime | None, depth: int) -> None:
        if ext == ".eml":
            self.message_bytes(data, source, sent, depth)
            return
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                workbook = _is_workbook_zip(archive)
        except (zipfile.BadZipFile, ValueError, EOFError, OSError):
            workbook = True  # a damaged zip is recorded as received, and refused by name
        if workbook:
            self.items.append(Incoming(source, display_name(name), len(data), mail.sender,
                                       mail.message_id, sent, _bytes_loader(data)))
            return
        self.archive(lambda: zipfile.ZipFile(io.BytesIO(data)), source,
                     _Mail(mail.sender, mail.message_id, sent), depth)

    # --- mail ---------------------------------------------------------------------

    def mbox(self, path: Path) -> None:
        box = mailbox.mbox(str(path), factory=None, create=False)
        try:
            for key in box.iterkeys():
                data = box.get_bytes(key)
                self.message_bytes(data, f"{path}#{key}", _mtime(path), depth=0,
                                   prefer_id=f"{path}")
        finally:
            box.close()

    def maildir(self, path: Path) -> None:
        box = mailbox.Maildir(str(path), factory=None, create=False)
        for key in sorted(box.iterkeys()):
            try:
                data = box.get_bytes(key)
                delivered = dt.datetime.fromtimestamp(
                    box.get_message(key).get_date()).astimezone()
            except (OSError, mailbox.Error) as exc:
                self.skip(f"{path}#{key}", f"{key} ({exc})", "unreadable")
                continue
            self.message_bytes(data, f"{path}#{key}", delivered, depth=0)

    def message_bytes(self, data: bytes, source: str, fallback: dt.datetime | None,
                      depth: int, prefer_id: str = "") -> None:
        """Attachments of one message. ``prefer_id``: name it by Message-ID under this prefix."""
        msg = email.message_from_bytes(data, policy=email.policy.default)
        mail = _mail_of(msg, fallback)
        if prefer_id and mail.message_id:
            source = f"{prefer_id}#{mail.message_id}"
        found = 0
        for index, part in enumerate(msg.walk()):
            if part.is_multipart() or part.get_content_maintype() == "message":
                continue
            name = _attachment_name(part)
            if name is None:
                continue
            try:
                payload = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001 - a broken transfer encoding: keep what is there
                payload = part.get_payload(decode=False).encode("utf-8", "replace")
            found += 1
            part_source = f"{source}#{index}:{display_name(name)}"
            ext = os.path.splitext(name)[1].lower()
            spreadsheet = part.get_content_type().startswith(SPREADSHEET_TYPES)
            if ext in (".zip", ".eml") and depth < MAX_DEPTH:
                self.nested(payload, ext, part_source, name, mail, mail.sent_at, depth + 1)
            elif ext in WORKBOOK_EXTENSIONS or spreadsheet or (
                    ext not in OTHER_DOCUMENTS and _looks_like_container(payload[:8])):
                self.items.append(Incoming(part_source, display_name(name), len(payload),
                                           mail.sender, mail.message_id, mail.sent_at,
                                           _bytes_loader(payload)))
            else:
                self.skip(part_source, name, "not_a_workbook")
        if not found:
            self.skip(source, mail.message_id or source, "no_attachment")


def _mail_of(msg, fallback: dt.datetime | None) -> _Mail:
    def header(name: str) -> str:
        try:
            return str(msg.get(name, "") or "")
        except Exception:  # noqa: BLE001 - a header the parser cannot decode
            raw = msg.get_all(name, failobj=[""])
            return str(raw[0]) if raw else ""

    sender = email.utils.parseaddr(header("From"))[1].strip().lower()
    sent = None
    date_text = header("Date")
    if date_text:
        try:
            sent = email.utils.parsedate_to_datetime(date_text)
            if sent.tzinfo is None:
                sent = sent.replace(tzinfo=dt.timezone.utc)
        except (TypeError, ValueError, IndexError):
            sent = None
    return _Mail(display_name(sender) if sender else "", header("Message-ID").strip(),
                 sent or fallback)


def _attachment_name(part) -> str | None:
    """The decoded file name of an attachment, or None for a body or inline text."""
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed parameter: fall back to the raw value
        name = part.get_param("name")
    if name and "=?" in name:  # RFC 2047 words inside a parameter, as some clients send
        from email.header import decode_header, make_header

        try:
            name = str(make_header(decode_header(name)))
        except Exception:  # noqa: BLE001
            pass
    if name:
        return str(name)
    if part.get_content_type().startswith(SPREADSHEET_TYPES):
        return "attachment" + {"application/vnd.ms-excel": ".xls"}.get(
            part.get_content_type(), ".xlsx")
    if part.get_content_disposition() == "attachment":
        return "attachment"
    return None


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name; Chinese names from Windows zips (no UTF-8 flag) are GBK."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for encoding in ("utf-8", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    return name


def _peek(loader) -> bool:
    try:
        return _looks_like_container(loader(8))
    except Unreadable:
        return True  # recorded, and refused as damaged


def _zip_time(info: zipfile.ZipInfo) -> dt.datetime | None:
    try:
        return dt.datetime(*info.date_time).astimezone()
    except (ValueError, OverflowError):
        return None


def _member_loader(opener, info: zipfile.ZipInfo) -> Callable[[int], bytes]:
    def load(limit: int) -> bytes:
        try:
            with opener() as archive, archive.open(info) as member:
                return member.read(limit)
        except Exception as exc:  # noqa: BLE001 - bad CRC, zlib.error, encrypted member...
            raise Unreadable(f"{type(exc).__name__}: {exc}") from None
    return load


def expand(paths, exclude=()) -> Expansion:
    """Every received file under ``paths``, in a stable order, and what was passed over.

    Folders in ``exclude`` (the workspace's own outputs) are passed over whole.
    """
    collector = _Collector(exclude)
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        collector.path(path, explicit=True)
    return Expansion(tuple(collector.items), tuple(collector.skipped))
