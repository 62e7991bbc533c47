"""One row per unit: what it sent, where it stands, on time or late."""

from __future__ import annotations

import datetime as dt

from toolkit.ledger import Submission
from toolkit.model import Unit
from toolkit.status import unattributed, unit_status

UNITS = (Unit("653101", "喀什市"), Unit("653122", "疏勒县"), Unit("653123", "英吉沙县"))
DEADLINE = dt.date(2024, 7, 10)


def sub(id, unit, sent, status="received", name="a.xlsx") -> Submission:
    return Submission(period="2024H1", sha256=str(id) * 64, size=1, original_name=name,
                      source=f"s{id}", status=status, received_at="2024-07-20T09:00:00+08:00",
                      sent_at=sent, unit_code=unit, id=id)


def rows(subs, counts=None, today=dt.date(2024, 7, 20)):
    return {r.unit_code: r for r in unit_status(UNITS, subs, counts or {}, DEADLINE, today)}


def test_one_row_per_unit_in_order_with_the_missing_ones():
    out = unit_status(UNITS, [sub(1, "653122", "2024-07-09T18:00:00+08:00")], {}, DEADLINE,
                      dt.date(2024, 7, 20))
    assert [r.unit_code for r in out] == ["653101", "653122", "653123"]
    assert [r.status for r in out] == ["missing", "received", "missing"]
    assert [r.timeliness for r in out] == ["missing", "on_time", "missing"]


def test_before_the_deadline_nothing_yet_is_not_missing():
    assert rows([], today=dt.date(2024, 7, 1))["653101"].timeliness == "not_yet"
    assert rows([], today=DEADLINE)["653101"].timeliness == "not_yet"


def test_sent_on_the_deadline_day_is_on_time_and_the_day_after_late():
    out = rows([sub(1, "653101", "2024-07-10T23:30:00+08:00"),
                sub(2, "653122", "2024-07-11T08:00:00+08:00")])
    assert out["653101"].timeliness == "on_time"
    assert out["653122"].timeliness == "late"


def test_a_late_correction_keeps_an_on_time_report_on_time():
    out = rows([sub(1, "653101", "2024-07-08T10:00:00+08:00", status="superseded"),
                sub(2, "653101", "2024-07-15T10:00:00+08:00", name="修改版.xlsx")])
    row = out["653101"]
    assert (row.timeliness, row.file, row.submission_id, row.files) == ("on_time", "修改版.xlsx",
                                                                         2, 2)
    assert row.sent == dt.datetime(2024, 7, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_only_refused_files_count_as_not_reported():
    out = rows([sub(1, "653101", "2024-07-01T10:00:00+08:00", status="rejected")])
    row = out["653101"]
    assert (row.status, row.timeliness, row.files) == ("rejected", "missing", 1)


def test_errors_and_warnings_show_once_validated():
    subs = [sub(1, "653101", "2024-07-01T10:00:00+08:00", status="invalid"),
            sub(2, "653122", "2024-07-01T10:00:00+08:00")]
    out = rows(subs, counts={1: (2, 3), 2: (0, 0)})
    assert (out["653101"].errors, out["653101"].warnings) == (2, 3)
    assert (out["653122"].errors, out["653122"].warnings) == (None, None)  # not validated yet


def test_files_no_unit_could_be_told_for():
    loose = sub(3, "", "2024-07-01T10:00:00+08:00", status="unidentified")
    assert unattributed([loose, sub(1, "653101", "")]) == [loose]


def test_an_identical_copy_mailed_before_the_deadline_makes_the_report_on_time():
    saved = sub(1, "653101", "2024-07-12T09:00:00+08:00", name="saved.xlsx")
    mailed = sub(2, "653101", "2024-07-09T17:00:00+08:00", status="duplicate")
    assert rows([saved])["653101"].timeliness == "late"
    assert rows([saved, mailed])["653101"].timeliness == "on_time"
    assert rows([saved, mailed])["653101"].file == "saved.xlsx"
