"""The consolidated workbook in LibreOffice headless, a real client.

- It converts to PDF (``soffice --headless -env:UserInstallation=file://<tmp>
  --convert-to pdf``): the PDF exists and is not empty.
- LibreOffice, told to recalculate every formula on load (a private profile whose
  OOXMLRecalcMode is "always"), saves it as xlsx again; calamine and openpyxl read
  that back and the recalculated completion rates, expected progress, ratios and
  ratings equal the values the toolkit computed: the workbook's formulas repeat
  ``toolkit.variance`` exactly.
"""

from __future__ import annotations

import subprocess

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

import merge_fixtures as mf
from toolkit.catalogue import t
from toolkit.merge import consolidate
from toolkit.office import convert, soffice
from toolkit.periods import parse_period

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice() is None,
                       reason="LibreOffice (soffice) is not installed; .ci/run installs it"),
]

RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
  oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    root = tmp_path_factory.mktemp("lo-merge")
    db = root / "toolkit.db"
    mf.populate(db)
    consolidate(db, mf.tasklist(), parse_period("2024Q1"), root / "q1.xlsx")
    out = root / "consolidated_2024H1.xlsx"
    consolidate(db, mf.tasklist(), parse_period("2024H1"), out)
    return out


@pytest.fixture(scope="module")
def recalculated(workbook, tmp_path_factory):
    """The workbook saved again as xlsx by LibreOffice after recalculating everything."""
    root = tmp_path_factory.mktemp("lo-recalc")
    profile = root / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS, encoding="utf-8")
    # a canary in the same run: a formula whose cached value is wrong on purpose
    canary = root / "canary.xlsx"
    book = xlsxwriter.Workbook(str(canary))
    sheet = book.add_worksheet()
    sheet.write_number(0, 0, 2)
    sheet.write_formula(0, 1, "=A1*3", None, 99)
    book.close()
    outdir = root / "out"
    subprocess.run([soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--norestore", "--convert-to", "xlsx", "--outdir", str(outdir),
                    str(workbook), str(canary)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=180, check=False)
    out = outdir / workbook.name
    assert out.exists() and out.stat().st_size > 0, "LibreOffice did not save the workbook"
    recalc = CalamineWorkbook.from_path(str(outdir / canary.name))
    assert recalc.get_sheet_by_index(0).to_python() == [[2.0, 6.0]], "no recalculation on load"
    recalc.close()
    return out


def test_converts_to_pdf(workbook, tmp_path):
    result = convert([workbook], "pdf", tmp_path)
    pdf = result[workbook]
    assert pdf is not None and pdf.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-"


def _sheet(path, key):
    book = CalamineWorkbook.from_path(str(path))
    try:
        return book.get_sheet_by_name(t(f"summary.sheet.{key}")).to_python(skip_empty_area=False)
    finally:
        book.close()


@pytest.mark.parametrize("key", ["prefecture", "change"])
def test_recalculated_formulas_equal_the_toolkits_values(workbook, recalculated, key):
    ours, theirs = _sheet(workbook, key), _sheet(recalculated, key)
    assert len(theirs) >= len(ours)
    compared = 0
    for row_ours, row_theirs in zip(ours[4:], theirs[4:]):
        for a, b in zip(row_ours, row_theirs):
            if isinstance(a, float) and isinstance(b, float):
                assert b == pytest.approx(a, rel=1e-12, abs=1e-12)
            else:
                assert a == b
            compared += 1
    assert compared > 50


def test_both_readers_read_the_workbook_and_its_libreoffice_copy(workbook, recalculated):
    for path in (workbook, recalculated):
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames[:2] == [t("summary.sheet.overview"), t("summary.sheet.prefecture")]
        narratives = wb[t("summary.sheet.narratives")]
        texts = {c.value for row in narratives.iter_rows() for c in row
                 if c.value in mf.FORMULA_NARRATIVES}
        assert texts == set(mf.FORMULA_NARRATIVES)
        assert all(c.data_type == "s" for row in narratives.iter_rows() for c in row
                   if c.value in mf.FORMULA_NARRATIVES)
        rows = _sheet(path, "narratives")
        assert set(mf.FORMULA_NARRATIVES) <= {v for r in rows for v in r}
