"""Fill workbooks in LibreOffice through UNO, the way a clerk types into cells.

Run with the system Python that has python3-uno (not the project's virtualenv):

    python3 tests/lo_fill.py job.json

job.json: {"profile": DIR, "files": [{"src": PATH, "dest": PATH, "cells": [
    {"sheet": NAME, "row": 1-based, "col": 1-based,
     "value": number-or-text | "typed": text entered as if typed (LibreOffice parses it)}]}]}

One soffice process serves every file. Each file is loaded hidden, the cells are
set, and it is stored as xlsx (filter "Calc MS Excel 2007 XML"). Prints a JSON
report: {"files": [{"dest": PATH, "cells": number of cells set}]}.

Cells are set through the API, which does not enforce sheet protection: only
input cells should be listed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lo_uno import load, prop, run, url


def fill(desktop, job: dict) -> dict:
    doc = load(desktop, job["src"])
    try:
        for cell in job["cells"]:
            target = doc.Sheets.getByName(cell["sheet"]).getCellByPosition(cell["col"] - 1,
                                                                            cell["row"] - 1)
            if "typed" in cell:
                target.setFormula(cell["typed"])  # parsed as if typed: dates, numbers
            elif isinstance(cell["value"], (int, float)):
                target.setValue(cell["value"])
            else:
                target.setString(cell["value"])
        doc.storeToURL(url(job["dest"]), (prop("FilterName", "Calc MS Excel 2007 XML"),
                                          prop("Overwrite", True)))
    finally:
        doc.close(True)
    return {"dest": job["dest"], "cells": len(job["cells"])}


def main(argv) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    report = run(spec["profile"], lambda desktop: {
        "files": [fill(desktop, job) for job in spec["files"]]}, prefix="fill")
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
