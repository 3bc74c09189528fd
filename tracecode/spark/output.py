"""Write a Spark check's findings as the same files ``tracecode export`` writes.

Spark computes everything that reads the events: the findings, their evidence rows, and the
code rows uploaded per file, month and pharmacy (the store's ``pharmacy_rows``) for the checked
months and for the files with rejects. Those results are small next to the input; they come
to the driver as Arrow tables, into an in-memory DuckDB laid out as a store (the tables of
``sql/schema/findings.sql``), where the export's own code (:func:`tracecode.outputs.export.write_files`,
:class:`tracecode.outputs.export_write.CsvWriter`) writes the four CSV files — so that both engines'
files are the same bytes for the same data.

The driver's ``events`` table holds only the evidence rows; ``pharmacy_rows`` covers every
file (``pharmacy_rows_files``), so the export never counts events.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tracecode.errors import OutputError
from tracecode.privacy import bureau_key
from tracecode.spark.engine import SparkCheck
from tracecode.spark.layout import EVENT_COLUMNS, names
from tracecode.spark.translate import translate
from tracecode.sqlfiles import read_sql
from tracecode.staging import move_files, replace_folder, staging_folder

FINDINGS_PARQUET = "findings.parquet"
FINDING_EVENTS_PARQUET = "finding_events.parquet"
MASK_KEY_FILE = "_tracecode_mask_key"

# The queries Spark answers for the files, in the portable subset (DuckDB SQL, translated by
# sqlglot like the rule files).

#: Broadcast the evidence rows' event ids to every task (no shuffle of the events) up to this
#: many ids (8 bytes each); beyond, Spark joins by shuffling both sides.
BROADCAST_EVIDENCE_IDS = 20_000_000
#: The events whose pharmacy rows (sql/export/pharmacy_rows_new.sql, every file new) the export
#: reads: the checked months, and every month of the files with rejects (a reject's pharmacy is
#: its file's, when the file holds one), and the purchases up to the checked months' end (which
#: pharmacies sale_without_purchase judged).
PHARMACY_EVENTS_SQL = """
SELECT e.* FROM events e
WHERE (e.month >= $month_lo AND e.month <= $month_hi) OR e.file_id IN (SELECT r.file_id FROM rejects r)
   OR (e.kind IN ('purchase', 'purchase_return') AND e.month <= $month_hi)
"""
#: The rejects the export can show: all for 'all', else those of files with events in the
#: checked months or with no events at all (the export filters again). The files with events
#: in the checked months are read off the pharmacy rows above (export_pharmacy_rows), not off
#: the events: one scan of the events less.
REJECTS_SQL = """
SELECT r.* FROM rejects r
WHERE $scope = 'all'
   OR r.file_id IN (SELECT f.file_id FROM files f WHERE f.events = 0)
   OR r.file_id IN (SELECT p.file_id FROM export_pharmacy_rows p
                    WHERE p.month >= $month_lo AND p.month <= $month_hi)
"""


@dataclass
class SparkExport:
    out_dir: Path
    scope: str
    rows: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


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


def evidence_frame(check: SparkCheck):
    """The evidence: every event some finding of the scope lists — the events semi-joined with
    the finding rows' ids, broadcast when there are at most BROADCAST_EVIDENCE_IDS of them, so
    that only those ids travel, not the (wide) events: a shuffle join of the events moved every
    row of the input through the shuffle (2.5 GB for 10M rows)."""
    from pyspark.sql import functions as F

    ids = check.frame("finding_rows").select("event_id").distinct()
    rows = check.counts.get("finding_rows", -1)
    if rows < 0:
        rows = ids.count()
    if rows <= BROADCAST_EVIDENCE_IDS:
        ids = F.broadcast(ids)
    events = check.frame("events")
    return events.join(ids, on="event_id", how="left_semi").select(*events.columns)


def pharmacy_rows(check: SparkCheck) -> None:
    """Make the view export_pharmacy_rows: sql/export/pharmacy_rows_new.sql, the DuckDB store's
    own summary, over the events of :data:`PHARMACY_EVENTS_SQL` (every file new to it)."""
    engine, params = check.engine, check.params
    engine.register_columns("pharmacy_rows_files", [("file_id", "INTEGER", [])])
    # The file reads `events`: for this one query, the view events is the events it counts.
    engine.sql(PHARMACY_EVENTS_SQL, params, where="spark_output.PHARMACY_EVENTS_SQL").createOrReplaceTempView("events")
    try:
        engine.materialize("export_pharmacy_rows", read_sql("export/pharmacy_rows_new.sql"), params,
                           where="sql/export/pharmacy_rows_new.sql")
    finally:
        check.frame("events").createOrReplaceTempView("events")


def driver_db(check: SparkCheck, mask_key: str, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding what the export reads, computed by Spark."""
    from tracecode.store.database import configure

    engine, params = check.engine, check.params
    pharmacy_rows(check)
    engine._call_site("spark_output.evidence_frame")
    arrow = {
        "s_findings": _to_arrow(check.frame("new_findings")),
        "s_finding_rows": _to_arrow(check.frame("finding_rows")),
        "s_evidence": _to_arrow(evidence_frame(check)),
        "s_pharmacy_rows": _to_arrow(check.frame("export_pharmacy_rows")),
        "s_rejects": _to_arrow(engine.sql(REJECTS_SQL, params, where="spark_output.REJECTS_SQL")),
        "s_files": _to_arrow(check.data.files),
        "s_deletes": _to_arrow(check.data.deletes),
        "s_withdrawn": _to_arrow(check.frame("withdrawn")),
    }
    con = duckdb.connect()
    try:
        configure(con, memory_limit)
        for name, table in arrow.items():
            con.register(name, table)
        con.execute(read_sql("schema/findings.sql"))  # the store's own tables
        con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('mask_key', ?)", [mask_key])
        for table, source in (("findings", "s_findings"), ("pharmacy_rows", "s_pharmacy_rows")):
            # INSERT ... BY NAME of the columns both have (the table's others stay NULL)
            have = set(arrow[source].column_names)
            cols = ", ".join(f'"{c}"' for c in _columns(con, table) if c in have)
            con.execute(f"INSERT INTO {table} BY NAME SELECT {cols} FROM {source}")
        con.execute("INSERT INTO finding_events BY NAME SELECT ? AS month, rule, code_key, drug_trac_codg, event_id, "
                    "flagged FROM s_finding_rows", [check.month])
        con.execute(f"CREATE TABLE events AS SELECT {', '.join(names(EVENT_COLUMNS))} FROM s_evidence")
        con.execute("CREATE TABLE files AS SELECT * FROM s_files")
        con.execute("CREATE TABLE rejects AS SELECT * FROM s_rejects")
        con.execute("CREATE TABLE deletes AS SELECT * FROM s_deletes")
        con.execute("INSERT INTO withdrawn_events SELECT event_id FROM s_withdrawn")
        con.execute("INSERT INTO pharmacy_rows_files SELECT file_id FROM files")
        for name in arrow:
            con.unregister(name)
    except duckdb.Error as exc:
        con.close()
        raise OutputError(f"the Spark results do not fit the store's tables (sql/schema/findings.sql): "
                          f"{str(exc).splitlines()[0]}", hint="update tracecode.spark.output.driver_db") from None
    return con


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]


def write_findings(check: SparkCheck, out_dir: Path, *, mask: bool = True, encoding: str = "utf-8-sig",
                   headers: str = "nhsa", force: bool = False, per_pharmacy: bool = False, mask_key: str | None = None,
                   mask_key_dir: Path | None = None, memory_limit: str | None = None, lang: str = "zh") -> SparkExport:
    """Write suspicious_codes.csv, suspicious_events.csv, rejects.csv, summary.csv (and with
    ``per_pharmacy`` the pharmacies/ folders; and findings.parquet, finding_events.parquet) of a
    Spark check into ``out_dir`` with the export's own SQL and writer
    (:func:`tracecode.outputs.export.write_files`). Files are staged and moved into place at the end."""
    from tracecode.outputs.export import (
        FILE_NAMES,
        FOLDERS_FILE,
        check_out_dir,
        rule_catalog,
        write_files,
    )
    from tracecode.outputs.export_write import PHARMACY_DIR, CsvWriter

    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    key = mask_key if mask_key is not None else (bureau_key() or mask_key_for(mask_key_dir))
    con = driver_db(check, key, memory_limit)
    result = SparkExport(out_dir, check.month)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        con.close()
        raise OutputError(f"cannot create {out_dir}: {exc.strerror}") from None
    try:
        with staging_folder(out_dir) as staging:
            catalog = rule_catalog()
            writer = CsvWriter(con, staging, encoding, headers, dict(catalog))
            rows = write_files(con, writer, check.month, mask, rules=[r for r, _ in catalog],
                               per_pharmacy=per_pharmacy, lang=lang)
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
            move_files(staging, out_dir, written)
            if per_pharmacy and (staging / PHARMACY_DIR).exists():
                replace_folder(staging, out_dir, PHARMACY_DIR)
    finally:
        con.close()
    return result


__all__ = ["FINDINGS_PARQUET", "FINDING_EVENTS_PARQUET", "SparkExport", "driver_db", "write_findings", "translate"]
