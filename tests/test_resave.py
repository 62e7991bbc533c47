"""Saving a filled template as .xls or .ods, with the libraries (no LibreOffice needed)."""

from __future__ import annotations

import pytest
from python_calamine import CalamineWorkbook

from toolkit import layout
from toolkit.config import open_workspace
from toolkit.periods import parse_period
from toolkit.read import read_identity, read_values
from toolkit.resave import save_as
from toolkit.simulate import fill_workbook, plan_fill
from toolkit.template import generate_templates

H1 = parse_period("2024H1")


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    root = tmp_path_factory.mktemp("resave")
    ws = open_workspace(root)
    [template] = generate_templates(ws, H1, units=["653124"])
    plan = plan_fill(ws.tasklist, ws.tasklist.unit("653124"), H1, {}, seed=2)
    return fill_workbook(template, root / "filled.xlsx", plan), plan


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_a_library_save_keeps_sheets_hidden_state_identity_and_values(filled, fmt, tmp_path):
    src, plan = filled
    dest = tmp_path / f"saved.{fmt}"
    assert save_as(src, dest, fmt, use_office=False) == "library"
    book = CalamineWorkbook.from_path(str(dest))
    assert book.sheet_names == CalamineWorkbook.from_path(str(src)).sheet_names
    values = read_values(dest)
    hidden = {s.name for s in values.sheets if s.visible != "visible"}
    assert layout.IDENTITY_SHEET in hidden
    reading = read_identity(values)
    assert reading.identity.unit_code == "653124" and reading.identity.period == "2024H1"
    assert reading.consistent
    sheet = next(s for s in values.sheets if s.visible == "visible"
                 and any(str(r[0]) in plan.actual for r in s.rows if r))
    typed = {str(r[0]): r[layout.IND_COLS["actual"] - 1] for r in sheet.rows
             if r and str(r[0]) in plan.actual}
    numbers = {k: v for k, v in plan.actual.items() if isinstance(v, (int, float))}
    assert numbers and all(float(typed[k]) == float(v) for k, v in numbers.items())


def test_an_unknown_format_is_refused(filled, tmp_path):
    with pytest.raises(ValueError, match="xls"):
        save_as(filled[0], tmp_path / "x.csv", "csv")
