"""The columns of the store's tables, read off ``sql/schema/store.sql`` (the one declaration
of them): the ingest's INSERT and the Spark layout's columns are derived from it."""

from __future__ import annotations

import functools

import duckdb

from tracecode.sqlfiles import read_sql

__all__ = ["table_columns"]


@functools.lru_cache(maxsize=None)
def table_columns(table: str) -> tuple[tuple[str, str], ...]:
    """``(column, DuckDB type)`` of a table of sql/schema/store.sql, in declaration order."""
    con = duckdb.connect()
    try:
        con.execute(read_sql("schema/store.sql"))
        columns = tuple(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                                    "ORDER BY column_index", [table]).fetchall())
    finally:
        con.close()
    if not columns:
        raise KeyError(f"sql/schema/store.sql defines no table {table!r}")
    return columns
