"""Take in every returned workbook of a period and record it in the ledger.

For each received file: SHA-256; a scratch copy checked (``safety``) and, when it
passes, read in a child process (``sandbox``), one pass over the file; a copy
under ``outputs/<PERIOD>/received/`` with a generated name ``<unit>_<sha12>.<ext>``
(refused, unreadable and unidentified files go to ``quarantine/`` with a
``.txt`` beside them saying why); the values kept in the database, so later
stages never re-read the file; the identity's three copies cross-checked; the
unit also matched by the sender's address; the period checked; a ledger row with
a status. The readers go on with the next files while this process records one.

Originals are only ever read. Collecting the same inputs again changes nothing, and
a run stopped part way loses nothing: collecting again records what it had not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace as _replace
from pathlib import Path

from toolkit import ledger, sandbox, sources
from toolkit.atomic import write_bytes, write_text
from toolkit.catalogue import t
from toolkit.errors import PeriodError
from toolkit.periods import Period, parse_period
from toolkit.safety import OLE_MAGIC, Limits, Verdict, check_size, inspect, sniff_format

RECEIVED, QUARANTINE, STAGING = "received", "quarantine", ".incoming"
COMMIT_EVERY = 0.5  # seconds between commits of the ledger during a run
ANY_YEAR = range(1900, 3000)  # a claimed period is compared, not limited to the plan years


@dataclass(frozen=True)
class CollectRow:
    """What happened to one received file."""

    source: str
    name: str  # the name it was received under
    status: str
    unit_code: str = ""
    reason: str = ""
    detail: str = ""  # technical detail for the office (part, cell, signal)
    stored_path: str = ""  # relative to the workspace root
    sender: str = ""
    submission_id: int | None = None
    new: bool = True  # False: collected before, left as it was


@dataclass(frozen=True)
class CollectReport:
    period: str
    rows: tuple[CollectRow, ...]
    skipped: tuple[sources.Skipped, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Files by status (every row, new or collected before)."""
        return dict(Counter(row.status for row in self.rows))

    @property
    def new(self) -> int:
        return sum(1 for row in self.rows if row.new)


@dataclass(frozen=True)
class Options:
    """Limits of a collect run; the defaults suit real templates."""

    limits: Limits = Limits()
    workers: int = sandbox.DEFAULT_WORKERS
    memory_mb: int = sandbox.DEFAULT_MEMORY_MB
    timeout: float = sandbox.DEFAULT_TIMEOUT
    reader: object = field(default=None, compare=False)  # sandbox reader hook (tests)


@dataclass
class _Pending:
    """A file staged to be checked and read."""

    item: sources.Incoming
    sha: str
    staged: Path
    size: int


class _Run:
    def __init__(self, workspace, period: Period, lang: str, now: dt.datetime):
        self.workspace = workspace
        self.period = period
        self.lang = lang
        self.received_at = ledger.iso(now)
        self.folder = workspace.period_dir(period)
        units = workspace.tasklist.units
        self.units = {u.code: u for u in units}
        self.by_email = {e.strip().lower(): u.code for u in units for e in u.emails}
        self.rows: list[CollectRow] = []
        self.committed = time.monotonic()
        self.made: set[Path] = set()  # folders made in this run

    def commit(self, conn) -> None:
        """Commit what is recorded, at most every ``COMMIT_EVERY`` seconds (and at the end).
        A run stopped in between loses no file: the originals are where they were, and
        collecting them again records them."""
        if time.monotonic() - self.committed >= COMMIT_EVERY:
            conn.commit()
            self.committed = time.monotonic()

    # --- text ---------------------------------------------------------------------

    def text(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    def reason(self, code: str, **fields) -> str:
        return self.text(f"collect.reason.{code}", **fields)

    def join(self, notes) -> str:
        return self.text("collect.note.separator").join(n for n in notes if n)

    def unit_label(self, code: str) -> str:
        unit = self.units.get(code)
        return f"{unit.name}（{code}）" if unit and self.lang == "zh" else (
            f"{unit.name} ({code})" if unit else code)

    # --- files --------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.workspace.root).as_posix()
        except ValueError:
            return str(path)

    def place(self, content, sha: str, ext: str, unit: str, where: str, why: str = "",
              item: sources.Incoming | None = None) -> str:
        """Put the copy under received/ or quarantine/ with a generated name.

        ``content`` is the staged file (moved into place), the bytes, or None when
        nothing can be kept (too large, unreadable): then only the note is written.
        Returns the stored path relative to the workspace, or "" when nothing was kept.
        """
        dest = self.folder / where / f"{unit or 'unknown'}_{sha[:12]}.{ext}"
        self.folder_for(dest)
        if isinstance(content, Path):
            os.replace(content, dest)
        elif content is not None and not dest.exists():
            write_bytes(dest, content, durable=False)  # a copy: the original is kept where it is
        if where == QUARANTINE and item is not None:
            note = "\n".join([why, item.original_name, item.source, f"sha256 {sha}"]) + "\n"
            write_text(dest.with_name(dest.name + ".txt"), note)
        return self.relative(dest) if content is not None else ""

    def folder_for(self, path: Path) -> None:
        """Make the folder ``path`` goes in, once a run."""
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)

    def sender_unit(self, item: sources.Incoming) -> str:
        return self.by_email.get(item.sender.lower(), "") if item.sender else ""

    def foreign(self, sub: ledger.Submission) -> bool:
        """Sent from the address of a unit other than the one the file is for."""
        owner = self.by_email.get((sub.sender or "").lower(), "")
        return bool(owner) and owner != sub.unit_code

    def superseded_reason(self, current: ledger.Submission, old: ledger.Submission) -> str:
        if self.foreign(old) and not self.foreign(current):
            return self.reason("superseded_foreign", id=current.id,
                               sender_unit=self.unit_label(self.by_email[old.sender.lower()]))
        return self.reason("superseded", id=current.id, sent=_when(current.sent))

    def base(self, item: sources.Incoming, sha: str, size: int, fmt: str) -> ledger.Submission:
        return ledger.Submission(
            period=self.period.code, sha256=sha, size=size, original_name=item.original_name,
            source=item.source, status="received", received_at=self.received_at,
            sender=item.sender, message_id=item.message_id,
            sent_at=ledger.iso(item.sent_at) or self.received_at, format=fmt)

    def add(self, sub: ledger.Submission, detail: str = "", new: bool = True) -> None:
        self.rows.append(CollectRow(sub.source, sub.original_name, sub.status, sub.unit_code,
                                    sub.reason, detail, sub.stored_path, sub.sender, sub.id,
                                    new))


def collect(workspace, period: Period | str, paths, *, lang: str | None = None,
            options: Options = Options(), now: dt.datetime | None = None) -> CollectReport:
    """Collect every file under ``paths`` for ``period`` into the workspace's ledger."""
    from toolkit.store import connect

    period = period if isinstance(period, Period) else parse_period(period)
    run = _Run(workspace, period, lang or workspace.config.lang,
               now or dt.datetime.now().astimezone())
    expansion = sources.expand(paths, exclude=[workspace.outputs])
    conn = connect(workspace.db_path)
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: each file's row is still atomic
    try:
        duplicates: list = []
        _read_and_record(run, conn, _screen(run, conn, expansion.items, options, duplicates),
                         options)
        for item, sha, size, fmt in duplicates:
            _record_duplicate(run, conn, item, sha, size, fmt)
        conn.commit()
        finals = {s.id: s for s in ledger.submissions(conn, period.code)}
    finally:
        conn.close()
        staging = run.folder / STAGING
        with contextlib.suppress(OSError):
            staging.rmdir()
    order = {item.source: i for i, item in enumerate(expansion.items)}
    rows = sorted((_refresh(row, finals.get(row.submission_id)) for row in run.rows),
                  key=lambda row: order.get(row.source, len(order)))
    return CollectReport(period.code, tuple(rows), expansion.skipped)


def _refresh(row: CollectRow, sub: ledger.Submission | None) -> CollectRow:
    """A row as the ledger has it at the end (a file may be superseded later in the run,
    one collected before too: then its reason says so, else it keeps "collected before")."""
    if sub is None or (not row.new and sub.status == row.status):
        return row
    return _replace(row, status=sub.status, reason=sub.reason)


def _screen(run: _Run, conn, items, options: Options, duplicates: list):
    """Hash each file and yield it to be checked and read (a ``_Pending``, its scratch copy
    staged), or record it at once: collected before, a copy of one seen, too large or
    unreadable. Copies go to ``duplicates``, recorded once the files they copy are."""
    limits = options.limits
    seen: set[str] = set()
    listed: set[tuple[str, str]] = set()
    staging = run.folder / STAGING
    for item in items:
        detail, verdict = "", None
        try:
            data = item.read(limits.max_bytes + 1)
        except sources.Unreadable as exc:
            data, verdict, detail = b"", Verdict("unknown", "unreadable"), str(exc)
        sha = hashlib.sha256(data).hexdigest()  # over the first max_bytes+1 when too large
        if (sha, item.source) in listed:
            continue  # the very same file reached twice (overlapping paths, a repeated message)
        listed.add((sha, item.source))
        before = ledger.find(conn, run.period.code, sha, item.source)
        if before is not None:
            run.add(before, new=False)
            run.rows[-1] = _replace(run.rows[-1], reason=run.text("collect.note.already",
                                                                  id=before.id))
            continue
        verdict = verdict or check_size(len(data), limits)
        size = max(len(data), item.size) if verdict and verdict.reason == "too_large" \
            else len(data)
        first = ledger.first_with_hash(conn, run.period.code, sha)
        if sha in seen or first is not None and first.status != "rejected":
            duplicates.append((item, sha, size, verdict.format if verdict else ""))
            continue  # a copy of a refused file is looked at again: see first_with_hash
        seen.add(sha)
        if verdict is not None:  # nothing to keep: only the note is written
            _reject(run, conn, item, sha, size, verdict, None, detail or verdict.detail)
            continue
        # what it really is, the checks in the sandbox say; the reader needs the name of
        # an .xls to say so (a zip workbook is told by its bytes)
        staged = staging / (sha[:12] + (".xls" if data.startswith(OLE_MAGIC) else ""))
        run.folder_for(staged)
        # a scratch copy, checked and read by the sandbox, then moved into place whole:
        # nothing reads a half-written one (a run that fails leaves it, the next overwrites it)
        with open(staged, "wb") as handle:
            handle.write(data)
        yield _Pending(item, sha, staged, len(data))


def _reject(run: _Run, conn, item, sha, size, verdict: Verdict, content, detail: str,
            code: str = "") -> None:
    """Record a refused file (``code`` overrides the verdict's reason) and quarantine it."""
    reason = run.reason(code) if code else run.reason(verdict.reason, **verdict.fields)
    unit = run.sender_unit(item)
    stored = run.place(content, sha, verdict.extension, unit, QUARANTINE, reason, item)
    sub = ledger.record(conn, _replace(run.base(item, sha, size, verdict.format),
                                       status="rejected", reason=reason, unit_code=unit,
                                       stored_path=stored))
    run.commit(conn)
    run.add(sub, detail)


def _read_and_record(run: _Run, conn, pending, options: Options) -> None:
    """Check and read the staged files in the sandbox and record each as its values arrive,
    while the readers go on with the next files (and this process stages them)."""
    entries: deque[_Pending] = deque()

    def staged():
        for entry in pending:
            entries.append(entry)
            yield entry.staged

    worker = functools.partial(_check_and_read, options.reader, options.limits)
    results = sandbox.read_each(staged(), workers=options.workers,
                                memory_mb=options.memory_mb, timeout=options.timeout,
                                reader=worker)
    try:
        for result in results:
            _record_read(run, conn, entries.popleft(), result)
    finally:
        results.close()  # on an error here, the readers stop now, not when it is collected


@dataclass(frozen=True)
class _Read:
    """What the ledger keeps of a file, worked out in the reader process: the verdict of
    the pre-parse checks and, when it passed, the identity and the values."""

    verdict: Verdict
    reading: object = None  # toolkit.read.IdentityReading
    values_json: str = ""


def _check_and_read(reader, limits: Limits, path) -> _Read:
    """Run the pre-parse checks on the file at ``path``, and read it when it passes, with
    ``reader`` (None: ``read_submission``, given the bytes and the parts the checks
    inflated). Runs in the sandbox's worker, so that this process only records."""
    from toolkit.read import read_identity, read_submission, values_to_json

    with open(path, "rb") as handle:
        data = handle.read()
    verdict, parts = inspect(data, limits)
    if not verdict.ok:
        return _Read(verdict)
    values = read_submission(path, verdict.format, data, parts) if reader is None \
        else reader(path)
    del data, parts
    return _Read(verdict, read_identity(values), values_to_json(values))


def _record_read(run: _Run, conn, entry: _Pending, result: sandbox.ReadResult) -> None:
    item, sha = entry.item, entry.sha
    size = entry.size
    if not result.ok:  # the reader failed: what the file is, its first bytes say
        code = "encrypted" if result.failure == sandbox.ENCRYPTED else f"read_{result.failure}"
        verdict = Verdict(sniff_format(entry.staged.read_bytes()))
        _reject(run, conn, item, sha, size, verdict, entry.staged, result.detail, code=code)
        return
    verdict = result.values.verdict
    if not verdict.ok:
        _reject(run, conn, item, sha, size, verdict, entry.staged, verdict.detail)
        return
    reading = result.values.reading
    sub, where = _identify(run, item, reading, verdict)
    stored = run.place(entry.staged, sha, verdict.extension, sub.unit_code, where, sub.reason,
                       item)
    sub = ledger.record(conn, _replace(sub, sha256=sha, size=size, stored_path=stored))
    ledger.store_values(conn, sub.id, result.values.values_json)
    if sub.status == "received":
        ledger.supersede(conn, run.period.code, sub.unit_code, reason=run.superseded_reason,
                         foreign=run.foreign)
    run.commit(conn)
    run.add(sub, "; ".join(reading.disagreements))


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


def _identify(run: _Run, item, reading, verdict: Verdict):
    """Status, folder and notes from the identity copies, the sender and the period."""
    identity = reading.identity
    notes = []
    if reading.disagreements:
        fields = ", ".join(d.split(":", 1)[0] for d in reading.disagreements)
        notes.append(run.text("collect.note.identity_disagree", fields=fields))
    claimed_unit = identity.unit_code if identity else ""
    unit = claimed_unit if claimed_unit in run.units else ""
    if claimed_unit and not unit:
        notes.append(run.text("collect.note.unknown_unit_code", code=claimed_unit))
    by_sender = run.sender_unit(item)
    if not unit and by_sender:
        unit = by_sender
        notes.append(run.text("collect.note.unit_by_sender", unit=run.unit_label(by_sender)))
    elif unit and by_sender and by_sender != unit:
        notes.append(run.text("collect.note.sender_other_unit",
                              sender_unit=run.unit_label(by_sender), unit=run.unit_label(unit)))
    if verdict.macros:
        notes.append(run.text("collect.note.macros"))
    claimed_period = identity.period if identity else ""
    status, where = "received", RECEIVED
    if not unit:
        status, where = "unidentified", QUARANTINE
        notes.insert(0, run.reason("unidentified"))
    elif claimed_period:
        try:
            other = parse_period(claimed_period, years=ANY_YEAR).code != run.period.code
        except PeriodError:  # text typed over the identity
            other = True
            notes.append(run.text("collect.note.period_unknown", claimed=claimed_period))
        if other:
            status, where = "other_period", QUARANTINE
            notes.insert(0, run.reason("other_period", claimed=claimed_period,
                                       period=run.period.code))
    sub = run.base(item, "", 0, verdict.format)
    sub = _replace(sub, status=status, unit_code=unit, reason=run.join(notes),
                   period_claimed=claimed_period,
                   template_version=identity.template_version if identity else "",
                   fingerprint=identity.fingerprint if identity else "")
    return sub, where


def _record_duplicate(run: _Run, conn, item, sha: str, size: int, fmt: str) -> None:
    """Record a byte-identical copy: a duplicate of the first, or refused as it was."""
    first = ledger.first_with_hash(conn, run.period.code, sha)
    sub = run.base(item, sha, size, first.format or fmt)
    if first.status == "rejected":  # the first copy in this run was refused while reading
        sub = _replace(sub, status="rejected", reason=first.reason,
                       unit_code=run.sender_unit(item), stored_path=first.stored_path)
    else:
        sub = _replace(sub, status="duplicate",
                       reason=run.reason("duplicate", id=first.id, name=first.original_name),
                       unit_code=first.unit_code, stored_path=first.stored_path,
                       period_claimed=first.period_claimed,
                       template_version=first.template_version, fingerprint=first.fingerprint)
    sub = ledger.record(conn, sub)
    run.commit(conn)
    run.add(sub)
