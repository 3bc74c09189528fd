"""Run the detection rules and store their findings.

The rules are SQL files (``sql/rules/<rule>.sql``), each one plain SELECT returning the rows it
flags (``code_key, drug_trac_codg, event_id, detail``), with its metadata in header comments::

    -- rule: same_pharmacy_repeat
    -- severity: high
    -- label_zh: 同店重复销售
    -- needs: sales
    -- meaning: ...

They read intermediate relations built by the stages (``sql/stages/NN_<name>.sql``, also plain
SELECTs), which the runner materialises one by one as temporary tables named after the file.
Values are bound parameters (``$month_lo``, ``$month_hi``, ``$close_days``), never formatted
into the SQL. Everything engine-specific sits in :class:`DuckDBEngine`; a Spark engine only
needs the same four methods (``spark.sql(sql).createOrReplaceTempView(name)``).

The semantics are in docs/RULES.md. Usage::

    con = open_store("city.duckdb")
    result = run_checks(con, month="2026-10", catalog=Path("catalog.csv"))
    for row in result.rules:
        print(row.rule, row.codes, row.rows, row.pharmacies)
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import duckdb

from tracecode.inputs.catalog import CATALOG_COLUMNS, catalog_schema, load_catalog, read_catalog
from tracecode.errors import RuleError, UnknownMonth
from tracecode.sqlfiles import list_sql, read_sql

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = [
    "RULE_IDS",
    "SEVERITIES",
    "CheckResult",
    "DuckDBEngine",
    "RuleInfo",
    "RuleSummary",
    "SqlFile",
    "list_rules",
    "list_stages",
    "load_catalog",
    "run_checks",
    "update_summaries",
]

def __getattr__(name: str):
    """CATALOG_SCHEMA (re-exported from :mod:`tracecode.inputs.catalog`), built when first asked for."""
    if name == "CATALOG_SCHEMA":
        return catalog_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Every rule, in the order summaries list them.
RULE_IDS: tuple[str, ...] = (
    "duplicate_upload",
    "return_without_sale",
    "same_pharmacy_repeat",
    "cross_pharmacy_reuse",
    "recycled_resale",
    "split_overuse",
    "invalid_code",
    "product_mismatch",
)

SEVERITIES: tuple[str, ...] = ("low", "medium", "high")

#: The month scope label of a check over everything.
ALL_MONTHS = "all"
_LOWEST_MONTH, _HIGHEST_MONTH = "0000-00", "9999-99"
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

#: Relations that are tables of the store or prepared by the runner, not stages.
_BASE_RELATIONS = frozenset({"events", "files", "drug_catalog", "product_counts", "product_counts_files",
                             "rule_events", "rule_events_files", "rule_dict", "rule_dict_files",
                             "repeat_rows", "repeat_rows_files"})

#: guard_hash(text): the engine's second 63-bit hash of a string (receipts, and codes next to
#: code_key). DuckDB's hash() is stable within a DuckDB version; the runner records a probe
#: value and rebuilds rule_events when it changes.
GUARD_HASH_DUCKDB = "CREATE OR REPLACE TEMP MACRO guard_hash(x) AS CAST(hash(x) >> 1 AS BIGINT)"
_GUARD_PROBE_TEXT = "tracecode guard_hash probe"


# ---------------------------------------------------------------------------
# SQL files and their headers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlFile:
    """One SQL file: its text, its header fields and the ``$parameters`` it uses."""

    name: str  # relation name: the rule id, or the stage file name without its NN_ prefix
    path: str  # inside the sql package, e.g. "rules/duplicate_upload.sql"
    sql: str
    meta: dict[str, str]
    params: frozenset[str]

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.meta.get("needs", "").split(",") if n.strip())


@dataclass(frozen=True)
class RuleInfo:
    """A rule's metadata, from its SQL file's header."""

    id: str
    severity: str
    label_zh: str
    meaning: str
    evidence: str  # 'code': all rows of the code; 'flagged': the flagged rows only
    path: str


_HEADER_RE = re.compile(r"^--\s*([a-z_]+):\s?(.*)$")


def parse_header(sql: str) -> dict[str, str]:
    """Read ``-- key: value`` lines at the top of a SQL file (indented ``--`` lines continue
    the previous value)."""
    meta: dict[str, str] = {}
    last = None
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = _HEADER_RE.match(stripped)
        if match:
            last = match.group(1)
            meta[last] = match.group(2).strip()
        elif last is not None:
            meta[last] = (meta[last] + " " + stripped[2:].strip()).strip()
    return meta


def sql_params(sql: str) -> frozenset[str]:
    """The ``$name`` parameters of a SQL text, ignoring comments and string literals."""
    names = set()
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "$":
            match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql[i:])
            if match:
                names.add(match.group(1))
                i += len(match.group(0))
            else:
                i += 1
        else:
            i += 1
    return frozenset(names)


def _sql_file(path: str, name: str) -> SqlFile:
    text = read_sql(path)
    return SqlFile(name=name, path=path, sql=text, meta=parse_header(text), params=sql_params(text))


def list_stages() -> list[SqlFile]:
    """The stages, in the order they run (their file names start with a number)."""
    out = []
    for stem in list_sql("stages"):
        name = re.sub(r"^\d+_", "", stem)
        out.append(_sql_file(f"stages/{stem}.sql", name))
    return out


def _export_stages() -> list[SqlFile]:
    """Summaries the store keeps for the export (not rule stages: the Spark engine never runs
    them), refreshed with the rules' own: pharmacy_rows."""
    return [_sql_file("export/pharmacy_rows_new.sql", "pharmacy_rows_new")]


def _rule_files() -> dict[str, SqlFile]:
    return {stem: _sql_file(f"rules/{stem}.sql", stem) for stem in list_sql("rules")}


def list_rules() -> list[RuleInfo]:
    """Every rule with its metadata, in the canonical order (see :data:`RULE_IDS`)."""
    files = _rule_files()
    order = [r for r in RULE_IDS if r in files] + sorted(set(files) - set(RULE_IDS))
    out = []
    for rule_id in order:
        f = files[rule_id]
        meta = f.meta
        if meta.get("rule") != rule_id:
            raise RuleError(f"sql/{f.path}: header says rule {meta.get('rule')!r}, expected {rule_id!r}")
        severity = meta.get("severity", "")
        if severity not in SEVERITIES:
            raise RuleError(f"sql/{f.path}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        if not meta.get("label_zh"):
            raise RuleError(f"sql/{f.path}: the header has no label_zh")
        evidence = meta.get("evidence", "code")
        if evidence not in ("code", "flagged"):
            raise RuleError(f"sql/{f.path}: evidence must be 'code' or 'flagged', not {evidence!r}")
        out.append(RuleInfo(rule_id, severity, meta["label_zh"], meta.get("meaning", ""), evidence, f.path))
    return out


# ---------------------------------------------------------------------------
# The engine adapter
# ---------------------------------------------------------------------------


class DuckDBEngine:
    """Runs the pipeline's SQL on a DuckDB connection. A Spark engine offers the same methods:
    ``materialize`` = ``spark.sql(sql).createOrReplaceTempView(name)`` after translating the
    text (sqlglot, duckdb → spark) and binding the parameters."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.temp_tables: list[str] = []
        con.execute(GUARD_HASH_DUCKDB)
        if _read_only(con) and stand_in_finding_evidence(con):  # people, rings, report on an older store
            self.temp_tables.append("finding_evidence")

    @staticmethod
    def _bind(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
        used = sql_params(sql)
        missing = used - set(params or {})
        if missing:
            raise RuleError(f"no value for SQL parameter(s) {', '.join(sorted('$' + m for m in missing))}")
        return {k: v for k, v in (params or {}).items() if k in used}

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None) -> int:
        """Run a SELECT into the temporary table ``name``; return its row count."""
        _check_identifier(name)
        body = _strip_trailing_semicolon(sql)
        result = self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {body}', self._bind(sql, params))
        if name not in self.temp_tables:
            self.temp_tables.append(name)
        return int(result.fetchall()[0][0])

    def register(self, name: str, table: "pa.Table") -> None:
        """Make an Arrow table available as the temporary table ``name``."""
        _check_identifier(name)
        self.con.register("__tracecode_arrow", table)
        try:
            self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM __tracecode_arrow')
        finally:
            self.con.unregister("__tracecode_arrow")
        if name not in self.temp_tables:
            self.temp_tables.append(name)

    def register_columns(self, name: str, columns: list[tuple[str, str, list]]) -> None:
        """Make the temporary table ``name`` from Python lists, one per (column, DuckDB type,
        values), all as long (no pyarrow: a check imports none)."""
        _check_identifier(name)
        for column, kind, _ in columns:
            _check_identifier(column)
            if not re.fullmatch(r"[A-Z]+", kind):
                raise RuleError(f"{kind!r} is not a column type")
        select = ", ".join(f"CAST(unnest(CAST($c{i} AS {kind}[])) AS {kind}) AS {column}"
                           for i, (column, kind, _) in enumerate(columns))
        self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {select}',
                         {f"c{i}": list(values) for i, (_, _, values) in enumerate(columns)})
        if name not in self.temp_tables:
            self.temp_tables.append(name)

    def fetch(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        return self.con.execute(_strip_trailing_semicolon(sql), self._bind(sql, params)).fetchall()

    def execute(self, sql: str, params: dict[str, Any] | list | None = None) -> None:
        if isinstance(params, list):
            self.con.execute(sql, params)
        else:
            self.con.execute(sql, self._bind(sql, params) if params else None)

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
    return ",".join(rule_order) + "|" + str(con.execute(EVIDENCE_STAMP_SQL, {"scope": scope}).fetchall()[0][0])


def _check_identifier(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RuleError(f"{name!r} is not a valid relation name")


def _strip_trailing_semicolon(sql: str) -> str:
    body = sql.rstrip()
    return body[:-1] if body.endswith(";") else body


# ---------------------------------------------------------------------------
# Running the checks
# ---------------------------------------------------------------------------


@dataclass
class RuleSummary:
    """One line of the summary: how much a rule found in the checked months."""

    rule: str
    label_zh: str
    severity: str
    codes: int  # codes with a finding
    rows: int  # flagged rows inside the checked months
    pharmacies: int  # distinct pharmacies of those rows


@dataclass
class CheckResult:
    """What a check run found and stored."""

    month: str  # 'YYYY-MM' or 'all'
    rules: list[RuleSummary]
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # step name -> seconds
    counts: dict[str, int] = field(default_factory=dict)  # relation -> rows

    @property
    def findings(self) -> int:
        return sum(r.codes for r in self.rules)


def _check_month(con: duckdb.DuckDBPyConnection, month: str) -> None:
    if not isinstance(month, str) or not _MONTH_RE.match(month.strip()):
        raise UnknownMonth(f"month {month!r} is not a month such as 2026-10 (YYYY-MM)")
    present = con.execute("SELECT count(*) FROM (SELECT 1 FROM events WHERE month = ? LIMIT 1)", [month]).fetchall()
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


def _select_rules(rules: Iterable[str] | None) -> list[RuleInfo]:
    available = list_rules()
    if rules is None:
        return available
    wanted = []
    for item in rules:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in wanted:
                wanted.append(part)
    by_id = {r.id: r for r in available}
    unknown = [r for r in wanted if r not in by_id]
    if unknown:
        raise RuleError(f"unknown rule{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                        hint=f"rules are: {', '.join(by_id)}")
    if not wanted:
        raise RuleError("no rule selected", hint=f"rules are: {', '.join(by_id)}")
    return [r for r in available if r.id in wanted]


def _stage_plan(stages: list[SqlFile], rule_files: list[SqlFile]) -> list[SqlFile]:
    """The stages the selected rules need (transitively), in file order."""
    by_name = {s.name: s for s in stages}
    persisted = {s.meta["persist"]: s.name for s in stages if s.meta.get("persist")}
    wanted: set[str] = set()
    todo = ["code_events"]  # the evidence of code-level findings
    for f in rule_files:
        todo.extend(f.needs)
    while todo:
        name = todo.pop()
        name = persisted.get(name, name)
        if name in wanted or name in _BASE_RELATIONS:
            continue
        if name not in by_name:
            raise RuleError(f"a SQL file needs {name!r}, which no stage produces")
        wanted.add(name)
        todo.extend(by_name[name].needs)
    return [s for s in stages if s.name in wanted]


#: Bump when the columns of the summary tables change: they are derived, so they are dropped
#: and rebuilt (the findings are kept).
SUMMARY_VERSION = "2"
_SUMMARY_TABLES = ("rule_events", "rule_events_files", "repeat_rows", "repeat_rows_files", "rule_dict",
                   "rule_dict_files", "product_counts", "product_counts_files", "pharmacy_rows",
                   "pharmacy_rows_files")


def _ensure_tables(engine: DuckDBEngine) -> None:
    con = engine.con
    known = con.execute("SELECT value FROM meta WHERE key = 'rules_summary_version'").fetchall()
    if not known or known[0][0] != SUMMARY_VERSION:
        for table in _SUMMARY_TABLES:
            con.execute(f"DROP TABLE IF EXISTS main.{table}")
    engine.execute(read_sql("schema/findings.sql"))
    engine.execute(read_sql("schema/findings_views.sql"))
    con.execute("DROP TABLE IF EXISTS main.evidence_rows")  # finding_evidence's first form (never released)
    if not known or known[0][0] != SUMMARY_VERSION:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('rules_summary_version', ?)", [SUMMARY_VERSION])


def update_summaries(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the tables kept across checks (rule_dict, rule_events, product_counts, and the
    export's pharmacy_rows) up to date with the files in the store. ``check`` does it itself;
    calling it at the end of an ingest moves that cost (one pass over the new files' rows)
    from the first check to the ingest."""
    engine = DuckDBEngine(con)
    try:
        _ensure_tables(engine)
        _refresh_summaries(engine, [s for s in list_stages() if s.meta.get("persist")] + _export_stages(), {})
    finally:
        engine.drop_temp_tables()


def _has_file_id(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'file_id' AND NOT internal",
        [table]).fetchall()[0][0])


def _refresh_summaries(engine: DuckDBEngine, stages: list[SqlFile], timings: dict[str, float]) -> None:
    """Bring the persistent tables of the ``persist`` stages up to date, in one transaction:
    drop the rows of files that are gone, run each stage over the files it has not seen (each
    file is read once, ever) and append its output. rule_events is rebuilt when guard_hash()
    no longer gives the values it was built with (another DuckDB version)."""
    if not stages:
        return
    con = engine.con
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
            _check_identifier(table)
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
            body = _strip_trailing_semicolon(stage.sql)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM (\n{body}\n) new_rows_",
                        engine._bind(stage.sql, {}))
            con.execute(f"INSERT INTO {table}_files SELECT file_id FROM files "
                        f"WHERE file_id NOT IN (SELECT file_id FROM {table}_files)")
            timings[stage.name] = time.perf_counter() - start
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def flagged_sql(rule_names: list[str]) -> str:
    """The relation ``flagged``: every rule's output (relations ``rule_<id>``) with its rule id.
    Shared by the DuckDB and the Spark runner."""
    for name in rule_names:
        _check_identifier(name)
    return "\nUNION ALL\n".join(
        f"SELECT CAST('{name}' AS VARCHAR) AS rule, code_key, drug_trac_codg, event_id, detail "
        f'FROM "rule_{name}"' for name in rule_names)


def run_checks(con: duckdb.DuckDBPyConnection, *, month: str | None = None, catalog: Path | str | None = None,
               close_days: int = 3, rules: list[str] | None = None, progress: bool = False) -> CheckResult:
    """Run the rules and store their findings; return the per-rule summary.

    With ``month`` ('YYYY-MM'), the findings are those with a flagged row in that month,
    judged against every event up to the end of the month; without it, everything (month
    scope 'all'). Re-running the same scope and rules replaces their findings.

    Raises UnknownMonth (malformed month, or no events in it), RuleError (unknown rule id),
    InputFileError (unreadable catalogue).
    """
    started = time.perf_counter()
    selected = _select_rules(rules)
    if isinstance(close_days, bool) or not isinstance(close_days, int) or close_days < 0:
        raise RuleError(f"close_days must be a whole number of days >= 0, not {close_days!r}")
    if month is not None:
        month = month.strip() if isinstance(month, str) else month
        _check_month(con, month)
        scope, lo, hi = month, month, month
    else:
        scope, lo, hi = ALL_MONTHS, _LOWEST_MONTH, _HIGHEST_MONTH
    catalog_columns = read_catalog(catalog) if catalog is not None else ([], [], [])

    rule_files = {f.name: f for f in _rule_files().values()}
    chosen_files = [rule_files[r.id] for r in selected]
    stages = list_stages()
    plan = _stage_plan(stages, chosen_files)
    checked_at = dt.datetime.now().replace(microsecond=0)
    params = {"month_lo": lo, "month_hi": hi, "close_days": int(close_days), "scope": scope,
              "checked_at": checked_at}
    engine = DuckDBEngine(con)
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    steps = len(plan) + len(_export_stages()) + len(chosen_files) + 3
    bar = _progress(progress, steps, scope)
    try:
        _ensure_tables(engine)
        engine.register_columns("drug_catalog", [(name, kind, values) for (name, kind), values
                                                 in zip(CATALOG_COLUMNS, catalog_columns)])
        engine.register_columns("rule_meta", [
            ("rule", "VARCHAR", [r.id for r in selected]),
            ("severity", "VARCHAR", [r.severity for r in selected]),
            ("label_zh", "VARCHAR", [r.label_zh for r in selected]),
            ("evidence", "VARCHAR", [r.evidence for r in selected]),
            ("position", "BIGINT", list(range(len(selected)))),
        ])
        persisted = [s for s in plan if s.meta.get("persist")] + _export_stages()
        bar.set_postfix_str("summaries")
        _refresh_summaries(engine, persisted, timings)
        bar.update(len(persisted))
        for stage in plan:
            if stage.meta.get("persist"):
                continue
            bar.set_postfix_str(stage.name)
            t0 = time.perf_counter()
            counts[stage.name] = engine.materialize(stage.name, stage.sql, params)
            timings[stage.name] = time.perf_counter() - t0
            bar.update(1)
        for f in chosen_files:
            bar.set_postfix_str(f.name)
            t0 = time.perf_counter()
            counts[f"rule_{f.name}"] = engine.materialize(f"rule_{f.name}", f.sql, params)
            timings[f"rule_{f.name}"] = time.perf_counter() - t0
            bar.update(1)
        bar.set_postfix_str("findings")
        t0 = time.perf_counter()
        counts["flagged"] = engine.materialize("flagged", flagged_sql([f.name for f in chosen_files]))
        counts["finding_rows"] = engine.materialize("finding_rows", read_sql("findings/findings_rows.sql"), params)
        counts["new_findings"] = engine.materialize("new_findings", read_sql("findings/findings.sql"), params)
        summary_rows = engine.fetch(read_sql("findings/findings_summary.sql"), params)
        timings["findings"] = time.perf_counter() - t0
        # the stages' tables are done with: their memory goes to the evidence (big at scale)
        engine.drop_temp_tables(keep=("finding_rows", "new_findings"))
        t0 = time.perf_counter()
        evidence_current = _evidence_current(engine, scope, [r.id for r in selected])
        if not evidence_current:
            counts["evidence_new"] = engine.materialize("evidence_new", read_sql("findings/evidence_new.sql"), params)
        timings["evidence"] = time.perf_counter() - t0
        bar.update(1)
        bar.set_postfix_str("store")
        t0 = time.perf_counter()
        summary = [RuleSummary(*row) for row in summary_rows]
        _store(engine, scope, [r.id for r in selected], summary, params, catalog, not evidence_current)
        timings["store"] = time.perf_counter() - t0
        bar.update(1)
    finally:
        bar.close()
        engine.drop_temp_tables()
    return CheckResult(scope, summary, time.perf_counter() - started, timings, counts)


def _store(engine: DuckDBEngine, scope: str, rule_ids: list[str], summary: list[RuleSummary],
           params: dict[str, Any], catalog: Path | str | None, store_evidence: bool = True) -> None:
    """Replace the scope's findings of the selected rules, in one transaction."""
    con = engine.con
    marks = ", ".join("?" for _ in rule_ids)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM findings WHERE month = ? AND rule IN ({marks})", [scope, *rule_ids])
        con.execute(f"DELETE FROM finding_events WHERE month = ? AND rule IN ({marks})", [scope, *rule_ids])
        con.execute("INSERT INTO findings SELECT * FROM new_findings")
        con.execute("INSERT INTO finding_events SELECT ?, rule, code_key, drug_trac_codg, event_id, flagged "
                    "FROM finding_rows", [scope])
        if store_evidence:
            _store_evidence(engine, scope)
        for row in summary:
            con.execute("INSERT INTO check_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [scope, row.rule, params["close_days"], str(catalog) if catalog is not None else None,
                         row.codes, row.rows, row.pharmacies, params["checked_at"]])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _evidence_current(engine: DuckDBEngine, scope: str, rule_ids: list[str]) -> bool:
    """Whether the scope's finding_evidence already holds, in order, every row the check is
    about to store (finding_rows for ``rule_ids``, the scope's finding_events for the other
    rules): then check neither reads events nor rewrites it (a check run again on the same
    data writes no evidence)."""
    con = engine.con
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
    have = con.execute("SELECT count(*) FROM finding_evidence WHERE month = $scope", {"scope": scope}).fetchall()[0][0]
    return have == int(new.split(":")[0])


def _store_evidence(engine: DuckDBEngine, scope: str) -> None:
    """Rewrite the scope's finding_evidence (every rule's rows, in export order) and its stamp.
    Rows go in sorted, with insertion order preserved: a scan of the scope then reads them in
    that order (docs: order preservation), and the export writes them without sorting."""
    con = engine.con
    order = [r.id for r in list_rules()]
    params = {"scope": scope, "rules": order}
    keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        sql = read_sql("findings/finding_evidence.sql")
        if con.execute("SELECT count(*) FROM (SELECT 1 FROM finding_evidence WHERE month = $scope LIMIT 1)",
                       {"scope": scope}).fetchall()[0][0]:
            # it reads the scope's stored rows (other rules' events): made aside, then swapped in
            engine.materialize("scope_evidence", sql, params)
            con.execute("DELETE FROM finding_evidence WHERE month = $scope", {"scope": scope})
            con.execute("INSERT INTO finding_evidence SELECT * FROM scope_evidence")
        else:
            con.execute(f"INSERT INTO finding_evidence {_strip_trailing_semicolon(sql)}", engine._bind(sql, params))
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"evidence:{scope}", evidence_stamp(con, scope, order)])


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int, scope: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=f"check {scope}", unit=" step", leave=False, file=sys.stderr)
