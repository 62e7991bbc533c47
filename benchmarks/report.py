"""Figures of a benchmark run: per-stage results, the table, the goals and the JSON."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

MB = 1024 * 1024
HELP = "toolkit --help"
GENERATE = "generate templates"
FLOOR = "floor: unzip + sheet XML"
COPIES = "keeping a copy of each file"
COLLECT, VALIDATE, MERGE = "collect", "validate", "merge"
COLLECT_VALIDATE = "collect + validate"
END_TO_END = "collect → validate → merge"


@dataclass
class Stage:
    """One stage at one size, over its repeats."""

    name: str
    size: int | None  # number of templates or submissions; None for --help
    walls: list[float] = field(default_factory=list)  # seconds, one per repeat
    cpus: list[float] = field(default_factory=list)  # CPU seconds (user + system), per repeat
    rss: list[int] = field(default_factory=list)  # bytes, largest process, one per repeat
    tree: list[int] = field(default_factory=list)  # bytes, process tree sum, one per repeat
    note: str = ""

    def add(self, wall: float, rss: int, tree: int, cpu: float = 0.0) -> None:
        self.walls.append(wall)
        self.cpus.append(cpu)
        self.rss.append(rss)
        self.tree.append(tree)

    @property
    def repeats(self) -> int:
        return len(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpus) if self.cpus else 0.0

    @property
    def peak_rss(self) -> int:
        return max(self.rss, default=0)

    @property
    def peak_tree(self) -> int:
        return max(self.tree, default=0)


def combine(name: str, parts: list[Stage], note: str = "") -> Stage:
    """A stage made of others run one after the other: walls and CPU times summed per
    repeat, peaks maxed."""
    out = Stage(name, parts[0].size, note=note)
    per_repeat = (zip(*(getattr(p, key) for p in parts)) for key in ("walls", "rss", "tree",
                                                                     "cpus"))
    for walls, rss, tree, cpus in zip(*per_repeat):
        out.add(sum(walls), max(rss), max(tree), sum(cpus))
    return out


def floor_of(stages: list[Stage], size: int | None) -> Stage | None:
    return next((s for s in stages if s.name == FLOOR and s.size == size), None)


def ratio(stage: Stage, stages: list[Stage]) -> float | None:
    """The stage's median wall over the floor's median at the same size."""
    floor = floor_of(stages, stage.size)
    if stage.name in (FLOOR, COPIES, HELP) or floor is None or floor.median <= 0:
        return None
    return stage.median / floor.median


def table(stages: list[Stage]) -> str:
    """The figures as an aligned plain-text table."""
    from toolkit.cli.table import width

    headers = ["stage", "n", "runs", "median s", "min–max s", "CPU s", "peak RSS MB",
               "tree RSS MB", "× floor"]
    rows = []
    for s in stages:
        r = ratio(s, stages)
        rows.append([s.name, "" if s.size is None else f"{s.size:,}", str(s.repeats),
                     f"{s.median:.3f}", f"{min(s.walls):.3f}–{max(s.walls):.3f}",
                     f"{s.median_cpu:.3f}", f"{s.peak_rss / MB:.0f}", f"{s.peak_tree / MB:.0f}",
                     "" if r is None else f"{r:.1f}"])
    widths = [max(width(h), *(width(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c + " " * (widths[i] - width(c)) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(cells))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


# --- goals (issue "Speed at prefecture and province scale") ---------------------------

def _find(stages, name, size):
    return next((s for s in stages if s.name == name and s.size == size), None)


def goals(stages: list[Stage]) -> list[dict]:
    """Each goal with what was measured and whether it is met (None: not measured)."""
    out = []

    def goal(text, stage, value, limit, shown):
        met = None if stage is None else value < limit
        out.append({"goal": text, "measured": "not measured" if stage is None else shown,
                    "met": met})

    e2e13 = _find(stages, END_TO_END, 13)
    goal("13 submissions, collect → validate → merge (CLI, with start-up) < 3 s", e2e13,
         e2e13 and e2e13.median, 3.0, e2e13 and f"{e2e13.median:.2f} s")
    e2e = _find(stages, END_TO_END, 1000)
    goal("1,000 submissions, collect → validate → merge < 30 s", e2e, e2e and e2e.median,
         30.0, e2e and f"{e2e.median:.1f} s")
    goal("1,000 submissions, peak memory < 1 GB (process tree)", e2e,
         e2e and e2e.peak_tree, 1e9, e2e and f"{e2e.peak_tree / MB:.0f} MB")
    cv = _find(stages, COLLECT_VALIDATE, 1000)
    r = cv and ratio(cv, stages)
    goal("1,000 submissions, collect + validate within 5× the floor", r, r, 5.0,
         r and f"{r:.1f}× ({cv.median:.1f} s vs {floor_of(stages, 1000).median:.2f} s)")
    gen = _find(stages, GENERATE, 1000)
    goal("1,000 templates generated < 30 s", gen, gen and gen.median, 30.0,
         gen and f"{gen.median:.1f} s")
    helped = _find(stages, HELP, None)
    goal("toolkit --help < 0.3 s", helped, helped and helped.median, 0.3,
         helped and f"{helped.median:.3f} s")
    return out


def goals_text(rows: list[dict]) -> str:
    word = {True: "met", False: "MISSED", None: "—"}
    width = max(len(r["goal"]) for r in rows)
    return "\n".join(f"{word[r['met']]:<6}  {r['goal']:<{width}}  {r['measured']}" for r in rows)


def as_json(stages: list[Stage], extra: dict) -> dict:
    return {**extra, "stages": [{
        "stage": s.name, "size": s.size, "repeats": s.repeats, "median_s": s.median,
        "walls_s": s.walls, "median_cpu_s": s.median_cpu, "cpus_s": s.cpus,
        "peak_rss_mb": s.peak_rss / MB, "peak_tree_rss_mb": s.peak_tree / MB,
        "ratio_to_floor": ratio(s, stages), "note": s.note} for s in stages],
        "goals": goals(stages)}
