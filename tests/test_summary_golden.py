"""Golden test of the consolidated workbook.

The fixture submissions (tests/merge_fixtures.py: Q1 then H1 of 2024) are merged
and the workbook is reduced by openpyxl to {sheet: {cell: [value, number format,
fill]}}, plus each sheet's conditional formats and the charts' types and ranges,
and compared with tests/golden/consolidated.json.

When a change to the workbook is intended, regenerate the snapshot and review
the diff before committing it:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_summary_golden.py
"""

import json
import os
import re
import zipfile
from pathlib import Path

import openpyxl

import merge_fixtures as mf
from toolkit.merge import consolidate
from toolkit.periods import parse_period

GOLDEN = Path(__file__).with_name("golden") / "consolidated.json"


def reduce_workbook(path) -> dict:
    wb = openpyxl.load_workbook(path)
    out: dict = {}
    formats: dict = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                fill = c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None
                if c.value is None and fill is None:
                    continue
                cells[c.coordinate] = [c.value, c.number_format, fill]
        out[ws.title] = cells
        formats[ws.title] = [[str(cf.sqref), rule.formula, rule.dxf.fill.bgColor.rgb]
                             for cf in ws.conditional_formatting for rule in cf.rules]
    out["_conditional_formats"] = formats
    charts = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if n.startswith("xl/charts/chart")):
            xml = z.read(name).decode("utf-8")
            charts.append({"type": re.findall(r"<c:(\w+Chart)>", xml),
                           "ranges": re.findall(r"<c:f>([^<]*)</c:f>", xml)})
    out["_charts"] = charts
    return json.loads(json.dumps(out, ensure_ascii=False))


def test_consolidated_workbook_matches_the_golden_snapshot(tmp_path):
    db = tmp_path / "toolkit.db"
    mf.populate(db)
    plan = mf.tasklist()
    consolidate(db, plan, parse_period("2024Q1"), tmp_path / "q1.xlsx")
    out = tmp_path / "consolidated.xlsx"
    consolidate(db, plan, parse_period("2024H1"), out)
    got = reduce_workbook(out)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
    assert GOLDEN.exists(), f"no snapshot yet: run UPDATE_GOLDEN=1 pytest {__file__}"
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want)
    for sheet in want:
        assert got[sheet] == want[sheet], f"sheet {sheet} differs from {GOLDEN.name}"
