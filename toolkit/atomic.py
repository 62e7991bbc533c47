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


def _settle(path: str) -> None:
    """Give the finished file the permissions of any new file, and flush it to disk."""
    os.chmod(path, 0o666 & ~_umask())  # mkstemp makes 0600: colleagues could not open it
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike):
    """Yield a temporary path in ``dest``'s folder; on success rename it over ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=dest.suffix + ".part",
                               dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        _settle(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes(dest: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text(dest: str | os.PathLike, text: str) -> Path:
    return write_bytes(dest, text.encode("utf-8"))
