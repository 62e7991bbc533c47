"""`toolkit merge`: facts in the store, the consolidated workbook, the report and the command.

The store is filled the way collect and validate fill it (merge_fixtures), and one
test runs the whole loop: generate, a clerk's fill, collect, validate, merge.
"""

import shutil
import sqlite3
import zipfile

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import merge_fixtures as mf
from toolkit import processes, summary
from toolkit.catalogue import t
from toolkit.cli import main
from toolkit.config import Thresholds
from toolkit.merge import consolidate
from toolkit.periods import parse_period
from toolkit.summary import UnsafeWorkbookError, check_no_foreign_formulas

H1 = parse_period("2024H1")
Q1 = parse_period("2024Q1")


def sheet_name(key, lang="zh"):
    return t(f"summary.sheet.{key}", lang)


def rows_of(path, key, lang="zh"):
    """A sheet's values read back by calamine (cached values of formulas)."""
    book = CalamineWorkbook.from_path(str(path))
    try:
        return book.get_sheet_by_name(sheet_name(key, lang)).to_python(skip_empty_area=False)
    finally:
        book.close()


def table(path, key, lang="zh", header_row=4):
    """Rows of a sheet's table as dicts keyed by header text (header on row 4)."""
    rows = rows_of(path, key, lang)
    head = rows[header_row - 1]
    return [dict(zip(head, r)) for r in rows[header_row:] if any(v != "" for v in r)]


def facts_rows(db, period="2024H1"):
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT unit_code, indicator, target, allocated, actual, status, "
                            "submission_id, source_file, sheet, cell FROM facts WHERE period = ? "
                            "ORDER BY unit_code, indicator", (period,)).fetchall()
    finally:
        conn.close()


def run(db, out, period=H1, **kw):
    return consolidate(db, mf.tasklist(), period, out, **kw)


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    """The fixture scenario merged for Q1, then H1 (which compares against Q1)."""
    root = tmp_path_factory.mktemp("merged")
    db = root / "toolkit.db"
    mf.populate(db)
    run(db, root / "q1.xlsx", Q1)
    report = run(db, root / "consolidated.xlsx")
    return db, root / "consolidated.xlsx", report


def test_report_names_merged_and_left_out_units_with_reasons(merged):
    _, path, report = merged
    assert [code for code, _ in report.included] == ["653101", "653121", "6531KF"]
    reasons = {x.code: (x.reason, x.errors) for x in report.left_out}
    assert reasons == {"653122": ("invalid", 2), "653123": ("missing", 0)}
    assert report.path == path and path.exists()
    assert report.previous_period == "2024Q1"


def test_facts_hold_every_reading_of_merged_units_only(merged):
    db, _, _ = merged
    rows = facts_rows(db)
    conn = sqlite3.connect(db)
    readings = conn.execute(
        "SELECT s.unit_code, r.indicator, r.value, r.sheet, r.cell FROM readings r JOIN "
        "submissions s ON s.id = r.submission_id WHERE s.period = '2024H1' AND s.status IN "
        "('valid', 'warnings') ORDER BY 1, 2").fetchall()
    conn.close()
    by_key = {(u, i): (a, sh, c) for u, i, _, _, a, _, _, _, sh, c in rows}
    for unit, indicator, value, sheet, cell in readings:
        assert by_key[(unit, indicator)] == (value, sheet, cell)
    assert {u for u, *_ in rows} == {"653101", "653121", "6531KF"}  # not the invalid unit
    # the superseded first file of 疏附县 (1.1 = 1) is not merged; its resubmission (80) is
    assert by_key[("653121", "1.1")][0] == 80
    allocated = {(u, i): al for u, i, _, al, *_ in rows}
    assert allocated[("653101", "1.1")] == 400 and allocated[("653101", "1.2")] is None


def test_merging_twice_gives_the_same_facts_and_the_same_workbook(merged, tmp_path):
    db, path, _ = merged
    copy = tmp_path / "toolkit.db"
    shutil.copy(db, copy)
    before = facts_rows(copy)
    again = tmp_path / "again.xlsx"
    run(copy, again)
    assert facts_rows(copy) == before
    assert again.read_bytes() == path.read_bytes()


def test_prefecture_total_is_the_sum_of_the_units_and_missing_is_not_zero(merged):
    db, path, _ = merged
    rows = {r[t("summary.prefecture.col.id")]: r for r in table(path, "prefecture")}
    actual = t("summary.prefecture.col.actual")
    parts = [a for u, i, _, _, a, *_ in facts_rows(db) if i == "1.1"]
    assert rows["1.1"][actual] == sum(parts)
    # 单位产值能耗: the zone left it empty and 疏勒县 was left out: missing, never 0
    assert rows["3.3"][actual] == t("summary.prefecture.actual.missing")
    assert rows["3.3"][t("summary.prefecture.col.ratio")] == ""
    assert rows["3.3"][t("summary.prefecture.col.rag")] == ""


def test_cached_formula_values_follow_variance(merged):
    """Completion, expected progress, ratio and rating as Excel will show them."""
    from toolkit import variance

    db, path, _ = merged
    th = Thresholds()
    plan = mf.tasklist()
    for row in table(path, "prefecture"):
        actual = row[t("summary.prefecture.col.actual")]
        if not isinstance(actual, float):
            continue
        ind = plan.indicator(row[t("summary.prefecture.col.id")])
        judged = variance.assess(ind, H1, actual, ind.target(2024), th)
        got = {k: row[t(f"summary.prefecture.col.{k}")] for k in
               ("expected", "completion", "ratio", "rag", "gap", "variance")}
        want = {"expected": judged.expected, "completion": judged.completion,
                "ratio": judged.ratio, "gap": judged.gap, "variance": judged.variance,
                "rag": t(f"summary.rag.{judged.rag}") if judged.rag else ""}
        assert got == {k: "" if v is None else v for k, v in want.items()}, ind.id


def test_period_over_period_flags_a_cumulative_decrease(merged):
    _, path, _ = merged
    rows = table(path, "change")
    col = {k: t(f"summary.change.col.{k}") for k in ("id", "code", "change", "flag")}
    by = {(r[col["id"]], r[col["code"]]): r for r in rows}
    fell = by[("1.1", "653121")]  # 90 in Q1, 80 in H1
    assert fell[col["change"]] == -10 and fell[col["flag"]] == t("summary.change.flag")
    rose = by[("1.1", "653101")]
    assert rose[col["change"]] == 110 and rose[col["flag"]] == ""
    rate = by[("1.2", "653101")]  # a rate may fall; no flag
    assert rate[col["flag"]] == ""


def test_submission_status_shows_late_invalid_and_missing(merged):
    _, path, _ = merged
    rows = {r[t("summary.submissions.col.code")]: r for r in table(path, "submissions")}
    state, late = t("summary.submissions.col.state"), t("summary.submissions.col.late")
    assert rows["6531KF"][late] == t("summary.submissions.late")  # sent 07-15, deadline 07-10
    assert rows["653101"][late] == t("summary.submissions.on_time")
    assert rows["653122"][state] == t("summary.state.invalid")
    assert rows["653123"][state] == t("summary.state.missing")
    assert rows["653121"][t("summary.submissions.col.files")] == 2  # first file superseded


def test_text_from_submissions_never_becomes_a_formula(merged):
    _, path, _ = merged
    wb = openpyxl.load_workbook(path)
    narratives = wb[sheet_name("narratives")]
    found = {c.value: c.data_type for row in narratives.iter_rows() for c in row
             if c.value in mf.FORMULA_NARRATIVES}
    assert found == {text: "s" for text in mf.FORMULA_NARRATIVES}
    issues = wb[sheet_name("issues")]
    cmd = [c for row in issues.iter_rows() for c in row if str(c.value).startswith("=CMD")]
    assert cmd and all(c.data_type == "s" for c in cmd)
    # the only formulas are the writer's own, in the summary and change sheets
    formula_sheets = {ws.title for ws in wb.worksheets for row in ws.iter_rows() for c in row
                      if c.data_type == "f"}
    assert formula_sheets == {sheet_name("prefecture"), sheet_name("change")}
    hyperlinks = [ws.title for ws in wb.worksheets if ws._hyperlinks]
    assert hyperlinks == []
    # calamine reads the same text back
    values = {v for r in rows_of(path, "narratives") for v in r}
    assert set(mf.FORMULA_NARRATIVES) <= values


def test_the_check_refuses_a_workbook_with_a_foreign_formula(tmp_path):
    path = tmp_path / "bad.xlsx"
    wb = xlsxwriter.Workbook(str(path))  # default options: "=..." becomes a formula
    ws = wb.add_worksheet("进展说明")
    ws.write(0, 0, "=1+1")
    ws.write_string(1, 0, "=2+2")
    wb.close()
    with pytest.raises(UnsafeWorkbookError, match=r"进展说明!A1 holds a formula"):
        check_no_foreign_formulas(path, {})
    check_no_foreign_formulas(path, {"进展说明": {(0, 0)}}, {"进展说明": {(1, 0)}})
    with pytest.raises(UnsafeWorkbookError, match="A1: submitted text was not kept as text"):
        check_no_foreign_formulas(path, {"进展说明": {(0, 0)}}, {"进展说明": {(0, 0)}})


def test_a_failed_write_keeps_the_last_good_workbook(merged, tmp_path, monkeypatch):
    db, _, _ = merged
    copy = tmp_path / "toolkit.db"
    shutil.copy(db, copy)
    out = tmp_path / "out" / "consolidated.xlsx"
    run(copy, out)
    good = out.read_bytes()

    def refuse(*args, **kwargs):
        raise UnsafeWorkbookError("refused")

    monkeypatch.setattr(summary, "check_no_foreign_formulas", refuse)
    with pytest.raises(UnsafeWorkbookError):
        run(copy, out)
    assert out.read_bytes() == good
    assert sorted(p.name for p in out.parent.iterdir()) == ["consolidated.xlsx"]


def test_include_invalid_merges_the_unit_and_marks_it(merged, tmp_path):
    db, _, _ = merged
    copy = tmp_path / "toolkit.db"
    shutil.copy(db, copy)
    out = tmp_path / "with-invalid.xlsx"
    report = run(copy, out, include_invalid=True)
    assert report.marked == ("653122",)
    assert "653122" in dict(report.included)
    assert [x.code for x in report.left_out] == ["653123"]
    facts = {(u, i): (a, s) for u, i, _, _, a, s, *_ in facts_rows(copy)}
    assert facts[("653122", "1.1")] == (None, "invalid")  # "约两百" could not be read
    assert facts[("653122", "1.2")] == (60, "invalid")
    matrix = {r[t("summary.matrix.col.code")]: r for r in table(out, "matrix")}
    assert matrix["653122"][t("summary.matrix.col.state")] == t("summary.state.marked")
    lineage = [r for r in table(out, "lineage") if r[t("summary.lineage.col.code")] == "653122"]
    assert {r[t("summary.lineage.col.raw")] for r in lineage} >= {"约两百"}


def test_every_value_has_its_lineage(merged):
    db, path, _ = merged
    rows = table(path, "lineage")
    col = {k: t(f"summary.lineage.col.{k}") for k in
           ("code", "indicator", "actual", "file", "sheet", "cell", "stored")}
    got = {(r[col["code"]], r[col["indicator"]]): (r[col["actual"]], r[col["sheet"]],
                                                   r[col["cell"]]) for r in rows}
    want = {(u, i): ("" if a is None else a, sh, c)
            for u, i, _, _, a, _, _, _, sh, c in facts_rows(db)}
    assert got == want
    assert all(r[col["file"]] and r[col["stored"]].startswith("outputs/2024H1/received/")
               for r in rows)


def test_layout_number_formats_and_print_setup(merged):
    _, path, _ = merged
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [sheet_name(k) for k in summary.SHEETS]
    lineage = wb[sheet_name("lineage")]
    head = [c.value for c in lineage[4]]
    actual_col = head.index(t("summary.lineage.col.actual")) + 1
    measure_col = head.index(t("summary.lineage.col.measure")) + 1
    formats = {lineage.cell(r, measure_col).value: lineage.cell(r, actual_col).number_format
               for r in range(5, lineage.max_row + 1)}
    assert formats["%"] == '0.0"%"' and formats["人"] == "#,##0" and formats["元"] == "#,##0"
    for key in ("prefecture", "matrix", "change", "lineage", "submissions", "issues"):
        ws = wb[sheet_name(key)]
        assert ws.freeze_panes and ws.freeze_panes[-1] == "5", key  # below the header row 4
        assert ws.auto_filter.ref and ws.auto_filter.ref.split(":")[0][1:] == "4", key
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage  # one page wide (the default width
        assert ws.page_setup.fitToHeight == 0            # of 1 is left out), as long as needed
        assert ws.print_title_rows == "$1:$4", key


def test_two_native_charts_completion_by_unit_and_rag_counts(merged):
    _, path, _ = merged
    with zipfile.ZipFile(path) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = [z.read(n).decode() for n in charts]
    assert len(charts) >= 2
    assert all("<c:barChart>" in x for x in xml)
    overview = sheet_name("overview")
    assert xml[0].count("<c:ser>") >= 1 and f"{overview}!$A$" in xml[0]
    assert xml[1].count("<c:dPt>") == 3  # green, amber, red bars in their colours
    rows = rows_of(path, "overview")
    labels = [r[0] for r in rows]
    first = labels.index(t("summary.rag.green"))
    report = merged[2]
    assert [r[1] for r in rows[first:first + 3]] == [report.rag[k] for k in
                                                     ("green", "amber", "red")]


def test_the_legend_explains_every_colour(merged):
    _, path, _ = merged
    wb = openpyxl.load_workbook(path)
    used = set()
    for ws in wb.worksheets:
        for cf in ws.conditional_formatting:
            for rule in cf.rules:
                used.add(rule.dxf.fill.bgColor.rgb)
        if ws.title != sheet_name("legend"):
            for row in ws.iter_rows():
                for c in row:
                    if c.fill.fill_type == "solid" and c.fill.fgColor.rgb != "FF1F4E78":
                        used.add(c.fill.fgColor.rgb)  # static fills (grey: not in scope)
    legend = wb[sheet_name("legend")]
    explained = {c.fill.fgColor.rgb for row in legend.iter_rows(min_col=1, max_col=1)
                 for c in row if c.fill.fill_type == "solid" and c.offset(0, 1).value}
    assert used and used <= explained


def test_english_workbook(merged, tmp_path):
    db, _, _ = merged
    copy = tmp_path / "toolkit.db"
    shutil.copy(db, copy)
    out = tmp_path / "en.xlsx"
    run(copy, out, lang="en")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:3] == ["Overview", "Prefecture summary", "Units x indicators"]
    assert wb["Prefecture summary"]["N4"].value == "Rating"


def test_thresholds_from_config_change_the_colours(merged, tmp_path):
    db, _, _ = merged
    copy = tmp_path / "toolkit.db"
    shutil.copy(db, copy)
    lenient = run(copy, tmp_path / "lenient.xlsx", thresholds=Thresholds(green=0.5, amber=0.1))
    strict = run(copy, tmp_path / "strict.xlsx", thresholds=Thresholds(green=2.0, amber=1.5))
    assert lenient.rag["red"] < strict.rag["red"]
    assert strict.rag["green"] == 0


# --- the command ------------------------------------------------------------------------

def workspace(root):
    """A workspace whose task list is the fixture plan; units are the bundled 13."""
    import yaml

    from toolkit.tasklist import tasklist_json

    data = tasklist_json(mf.tasklist())
    for item in data["indicators"]:
        item["weight"] = mf.tasklist().indicator(item["id"]).weight or None
        item["targets"] = {int(y): v for y, v in item["targets"].items()}
    data.pop("units")
    (root / "plan.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (root / "toolkit.toml").write_text('[plan]\ntasklist = "plan.yaml"\n'
                                       '[periods]\n"2024H1" = { deadline = 2024-07-10 }\n',
                                       encoding="utf-8")
    mf.populate(root / "toolkit.db")
    return root


def test_cli_merge_prints_units_colours_and_path(tmp_path):
    root = workspace(tmp_path)
    result = CliRunner().invoke(main, ["--workspace", str(root), "merge", "-p", "2024H1"])
    assert result.exit_code == 0, result.output
    out = result.output
    path = root / "outputs" / "2024H1" / "consolidated_2024H1.xlsx"
    assert path.exists()
    assert t("merge.wrote", "zh", path=path) in out
    assert t("merge.included", "zh", count=3, units="喀什市、疏附县、喀什经济开发区") in out
    assert "653122  疏勒县" in out and t("merge.reason.invalid", "zh", errors=2) in out
    assert t("merge.reason.missing", "zh") in out
    assert "红 " in out and "绿 " in out
    assert t("merge.no_previous", "zh") in out


def test_cli_merge_out_include_invalid_and_english(tmp_path):
    root = workspace(tmp_path)
    out = tmp_path / "汇总表.xlsx"
    result = CliRunner().invoke(main, ["--workspace", str(root), "merge", "-p", "2024h1",
                                       "--out", str(out), "--include-invalid", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert out.exists()
    assert "Merged although invalid, marked (--include-invalid): 疏勒县" in result.output
    assert f"Consolidated workbook: {out}" in result.output


def test_cli_merge_bad_period(tmp_path):
    result = CliRunner().invoke(main, ["--workspace", str(tmp_path), "merge", "-p", "2024H3"])
    assert result.exit_code == 2
    assert "a half-year is H1 or H2" in result.output


# --- the whole loop -----------------------------------------------------------------------

def test_generate_fill_collect_validate_merge(tmp_path):
    """Three units of the bundled plan: one clean, one typing a narrative that starts with
    "=", one with a percentage over 100 (an error): two merged, one left out."""
    from toolkit.collect import collect
    from toolkit.config import open_workspace
    from toolkit.merge import merge
    from toolkit.simulate import Mistakes, fill_workbook, plan_fill
    from toolkit.template import generate_templates
    from toolkit.validation_run import run_validation

    ws = open_workspace(tmp_path)
    units = {"653101": Mistakes(), "653125": Mistakes(formula_narrative=True),
             "653130": Mistakes(out_of_range=True)}
    templates = generate_templates(ws, H1, units=list(units))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for template in templates:
        code = next(c for c in units if c in template.name)
        plan = plan_fill(ws.tasklist, ws.tasklist.unit(code), H1, {}, seed=7,
                         mistakes=units[code])
        fill_workbook(template, inbox / f"{code}-返回.xlsx", plan)
    collect(ws, H1, [inbox])
    run_validation(ws, H1, write_workbook=False)
    report = merge(ws, H1)

    assert report.path == tmp_path / "outputs" / "2024H1" / "consolidated_2024H1.xlsx"
    assert [c for c, _ in report.included] == ["653101", "653125"]
    left = {x.code: x.reason for x in report.left_out}
    assert left["653130"] == "invalid" and len(left) == len(ws.tasklist.units) - 2
    rows = table(report.path, "lineage")
    files = {r[t("summary.lineage.col.file")] for r in rows}
    assert files == {"653101-返回.xlsx", "653125-返回.xlsx"}
    assert all(r[t("summary.lineage.col.cell")] for r in rows)
    narratives = openpyxl.load_workbook(report.path)[sheet_name("narratives")]
    typed = [c for row in narratives.iter_rows() for c in row
             if c.value == "=已完成厂房主体建设，正在招商"]
    assert typed and all(c.data_type == "s" for c in typed)


def test_a_workbook_open_elsewhere_is_a_clear_error(merged, tmp_path, monkeypatch):
    import os

    db, _, _ = merged
    copy = tmp_path / "toolkit.db"
    shutil.copy(db, copy)
    out = tmp_path / "consolidated.xlsx"
    out.write_bytes(b"the last good workbook")

    def locked(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(summary.OutputError, match="close it and run merge again"):
        run(copy, out)
    assert out.read_bytes() == b"the last good workbook"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []


# --- many values: 数据明细 in a workbook of its own, written on another core ---------------

def _copy_of(merged, folder):
    """(database, consolidated workbook path) of a copy of the merged scenario in ``folder``."""
    db = folder / "toolkit.db"
    shutil.copy(merged[0], db)
    return db, folder / "consolidated.xlsx"


@pytest.mark.parametrize("fork", [True, False], ids=["second process", "one process"])
def test_many_values_put_the_lineage_in_its_own_workbook(tmp_path, monkeypatch, merged, fork):
    monkeypatch.setattr(summary, "LINEAGE_OWN_FILE_FROM", 10)  # the fixture has more
    if not fork:
        monkeypatch.setattr(processes, "cores", lambda: 1)
    db, out = _copy_of(merged, tmp_path)
    report = run(db, out)
    assert report.lineage == tmp_path / "consolidated_lineage.xlsx"
    # the rows are all there, read back by another library than the writer's
    assert table(report.lineage, "lineage") == table(merged[1], "lineage")
    # the summary's own 数据明细 sheet says where they are, and links to the file
    note = rows_of(out, "lineage")[1][0]
    assert report.lineage.name in note and str(len(table(merged[1], "lineage"))) in note
    wb = openpyxl.load_workbook(out)
    assert wb[sheet_name("lineage")]["A4"].hyperlink.target == report.lineage.name
    assert openpyxl.load_workbook(report.lineage).sheetnames == [sheet_name("lineage"),
                                                                 sheet_name("legend")]
    # the rest of the summary is as it was
    for key in ("prefecture", "matrix", "narratives", "issues"):
        assert table(out, key) == table(merged[1], key)


def test_a_lineage_file_left_from_a_bigger_merge_is_removed(tmp_path, monkeypatch, merged):
    db, out = _copy_of(merged, tmp_path)
    monkeypatch.setattr(summary, "LINEAGE_OWN_FILE_FROM", 10)
    assert run(db, out).lineage.is_file()
    monkeypatch.setattr(summary, "LINEAGE_OWN_FILE_FROM", 10**9)
    report = run(db, out)
    assert report.lineage is None and not summary.lineage_path(out).exists()
    assert table(out, "lineage") == table(merged[1], "lineage")


def test_a_failing_lineage_writer_leaves_the_summary_untouched(tmp_path, monkeypatch, merged):
    db, out = _copy_of(merged, tmp_path)
    out.write_bytes(b"the last good workbook")
    monkeypatch.setattr(summary, "LINEAGE_OWN_FILE_FROM", 10)

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(summary, "_write_lineage_book", broken)
    with pytest.raises(OSError, match="disk full"):
        run(db, out)
    assert out.read_bytes() == b"the last good workbook"
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".*.part")) == []


@pytest.mark.parametrize("fork", [True, False], ids=["second process", "one process"])
def test_a_failing_summary_leaves_the_earlier_lineage_file_too(tmp_path, monkeypatch, merged,
                                                               fork):
    """The pair is put in place together: never a new lineage beside an old summary."""
    db, out = _copy_of(merged, tmp_path)
    out.write_bytes(b"the last good workbook")
    summary.lineage_path(out).write_bytes(b"its lineage")
    monkeypatch.setattr(summary, "LINEAGE_OWN_FILE_FROM", 10)
    if not fork:
        monkeypatch.setattr(processes, "cores", lambda: 1)
    real = summary._write_book

    def failing_summary(tmp, model, lang, keys, lineage=None):
        if "overview" in keys:
            raise UnsafeWorkbookError("a foreign formula")
        return real(tmp, model, lang, keys, lineage)

    monkeypatch.setattr(summary, "_write_book", failing_summary)
    with pytest.raises(UnsafeWorkbookError):
        run(db, out)
    assert out.read_bytes() == b"the last good workbook"
    assert summary.lineage_path(out).read_bytes() == b"its lineage"
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left behind


def test_a_stale_lineage_file_that_cannot_go_stops_the_merge_first(tmp_path, monkeypatch,
                                                                   merged):
    db, out = _copy_of(merged, tmp_path)
    out.write_bytes(b"the last good workbook")
    stale = summary.lineage_path(out)
    stale.write_bytes(b"open in Excel")
    real_unlink = type(stale).unlink

    def locked(self, *args, **kwargs):
        if self == stale:
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(type(stale), "unlink", locked)
    with pytest.raises(summary.OutputError, match=stale.name):
        run(db, out)
    assert out.read_bytes() == b"the last good workbook" and stale.is_file()
