"""Bulk work on many small objects, without the cyclic garbage collector's rescans.

Validating or merging a thousand submissions holds millions of small values
(cells, readings, issues) at once. Each time the collector runs it walks the
objects still alive, so its cost grows with the heap: about a third of a
thousand-unit validation went to it. The values are plain data (tuples,
strings, numbers, frozen dataclasses): they hold no reference cycles and are
freed by reference counting as soon as they are let go, collector or not.
Inside ``paused()`` the collector does not run; what cycles the work makes
are collected when it resumes.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """``with paused():`` (or ``@paused()`` on a function) the cyclic collector does not
    run; it resumes as it was after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
