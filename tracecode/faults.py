"""Fault injection for the crash tests (tests/faults/): with ``TRACECODE_FAULT_AT=n`` set, the
n-th progress point a command reaches kills the process with SIGKILL, as a power cut or
``kill -9`` would. Unset (always, outside the tests) it costs one dictionary lookup."""

from __future__ import annotations

import os
import signal

_ENV = "TRACECODE_FAULT_AT"
_reached = 0


def fault_point() -> None:
    """One progress point: the place a crash test may kill the process."""
    global _reached
    at = os.environ.get(_ENV)
    if not at:
        return
    _reached += 1
    if _reached == int(at):
        os.kill(os.getpid(), signal.SIGKILL)
