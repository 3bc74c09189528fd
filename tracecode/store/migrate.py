"""Code identity across versions: a store records how its codes were normalised (meta key
``code_version``). A store written before GS1 serials kept their letter case (version 1,
no key) is upgraded when opened for writing: every non-NHSA code is normalised again from
``code_raw`` in one transaction, ``code_index`` is rebuilt and the check's kept summaries and
findings are emptied (the next ``check`` recomputes them). Opened read-only, such a store is
refused with a message saying how to upgrade it."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from tracecode.codes.hashing_numpy import code_keys
from tracecode.codes.normalize_arrow import normalize_array, resolve_ambiguous
from tracecode.errors import DatabaseError
from tracecode.sqlfiles import read_sql

__all__ = ["CODE_VERSION", "code_version", "migrate_codes", "refuse_old_codes"]

#: 1: values upper-cased, GS-less GS1 strings read greedily. 2: docs/RULES.md "How a GS1 code is read".
CODE_VERSION = 2
_KEY = "code_version"


def code_version(con: duckdb.DuckDBPyConnection) -> int:
    """The store's code-normalisation version (1 for a store that predates the key, the
    current one for a store without events)."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [_KEY]).fetchall()
    if row:
        return int(row[0][0])
    has_events = con.execute("SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)").fetchall()[0][0]
    return 1 if has_events else CODE_VERSION


def _derived_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The check's findings and kept summaries (sql/schema/findings.sql) present in the store,
    but not check_runs (the log of what was asked)."""
    declared = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", read_sql("schema/findings.sql"))
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return [t for t in declared if t in present and t != "check_runs"]


def migrate_codes(con: duckdb.DuckDBPyConnection) -> int:
    """Re-normalise the stored codes of an older store in one transaction; returns the
    number of distinct raw codes read again (0 when the store is current)."""
    version = code_version(con)
    if version > CODE_VERSION:
        raise DatabaseError(f"this database was written by a newer tracecode (code version {version})",
                            hint="upgrade tracecode")
    if version == CODE_VERSION:
        con.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", [_KEY, str(CODE_VERSION)])
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        raws = con.sql(
            "SELECT DISTINCT code_raw FROM events WHERE code_scheme IS DISTINCT FROM 'nhsa20'").to_arrow_table()
        raw = raws.column("code_raw").combine_chunks() if raws.num_rows else pa.array([], pa.string())
        # the whole store is the batch: a GS-less string settles on a pack seen anywhere in it
        normal = resolve_ambiguous(normalize_array(raw))
        renorm = pa.table({
            "code_raw": raw, "code": normal.column("code"), "status": normal.column("status"),
            "scheme": normal.column("scheme"), "reason": normal.column("reason"),
            "product_id": normal.column("product_id"), "code_key": code_keys(normal.column("code")),
        })
        con.register("renorm", renorm)
        try:
            con.execute("""UPDATE events SET drug_trac_codg = r.code, code_status = r.status, code_scheme = r.scheme,
                                  invalid_reason = r.reason, product_id = r.product_id, code_key = r.code_key
                           FROM renorm r
                           WHERE events.code_raw = r.code_raw AND events.code_scheme IS DISTINCT FROM 'nhsa20'""")
        finally:
            con.unregister("renorm")
        con.execute("DELETE FROM code_index")
        con.execute("""INSERT INTO code_index SELECT code_key, event_id FROM events
                       WHERE file_id <= (SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta
                                         WHERE key = 'indexed_file_id')
                       ORDER BY code_key""")
        for table in _derived_tables(con):
            con.execute(f'DELETE FROM "{table}"')
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_KEY, str(CODE_VERSION)])
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    return len(raw)


def refuse_old_codes(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """For a read-only open: refuse a store whose codes were normalised the old way."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"meta", "events"} <= tables:
        return
    if code_version(con) < CODE_VERSION:
        raise DatabaseError(f"database {path} was written by an earlier tracecode: its codes must be normalised again",
                            hint=f"run `tracecode check --db {path}` once: it upgrades the database in place")
    if code_version(con) > CODE_VERSION:
        raise DatabaseError(f"database {path} was written by a newer tracecode", hint="upgrade tracecode")

