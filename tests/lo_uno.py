"""LibreOffice through UNO, for the scripts the tests run with the system Python.

``run(profile, work, prefix)`` starts one soffice on a private profile, calls
``work(desktop)`` and always shuts soffice down; ``load`` opens a file hidden.
Only the system Python with python3-uno can import this (not the virtualenv).
"""

from __future__ import annotations

import os
import subprocess
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


def _start(profile: str, prefix: str):
    pipe = f"{prefix}{uuid.uuid4().hex[:12]}"
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


def load(desktop, path):
    doc = desktop.loadComponentFromURL(url(path), "_blank", 0, (prop("Hidden", True),))
    if doc is None:
        raise SystemExit(f"LibreOffice could not open {path}")
    return doc


def run(profile: str, work, prefix: str = "lo"):
    """``work(desktop)`` with one soffice serving every file; soffice always ends."""
    os.makedirs(profile, exist_ok=True)
    proc, desktop = _start(profile, prefix)
    try:
        return work(desktop)
    finally:
        try:
            desktop.terminate()
        except Exception:  # the bridge closes as soffice exits
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
