"""The floor: the least any reader must do — open each file's zip, inflate its sheet XML.

``python -m benchmarks.floor DIR`` reads every .xlsx under DIR in one process
(each ``xl/worksheets/*.xml`` part and ``xl/sharedStrings.xml``, nothing parsed)
and prints {"files": n, "bytes": inflated bytes, "seconds": time spent reading,
"cpu_seconds": CPU time spent reading} as JSON. The seconds exclude interpreter
start-up: that is the floor the stages are compared with.

``python -m benchmarks.floor --copy-to FOLDER DIR`` measures instead what keeping
the files costs on FOLDER's disk, as collect keeps a copy of each file it takes
in: each file read and written to a new file there ("bytes": bytes written).
"""

from __future__ import annotations

import json
import sys
import time
import zipfile
from pathlib import Path


def is_sheet_part(name: str) -> bool:
    return (name.startswith("xl/worksheets/") and name.endswith(".xml")) \
        or name == "xl/sharedStrings.xml"


def read_floor(paths) -> tuple[int, int]:
    """Open each workbook's zip and read its sheet XML; (files read, bytes inflated)."""
    files = inflated = 0
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if is_sheet_part(name):
                    inflated += len(archive.read(name))
        files += 1
    return files, inflated


def write_copies(paths, folder: Path) -> tuple[int, int]:
    """Write a copy of each file into ``folder``, a new file each, not flushed to disk (as
    collect keeps its copies); (files written, bytes written)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = written = 0
    for path in paths:
        data = Path(path).read_bytes()
        with open(folder / f"{files:06d}.xlsx", "wb") as handle:
            handle.write(data)
        files, written = files + 1, written + len(data)
    return files, written


def workbooks(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.xlsx") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    copies = None
    if argv[:1] == ["--copy-to"] and len(argv) == 3:
        copies, argv = Path(argv[1]), argv[2:]
    if len(argv) != 1:
        print("usage: python -m benchmarks.floor [--copy-to FOLDER] DIR", file=sys.stderr)
        return 2
    paths = workbooks(Path(argv[0]))
    start, cpu = time.perf_counter(), time.process_time()
    files, size = read_floor(paths) if copies is None else write_copies(paths, copies)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"files": files, "bytes": size, "seconds": seconds,
                      "cpu_seconds": cpu}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
