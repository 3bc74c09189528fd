"""The summary tables a DuckDB store keeps across checks (each with its ``<table>_files``):
each is filled by a SQL file with a ``-- persist: <table>`` header, over the files the table
has not seen yet, so that every upload file is read once, ever.

The rule stages (``sql/stages``) that persist are refreshed when a check needs them; a SQL
file elsewhere under ``sql/`` that persists (a summary kept for another reader of the store)
is refreshed by every check and by :func:`update_summaries`."""

from __future__ import annotations

import re
import time

import duckdb

from tracecode.faults import fault_point
from tracecode.rules.catalogue import list_stages
from tracecode.sqlfiles import (
    SqlFile,
    bind_params,
    check_identifier,
    list_sql,
    read_sql,
    sql_file,
    sql_folders,
    strip_semicolon,
)

__all__ = ["GUARD_HASH_DUCKDB", "SUMMARY_VERSION", "ensure_tables", "install_guard_hash", "other_kept_summaries",
           "refresh_summaries", "update_summaries"]

#: guard_hash(text): the engine's second 63-bit hash of a string (receipts, and codes next to
#: code_key). DuckDB's hash() is stable within a DuckDB version; the refresh records a probe
#: value and rebuilds rule_events when it changes.
GUARD_HASH_DUCKDB = "CREATE OR REPLACE TEMP MACRO guard_hash(x) AS CAST(hash(x) >> 1 AS BIGINT)"
_GUARD_PROBE_TEXT = "tracecode guard_hash probe"

#: Bump when the columns of the summary tables change: they are derived, so they are dropped
#: and rebuilt (the findings are kept).
SUMMARY_VERSION = "3"  # 3: doc_guard of a receipt-less record (bchno, else time)


def install_guard_hash(con: duckdb.DuckDBPyConnection) -> None:
    """Define the macro guard_hash() on ``con``."""
    con.execute(GUARD_HASH_DUCKDB)


def other_kept_summaries() -> list[SqlFile]:
    """The SQL files outside the rule stages that persist a summary (``-- persist:``)."""
    out = []
    for folder in sql_folders():
        if folder == "stages":
            continue
        for stem in list_sql(folder):
            f = sql_file(f"{folder}/{stem}.sql", re.sub(r"^\d+_", "", stem))
            if f.meta.get("persist"):
                out.append(f)
    return out


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the findings' and the summaries' tables if missing; drop the summaries first when
    they were made with another :data:`SUMMARY_VERSION`."""
    known = con.execute("SELECT value FROM meta WHERE key = 'rules_summary_version'").fetchall()
    if not known or known[0][0] != SUMMARY_VERSION:
        for stage in [s for s in list_stages() if s.meta.get("persist")] + other_kept_summaries():
            table = stage.meta["persist"]
            check_identifier(table)
            con.execute(f"DROP TABLE IF EXISTS main.{table}")
            con.execute(f"DROP TABLE IF EXISTS main.{table}_files")
    con.execute(read_sql("schema/findings.sql"))
    # a store checked before findings had an amount: the column is added (NULL until re-checked)
    con.execute("ALTER TABLE findings ADD COLUMN IF NOT EXISTS amount DOUBLE")
    con.execute(read_sql("schema/findings_views.sql"))
    if not known or known[0][0] != SUMMARY_VERSION:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('rules_summary_version', ?)", [SUMMARY_VERSION])


def update_summaries(con: duckdb.DuckDBPyConnection) -> None:
    """Bring every table kept across checks up to date with the files in the store. ``check``
    does it itself; calling it at the end of an ingest moves that cost (one pass over the new
    files' rows) from the first check to the ingest."""
    install_guard_hash(con)
    ensure_tables(con)
    refresh_summaries(con, [s for s in list_stages() if s.meta.get("persist")] + other_kept_summaries(), {})


def _has_file_id(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'file_id' AND NOT internal",
        [table]).fetchall()[0][0])


def refresh_summaries(con: duckdb.DuckDBPyConnection, stages: list[SqlFile], timings: dict[str, float]) -> None:
    """Bring the persistent tables of the ``persist`` stages up to date, in one transaction:
    drop the rows of files that are gone, run each stage over the files it has not seen (each
    file is read once, ever) and append its output. rule_events is rebuilt when guard_hash()
    no longer gives the values it was built with (another DuckDB version)."""
    if not stages:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        probe = str(con.execute("SELECT guard_hash(?)", [_GUARD_PROBE_TEXT]).fetchall()[0][0])
        known = con.execute("SELECT value FROM meta WHERE key = 'guard_hash_probe'").fetchall()
        if not known or known[0][0] != probe:
            con.execute("DELETE FROM rule_events")
            con.execute("DELETE FROM rule_events_files")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('guard_hash_probe', ?)", [probe])
        for stage in stages:
            start = time.perf_counter()
            table = stage.meta["persist"]
            check_identifier(table)
            gone, new = con.execute(
                f"SELECT (SELECT count(*) FROM {table}_files WHERE file_id NOT IN (SELECT file_id FROM files)), "
                f"(SELECT count(*) FROM files WHERE file_id NOT IN (SELECT file_id FROM {table}_files))").fetchall()[0]
            if gone:
                if _has_file_id(con, table):
                    con.execute(f"DELETE FROM {table} WHERE file_id NOT IN (SELECT file_id FROM files)")
                con.execute(f"DELETE FROM {table}_files WHERE file_id NOT IN (SELECT file_id FROM files)")
            if not new:
                continue
            # Straight into the table (no temporary copy): these are the big writes of a check.
            body = strip_semicolon(stage.sql)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM (\n{body}\n) new_rows_",
                        bind_params(stage.sql, {}))
            con.execute(f"INSERT INTO {table}_files SELECT file_id FROM files "
                        f"WHERE file_id NOT IN (SELECT file_id FROM {table}_files)")
            timings[stage.name] = time.perf_counter() - start
            fault_point("summaries.stage")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
