"""Fault injection for the crash tests (tests/faults/): with ``TRACECODE_FAULT_AT=n`` set, the
n-th progress point a command reaches kills the process with SIGKILL, as a power cut or
``kill -9`` would (``TRACECODE_FAULT_SIGNAL=INT``: sends it SIGINT instead, as Ctrl-C would). With ``TRACECODE_FAULT_COUNT=FILE`` set, every point reached appends its name
to FILE (one line each): a run that is not killed tells the tests how many points it passes.
Unset (always, outside the tests) a point costs two dictionary lookups."""

from __future__ import annotations

import itertools
import os
import signal

AT_ENV = "TRACECODE_FAULT_AT"
COUNT_ENV = "TRACECODE_FAULT_COUNT"
SIGNAL_ENV = "TRACECODE_FAULT_SIGNAL"
# next() of itertools.count is atomic: points reached on export's worker threads count once each.
_reached = itertools.count(1)


def fault_point(name: str = "") -> None:
    """One progress point, called ``name`` (e.g. ``ingest.chunk``): the place a crash test may
    kill the process."""
    at, count_file = os.environ.get(AT_ENV), os.environ.get(COUNT_ENV)
    if not at and not count_file:
        return
    n = next(_reached)
    if count_file:
        with open(count_file, "a", encoding="utf-8") as fh:
            fh.write(f"{name or '?'}\n")
    if at and n == int(at):
        os.kill(os.getpid(), signal.SIGINT if os.environ.get(SIGNAL_ENV) == "INT" else signal.SIGKILL)
