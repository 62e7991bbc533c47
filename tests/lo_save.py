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
    pipe = f"save{uuid.uuid4().hex[:12]}"
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


def save(desktop, job: dict) -> str:
    doc = desktop.loadComponentFromURL(url(job["src"]), "_blank", 0, (prop("Hidden", True),))
    if doc is None:
        raise SystemExit(f"LibreOffice could not open {job['src']}")
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
    os.makedirs(spec["profile"], exist_ok=True)
    proc, desktop = start(spec["profile"])
    try:
        saved = [save(desktop, job) for job in spec["files"]]
    finally:
        try:
            desktop.terminate()
        except Exception:  # the bridge closes as soffice exits
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps({"saved": saved}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
