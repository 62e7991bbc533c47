"""The benchmark's own inputs: a scratch workspace of any size and filled submissions.

A workspace of ``size`` units is the bundled 13 plus ``size - 13`` synthetic
units declared the supported way, as ``[[units]]`` entries (code, name, kind)
in its toolkit.toml; synthetic units are counties, so they report every
indicator and task scoped to all units or to the counties. Below 13 the
workspace keeps the bundled units and only the first ``size`` are used.

Submissions are the toolkit's own templates filled by the simulated clerks
(``toolkit.simulate``), some with the mistakes clerks make, so validation has
warnings and errors to find and the merge leaves some units out.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PERIOD = "2024H1"
BUNDLED = 13  # units in templates/units.yaml
SEED = 2024


def synthetic_code(number: int) -> str:
    """A stable code that cannot clash with a division code: ``SIM0014``."""
    return f"SIM{number:04d}"


def config_text(size: int) -> str:
    """toolkit.toml of a workspace with ``max(size, 13)`` units."""
    lines = ["[plan]", 'lang = "zh"', ""]
    for number in range(BUNDLED + 1, size + 1):
        lines += ["[[units]]", f'code = "{synthetic_code(number)}"',
                  f'name = "模拟县{number:04d}"', 'kind = "county"', ""]
    return "\n".join(lines)


def make_workspace(root: Path, size: int) -> Path:
    """Write the workspace folder (toolkit.toml only) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "toolkit.toml").write_text(config_text(size), encoding="utf-8")
    return root


def unit_codes(workspace_root: Path) -> list[str]:
    """The codes of the workspace's units, in order (a run of size n uses the first n)."""
    from toolkit.config import open_workspace

    return [u.code for u in open_workspace(workspace_root).tasklist.units]


def mistakes_for(index: int):
    """What clerk number ``index`` gets wrong (most get nothing wrong)."""
    from toolkit.simulate import Mistakes

    if index % 20 == 7:
        return Mistakes(out_of_range=True)  # an error: left out of the merge
    if index % 10 == 3:
        return Mistakes(thousands_text=True, fullwidth=True, wan_and_percent=True)
    if index % 15 == 5:
        return Mistakes(formula_narrative=True)
    return Mistakes()


_WORKSPACE = {}  # per worker process: the opened workspace


def _fill_one(job) -> str:
    from toolkit.config import open_workspace
    from toolkit.periods import parse_period
    from toolkit.simulate import fill_workbook, plan_fill

    root, index, template, dest = job
    if root not in _WORKSPACE:
        _WORKSPACE[root] = open_workspace(root)
    workspace = _WORKSPACE[root]
    period = parse_period(PERIOD)
    code = Path(template).name.split("_", 1)[0]
    plan = plan_fill(workspace.tasklist, workspace.tasklist.unit(code), period, {}, SEED,
                     mistakes_for(index))
    fill_workbook(Path(template), Path(dest), plan)
    return dest


def fill_submissions(workspace_root: Path, templates: list[Path], inbox: Path,
                     jobs: int | None = None) -> list[Path]:
    """Fill every template as its clerk would, into ``inbox``; both cores at work."""
    inbox.mkdir(parents=True, exist_ok=True)
    work = [(str(workspace_root), i, str(t), str(inbox / t.name.replace(".xlsx", "_返回.xlsx")))
            for i, t in enumerate(sorted(templates))]
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(work) < 4:
        return [Path(_fill_one(job)) for job in work]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return [Path(p) for p in pool.map(_fill_one, work, chunksize=8)]
