"""The DuckDB engine of the rule runner: the pipeline's relations as temporary tables of a
DuckDB connection, the summaries kept in the store, and the writes of a check's findings."""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Iterable

import duckdb

from tracecode.errors import RuleError, UnknownMonth
from tracecode.faults import fault_point
from tracecode.rules.catalogue import list_rules
from tracecode.rules.summaries import (
    ensure_tables,
    install_guard_hash,
    other_kept_summaries,
    refresh_summaries,
)
from tracecode.sqlfiles import (
    SqlFile,
    bind_params,
    check_identifier,
    read_sql,
    strip_semicolon,
)

__all__ = ["DuckDBEngine", "evidence_stamp", "stand_in_finding_evidence"]


class DuckDBEngine:
    """Runs the pipeline's SQL on a DuckDB connection, each relation a temporary table."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.temp_tables: list[str] = []
        install_guard_hash(con)
        if _read_only(con) and stand_in_finding_evidence(con):  # people, rings, report on an older store
            self.temp_tables.append("finding_evidence")

    def require_month(self, month: str) -> None:
        """UnknownMonth unless the store holds events in ``month``."""
        con = self.con
        present = con.execute("SELECT count(*) FROM (SELECT 1 FROM events WHERE month = ? LIMIT 1)",
                              [month]).fetchall()
        if present[0][0] == 0:
            months = [r[0] for r in con.execute(
                "SELECT DISTINCT month FROM events WHERE month <> '' ORDER BY month").fetchall()]
            if not months:
                held = "it holds no events yet"
            elif len(months) == 1:
                held = f"it holds {months[0]} only"
            else:
                held = f"it holds {months[0]} … {months[-1]}"
            raise UnknownMonth(f"the database has no events in {month}; {held}",
                               hint="ingest that month's uploads first, or pick a month `tracecode status` lists")

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """Run a SELECT into the temporary table ``name``; return its row count."""
        check_identifier(name)
        body = strip_semicolon(sql)
        result = self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {body}', bind_params(sql, params))
        self._made(name)
        return int(result.fetchall()[0][0])

    def define(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """A rule's relation: materialised here (its row count is the rule's count)."""
        return self.materialize(name, sql, params, where)

    def register_columns(self, name: str, columns: list[tuple[str, str, list]]) -> None:
        """Make the temporary table ``name`` from Python lists, one per (column, DuckDB type,
        values) (no pyarrow: a check imports none)."""
        check_identifier(name)
        for column, kind, _ in columns:
            check_identifier(column)
            if not re.fullmatch(r"[A-Z]+", kind):
                raise RuleError(f"{kind!r} is not a column type")
        select = ", ".join(f"CAST(unnest(CAST($c{i} AS {kind}[])) AS {kind}) AS {column}"
                           for i, (column, kind, _) in enumerate(columns))
        self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {select}',
                         {f"c{i}": list(values) for i, (_, _, values) in enumerate(columns)})
        self._made(name)

    def keep_summaries(self, stages: list[SqlFile], timings: dict[str, float], counts: dict[str, int]) -> None:
        """Bring the store's kept summaries up to date: the tables of the plan's ``persist``
        stages, and the summaries kept for the store's other readers."""
        ensure_tables(self.con)
        refresh_summaries(self.con, stages + other_kept_summaries(), timings)

    def fetch(self, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> list[tuple]:
        """The rows of a SELECT."""
        return self.con.execute(strip_semicolon(sql), bind_params(sql, params)).fetchall()

    def drop_temp_tables(self, keep: Iterable[str] = ()) -> None:
        """Drop the temporary tables made so far, but those named in ``keep``."""
        kept = [name for name in self.temp_tables if name in set(keep)]
        for name in reversed(self.temp_tables):
            if name in kept:
                continue
            try:
                self.con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
            except duckdb.Error:
                pass
        self.temp_tables = kept

    def _made(self, name: str) -> None:
        if name not in self.temp_tables:
            self.temp_tables.append(name)

    # -- the store's writes (DuckDB only: a Spark check writes files instead) -------------

    def store_findings(self, scope: str, rule_ids: list[str], summary: list, params: dict[str, Any],
                       catalog: str | None, timings: dict[str, float], counts: dict[str, int],
                       on_store: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
        """Replace the scope's findings of ``rule_ids`` (relations new_findings, finding_rows)
        and their evidence rows, in one transaction; ``summary`` (RuleSummary lines) goes to
        check_runs; ``on_store`` (e.g. taking the findings into cases) runs inside it. The stages' temporary tables are dropped first: their memory goes to the
        evidence (big at scale)."""
        self.drop_temp_tables(keep=("finding_rows", "new_findings", "withdrawn"))
        t0 = time.perf_counter()
        current = self._evidence_current(scope, rule_ids)
        if not current:
            counts["evidence_new"] = self.materialize("evidence_new", read_sql("findings/evidence_new.sql"), params)
        timings["evidence"] = time.perf_counter() - t0
        fault_point("check.evidence")
        t0 = time.perf_counter()
        self._write(scope, rule_ids, summary, params, catalog, not current, on_store)
        timings["store"] = time.perf_counter() - t0

    def _write(self, scope: str, rule_ids: list[str], summary: list, params: dict[str, Any], catalog: str | None,
               store_evidence: bool, on_store: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
        con = self.con
        marks = ", ".join("?" for _ in rule_ids)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM findings WHERE month = ? AND rule IN ({marks})", [scope, *rule_ids])
            con.execute(f"DELETE FROM finding_events WHERE month = ? AND rule IN ({marks})", [scope, *rule_ids])
            con.execute("INSERT INTO findings SELECT * FROM new_findings")
            con.execute("INSERT INTO finding_events SELECT ?, rule, code_key, drug_trac_codg, event_id, flagged "
                        "FROM finding_rows", [scope])
            con.execute("DELETE FROM withdrawn_events")
            con.execute("INSERT INTO withdrawn_events SELECT event_id FROM withdrawn")
            if store_evidence:
                self._store_evidence(scope)
            for row in summary:
                con.execute("INSERT INTO check_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [scope, row.rule, params["close_days"], catalog, row.codes, row.rows, row.pharmacies,
                             params["checked_at"]])
            if on_store is not None:
                on_store(con)
            fault_point("check.commit")
            con.execute("COMMIT")
            fault_point("check.committed")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _evidence_current(self, scope: str, rule_ids: list[str]) -> bool:
        """Whether the scope's finding_evidence already holds, in order, every row the check is
        about to store (finding_rows for ``rule_ids``, the scope's finding_events for the other
        rules): then check neither reads events nor rewrites it (a check run again on the same
        data writes no evidence)."""
        con = self.con
        stored = con.execute("SELECT value FROM meta WHERE key = ?", [f"evidence:{scope}"]).fetchall()
        if not stored:
            return False
        new = con.execute(
            "SELECT count(*) || ':' || coalesce(sum(hash(rule, code_key, drug_trac_codg, event_id, flagged)), 0) FROM ("
            "SELECT rule, code_key, drug_trac_codg, event_id, flagged FROM finding_events "
            "WHERE month = $scope AND rule NOT IN (SELECT unnest($rules)) "
            "UNION ALL SELECT rule, code_key, drug_trac_codg, event_id, flagged FROM finding_rows)",
            {"scope": scope, "rules": rule_ids}).fetchall()[0][0]
        if stored[0][0] != ",".join(r.id for r in list_rules()) + "|" + new:
            return False
        have = con.execute("SELECT count(*) FROM finding_evidence WHERE month = $scope",
                           {"scope": scope}).fetchall()[0][0]
        return have == int(new.split(":")[0])

    def _store_evidence(self, scope: str) -> None:
        """Rewrite the scope's finding_evidence (every rule's rows, in export order) and its stamp.
        Rows go in sorted, with insertion order preserved: a scan of the scope then reads them in
        that order (docs: order preservation), and the export writes them without sorting."""
        con = self.con
        order = [r.id for r in list_rules()]
        params = {"scope": scope, "rules": order}
        keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        con.execute("SET preserve_insertion_order = true")
        try:
            sql = read_sql("findings/finding_evidence.sql")
            if con.execute("SELECT count(*) FROM (SELECT 1 FROM finding_evidence WHERE month = $scope LIMIT 1)",
                           {"scope": scope}).fetchall()[0][0]:
                # it reads the scope's stored rows (other rules' events): made aside, then swapped in
                self.materialize("scope_evidence", sql, params)
                con.execute("DELETE FROM finding_evidence WHERE month = $scope", {"scope": scope})
                con.execute("INSERT INTO finding_evidence SELECT * FROM scope_evidence")
            else:
                con.execute(f"INSERT INTO finding_evidence {strip_semicolon(sql)}", bind_params(sql, params))
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [f"evidence:{scope}", evidence_stamp(con, scope, order)])


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return bool(rows and rows[0][0])


def stand_in_finding_evidence(con: duckdb.DuckDBPyConnection) -> bool:
    """Give a store last checked before check stored finding_evidence an empty temporary one,
    so that the SQL reading it (export, people, rings: stored rows, else events) runs; every
    evidence row is then read from events, as before. Returns whether it made one (the caller
    drops ``temp.main.finding_evidence`` when done). Never on a store check writes to: the
    next check creates the real table."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'finding_evidence' "
                   "AND schema_name = 'main'").fetchall()[0][0]:
        return False
    found = re.search(r"CREATE TABLE IF NOT EXISTS finding_evidence (\(.*?\));", read_sql("schema/findings.sql"),
                      re.S)
    con.execute(f"CREATE TEMP TABLE finding_evidence {found.group(1)}")
    return True


#: What a scope's finding_evidence rows were stored for: the rule order they are sorted by and
#: the count and a checksum of the scope's finding_events (export checks it still holds).
EVIDENCE_STAMP_SQL = """SELECT count(*) || ':' || coalesce(sum(hash(rule, code_key, drug_trac_codg, event_id, flagged)), 0)
FROM finding_events WHERE month = $scope"""


def evidence_stamp(con: duckdb.DuckDBPyConnection, scope: str, rule_order: list[str]) -> str:
    """The stamp of the scope's finding_evidence rows (see :data:`EVIDENCE_STAMP_SQL`)."""
    return ",".join(rule_order) + "|" + str(con.execute(EVIDENCE_STAMP_SQL, {"scope": scope}).fetchall()[0][0])
