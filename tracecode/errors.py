"""The project's own error types. The CLI turns each into ``Error: …`` and an exit code."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    ERROR = 1  # the tool could not do what was asked (bad input, database in use, ...)
    USAGE = 2  # wrong options or arguments (click's own code)
    FINDINGS = 3  # only with --fail-on-findings: the run worked and found suspicious codes


class TracecodeError(Exception):
    """Base class of every error the user should see as one clear line."""

    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class InputFileError(TracecodeError):
    """An input file cannot be read (missing, empty, binary, wrong encoding, missing columns)."""


class ColumnMappingError(TracecodeError):
    """A --columns mapping file is malformed."""


class DatabaseInUse(TracecodeError):
    """Another tracecode process holds the database open for writing."""

    hint = "wait for the other tracecode process to finish, or use another --db file"


class DatabaseError(TracecodeError):
    """The database file is missing, not a tracecode database, or damaged."""


class UnknownMonth(TracecodeError):
    """A --month value is malformed or not held in the database."""


class CodeError(TracecodeError):
    """A traceability code given on the command line cannot be read."""


class OutputError(TracecodeError):
    """An output folder or file cannot be written as asked."""


class RuleError(TracecodeError):
    """A rule SQL file or rule selection is wrong."""


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's Ctrl-C: Python's KeyboardInterrupt, or DuckDB's
    'Query interrupted' (DuckDB takes the signal itself while a query runs)."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return type(exc).__name__ in ("RuntimeError", "InterruptException") and "interrupted" in str(exc).lower()
