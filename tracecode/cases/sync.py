"""Take a check's findings into cases: open new ones, add new flagged rows, reopen closed ones.

Runs inside the transaction that stores the findings (``run_checks(..., on_store=sync_cases)``),
so the findings and the cases never disagree. Cases only grow: re-running a month adds no row a
case already has, and no decision is touched unless new flagged rows arrive.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from tracecode.rules.catalogue import list_rules
from tracecode.sqlfiles import bind_params, read_sql, strip_semicolon

__all__ = ["case_prefix", "ensure_cases_schema", "sync_cases"]


def ensure_cases_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables cases, case_rows and case_events when missing."""
    con.execute(read_sql("schema/cases.sql"))


def case_prefix(rule: str) -> str:
    """The rule's initials in a case id: cross_pharmacy_reuse -> CPR."""
    return "".join(part[:1] for part in rule.split("_") if part).upper() or "X"


def _register_prefixes(con: duckdb.DuckDBPyConnection, rules: list[str]) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE case_prefix (rule VARCHAR, prefix VARCHAR)")
    con.executemany("INSERT INTO case_prefix VALUES (?, ?)", [[r, case_prefix(r)] for r in rules])


def _run(con: duckdb.DuckDBPyConnection, path: str, params: dict[str, Any], into: str = "") -> None:
    sql = read_sql(path)
    con.execute(f"{into} {strip_semicolon(sql)}", bind_params(sql, params))


def sync_cases(con: duckdb.DuckDBPyConnection, scope: str, checked_at: dt.datetime) -> dict[str, int]:
    """Take the flagged rows of the temporary relation ``finding_rows`` (rule, drug_trac_codg,
    event_id, month, fixmedins_code, sel_retn_time, flagged) into cases. Returns counts:
    opened, reopened, updated (cases that took new rows), rows (new flagged rows)."""
    ensure_cases_schema(con)
    rules = sorted({r.id for r in list_rules()} | {r[0] for r in con.execute(
        "SELECT DISTINCT rule FROM finding_rows").fetchall()})
    _register_prefixes(con, rules)
    params = {"scope": scope, "checked_at": checked_at, "today": checked_at.date()}
    _run(con, "cases/case_new_rows.sql", params, "CREATE OR REPLACE TEMP TABLE case_new_rows AS")
    rows = con.execute("SELECT count(*) FROM case_new_rows").fetchall()[0][0]
    counts = {"opened": 0, "reopened": 0, "updated": 0, "rows": rows}
    if not rows:
        return counts
    con.execute("CREATE OR REPLACE TEMP TABLE case_touched AS "
                "SELECT case_id, count(*) AS n, min(month) AS lo, max(month) AS hi FROM case_new_rows GROUP BY case_id")
    counts["updated"] = con.execute("SELECT count(*) FROM case_touched").fetchall()[0][0]
    _run(con, "cases/cases_open_new.sql", params, "CREATE OR REPLACE TEMP TABLE case_opened AS")
    counts["opened"] = con.execute("SELECT count(*) FROM case_opened").fetchall()[0][0]
    con.execute("INSERT INTO cases SELECT * FROM case_opened")
    con.execute(
        "INSERT INTO case_events SELECT c.case_id, $at, nextval('case_event_seq'), 'check', $scope, NULL, 'new', "
        "'新发现', t.n || ' 行被标记（' || t.lo || CASE WHEN t.hi <> t.lo THEN ' 至 ' || t.hi ELSE '' END || '）' "
        "FROM case_opened c JOIN case_touched t ON t.case_id = c.case_id",
        {"at": checked_at, "scope": scope})
    # A closed case with new rows reopens, unless a dismissal's --until has not passed yet.
    reopen = ("SELECT c.case_id, c.status, t.n, t.lo, t.hi FROM cases c JOIN case_touched t ON t.case_id = c.case_id "
              "WHERE c.status IN ('confirmed', 'dismissed') AND (c.until IS NULL OR c.until < $today)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE case_reopened AS {reopen}", {"today": checked_at.date()})
    counts["reopened"] = con.execute("SELECT count(*) FROM case_reopened").fetchall()[0][0]
    con.execute(
        "INSERT INTO case_events SELECT case_id, $at, nextval('case_event_seq'), 'check', $scope, status, 'reviewing', "
        "'决定后出现新的标记行', n || ' 行新标记（' || lo || CASE WHEN hi <> lo THEN ' 至 ' || hi ELSE '' END || '），重新核查' "
        "FROM case_reopened", {"at": checked_at, "scope": scope})
    con.execute(
        "INSERT INTO case_events SELECT c.case_id, $at, nextval('case_event_seq'), 'check', $scope, 'dismissed', "
        "'dismissed', '排除期内的新标记行', t.n || ' 行新标记，排除至 ' || c.until || '，暂不重开' "
        "FROM cases c JOIN case_touched t ON t.case_id = c.case_id "
        "WHERE c.status = 'dismissed' AND c.until >= $today",
        {"at": checked_at, "scope": scope, "today": checked_at.date()})
    con.execute("UPDATE cases SET status = 'reviewing' WHERE case_id IN (SELECT case_id FROM case_reopened)")
    con.execute("INSERT INTO case_rows SELECT case_id, event_id, month, fixmedins_code, sel_retn_time, amount, $at, $scope "
                "FROM case_new_rows", {"at": checked_at, "scope": scope})
    _run(con, "cases/cases_refresh.sql", params, "CREATE OR REPLACE TEMP TABLE case_figures AS")
    con.execute(
        "UPDATE cases SET first_seen = f.first_seen, last_seen = f.last_seen, flagged_rows = f.flagged_rows, "
        "pharmacies = f.pharmacies, pharmacy_list = f.pharmacy_list, amount = f.amount, last_month = f.last_month, "
        "fingerprint = f.fingerprint, version = cases.version + 1, updated_at = $at "
        "FROM case_figures f WHERE f.case_id = cases.case_id", {"at": checked_at})
    for name in ("case_new_rows", "case_touched", "case_opened", "case_reopened", "case_figures", "case_prefix"):
        con.execute(f"DROP TABLE IF EXISTS temp.main.{name}")
    return counts
