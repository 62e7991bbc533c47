"""Write outputs atomically: to a temporary file beside the target, then rename.

A failure part-way never leaves a broken or half-written file in place of the
last good one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _settle(path: str, durable: bool) -> None:
    """Give the finished file the permissions of any new file; flush it to disk if durable."""
    os.chmod(path, 0o666 & ~_umask())  # mkstemp makes 0600: colleagues could not open it
    if durable:
        with open(path, "r+b") as handle:  # Windows flushes only a handle that may write
            os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, durable: bool = True):
    """Yield a temporary path in ``dest``'s folder; on success rename it over ``dest``.

    ``durable=False`` skips the flush to disk: for copies of files that are still
    where they came from (collect's received copies), where a flush per file would
    cost more than all the rest of taking a thousand files in.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=dest.suffix + ".part",
                               dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _settle(tmp, durable)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(dest: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    with atomic_path(dest, durable) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text(dest: str | os.PathLike, text: str) -> Path:
    return write_bytes(dest, text.encode("utf-8"))
