"""LibreOffice headless as a converter (xlsx -> xls/ods/pdf/png), when it is installed.

soffice exits 0 even when a file failed to load, so success is judged by the
output file existing. Each call uses a private profile so runs never share or
corrupt one, and files go in batches (soffice can crash after a few hundred).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BATCH = 100


def soffice() -> str | None:
    """The soffice executable, or None when LibreOffice is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(files, fmt: str, outdir: str | os.PathLike, timeout: float = 300) -> dict:
    """Convert ``files`` to ``fmt`` (e.g. "xls", "ods", "pdf", "xlsx") into ``outdir``.

    Returns {source path: converted path, or None where soffice produced nothing}.
    Raises FileNotFoundError when LibreOffice is absent.
    """
    exe = soffice()
    if exe is None:
        raise FileNotFoundError("LibreOffice (soffice) is not installed")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [Path(f) for f in files]
    target_ext = fmt.split(":")[0]
    results: dict[Path, Path | None] = {}
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        for start in range(0, len(files), BATCH):
            batch = files[start:start + BATCH]
            subprocess.run(
                [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                 "--convert-to", fmt, "--outdir", str(outdir), *map(str, batch)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout,
                check=False)
            for src in batch:
                out = outdir / f"{src.stem}.{target_ext}"
                results[src] = out if out.exists() and out.stat().st_size > 0 else None
    return results
