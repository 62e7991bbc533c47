"""Read received workbooks in child processes, under a memory cap and a time-out.

A native reader can abort the whole process on a hostile file (python-calamine
asks for hundreds of GB when a sheet claims a cell at XFD1048576), or spin for
minutes. So files from outside are read by a small pool of worker processes:
each worker caps its address space (``RLIMIT_AS``) and every file has a
time-out. A worker that crashes, runs out of memory or overruns is killed and
replaced; its file gets a ``ReadResult`` saying why, and the other files go on.

The reader is a parameter (``reader=``, default ``toolkit.read.read_submission``):
any callable taking a path and returning the values. On Linux workers are
forked, so any callable works; where only ``spawn`` exists it must be a
module-level function.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections import deque
from dataclasses import dataclass

from toolkit import processes

DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT = 60.0
DEFAULT_WORKERS = 2
AHEAD = 4  # files a worker may be handed past the oldest result not yet taken
DEPTH = 2  # files a worker holds at once: the one it reads, and the next waiting in its pipe

# failure kinds; the clerk's message is collect.reason.read_<kind> in the catalogue
CRASH, MEMORY, TIMEOUT, ERROR, ENCRYPTED = "crash", "memory", "timeout", "error", "encrypted"


@dataclass(frozen=True)
class ReadResult:
    """The values read from one file, or why there are none."""

    values: object = None  # toolkit.read.WorkbookValues when the read succeeded
    failure: str = ""  # "", or one of crash, memory, timeout, error, encrypted
    detail: str = ""  # exception text, signal, or the reader's last words on stderr

    @property
    def ok(self) -> bool:
        return not self.failure


def default_reader(path):
    """``toolkit.read.read_submission``: the values and formula cells of a workbook."""
    from toolkit.read import read_submission

    return read_submission(path)


def _address_space() -> int:
    """Bytes of address space this process maps now (0 when unknown)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(extra_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # not on this system: the time-out still holds
        return
    limit = _address_space() + extra_bytes
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _classify(exc: BaseException) -> tuple[str, str]:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MemoryError):
        return MEMORY, text
    if "password" in text.lower() or "encrypt" in text.lower():
        return ENCRYPTED, text
    return ERROR, text


def _serve(conn, reader, memory_bytes: int, stderr_fd: int | None) -> None:
    """A worker's life: read each path it is sent until told to stop."""
    import faulthandler

    faulthandler.disable()  # a crash here is reported by the parent, not dumped on its stderr
    if stderr_fd is not None:
        os.dup2(stderr_fd, 2)  # native crash messages go where the parent can read them
    os.environ["RUST_BACKTRACE"] = "0"
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_memory(memory_bytes)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        if path is None:
            return
        try:
            values = reader(path)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a result
            kind, text = _classify(exc)
            conn.send((kind, text[:500]))
            if kind == MEMORY:
                return  # a heap that ran dry is not trusted with the next file
            continue
        try:
            conn.send(("", values))
        except MemoryError:
            conn.send((MEMORY, "MemoryError while sending the values"))
            return
        except Exception as exc:  # noqa: BLE001 - values that cannot travel
            conn.send((ERROR, f"{type(exc).__name__}: {exc}"[:500]))


class _Worker:
    def __init__(self, ctx, reader, memory_bytes):
        self.conn, child = ctx.Pipe()
        self.stderr = tempfile.TemporaryFile() if ctx.get_start_method() == "fork" else None
        fd = self.stderr.fileno() if self.stderr else None
        self.process = ctx.Process(target=_serve, args=(child, reader, memory_bytes, fd),
                                   daemon=True)
        self.process.start()
        child.close()
        self.tasks: deque[tuple[int, str]] = deque()  # (index, path) sent, the first being read
        self.started = 0.0  # when the first of them began (or this process saw it begin)

    def last_words(self) -> str:
        if self.stderr is None:
            return ""
        with contextlib.suppress(OSError):
            self.stderr.seek(0)
            text = self.stderr.read()[-2000:].decode("utf-8", errors="replace")
            lines = [line for line in text.splitlines() if line.strip()]
            return " | ".join(lines[-3:])[:500]
        return ""

    def stop(self, kill: bool = False) -> None:
        if kill and self.process.is_alive():
            self.process.kill()
        else:
            with contextlib.suppress(OSError, BrokenPipeError):
                self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()
        if self.stderr is not None:
            self.stderr.close()


def _death(worker: _Worker) -> ReadResult:
    worker.process.join(timeout=5)
    code = worker.process.exitcode
    words = worker.last_words()
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        detail = f"reader died with {name}" + (f": {words}" if words else "")
    else:
        detail = f"reader exited with code {code}" + (f": {words}" if words else "")
    lowered = words.lower()
    if "memory allocation" in lowered or "out of memory" in lowered or "memoryerror" in lowered:
        return ReadResult(None, MEMORY, detail)
    return ReadResult(None, CRASH, detail)


def read_all(paths, *, workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB,
             timeout: float = DEFAULT_TIMEOUT, reader=None) -> list[ReadResult]:
    """Read every path in a worker process; one ReadResult per path, in order.

    ``memory_mb`` is the address space a worker may add to what it starts with;
    ``timeout`` the seconds one file may take. Nothing a file does stops the run.
    """
    return list(read_each(paths, workers=workers, memory_mb=memory_mb, timeout=timeout,
                          reader=reader))


def read_each(paths, *, workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB,
              timeout: float = DEFAULT_TIMEOUT, reader=None):
    """``read_all`` as a stream: yield each path's ReadResult in order, as soon as it and
    those before it are read. A worker holds up to ``DEPTH`` files, the next one waiting
    in its pipe while it reads one, so it never waits for the caller to record a result
    before going on. Files are handed out at most ``AHEAD`` per worker past the oldest
    not yet yielded, which bounds the results held here while a slow file is read.

    ``paths`` may be any iterable: it is taken one path at a time, as a reader is free
    for it, so the caller may still be preparing the later files while the first are read.
    A file waiting behind one that crashed its worker is handed to another, never blamed.
    """
    from multiprocessing.connection import wait

    source = enumerate(paths)
    upcoming = next(source, None)  # (index, path) not yet handed out
    if upcoming is None:
        return
    ctx = processes.context()
    reader = reader or default_reader
    memory_bytes = int(memory_mb) * 1024 * 1024
    done: dict[int, ReadResult] = {}
    again: deque[tuple[int, str]] = deque()  # held by a worker that died before reading them
    following = 0  # the next index to yield
    pool: list[_Worker] = []
    size = max(1, workers)
    ahead = AHEAD * size
    try:
        while upcoming is not None or again or following in done or \
                any(w.tasks for w in pool):
            while True:
                task = again[0] if again else upcoming
                if task is None or task[0] >= following + ahead:
                    break
                worker = _next_worker(pool, size, ctx, reader, memory_bytes)
                if worker is None:
                    break
                try:
                    worker.conn.send(str(task[1]))
                except (OSError, BrokenPipeError):  # it died: on the file it was reading, if any
                    _retire(worker, pool, done, again,
                            _last_answer(worker) if worker.tasks else None)
                    continue
                if not worker.tasks:
                    worker.started = time.monotonic()
                worker.tasks.append((task[0], str(task[1])))
                if again:
                    again.popleft()
                else:
                    upcoming = next(source, None)
            if following in done:
                yield done.pop(following)
                following += 1
                continue
            _collect(pool, done, timeout, wait, again)
    finally:
        for worker in pool:
            worker.stop(kill=bool(worker.tasks))


def _next_worker(pool: list, size: int, ctx, reader, memory_bytes: int):
    """The worker to hand the next file to: an idle one, else a new one while the pool is
    not full, else the least busy with room in its pipe; None when all are full."""
    idle = next((w for w in pool if not w.tasks), None)
    if idle is not None:
        return idle
    if len(pool) < size:
        pool.append(_Worker(ctx, reader, memory_bytes))
        return pool[-1]
    return min((w for w in pool if len(w.tasks) < DEPTH), key=lambda w: len(w.tasks),
               default=None)


def _last_answer(worker: _Worker) -> ReadResult:
    """What a worker found dead said of the file it was reading: the answer it sent before
    it went (a reader whose heap ran dry answers, then exits), else how it died."""
    with contextlib.suppress(EOFError, OSError):
        if worker.conn.poll():
            kind, payload = worker.conn.recv()
            return ReadResult(payload) if not kind else ReadResult(None, kind, str(payload))
    return _death(worker)


def _retire(worker: _Worker, pool: list, done: dict, again: deque,
            result: ReadResult | None = None) -> None:
    """Take ``worker`` out of the pool; ``result`` is the file it was reading (when it died
    on it), and the files waiting behind that one go to another worker."""
    pool.remove(worker)
    worker.stop(kill=True)
    if result is not None and worker.tasks:
        done[worker.tasks.popleft()[0]] = result
    waiting = sorted([*again, *worker.tasks])  # in order, wherever they came from
    worker.tasks.clear()
    again.clear()
    again.extend(waiting)


def _collect(pool: list, done: dict, timeout: float, wait, again: deque) -> None:
    """Wait for at least one busy worker to answer, die or overrun; file its result."""
    busy = [w for w in pool if w.tasks]
    now = time.monotonic()
    wait_for = max(0.0, min(w.started + timeout - now for w in busy))
    ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=wait_for)
    for worker in busy:
        result = None
        if worker.conn in ready:
            try:
                kind, payload = worker.conn.recv()
                result = (ReadResult(payload) if not kind
                          else ReadResult(None, kind, str(payload)))
                if kind == MEMORY:
                    worker.process.join(timeout=5)
            except (EOFError, OSError):
                result = _death(worker)
        elif worker.process.sentinel in ready:
            result = _death(worker)
        elif time.monotonic() - worker.started > timeout:
            worker.process.kill()
            result = ReadResult(None, TIMEOUT, f"no answer within {timeout:g} s")
        if result is None:
            continue
        # a worker is retired on what a file did to it; one that died after answering is
        # found on the next file it holds (its pipe's end, or as it is handed one)
        if result.failure in (TIMEOUT, CRASH, MEMORY):
            _retire(worker, pool, done, again, result)
            continue
        done[worker.tasks.popleft()[0]] = result
        worker.started = time.monotonic()  # the next in its pipe begins now


def read_one(path, **options) -> ReadResult:
    """Read one file in a child process (see ``read_all`` for the options)."""
    return read_all([path], workers=1, **options)[0]
