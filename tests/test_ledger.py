"""The submissions ledger in SQLite: records, duplicates, the current submission, superseding."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from toolkit import ledger
from toolkit.read import SheetValues, WorkbookValues, values_to_json
from toolkit.store import connect


@pytest.fixture
def conn(tmp_path):
    connection = connect(tmp_path / "toolkit.db")
    yield connection
    connection.close()


def sub(sha="a" * 64, source="in/a.xlsx", unit="653101", sent="2024-07-05T10:00:00+08:00",
        status="received", **more) -> ledger.Submission:
    return ledger.Submission(period="2024H1", sha256=sha, size=10, original_name="a.xlsx",
                             source=source, status=status,
                             received_at="2024-07-20T09:00:00+08:00", unit_code=unit,
                             sent_at=sent, **more)


def test_record_and_find(conn):
    recorded = ledger.record(conn, sub(sender="kashi@example.cn"))
    assert recorded.id == 1
    assert ledger.find(conn, "2024H1", "a" * 64, "in/a.xlsx") == recorded
    assert ledger.find(conn, "2024H1", "a" * 64, "elsewhere") is None
    assert ledger.find(conn, "2024H2", "a" * 64, "in/a.xlsx") is None
    row = conn.execute("SELECT message_id, sender FROM submissions").fetchone()
    assert row["message_id"] is None and row["sender"] == "kashi@example.cn"  # "" -> NULL


def test_same_file_from_same_source_cannot_be_recorded_twice(conn):
    ledger.record(conn, sub())
    with pytest.raises(sqlite3.IntegrityError):
        ledger.record(conn, sub())


def test_unknown_status_is_refused(conn):
    with pytest.raises(ValueError, match="unknown submission status 'ok'"):
        ledger.record(conn, sub(status="ok"))
    first = ledger.record(conn, sub())
    with pytest.raises(ValueError):
        ledger.set_status(conn, first.id, "fine")


def test_first_with_hash_skips_duplicates(conn):
    first = ledger.record(conn, sub(source="one"))
    ledger.record(conn, sub(source="two", status="duplicate"))
    assert ledger.first_with_hash(conn, "2024H1", "a" * 64).id == first.id
    assert ledger.first_with_hash(conn, "2024H1", "b" * 64) is None


def test_later_sent_supersedes_whatever_the_order_received(conn):
    late = ledger.record(conn, sub(sha="2" * 64, source="v2", sent="2024-07-08T10:00:00+08:00"))
    ledger.supersede(conn, "2024H1", "653101")
    early = ledger.record(conn, sub(sha="1" * 64, source="v1", sent="2024-07-05T10:00:00+08:00"))
    current = ledger.supersede(conn, "2024H1", "653101", reason=lambda c, old: f"by {c.id}")
    assert current.id == late.id and current.status == "received"
    old = ledger.get(conn, early.id)
    assert (old.status, old.superseded_by, old.reason) == ("superseded", late.id, f"by {late.id}")
    assert [s.id for s in ledger.submissions(conn, "2024H1")] == [late.id, early.id]  # both kept


def test_sent_times_compare_across_time_zones(conn):
    utc = ledger.record(conn, sub(sha="1" * 64, source="a", sent="2024-07-05T03:00:00+00:00"))
    cst = ledger.record(conn, sub(sha="2" * 64, source="b", sent="2024-07-05T10:00:00+08:00"))
    # 03:00 UTC is 11:00 in Beijing: the UTC-stamped file was sent later
    assert ledger.supersede(conn, "2024H1", "653101").id == utc.id
    assert ledger.get(conn, cst.id).status == "superseded"


def test_a_tie_in_sent_time_goes_to_the_one_received_later(conn):
    ledger.record(conn, sub(sha="1" * 64, source="a"))
    second = ledger.record(conn, sub(sha="2" * 64, source="b"))
    assert ledger.supersede(conn, "2024H1", "653101").id == second.id


def test_supersede_keeps_validation_status_of_the_current_one(conn):
    first = ledger.record(conn, sub(sha="1" * 64, source="a"))
    ledger.set_status(conn, first.id, "valid")
    assert ledger.supersede(conn, "2024H1", "653101").status == "valid"
    second = ledger.record(conn, sub(sha="2" * 64, source="b", sent="2024-07-09T00:00:00+08:00"))
    ledger.supersede(conn, "2024H1", "653101")
    assert ledger.current(conn, "2024H1", "653101").id == second.id
    assert ledger.get(conn, first.id).status == "superseded"


def test_refused_files_never_become_current(conn):
    ledger.record(conn, sub(sha="1" * 64, source="a", status="rejected",
                            sent="2024-07-30T00:00:00+08:00"))
    ledger.record(conn, sub(sha="2" * 64, source="b", status="other_period"))
    assert ledger.supersede(conn, "2024H1", "653101") is None
    assert ledger.current(conn, "2024H1", "653101") is None
    kept = ledger.record(conn, sub(sha="3" * 64, source="c"))
    assert ledger.current_all(conn, "2024H1") == {"653101": kept}


def test_current_per_unit(conn):
    a = ledger.record(conn, sub(sha="1" * 64, source="a", unit="653101"))
    b = ledger.record(conn, sub(sha="2" * 64, source="b", unit="653122"))
    assert {u: s.id for u, s in ledger.current_all(conn, "2024H1").items()} == {
        "653101": a.id, "653122": b.id}


def test_values_round_trip(conn):
    recorded = ledger.record(conn, sub())
    values = WorkbookValues("x.xlsx", (SheetValues("S", "visible", (("a", 1.0),)),),
                            {"toolkit.unit_code": "653101"})
    ledger.store_values(conn, recorded.id, values_to_json(values))
    assert ledger.load_values(conn, recorded.id) == values
    assert ledger.load_values(conn, 999) is None
    with_formulas = WorkbookValues("y.xlsx", values.sheets, {}, frozenset({("S", "B2")}))
    ledger.store_values(conn, recorded.id, values_to_json(with_formulas))
    assert ledger.load_values(conn, recorded.id).formulas == {("S", "B2")}


def test_values_round_trip_keeps_dates_and_times_whatever_the_properties_hold(conn):
    import datetime as dt

    recorded = ledger.record(conn, sub())
    cells = (("填报日期", dt.date(2024, 7, 5), dt.datetime(2024, 7, 5, 9, 30)),
             (dt.time(8, 0), dt.timedelta(hours=2), {"date": "not a cell"}.get("date")))
    for props in ({}, {"date": "2024-07-05"}, {"seconds": "x", "time": "y"}):
        values = WorkbookValues("x.xlsx", (SheetValues("S", "visible", cells),), props)
        ledger.store_values(conn, recorded.id, values_to_json(values))
        assert ledger.load_values(conn, recorded.id) == values
        plain = WorkbookValues("x.xlsx", (SheetValues("S", "visible", (("a", 1.0),)),), props)
        ledger.store_values(conn, recorded.id, values_to_json(plain))
        assert ledger.load_values(conn, recorded.id) == plain


def test_issue_counts(conn):
    a = ledger.record(conn, sub(sha="1" * 64, source="a"))
    b = ledger.record(conn, sub(sha="2" * 64, source="b"))
    conn.executemany("INSERT INTO issues (submission_id, severity, code, message) "
                     "VALUES (?, ?, 'X', 'm')",
                     [(a.id, "error"), (a.id, "warning"), (a.id, "warning")])
    assert ledger.issue_counts(conn, [a.id, b.id]) == {a.id: (1, 2), b.id: (0, 0)}


def test_submission_time_helpers():
    assert ledger.parse_time("not a time") is None
    assert sub(sent="").sent == ledger.parse_time("2024-07-20T09:00:00+08:00")  # falls back
    assert replace(sub(), status="valid").is_current


def test_supersede_returns_the_current_row_as_it_now_is(conn):
    late = ledger.record(conn, sub(sha="2" * 64, source="v2", sent="2024-07-08T10:00:00+08:00"))
    early = ledger.record(conn, sub(sha="1" * 64, source="v1", sent="2024-07-05T10:00:00+08:00"))
    current = ledger.supersede(conn, "2024H1", "653101")
    assert current == ledger.get(conn, late.id)
    ledger.set_status(conn, late.id, "rejected")  # the later one is out: the earlier is back
    current = ledger.supersede(conn, "2024H1", "653101")
    assert current == ledger.get(conn, early.id)
    assert (current.status, current.superseded_by) == ("received", None)
