"""Take the findings of a Spark check (a folder with suspicious_events.csv) into the cases of a
DuckDB store: the hand-over docs/SPARK.md describes (`tracecode cases sync`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from tracecode.cases.statuses import CaseError
from tracecode.cases.sync import ensure_cases_schema, sync_cases
from tracecode.months import check_month_text
from tracecode.sqlfiles import check_identifier, read_sql

__all__ = ["NEEDED_COLUMNS", "sync_from_folder"]

NEEDED_COLUMNS = ("rule", "drug_trac_codg", "flagged", "fixmedins_code", "sel_retn_time", "source_file", "src_line")


def sync_from_folder(con: duckdb.DuckDBPyConnection, folder: Path, month: str | None = None) -> dict[str, int]:
    """Take ``folder``/suspicious_events.csv (NHSA headers, as `check --engine spark --out`
    writes it) into cases, as check does, in one transaction. ``month``: the month the Spark
    check was run for (None: all)."""
    path = Path(folder) / "suspicious_events.csv"
    if not path.is_file():
        raise CaseError(f"{path}: no such file", hint="--findings names the --out folder of `check --engine spark`")
    scope = check_month_text(month) if month else "all"
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE spark_events AS SELECT * FROM read_csv($path, all_varchar = true, "
                    "header = true)", {"path": str(path)})
    except duckdb.Error as exc:
        raise CaseError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE spark_events)").fetchall()}
    missing = [c for c in NEEDED_COLUMNS if c not in have]
    if missing:
        raise CaseError(f"{path}: line 1 lacks the column(s) {', '.join(missing)}", hint="export with --headers nhsa")
    for column in NEEDED_COLUMNS:  # tracecode's CSVs lead code and id cells with one tab (README)
        check_identifier(column)
        con.execute(f'UPDATE spark_events SET "{column}" = substr("{column}", 2) '
                    f'WHERE starts_with("{column}", chr(9))')
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE finding_rows AS {read_sql('cases/spark_finding_rows.sql')}")
    except duckdb.ConversionException as exc:
        raise CaseError(f"{path}: sel_retn_time is not a time: {str(exc).splitlines()[0]}") from None
    ensure_cases_schema(con)
    con.execute("BEGIN TRANSACTION")
    try:
        counts = sync_cases(con, scope, dt.datetime.now().replace(microsecond=0))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main.spark_events")
        con.execute("DROP TABLE IF EXISTS temp.main.finding_rows")
    return counts
