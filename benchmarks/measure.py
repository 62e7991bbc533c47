"""Run one child process and measure it: wall time, CPU time and peak memory.

Wall time is taken around the whole child (interpreter start-up included). CPU
time is the user and system time of the child and of every descendant it waited
for (its reader processes, say), from the kernel (``os.wait4``): unlike wall
time it does not grow when other work shares the machine.
Peak memory comes in two figures:

- ``rss``: the peak resident set of the largest single process, from the kernel
  (``os.wait4`` rusage: the child, or any descendant it waited for). A child
  started by exec keeps the launching process's high-water mark in that
  figure, so when it does not exceed ours the sampled VmHWM of the child's own
  processes is used instead;
- ``tree``: the peak of the summed resident sets of the child and all its
  descendants (the sandbox's reader processes, say), sampled from /proc every
  ``SAMPLE_EVERY`` seconds. Pages shared after a fork are counted in each
  process, so this errs on the high side.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_EVERY = 0.05  # seconds between two looks at /proc
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sample:
    """One measured child process."""

    wall: float  # seconds
    cpu: float  # seconds of CPU, user and system, the child's and its descendants' (0: unknown)
    rss: int  # bytes, largest single process (0 when unknown)
    tree: int  # bytes, summed over the process tree (sampled; 0 when unknown)
    returncode: int
    stdout: str
    stderr: str


def child_env() -> dict:
    """The environment of measured children: this repository importable, no colour."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.setdefault("PYTHONHASHSEED", "0")
    env["NO_COLOR"] = "1"
    return env


def _children_map() -> dict[int, list[int]]:
    """{parent pid: [child pids]} of every process visible in /proc."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # after "pid (comm) "
        if len(fields) > 1:
            out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out


def _status(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in bytes; (0, 0) when it is gone or not readable."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def tree_memory(pid: int) -> tuple[int, int]:
    """(summed VmRSS, largest VmHWM) over ``pid`` and its descendants now, in bytes."""
    if not os.path.isdir("/proc"):
        return 0, 0
    children = _children_map()
    total = largest = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        rss, hwm = _status(current)
        total += rss
        largest = max(largest, hwm)
        todo.extend(children.get(current, ()))
    return total, largest


class _Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.tree = 0  # peak of the summed resident sets
        self.hwm = 0  # largest high-water mark of one process
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            tree, hwm = tree_memory(self.pid)
            self.tree, self.hwm = max(self.tree, tree), max(self.hwm, hwm)
            self.done.wait(SAMPLE_EVERY)


def _maxrss_bytes(value: int) -> int:
    return value if sys.platform == "darwin" else value * 1024  # Linux reports KiB


def _own_maxrss() -> int:
    import resource

    return _maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run(argv: list[str], cwd: Path | None = None, check: bool = True,
        ok_codes: tuple[int, ...] = (0,)) -> Sample:
    """Run ``argv`` to the end, measured; raise when it exits with a code not in ``ok_codes``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        inherited = _own_maxrss() if hasattr(os, "wait4") else 0
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=child_env(), stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        sampler = _Sampler(proc.pid)
        sampler.start()
        if hasattr(os, "wait4"):
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            rss = _maxrss_bytes(usage.ru_maxrss)
            cpu = usage.ru_utime + usage.ru_stime
            if rss <= inherited and sampler.hwm:
                rss = sampler.hwm  # the kernel's figure is this process's own: use the sampled
        else:  # pragma: no cover - no per-child rusage here
            proc.wait()
            wall = time.perf_counter() - start
            rss, cpu = 0, 0.0
        sampler.done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    sample = Sample(wall, cpu, rss, max(sampler.tree, rss), proc.returncode, stdout, stderr)
    if check and proc.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited with {proc.returncode}:\n"
                           f"{stderr[-2000:] or stdout[-2000:]}")
    return sample


def toolkit(*args: str, **kwargs) -> Sample:
    """``python -m toolkit ARGS`` as the office would run it, measured."""
    return run([sys.executable, "-m", "toolkit", *map(str, args)], **kwargs)
