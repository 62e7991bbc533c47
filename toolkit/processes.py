"""How many cores this process may use, and the context its worker processes start in.

Workers are forked where the system can (Linux): they inherit what the parent has
built, so nothing large is pickled. Elsewhere they are spawned.
"""

from __future__ import annotations

import multiprocessing
import os


def cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on this system
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def context():
    """The multiprocessing context for workers: fork where it exists, else spawn."""
    return multiprocessing.get_context("fork" if can_fork() else "spawn")


def both(here, there):
    """``(here(), there())``, side by side where there are two cores and processes fork:
    ``there`` is called in a forked child (which inherits all it refers to, so nothing
    goes to it pickled; only what it returns comes back so) while ``here`` is called in
    this process. Else, or when the child dies (killed, out of memory), the one after
    the other, here."""
    if cores() < 2 or not can_fork():
        return here(), there()
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _FORKED[:] = [there]
    try:  # the child is forked when the call is submitted, with _FORKED as it is then
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            other = pool.submit(_call_forked)
            mine = here()
            try:
                return mine, other.result()
            except BrokenProcessPool:
                pass
    finally:
        _FORKED.clear()
    return mine, there()


_FORKED: list = []  # the call a forked child makes: inherited, never pickled


def _call_forked():
    return _FORKED[0]()
