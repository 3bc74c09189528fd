"""Read and decide cases: list, show (case, evidence, history), set a status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from tracecode.cases.statuses import CaseError, DecisionError, check_decision
from tracecode.cases.sync import ensure_cases_schema
from tracecode.faults import fault_point
from tracecode.months import check_month_text

__all__ = ["LIST_COLUMNS", "Decision", "apply_decisions", "case_history", "get_case", "list_cases"]

#: The columns of `cases list` (csv/json) and of the workbook's facts, in order.
LIST_COLUMNS = ["case_id", "rule", "drug_trac_codg", "status", "status_zh", "first_seen", "last_seen",
                "flagged_rows", "pharmacies", "pharmacy_list", "amount", "recovered", "reason", "until",
                "opened_month", "last_month", "version", "updated_at"]


def _has_cases(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'cases' AND schema_name = 'main'"
                            ).fetchall()[0][0])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


_SELECT = ("SELECT case_id, rule, drug_trac_codg, status, CASE status WHEN 'new' THEN '新发现' WHEN 'reviewing' "
           "THEN '核查中' WHEN 'appealed' THEN '申诉中' WHEN 'confirmed' THEN '确认违规' ELSE '已排除' END AS status_zh, "
           "first_seen, last_seen, flagged_rows, pharmacies, pharmacy_list, amount, recovered, reason, until, "
           "opened_month, last_month, version, updated_at FROM cases c")


def list_cases(con: duckdb.DuckDBPyConnection, *, status: str | None = None, rule: str | None = None,
               pharmacy: str | None = None, month: str | None = None) -> list[dict[str, Any]]:
    """The cases, filtered: status, rule, a pharmacy among its rows, a month with one of its rows."""
    if not _has_cases(con):
        return []
    if month is not None:
        month = check_month_text(month)
    where = ["($status IS NULL OR c.status = $status)", "($rule IS NULL OR c.rule = $rule)",
             "($pharmacy IS NULL OR EXISTS (SELECT 1 FROM case_rows r WHERE r.case_id = c.case_id "
             "AND r.fixmedins_code = $pharmacy))",
             "($month IS NULL OR EXISTS (SELECT 1 FROM case_rows r WHERE r.case_id = c.case_id AND r.month = $month))"]
    return _rows(con, f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.rule, c.drug_trac_codg, c.case_id",
                 {"status": status, "rule": rule, "pharmacy": pharmacy, "month": month})


def get_case(con: duckdb.DuckDBPyConnection, case_id: str) -> dict[str, Any] | None:
    """One case by id, or None."""
    if not _has_cases(con):
        return None
    rows = _rows(con, f"{_SELECT} WHERE c.case_id = $id", {"id": case_id})
    return rows[0] if rows else None


def case_history(con: duckdb.DuckDBPyConnection, case_id: str) -> list[dict[str, Any]]:
    """Every change of a case, oldest first."""
    return _rows(con, 'SELECT "at", "by", month, from_status, to_status, reason, detail FROM case_events '
                      "WHERE case_id = $id ORDER BY seq", {"id": case_id})


def case_evidence(con: duckdb.DuckDBPyConnection, case_id: str) -> list[dict[str, Any]]:
    """The case's flagged rows with their event's columns (psn_no raw: the caller masks)."""
    return _rows(con, "SELECT r.month, r.fixmedins_code, e.fixmedins_name, r.sel_retn_time, e.rtal_docno, "
                      "e.code_raw, e.med_list_codg, e.qty, e.price, r.amount, e.psn_no, f.name AS source_file, "
                      "e.src_line, r.added_month FROM case_rows r LEFT JOIN events e ON e.event_id = r.event_id "
                      "LEFT JOIN files f ON f.file_id = e.file_id WHERE r.case_id = $id "
                      "ORDER BY r.sel_retn_time, r.event_id", {"id": case_id})


@dataclass
class Decision:
    """One decision to apply: where it came from (for messages), and what it sets."""

    case_id: str
    status: str
    reason: str | None = None
    recovered: str | float | None = None
    until: str | dt.date | None = None
    note: str | None = None
    version: int | None = None  # the case's version when exported (None: not checked)
    where: str = ""  # e.g. 'cases.xlsx line 5'


@dataclass
class Problem:
    """Why one decision cannot be applied (``where`` and ``reason`` in English, as errors are)."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


def apply_decisions(con: duckdb.DuckDBPyConnection, decisions: list[Decision], by: str) -> list[Problem]:
    """Apply every decision in one transaction, or none: returns the problems (empty when applied)."""
    by = (by or "").strip()
    if not by:
        raise CaseError("--by is empty: name who decides")
    ensure_cases_schema(con)
    now = dt.datetime.now().replace(microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        problems: list[Problem] = []
        planned = []
        for d in decisions:
            case = get_case(con, d.case_id)
            if case is None:
                problems.append(Problem(d.where, "case_id", f"no such case: {d.case_id}"))
                continue
            if d.version is not None and int(d.version) != case["version"]:
                problems.append(Problem(d.where, "version", _changed(con, d.case_id, int(d.version), case)))
                continue
            try:
                reason, recovered, until = check_decision(case["status"], d.status, d.reason, d.recovered, d.until)
            except DecisionError as exc:
                problems.append(Problem(d.where, exc.field, str(exc)))
                continue
            planned.append((d, case, reason, recovered, until))
        seen = [d.case_id for d in decisions]
        for cid in sorted({c for c in seen if seen.count(c) > 1}):
            problems.append(Problem(cid, "case_id", "the same case appears more than once in one import"))
        if problems:
            con.execute("ROLLBACK")
            return problems
        for d, case, reason, recovered, until in planned:
            closing = d.status in ("confirmed", "dismissed")
            con.execute(
                "UPDATE cases SET status = $status, reason = $reason, "
                "recovered = CASE WHEN $status = 'confirmed' THEN coalesce($recovered, recovered) ELSE recovered END, "
                "until = CASE WHEN $status = 'dismissed' THEN $until ELSE NULL END, "
                "decided_at = CASE WHEN $closing THEN $now ELSE decided_at END, "
                "version = version + 1, updated_at = $now WHERE case_id = $id",
                {"status": d.status, "reason": reason, "recovered": recovered, "until": until, "closing": closing,
                 "now": now, "id": d.case_id})
            detail = "; ".join(x for x in [
                f"追回 {recovered:g} 元" if recovered is not None else "",
                f"排除至 {until}" if until is not None else "",
                (d.note or "").strip(), d.where if d.where != d.case_id else ""] if x)
            con.execute("INSERT INTO case_events VALUES ($id, $now, nextval('case_event_seq'), $by, NULL, $from, $to, "
                        "$reason, $detail)", {"id": d.case_id, "now": now, "by": by, "from": case["status"],
                                              "to": d.status, "reason": reason, "detail": detail or None})
            fault_point("cases.decision")
        fault_point("cases.commit")
        con.execute("COMMIT")
        return []
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _changed(con: duckdb.DuckDBPyConnection, case_id: str, version: int, case: dict[str, Any]) -> str:
    last = con.execute('SELECT "at", "by", from_status, to_status, detail FROM case_events WHERE case_id = $id '
                       "ORDER BY seq DESC LIMIT 1", {"id": case_id}).fetchall()
    what = ""
    if last:
        at, by, frm, to, detail = last[0]
        what = f"; last change: {at} {by} {frm or '-'} → {to}" + (f" ({detail})" if detail else "")
    return (f"the case changed after the export (version {version} when exported, now {case['version']}, "
            f"status {case['status']}, flagged rows {case['flagged_rows']}{what}): export again")
