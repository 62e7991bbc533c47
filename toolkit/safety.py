"""Checks a received file must pass before any spreadsheet parser sees it.

Pure functions over the file's bytes: nothing here parses a workbook. They
name the real format by its magic bytes (whatever the file is called), and
refuse what would make a parser hang, blow up memory or crash: oversized
files, zip bombs, duplicate zip parts, XML with a DTD or entities, sheets that
reach absurd rows or columns. A refusal carries a reason code; the message a
clerk reads is ``collect.reason.<code>`` in the catalogue.

What passes is read in a child process all the same (``toolkit.sandbox``):
these checks make the common attacks cheap to refuse, the sandbox catches the
rest.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import struct
import zipfile
from dataclasses import dataclass, field

WORKBOOK_FORMATS = ("xlsx", "xlsm", "xls", "ods")

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_OTHER_ZIP_DOCUMENTS = {  # part that gives it away -> what it really is
    "word/document.xml": "docx", "ppt/presentation.xml": "pptx",
}
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """Caps on what a received file may be or hold. Real templates are tens of KB."""

    max_bytes: int = 20 * 1024 * 1024  # the file itself
    max_parts: int = 1000  # entries in a zip container
    ratio: float = 100.0  # a part may inflate at most this many times its compressed size...
    ratio_floor: int = 100 * 1024  # ...once it is bigger than this
    max_inflated: int = 200 * 1024 * 1024  # all parts together, inflated
    max_rows: int = 10_000  # last row a sheet may use
    max_cols: int = 256  # last column a sheet may use (IV)


@dataclass(frozen=True)
class Verdict:
    """What a file really is and whether a parser may read it."""

    format: str  # xlsx, xlsm, xls, ods; else what it really is (csv, html, docx, zip, ...)
    reason: str = ""  # "" when it may be read; else a catalogue code under collect.reason.
    detail: str = ""  # a technical detail for the office (part name, sizes, cell)
    macros: bool = False  # an xlsm/xls carrying a VBA project: values only, flagged
    fields: dict = field(default_factory=dict, compare=False)  # for the message template

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def extension(self) -> str:
        """Extension for the stored copy, from what the file really is."""
        return self.format if self.format in _SAFE_EXTENSIONS else "bin"


_SAFE_EXTENSIONS = {"xlsx", "xlsm", "xls", "ods", "xlsb", "csv", "html", "txt", "xml", "zip",
                    "docx", "pptx", "odt", "doc", "ppt", "pdf", "ole"}


def _refuse(fmt: str, reason: str, detail: str = "", **fields) -> Verdict:
    return Verdict(fmt, reason, detail, fields=fields)


KEPT_BYTES = 16 * 1024 * 1024  # inflated parts ``inspect`` hands on, at most, in all


def check(data: bytes, limits: Limits = Limits()) -> Verdict:
    """Sniff ``data`` and run every check for its format."""
    return inspect(data, limits)[0]


def inspect(data: bytes, limits: Limits = Limits()) -> tuple[Verdict, dict[str, bytes]]:
    """``check``, and the parts of an .xlsx/.xlsm it inflated on the way ({zip name:
    bytes}, in zip order up to ``KEPT_BYTES`` in all), so that what reads the file next
    need not inflate them again: a part not there is to be read from the file."""
    parts: dict[str, bytes] = {}
    return _check(data, limits, parts), parts


def _check(data: bytes, limits: Limits, parts: dict) -> Verdict:
    if not data:
        return _refuse("empty", "empty")
    if len(data) > limits.max_bytes:
        return _refuse("unknown", "too_large", f"{len(data)} bytes",
                       size_mb=f"{len(data) / 2**20:.1f}", limit_mb=limits.max_bytes // 2**20)
    if data.startswith(OLE_MAGIC):
        return check_ole(data)
    if data.startswith(ZIP_MAGICS):
        return check_zip(data, limits, parts)
    return sniff_other(data)


def sniff_format(data: bytes) -> str:
    """The format a file will be read as if it passes ``check`` (xlsx, xlsm, xls, ods), from
    its magic bytes and zip directory alone; "bin" for anything else."""
    if data.startswith(OLE_MAGIC):
        return "xls"
    if data.startswith(ZIP_MAGICS):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            fmt = _zip_format(archive, {i.filename.lstrip("/").lower()
                                        for i in archive.infolist()})
        except Exception:  # noqa: BLE001 - damaged: check names it
            return "bin"
        return fmt if fmt in WORKBOOK_FORMATS else "bin"
    return "bin"


def check_size(size: int, limits: Limits = Limits()) -> Verdict | None:
    """A refusal when a file of ``size`` bytes is too large to be read at all."""
    if size > limits.max_bytes:
        return _refuse("unknown", "too_large", f"{size} bytes",
                       size_mb=f"{size / 2**20:.1f}", limit_mb=limits.max_bytes // 2**20)
    return None


# --- text and other formats ------------------------------------------------------------

def sniff_other(data: bytes) -> Verdict:
    """Name what a file that is neither zip nor OLE really is; it is never read."""
    head = data[:4096]
    if head.startswith(b"%PDF"):
        return _refuse("pdf", "other_document", kind="PDF")
    if head.startswith((b"Rar!", b"7z\xbc\xaf")):
        return _refuse("archive", "unknown_format")
    text = _as_text(head)
    if text is None:
        return _refuse("unknown", "unknown_format")
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith("<?xml") and ("<workbook" in lowered or "mso-application" in lowered):
        return _refuse("xml", "xml_spreadsheet")
    if re.search(r"<(html|table|head|body|!doctype html|meta)\b", lowered):
        return _refuse("html", "html")
    first = lowered.splitlines()[0] if lowered else ""
    if any(sep in first for sep in (",", "\t", ";", "，")):
        return _refuse("csv", "csv")
    return _refuse("txt", "text")


def _as_text(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return head.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


# --- OLE2 compound files: xls, encrypted OOXML, Word ----------------------------------

def check_ole(data: bytes) -> Verdict:
    """An OLE2 container: a real xls, an encrypted xlsx (password), or something else."""
    try:
        names = set(ole_stream_names(data))
    except (ValueError, struct.error) as exc:
        return _refuse("ole", "damaged", str(exc))
    if {"EncryptionInfo", "EncryptedPackage"} <= names:
        return _refuse("ole", "encrypted")
    if "Workbook" in names or "Book" in names:
        return Verdict("xls", macros="_VBA_PROJECT_CUR" in names)
    if "WordDocument" in names:
        return _refuse("doc", "other_document", kind="Word")
    if "PowerPoint Document" in names:
        return _refuse("ppt", "other_document", kind="PowerPoint")
    return _refuse("ole", "unknown_format", "OLE streams: " + ", ".join(sorted(names)[:8]))


_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE


def ole_stream_names(data: bytes) -> list[str]:
    """Names of the storages and streams in an OLE2 compound file (MS-CFB).

    Reads the header, the sector allocation table and the directory chain only;
    every chain is bounded, so a looping or truncated file raises ValueError.
    """
    if len(data) < 512:
        raise ValueError("OLE header truncated")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError(f"bad sector shift {shift}")
    size = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    first_difat, n_difat = struct.unpack_from("<II", data, 0x44)
    max_sectors = len(data) // size + 1

    def sector(n: int) -> bytes:
        start = (n + 1) * size
        if n >= max_sectors or start >= len(data):
            raise ValueError(f"sector {n} beyond the end of the file")
        return data[start:start + size].ljust(size, b"\0")  # a short last sector is common

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s != _FREE]
    difat = first_difat
    for _ in range(min(n_difat, max_sectors)):
        if difat in (_FREE, _END):
            break
        entries = struct.unpack(f"<{size // 4}I", sector(difat))
        fat_sectors.extend(s for s in entries[:-1] if s != _FREE)
        difat = entries[-1]
    if not fat_sectors or len(fat_sectors) < min(n_fat, 1):
        raise ValueError("no allocation table")
    fat: list[int] = []
    for s in fat_sectors[:max_sectors]:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))
    names, current, seen = [], first_dir, set()
    while current not in (_END, _FREE):
        if current in seen or current >= len(fat):
            raise ValueError("directory chain broken")
        seen.add(current)
        block = sector(current)
        for off in range(0, size, 128):
            entry = block[off:off + 128]
            length = struct.unpack_from("<H", entry, 0x40)[0]
            kind = entry[0x42]
            if kind in (1, 2, 5) and 2 <= length <= 64:
                names.append(entry[:length - 2].decode("utf-16-le", errors="replace"))
        current = fat[current]
    if not names:
        raise ValueError("empty directory")
    return names


# --- zip containers: xlsx, xlsm, ods and impostors -------------------------------------

def check_zip(data: bytes, limits: Limits = Limits(), parts: dict | None = None) -> Verdict:
    """A zip container: which format, and is every part safe to hand to a parser.
    ``parts``: a dict to fill with the inflated parts of an .xlsx/.xlsm (see ``inspect``)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        return _refuse("zip", "damaged", str(exc))
    if len(infos) > limits.max_parts:
        return _refuse("zip", "too_many_parts", f"{len(infos)} parts", count=len(infos))
    seen: set[str] = set()
    for info in infos:
        key = info.filename.lstrip("/").lower()  # OPC part names are case-insensitive
        if key in seen:
            return _refuse("zip", "duplicate_parts", info.filename, part=info.filename)
        seen.add(key)
        other = _unicode_name(info, data)
        if other is not None and other != info.filename:  # a reader that heeds it sees another
            return _refuse("zip", "damaged", f"{info.filename} is also named {other[:80]!r}")
    fmt = _zip_format(archive, seen)
    if fmt in ("docx", "pptx", "odt", "odp"):
        return _refuse(fmt, "other_document", kind=fmt.upper())
    if fmt == "xlsb":
        return _refuse(fmt, "xlsb")
    if fmt == "zip":
        return _refuse(fmt, "unknown_format", "a zip archive that is not a workbook")
    if fmt == "ods" and any(name.startswith("xl/") for name in seen) or \
            fmt in ("xlsx", "xlsm") and "xl/workbook.bin" in seen:
        # a reader that tries the formats in another order would read the other one
        return _refuse(fmt, "damaged", "a workbook holding the parts of another format too")
    total = 0
    zipped_sheets = fmt in ("xlsx", "xlsm")
    keep = parts if parts is not None and zipped_sheets else None
    # the workbook's relationships first: a part they name may be read as a sheet,
    # whatever it is called
    rels = next((i for i in infos if i.filename.lstrip("/").lower() == _WORKBOOK_RELS), None)
    named: set[str] | None = set()
    contexts = {flag: repr((fmt, limits, flag)).encode() for flag in (False, True)}
    ends = _ends(archive, infos)  # in the directory's order, as zipfile breaks ties
    if rels is not None and zipped_sheets:
        infos = [rels] + [i for i in infos if i is not rels]
    for info in infos:
        lowered = info.filename.lstrip("/").lower()
        sheet = zipped_sheets and (named is None or lowered in named
                                   or not lowered.endswith(_BINARY_SUFFIXES))
        key = _part_key(data, info, contexts[sheet])
        passed = _PASSED.get(key) if key is not None else None
        if passed is not None:  # these very bytes passed before: only the total is new
            size, inflated = passed
            if size > limits.max_inflated - total:
                return _over_budget(fmt, info.filename, limits)
        else:
            whole = _whole_part(data, info, limits, fmt, limits.max_inflated - total, sheet,
                                ends[id(info)])
            if whole is not None:  # a plain part that passes, inflated and judged at once
                size, inflated = len(whole), whole if len(whole) <= KEPT_BYTES - total else None
            else:
                kept = [] if keep is not None or key is not None or info is rels else None
                size = _scan_part(archive, info, limits, fmt, limits.max_inflated - total,
                                  sheet=sheet, kept=kept, room=KEPT_BYTES - total)
                if isinstance(size, Verdict):
                    return size
                inflated = b"".join(kept) if kept is not None else None
                if inflated is not None and len(inflated) != size:
                    inflated = None  # past the allowance while read: not all of it was kept
            if key is not None and inflated is not None:
                _remember(key, inflated)
        if info is rels and zipped_sheets:  # too big to keep: any part may be a sheet
            named = _targets(inflated) if inflated is not None else None
        total += size
        if keep is not None and inflated is not None and total <= KEPT_BYTES:
            keep[info.filename] = inflated
        elif keep is not None:
            keep = None  # past the allowance: the reader inflates the rest itself
    macros = fmt == "xlsm"
    return Verdict(fmt, macros=macros)


_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_TARGET = re.compile(rb"""\bTarget\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _targets(rels: bytes) -> set[str]:
    """The parts a workbook's relationships may point at (zip names, lower case): every
    way a reader may resolve a target (as written after ``xl/``, normalised, from the
    root, percent-decoded, with either slash), so that none is missed."""
    import posixpath
    from urllib.parse import unquote

    out = set()
    for double, single in _TARGET.findall(rels):
        raw = (double or single).decode("utf-8", "replace")
        for target in {raw, unquote(raw), raw.replace("\\", "/"), unquote(raw).replace("\\", "/")}:
            for path in (f"xl/{target}", posixpath.normpath(f"xl/{target}"), target.lstrip("/"),
                         posixpath.normpath(target.lstrip("/") or ".")):
                out.add(path.lower())
    return out


def _unicode_name(info: zipfile.ZipInfo, data: bytes) -> str | None:
    """The name an entry's Info-ZIP Unicode Path field (0x7075) gives it, in its central or
    local header, when it has one: readers that heed the field take that name instead."""
    local = _local_header(data, info)
    for extra in (info.extra, local[0] if local else b""):
        at = 0
        while at + 4 <= len(extra):
            kind, size = struct.unpack("<HH", extra[at:at + 4])
            if kind == 0x7075 and size >= 5:
                return extra[at + 9:at + 4 + size].decode("utf-8", "replace")
            at += 4 + size
    return None


# Parts that passed, by what decides their scan: files from one template share most
# parts byte for byte (theme, styles, relationships, lists), so a reader process scans
# each once. Only small parts are remembered (inflated), and only so many: 16 MB at most.
REMEMBERED_PART_BYTES = 128 * 1024
REMEMBERED_PARTS = 128
_PASSED: dict[bytes, tuple[int, bytes]] = {}


def _part_key(data: bytes, info: zipfile.ZipInfo, context: bytes) -> bytes | None:
    """A digest of everything the scan of a part depends on: its name and central entry
    (CRC, method, flags, compressed size), its local header and compressed bytes, and
    ``context`` (the format, the limits, whether it is scanned as a sheet). None for a
    part too big to remember or one not where its entry says."""
    import hashlib

    local = _local_header(data, info)
    if info.compress_size > REMEMBERED_PART_BYTES or info.file_size > REMEMBERED_PART_BYTES \
            or local is None:
        return None
    start, end = info.header_offset, local[1] + info.compress_size
    if end > len(data):
        return None
    digest = hashlib.blake2b(context, digest_size=20)
    digest.update(repr((info.filename, info.CRC, info.compress_type, info.flag_bits,
                        info.compress_size)).encode())
    digest.update(data[start:end])
    return digest.digest()


def _local_header(data: bytes, info: zipfile.ZipInfo) -> tuple[bytes, int] | None:
    """(extra field, where the compressed bytes start) of an entry's local header; None
    when there is no local header where its central entry says."""
    start = info.header_offset
    if data[start:start + 4] != b"PK\x03\x04" or len(data) < start + 30:
        return None
    name_len, extra_len = struct.unpack("<HH", data[start + 26:start + 30])
    body = start + 30 + name_len
    return data[body:body + extra_len], body + extra_len


def _over_budget(fmt: str, part: str, limits: Limits) -> Verdict:
    return _refuse(fmt, "inflate", f"all parts over {limits.max_inflated} bytes", part=part)


def _remember(key: bytes, inflated: bytes) -> None:
    if len(inflated) > REMEMBERED_PART_BYTES:
        return
    if len(_PASSED) >= REMEMBERED_PARTS:
        _PASSED.clear()
    _PASSED[key] = (len(inflated), inflated)


def _zip_format(archive: zipfile.ZipFile, names: set[str]) -> str:
    if "mimetype" in names:
        try:
            with archive.open("mimetype") as part:
                mimetype = part.read(100).strip()
        except Exception:  # noqa: BLE001 - a broken mimetype part is caught by the scan
            mimetype = b""
        if mimetype == ODS_MIMETYPE:
            return "ods"
        if mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
            return "odt"
        if mimetype.startswith(b"application/vnd.oasis.opendocument.presentation"):
            return "odp"
    if "[content_types].xml" in names:
        if "xl/workbook.xml" in names:
            return "xlsm" if "xl/vbaproject.bin" in names else "xlsx"
        if "xl/workbook.bin" in names:
            return "xlsb"
        for part, kind in _OTHER_ZIP_DOCUMENTS.items():
            if part in names:
                return kind
    if "content.xml" in names and "meta-inf/manifest.xml" in names:
        return "ods"
    return "zip"


_DTD = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
# A cell reference as python-calamine takes it: letters (either case), then digits.
_REF = re.compile(r"([A-Za-z]+)0*(\d+)")
_BEYOND = (1048576, 16384)  # XFD1048576: where a reference too long to be a cell points
_BINARY_SUFFIXES = (".bin", ".png", ".jpeg", ".jpg", ".emf", ".wmf")


def _col_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def _position(ref: str) -> tuple[int, int] | None:
    """(row, column) a reader places a cell reference at; ``_BEYOND`` for one of more than
    four letters or nine digits (past any sheet); None for what is no reference (a
    reader refuses the sheet)."""
    found = _REF.fullmatch(ref)
    if found is None:
        return None
    letters, digits = found.groups()
    if len(letters) > 4 or len(digits) > 9:
        return _BEYOND
    return int(digits), _col_number(letters)


WHOLE_PART_BYTES = 1 << 20  # a plain part declared up to this size is inflated at once
_NOT_PLAIN = 0x1 | 0x20 | 0x40  # encrypted, compressed patch data, strong encryption


def _ends(archive, infos) -> dict:
    """Where each entry's bytes must end: at the next local header, or the central
    directory (what newer Pythons' zipfile checks, against overlapping entries). ``infos``
    in the central directory's order: entries at one offset are then told apart as
    zipfile tells them."""
    ends, end = {}, getattr(archive, "start_dir", None)
    for info in sorted(infos, key=lambda i: i.header_offset, reverse=True):
        ends[id(info)] = end
        end = info.header_offset
    return ends


def _whole_part(data: bytes, info, limits: Limits, fmt: str, budget: int, sheet: bool,
                end: int | None) -> bytes | None:
    """The bytes of a plain part that passes every check ``_scan_part`` makes, inflated at
    once; None for any other part, to be scanned as a stream, which then says what is
    wrong with it (a refusal is never told here, so it is always the stream's). ``end``:
    where the part's bytes must end (``_ends``).

    A plain part is stored or deflated, not encrypted, declared at most
    ``WHOLE_PART_BYTES`` and within its caps, its local header where its entry says and
    naming it as zipfile reads it, its bytes ending before the next entry, and it
    inflates to exactly the declared size with the declared CRC. The whole part holds no
    DTD (so no window of it does), and a sheet is judged in the windows the stream
    judges (``_proved_as_streamed``).
    """
    import zlib

    cap = max(limits.ratio_floor, limits.ratio * max(info.compress_size, 1))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) \
            or info.flag_bits & _NOT_PLAIN or info.file_size > min(WHOLE_PART_BYTES, cap) \
            or info.file_size > budget \
            or fmt == "ods" and info.filename.lower() == "content.xml":  # parsed: a stream
        return None
    local = _local_header(data, info)
    if local is None or local[1] + info.compress_size > (len(data) if end is None
                                                         else min(len(data), end)):
        return None
    start = info.header_offset  # the local name, read as zipfile reads it
    flags = struct.unpack_from("<H", data, start + 6)[0]
    name_len = struct.unpack_from("<H", data, start + 26)[0]
    try:
        name = data[start + 30:start + 30 + name_len].decode(
            "utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    packed = data[local[1]:local[1] + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        inflated = packed
    else:
        try:
            inflated = zlib.decompressobj(-15).decompress(packed, info.file_size + 1)
        except zlib.error:
            return None
    if len(inflated) != info.file_size or zlib.crc32(inflated) != info.CRC:
        return None
    codec = _utf16_codec(inflated[:_CHUNK])
    if _DTD.search(inflated) or \
            codec and _DTD.search(inflated.decode(codec, errors="replace").encode()) or \
            sheet and not _proved_as_streamed(inflated, limits):
        return None
    return inflated


def _judged_and_carried(window: bytes) -> tuple[bytes, bytes]:
    """``window`` up to a tag begun and not ended in it, and that tag: judged whole with
    the next chunk (or on its own after the last one), however long it is."""
    cut = window.rfind(b"<")
    if cut >= 0 and window.find(b">", cut) < 0:
        return window[:cut], window[cut:]
    return window, b""


def _proved_as_streamed(inflated: bytes, limits: Limits) -> bool:
    """Whether the stream's quick test (``_scan_part``) proves the sheet ``inflated``,
    judging the very windows it judges: what it cannot prove there it parses, and the
    parse may refuse what one look at the whole part would prove."""
    carry = b""
    for at in range(0, len(inflated), _CHUNK):
        judged, carry = _judged_and_carried(carry + inflated[at:at + _CHUNK])
        if len(carry) > _CHUNK or not surely_within(judged, limits):
            return False
    return not carry or surely_within(carry, limits)


def _scan_part(archive, info, limits: Limits, fmt: str, budget: int, sheet: bool = False,
               quick: bool = True, kept: list | None = None, room: int = 0):
    """Inflate one part as a stream, counting bytes and looking for what must not be there.

    Returns the inflated size, or a refusal. The declared size in the zip is not
    trusted: the part is inflated up to the caps, whatever it claims. A ``sheet`` (any
    part a reader may take for sheet XML) is parsed to find the last row and column it
    reaches (``_SheetExtent``), unless ``quick`` and literal searches prove every
    stretch of it within the caps (``surely_within``); a part they cannot prove is
    scanned again from its start, parsed. Both look at the bytes as the reader takes
    them, UTF-8, whatever byte-order mark they start with. ``kept``: a list to which the
    inflated bytes are added, chunk by chunk, while they come to at most ``room``.
    """
    probe = copy.copy(info)
    probe.file_size = limits.max_inflated + 1  # read to the real end, not the declared one
    name = info.filename
    cap = max(limits.ratio_floor, limits.ratio * max(info.compress_size, 1))
    extent = _OdsExtent() if fmt == "ods" and name.lower() == "content.xml" else \
        _SheetExtent() if sheet and not quick else None
    quick = quick and sheet
    given, unproven = kept, False
    total, carry, tail16, utf16 = 0, b"", b"", None
    try:
        with archive.open(probe) as stream:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if kept is not None and total <= room:
                    kept.append(chunk)
                elif kept is not None:
                    kept.clear()
                    kept = None
                if total > cap:
                    return _refuse(fmt, "inflate", f"{name}: over {int(cap)} bytes from "
                                   f"{info.compress_size}", part=name)
                if total > budget:
                    return _over_budget(fmt, name, limits)
                if utf16 is None:
                    utf16 = _utf16_codec(chunk)
                window = carry + chunk
                if _DTD.search(window):  # any part: rels may point a parser anywhere
                    return _refuse(fmt, "entity", name, part=name)
                if utf16:  # as a parser that heeds the byte-order mark reads it
                    text = tail16 + chunk.decode(utf16, errors="replace").encode()
                    if _DTD.search(text):
                        return _refuse(fmt, "entity", name, part=name)
                    tail16 = text[-512:]
                judged, carry = _judged_and_carried(window)
                if len(carry) > _CHUNK:  # a tag longer than a chunk
                    if quick:
                        unproven = True  # proved by the parse, whatever its length
                        break
                    carry = carry[-512:]
                if quick and not surely_within(judged, limits):
                    unproven = True
                    break
                if extent is not None:
                    extent.feed(chunk)
                    if (refused := _refusal_past_the_caps(fmt, name, extent, limits)) is not None:
                        return refused
        unproven = unproven or (quick and carry and not surely_within(carry, limits))
        if extent is not None:
            extent.close()
            if (refused := _refusal_past_the_caps(fmt, name, extent, limits)) is not None:
                return refused
    except _Extent.Broken as exc:
        return _refuse(fmt, "damaged", f"{name}: {exc}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted zip entry; NotImplementedError: unknown compression
        return _refuse(fmt, "damaged", f"{name}: {exc}")
    except Exception as exc:  # zlib.error and friends: a corrupt stream  # noqa: BLE001
        return _refuse(fmt, "damaged", f"{name}: {type(exc).__name__}: {exc}")
    if unproven:
        if given is not None:
            given.clear()
        return _scan_part(archive, info, limits, fmt, budget, sheet=True, quick=False,
                          kept=given, room=room)
    return total


# A prefixed cell or row tag (<x:c ...>): not the spelling writers use.
_PREFIXED_TAG = re.compile(rb":(?:c|row)[\s>/]")
# Tabs and line breaks as spaces: an attribute is then always after a space.
_FLAT = bytes.maketrans(b"\t\n\r", b"   ")
_DIMENSION_AT = re.compile(rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']{1,40})[\"']")


def _dimensions(window: bytes):
    """Every dimension reference in ``window``, after < or a prefix; None for a dimension
    whose reference the window does not hold (cut off, or none)."""
    at = window.find(b"dimension")
    while at >= 0:
        if at and window[at - 1] in b"<:":
            match = _DIMENSION_AT.match(window, at)
            yield match.group(1) if match else None
        at = window.find(b"dimension", at + 9)


@functools.lru_cache(maxsize=8)
def _unprovable(max_rows: int, max_cols: int) -> tuple[re.Pattern, re.Pattern]:
    """Cell and row tags the quick test cannot vouch for: any but ``<c r="`` and ``<row r="``
    with a reference within the caps (``_up_to``), in capitals or not, leading zeros and
    all."""
    from toolkit.layout import col_letter

    rows = rb"0*(?:%s)\"" % _up_to(str(max(max_rows, 0)), b"0123456789")
    cols = _up_to(col_letter(max_cols), b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") if max_cols > 0 \
        else b"(?!)"
    return (re.compile(rb'<c(?=[\s>/])(?! r="(?i:%s)%s)' % (cols, rows)),
            re.compile(rb'<row(?=[\s>/])(?! r="%s)' % rows))


def _up_to(last: str, digits: bytes) -> bytes:
    """A pattern for the numerals in ``digits`` (ordered, the first one the smallest; of
    equal length, one is bigger where it first differs) that come up to ``last``: any
    shorter one, or one as long, position by position at most ``last``. Decimal when
    ``digits`` start with 0 (a shorter one may too), else letters (column names)."""
    if not last:
        return b"(?!)"
    any_digit = rb"\d" if digits[:1] == b"0" else b"[%s]" % digits
    width = len(last)
    ways = [b"%s{1,%d}" % (any_digit, width - 1)] if width > 1 else []
    for at, ch in enumerate(last.encode()):
        below = digits[:digits.index(ch)]
        if below:
            ways.append(last[:at].encode() + b"[%s]" % below
                        + (b"%s{%d}" % (any_digit, width - at - 1) if width - at > 1 else b""))
    ways.append(last.encode())
    return b"|".join(ways)


def surely_within(window: bytes, limits: Limits) -> bool:
    """Whether literal searches alone prove every cell in ``window`` placed within the caps,
    and every row and dimension there within them: every cell and row tag in the plain
    spelling, its reference first and within the caps, and no other r attribute in any
    of them (a reader takes the last); no prefixed tag; every dimension within the caps.
    A cell without a reference (placed after the one before it) is not proved. No
    reference is taken out of the XML, so it runs at C speed."""
    cell, row = _unprovable(limits.max_rows, limits.max_cols)
    if _PREFIXED_TAG.search(window) or cell.search(window) or row.search(window):
        return False
    tags = window.count(b'<c r="') + window.count(b'<row r="')  # every cell and row tag
    if tags:  # and each has one r attribute: no other, however spelled (` r =`, `\tr=`)
        flat = window.translate(_FLAT) if b"\t" in window or b"\n" in window or \
            b"\r" in window else window  # the usual case: nothing to replace, no copy
        if flat.count(b" r=") != tags or b" r " in flat:
            return False
    for ref in _dimensions(window):
        if ref is None:
            return False
        for piece in ref.decode(errors="replace").split(":"):
            at = _position(piece.strip())
            if at is None or at[0] > limits.max_rows or at[1] > limits.max_cols:
                return False
    return True


def _utf16_codec(head: bytes) -> str:
    """'utf-16-le'/'utf-16-be' when an XML part is written in UTF-16, else ''."""
    if head.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if head.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    return ""


def _refusal_past_the_caps(fmt, part, extent, limits) -> Verdict | None:
    """The refusal of a part whose ``extent`` (so far) is past the caps; None within them."""
    if extent.rows <= limits.max_rows and extent.cols <= limits.max_cols:
        return None
    from toolkit.layout import a1

    cell = a1(max(extent.rows, 1), max(extent.cols, 1))
    return _refuse(fmt, "too_many_cells", f"{part}: reaches {cell}", cell=cell,
                   max_rows=limits.max_rows, max_cols=limits.max_cols)


class _Extent:
    """Streams an XML part through expat (any DTD refused) and tracks ``rows`` and
    ``cols``, the last row and column it reaches: what a subclass's ``_start`` and
    ``_end`` say of each element. Names come as written, prefix and all, the way
    python-calamine matches them, and the bytes are taken for UTF-8 as it takes them: a
    UTF-16 byte-order mark is passed over, a NUL byte refused (expat would otherwise take
    the bytes for UTF-16)."""

    class Broken(Exception):
        pass

    def __init__(self):
        from xml.parsers import expat

        self.rows = self.cols = 0
        self._begun = False
        self._parser = expat.ParserCreate("utf-8")
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.StartDoctypeDeclHandler = self._refuse_dtd
        self._parser.EntityDeclHandler = self._refuse_dtd

    def _start(self, name, attrs):
        pass

    def _end(self, name):
        pass

    def _refuse_dtd(self, *args):
        raise self.Broken("DTD or entity declaration")

    def feed(self, chunk: bytes):
        from xml.parsers import expat

        if not self._begun:
            self._begun = True
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                chunk = chunk[2:]
        if b"\0" in chunk:
            raise self.Broken("a NUL byte in the XML")
        try:
            self._parser.Parse(chunk, False)
        except expat.ExpatError as exc:
            raise self.Broken(str(exc)) from None

    def close(self):
        from xml.parsers import expat

        try:
            self._parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise self.Broken(str(exc)) from None


class _SheetExtent(_Extent):
    """Sheet XML (xlsx, xlsm): the last row and column its cells, rows and dimension
    reach, cells placed as python-calamine places them, by local name (any prefix). A
    ``row`` with ``r`` moves to that row and its end to the next one (column 1 again); a
    ``c`` with ``r`` stands there, without it at the current row, after the cell before
    it. The reader skips what a cell holds; in there a row or cell only ever moves the
    position on, never back, so that whatever the reader makes of it, it places nothing
    further than counted here. A reference the reader would refuse (not letters then
    digits, a row 0) is refused as damaged."""

    def __init__(self):
        super().__init__()
        self._row = self._col = 1  # where a cell without a reference would stand
        self._depth = 0  # elements open inside the current cell (0: not in a cell)

    def _start(self, name, attrs):
        local = name.rpartition(":")[2]
        inside = self._depth > 0
        if inside:
            self._depth += 1
        if local == "row":
            if "r" in attrs:
                number = _place(f"A{attrs['r']}")[0]
                self._row = max(self._row, number) if inside else number
            self.rows = max(self.rows, self._row)
        elif local == "c":
            row, col = _place(attrs["r"]) if "r" in attrs else (self._row, self._col)
            self._col = max(self._col, col + 1) if inside else col + 1
            self.rows, self.cols = max(self.rows, row), max(self.cols, col)
            if not inside:
                self._depth = 1
        elif local == "dimension":
            for piece in attrs.get("ref", "").split(":"):
                row, col = _place(piece)
                self.rows, self.cols = max(self.rows, row), max(self.cols, col)

    def _end(self, name):
        if self._depth:
            self._depth -= 1
        if name.rpartition(":")[2] == "row":
            self._row += 1
            if not self._depth:
                self._col = 1


def _place(ref: str) -> tuple[int, int]:
    """``_position``, or the sheet refused as damaged where the reader would refuse it."""
    at = _position(ref)
    if at is None or at[0] < 1:
        raise _Extent.Broken(f"not a cell reference: {ref[:20]!r}")
    return at


class _OdsExtent(_Extent):
    """Streams an ODS content.xml and tracks the last row and column holding a value, by
    the names python-calamine looks for (``table:table-row``, ``table:table-cell``).

    Repeated rows and cells (``number-rows-repeated``, ``number-columns-repeated``)
    move the position by their count; only those holding a value extend the used
    area, since every office suite pads a sheet with empty repeats to its end. A cell
    holds a value when it has an ``office:`` attribute (a type, or the value itself) or
    any element inside; a cell inside a cell counts as one of its own (more than a
    reader may make of it, never less), a row or table inside a cell is refused.
    """

    _CELLS = ("table:table-cell", "table:covered-table-cell")

    def __init__(self):
        super().__init__()
        self._row = 0  # rows passed in the current table
        self._col = 0
        self._row_repeat = 1
        self._cells: list[list] = []  # [repeat, has value] of each cell open
        self._row_filled = 0  # last column with a value in the current row

    @staticmethod
    def _repeat(attrs, key) -> int:
        try:
            return max(1, int(attrs.get(key, 1)))
        except ValueError:
            return 1

    def _start(self, name, attrs):
        if name in self._CELLS:
            if self._cells:
                self._cells[-1][1] = True
            self._cells.append([self._repeat(attrs, "table:number-columns-repeated"),
                                any(key.startswith("office:") for key in attrs)])
        elif self._cells:  # anything in a cell: text, a link, a note
            if name in ("table:table", "table:table-row"):
                raise self.Broken(f"{name} inside a cell")
            self._cells[-1][1] = True
        elif name == "table:table":
            self._row = 0
        elif name == "table:table-row":
            self._row_repeat = self._repeat(attrs, "table:number-rows-repeated")
            self._col = 0
            self._row_filled = 0

    def _end(self, name):
        if name in self._CELLS and self._cells:
            repeat, has_value = self._cells.pop()
            self._col += repeat
            if has_value:
                self._row_filled = max(self._row_filled, self._col)
        elif name == "table:table-row" and not self._cells:
            self._row += self._row_repeat
            if self._row_filled:
                self.rows = max(self.rows, self._row)
                self.cols = max(self.cols, self._row_filled)
