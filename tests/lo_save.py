"""Save workbooks from LibreOffice through UNO in another format, with a password if asked.

Run with the system Python that has python3-uno (not the project's virtualenv):

    python3 tests/lo_save.py job.json

job.json: {"profile": DIR, "files": [{"src": PATH, "dest": PATH, "filter": NAME,
    "password": TEXT (optional)}]}  — filters such as "MS Excel 97" (.xls) or "calc8" (.ods).

One soffice process serves every file, as a clerk's office suite would save them.
Prints {"saved": [dest, ...]}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lo_uno import load, prop, run, url


def save(desktop, job: dict) -> str:
    doc = load(desktop, job["src"])
    try:
        args = [prop("FilterName", job["filter"]), prop("Overwrite", True)]
        if job.get("password"):
            args.append(prop("Password", job["password"]))
        doc.storeToURL(url(job["dest"]), tuple(args))
    finally:
        doc.close(True)
    return job["dest"]


def main(argv) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    saved = run(spec["profile"], lambda desktop: [save(desktop, job) for job in spec["files"]],
                prefix="save")
    print(json.dumps({"saved": saved}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
