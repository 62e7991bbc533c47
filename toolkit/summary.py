"""Write the consolidated workbook (汇总表) with xlsxwriter, atomically.

Sheets (names and labels from ``toolkit/text/summary.yaml``, Chinese by default):
overview with charts, prefecture summary per indicator, unit × indicator
matrix, period-over-period change, task status by unit, the units' narratives,
submission status, validation issues, a long lineage table, and a legend. From
``LINEAGE_OWN_FILE_FROM`` values on, the lineage table is a workbook of its own
beside the summary, written by a second process at the same time.

Colours that judge a value are real Excel conditional formatting that mirrors
``toolkit.variance.rag`` exactly: the rules compare a progress-ratio cell with
the configured thresholds, and the prefecture summary computes its ratios with
formulas that repeat ``variance``'s arithmetic, so a value edited later
recolours. Text that came from a submission is always written as text; after
writing, the file is read back (its sheet XML scanned; with openpyxl whenever
the scan is not conclusive) and any formula the writer did not put there is an
error (the last good workbook stays in place).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.atomic import atomic_path
from toolkit.catalogue import t
from toolkit.errors import ToolkitError

WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
                    "strings_to_numbers": False}
SHEETS = ("overview", "prefecture", "matrix", "change", "progress", "narratives",
          "submissions", "issues", "lineage", "legend")

# Colours (fill, font): the same in the legend and in the conditional formats.
GREEN = ("#C6EFCE", "#006100")
AMBER = ("#FFEB9C", "#9C5700")
RED = ("#FFC7CE", "#9C0006")
ORANGE = ("#F8CBAD", "#843C0C")
BLUE = ("#DDEBF7", "#1F4E78")
GREY = ("#D9D9D9", "#595959")  # not in this unit's scope
HEADER = ("#1F4E78", "#FFFFFF")
RAG_COLOURS = {"green": GREEN, "amber": AMBER, "red": RED}
STATE_COLOURS = {"merged": GREEN, "warnings": AMBER, "marked": ORANGE, "invalid": RED,
                 "unvalidated": BLUE, "missing": RED}
STATE_ORDER = ("merged", "warnings", "marked", "invalid", "unvalidated", "missing")
# Task statuses as the templates offer them (Chinese list, and the English one).
TASK_STATUS_COLOURS = (("已完成", "Completed", GREEN), ("推进中", "In progress", BLUE),
                       ("未启动", "Not started", AMBER), ("滞后", "Behind", RED))
SEVERITY_COLOURS = {"error": RED, "warning": AMBER}

INTEGER_UNITS = ("个", "项", "条", "户", "套", "所", "人", "片", "人次", "家", "座", "处", "栋",
                 "辆", "间", "名", "元", "张", "次", "宗")
RATIO_FORMAT = "0.0%"


class UnsafeWorkbookError(ToolkitError):
    """The written workbook holds a formula the writer did not put there."""


class OutputError(ToolkitError):
    """The consolidated workbook could not be put in place (e.g. it is open elsewhere)."""


def number_format(unit: str, fractional: bool = False) -> str:
    """Excel number format for values in ``unit`` (percent values are in percent)."""
    if unit == "%":
        return '0.0"%"'
    if unit == "‰":
        return '0.0"‰"'
    if unit in INTEGER_UNITS:
        return "#,##0.0" if fractional else "#,##0"
    return "#,##0.00"


# --- the model the writer draws ----------------------------------------------------------

@dataclass(frozen=True)
class UnitStatus:
    """A unit's standing in the merge: ``state`` is one of STATE_ORDER."""

    unit: object  # model.Unit
    state: str
    submission: object | None = None  # facts.Submission
    late: bool | None = None


@dataclass(frozen=True)
class PrefectureRow:
    """One indicator at prefecture level. ``state``: ok, missing (nobody reported),
    not_aggregated (rule none), prefecture (reported by no unit), reported (reported
    by no unit, and the prefecture's own figure imported)."""

    indicator: object  # model.Indicator
    value: object  # variance.Variance
    state: str
    reported: int
    in_scope: int
    done: int = 0  # milestones: units that reported done
    source: str = ""  # reported: the file and cell the prefecture's own figure came from


@dataclass(frozen=True)
class UnitValue:
    fact: object  # facts.Fact
    value: object  # variance.Variance


@dataclass(frozen=True)
class ChangeRow:
    indicator: object
    unit_code: str  # "" for the prefecture
    change: object  # variance.Change
    flag_decrease: bool  # a decrease is flagged here (cumulative, same year)


@dataclass(frozen=True)
class Consolidated:
    """Everything the consolidated workbook shows, computed (``toolkit.merge`` builds it)."""

    title: str
    period: object  # periods.Period
    thresholds: object  # config.Thresholds
    units: tuple[UnitStatus, ...]
    prefecture: tuple[PrefectureRow, ...]
    scopes: dict  # indicator id -> unit codes that report it
    values: dict  # (unit code, indicator id) -> UnitValue
    tasks: tuple = ()  # model.Task, in list order
    task_scopes: dict = field(default_factory=dict)  # task id -> unit codes
    progress: tuple = ()  # facts.ProgressRow
    issues: tuple = ()  # facts.IssueRow
    previous_period: object | None = None
    changes: tuple[ChangeRow, ...] = ()
    key_indicators: tuple[str, ...] = ()
    deadline: dt.date | None = None
    as_of: dt.datetime | None = None  # latest submission time: the data's date
    unattributed: int = 0
    created: dt.datetime = dt.datetime(2024, 1, 1)

    @functools.cached_property
    def by_code(self) -> dict:
        """{unit code: UnitStatus}."""
        return {u.unit.code: u for u in self.units}

    def rag_counts(self) -> dict[str, int]:
        counts = {"green": 0, "amber": 0, "red": 0, "none": 0}
        for row in self.prefecture:
            counts[row.value.rag or "none"] += 1
        return counts

    def unit_rag_counts(self) -> dict[str, int]:
        counts = {"green": 0, "amber": 0, "red": 0}
        for cell in self.values.values():
            if cell.value.rag:
                counts[cell.value.rag] += 1
        return counts

    def state_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATE_ORDER}
        for unit in self.units:
            counts[unit.state] += 1
        return counts


@dataclass(frozen=True)
class Written:
    path: Path
    formulas: int  # formula cells the writer put there
    texts: int  # cells of text that came from submissions
    lineage: Path | None = None  # the lineage workbook, when 数据明细 has a file of its own


# From this many values on, 数据明细 is a workbook of its own beside the consolidated
# one (``lineage_path``), written at the same time on another core: a township run's
# tens of thousands of rows would otherwise make the summary slow to write and to open.
LINEAGE_OWN_FILE_FROM = 20_000


def lineage_path(path: str | Path) -> Path:
    """Where the lineage workbook of the consolidated workbook at ``path`` goes."""
    path = Path(path)
    return path.with_name(f"{path.stem}_lineage{path.suffix}")


# --- writing ---------------------------------------------------------------------------

class _Sheet:
    """A worksheet that remembers its formulas and the cells of submitted text."""

    def __init__(self, book: "_Book", key: str):
        self.book = book
        self.name = book.label(f"sheet.{key}")
        self.ws = book.wb.add_worksheet(self.name)
        self.formulas: set[tuple[int, int]] = set()
        self.untrusted: set[tuple[int, int]] = set()

    def text(self, row, col, value, fmt=None, untrusted=False):
        if value.__class__ is not str:
            value = "" if value is None else str(value)
        if not value:
            self.ws.write_blank(row, col, None, fmt)
            return
        self.ws.write_string(row, col, value, fmt)
        if untrusted:
            self.untrusted.add((row, col))

    def number(self, row, col, value, fmt=None):
        if value is None:
            self.ws.write_blank(row, col, None, fmt)
        else:
            self.ws.write_number(row, col, value, fmt)

    def formula(self, row, col, formula, fmt, cached):
        self.ws.write_formula(row, col, formula, fmt, "" if cached is None else cached)
        self.formulas.add((row, col))

    def header(self, row, labels, first_col=0):
        for i, label in enumerate(labels):
            self.text(row, first_col + i, label, self.book.fmt("header"))

    def title(self, text, width, note=None):
        self.ws.merge_range(0, 0, 0, max(width - 1, 1), "", self.book.fmt("title"))
        self.text(0, 0, text, self.book.fmt("title"))
        self.ws.set_row(0, 24)
        if note:
            self.ws.merge_range(1, 0, 1, max(width - 1, 1), "", self.book.fmt("note"))
            self.text(1, 0, note, self.book.fmt("note"))
            self.ws.set_row(1, 30)

    def widths(self, widths):
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)

    def table(self, header_row, last_row, last_col, freeze_col=0):
        """Frozen header, autofilter and print setup for a table from ``header_row``."""
        self.ws.freeze_panes(header_row + 1, freeze_col)
        self.ws.autofilter(header_row, 0, max(last_row, header_row), last_col)
        self.print_setup(header_row)

    def print_setup(self, header_row=None):
        ws = self.ws
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        if header_row is not None:
            ws.repeat_rows(0, header_row)
        ws.set_header("&C&A")
        ws.set_footer("&C" + self.book.label("print.footer", page="&P", pages="&N"))

    def rag_rules(self, first_row, first_col, last_row, last_col, ref):
        """Conditional formats mirroring ``variance.rag`` on the ratio in ``ref``
        (an A1 reference to the range's top-left row, relative where it should move)."""
        if last_row < first_row:
            return
        th = self.book.thresholds
        green, amber = _literal(th.green), _literal(th.amber)
        rules = (("green", f"AND(ISNUMBER({ref}),{ref}>={green})"),
                 ("amber", f"AND(ISNUMBER({ref}),{ref}>={amber},{ref}<{green})"),
                 ("red", f"AND(ISNUMBER({ref}),{ref}<{amber})"))
        for rag, criteria in rules:
            self.ws.conditional_format(first_row, first_col, last_row, last_col, {
                "type": "formula", "criteria": "=" + criteria,
                "format": self.book.cf(RAG_COLOURS[rag])})

    def label_rules(self, first_row, first_col, last_row, last_col, ref, colours):
        """Colour cells whose ``ref`` equals one of the labels: ((label, ...), colour)."""
        if last_row < first_row:
            return
        for labels, colour in colours:
            tests = ",".join(f'{ref}="{_quote(label)}"' for label in labels)
            criteria = f"OR({tests})" if len(labels) > 1 else tests
            self.ws.conditional_format(first_row, first_col, last_row, last_col, {
                "type": "formula", "criteria": "=" + criteria,
                "format": self.book.cf(colour)})


def _literal(number: float) -> str:
    """A number as a formula literal that reads back as the same double (no exponent)."""
    text = repr(float(number))
    if "e" in text or "E" in text:
        from decimal import Decimal

        text = format(Decimal(text), "f")
    return text


def _quote(text: str) -> str:
    return text.replace('"', '""')


def _a1(row: int, col: int, fix_col: bool = False) -> str:
    from toolkit.layout import col_letter

    return f"{'$' if fix_col else ''}{col_letter(col + 1)}{row + 1}"


class _Book:
    def __init__(self, wb, lang, thresholds):
        self.wb = wb
        self.lang = lang
        self.thresholds = thresholds
        self.sheets: list[_Sheet] = []
        self._formats: dict = {}

    def label(self, key, **fields):
        return t(f"summary.{key}", self.lang, **fields)

    def sheet(self, key) -> _Sheet:
        sheet = _Sheet(self, key)
        self.sheets.append(sheet)
        return sheet

    def fmt(self, kind, num_format=None, fill=None):
        key = (kind, num_format, fill)
        if key not in self._formats:
            props = {"font_name": "等线" if self.lang == "zh" else "Calibri", "font_size": 10,
                     "valign": "top"}
            if kind == "title":
                props.update(bold=True, font_size=14, valign="vcenter")
            elif kind == "note":
                props.update(italic=True, font_color="#595959", text_wrap=True)
            elif kind == "section":
                props.update(bold=True, font_size=11, bottom=1)
            elif kind == "header":
                props.update(bold=True, bg_color=HEADER[0], font_color=HEADER[1], border=1,
                             text_wrap=True, align="center", valign="vcenter")
            elif kind in ("cell", "wrap"):
                props.update(border=1, border_color="#BFBFBF")
                if kind == "wrap":
                    props["text_wrap"] = True
            if num_format:
                props["num_format"] = num_format
            if fill:
                props.update(bg_color=fill[0], font_color=fill[1], pattern=1)
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def cf(self, colour):
        key = ("cf", colour)
        if key not in self._formats:
            self._formats[key] = self.wb.add_format({"bg_color": colour[0],
                                                     "font_color": colour[1]})
        return self._formats[key]

    def num(self, unit, fractional=False):
        return self.fmt("cell", number_format(unit, fractional))


def write_summary(path: str | Path, model: Consolidated, lang: str = "zh") -> Written:
    """Write the consolidated workbook to ``path`` atomically and check it; return counts.

    Raises UnsafeWorkbookError when the file read back holds a formula the writer did
    not write, and OutputError when the file cannot be put in place; either way any
    earlier file at ``path`` is left untouched.
    """
    path = Path(path)
    try:
        return _write(path, model, lang)
    except PermissionError as exc:
        names = f"{exc.filename or ''} {getattr(exc, 'filename2', None) or ''}"
        target = lineage_path(path) if lineage_path(path).stem in names else path
        raise OutputError(f"cannot write {target}: {exc.strerror}. If the workbook is open "
                          "in Excel or WPS, close it and run merge again") from None


def _write(path: Path, model: Consolidated, lang: str) -> Written:
    """The workbook, checked; with many values the lineage workbook beside it, written
    by a second process (forked: it has the model already) while this one writes the
    rest. Both are put in place only once both are written and checked; a failure
    leaves the earlier pair as it was."""
    beside = lineage_path(path)
    with atomic_path(path) as tmp:
        if len(model.values) < LINEAGE_OWN_FILE_FROM:
            counts = _write_book(tmp, model, lang, SHEETS)
            # a lineage file from an earlier, bigger merge would mislead: it goes first
            with contextlib.suppress(FileNotFoundError):
                beside.unlink()
            return Written(path, *counts)
        with atomic_path(beside) as lineage_tmp:  # renamed just before the summary
            counts = _write_pair(tmp, lineage_tmp, beside, model, lang)
    return Written(path, *counts, lineage=beside)


def _write_pair(tmp: Path, lineage_tmp: Path, lineage: Path, model: Consolidated,
                lang: str) -> tuple[int, int]:
    from toolkit import processes

    counts, more = processes.both(
        lambda: _write_book(tmp, model, lang, SHEETS, lineage=lineage),
        lambda: _write_lineage_book(lineage_tmp, model, lang))  # a child: it has the model
    return tuple(a + b for a, b in zip(counts, more))


def _write_lineage_book(tmp: Path, model: Consolidated, lang: str) -> tuple[int, int]:
    return _write_book(tmp, model, lang, ("lineage", "legend"))


def _write_book(tmp: Path, model: Consolidated, lang: str, keys,
                lineage: Path | None = None) -> tuple[int, int]:
    """Write the sheets ``keys`` to ``tmp`` and check the file; (formulas, texts) written.
    With ``lineage``, the lineage sheet only says which file holds the rows."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
    book = _Book(wb, lang, model.thresholds)
    wb.set_properties({"title": book.label("doc.title", title=model.title,
                                           period=model.period.label(lang)),
                       "subject": model.period.code, "author": book.label("doc.author"),
                       "created": model.created})
    sheets = {key: book.sheet(key) for key in keys}
    writers = {"prefecture": _prefecture, "matrix": _matrix, "change": _changes,
               "progress": _progress, "narratives": _narratives,
               "submissions": _submissions, "issues": _issues, "lineage": _lineage,
               "legend": _legend, "overview": _overview}
    for key in sorted(keys, key=lambda k: k == "overview"):  # the overview last
        if key == "lineage" and lineage is not None:
            _lineage_elsewhere(sheets[key], model, lineage)
        else:
            writers[key](sheets[key], model)
    sheets[keys[0]].ws.activate()
    wb.close()
    allowed = {s.name: s.formulas for s in book.sheets}
    untrusted = {s.name: s.untrusted for s in book.sheets}
    check_no_foreign_formulas(tmp, allowed, untrusted)
    return sum(len(v) for v in allowed.values()), sum(len(v) for v in untrusted.values())


def check_no_foreign_formulas(path, allowed: dict, untrusted: dict | None = None) -> None:
    """Read ``path`` back with openpyxl: every formula cell must be one the writer put
    there (``allowed``: sheet -> {(row, col)} 0-based), and every cell of submitted text
    (``untrusted``) must hold text. Raise UnsafeWorkbookError otherwise."""
    untrusted = untrusted or {}
    if _plainly_safe(path, allowed, untrusted):
        return
    import openpyxl

    with open(path, "rb") as handle:
        wb = openpyxl.load_workbook(handle, read_only=True)  # streams: big workbooks too
        try:
            _check_cells(wb, allowed, untrusted)
        finally:
            wb.close()


# Cells as xlsxwriter writes them: <c r="B7" s="3" t="s">, a formula as the first child.
_CELL = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="[0-9]+")?( t="s")?[^>]*>(<f[\s>/])?')
# Every cell and formula element, to be sure the pattern above saw them all.
_CELL_TAG = re.compile(rb"<c[\s>/]")
_FORMULA_TAG = re.compile(rb"<f[\s>/]")
_PREFIXED = re.compile(rb":[cf][\s>/]")  # <x:c ...>: not the shape xlsxwriter writes


def _plainly_safe(path, allowed: dict, untrusted: dict) -> bool:
    """The quick form of the check, for the workbook this module wrote.

    True only when every sheet's XML is in the shape xlsxwriter writes, each
    formula is one the writer put there and each cell of submitted text is a
    shared string. Anything else — a cell or formula element the pattern did not
    account for, a foreign formula, submitted text of another type — gives
    False, and the full check with openpyxl decides (and words the error).
    """
    from toolkit.layout import col_letter

    letters: dict[int, str] = {}

    def refs(cells) -> set[bytes]:
        out = set()
        for row, col in cells:
            if col not in letters:
                letters[col] = col_letter(col + 1)
            out.add(f"{letters[col]}{row + 1}".encode())
        return out

    try:
        with zipfile.ZipFile(path) as archive:
            for name, part in _worksheet_parts(archive):
                ok, texts = refs(allowed.get(name, ())), refs(untrusted.get(name, ()))
                seen: set[bytes] = set()
                with archive.open(part) as stream:
                    if not all(_window_safe(w, ok, texts, seen) for w in _windows(stream)):
                        return False
                if len(seen) != len(texts):
                    return False
    except Exception:  # noqa: BLE001 - anything odd: the full check reads it
        return False
    return True


def _windows(stream, size: int = 1 << 20):
    """The part's XML in pieces of about ``size`` bytes, each cut just before a tag."""
    rest = b""
    while True:
        chunk = stream.read(size)
        if not chunk:
            if rest:
                yield rest
            return
        rest += chunk
        cut = rest.rfind(b"<")
        if cut > 0:
            yield rest[:cut]
            rest = rest[cut:]


def _window_safe(data: bytes, ok: set, texts: set, seen: set) -> bool:
    cells = _CELL.findall(data)
    if len(cells) != len(_CELL_TAG.findall(data)) or _PREFIXED.search(data):
        return False  # cells the pattern did not account for
    formulas = [ref for ref, _, formula in cells if formula]
    if len(formulas) != len(_FORMULA_TAG.findall(data)) or not ok.issuperset(formulas):
        return False
    if texts:
        if not texts.isdisjoint([ref for ref, shared, formula in cells if formula or not shared]):
            return False
        seen.update(texts.intersection([ref for ref, shared, formula in cells
                                        if shared and not formula]))
    return True


def _worksheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, zip part) of every worksheet (not chartsheet), in workbook order."""
    from toolkit.formulas import sheet_parts

    out = []
    for name, kind, part in sheet_parts(archive.read("xl/workbook.xml"),
                                        archive.read("xl/_rels/workbook.xml.rels")):
        if kind.endswith("/chartsheet"):
            continue
        if not kind.endswith("/worksheet"):
            raise ValueError(f"sheet {name!r} is a {kind or 'sheet without a relationship'}")
        out.append((name, part))
    return out


def _check_cells(wb, allowed: dict, untrusted: dict) -> None:
    for ws in wb.worksheets:
        ok = allowed.get(ws.title, set())
        texts = untrusted.get(ws.title, set())
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type is None or not hasattr(cell, "row"):
                    continue  # an empty cell
                where = (cell.row - 1, cell.column - 1)
                if cell.data_type == "f" and where not in ok:
                    raise UnsafeWorkbookError(
                        f"{ws.title}!{cell.coordinate} holds a formula that came from a "
                        f"submission ({str(cell.value)[:40]!r}); the workbook was not saved")
                if where in texts and cell.data_type != "s":
                    raise UnsafeWorkbookError(
                        f"{ws.title}!{cell.coordinate}: submitted text was not kept as "
                        "text; the workbook was not saved")


# --- sheets ----------------------------------------------------------------------------

def _name(model, code):
    status = model.by_code.get(code)
    return status.unit.name if status else code


def _rag_label(book, rag):
    return book.label(f"rag.{rag}") if rag else ""


def _prefecture(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    th = model.thresholds
    cols = ("id", "task", "name", "unit", "kind", "direction", "rule", "target", "share",
            "expected", "actual", "completion", "ratio", "rag", "gap", "variance", "reported",
            "note")
    c = {k: i for i, k in enumerate(cols)}
    sh.title(L("prefecture.title", title=model.title, period=model.period.label(book.lang)),
             len(cols), L("prefecture.note", green=f"{th.green:.0%}", amber=f"{th.amber:.0%}"))
    head = 3
    sh.header(head, [L(f"prefecture.col.{k}") for k in cols])
    sh.ws.set_row(head, 32)
    cell, wrap = book.fmt("cell"), book.fmt("wrap")
    pct = book.fmt("cell", RATIO_FORMAT)
    green, amber = _literal(th.green), _literal(th.amber)
    labels = [_quote(L(f"rag.{r}")) for r in ("green", "amber", "red")]
    row = head
    for row, pref in enumerate(model.prefecture, start=head + 1):
        ind, var = pref.indicator, pref.value
        fractional = ind.aggregation in ("mean", "weighted")
        sh.text(row, c["id"], ind.id, cell)
        sh.text(row, c["task"], ind.task, cell)
        sh.text(row, c["name"], ind.name, wrap)
        sh.text(row, c["unit"], ind.unit, cell)
        sh.text(row, c["kind"], L(f"kind.{ind.kind}"), cell)
        sh.text(row, c["direction"], L(f"direction.{ind.direction}"), cell)
        sh.text(row, c["rule"], L(f"rule.{ind.aggregation}"), cell)
        sh.number(row, c["target"], var.target, book.num(ind.unit))
        share = None if var.target is None else _share(ind, model.period)
        sh.number(row, c["share"], share, pct)
        T, S, E, A = (_a1(row, c[k]) for k in ("target", "share", "expected", "actual"))
        R = _a1(row, c["ratio"])
        sh.formula(row, c["expected"], f"=IF(AND(ISNUMBER({T}),ISNUMBER({S})),{T}*{S},\"\")",
                   book.num(ind.unit, True), var.expected)
        if pref.state in ("ok", "reported"):
            sh.number(row, c["actual"], var.actual, book.num(ind.unit, fractional))
        else:
            sh.text(row, c["actual"], L(f"prefecture.actual.{pref.state}"), cell)
        sh.formula(row, c["completion"],
                   f"=IF(AND(ISNUMBER({A}),ISNUMBER({T})),IF({T}<>0,{A}/{T},\"\"),\"\")",
                   pct, var.completion)
        sh.formula(row, c["ratio"], _ratio_formula(A, E, ind.direction), pct, var.ratio)
        sh.formula(row, c["rag"], f'=IF(ISNUMBER({R}),IF({R}>={green},"{labels[0]}",'
                   f'IF({R}>={amber},"{labels[1]}","{labels[2]}")),"")', cell,
                   _rag_label(book, var.rag))
        sh.formula(row, c["gap"], f"=IF(AND(ISNUMBER({A}),ISNUMBER({T})),{A}-{T},\"\")",
                   book.num(ind.unit, True), var.gap)
        sh.formula(row, c["variance"], f"=IF(AND(ISNUMBER({A}),ISNUMBER({E})),{A}-{E},\"\")",
                   book.num(ind.unit, True), var.variance)
        sh.text(row, c["reported"], f"{pref.reported}/{pref.in_scope}", cell)
        sh.text(row, c["note"], _prefecture_note(book, pref), wrap)
    first = head + 1
    sh.rag_rules(first, c["ratio"], row, c["rag"], _a1(first, c["ratio"], fix_col=True))
    sh.widths((7, 6, 30, 8, 9, 10, 9, 13, 8, 13, 13, 9, 10, 6, 12, 12, 8, 30))
    sh.table(head, row, len(cols) - 1, freeze_col=3)


def _share(ind, period):
    from toolkit.variance import expected_share

    return expected_share(ind, period)


def _ratio_formula(actual: str, expected: str, direction: str) -> str:
    """``variance.progress_ratio`` as an Excel formula."""
    A, E = actual, expected
    if direction == "lower":
        inner = f"IF({E}>0,MAX(0,2-{A}/{E}),IF({A}<={E},1,0))"
    else:
        inner = f"IF({E}>0,{A}/{E},IF({A}>={E},1,0))"
    return f'=IF(AND(ISNUMBER({A}),ISNUMBER({E})),{inner},"")'


def _prefecture_note(book, pref) -> str:
    L = book.label
    if pref.state == "prefecture":
        return L("prefecture.why.prefecture")
    if pref.state == "reported":
        return L("prefecture.why.reported", source=pref.source)
    if pref.state == "missing":
        return L("prefecture.why.missing")
    if pref.indicator.kind == "milestone":
        return L("prefecture.why.milestone", done=pref.done, reported=pref.reported)
    if pref.state == "not_aggregated":
        return L("prefecture.why.not_aggregated")
    if pref.reported < pref.in_scope:
        return L("prefecture.why.partial", reported=pref.reported, total=pref.in_scope)
    return ""


def _matrix_indicators(model):
    return [p.indicator for p in model.prefecture if model.scopes.get(p.indicator.id)]


def _matrix(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    indicators = _matrix_indicators(model)
    width = 3 + len(indicators)
    sh.title(L("matrix.title", period=model.period.label(book.lang)), width,
             L("matrix.note", green=f"{model.thresholds.green:.0%}",
               amber=f"{model.thresholds.amber:.0%}"))
    head = 3
    sh.header(head, [L("matrix.col.code"), L("matrix.col.unit"), L("matrix.col.state")])
    sh.header(head, [f"{i.id} {i.name}（{i.unit}）" for i in indicators], first_col=3)
    sh.ws.set_row(head, 60)
    cell, pct = book.fmt("cell"), book.fmt("cell", RATIO_FORMAT)
    grey = book.fmt("cell", RATIO_FORMAT, GREY)
    row = head
    for row, status in enumerate(model.units, start=head + 1):
        code = status.unit.code
        sh.text(row, 0, code, cell)
        sh.text(row, 1, status.unit.name, cell)
        sh.text(row, 2, L(f"state.{status.state}"), cell)
        for col, ind in enumerate(indicators, start=3):
            if code not in model.scopes[ind.id]:
                sh.ws.write_blank(row, col, None, grey)
                continue
            value = model.values.get((code, ind.id))
            sh.number(row, col, value.value.ratio if value else None, pct)
    last_unit = row
    row += 1
    sh.text(row, 0, "", book.fmt("header"))
    sh.text(row, 1, L("matrix.prefecture"), book.fmt("header"))
    sh.text(row, 2, "", book.fmt("header"))
    by_id = {p.indicator.id: p for p in model.prefecture}
    for col, ind in enumerate(indicators, start=3):
        sh.number(row, col, by_id[ind.id].value.ratio, pct)
    if indicators:
        sh.rag_rules(head + 1, 3, row, width - 1, _a1(head + 1, 3))
    _state_rules(sh, head + 1, 2, last_unit, 2, _a1(head + 1, 2))
    sh.widths((8, 16, 14, *([12] * len(indicators))))
    sh.table(head, last_unit, width - 1, freeze_col=3)


def _state_rules(sh, first_row, first_col, last_row, last_col, ref):
    sh.label_rules(first_row, first_col, last_row, last_col, ref,
                   [((sh.book.label(f"state.{s}"),), STATE_COLOURS[s]) for s in STATE_ORDER])


def _changes(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    cols = ("id", "name", "unit", "code", "unit_name", "previous", "current", "change",
            "relative", "flag")
    c = {k: i for i, k in enumerate(cols)}
    prev = model.previous_period
    note = (L("change.note", previous=prev.label(book.lang)) if prev is not None
            else L("change.none"))
    sh.title(L("change.title", period=model.period.label(book.lang)), len(cols), note)
    head = 3
    labels = [L(f"change.col.{k}") for k in cols]
    if prev is not None:
        labels[c["previous"]] = L("change.col.previous_of", previous=prev.label(book.lang))
    sh.header(head, labels)
    sh.ws.set_row(head, 32)
    cell, wrap, pct = book.fmt("cell"), book.fmt("wrap"), book.fmt("cell", RATIO_FORMAT)
    flag_text = _quote(L("change.flag"))
    row = head
    for row, item in enumerate(model.changes, start=head + 1):
        ind, ch = item.indicator, item.change
        fractional = not item.unit_code and ind.aggregation in ("mean", "weighted")
        sh.text(row, c["id"], ind.id, cell)
        sh.text(row, c["name"], ind.name, wrap)
        sh.text(row, c["unit"], ind.unit, cell)
        sh.text(row, c["code"], item.unit_code, cell)
        sh.text(row, c["unit_name"], _name(model, item.unit_code) if item.unit_code
                else L("matrix.prefecture"), cell)
        sh.number(row, c["previous"], ch.previous, book.num(ind.unit, fractional))
        sh.number(row, c["current"], ch.current, book.num(ind.unit, fractional))
        P, C, D = (_a1(row, c[k]) for k in ("previous", "current", "change"))
        sh.formula(row, c["change"], f'=IF(AND(ISNUMBER({C}),ISNUMBER({P})),{C}-{P},"")',
                   book.num(ind.unit, True), ch.change)
        sh.formula(row, c["relative"],
                   f'=IF(AND(ISNUMBER({D}),ISNUMBER({P})),IF({P}<>0,{D}/ABS({P}),""),"")',
                   pct, ch.relative)
        if item.flag_decrease:
            sh.formula(row, c["flag"], f'=IF(AND(ISNUMBER({D}),{D}<0),"{flag_text}","")',
                       cell, L("change.flag") if ch.flagged else "")
        else:
            sh.text(row, c["flag"], "", cell)
    first = head + 1
    flag_ref = _a1(first, c["flag"], fix_col=True)
    if row >= first:
        sh.ws.conditional_format(first, c["change"], row, c["flag"], {
            "type": "formula", "criteria": f'={flag_ref}<>""', "format": book.cf(RED)})
    sh.widths((7, 30, 8, 8, 16, 14, 14, 14, 10, 14))
    sh.table(head, row, len(cols) - 1, freeze_col=2)


def _task_status_rules(sh, first_row, first_col, last_row, last_col, ref):
    sh.label_rules(first_row, first_col, last_row, last_col, ref,
                   [((zh, en), colour) for zh, en, colour in TASK_STATUS_COLOURS])


def _progress(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    units = [u.unit for u in model.units]
    width = 2 + len(units)
    sh.title(L("progress.title", period=model.period.label(book.lang)), width,
             L("progress.note"))
    head = 3
    sh.header(head, [L("progress.col.task"), L("progress.col.title")])
    sh.header(head, [u.name for u in units], first_col=2)
    sh.ws.set_row(head, 45)
    status = {(p.task, p.unit_code): p.status for p in model.progress}
    cell, wrap, grey = book.fmt("cell"), book.fmt("wrap"), book.fmt("cell", None, GREY)
    row = head
    for row, task in enumerate(model.tasks, start=head + 1):
        sh.text(row, 0, task.id, cell)
        sh.text(row, 1, task.title, wrap)
        scope = model.task_scopes.get(task.id, ())
        for col, unit in enumerate(units, start=2):
            if unit.code not in scope:
                sh.ws.write_blank(row, col, None, grey)
            else:
                sh.text(row, col, status.get((task.id, unit.code), ""), cell, untrusted=True)
    if units:
        _task_status_rules(sh, head + 1, 2, row, width - 1, _a1(head + 1, 2))
    sh.widths((6, 34, *([9] * len(units))))
    sh.table(head, row, width - 1, freeze_col=2)


def _narratives(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    cols = ("task", "title", "code", "unit", "status", "progress", "problems", "next_steps",
            "file", "sheet", "row")
    sh.title(L("narratives.title", period=model.period.label(book.lang)), len(cols),
             L("narratives.note"))
    head = 3
    sh.header(head, [L(f"narratives.col.{k}") for k in cols])
    cell, wrap = book.fmt("cell"), book.fmt("wrap")
    titles = {task.id: task.title for task in model.tasks}
    order = {task.id: i for i, task in enumerate(model.tasks)}
    unit_order = {u.unit.code: i for i, u in enumerate(model.units)}
    rows = sorted(model.progress, key=lambda p: (order.get(p.task, len(order)), p.task,
                                                 unit_order.get(p.unit_code, 0)))
    row = head
    for row, p in enumerate(rows, start=head + 1):
        sh.text(row, 0, p.task, cell)
        sh.text(row, 1, titles.get(p.task, ""), wrap)
        sh.text(row, 2, p.unit_code, cell)
        sh.text(row, 3, _name(model, p.unit_code), cell)
        for col, value in ((4, p.status), (5, p.progress), (6, p.problems), (7, p.next_steps),
                           (8, p.source_file), (9, p.sheet)):
            sh.text(row, col, value, wrap if col in (5, 6, 7) else cell, untrusted=True)
        sh.number(row, 10, p.row, cell)
    _task_status_rules(sh, head + 1, 4, row, 4, _a1(head + 1, 4))
    sh.widths((6, 24, 8, 14, 9, 40, 30, 30, 24, 10, 6))
    sh.table(head, row, len(cols) - 1, freeze_col=4)


def _submissions(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    cols = ("code", "unit", "state", "file", "files", "sent", "received", "deadline", "late",
            "errors", "warnings", "reason")
    sh.title(L("submissions.title", period=model.period.label(book.lang)), len(cols),
             L("submissions.note", deadline=model.deadline.isoformat() if model.deadline
               else "—"))
    head = 3
    sh.header(head, [L(f"submissions.col.{k}") for k in cols])
    cell = book.fmt("cell")
    row = head
    for row, status in enumerate(model.units, start=head + 1):
        sub = status.submission
        sh.text(row, 0, status.unit.code, cell)
        sh.text(row, 1, status.unit.name, cell)
        sh.text(row, 2, L(f"state.{status.state}"), cell)
        sh.text(row, 3, sub.original_name if sub else "", cell, untrusted=True)
        sh.number(row, 4, sub.files if sub else 0, cell)
        sh.text(row, 5, _when(sub.sent_at) if sub else "", cell, untrusted=True)
        sh.text(row, 6, _when(sub.received_at) if sub else "", cell, untrusted=True)
        sh.text(row, 7, model.deadline.isoformat() if model.deadline else "", cell)
        late = {True: L("submissions.late"), False: L("submissions.on_time"),
                None: ""}[status.late]
        sh.text(row, 8, late, cell)
        sh.number(row, 9, sub.errors if sub else None, cell)
        sh.number(row, 10, sub.warnings if sub else None, cell)
        sh.text(row, 11, sub.reason if sub else L("submissions.none"), book.fmt("wrap"),
                untrusted=True)
    first = head + 1
    _state_rules(sh, first, 2, row, 2, _a1(first, 2))
    sh.label_rules(first, 8, row, 8, _a1(first, 8), [((L("submissions.late"),), AMBER)])
    sh.widths((8, 18, 16, 30, 8, 18, 18, 11, 8, 7, 7, 36))
    sh.table(head, row, len(cols) - 1, freeze_col=2)


def _when(text: str) -> str:
    """An ISO timestamp as the office reads it: 2024-07-08 10:30."""
    try:
        return dt.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return text or ""


def _issues(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    cols = ("code", "unit", "state", "file", "severity", "rule", "sheet", "cell", "indicator",
            "value", "message", "explanation")
    sh.title(L("issues.title", period=model.period.label(book.lang)), len(cols),
             L("issues.note"))
    head = 3
    sh.header(head, [L(f"issues.col.{k}") for k in cols])
    cell, wrap = book.fmt("cell"), book.fmt("wrap")
    units = model.by_code
    row = head
    for row, issue in enumerate(model.issues, start=head + 1):
        status = units.get(issue.unit_code)
        sh.text(row, 0, issue.unit_code, cell)
        sh.text(row, 1, status.unit.name if status else "", cell)
        sh.text(row, 2, L(f"state.{status.state}") if status else "", cell)
        severity = (L(f"severity.{issue.severity}") if issue.severity in SEVERITY_COLOURS
                    else issue.severity)
        sh.text(row, 4, severity, cell, untrusted=True)
        for col, value in ((3, issue.source_file), (5, issue.code), (6, issue.sheet),
                           (7, issue.cell), (8, issue.indicator), (9, issue.value),
                           (10, issue.message), (11, issue.explanation)):
            sh.text(row, col, value, wrap if col in (9, 10, 11) else cell, untrusted=True)
    first = head + 1
    sh.label_rules(first, 4, row, 4, _a1(first, 4),
                   [((L(f"severity.{s}"),), colour) for s, colour in SEVERITY_COLOURS.items()])
    _state_rules(sh, first, 2, row, 2, _a1(first, 2))
    sh.widths((8, 14, 14, 24, 7, 16, 10, 7, 8, 14, 50, 24))
    sh.table(head, row, len(cols) - 1, freeze_col=2)


def _lineage(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    cols = ("period", "code", "unit", "indicator", "name", "measure", "target", "allocated",
            "unit_target", "expected", "actual", "raw", "completion", "ratio", "rag", "state",
            "submission", "file", "stored", "sheet", "cell")
    c = {k: i for i, k in enumerate(cols)}
    sh.title(L("lineage.title", period=model.period.label(book.lang)), 8, L("lineage.note"))
    head = 3
    sh.header(head, [L(f"lineage.col.{k}") for k in cols])
    sh.ws.set_row(head, 32)
    cell, pct = book.fmt("cell"), book.fmt("cell", RATIO_FORMAT)
    units = model.by_code
    indicators = {p.indicator.id: p.indicator for p in model.prefecture}
    unit_order = {u.unit.code: i for i, u in enumerate(model.units)}
    ind_order = {p.indicator.id: i for i, p in enumerate(model.prefecture)}
    cells = sorted(model.values.values(), key=lambda v: (
        unit_order.get(v.fact.unit_code, len(unit_order)), v.fact.unit_code,
        ind_order.get(v.fact.indicator, len(ind_order)), v.fact.indicator))
    # The biggest sheet (a row per unit and indicator): what is the same for a unit or an
    # indicator is worked out once, the cells are written straight, and an empty value
    # stays an empty cell (no element to write, read back and check).
    ws, untrusted = sh.ws, sh.untrusted
    write_string, write_number = ws.write_string, ws.write_number
    per_unit: dict[str, tuple] = {}
    per_indicator: dict[str, tuple] = {}
    numbers = ((c["target"], "target", True, 0), (c["allocated"], "allocated", True, 0),
               (c["unit_target"], "target", False, 0), (c["expected"], "expected", False, 1),
               (c["actual"], "actual", True, 0), (c["completion"], "completion", False, 2),
               (c["ratio"], "ratio", False, 2), (c["submission"], "submission_id", True, 3))
    row = head
    for row, item in enumerate(cells, start=head + 1):
        fact, var = item.fact, item.value
        if fact.unit_code not in per_unit:
            status = units.get(fact.unit_code)
            per_unit[fact.unit_code] = (status.unit.name if status else "",
                                        L(f"state.{status.state}") if status else None)
        unit_name, state = per_unit[fact.unit_code]
        if fact.indicator not in per_indicator:
            ind = indicators.get(fact.indicator)
            measure = ind.unit if ind else ""
            per_indicator[fact.indicator] = (ind, measure, (book.num(measure),
                                             book.num(measure, True), pct, cell))
        ind, measure, formats = per_indicator[fact.indicator]
        for col, value in ((c["period"], fact.period), (c["code"], fact.unit_code),
                           (c["unit"], unit_name), (c["indicator"], fact.indicator),
                           (c["name"], ind.name if ind else ""), (c["measure"], measure),
                           (c["rag"], _rag_label(book, var.rag)),
                           (c["state"], state if state is not None else fact.status)):
            sh.text(row, col, value, cell)
        if ind is None and fact.indicator:
            untrusted.add((row, c["indicator"]))
        for col, name, of_fact, kind in numbers:
            value = getattr(fact if of_fact else var, name)
            if value is not None:
                write_number(row, col, value, formats[kind])
        for col, value, submitted in ((c["raw"], fact.raw, True),
                                      (c["file"], fact.source_file, True),
                                      (c["stored"], fact.stored_path, False),
                                      (c["sheet"], fact.sheet, True),
                                      (c["cell"], fact.cell, False)):
            if value is not None and value != "":
                write_string(row, col, str(value), cell)
                if submitted:  # the stored path and the A1 cell are the toolkit's own
                    untrusted.add((row, col))
    first = head + 1
    sh.rag_rules(first, c["ratio"], row, c["rag"], _a1(first, c["ratio"], fix_col=True))
    _state_rules(sh, first, c["state"], row, c["state"], _a1(first, c["state"]))
    sh.widths((8, 8, 14, 7, 28, 7, 13, 13, 13, 13, 13, 12, 9, 9, 6, 14, 7, 28, 36, 10, 6))
    sh.table(head, row, len(cols) - 1, freeze_col=4)


def _lineage_elsewhere(sh: _Sheet, model: Consolidated, lineage: Path):
    """The lineage sheet of a consolidated workbook whose rows are in ``lineage``."""
    L = sh.book.label
    sh.title(L("lineage.title", period=model.period.label(sh.book.lang)), 8,
             L("lineage.elsewhere", rows=len(model.values), file=lineage.name))
    sh.ws.write_url(3, 0, f"external:{lineage.name}", sh.book.fmt("cell"), lineage.name)
    sh.widths((60,))


def _legend(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    th = model.thresholds
    sh.title(L("legend.title"), 2)
    sh.header(2, [L("legend.col.colour"), L("legend.col.meaning")])
    cell, wrap = book.fmt("cell"), book.fmt("wrap")
    entries = [
        ("section", L("legend.rag")),
        (GREEN, L("rag.green"), L("legend.green", green=f"{th.green:.0%}")),
        (AMBER, L("rag.amber"), L("legend.amber", green=f"{th.green:.0%}",
                                  amber=f"{th.amber:.0%}")),
        (RED, L("rag.red"), L("legend.red", amber=f"{th.amber:.0%}")),
        (None, "", L("legend.blank")),
        (GREY, "", L("legend.grey")),
        ("section", L("legend.states")),
        *[(STATE_COLOURS[s], L(f"state.{s}"), L(f"legend.state.{s}")) for s in STATE_ORDER],
        (AMBER, L("submissions.late"), L("legend.late")),
        ("section", L("legend.tasks")),
        *[(colour, zh if book.lang == "zh" else en,
           L("legend.task", status=zh if book.lang == "zh" else en))
          for zh, en, colour in TASK_STATUS_COLOURS],
        ("section", L("legend.issues")),
        *[(colour, L(f"severity.{s}"), L(f"legend.severity.{s}"))
          for s, colour in SEVERITY_COLOURS.items()],
        ("section", L("legend.change")),
        (RED, L("change.flag"), L("legend.flag")),
        ("section", L("legend.terms")),
        (None, L("legend.term.share"), L("legend.share")),
        (None, L("legend.term.ratio"), L("legend.ratio")),
        (None, L("legend.term.direction"), L("legend.direction")),
        (None, L("legend.term.thresholds"),
         L("legend.thresholds", green=_literal(th.green), amber=_literal(th.amber))),
    ]
    row = 3
    for entry in entries:
        if entry[0] == "section":
            row += 1
            sh.text(row, 0, entry[1], book.fmt("section"))
            sh.text(row, 1, "", book.fmt("section"))
        else:
            colour, sample, meaning = entry
            sh.text(row, 0, sample, book.fmt("cell", None, colour) if colour else cell)
            sh.text(row, 1, meaning, wrap)
        row += 1
    sh.widths((18, 90))
    sh.print_setup()


def _overview(sh: _Sheet, model: Consolidated):
    book, L = sh.book, sh.book.label
    lang = book.lang
    as_of = model.as_of.strftime("%Y-%m-%d %H:%M") if model.as_of else "—"
    sh.title(L("overview.title", title=model.title, period=model.period.label(lang)), 4,
             L("overview.note", period=model.period.code, as_of=as_of,
               deadline=model.deadline.isoformat() if model.deadline else "—",
               share=f"{model.period.elapsed:.0%}"))
    cell, section = book.fmt("cell"), book.fmt("section")
    row = 3

    def block(title, labels, rows):
        nonlocal row
        sh.text(row, 0, title, section)
        for col in range(1, max(2, len(labels))):
            sh.text(row, col, "", section)
        row += 1
        if labels:
            sh.header(row, labels)
            row += 1
        start = row
        for values in rows:
            for col, value in enumerate(values):
                if isinstance(value, tuple):  # (value, format)
                    value, fmt = value
                else:
                    fmt = cell
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    sh.number(row, col, value, fmt)
                else:
                    sh.text(row, col, value, fmt, untrusted=False)
            row += 1
        row += 1
        return start

    states = model.state_counts()
    late = sum(1 for u in model.units if u.late)
    reported = sum(1 for u in model.units if u.state != "missing")
    included = states["merged"] + states["warnings"] + states["marked"]
    block(L("overview.units"), [L("overview.col.item"), L("overview.col.count")], [
        (L("overview.total"), len(model.units)),
        (L("overview.reported"), reported),
        (L("overview.included"), included),
        *[(L(f"state.{s}"), states[s]) for s in STATE_ORDER],
        (L("overview.late"), late),
        (L("overview.unattributed"), model.unattributed),
    ])
    counts = model.rag_counts()
    rag_start = block(L("overview.rag"), [L("overview.col.rag"), L("overview.col.count")], [
        *[((L(f"rag.{r}"), book.fmt("cell", None, RAG_COLOURS[r])), counts[r])
          for r in ("green", "amber", "red")],
        (L("overview.no_rag"), counts["none"]),
    ])
    unit_counts = model.unit_rag_counts()
    block(L("overview.unit_rag"), [L("overview.col.rag"), L("overview.col.count")], [
        ((L(f"rag.{r}"), book.fmt("cell", None, RAG_COLOURS[r])), unit_counts[r])
        for r in ("green", "amber", "red")])
    left = [u for u in model.units if u.state in ("invalid", "unvalidated", "missing")]
    marked = [u for u in model.units if u.state == "marked"]
    block(L("overview.left_out"), [L("matrix.col.code"), L("matrix.col.unit"),
                                   L("overview.col.reason")],
          [(u.unit.code, u.unit.name, L(f"legend.state.{u.state}")) for u in left + marked]
          or [(L("overview.none"),)])
    behind = [p for p in model.prefecture if p.value.rag in ("red", "amber")]
    pct = book.fmt("cell", RATIO_FORMAT)
    block(L("overview.behind"), [L("prefecture.col.id"), L("prefecture.col.name"),
                                 L("prefecture.col.ratio"), L("prefecture.col.rag")],
          [(p.indicator.id, p.indicator.name, (p.value.ratio, pct),
            (L(f"rag.{p.value.rag}"), book.fmt("cell", None, RAG_COLOURS[p.value.rag])))
           for p in behind] or [(L("overview.none"),)])
    keys = [p.indicator for p in model.prefecture if p.indicator.id in model.key_indicators]
    key_head = row + 1
    block(L("overview.key"), [L("matrix.col.unit"), *[f"{i.id} {i.name}" for i in keys]], [
        (u.unit.name, *[(_completion(model, u.unit.code, i.id), pct) for i in keys])
        for u in model.units])
    key_first, key_last = key_head + 1, key_head + len(model.units)
    columns = max(3, len(keys))
    sh.widths((22, *([16] * columns), 2))
    sh.ws.set_row(key_head, 45)
    _charts(sh, model, keys, key_head, key_first, key_last, rag_start, columns + 2)
    sh.print_setup()


def _completion(model, code, ind_id):
    value = model.values.get((code, ind_id))
    return value.value.completion if value else None


def _charts(sh, model, keys, key_head, key_first, key_last, rag_start, col):
    book, L, wb = sh.book, sh.book.label, sh.book.wb
    if keys and model.units:
        chart = wb.add_chart({"type": "column"})
        for col, ind in enumerate(keys, start=1):
            chart.add_series({"name": [sh.name, key_head, col],
                              "categories": [sh.name, key_first, 0, key_last, 0],
                              "values": [sh.name, key_first, col, key_last, col],
                              "gap": 80})
        chart.set_title({"name": L("chart.completion"), "name_font": {"size": 12}})
        chart.set_y_axis({"num_format": "0%", "name": L("chart.completion_axis"),
                          "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        chart.set_x_axis({"num_font": {"rotation": -45, "size": 8}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 760, "height": 360})
        sh.ws.insert_chart(3, col, chart)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": L("chart.rag"),
                      "categories": [sh.name, rag_start, 0, rag_start + 2, 0],
                      "values": [sh.name, rag_start, 1, rag_start + 2, 1],
                      "points": [{"fill": {"color": c[0]}, "border": {"color": c[1]}}
                                 for c in (GREEN, AMBER, RED)],
                      "data_labels": {"value": True}})
    chart.set_title({"name": L("chart.rag"), "name_font": {"size": 12}})
    chart.set_y_axis({"name": L("chart.rag_axis"), "min": 0})
    chart.set_legend({"none": True})
    chart.set_size({"width": 480, "height": 300})
    sh.ws.insert_chart(23, col, chart)

