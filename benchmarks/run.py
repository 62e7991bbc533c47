"""``python -m benchmarks.run``: time every stage of a period, against the floor.

For each size (default 13 and 1,000; ``--quick``: 13 and 100) in a scratch
folder removed afterwards:

1. ``toolkit generate`` of that many templates (CLI child process; the first
   run's templates become the inputs);
2. the simulated clerks fill them (not timed);
3. the floor: one process opens each filled file's zip and reads its sheet XML;
   and beside it what keeping a copy of each file costs on the same disk (one
   process reads each file and writes it to a new one, as collect keeps them);
4. ``toolkit collect``, ``validate`` and ``merge`` as CLI child processes, each
   repeat in a fresh workspace.

plus ``toolkit --help`` once. Every toolkit figure is the wall time of a child
process (interpreter start-up included) and its peak memory. Median over the
repeats: ``--repeats`` (default 5) for sizes up to 100, ``--big-repeats``
(default 3) above.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import measure, report
from benchmarks.floor import workbooks
from benchmarks.inputs import PERIOD, fill_submissions, make_workspace, unit_codes
from benchmarks.report import Stage

DEFAULT_SIZES = (13, 1000)
QUICK_SIZES = (13, 100)
BIG = 100  # sizes above this take --big-repeats


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes numbers like 13,1000, not {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("--sizes must be positive numbers")
    return sizes


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes only ({', '.join(map(str, QUICK_SIZES))}): a smoke run")
    parser.add_argument("--sizes", type=parse_sizes, default=None, metavar="N,N",
                        help="numbers of templates / submissions "
                             f"(default {','.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--repeats", type=int, default=5, metavar="N",
                        help=f"runs of each stage for sizes up to {BIG} (default 5)")
    parser.add_argument("--big-repeats", type=int, default=3, metavar="N",
                        help=f"runs of each stage for sizes above {BIG} (default 3)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="also write the figures as JSON to FILE")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch folder (its path is printed)")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.repeats < 1 or args.big_repeats < 1:
        parser.error("--repeats and --big-repeats must be at least 1")
    return args


# --- stages ----------------------------------------------------------------------------

def bench_help(repeats: int) -> Stage:
    stage = Stage(report.HELP, None, note="CLI start-up")
    for _ in range(repeats):
        sample = measure.toolkit("--help")
        stage.add(sample.wall, sample.rss, sample.tree, sample.cpu)
    log(f"  --help: median {stage.median:.3f} s")
    return stage


def bench_generate(base: Path, size: int, repeats: int) -> tuple[Stage, Path]:
    """Generate ``size`` templates ``repeats`` times; keep the first run's folder."""
    stage = Stage(report.GENERATE, size, note="toolkit generate (CLI)")
    codes = unit_codes(base)
    units = [] if size >= len(codes) else [arg for code in codes[:size]
                                           for arg in ("--unit", code)]
    kept = None
    for k in range(repeats):
        out = base / f"templates-{k}"
        sample = measure.toolkit("-w", base, "generate", "-p", PERIOD, "--out", out, *units)
        written = workbooks(out)
        if len(written) != size:
            raise RuntimeError(f"generate wrote {len(written)} templates, expected {size}")
        stage.add(sample.wall, sample.rss, sample.tree, sample.cpu)
        log(f"  generate {size}: run {k + 1}/{repeats} {sample.wall:.2f} s")
        if kept is None:
            kept = out
        else:
            shutil.rmtree(out)
    return stage, kept


def bench_floor(inbox: Path, size: int, repeats: int, copy_to: Path | None = None) -> Stage:
    """The floor; with ``copy_to``, what keeping a copy of each file costs in that folder
    (on the workspaces' disk: collect keeps a copy of each file it takes in)."""
    name, what = (report.FLOOR, "floor") if copy_to is None else (report.COPIES, "copies")
    stage = Stage(name, size, note="one process, time inside it (no start-up)")
    for k in range(repeats):
        folder = None if copy_to is None else copy_to / f"copies-{size}-{k}"
        into = [] if folder is None else ["--copy-to", str(folder)]
        sample = measure.run([sys.executable, "-m", "benchmarks.floor", *into, str(inbox)])
        figures = json.loads(sample.stdout)
        if figures["files"] != size:
            raise RuntimeError(f"the {what} took {figures['files']} files, expected {size}")
        stage.add(figures["seconds"], sample.rss, sample.tree, figures["cpu_seconds"])
        if folder is not None:
            shutil.rmtree(folder)
    log(f"  {what} {size}: median {stage.median:.3f} s")
    return stage


def ledger_counts(root: Path) -> dict[str, int]:
    with sqlite3.connect(root / "toolkit.db") as conn:
        return dict(conn.execute("SELECT status, count(*) FROM submissions WHERE period = ? "
                                 "GROUP BY status", (PERIOD,)).fetchall())


def bench_pipeline(scratch: Path, base: Path, inbox: Path, size: int,
                   repeats: int) -> tuple[list[Stage], dict]:
    """collect, validate, merge as the office runs them, each repeat in a fresh workspace."""
    stages = {name: Stage(name, size, note="CLI") for name in
              (report.COLLECT, report.VALIDATE, report.MERGE)}
    counts: dict = {}
    for k in range(repeats):
        root = scratch / f"run-{size}-{k}"
        root.mkdir()
        shutil.copy(base / "toolkit.toml", root / "toolkit.toml")
        steps = ((report.COLLECT, ("collect", inbox, "-p", PERIOD), (0,)),
                 (report.VALIDATE, ("validate", "-p", PERIOD), (0, 1)),  # 1: errors found
                 (report.MERGE, ("merge", "-p", PERIOD), (0,)))
        for name, args, ok in steps:
            sample = measure.toolkit("-w", root, *args, ok_codes=ok)
            stages[name].add(sample.wall, sample.rss, sample.tree, sample.cpu)
        counts = ledger_counts(root)
        if sum(counts.values()) != size:
            raise RuntimeError(f"the ledger holds {counts}, expected {size} submissions")
        if not (root / "outputs" / PERIOD / f"consolidated_{PERIOD}.xlsx").is_file():
            raise RuntimeError("merge wrote no consolidated workbook")
        total = sum(s.walls[-1] for s in stages.values())
        log(f"  collect→validate→merge {size}: run {k + 1}/{repeats} {total:.2f} s "
            f"({', '.join(f'{n} {s.walls[-1]:.2f}' for n, s in stages.items())})")
        shutil.rmtree(root)
    parts = list(stages.values())
    return [*parts,
            report.combine(report.COLLECT_VALIDATE, parts[:2], "sum of the two CLI runs"),
            report.combine(report.END_TO_END, parts, "sum of the three CLI runs")], counts


def bench_size(scratch: Path, size: int, repeats: int) -> tuple[list[Stage], dict]:
    base = make_workspace(scratch / f"workspace-{size}", size)
    log(f"size {size} ({repeats} runs per stage)")
    generate, templates = bench_generate(base, size, repeats)
    start = time.perf_counter()
    inbox = scratch / f"inbox-{size}"
    fill_submissions(base, workbooks(templates), inbox)
    filled = time.perf_counter() - start
    log(f"  inputs: {size} submissions filled in {filled:.1f} s (not timed as a stage)")
    shutil.rmtree(templates)
    floor = bench_floor(inbox, size, repeats)
    copies = bench_floor(inbox, size, repeats, copy_to=scratch)
    pipeline, counts = bench_pipeline(scratch, base, inbox, size, repeats)
    return [generate, floor, copies, *pipeline], {"fill_seconds": filled, "ledger": counts}


def run(args: argparse.Namespace) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="toolkit-bench-"))
    try:
        stages = [bench_help(args.repeats)]
        inputs = {}
        for size in args.sizes:
            repeats = args.big_repeats if size > BIG else args.repeats
            found, inputs[str(size)] = bench_size(scratch, size, repeats)
            stages += found
    finally:
        if args.keep:
            log(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    extra = {"period": PERIOD, "sizes": list(args.sizes), "cpus": os.cpu_count(),
             "python": platform.python_version(), "platform": platform.platform(terse=True),
             "repeats": {"up_to_100": args.repeats, "above_100": args.big_repeats},
             "inputs": inputs}
    return {"stages": stages, "extra": extra}


def main(argv=None) -> dict:
    args = arguments(argv)
    result = run(args)
    stages = result["stages"]
    data = report.as_json(stages, result["extra"])
    print()
    print(report.table(stages))
    print()
    print("Wall: median over the runs, each a child process (toolkit stages include "
          "interpreter start-up).")
    print("CPU: median user + system time of the process and the readers it waited for "
          "(the floor: inside it).")
    print("Peak RSS: largest single process; tree RSS: sum over the process and its "
          "readers, sampled.")
    print(f"× floor: median wall over the floor's median at the same size. Runs: "
          f"{args.repeats} up to {BIG} files, {args.big_repeats} above. "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}.")
    print()
    print(report.goals_text(data["goals"]))
    if args.json:
        args.json.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")
        print(f"\nFigures written to {args.json}")
    return data


if __name__ == "__main__":
    main()
