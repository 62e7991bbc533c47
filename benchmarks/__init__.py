"""The benchmark command: ``python -m benchmarks.run`` (``make bench``).

It makes its own inputs in a temporary folder (a workspace whose unit list is
enlarged through ``[[units]]`` in toolkit.toml, templates written by the
toolkit, filled by the simulated clerks), runs every stage as a child process
and reports median wall time, CPU time and peak memory, next to the floor:
opening each file's zip and reading its sheet XML.

Modules: ``measure`` (run one child process: its wall and CPU time, its
memory), ``inputs`` (the scratch workspace and filled submissions), ``floor``
(the floor itself, also runnable as ``python -m benchmarks.floor DIR``),
``report`` (table, goals, JSON) and ``run`` (the command).
"""
