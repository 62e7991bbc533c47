"""Two calls side by side: the second in a forked child where there are two cores."""

from __future__ import annotations

import os

import pytest

from toolkit import processes

TWO = processes.cores() > 1 and processes.can_fork()


def test_both_gives_each_call_what_it_returns_in_order():
    big = list(range(100_000))  # the child has it without its being sent
    assert processes.both(lambda: sum(big[:10]), lambda: sum(big)) == (45, sum(big))


@pytest.mark.skipif(not TWO, reason="one core, or processes do not fork here")
def test_the_second_call_runs_in_another_process():
    here, there = processes.both(os.getpid, os.getpid)
    assert here == os.getpid() != there


def test_on_one_core_both_run_here(monkeypatch):
    monkeypatch.setattr(processes, "cores", lambda: 1)
    assert processes.both(os.getpid, os.getpid) == (os.getpid(), os.getpid())


def test_a_failure_in_the_second_call_reaches_the_caller():
    def fails():
        raise ValueError("no such unit")

    with pytest.raises(ValueError, match="no such unit"):
        processes.both(lambda: 1, fails)


@pytest.mark.skipif(not TWO, reason="one core, or processes do not fork here")
def test_when_the_child_dies_its_call_is_made_here():
    parent = os.getpid()

    def there():
        if os.getpid() != parent:
            os._exit(9)  # as if killed for its memory
        return "made here"

    assert processes.both(lambda: 1, there) == (1, "made here")
