"""A small plan and store rows for the merge tests, written straight into SQLite.

The rows have the shape collect and validate write (see toolkit/store.py), so the
merge is tested on its own contract: ledger rows, readings, progress readings,
issues and allocations.
"""

from __future__ import annotations

import hashlib

from toolkit import store
from toolkit.model import Action, Indicator, Task, TaskList, Unit

UNITS = (
    Unit("653101", "喀什市"),
    Unit("653121", "疏附县"),
    Unit("653122", "疏勒县"),
    Unit("653123", "英吉沙县"),
    Unit("6531KF", "喀什经济开发区", "zone"),
)
COUNTIES = ("653101", "653121", "653122", "653123")


def ind(id, name, unit, kind, direction, target, scope, rule, weight="", task="1"):
    return Indicator(id=id, task=task, name=name, unit=unit, kind=kind, direction=direction,
                     targets=((2024, target), (2025, target)), scope=scope, aggregation=rule,
                     weight=weight)


INDICATORS = (
    ind("1.1", "城镇新增就业", "人", "cumulative", "higher", 1000, "all", "sum"),
    ind("1.2", "养老机构护理型床位占比", "%", "rate", "higher", 50, "counties", "mean"),
    ind("1.3", "城市建成区黑臭水体", "个", "rate", "lower", 0, "all", "sum"),
    ind("2.1", "市政基础设施完成投资", "元", "cumulative", "higher", 500000000, "counties",
        "sum", task="2"),
    ind("2.2", "污水处理达标率", "%", "rate", "higher", 90, "counties", "weighted",
        weight="2.3", task="2"),
    ind("2.3", "城区常住人口", "人", "rate", "higher", None, "counties", "sum", task="2"),
    ind("2.4", "县级传染病医院全覆盖", "项", "milestone", "higher", 1, "counties", "none",
        task="2"),
    ind("3.1", "大喀什公交运营线路", "条", "rate", "higher", 8, "prefecture", "none",
        task="3"),
    ind("3.2", "户籍业务网上办理事项", "项", "rate", "higher", 59, "all", "min", task="3"),
    ind("3.3", "单位产值能耗", "吨", "rate", "lower", 100, ("653122", "6531KF"), "max",
        task="3"),
)

TASKS = (
    Task("1", "1", "加强农民工就业服务", units="all"),
    Task("2", "1", "提升公共服务水平", units="counties"),
    Task("3", "2", "提升城市治理水平", units=("653101", "6531KF")),
)


def tasklist(indicators=INDICATORS, units=UNITS) -> TaskList:
    return TaskList(title="喀什地区推进新型城镇化行动方案（2024—2025年）", years=(2024, 2025),
                    version="test", actions=(Action("1", "行动一"), Action("2", "行动二")),
                    tasks=TASKS, indicators=tuple(indicators), units=tuple(units))


def add_submission(conn, period, unit_code, status, *, name=None, sent_at=None,
                   received_at=None, reason=None, superseded_by=None) -> int:
    n = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] + 1
    digest = hashlib.sha256(f"{period}{unit_code}{n}".encode()).hexdigest()
    name = name or f"{unit_code}_{period}.xlsx"
    received_at = received_at or f"{period[:4]}-07-0{1 + n % 8}T09:00:00"
    cur = conn.execute(
        "INSERT INTO submissions (period, sha256, size, original_name, source, sent_at, "
        "received_at, stored_path, unit_code, period_claimed, status, reason, superseded_by) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (period, digest, 1234, name, f"inbox/{name}", sent_at or received_at, received_at,
         f"outputs/{period}/received/{unit_code}-{n}.xlsx", unit_code, period, status,
         reason, superseded_by))
    return cur.lastrowid


def add_readings(conn, submission_id, values: dict, sheet="指标填报") -> None:
    """values: {indicator: number, or (number, raw text)}; cells G6, G7, … in order."""
    for i, (indicator, value) in enumerate(values.items()):
        value, raw = value if isinstance(value, tuple) else (value, None)
        if raw is None:
            raw = "" if value is None else (str(int(value)) if float(value).is_integer()
                                            else repr(value))
        conn.execute("INSERT INTO readings VALUES (?,?,?,?,?,?,?)",
                     (submission_id, indicator, sheet, f"G{6 + i}", raw, value, None))


def add_progress(conn, submission_id, rows: dict, sheet="任务进展") -> None:
    """rows: {task: (status, progress, problems, next steps)}."""
    for i, (task, (status, progress, problems, next_steps)) in enumerate(rows.items()):
        conn.execute("INSERT INTO progress_readings VALUES (?,?,?,?,?,?,?,?)",
                     (submission_id, task, sheet, 4 + i, status, progress, problems,
                      next_steps))


def add_issue(conn, submission_id, severity, code, message, *, sheet="指标填报", cell="G6",
              indicator="1.1", value="") -> None:
    conn.execute("INSERT INTO issues (submission_id, severity, code, sheet, cell, indicator, "
                 "value, message) VALUES (?,?,?,?,?,?,?,?)",
                 (submission_id, severity, code, sheet, cell, indicator, value, message))


def add_allocation(conn, year, indicator, unit_code, target) -> None:
    conn.execute("INSERT OR REPLACE INTO allocations VALUES (?,?,?,?)",
                 (year, indicator, unit_code, target))


FORMULA_NARRATIVES = ("=HYPERLINK(\"http://example.com\",\"点击\")", "+1+2 已完成主体工程",
                      "-5 户未签约", "@SUM(A1:A3) 资金到位")


def populate(db_path) -> None:
    """The golden scenario: Q1 (earlier period) and H1 of 2024.

    H1: 喀什市 valid, 疏附县 warnings (resubmitted: the first file superseded),
    疏勒县 invalid, 英吉沙县 missing, the zone valid and late.
    """
    with store.opened(db_path) as conn:
        for code, target in (("653101", 400), ("653121", 300), ("653122", 200),
                             ("653123", 50), ("6531KF", 50)):
            add_allocation(conn, 2024, "1.1", code, target)
        add_allocation(conn, 2024, "2.1", "653101", 200000000)
        add_allocation(conn, 2024, "2.1", "653121", 150000000)
        # 2024Q1
        a = add_submission(conn, "2024Q1", "653101", "valid", received_at="2024-04-05T10:00:00")
        add_readings(conn, a, {"1.1": 120, "1.2": 44, "1.3": 0, "2.1": 60000000, "2.2": 88,
                               "2.3": 500000, "2.4": 0, "3.2": 59})
        b = add_submission(conn, "2024Q1", "653121", "valid", received_at="2024-04-06T10:00:00")
        add_readings(conn, b, {"1.1": 90, "1.2": 52, "1.3": 1, "2.1": 30000000, "2.2": 91,
                               "2.3": 200000, "2.4": 1, "3.2": 58})
        z = add_submission(conn, "2024Q1", "6531KF", "valid", received_at="2024-04-07T10:00:00")
        add_readings(conn, z, {"1.1": 10, "1.3": 0, "3.2": 59, "3.3": 95})
        # 2024H1
        a = add_submission(conn, "2024H1", "653101", "valid", name="喀什市-2024上半年.xlsx",
                           sent_at="2024-07-08T18:30:00+08:00",
                           received_at="2024-07-09T09:00:00+08:00")
        add_readings(conn, a, {"1.1": 230, "1.2": (47.5, "47.5%"), "1.3": 0, "2.1": 90000000,
                               "2.2": 92, "2.3": 520000, "2.4": 1, "3.2": 59})
        add_progress(conn, a, {
            "1": ("推进中", FORMULA_NARRATIVES[0], FORMULA_NARRATIVES[1], "加快项目建设进度。"),
            "2": ("已完成", "已完成年度任务。", "无", FORMULA_NARRATIVES[2]),
            "3": ("滞后", FORMULA_NARRATIVES[3], "资金缺口较大。", "积极争取上级资金支持。")})
        add_issue(conn, a, "warning", "number_as_text", "G7 填写的“47.5%”按 47.5 读取",
                  cell="G7", indicator="1.2", value="47.5%")
        old = add_submission(conn, "2024H1", "653121", "superseded", name="疏附县.xlsx",
                             sent_at="2024-07-05T10:00:00+08:00",
                             received_at="2024-07-06T09:00:00+08:00")
        add_readings(conn, old, {"1.1": 1})
        b = add_submission(conn, "2024H1", "653121", "warnings", name="疏附县（修改后）.xlsx",
                           sent_at="2024-07-09T10:00:00+08:00",
                           received_at="2024-07-09T11:00:00+08:00")
        conn.execute("UPDATE submissions SET superseded_by = ? WHERE id = ?", (b, old))
        add_readings(conn, b, {"1.1": 80, "1.2": 55, "1.3": 2, "2.1": 20000000, "2.2": 85,
                               "2.3": 210000, "2.4": 0, "3.2": 50})
        add_progress(conn, b, {"1": ("未启动", "尚未开展。", "专业技术人员不足。", "=1+1"),
                               "2": ("推进中", "正在推进。", "无", "加强督导调度。")})
        add_issue(conn, b, "warning", "decrease", "累计值低于上期（上期 90，本期 80）",
                  cell="G6", indicator="1.1", value="80")
        c = add_submission(conn, "2024H1", "653122", "invalid", name="疏勒县.xlsx",
                           sent_at="2024-07-10T10:00:00+08:00",
                           received_at="2024-07-10T12:00:00+08:00")
        add_readings(conn, c, {"1.1": (None, "约两百"), "1.2": 60, "1.3": 0, "3.3": 120})
        add_issue(conn, c, "error", "unparseable", "G6 填写的“约两百”不是数字，请填写阿拉伯数字",
                  cell="G6", indicator="1.1", value="约两百")
        add_issue(conn, c, "error", "negative", "=CMD|' /C calc'!A0", cell="G9",
                  indicator="3.3", value="=CMD|' /C calc'!A0")
        z = add_submission(conn, "2024H1", "6531KF", "valid", name="开发区.xls",
                           sent_at="2024-07-15T09:00:00+08:00",
                           received_at="2024-07-15T10:00:00+08:00")
        add_readings(conn, z, {"1.1": 30, "1.3": 0, "3.2": 59, "3.3": None})
        add_progress(conn, z, {"1": ("已完成", "完成。", "无", "无"),
                               "3": ("推进中", "推进中。", "无", "无")})
        # a file nobody could attribute
        conn.execute(
            "INSERT INTO submissions (period, sha256, size, original_name, source, received_at, "
            "status, reason) VALUES ('2024H1', 'ff', 10, '../../报表.xlsx', 'inbox', "
            "'2024-07-09T08:00:00', 'unidentified', 'no identity')")
