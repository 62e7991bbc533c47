"""Where each unit stands in a period: one row per unit, from the ledger alone.

Pure: takes the units, the period's ledger rows, the validation issue counts
and the deadline; returns rows. The command line loads them and prints.

On time is judged by the first file the unit sent that was taken in (a
correction sent after the deadline does not make an on-time report late); a
unit that sent only refused files has not reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from toolkit.ledger import CURRENT_STATUSES, VALIDATED_STATUSES, Submission

TAKEN_IN = CURRENT_STATUSES + ("superseded",)
TIMELINESS = ("on_time", "late", "not_yet", "missing")


@dataclass(frozen=True)
class UnitStatus:
    unit_code: str
    unit_name: str
    status: str  # the current submission's status; a refused file's; or "missing"
    timeliness: str  # on_time, late, not_yet (nothing yet, deadline ahead), missing
    sent: dt.datetime | None = None  # when the current file was sent
    file: str = ""  # the current file's name as received
    stored_path: str = ""
    submission_id: int | None = None
    errors: int | None = None  # None until validation has run
    warnings: int | None = None
    files: int = 0  # files from this unit in the period, whatever became of them
    reason: str = ""


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone().date() if moment.tzinfo else moment.date()


def unit_status(units, submissions: list[Submission], issue_counts: dict,
                deadline: dt.date, today: dt.date) -> tuple[UnitStatus, ...]:
    """One row per unit, in the units' order.

    ``issue_counts`` maps submission id to (errors, warnings), as
    ``ledger.issue_counts`` gives it; counts show only for validated submissions.
    """
    rows = []
    for unit in units:
        mine = [s for s in submissions if s.unit_code == unit.code]
        taken = [s for s in mine if s.status in TAKEN_IN]
        current = [s for s in mine if s.status in CURRENT_STATUSES]
        shown = max(current, key=_order) if current else (max(mine, key=_order) if mine else None)
        if taken:
            # a byte-identical copy counts for when: the same workbook mailed before the
            # deadline is on time even if the copy taken in first was saved later
            copies = taken + [s for s in mine if s.status == "duplicate"]
            sent = [s.sent for s in copies if s.sent]
            first = min(sent) if sent else None
            timeliness = "late" if first and _local_date(first) > deadline else "on_time"
        else:
            timeliness = "missing" if today > deadline else "not_yet"
        errors = warnings = None
        if shown is not None and shown.status in VALIDATED_STATUSES:
            errors, warnings = issue_counts.get(shown.id, (0, 0))
        rows.append(UnitStatus(
            unit.code, unit.name,
            status=(shown.status if shown else "missing"),
            timeliness=timeliness,
            sent=shown.sent if shown else None,
            file=shown.original_name if shown else "",
            stored_path=shown.stored_path if shown else "",
            submission_id=shown.id if shown else None,
            errors=errors, warnings=warnings, files=len(mine),
            reason=shown.reason if shown else ""))
    return tuple(rows)


def _order(sub: Submission):
    sent = sub.sent
    return (sent.timestamp() if sent else 0.0, sub.id or 0)


def unattributed(submissions: list[Submission]) -> list[Submission]:
    """Files of the period no unit could be told for."""
    return [s for s in submissions if not s.unit_code]
