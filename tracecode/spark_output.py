"""Write a Spark check's findings as the same files ``tracecode export`` writes.

Spark computes everything that reads the events: the findings, their evidence rows, the rows
uploaded per pharmacy in the checked months, which files hold events of those months (and
their pharmacy, for the rejects). Those results are small next to the input; they come to
the driver as Arrow tables, into an in-memory DuckDB, where the export's own SQL and CSV writer
(:mod:`tracecode.export_sql`, :mod:`tracecode.export_write`) turn them into the four CSV files
— so that both engines' files are the same bytes for the same data.

The driver's ``events`` table holds the evidence rows, plus one row per (file, month, lowest /
highest pharmacy) for the files the rejects and the month's files need, and one per pharmacy of
the month (with no file); the one query of the export that counts all events (summary.csv's
rows uploaded per pharmacy) reads Spark's count instead (:func:`summary_sql`, through
``write_files``' ``rewrite`` hook).
"""

from __future__ import annotations

import re
import secrets
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tracecode.errors import OutputError
from tracecode.spark_engine import EVENT_COLUMNS, SparkCheck, names, translate

FINDINGS_PARQUET = "findings.parquet"
FINDING_EVENTS_PARQUET = "finding_events.parquet"
MASK_KEY_FILE = "_tracecode_mask_key"

#: Spark SQL (written for Spark, not translated: these are the engine's own output queries).
EVIDENCE_SQL = """
SELECT e.* FROM events e LEFT SEMI JOIN (SELECT DISTINCT event_id FROM finding_rows) r ON r.event_id = e.event_id
"""
#: Per file and month of the checked scope (and of every file with rejects): its lowest and
#: highest pharmacy — what export's scoped_rejects asks of the events.
FILE_MONTHS_SQL = """
SELECT file_id, month, MIN(fixmedins_code) AS lo, MAX(fixmedins_code) AS hi
FROM events
WHERE file_id IN (SELECT file_id FROM rejects) OR (month >= :month_lo AND month <= :month_hi)
GROUP BY file_id, month
"""
#: summary.csv's `ev`: code rows uploaded per pharmacy in the scope and its latest non-NULL
#: name (DuckDB's arg_max skips NULL names; Spark's max_by does not, hence the CASE).
PHARMACY_ROWS_SQL = """
SELECT fixmedins_code,
       MAX_BY(fixmedins_name, CASE WHEN fixmedins_name IS NOT NULL THEN event_id END) AS fixmedins_name,
       COUNT(*) AS rows_uploaded
FROM events
WHERE month >= :month_lo AND month <= :month_hi
GROUP BY fixmedins_code
"""
#: The rejects export can show: all for 'all', else those of files with events in the month or
#: with no events at all (export_sql.SCOPED_REJECTS filters again).
REJECTS_SQL = """
SELECT r.* FROM rejects r
WHERE :scope = 'all'
   OR r.file_id IN (SELECT file_id FROM files WHERE events = 0)
   OR r.file_id IN (SELECT file_id FROM events WHERE month >= :month_lo AND month <= :month_hi)
"""

_EV_CTE = re.compile(r"\nev AS \(\n.*?\n\),\n", re.S)


@dataclass
class SparkExport:
    out_dir: Path
    scope: str
    rows: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def summary_sql(export_summary_sql: str) -> str:
    """export_sql.summary_sql with its `ev` (a count over all events) read from Spark's count."""
    matches = _EV_CTE.findall(export_summary_sql)
    if len(matches) != 1:
        raise OutputError("tracecode.export_sql.summary_sql changed shape: cannot feed it Spark's per-pharmacy counts",
                          hint="update tracecode.spark_output.summary_sql")
    return _EV_CTE.sub("\nev AS (SELECT fixmedins_code, fixmedins_name, rows_uploaded FROM spark_pharmacy_rows),\n",
                       export_summary_sql)


def _to_arrow(df) -> pa.Table:
    return df.toArrow()


def mask_key_for(folder: Path | None) -> str:
    """The masking key kept in ``folder`` (created on first use), or a fresh one."""
    if folder is None:
        return secrets.token_hex(16)
    path = Path(folder) / MASK_KEY_FILE
    try:
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        key = secrets.token_hex(16)
        path.write_text(key + "\n", encoding="utf-8")
        path.chmod(0o600)
        return key
    except OSError:
        return secrets.token_hex(16)


def driver_db(check: SparkCheck, mask_key: str, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding what the export SQL reads, computed by Spark."""
    from tracecode.store import configure

    engine, params = check.engine, check.params
    spark = engine.spark
    findings = _to_arrow(check.frame("new_findings"))
    finding_rows = _to_arrow(check.frame("finding_rows"))
    evidence = _to_arrow(spark.sql(EVIDENCE_SQL))
    file_months = _to_arrow(engine.sql(_as_duckdb(FILE_MONTHS_SQL), params))
    pharmacy_rows = _to_arrow(engine.sql(_as_duckdb(PHARMACY_ROWS_SQL), params))
    rejects = _to_arrow(engine.sql(_as_duckdb(REJECTS_SQL), params))
    files = _to_arrow(check.data.files)

    con = duckdb.connect()
    configure(con, memory_limit)
    for name, table in (("s_findings", findings), ("s_finding_rows", finding_rows), ("s_evidence", evidence),
                        ("s_file_months", file_months), ("spark_pharmacy_rows_in", pharmacy_rows),
                        ("s_rejects", rejects), ("s_files", files)):
        con.register(name, table)
    con.execute(read_findings_schema())
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('mask_key', ?)", [mask_key])
    con.execute("INSERT INTO findings SELECT month, rule, severity, label_zh, code_key, drug_trac_codg, first_seen, "
                "last_seen, occurrences, flagged_rows, pharmacies, pharmacy_list, detail, checked_at FROM s_findings")
    con.execute("INSERT INTO finding_events SELECT ?, rule, code_key, drug_trac_codg, event_id, flagged "
                "FROM s_finding_rows", [check.month])
    cols = ", ".join(names(EVENT_COLUMNS))
    con.execute(f"CREATE TABLE events AS SELECT {cols} FROM s_evidence")
    con.execute("INSERT INTO events (file_id, month, fixmedins_code) "
                "SELECT file_id, month, lo FROM s_file_months UNION ALL SELECT file_id, month, hi FROM s_file_months")
    # every pharmacy with rows in the scope (the per-pharmacy folders list them)
    con.execute("INSERT INTO events (month, fixmedins_code) SELECT ?, fixmedins_code FROM spark_pharmacy_rows_in",
                [check.month])
    con.execute("CREATE TABLE files AS SELECT * FROM s_files")
    con.execute("CREATE TABLE rejects AS SELECT * FROM s_rejects")
    con.execute("CREATE TABLE spark_pharmacy_rows AS SELECT * FROM spark_pharmacy_rows_in")
    for name in ("s_findings", "s_finding_rows", "s_evidence", "s_file_months", "spark_pharmacy_rows_in",
                 "s_rejects", "s_files"):
        con.unregister(name)
    return con


def read_findings_schema() -> str:
    from tracecode.sqlfiles import read_sql

    # findings, finding_events (and the tables the view needs) as the store defines them
    text = read_sql("findings_schema.sql")
    return text.split("CREATE OR REPLACE VIEW")[0]


def _as_duckdb(spark_sql: str) -> str:
    """The queries above are written with :name markers for Spark; SparkEngine.sql translates
    DuckDB text, so give it DuckDB's $name spelling."""
    return re.sub(r":([A-Za-z_]\w*)", r"$\1", spark_sql)


def write_findings(check: SparkCheck, out_dir: Path, *, mask: bool = True, encoding: str = "utf-8-sig",
                   headers: str = "nhsa", force: bool = False, per_pharmacy: bool = False, mask_key: str | None = None,
                   mask_key_dir: Path | None = None, memory_limit: str | None = None) -> SparkExport:
    """Write suspicious_codes.csv, suspicious_events.csv, rejects.csv, summary.csv (and with
    ``per_pharmacy`` the pharmacies/ folders; and findings.parquet, finding_events.parquet) of a
    Spark check into ``out_dir`` with the export's own SQL and writer
    (:func:`tracecode.export.write_files`). Files are staged and moved into place at the end."""
    from tracecode.export import FILE_NAMES, FOLDERS_FILE, _install, check_out_dir, rule_catalog, write_files
    from tracecode.export_write import PHARMACY_DIR, CsvWriter

    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    key = mask_key if mask_key is not None else mask_key_for(mask_key_dir)
    con = driver_db(check, key, memory_limit)
    result = SparkExport(out_dir, check.month)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        con.close()
        raise OutputError(f"cannot create {out_dir}: {exc.strerror}") from None
    staging = out_dir / f".tracecode-staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        catalog = rule_catalog()
        writer = CsvWriter(con, staging, encoding, headers, dict(catalog))
        rows = write_files(con, writer, check.month, mask, rules=[r for r, _ in catalog], per_pharmacy=per_pharmacy,
                           rewrite=lambda name, sql: summary_sql(sql) if name == "summary.csv" else sql)
        written = [*FILE_NAMES, FINDINGS_PARQUET, FINDING_EVENTS_PARQUET]
        if per_pharmacy:
            rows.pop(PHARMACY_DIR, None)
            written.append(FOLDERS_FILE)
        result.rows = rows
        result.warnings = list(writer.warnings)
        pq.write_table(con.sql("SELECT * FROM findings ORDER BY rule, code_key, drug_trac_codg").to_arrow_table(),
                       staging / FINDINGS_PARQUET)
        pq.write_table(con.sql("SELECT * FROM finding_events ORDER BY rule, code_key, drug_trac_codg, event_id")
                       .to_arrow_table(), staging / FINDING_EVENTS_PARQUET)
        _install(staging, out_dir, written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        con.close()
    return result


__all__ = ["FINDINGS_PARQUET", "FINDING_EVENTS_PARQUET", "SparkExport", "driver_db", "summary_sql", "write_findings",
           "translate"]
