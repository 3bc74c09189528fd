"""The embedded DuckDB store: open it, create the schema, keep memory bounded."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import duckdb

from tracecode.errors import DatabaseError, DatabaseInUse
from tracecode.sqlfiles import read_sql

DEFAULT_DB = "tracecode.duckdb"
SCHEMA_VERSION = "1"


def default_db_path() -> str:
    """``$TRACECODE_DB`` if set, else ``tracecode.duckdb`` in the current folder."""
    return os.environ.get("TRACECODE_DB") or DEFAULT_DB


def configure(con: duckdb.DuckDBPyConnection, memory_limit: str | None = None, temp_dir: str | None = None) -> None:
    """Set an explicit memory limit and spill folder (faster than DuckDB's default at scale)."""
    limit = memory_limit or os.environ.get("TRACECODE_MEMORY_LIMIT") or "4GB"
    con.execute(f"SET memory_limit = '{_checked_size(limit)}'")
    if temp_dir:
        # SET takes no bind parameters; the path is ours (derived from --db), quoted.
        con.execute(f"SET temp_directory = '{_quote(temp_dir)}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    # FSST string compression costs a third of ingest time here for no gain in file size.
    con.execute("SET disabled_compression_methods = 'fsst'")


def _checked_size(text: str) -> str:
    cleaned = text.strip().replace(" ", "")
    if not cleaned or not all(c.isalnum() or c == "." for c in cleaned):
        raise DatabaseError(f"memory limit {text!r} is not a size such as 4GB")
    return cleaned


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
    try:
        con = duckdb.connect(path, read_only=read_only and path != ":memory:")
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise DatabaseInUse(f"database {path} is in use by another process") from None
        raise DatabaseError(f"cannot open database {path}: {text.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {str(exc).splitlines()[0]}") from None
    spill = None if path == ":memory:" else str(Path(path).resolve()) + ".tmp"
    configure(con, memory_limit, spill)
    if not read_only:
        ensure_schema(con)
    else:
        _check_is_store(con, path)
    return con


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(read_sql("schema/store.sql"))
    con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
    # The key of the masking hash of insured-person ids: random per database, never exported.
    con.execute("INSERT OR IGNORE INTO meta VALUES ('mask_key', ?)", [secrets.token_hex(16)])


def _check_is_store(con: duckdb.DuckDBPyConnection, path: str) -> None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"files", "events", "rejects"} <= tables:
        raise DatabaseError(f"{path} is not a tracecode database", hint="check the --db path")
