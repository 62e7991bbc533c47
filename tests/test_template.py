"""Generated templates read back with openpyxl and calamine (they are written with xlsxwriter)."""

from __future__ import annotations

import datetime as dt
import re

import openpyxl
import pytest
from template_helpers import formulas_in, input_cells, snapshot

from toolkit import layout
from toolkit.catalogue import t
from toolkit.config import open_workspace
from toolkit.errors import PeriodError, UnitError
from toolkit.periods import parse_period
from toolkit.identity import PROPERTY_LIMIT
from toolkit.read import progress_sheet, read_identity, read_values
from toolkit.template import (COLOURS, CREATED, Prefill, TemplateSpec, build_template,
                              generate_templates, open_workbook, template_filename,
                              write_template)

CJK = re.compile(r"[\u4e00-\u9fff]")
PERIOD = parse_period("2024H1")


def rgb(colour: str) -> str:
    return "FF" + colour.lstrip("#").upper()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return open_workspace(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="module")
def plan(workspace):
    return workspace.tasklist


@pytest.fixture(scope="module")
def generated(workspace):
    """Every unit's 2024H1 template, generated once for the module."""
    calls = []
    paths = generate_templates(workspace, "2024H1", progress=lambda d, n: calls.append((d, n)))
    return paths, calls


@pytest.fixture(scope="module")
def books(generated):
    """The generated templates opened with openpyxl, by unit code."""
    return {p.name.split("_")[0]: openpyxl.load_workbook(p) for p in generated[0]}


def by_unit(paths, code):
    return next(p for p in paths if p.name.startswith(f"{code}_"))


def test_one_file_per_unit_named_by_code_name_and_period(workspace, plan, generated):
    paths, calls = generated
    folder = workspace.root / "outputs" / "2024H1" / "templates"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{u.code}_{u.name}_2024H1.xlsx" for u in plan.units)
    assert "653125_莎车县_2024H1.xlsx" in {p.name for p in paths}
    assert calls == [(i, len(plan.units)) for i in range(1, len(plan.units) + 1)]
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_sheets_in_order_with_hidden_lists_and_identity(books):
    for book in books.values():
        assert book.sheetnames == [t("layout.sheet.instructions"), t("layout.sheet.indicators"),
                                   t("layout.sheet.progress"), layout.LISTS_SHEET,
                                   layout.IDENTITY_SHEET]
        assert [ws.sheet_state for ws in book.worksheets] == [
            "visible", "visible", "visible", "hidden", "hidden"]  # hidden, never veryHidden
        assert all(ws.protection.sheet for ws in book.worksheets)


def test_input_cells_unlocked_and_coloured_everything_else_locked(plan, books):
    for unit in plan.units:
        book = books[unit.code]
        expected = input_cells(plan, unit.code)
        for key in ("instructions", "indicators", "progress"):
            ws = book[t(f"layout.sheet.{key}")]
            inputs = expected.get(key, set())
            for row, col in inputs:
                cell = ws.cell(row, col)
                assert cell.protection.locked is False, (unit.code, key, cell.coordinate)
                assert cell.fill.fgColor.rgb == rgb(COLOURS["input"]), cell.coordinate
            max_col = max(ws.max_column, 12)
            for row in ws.iter_rows(min_row=1, max_row=ws.max_row + 3, max_col=max_col):
                for cell in row:
                    if (cell.row, cell.column) not in inputs:
                        assert cell.protection.locked, (unit.code, key, cell.coordinate)
        for name in (layout.LISTS_SHEET, layout.IDENTITY_SHEET):
            assert all(c.protection.locked for r in book[name].iter_rows() for c in r)


def _validations(ws) -> dict:
    """{A1 coordinate: [validations covering it]} of a sheet."""
    from openpyxl.utils.cell import range_boundaries

    covering: dict[str, list] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            min_col, min_row, max_col, max_row = range_boundaries(rng)
            for row in range(min_row, max_row + 1):
                for col in range(min_col, max_col + 1):
                    covering.setdefault(layout.a1(row, col), []).append(dv)
    return covering


def _validation_of(ws, coordinate, covering=None):
    found = (covering if covering is not None else _validations(ws)).get(coordinate, [])
    assert len(found) == 1, (ws.title, coordinate, len(found))
    return found[0]


def test_every_input_cell_has_a_chinese_prompt_and_error(plan, books):
    for unit in plan.units:
        book = books[unit.code]
        for key, cells in input_cells(plan, unit.code).items():
            ws = book[t(f"layout.sheet.{key}")]
            covering = _validations(ws)
            for row, col in cells:
                dv = _validation_of(ws, layout.a1(row, col), covering)
                assert dv.showInputMessage and dv.showErrorMessage
                assert CJK.search(dv.prompt) and CJK.search(dv.promptTitle)
                assert CJK.search(dv.error) and CJK.search(dv.errorTitle)
                assert dv.errorStyle in (None, "stop")


def _list_values(book, formula):
    match = re.fullmatch(r"'?_lists'?!\$([A-Z])\$(\d+):\$([A-Z])\$(\d+)", formula)
    assert match, f"list validation must refer to the hidden list sheet, not {formula!r}"
    ws = book[layout.LISTS_SHEET]
    return tuple(ws[f"{match[1]}{r}"].value for r in range(int(match[2]), int(match[4]) + 1))


def test_validation_rules_follow_the_unit_of_measure(plan, books):
    book = books["653125"]
    ws = book[t("layout.sheet.indicators")]
    actual = layout.IND_COLS["actual"]
    seen = set()
    covering = _validations(ws)
    for offset, ind in enumerate(plan.indicators_for("653125")):
        row = layout.IND_FIRST_ROW + offset
        dv = _validation_of(ws, layout.a1(row, actual), covering)
        target_format = ws.cell(row, layout.IND_COLS["target"]).number_format
        if ind.kind == "milestone":
            assert dv.type == "list"
            assert _list_values(book, dv.formula1) == layout.MILESTONE_VALUES
            seen.add("milestone")
        elif ind.unit == "%":
            assert (dv.type, dv.operator or "between", dv.formula1, dv.formula2) == (
                "decimal", "between", "0", "100")  # "between" is the default, often omitted
            assert ws.cell(row, actual).number_format == target_format == "0.00"
            seen.add("percent")
        else:
            assert dv.operator == "greaterThanOrEqual" and dv.formula1 == "0"
            if ind.unit == "元":
                assert dv.type == "decimal"
                assert ws.cell(row, actual).number_format == target_format == "#,##0.00"
                seen.add("amount")
            if ind.unit in ("人", "个", "户"):
                assert dv.type == "whole"
                assert ws.cell(row, actual).number_format == target_format == "#,##0"
                seen.add("count")
    assert seen == {"milestone", "percent", "amount", "count"}
    prog = book[t("layout.sheet.progress")]
    dv = _validation_of(prog, layout.a1(layout.PROG_FIRST_ROW, layout.PROG_COLS["status"]))
    assert dv.type == "list" and _list_values(book, dv.formula1) == layout.STATUSES


def test_identity_three_copies_agree(plan, generated, books):
    for unit in plan.units:
        path = by_unit(generated[0], unit.code)
        values = read_values(path)
        reading = read_identity(values)
        assert reading.copies == {"sheet": True, "properties": True, "block": True}
        assert reading.consistent, reading.disagreements
        ident = reading.identity
        assert (ident.unit_code, ident.unit_name, ident.period, ident.lang) == (
            unit.code, unit.name, "2024H1", "zh")
        assert ident.fingerprint == layout.template_fingerprint(plan)
        assert ident.template_version == layout.template_version(plan.version)
        # every field is in the properties too, but for a row list over Excel's 255-character
        # limit for a text property (the hidden sheet keeps it; it is not cross-checked)
        for key, value in reading.sheet.as_dict().items():
            kept = reading.properties.as_dict()[key]
            assert kept == value or (kept == "" and len(value) > PROPERTY_LIMIT), key
        hidden = values.sheet(layout.IDENTITY_SHEET)
        assert hidden.visible == "hidden"
        assert all(isinstance(v, str) for row in hidden.rows for v in row)
        assert [row[0] for row in hidden.rows] == list(layout.IDENTITY_KEYS)
        custom = books[unit.code].custom_doc_props.props
        assert {type(p).__name__ for p in custom} == {"StringProperty"}
        ind_sheet = values.sheet(t("layout.sheet.indicators"))
        ids = [ind_sheet.get(r, layout.IND_COLS["id"])
               for r in range(layout.IND_FIRST_ROW, ind_sheet.max_row + 1)]
        assert ident.indicator_rows.split(",") == [i for i in ids if i] == [
            i.id for i in plan.indicators_for(unit.code)]
        prog = progress_sheet(values)
        task_ids = [prog.get(r, 1) for r in range(layout.PROG_FIRST_ROW, prog.max_row + 1)]
        assert ident.task_rows.split(",") == [i for i in task_ids if i] == [
            x.id for x in plan.tasks_for(unit.code)]


def test_calamine_reads_targets_and_headers(plan, generated):
    values = read_values(by_unit(generated[0], "653101"))
    ind_sheet = values.sheet(t("layout.sheet.indicators"))
    cols = layout.IND_COLS
    assert ind_sheet.get(layout.IND_HEADER_ROW, cols["target"]) == t("layout.ind.target",
                                                                     year=2024)
    assert ind_sheet.get(layout.IND_HEADER_ROW, cols["actual"]) == t("layout.ind.actual")
    for offset, ind in enumerate(plan.indicators_for("653101")):
        row = layout.IND_FIRST_ROW + offset
        assert ind_sheet.get(row, cols["name"]) == ind.name
        assert ind_sheet.get(row, cols["target"]) == ind.target(2024)
        assert ind_sheet.get(row, cols["allocated"]) is None  # nothing allocated yet
        assert ind_sheet.get(row, cols["actual"]) is None
    instructions = values.sheet(t("layout.sheet.instructions"))
    text = "\n".join(str(v) for row in instructions.rows for v in row if v)
    assert PERIOD.default_deadline().isoformat() in text
    for name in ("input", "locked", "error", "warning"):
        assert t(f"template.legend.{name}") in text


def test_legend_shows_the_colours_used(books):
    book = books["653101"]
    ws = book[t("layout.sheet.instructions")]
    fills = {c.fill.fgColor.rgb for r in ws.iter_rows() for c in r if c.fill.fill_type}
    assert {rgb(COLOURS[k]) for k in ("input", "locked", "error", "warning")} <= fills


def test_frozen_panes_and_print_setup(books):
    book = books["653101"]
    ind = book[t("layout.sheet.indicators")]
    prog = book[t("layout.sheet.progress")]
    assert ind.freeze_panes == layout.a1(layout.IND_FIRST_ROW, layout.IND_COLS["name"] + 1)
    assert prog.freeze_panes == layout.a1(layout.PROG_FIRST_ROW, layout.PROG_COLS["title"] + 1)
    for ws, header in ((ind, layout.IND_HEADER_ROW), (prog, layout.PROG_HEADER_ROW)):
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToHeight == 0  # fit to width, any number of pages down
        assert ws.print_title_rows == f"${header}:${header}"
    widths = {k: v.width for k, v in ind.column_dimensions.items()}
    assert widths["C"] >= 30  # indicator names are long Chinese text


def test_allocated_targets_and_deadline_come_from_the_spec(plan, tmp_path):
    unit = plan.unit("653125")
    allocations = {i.id: 7.0 + n for n, i in enumerate(plan.indicators_for(unit.code))}
    spec = TemplateSpec(plan, unit, PERIOD, allocations=allocations,
                        deadline=dt.date(2024, 7, 15), contact="张三 0998-2345678")
    path = write_template(tmp_path / "a.xlsx", spec)
    values = read_values(path)
    sheet = values.sheet(t("layout.sheet.indicators"))
    got = {sheet.get(r, 1): sheet.get(r, layout.IND_COLS["allocated"])
           for r in range(layout.IND_FIRST_ROW, sheet.max_row + 1)}
    assert got == allocations
    text = "".join(str(v) for row in values.sheet(t("layout.sheet.instructions")).rows
                   for v in row)
    assert "2024-07-15" in text and "张三 0998-2345678" in text


def test_generation_is_deterministic(plan, tmp_path):
    spec = TemplateSpec(plan, plan.unit("莎车县"), PERIOD, allocations={"5.1": 4200.0})
    first = snapshot(write_template(tmp_path / "1.xlsx", spec))
    second = snapshot(write_template(tmp_path / "2.xlsx", spec))
    assert first == second
    assert first["core"][3] == CREATED
    other = snapshot(write_template(tmp_path / "3.xlsx", TemplateSpec(
        plan, plan.unit("莎车县"), parse_period("2024H2"), allocations={"5.1": 4200.0})))
    assert other != first  # the snapshot does see a change


def test_prefilled_submission_text_stays_text(plan, tmp_path):
    unit = plan.unit("653125")
    indicators = plan.indicators_for(unit.code)
    tasks = plan.tasks_for(unit.code)
    number_ind = next(i for i in indicators if i.kind != "milestone")
    text_ind = next(i for i in indicators if i.kind != "milestone" and i is not number_ind)
    hostile = '=HYPERLINK("http://example.invalid","x")'
    prefill = Prefill(
        actual={number_ind.id: 12.5, text_ind.id: "1,234"},
        note={number_ind.id: "+cmd|' /C calc'!A0", text_ind.id: "http://example.invalid"},
        progress={tasks[0].id: {"status": "推进中", "progress": hostile, "problems": "@SUM(1)",
                                "next_steps": "-1"}},
        filler={"filler": "=1+1", "phone": "13912345678", "reviewer": "李四",
                "date": dt.date(2024, 7, 9)},
        marks={("indicators", layout.IND_FIRST_ROW, layout.IND_COLS["actual"]): "error",
               ("indicators", layout.IND_FIRST_ROW + 1, layout.IND_COLS["actual"]): "warning"})
    path = write_template(tmp_path / "p.xlsx", TemplateSpec(plan, unit, PERIOD), prefill)
    assert formulas_in(path) == []
    book = openpyxl.load_workbook(path)
    ws = book[t("layout.sheet.indicators")]
    rows = {ws.cell(r, 1).value: r for r in range(layout.IND_FIRST_ROW, ws.max_row + 1)}
    actual, note = layout.IND_COLS["actual"], layout.IND_COLS["note"]
    assert ws.cell(rows[number_ind.id], actual).value == 12.5
    assert ws.cell(rows[number_ind.id], actual).data_type == "n"
    assert ws.cell(rows[text_ind.id], actual).value == "1,234"
    assert ws.cell(rows[text_ind.id], actual).data_type == "s"
    assert ws.cell(rows[number_ind.id], note).value == "+cmd|' /C calc'!A0"
    assert not ws.cell(rows[text_ind.id], note).hyperlink
    filler = {k: ws.cell(*rc) for k, rc in layout.FILLER_CELLS.items()}
    assert (filler["filler"].value, filler["filler"].data_type) == ("=1+1", "s")
    assert filler["phone"].value == "13912345678" and filler["phone"].data_type == "s"
    assert filler["date"].value == dt.datetime(2024, 7, 9)
    prog = book[t("layout.sheet.progress")]
    row = layout.PROG_FIRST_ROW
    assert [prog.cell(row, layout.PROG_COLS[k]).value for k in layout.PROG_INPUTS] == [
        "推进中", hostile, "@SUM(1)", "-1"]
    marked = {"error": ws.cell(layout.IND_FIRST_ROW, actual),
              "warning": ws.cell(layout.IND_FIRST_ROW + 1, actual)}
    for mark, cell in marked.items():
        assert cell.fill.fgColor.rgb == rgb(COLOURS[mark])
        assert cell.protection.locked is False  # still an input the clerk can fix
    values = read_values(path)  # and calamine sees the same text
    sheet = values.sheet(t("layout.sheet.indicators"))
    assert sheet.get(*layout.FILLER_CELLS["filler"]) == "=1+1"
    assert read_identity(values).consistent


def test_build_template_into_an_open_workbook(plan, tmp_path):
    path = tmp_path / "built.xlsx"
    workbook = open_workbook(path)
    built = build_template(workbook, TemplateSpec(plan, plan.unit("6531KF"), PERIOD))
    extra = workbook.add_worksheet("extra")  # a caller may add to what was built
    extra.write_string(0, 0, "ok", built.formats["warning"])
    workbook.close()
    ids = [i.id for i in plan.indicators_for("6531KF")]
    assert list(built.indicator_rows) == ids
    assert list(built.indicator_rows.values()) == list(
        range(layout.IND_FIRST_ROW, layout.IND_FIRST_ROW + len(ids)))
    assert list(built.task_rows) == [x.id for x in plan.tasks_for("6531KF")]
    assert set(built.sheets) == {*layout.SHEETS, layout.LISTS_SHEET, layout.IDENTITY_SHEET}
    assert read_identity(read_values(path)).identity.unit_code == "6531KF"


def test_password_from_the_spec_protects_every_sheet(plan, tmp_path):
    from openpyxl.utils.protection import hash_password

    path = write_template(tmp_path / "pw.xlsx",
                          TemplateSpec(plan, plan.unit("653101"), PERIOD, password="kashi"))
    book = openpyxl.load_workbook(path)
    assert {ws.protection.password for ws in book.worksheets} == {hash_password("kashi")}


def test_english_template_keeps_the_chinese_stored_values(plan, tmp_path):
    path = write_template(tmp_path / "en.xlsx",
                          TemplateSpec(plan, plan.unit("653125"), PERIOD, lang="en"))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:3] == ["Instructions", "Indicators", "Task progress"]
    prog = book["Task progress"]
    dv = _validation_of(prog, layout.a1(layout.PROG_FIRST_ROW, layout.PROG_COLS["status"]))
    assert _list_values(book, dv.formula1) == layout.STATUSES
    assert "Not started" not in str(_list_values(book, dv.formula1))
    assert not CJK.search(dv.promptTitle)
    reading = read_identity(read_values(path))
    assert reading.consistent and reading.identity.lang == "en"


def test_generate_selected_units_into_a_folder(workspace, tmp_path):
    paths = generate_templates(workspace, "2025Q3", units=["莎车县", "653101", "653125"],
                               out_dir=tmp_path / "send")
    assert [p.name for p in paths] == ["653125_莎车县_2025Q3.xlsx", "653101_喀什市_2025Q3.xlsx"]
    assert all(p.parent == tmp_path / "send" for p in paths)


def test_generate_refuses_unknown_unit_and_period(workspace, tmp_path):
    with pytest.raises(UnitError, match="known units"):
        generate_templates(workspace, "2024H1", units=["乌鲁木齐"], out_dir=tmp_path)
    with pytest.raises(PeriodError, match="YYYYH1"):
        generate_templates(workspace, "2024H3", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_file_name_is_safe_for_any_unit_name(plan):
    from toolkit.model import Unit

    assert template_filename(Unit("X1", "a/b:c"), PERIOD) == "X1_a_b_c_2024H1.xlsx"
