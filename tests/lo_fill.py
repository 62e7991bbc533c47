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
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import uno  # noqa: F401 - only in the system Python with python3-uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def url(path) -> str:
    return Path(path).resolve().as_uri()


def start(profile: str):
    pipe = f"fill{uuid.uuid4().hex[:12]}"
    proc = subprocess.Popen(
        ["soffice", f"-env:UserInstallation={url(profile)}", "--headless", "--invisible",
         "--nologo", "--norestore", "--nodefault",
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + 60
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("soffice did not accept a connection")
            time.sleep(0.1)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return proc, desktop


def fill(desktop, job: dict) -> dict:
    doc = desktop.loadComponentFromURL(url(job["src"]), "_blank", 0, (prop("Hidden", True),))
    if doc is None:
        raise SystemExit(f"LibreOffice could not open {job['src']}")
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
    os.makedirs(spec["profile"], exist_ok=True)
    proc, desktop = start(spec["profile"])
    try:
        report = {"files": [fill(desktop, job) for job in spec["files"]]}
    finally:
        try:
            desktop.terminate()
        except Exception:  # the bridge closes as soffice exits
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
