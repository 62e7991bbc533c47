"""Take in every returned workbook of a period and record it in the ledger.

For each received file: SHA-256; the pre-parse checks (``safety``); a copy under
``outputs/<PERIOD>/received/`` with a generated name ``<unit>_<sha12>.<ext>``
(refused, unreadable and unidentified files go to ``quarantine/`` with a
``.txt`` beside them saying why); the values read in a child process
(``sandbox``) and kept in the database, so later stages never re-read the file;
the identity's three copies cross-checked; the unit also matched by the
sender's address; the period checked; a ledger row with a status.

Originals are only ever read. Collecting the same inputs again changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field, replace as _replace
from pathlib import Path

from toolkit import ledger, sandbox, sources
from toolkit.atomic import write_bytes, write_text
from toolkit.catalogue import t
from toolkit.errors import PeriodError
from toolkit.periods import Period, parse_period
from toolkit.safety import Limits, Verdict, check

RECEIVED, QUARANTINE, STAGING = "received", "quarantine", ".incoming"
POOLED_CHECKS_FROM = 64  # from this many files on, the pre-parse checks use every core
CHECK_AHEAD = 32  # files in a window read ahead of the one being recorded...
CHECK_AHEAD_BYTES = 32 * 1024 * 1024  # ...and at most this many of their bytes
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
    """A file that passed the checks, waiting to be read."""

    item: sources.Incoming
    sha: str
    verdict: Verdict
    staged: Path


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
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            os.replace(content, dest)
        elif content is not None and not dest.exists():
            write_bytes(dest, content, durable=False)  # a copy: the original is kept where it is
        if where == QUARANTINE and item is not None:
            note = "\n".join([why, item.original_name, item.source, f"sha256 {sha}"]) + "\n"
            write_text(dest.with_name(dest.name + ".txt"), note)
        return self.relative(dest) if content is not None else ""

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
        pending, duplicates = _screen(run, conn, expansion.items, options)
        _read_and_record(run, conn, pending, options)
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


def _read_ahead(run: _Run, conn, items, options: Options):
    """Each item as (item, bytes, sha, verdict so far, detail, pending check or None).

    With many files the pre-parse checks (pure functions of the bytes) are handed
    to worker processes a window of files ahead, so that they run on every core
    while this process hashes, records and stages. Files already in the ledger
    are not checked again; the same bytes are checked once.
    """
    limits = options.limits
    pool = None
    if options.workers > 1 and len(items) >= POOLED_CHECKS_FROM:
        from concurrent.futures import ProcessPoolExecutor

        from toolkit.processes import context

        pool = ProcessPoolExecutor(options.workers, mp_context=context())
    checks: dict[str, object] = {}
    window: list[tuple] = []
    previous: list[tuple] = []
    held = 0
    try:
        for item in items:
            detail, verdict = "", None
            try:
                data = item.read(limits.max_bytes + 1)
            except sources.Unreadable as exc:
                data, verdict, detail = b"", Verdict("unknown", "unreadable"), str(exc)
            sha = hashlib.sha256(data).hexdigest()  # over the first max_bytes+1 when too large
            if pool is not None and verdict is None and sha not in checks \
                    and ledger.find(conn, run.period.code, sha, item.source) is None:
                checks[sha] = pool.submit(check, data, limits)
            window.append((item, data, sha, verdict, detail, checks.get(sha)))
            held += len(data)
            if len(window) >= CHECK_AHEAD or held >= CHECK_AHEAD_BYTES:
                yield from previous  # while the checks of this window are under way
                previous, window, held = window, [], 0
        yield from previous
        yield from window
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _checked(data: bytes, limits: Limits, ahead) -> Verdict:
    """The verdict a worker worked out, or worked out here (no worker, or it failed)."""
    if ahead is not None:
        try:
            return ahead.result()
        except Exception:  # noqa: BLE001 - a worker that died: check here, as without one
            pass
    return check(data, limits)


def _screen(run: _Run, conn, items, options: Options):
    """Hash and check each file; refuse, skip or stage it for reading."""
    limits = options.limits
    pending: list[_Pending] = []
    duplicates = []
    seen: set[str] = set()
    listed: set[tuple[str, str]] = set()
    for item, data, sha, verdict, detail, ahead in _read_ahead(run, conn, items, options):
        if (sha, item.source) in listed:
            continue  # the very same file reached twice (overlapping paths, a repeated message)
        listed.add((sha, item.source))
        before = ledger.find(conn, run.period.code, sha, item.source)
        if before is not None:
            run.add(before, new=False)
            run.rows[-1] = _replace(run.rows[-1], reason=run.text("collect.note.already",
                                                                  id=before.id))
            continue
        verdict = verdict or _checked(data, limits, ahead)
        size = max(len(data), item.size) if verdict.reason == "too_large" else len(data)
        first = ledger.first_with_hash(conn, run.period.code, sha)
        if sha in seen or first is not None and first.status != "rejected":
            duplicates.append((item, sha, size, verdict.format))
            continue  # a copy of a refused file is looked at again: see first_with_hash
        seen.add(sha)
        if not verdict.ok:
            keep = data if verdict.reason not in ("too_large", "unreadable") else None
            _reject(run, conn, item, sha, size, verdict, keep, detail or verdict.detail)
            continue
        staged = run.folder / STAGING / f"{sha[:12]}.{verdict.extension}"
        if not pending:
            staged.parent.mkdir(parents=True, exist_ok=True)
        # a scratch copy, read by the sandbox, then moved into place whole: nothing reads
        # a half-written one (a run that fails leaves it, and the next overwrites it)
        with open(staged, "wb") as handle:
            handle.write(data)
        pending.append(_Pending(item, sha, verdict, staged))
    return pending, duplicates


def _reject(run: _Run, conn, item, sha, size, verdict: Verdict, content, detail: str,
            code: str = "") -> None:
    """Record a refused file (``code`` overrides the verdict's reason) and quarantine it."""
    reason = run.reason(code) if code else run.reason(verdict.reason, **verdict.fields)
    unit = run.sender_unit(item)
    stored = run.place(content, sha, verdict.extension, unit, QUARANTINE, reason, item)
    sub = ledger.record(conn, _replace(run.base(item, sha, size, verdict.format),
                                       status="rejected", reason=reason, unit_code=unit,
                                       stored_path=stored))
    conn.commit()
    run.add(sub, detail)


def _read_and_record(run: _Run, conn, pending: list[_Pending], options: Options) -> None:
    """Read the staged files in the sandbox and record each as its values arrive, while
    the readers go on with the next files."""
    reader = functools.partial(_read_for_ledger, options.reader or sandbox.default_reader)
    results = sandbox.read_each([p.staged for p in pending], workers=options.workers,
                                memory_mb=options.memory_mb, timeout=options.timeout,
                                reader=reader)
    try:
        for entry, result in zip(pending, results):
            _record_read(run, conn, entry, result)
    finally:
        results.close()  # on an error here, the readers stop now, not when it is collected


@dataclass(frozen=True)
class _Read:
    """What the ledger keeps of a read file, worked out in the reader process."""

    reading: object  # toolkit.read.IdentityReading
    values_json: str


def _read_for_ledger(reader, path) -> _Read:
    """Read ``path`` with ``reader`` and prepare its record (in the sandbox's worker, so
    that this process only records)."""
    from toolkit.read import read_identity, values_to_json

    values = reader(path)
    return _Read(read_identity(values), values_to_json(values))


def _record_read(run: _Run, conn, entry: _Pending, result: sandbox.ReadResult) -> None:
    item, sha, verdict = entry.item, entry.sha, entry.verdict
    size = entry.staged.stat().st_size
    if not result.ok:
        code = "encrypted" if result.failure == sandbox.ENCRYPTED else f"read_{result.failure}"
        _reject(run, conn, item, sha, size, verdict, entry.staged, result.detail, code=code)
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
    conn.commit()
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
    conn.commit()
    run.add(sub)
