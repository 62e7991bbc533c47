"""Text files parsed once: what a parse gave, kept as JSON, so that a command need not
parse again files that have not changed (the catalogue, a 1,000-unit toolkit.toml).

A kept parse is named by a digest of the files' bytes and of what parsed them (the
parsing library, and the module that called it): an edited file is parsed again,
whatever its time stamp says. Only data JSON gives back exactly is kept (text, numbers,
true/false, dates and times, lists, tables, whatever their keys), and only while it is
no bigger than its files (YAML aliases can make it many times bigger); anything else
is parsed every time. A cache folder that cannot be read or written, or a kept parse
that will not read back (or is no plain file, or far bigger than its files), is passed
over: the files are then parsed, as without one.

The folder is ``$TOOLKIT_CACHE`` when set (empty: keep nothing), else the user's cache
folder (``%LOCALAPPDATA%`` on Windows, ``$XDG_CACHE_HOME`` or ``~/.cache`` elsewhere).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

ENV_CACHE = "TOOLKIT_CACHE"
FORMAT = b"parsed-2"  # how a kept parse is written: a change here parses everything again


def cache_folder() -> Path | None:
    """Where kept parses go; None when ``$TOOLKIT_CACHE`` is set empty."""
    given = os.environ.get(ENV_CACHE)
    if given is not None:
        return Path(given) if given else None
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "urbanization-toolkit" / "parsed"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "urbanization-toolkit" / "parsed"


def name_for(kind: str, path) -> str:
    """The name of a file's kept parse (``parsed``): its ``kind`` and where it is, so that
    one file's parse never replaces another's."""
    return f"{kind}-" + hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()


def text_of(raw: bytes) -> str:
    """``raw`` as ``Path.read_text(encoding="utf-8")`` reads it: any line ending as \\n."""
    return raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def parser(module: str, caller: str) -> bytes:
    """What tells one way of parsing from another, without importing the parsing
    ``module``: Python's version (a module of its own, as tomllib, goes with it), the
    module's source (a package's ``__init__``, which names its version) and the source
    of ``caller`` (the ``__file__`` of the module that parses)."""
    import importlib.util
    import sys

    out = [f"{module} {sys.version}".encode()]
    with contextlib.suppress(ImportError, ValueError, OSError, TypeError):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            out.append(Path(spec.origin).read_bytes())
    with contextlib.suppress(OSError):
        out.append(Path(caller).read_bytes())
    return b"\0".join(out)


def parsed(name: str, sources: list[bytes], parse, by: bytes):
    """What ``parse()`` gives for ``sources`` (the bytes it parses), from the parse kept
    for these very bytes when there is one. ``name`` tells one kept parse from another
    (a newer parse of the same name replaces it; letters, digits and dashes); ``by``
    tells what parses (``parser``): another way parses again."""
    folder = cache_folder()
    if folder is None:
        return parse()
    digest = hashlib.blake2b(FORMAT, digest_size=16)
    for part in (by, *sources):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    key = digest.hexdigest()
    kept, size = folder / f"{name}-{key}.json", sum(map(len, sources))
    with contextlib.suppress(Exception):  # none yet, unreadable, or not what it should be
        back = json.loads(_read_kept(kept, _MOST_PER_BYTE * size + 1_000_000),
                          object_hook=_decode)
        if isinstance(back, dict) and back.keys() == {"key", "data"} and back["key"] == key:
            return back["data"]
    data = parse()
    _keep(kept, name, key, data, size)
    return data


# the most bytes of JSON a byte of the files may become (a control character: \u0000)
_MOST_PER_BYTE = 8


def _read_kept(path: Path, most: int) -> bytes:
    """The bytes of a kept parse: a plain file of at most ``most`` bytes, opened without
    waiting (a pipe or a device put in its place would make a command hang)."""
    import stat

    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(handle, "rb") as file:
        found = os.fstat(file.fileno())
        if not stat.S_ISREG(found.st_mode) or found.st_size > most:
            raise OSError(f"{path} is not a kept parse")
        return file.read(most + 1)


class _TooBig(Exception):
    pass


def _keep(path: Path, name: str, key: str, data, size: int) -> None:
    """Write ``data`` to ``path`` when JSON gives it back exactly and it holds no more
    values than its files have bytes; drop older parses of ``name``. Written whole or
    not at all: a parse read half-written would be wrong."""
    from toolkit.atomic import write_bytes

    try:
        plain = _tables(data, [size + 1000])
        text = json.dumps({"key": key, "data": plain}, ensure_ascii=False, allow_nan=False,
                          default=_encode)
        back = json.loads(text, object_hook=_decode)
    except (_TooBig, TypeError, ValueError, RecursionError):  # aliases, NaN, a loop...
        return
    if not _same(back["data"], data):  # a tuple
        return
    with contextlib.suppress(OSError):
        write_bytes(path, text.encode("utf-8"), durable=False)
        for older in path.parent.glob(f"{name}-*.json"):
            if older != path:
                older.unlink(missing_ok=True)


# a date or time, and a table with keys other than text (YAML's years: 2024), as written:
# a table of one key no TOML or YAML key spells this way (and were one to, the check that
# the JSON gives the data back would not keep it)
_TIME_TYPES = {"\0date": dt.date, "\0datetime": dt.datetime, "\0time": dt.time}
_PAIRS = "\0pairs"


def _tables(value, left: list[int]):
    """``value`` with each table whose keys are not all text written as its pairs;
    ``left``: how many more values it may hold (_TooBig past that)."""
    left[0] -= 1
    if left[0] < 0:
        raise _TooBig
    if isinstance(value, dict):
        if all(type(key) is str for key in value):
            return {key: _tables(item, left) for key, item in value.items()}
        return {_PAIRS: [[key, _tables(item, left)] for key, item in value.items()]}
    if isinstance(value, list):
        return [_tables(item, left) for item in value]
    return value


def _encode(value):
    for tag, kind in reversed(_TIME_TYPES.items()):  # a datetime is a date too
        if isinstance(value, kind):
            return {tag: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is kept as no JSON")


def _decode(table: dict):
    if len(table) == 1:
        (tag, text), = table.items()
        kind = _TIME_TYPES.get(tag)
        if kind is not None and isinstance(text, str):
            return kind.fromisoformat(text)
        if tag == _PAIRS and isinstance(text, list):
            with contextlib.suppress(TypeError, ValueError):  # not pairs: the table itself
                return {key: item for key, item in text}
    return table


def _same(back, data) -> bool:
    """Equal and of the same types all through (``==`` takes 1 for 1.0 and True, and
    times at one instant in two zones for the same)."""
    if type(back) is not type(data):
        return False
    if isinstance(data, dict):
        return back.keys() == data.keys() and all(_same(back[k], data[k]) for k in data)
    if isinstance(data, list):
        return len(back) == len(data) and all(map(_same, back, data))
    if isinstance(data, (dt.datetime, dt.time)):  # as written, in the same zone
        return back.isoformat() == data.isoformat()
    return back == data
