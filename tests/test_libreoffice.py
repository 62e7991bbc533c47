"""LibreOffice headless as the real client: convert templates to xlsx/xls/ods, fill them via UNO.

What survives a LibreOffice 7.4 round trip (observed, and asserted below):
- xlsx and ods: all three identity copies (hidden sheet, custom properties, visible block);
- xls: the hidden sheet and the visible block; the custom properties are not read back
  from xls (``read_custom_properties`` reads only zip formats), so that copy is absent.
The hidden sheets stay hidden (not veryHidden) in every format.
"""

from __future__ import annotations

import functools
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest

from toolkit import layout
from toolkit.catalogue import t
from toolkit.config import open_workspace
from toolkit.office import convert, soffice
from toolkit.read import indicator_sheet, progress_sheet, read_identity, read_values
from toolkit.template import generate_templates

SYSTEM_PYTHON = "/usr/bin/python3"
FILL_SCRIPT = Path(__file__).with_name("lo_fill.py")
FORMATS = ("xlsx", "xls", "ods")
# identity copies that must be found after a conversion to each format
MUST_SURVIVE = {"xlsx": {"sheet", "properties", "block"}, "ods": {"sheet", "properties", "block"},
                "xls": {"sheet", "block"}}
UNITS = {"653125": "zh", "6531KF": "en"}


@functools.cache
def _has_uno() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0


pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None,
                       reason="LibreOffice (soffice) is not installed; .ci/run installs it"),
]
needs_uno = pytest.mark.skipif(not _has_uno(), reason="python3-uno is not installed for "
                               f"{SYSTEM_PYTHON}; .ci/run installs it")


def _cells_to_type(path: Path, plan, code: str) -> list[dict]:
    """What a clerk types: numbers, text, a list choice, a date typed as text."""
    values = read_values(path)
    ind = indicator_sheet(values).name
    prog = progress_sheet(values).name
    indicators = plan.indicators_for(code)
    number = next(i for i in indicators if i.kind != "milestone" and i.unit != "%")
    percent = next(i for i in indicators if i.unit == "%")
    row = {i.id: layout.IND_FIRST_ROW + n for n, i in enumerate(indicators)}
    cols = layout.IND_COLS
    cells = [
        {"sheet": ind, "row": row[number.id], "col": cols["actual"], "value": 1234},
        {"sheet": ind, "row": row[percent.id], "col": cols["actual"], "value": 87.5},
        {"sheet": ind, "row": row[number.id], "col": cols["note"], "value": "含新开工项目3个"},
        {"sheet": ind, "row": layout.FILLER_CELLS["filler"][0],
         "col": layout.FILLER_CELLS["filler"][1], "value": "阿依古丽"},
        {"sheet": ind, "row": layout.FILLER_CELLS["phone"][0],
         "col": layout.FILLER_CELLS["phone"][1], "value": "0998-2345678"},
        {"sheet": ind, "row": layout.FILLER_CELLS["date"][0],
         "col": layout.FILLER_CELLS["date"][1], "typed": "2024-07-09"},
        {"sheet": prog, "row": layout.PROG_FIRST_ROW, "col": layout.PROG_COLS["status"],
         "value": "推进中"},
        {"sheet": prog, "row": layout.PROG_FIRST_ROW, "col": layout.PROG_COLS["progress"],
         "value": "=已完成主体工程"},  # a clerk's text starting with "=" stays text
    ]
    milestone = next((i for i in indicators if i.kind == "milestone"), None)
    if milestone is not None:
        cells.append({"sheet": ind, "row": row[milestone.id], "col": cols["actual"],
                      "value": "已完成"})
    return cells


def _fill(jobs: list[dict], work: Path) -> dict:
    spec = work / "job.json"
    spec.write_text(json.dumps({"profile": str(work / "profile"), "files": jobs},
                               ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([SYSTEM_PYTHON, str(FILL_SCRIPT), str(spec)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    """Templates generated, converted to each format and filled through UNO, all at once."""
    root = tmp_path_factory.mktemp("lo")
    workspace = open_workspace(root)
    plan = workspace.tasklist
    sources = []
    for code, lang in UNITS.items():
        sources += generate_templates(workspace, "2024H1", units=[code], out_dir=root / "gen",
                                      lang=lang)
    jobs = [{"src": str(p), "dest": str(root / "filled" / p.name),
             "cells": _cells_to_type(p, plan, p.name.split("_")[0])} for p in sources]
    (root / "filled").mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:  # two soffice processes at a time
        filled = pool.submit(_fill, jobs, root) if _has_uno() else None
        conversions = {fmt: pool.submit(convert, sources, fmt, root / fmt) for fmt in FORMATS}
        converted = {fmt: future.result() for fmt, future in conversions.items()}
    return {"plan": plan, "sources": sources, "converted": converted, "jobs": jobs,
            "filled": filled}  # a failed fill fails only the test that reads it


@pytest.mark.parametrize("fmt", FORMATS)
def test_conversion_writes_every_file(round_trip, fmt):
    converted = round_trip["converted"][fmt]
    assert set(converted) == set(round_trip["sources"])
    for source, out in converted.items():
        assert out is not None and out.suffix == f".{fmt}", f"soffice wrote no {fmt} for {source}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_identity_survives_conversion(round_trip, fmt):
    for source, out in round_trip["converted"][fmt].items():
        original = read_identity(read_values(source)).identity
        values = read_values(out)
        reading = read_identity(values)
        found = {name for name, present in reading.copies.items() if present}
        assert MUST_SURVIVE[fmt] <= found, (out.name, found)
        assert reading.consistent, reading.disagreements
        assert reading.sheet == original  # every field, row lists included
        for copy in (reading.properties, reading.block):
            if copy is not None:
                assert (copy.unit_code, copy.period, copy.fingerprint) == (
                    original.unit_code, original.period, original.fingerprint)
        visibility = {s.name: s.visible for s in values.sheets}
        assert visibility[layout.IDENTITY_SHEET] == "hidden"
        assert visibility[layout.LISTS_SHEET] == "hidden"


def test_xlsx_from_libreoffice_keeps_protection_and_validation(round_trip):
    source = next(p for p in round_trip["sources"] if p.name.startswith("653125_"))
    book = openpyxl.load_workbook(round_trip["converted"]["xlsx"][source])
    assert all(ws.protection.sheet for ws in book.worksheets)
    ws = book[t("layout.sheet.indicators")]
    row, col = layout.IND_FIRST_ROW, layout.IND_COLS["actual"]
    assert ws.cell(row, col).protection.locked is False
    assert ws.cell(row, layout.IND_COLS["target"]).protection.locked is True
    covered = [dv for dv in ws.data_validations.dataValidation if layout.a1(row, col) in dv.sqref]
    assert covered and covered[0].prompt


@needs_uno
def test_values_typed_in_libreoffice_read_back(round_trip):
    report = round_trip["filled"].result()
    assert [f["dest"] for f in report["files"]] == [j["dest"] for j in round_trip["jobs"]]
    for job in round_trip["jobs"]:
        dest = Path(job["dest"])
        assert dest.exists()
        values = read_values(dest)
        reading = read_identity(values)
        assert reading.consistent and reading.copies == {
            "sheet": True, "properties": True, "block": True}
        assert reading.identity == read_identity(read_values(job["src"])).identity
        for cell in job["cells"]:
            got = values.sheet(cell["sheet"]).get(cell["row"], cell["col"])
            if "typed" in cell:  # LibreOffice turned the typed text into a date
                assert str(got)[:10] == cell["typed"]
            elif isinstance(cell["value"], str):
                assert got == cell["value"]
            else:
                assert got == pytest.approx(cell["value"])
