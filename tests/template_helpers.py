"""Shared by the template tests: expected input cells and a workbook reduced to its meaning."""

from __future__ import annotations

import zipfile

from toolkit import layout


def input_cells(tasklist, unit_code: str) -> dict[str, set[tuple[int, int]]]:
    """{sheet key: {(row, col)}} of every input cell a unit's template must have (from layout)."""
    indicators = tasklist.indicators_for(unit_code)
    tasks = tasklist.tasks_for(unit_code)
    ind = set(layout.FILLER_CELLS.values())
    for offset in range(len(indicators)):
        ind |= {(layout.IND_FIRST_ROW + offset, layout.IND_COLS[k]) for k in layout.IND_INPUTS}
    prog = {(layout.PROG_FIRST_ROW + offset, layout.PROG_COLS[k])
            for offset in range(len(tasks)) for k in layout.PROG_INPUTS}
    return {"indicators": ind, "progress": prog}


def snapshot(path) -> dict:
    """A workbook reduced to what a user sees: cells, formats, validations, protection, properties.

    Read with openpyxl (the templates are written with xlsxwriter).
    """
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheets = {}
    for ws in book.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                fill = cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type else None
                if cell.value is not None or fill:
                    cells[cell.coordinate] = (cell.value, cell.number_format, fill,
                                              cell.protection.locked)
        validations = sorted((str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2,
                              dv.prompt, dv.error) for dv in ws.data_validations.dataValidation)
        sheets[ws.title] = {
            "state": ws.sheet_state, "cells": cells, "validations": validations,
            "protected": ws.protection.sheet, "freeze": ws.freeze_panes,
            "widths": {k: v.width for k, v in ws.column_dimensions.items()},
        }
    props = book.properties
    return {
        "order": book.sheetnames, "sheets": sheets,
        "core": (props.title, props.subject, props.creator, props.created, props.modified),
        "custom": sorted((p.name, type(p).__name__, p.value) for p in book.custom_doc_props.props),
    }


def formulas_in(path) -> list[str]:
    """Names of worksheet parts that hold any formula."""
    with zipfile.ZipFile(path) as archive:
        return [name for name in archive.namelist()
                if name.startswith("xl/worksheets/") and b"<f>" in archive.read(name)
                or name.startswith("xl/worksheets/") and b"<f " in archive.read(name)]
