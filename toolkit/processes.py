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
