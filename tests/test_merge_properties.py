"""Invariants of the merge, over generated inputs (hypothesis).

- totals equal the sum of the parts;
- merging keeps every value (store and lineage sheet);
- identical periods give zero change;
- the colour of a cell follows the threshold rules: the workbook's conditional
  formats, evaluated on the values the file holds, give the colour
  ``variance.rag`` gives for that value.
"""

import datetime as dt
import math
import re
import sqlite3
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

import merge_fixtures as mf
from toolkit import aggregate, store, variance
from toolkit.catalogue import t
from toolkit.config import Thresholds
from toolkit.facts import Fact, Gathered, Selection, Submission, gather
from toolkit.merge import build_model, consolidate
from toolkit.periods import parse_period
from toolkit.summary import GREEN, AMBER, RED, write_summary

H1, Q1 = parse_period("2024H1"), parse_period("2024Q1")
PLAN = mf.tasklist()
CODES = [u.code for u in mf.UNITS]
# examples that write a workbook are slow to shrink: report them as found
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
NUMERIC = [i for i in PLAN.indicators if i.kind != "milestone" and PLAN.scope_units(i)]
COLOURS = {"green": "FF" + GREEN[0][1:], "amber": "FF" + AMBER[0][1:], "red": "FF" + RED[0][1:]}

value = st.one_of(st.none(), st.integers(0, 10**7).map(float),
                  st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
# {(unit, indicator): value} for indicators in each unit's scope
readings = st.fixed_dictionaries({
    (code, ind.id): value for ind in NUMERIC for code in PLAN.scope_units(ind)})
thresholds = st.tuples(st.integers(0, 150), st.integers(0, 60)).map(
    lambda ag: Thresholds(green=(ag[0] + ag[1]) / 50, amber=ag[0] / 50))


def gathered_from(values: dict, previous: dict | None = None) -> Gathered:
    """Facts of every unit, straight from values (no store)."""
    subs = tuple(Submission(i, code, "valid", f"{code}.xlsx", "", "2024-07-01T00:00:00",
                            "2024-07-01T00:00:00") for i, code in enumerate(CODES, start=1))

    def facts(period, data):
        return tuple(Fact(period.code, u, ind, None, None, v, "valid", 1, f"{u}.xlsx", "指标填报",
                          "G6") for (u, ind), v in data.items())

    return Gathered(H1, Selection({s.unit_code: s for s in subs}, subs, ()), facts(H1, values),
                    (), (), Q1 if previous is not None else None,
                    facts(Q1, previous) if previous is not None else ())


@settings(max_examples=150, deadline=None)
@given(readings)
def test_totals_equal_the_sum_of_the_parts(values):
    model = build_model(PLAN, gathered_from(values), Thresholds(), dt.date(2024, 7, 10))
    for row in model.prefecture:
        parts = [v for (u, i), v in values.items() if i == row.indicator.id and v is not None]
        rule = row.indicator.aggregation
        if rule == "none" or not PLAN.scope_units(row.indicator):
            assert row.value.actual is None
        elif not parts:
            assert row.value.actual is None and row.state == "missing"  # never zero
        elif rule == "sum":
            assert row.value.actual == math.fsum(parts)
        elif rule == "mean":
            assert row.value.actual == math.fsum(parts) / len(parts)
        elif rule in ("min", "max"):
            assert row.value.actual == (min(parts) if rule == "min" else max(parts))
        else:  # weighted: between the smallest and largest part that has a weight
            if row.value.actual is not None:
                assert min(parts) - 1e-6 <= row.value.actual <= max(parts) + 1e-6


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=NO_SHRINK)
@given(readings)
def test_merging_keeps_every_value(values):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "toolkit.db"
        with store.opened(db) as conn:
            for code in CODES:
                sid = mf.add_submission(conn, "2024H1", code, "valid")
                mf.add_readings(conn, sid, {i: v for (u, i), v in values.items() if u == code})
        out = Path(tmp) / "out.xlsx"
        consolidate(db, PLAN, H1, out)
        conn = sqlite3.connect(db)
        stored = {(u, i): a for u, i, a in conn.execute(
            "SELECT unit_code, indicator, actual FROM facts WHERE period = '2024H1'")}
        conn.close()
        # every reading, and an empty fact for each in-scope indicator nobody typed
        assert {k: v for k, v in stored.items() if k in values} == values
        assert all(v is None for k, v in stored.items() if k not in values)
        book = CalamineWorkbook.from_path(str(out))
        lineage = book.get_sheet_by_name(t("summary.sheet.lineage")).to_python()
        summary = book.get_sheet_by_name(t("summary.sheet.prefecture")).to_python()
        book.close()
    head = lineage[3]
    col = {k: head.index(t(f"summary.lineage.col.{k}")) for k in ("code", "indicator", "actual")}
    shown = {(r[col["code"]], r[col["indicator"]]): r[col["actual"]] for r in lineage[4:]}
    assert shown.keys() == stored.keys()
    for key, v in values.items():
        # Excel keeps 16 significant digits, as xlsxwriter writes them
        assert (shown[key] == "") if v is None else shown[key] == pytest.approx(v, rel=1e-15)
    actual = summary[3].index(t("summary.prefecture.col.actual"))
    for row in summary[4:]:
        ind = PLAN.indicator(row[0])
        parts = [v for (u, i), v in shown.items() if i == ind.id and v != ""]
        if ind.aggregation == "sum" and parts:
            assert row[actual] == pytest.approx(math.fsum(parts), rel=1e-12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(readings)
def test_identical_periods_give_zero_change(values):
    model = build_model(PLAN, gathered_from(values, previous=values), Thresholds(),
                        dt.date(2024, 7, 10))
    if any(v is not None for v in values.values()):
        assert model.changes  # every indicator with a value is compared
    for row in model.changes:
        assert row.change.change in (0.0, None) and not row.change.flagged
        assert row.change.relative in (0.0, None)
        assert (row.change.change is None) == (row.change.current is None)


def test_identical_periods_through_the_store(tmp_path):
    values = {("653101", "1.1"): 120.0, ("653121", "1.1"): 80.0, ("653101", "1.2"): 47.5,
              ("6531KF", "3.2"): 59.0}
    db = tmp_path / "toolkit.db"
    with store.opened(db) as conn:
        for period in ("2024Q1", "2024H1"):
            for code in ("653101", "653121", "6531KF"):
                sid = mf.add_submission(conn, period, code, "valid")
                mf.add_readings(conn, sid, {i: v for (u, i), v in values.items() if u == code})
    gather(db, PLAN, Q1)
    gathered = gather(db, PLAN, H1)
    assert gathered.previous_period == Q1
    model = build_model(PLAN, gathered, Thresholds(), dt.date(2024, 7, 10))
    assert {(r.indicator.id, r.unit_code) for r in model.changes} >= set(
        (i, u) for u, i in values)
    assert all(r.change.change == 0 for r in model.changes)


# --- conditional formats, evaluated -------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>"(?:[^"]|"")*")|'
                    r"(?P<ref>\$?[A-Z]{1,3}\$?\d+)|(?P<name>[A-Z]+)\(|(?P<op>>=|<=|<>|[=<>])|"
                    r"(?P<punct>[(),]))")
_REF = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d+)")


def _col_number(letters):
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def evaluate(formula: str, cell_value):
    """Evaluate a conditional-format formula of the forms the writer uses, with every
    reference moved relative to the cell (``cell_value(row, col)`` gives a value)."""
    tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(formula)]
    pos = 0

    def term():
        nonlocal pos
        kind, text = tokens[pos]
        pos += 1
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            return cell_value(text)
        if kind == "name":
            args = [expr()]
            while tokens[pos][1] == ",":
                pos += 1
                args.append(expr())
            pos += 1  # ")"
            if text == "AND":
                return all(a is True for a in args)
            if text == "OR":
                return any(a is True for a in args)
            if text == "ISNUMBER":
                return isinstance(args[0], (int, float)) and not isinstance(args[0], bool)
            raise AssertionError(f"unexpected function {text}")
        raise AssertionError(f"unexpected token {text!r} in {formula}")

    def compare(a, op, b):
        if a is None:
            a = "" if isinstance(b, str) else 0.0
        if isinstance(a, (int, float)) != isinstance(b, (int, float)):
            return op in ("<>",) or (op in (">", ">=") and isinstance(a, str)) or (
                op in ("<", "<=") and isinstance(b, str))  # Excel: text sorts after numbers
        return {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "=": a == b,
                "<>": a != b}[op]

    def expr():
        nonlocal pos
        left = term()
        if pos < len(tokens) and tokens[pos][0] == "op":
            op = tokens[pos][1]
            pos += 1
            return compare(left, op, term())
        return left

    return expr()


def colours_of(ws):
    """{(row, col): fill of the first rule that holds} for every cell in a CF range."""
    out = {}
    for cf in ws.conditional_formatting:
        for cells in cf.sqref.ranges:
            top, left = cells.min_row, cells.min_col
            for row in range(cells.min_row, cells.max_row + 1):
                for col in range(cells.min_col, cells.max_col + 1):
                    def value(ref, dr=row - top, dc=col - left):
                        m = _REF.fullmatch(ref)
                        c = _col_number(m[2]) + (0 if m[1] else dc)
                        r = int(m[4]) + (0 if m[3] else dr)
                        return ws.cell(r, c).value

                    for rule in cf.rules:
                        if evaluate(rule.formula[0], value) and (row, col) not in out:
                            out[(row, col)] = rule.dxf.fill.bgColor.rgb
    return out


rate_actuals = st.fixed_dictionaries({
    (code, ind): st.one_of(st.none(), st.integers(0, 150).map(float))
    for ind in ("1.2", "3.2") for code in PLAN.scope_units(PLAN.indicator(ind))})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=NO_SHRINK)
@given(values=rate_actuals, th=thresholds)
def test_the_colour_of_a_cell_follows_the_threshold_rules(values, th):
    model = build_model(PLAN, gathered_from(values), th, dt.date(2024, 7, 10))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.xlsx"
        write_summary(out, model)
        wb = openpyxl.load_workbook(out, data_only=True)  # cached values of formulas
    checked = 0
    for key, ratio_header in (("matrix", None), ("prefecture", "ratio"), ("lineage", "ratio")):
        ws = wb[t(f"summary.sheet.{key}")]
        colours = colours_of(ws)
        if ratio_header is None:  # the matrix: every indicator column from D
            cols = range(4, ws.max_column + 1)
        else:
            head = [c.value for c in ws[4]]
            cols = [head.index(t(f"summary.{key}.col.{ratio_header}")) + 1]
        for row in range(5, ws.max_row + 1):
            for col in cols:
                ratio = ws.cell(row, col).value
                want = variance.rag(ratio if isinstance(ratio, float | int) else None, th)
                assert colours.get((row, col)) == (COLOURS[want] if want else None), (
                    key, ws.cell(row, col).coordinate, ratio, th)
                checked += want is not None
                if ratio_header:  # the rating label beside it is coloured alike
                    assert colours.get((row, col + 1)) == colours.get((row, col))
    assert checked or not any(v is not None for v in values.values())


def test_boundaries_take_the_better_colour():
    """A ratio exactly on a threshold (45 of 50 at amber 0.9) is amber, 50 of 50 green."""
    values = {("653101", "1.2"): 45.0, ("653121", "1.2"): 50.0, ("653122", "1.2"): 44.0}
    model = build_model(PLAN, gathered_from(values), Thresholds(), dt.date(2024, 7, 10))
    rags = {k[0]: v.value.rag for k, v in model.values.items() if k[1] == "1.2"}
    assert rags == {"653101": "amber", "653121": "green", "653122": "red"}
    assert aggregate.aggregate("mean", values.values()) == pytest.approx(139 / 3)
