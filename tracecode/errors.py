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


class MaskKeyError(TracecodeError):
    """A mask key file (--mask-key-file) is missing, unreadable or too short."""

    hint = ("a key file holds one line of at least 16 random characters, e.g. made once with "
            "`openssl rand -hex 32 > bureau.key`; keep it as safe as the data")


class RuleError(TracecodeError):
    """A rule SQL file or rule selection is wrong."""


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's Ctrl-C: Python's KeyboardInterrupt, or DuckDB's
    'Query interrupted' (DuckDB takes the signal itself while a query runs)."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return type(exc).__name__ in ("RuntimeError", "InterruptException") and "interrupted" in str(exc).lower()


class WriteFailed(TracecodeError):
    """The disk is full, a file grew past the system's limit, or a path may not be written."""


#: What the system says when it cannot write (errno names), with the hint a user needs.
_WRITE_FAILURES = {
    "ENOSPC": ("no space left on the device", "free disk space (or use a disk with more), then run the same command again"),
    "EDQUOT": ("the disk quota is used up", "free disk space, then run the same command again"),
    "EFBIG": ("a file grew larger than this system allows", "raise the file size limit (ulimit -f), then run again"),
    "EACCES": ("permission denied", "choose a folder you may write to, or ask for write permission"),
    "EPERM": ("operation not permitted", "choose a folder you may write to, or ask for write permission"),
    "EROFS": ("the file system is read-only", "choose a folder on a writable disk"),
}
_WRITE_WORDS = {"ENOSPC": "no space left", "EDQUOT": "quota exceeded", "EFBIG": "file too large",
                "EACCES": "permission denied", "EROFS": "read-only file system"}


def write_failure(exc: BaseException) -> WriteFailed | None:
    """The one-line error for an OSError or DuckDB error that says the disk is full or a path
    is not writable (DuckDB reports these as IOException, FatalException or
    TransactionException, with the system's words in the message); None for anything else."""
    import errno

    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, "")
        if name in _WRITE_FAILURES:
            words, hint = _WRITE_FAILURES[name]
            where = f": {exc.filename}" if exc.filename else ""
            return WriteFailed(f"cannot write{where}: {words}", hint=hint)
        return None
    if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb"):
        return None
    text = str(exc).lower()
    for name, phrase in _WRITE_WORDS.items():
        if phrase in text:
            words, hint = _WRITE_FAILURES[name]
            return WriteFailed(f"the database could not write: {words}; nothing of the failed step was kept",
                               hint=hint)
    return None
