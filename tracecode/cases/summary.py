"""The per-month case figures (cases_summary.csv in export, a section of the report)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from tracecode.sqlfiles import bind_params, read_sql

__all__ = ["SUMMARY_COLUMNS", "cases_summary"]

SUMMARY_COLUMNS = ["month", "rule", "fixmedins_code", "new_cases", "reopened", "open_cases", "closed_cases",
                   "amount_at_stake", "recovered", "open_age_days_max", "open_age_days_avg", "rule_precision",
                   "rule_decided_cases"]


def cases_summary(con: duckdb.DuckDBPyConnection, month: str | None = None,
                  today: dt.date | None = None) -> list[tuple[Any, ...]] | None:
    """The rows of cases_summary (columns SUMMARY_COLUMNS), of one month or every month; None
    when the store has no cases table (never checked since cases came)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'cases' AND schema_name = 'main'"
                       ).fetchall()[0][0]:
        return None
    sql = read_sql("cases/cases_summary.sql")
    rows = con.execute(sql, bind_params(sql, {"today": today or dt.date.today()})).fetchall()
    return [r for r in rows if month in (None, "all") or r[0] == month]
