"""Real workbooks for the validation tests: generated templates, filled as a clerk would.

Templates come from the template writer (xlsxwriter); clerks' edits are made
with openpyxl, the way an office suite would save them; the toolkit reads them
back with calamine. ``submit`` records a filled workbook in a workspace's
ledger the way collect does (status ``received``, its values as JSON).
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from pathlib import Path

from toolkit import layout
from toolkit.catalogue import t

PERIOD = "2024H1"
UNIT = "653101"  # 喀什市


@functools.cache
def tasklist():
    from toolkit.tasklist import load_tasklist

    return load_tasklist()


def period(code: str = PERIOD):
    from toolkit.periods import parse_period

    return parse_period(code)


def make_template(folder: Path, unit: str = UNIT, code: str = PERIOD, lang: str = "zh",
                  plan=None, allocations=None) -> Path:
    from toolkit.template import TemplateSpec, template_filename, write_template

    plan = plan or tasklist()
    spec = TemplateSpec(plan, plan.unit(unit), period(code), lang=lang,
                        allocations=allocations or {})
    return write_template(Path(folder) / template_filename(plan.unit(unit), period(code)), spec)


def good_values(unit: str = UNIT, plan=None, scale: float = 1.0) -> dict:
    """A complete, valid fill: numbers for every indicator, statuses, filler."""
    plan = plan or tasklist()
    actual = {}
    for ind in plan.indicators_for(unit):
        if ind.kind == "milestone":
            actual[ind.id] = "未完成"
        elif ind.is_percent:
            actual[ind.id] = 50
        else:
            actual[ind.id] = round(120 * scale)
    progress = {x.id: {"status": "推进中", "progress": "按计划推进", "problems": "无",
                       "next_steps": "继续推进"} for x in plan.tasks_for(unit)}
    return {"actual": actual, "progress": progress,
            "filler": {"filler": "张三", "phone": "0998-2512345", "reviewer": "李四",
                       "date": "2024-07-08"}}


def sheet_names(lang: str = "zh") -> dict:
    return {key: t(f"layout.sheet.{key}", lang) for key in layout.SHEETS}


def fill(template: Path, dest: Path, actual=None, note=None, progress=None, filler=None,
         edit=None, unit: str = UNIT, lang: str = "zh", defaults: bool = True) -> Path:
    """Type values into a copy of ``template`` with openpyxl and save it as ``dest``.

    Starts from ``good_values`` (unless ``defaults`` is False); ``actual``,
    ``note``, ``filler`` and ``progress`` override per id; ``edit(book)`` then
    makes any structural change (insert rows, rename sheets, formulas...).
    """
    import openpyxl

    base = good_values(unit) if defaults else {"actual": {}, "progress": {}, "filler": {}}
    values = {"actual": {**base["actual"], **(actual or {})},
              "note": dict(note or {}),
              "progress": {k: {**base["progress"].get(k, {}), **v}
                           for k, v in {**base["progress"], **(progress or {})}.items()},
              "filler": {**base["filler"], **(filler or {})}}
    book = openpyxl.load_workbook(template)
    names = sheet_names(lang)
    ind = book[names["indicators"]]
    for key, (row, col) in layout.FILLER_CELLS.items():
        if values["filler"].get(key) is not None:
            ind.cell(row, col).value = values["filler"][key]
    for row in range(layout.IND_FIRST_ROW, ind.max_row + 1):
        ind_id = ind.cell(row, layout.IND_COLS["id"]).value
        if ind_id is None:
            continue
        if str(ind_id) in values["actual"]:
            ind.cell(row, layout.IND_COLS["actual"]).value = values["actual"][str(ind_id)]
        if str(ind_id) in values["note"]:
            ind.cell(row, layout.IND_COLS["note"]).value = values["note"][str(ind_id)]
    prog = book[names["progress"]]
    for row in range(layout.PROG_FIRST_ROW, prog.max_row + 1):
        task_id = prog.cell(row, layout.PROG_COLS["id"]).value
        for key, value in values["progress"].get(str(task_id), {}).items():
            prog.cell(row, layout.PROG_COLS[key]).value = value
    if edit is not None:
        edit(book)
    book.save(dest)
    return Path(dest)


def indicator_row(unit: str, ind_id: str, plan=None) -> int:
    ids = [i.id for i in (plan or tasklist()).indicators_for(unit)]
    return layout.IND_FIRST_ROW + ids.index(ind_id)


def task_row(unit: str, task_id: str, plan=None) -> int:
    ids = [x.id for x in (plan or tasklist()).tasks_for(unit)]
    return layout.PROG_FIRST_ROW + ids.index(task_id)


def actual_cell(unit: str, ind_id: str) -> str:
    return layout.a1(indicator_row(unit, ind_id), layout.IND_COLS["actual"])


def first(plan, unit, predicate):
    return next(i for i in plan.indicators_for(unit) if predicate(i))


_clock = [dt.datetime(2024, 7, 1, 9, 0)]


def submit(workspace, path: Path, code: str = PERIOD, sender: str | None = None,
           name: str | None = None) -> int:
    """Collect ``path`` into the workspace as the office would; returns its submission id.

    With ``sender``, the file arrives as the attachment of an e-mail from that
    address. Each call is "sent" a minute after the last, so a later call is a
    resubmission.
    """
    import email.utils
    import os
    from email.message import EmailMessage

    from toolkit.collect import collect

    _clock[0] += dt.timedelta(minutes=1)
    sent = _clock[0].astimezone()
    path = Path(path)
    if sender:
        msg = EmailMessage()
        msg["From"] = f"填报员 <{sender}>"
        msg["To"] = "office@example.cn"
        msg["Subject"] = "报表"
        msg["Date"] = email.utils.format_datetime(sent)
        msg["Message-ID"] = email.utils.make_msgid(domain="example.cn")
        msg.set_content("附件是本期报表。")
        msg.add_attachment(path.read_bytes(), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename=name or path.name)
        incoming = path.with_name(path.stem + ".eml")
        incoming.write_bytes(msg.as_bytes())
    else:
        incoming = path
        if name:
            incoming = path.with_name(name)
            shutil.copyfile(path, incoming)
        os.utime(incoming, (sent.timestamp(), sent.timestamp()))
    report = collect(workspace, code, [incoming])
    (row,) = report.rows
    return row.submission_id


def workspace_with_contacts(root: Path, contacts: dict | None = None):
    """A workspace whose units have the given e-mail contacts ({code: address})."""
    from toolkit.config import open_workspace

    root.mkdir(parents=True, exist_ok=True)
    units = "".join(f'[[units]]\ncode = "{code}"\nemails = ["{address}"]\n\n'
                    for code, address in (contacts or {}).items())
    (root / "toolkit.toml").write_text(units, encoding="utf-8")
    return open_workspace(root)
