"""The benchmark command runs end to end on a tiny size and reports every stage.

A smoke test of ``python -m benchmarks.run``, not a timed test: it asserts the
report's shape (every stage, positive figures), never how fast anything was.
"""

from __future__ import annotations

import json

import pytest
from benchmarks import report
from benchmarks.inputs import config_text, synthetic_code
from benchmarks.run import main

STAGES = (report.GENERATE, report.FLOOR, report.COPIES, report.COLLECT, report.VALIDATE,
          report.MERGE, report.COLLECT_VALIDATE, report.END_TO_END)
MEASURED = STAGES[3:]  # the toolkit's own stages, each with its ratio to the floor


def test_quick_run_on_three_units_reports_every_stage(tmp_path, capsys):
    out = tmp_path / "figures.json"
    data = main(["--quick", "--sizes", "3", "--repeats", "1", "--json", str(out)])

    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(data))
    stages = {(s["stage"], s["size"]): s for s in data["stages"]}
    assert set(stages) == {(report.HELP, None), *((name, 3) for name in STAGES)}
    for stage in stages.values():
        assert stage["repeats"] == 1
        assert stage["median_s"] > 0 and all(w > 0 for w in stage["walls_s"])
        assert stage["median_cpu_s"] > 0 and len(stage["cpus_s"]) == 1
        assert stage["peak_rss_mb"] > 0 and stage["peak_tree_rss_mb"] >= stage["peak_rss_mb"]
    for name in MEASURED:
        assert stages[(name, 3)]["ratio_to_floor"] > 0
    assert stages[(report.COPIES, 3)]["ratio_to_floor"] is None  # a cost beside the floor
    both = [stages[(name, 3)]["median_cpu_s"] for name in (report.COLLECT, report.VALIDATE)]
    assert stages[(report.COLLECT_VALIDATE, 3)]["median_cpu_s"] == pytest.approx(sum(both))
    assert data["inputs"]["3"]["ledger"] and sum(data["inputs"]["3"]["ledger"].values()) == 3
    printed = capsys.readouterr().out
    assert all(name in printed for name in (report.HELP, *STAGES))
    assert "not measured" in printed  # the goals at 13 and 1,000 were not run here


def test_a_workspace_of_any_size_is_declared_in_toolkit_toml(tmp_path):
    from toolkit.config import open_workspace

    root = tmp_path / "ws"
    root.mkdir()
    (root / "toolkit.toml").write_text(config_text(40), encoding="utf-8")
    units = open_workspace(root).tasklist.units
    assert len(units) == 40
    assert units[-1].code == synthetic_code(40) and units[-1].kind == "county"
