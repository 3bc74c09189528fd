"""The embedded DuckDB store: open it, create the schema, keep memory bounded."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import duckdb

from tracecode.errors import DatabaseError, DatabaseInUse
from tracecode.sqlfiles import read_sql
from tracecode.store.migrate import migrate_codes, refuse_old_codes

DEFAULT_DB = "tracecode.duckdb"
SCHEMA_VERSION = "1"
DEFAULT_MEMORY_LIMIT = "4GB"
#: Below this DuckDB fails before it can say it is out of memory.
MIN_MEMORY_BYTES = 16 * 1000 ** 2
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.I)
_UNIT_BYTES = {"kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
               "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}
#: Bytes 8-11 of every DuckDB database file.
_DUCKDB_MAGIC = b"DUCK"


def default_db_path() -> str:
    """``$TRACECODE_DB`` if set, else ``tracecode.duckdb`` in the current folder."""
    return os.environ.get("TRACECODE_DB") or DEFAULT_DB


def configure(con: duckdb.DuckDBPyConnection, memory_limit: str | None = None, temp_dir: str | None = None) -> None:
    """Set an explicit memory limit and spill folder (faster than DuckDB's default at scale)."""
    if memory_limit:
        limit = checked_memory_limit(memory_limit)
    else:
        try:
            limit = checked_memory_limit(os.environ.get("TRACECODE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT)
        except ValueError as exc:
            raise DatabaseError(f"TRACECODE_MEMORY_LIMIT: {exc}", hint="set it to a size such as 4GB, or unset it") from None
    con.execute(f"SET memory_limit = '{limit}'")
    # kept as given: DuckDB shows its setting rounded ('3.7 GiB'); ingest lowers and restores it
    con.execute(f"SET VARIABLE tracecode_memory_limit = '{limit}'")
    if temp_dir:
        # SET takes no bind parameters; the path is ours (derived from --db), quoted.
        con.execute(f"SET temp_directory = '{_quote(temp_dir)}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    # FSST string compression costs a third of ingest time here for no gain in file size.
    con.execute("SET disabled_compression_methods = 'fsst'")
    # Each INSERT of a chunk leaves a part-filled row group per thread; the checkpoint's vacuum
    # merges them by rewriting their full neighbours too: 12 s of a 48-file ingest, a 4 GB peak
    # and a file a third larger. Row groups whose rows are all deleted are still dropped.
    con.execute("SET max_vacuum_tasks = 0")


def checked_memory_limit(text: str) -> str:
    """``text`` as a DuckDB memory limit (e.g. ``4GB``, ``512MiB``); ValueError when it is not a
    size or is below MIN_MEMORY_BYTES."""
    match = _SIZE_RE.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 4GB or 512MB")
    number, unit = match.groups()
    if float(number) * _UNIT_BYTES[unit.lower()] < MIN_MEMORY_BYTES:
        raise ValueError(f"{text!r} is too small: DuckDB needs at least 16MB")
    return f"{number}{unit}"


def memory_limit_bytes(text: str) -> int:
    """Bytes of a limit :func:`checked_memory_limit` accepts (``4GB`` -> 4000000000)."""
    number, unit = _SIZE_RE.match(checked_memory_limit(text)).groups()
    return int(float(number) * _UNIT_BYTES[unit.lower()])


def _quote(text: str) -> str:
    return text.replace("'", "''")


def open_store(path: str | os.PathLike, *, read_only: bool = False, create: bool = True,
               memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (and on first use create) a tracecode database file.

    Raises DatabaseInUse when another process holds it, DatabaseError when it is not ours.
    """
    path = str(path)
    if path != ":memory:" and not Path(path).exists():
        if read_only or not create:
            raise DatabaseError(f"database {path} does not exist", hint="run `tracecode ingest --db FILE ...` first")
    elif path != ":memory:":
        _check_is_duckdb_file(Path(path))
    try:
        con = duckdb.connect(path, read_only=read_only and path != ":memory:")
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise DatabaseInUse(f"database {path} is in use by another process") from None
        hint = None
        if "read-only" in text.lower() or "permission denied" in text.lower():
            hint = ("this command writes to the database: copy it to a writable folder, or use a command that "
                    "only reads it (status, trace, export, report)")
        raise DatabaseError(f"cannot open database {path}: {text.splitlines()[0]}", hint=hint) from None
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {str(exc).splitlines()[0]}") from None
    spill = None if path == ":memory:" else str(Path(path).resolve()) + ".tmp"
    configure(con, memory_limit, spill)
    if not read_only:
        ensure_schema(con)
        migrate_codes(con)
    else:
        _check_is_store(con, path)
        refuse_old_codes(con, path)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(read_sql("schema/store.sql"))
    con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    # The key of the masking hash of insured-person ids: random per database, never exported.
    con.execute("INSERT OR IGNORE INTO meta VALUES ('mask_key', ?)", [secrets.token_hex(16)])


def _check_is_duckdb_file(path: Path) -> None:
    """Refuse a --db that names a file other than a DuckDB database (an upload CSV given by
    mistake): DuckDB would otherwise open an in-memory database and nothing would be saved."""
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file", hint="--db names a .duckdb file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise DatabaseError(f"cannot open database {path}: {exc.strerror}") from None
    if head and head[8:12] != _DUCKDB_MAGIC:
        raise DatabaseError(f"{path} is not a DuckDB database file",
                            hint="--db names the database (e.g. city.duckdb); upload files come after the options")


def _check_is_store(con: duckdb.DuckDBPyConnection, path: str) -> None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"files", "events", "rejects"} <= tables:
        raise DatabaseError(f"{path} is not a tracecode database", hint="check the --db path")
