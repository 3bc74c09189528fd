"""Run tracecode's rules on Apache Spark, from the same ``sql/`` files as the DuckDB path.

A province uploads billions of code rows a year; no single machine holds them. This module runs
the stage and rule SQL files (``sql/stages``, ``sql/rules``, ``sql/findings*.sql``) with
PySpark: each file is translated from DuckDB SQL to Spark SQL by sqlglot at run time, its
``$name`` parameters become Spark named parameters (``:name``, ``spark.sql(sql, args=...)``),
and each stage is materialised as a cached temporary view, exactly as
:class:`tracecode.rules.runner.DuckDBEngine` materialises temporary tables. The plan (which stages the
chosen rules need, in which order) is :func:`tracecode.rules.runner._stage_plan` itself.

Input (``--input``):

* a Parquet layout written by ``tracecode ingest --to-parquet DIR`` (:mod:`tracecode.store.layout`)
  or by :func:`tracecode.spark.ingest.write_lake`::

      DIR/events/month=YYYY-MM/bucket=NN/*.parquet   normalised, hashed code rows
      DIR/rejects/*.parquet                          records that could not be read
      DIR/files/*.parquet                            one row per upload file

* or raw upload files (CSV, also .xlsx / .json / .parquet uploads), read, normalised, hashed and
  parsed inside Spark tasks (:mod:`tracecode.spark.ingest`).

Output (``--out``): the files ``tracecode export`` writes from a database — suspicious_codes.csv,
suspicious_events.csv, rejects.csv, summary.csv — byte for byte the same for the same data
(:mod:`tracecode.spark.output`), plus findings.parquet and finding_events.parquet.

Where translation cannot be trusted (a function that means different things on the two
engines, see docs/SPARK.md), :func:`translate` refuses the file with a RuleError instead of
running it: rule files must stay in the portable subset.

Entry points: ``tracecode check --engine spark --input DIR --out DIR2 [--month M]`` and, for
``spark-submit``, ``tracecode/spark_engine.py`` (:mod:`tracecode.commands.spark`)::

    spark-submit --master yarn tracecode/spark_engine.py --input hdfs:///lake --month 2026-10 --out out/
"""

from __future__ import annotations


import datetime as dt
import functools
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from tracecode.errors import RuleError, UnknownMonth
from tracecode.rules.runner import (
    _HIGHEST_MONTH,
    _LOWEST_MONTH,
    _MONTH_RE,
    ALL_MONTHS,
    CATALOG_SCHEMA,
    RuleSummary,
    SqlFile,
    _rule_files,
    _select_rules,
    _stage_plan,
    flagged_sql,
    list_stages,
    load_catalog,
    sql_params,
)
from tracecode.sqlfiles import read_sql
from tracecode.spark.layout import _FS, PERSISTED_TABLES, SparkInput, _join
from tracecode.spark.translate import translate

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkCheck", "SparkEngine", "run_checks_spark"]

# ---------------------------------------------------------------------------
# The columns of the Parquet layout (sql/schema/store.sql, as Spark types)
# ---------------------------------------------------------------------------







# ---------------------------------------------------------------------------
# Translation: DuckDB SQL -> Spark SQL, refusing what would change meaning
# ---------------------------------------------------------------------------













@functools.lru_cache(maxsize=1)
def summary_schemas() -> dict[str, pa.Schema]:
    """The columns of the tables the DuckDB store keeps across checks (sql/schema/findings.sql),
    as Arrow schemas: the Spark runner starts each from empty."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(read_sql("schema/findings.sql"))
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
        return {t: con.sql(f'SELECT * FROM "{t}" LIMIT 0').to_arrow_table().schema for t in tables}
    finally:
        con.close()


# ---------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------








# ---------------------------------------------------------------------------
# The engine adapter: the same methods as tracecode.rules.runner.DuckDBEngine
# ---------------------------------------------------------------------------


class SparkEngine:
    """Runs the pipeline's SQL on a SparkSession: each SQL file is translated (sqlglot,
    duckdb -> spark), its parameters bound as Spark named parameters, and materialised as a
    cached temporary view."""

    def __init__(self, spark: "SparkSession", scratch: str | None = None, count: bool = True):
        from pyspark import StorageLevel

        self.spark = spark
        self.level = StorageLevel.MEMORY_AND_DISK_DESER  # rows kept as rows: no Java deserialization per read
        self.views: list[str] = []
        self.frames: dict[str, "DataFrame"] = {}
        self.count = count  # False: materialize() does not count (one Spark job less per stage) and returns -1
        # Where materialised stages go: None = the executors' block stores (localCheckpoint);
        # a folder (hdfs://..., or a local path in local mode) = Parquet files there, which a
        # lost executor cannot take with it.
        self.scratch = _join(scratch, f"run-{os.getpid()}-{int(time.time() * 1000)}") if scratch else None

    @staticmethod
    def _bind(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
        used = sql_params(sql)
        missing = used - set(params or {})
        if missing:
            raise RuleError(f"no value for SQL parameter(s) {', '.join(sorted('$' + m for m in missing))}")
        return {k: v for k, v in (params or {}).items() if k in used}

    def sql(self, sql: str, params: dict[str, Any] | None = None, where: str = "SQL") -> "DataFrame":
        """The DataFrame of one DuckDB SELECT, translated and bound (lazy)."""
        text = translate(sql, where)
        args = self._bind(sql, params)
        self._call_site(where)
        return self.spark.sql(text, args=args) if args else self.spark.sql(text)

    def _call_site(self, where: str) -> None:
        """Name this thread's next Spark jobs after the SQL file (the Spark UI's description
        of each stage); Spark then also skips walking the JVM stack for a call site, which
        it does for every RDD it plans."""
        try:
            sc = self.spark.sparkContext
        except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext: keep its default
            return
        sc.setLocalProperty("callSite.short", f"tracecode {where}")
        sc.setLocalProperty("callSite.long", f"tracecode {where}")

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """Run a SELECT into the cached temporary view ``name``; return its row count."""
        _check_identifier(name)
        df = self.checkpoint(name, self.sql(sql, params, where or name))
        count = df.count() if self.count else -1
        self._keep(name, df)
        return count

    def checkpoint(self, name: str, df: "DataFrame") -> "DataFrame":
        """Compute ``df`` now and return a DataFrame of the result whose plan no longer holds the
        SQL that made it. (A cached view would keep its whole lineage in every later plan:
        Catalyst then spends seconds per query analysing it, and statistics stay estimates.)"""
        if self.scratch:
            path = _join(self.scratch, name)
            df.write.mode("overwrite").parquet(path)
            return self.spark.read.parquet(path)
        from pyspark.sql import functions as F

        # Fresh column ids first: two checkpoints of columns that come from one source column
        # (scope_codes.code_key, history_codes.code_key) would otherwise share an id, which the
        # planner rejects in a UNION of both ("key not found: code_key#37L").
        fresh = df.select([F.col(f"`{c}`").alias(c) for c in df.columns])
        return fresh.localCheckpoint(eager=True, storageLevel=self.level)

    def register_frame(self, name: str, df: "DataFrame", cache: bool = False) -> None:
        _check_identifier(name)
        if cache:
            df = df.persist(self.level)
        self._keep(name, df)

    def register(self, name: str, table: pa.Table) -> None:
        """Make a (small) Arrow table available as the temporary view ``name``."""
        frame = arrow_frame(self.spark, table)
        # An empty table needs no Spark job; rows are checkpointed, not carried in every plan.
        self.register_frame(name, frame if table.num_rows == 0 else self.checkpoint(name, frame))

    def _keep(self, name: str, df: "DataFrame") -> None:
        old = self.frames.get(name)
        if old is not None and old is not df and old.is_cached:
            old.unpersist()
        df.createOrReplaceTempView(name)
        self.frames[name] = df
        if name not in self.views:
            self.views.append(name)

    def fetch(self, sql: str, params: dict[str, Any] | None = None, where: str = "SQL") -> list[tuple]:
        return [tuple(row) for row in self.sql(sql, params, where).collect()]

    def drop_temp_tables(self) -> None:
        for name in reversed(self.views):
            df = self.frames.pop(name, None)
            if df is not None and df.is_cached:
                df.unpersist()
            self.spark.catalog.dropTempView(name)
        self.views.clear()
        if self.scratch:
            try:
                fs = _FS(self.spark, self.scratch)
                fs.fs.delete(fs.path(self.scratch), True)
            except Exception:  # noqa: BLE001 - a leftover scratch folder is not worth failing the run
                pass


def _check_identifier(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RuleError(f"{name!r} is not a valid relation name")


def arrow_frame(spark: "SparkSession", table: pa.Table) -> "DataFrame":
    """A DataFrame of an Arrow table, the empty table included (its schema kept)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if table.num_rows == 0:
        return spark.createDataFrame([], from_arrow_schema(table.schema))
    return spark.createDataFrame(table)


# ---------------------------------------------------------------------------
# Input: the Parquet layout, or raw upload files
# ---------------------------------------------------------------------------






















# ---------------------------------------------------------------------------
# Running the checks
# ---------------------------------------------------------------------------


@dataclass
class SparkCheck:
    """A finished Spark check: the per-rule summary, and the engine holding the relations
    (new_findings, finding_rows, ...) until :meth:`close`."""

    month: str  # 'YYYY-MM' or 'all'
    rules: list[RuleSummary]
    engine: SparkEngine
    data: SparkInput
    params: dict[str, Any]
    rule_ids: list[str]
    catalog: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def findings(self) -> int:
        return sum(r.codes for r in self.rules)

    def frame(self, name: str) -> "DataFrame":
        return self.engine.frames[name]

    def close(self) -> None:
        self.engine.drop_temp_tables()


def check_month(data: SparkInput, month: str) -> None:
    if not isinstance(month, str) or not _MONTH_RE.match(month.strip()):
        raise UnknownMonth(f"month {month!r} is not a month such as 2026-10 (YYYY-MM)")
    if month not in data.months:
        months = data.months
        if not months:
            held = "it holds no events"
        elif len(months) == 1:
            held = f"it holds {months[0]} only"
        else:
            held = f"it holds {months[0]} … {months[-1]}"
        raise UnknownMonth(f"{data.source} has no events in {month}; {held}",
                           hint="pick a month the input holds")


def run_checks_spark(spark: "SparkSession", data: SparkInput, *, month: str | None = None,
                     catalog: Path | str | None = None, close_days: int = 3, rules: list[str] | None = None,
                     scratch: str | None = None, cache_bytes: int = 256 << 20, count: bool = True,
                     keep_summaries: bool | None = None, log=None) -> SparkCheck:
    """Run the rules on Spark over ``data``; the same stages, rules and findings SQL as
    :func:`tracecode.rules.runner.run_checks`, translated. Returns the summary and keeps the relations
    (call :meth:`SparkCheck.close` when done). Raises what run_checks raises.

    ``keep_summaries`` (default: conf spark.tracecode.keepSummaries, else True): over a Parquet
    layout, start from the summaries an earlier check kept in it and keep the updated ones
    there (DIR/summaries/, :mod:`tracecode.spark.summaries`), so that each upload file is read
    once, ever, as by the DuckDB store; False builds them from every month, every time."""
    started = time.perf_counter()
    selected = _select_rules(rules)
    if isinstance(close_days, bool) or not isinstance(close_days, int) or close_days < 0:
        raise RuleError(f"close_days must be a whole number of days >= 0, not {close_days!r}")
    if month is not None:
        month = month.strip() if isinstance(month, str) else month
        check_month(data, month)
        scope, lo, hi = month, month, month
    else:
        scope, lo, hi = ALL_MONTHS, _LOWEST_MONTH, _HIGHEST_MONTH
    catalog_table = load_catalog(catalog) if catalog is not None else CATALOG_SCHEMA.empty_table()

    rule_files = {f.name: f for f in _rule_files().values()}
    chosen_files = [rule_files[r.id] for r in selected]
    plan = _stage_plan(list_stages(), chosen_files)
    checked_at = dt.datetime.now().replace(microsecond=0)
    params = {"month_lo": lo, "month_hi": hi, "close_days": int(close_days), "scope": scope,
              "checked_at": checked_at}
    if scratch is None:  # spark-submit --conf spark.tracecode.scratch=hdfs:///tmp/tracecode
        scratch = spark.conf.get("spark.tracecode.scratch", None) or None
    engine = SparkEngine(spark, scratch, count)
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    say = log or (lambda text: None)
    ok = False
    try:
        if data.kind == "lake" and data.size <= cache_bytes and not data.events_in_memory:
            # A small input (tests, a city's month) is read once into the executors' memory,
            # for every check of this input: each stage would otherwise re-open its (often
            # many, small) Parquet files.
            data.events = SparkEngine(spark).checkpoint("events", data.events)
            data.events_in_memory = True
        engine.register_frame("events", data.events)
        engine.register_frame("files", data.files)
        engine.register_frame("rejects", data.rejects)
        engine.register("drug_catalog", catalog_table)
        engine.register("rule_meta", pa.table({
            "rule": [r.id for r in selected],
            "severity": [r.severity for r in selected],
            "label_zh": [r.label_zh for r in selected],
            "evidence": [r.evidence for r in selected],
            "position": pa.array(range(len(selected)), pa.int32()),
        }))
        # The tables the DuckDB store keeps across checks (dictionary, narrow copy of the
        # events, repeated codes, product counts): each `persist` stage reads the files its
        # table has not seen. They start from the version kept in the layout by an earlier
        # check (tracecode.spark.summaries), else from empty (every file is new).
        schemas = summary_schemas()
        persisted = [stage.meta["persist"] for stage in plan if stage.meta.get("persist")]
        for table in persisted:
            for name in (table, f"{table}_files"):
                if name not in schemas:
                    raise RuleError(f"a stage persists into {name}, which sql/schema/findings.sql does not define")
        reuse = engine.scratch is None  # scratch files go with the engine: recompute then
        if keep_summaries is None:
            keep_summaries = spark.conf.get("spark.tracecode.keepSummaries", "true").lower() != "false"
        # Kept only when this plan builds every table (a --rules subset may need fewer).
        keep = (keep_summaries and data.kind == "lake" and set(persisted) == set(PERSISTED_TABLES)
                and not (reuse and all(t in data.summaries for t in persisted)))
        stored, new_files, added = None, True, {}
        if keep:
            from tracecode.spark.summaries import SummaryStore

            store = SummaryStore(spark, data.source)
            stored = store.load({t: schemas[t] for t in persisted}, data.files)
            if stored is not None:
                frames, covered = stored
                fresh_files = data.files.join(covered, "file_id", "left_anti")
                new_files = bool(fresh_files.limit(1).count())
                say(f"summaries kept in {store.root}: {'new files to add' if new_files else 'up to date'}")
        for table in persisted:
            if stored is not None:
                engine.register_frame(table, frames[table])
                engine.register_frame(f"{table}_files", covered.select("file_id"))
            else:
                engine.register(table, schemas[table].empty_table())
                engine.register(f"{table}_files", schemas[f"{table}_files"].empty_table())
        for stage in plan:
            t0 = time.perf_counter()
            table = stage.meta.get("persist")
            if table and reuse and table in data.summaries:
                engine.register_frame(table, data.summaries[table])
                counts[stage.name] = -1
                timings[stage.name] = 0.0
                say(f"stage {stage.name}: {table} of an earlier check of this input")
                continue
            if table:
                # INSERT INTO table BY NAME: the table's columns and types, NULL where absent
                df = engine.sql(stage.sql, {}, where=f"sql/{stage.path}")
                df = df.select(*[_column_as(df, f) for f in schemas[table]])
                frame = engine.checkpoint(table, df)
                counts[stage.name] = frame.count() if engine.count else -1  # rows added
                added[table] = frame
                if stored is not None:  # the kept rows and this check's
                    frame = frames[table].unionByName(frame).persist(engine.level)
                engine.register_frame(table, frame)
                if reuse:
                    data.summaries[table] = frame
            else:
                counts[stage.name] = engine.materialize(stage.name, stage.sql, params, where=f"sql/{stage.path}")
            timings[stage.name] = time.perf_counter() - t0
            rows = f"{counts[stage.name]:,} rows in " if counts[stage.name] >= 0 else ""
            say(f"stage {stage.name}: {rows}{timings[stage.name]:.1f} s")
        if keep and new_files:
            t0 = time.perf_counter()
            try:
                from tracecode.spark.summaries import MAX_PARTS

                if stored is not None and len(store.parts()) < MAX_PARTS:  # a part with the rows added
                    folder = store.save({t: added[t] for t in persisted}, fresh_files)
                else:  # the whole, replacing the parts
                    folder = store.save({t: engine.frames[t] for t in persisted}, data.files, replace=True)
                say(f"summaries kept in {folder} for the next check: {time.perf_counter() - t0:.1f} s")
            except Exception as exc:  # noqa: BLE001 - a read-only layout: the check goes on
                say(f"Warning: cannot keep the summaries in {store.root} ({str(exc).splitlines()[0][:200]}); "
                    "the next check rebuilds them")
            timings["keep_summaries"] = time.perf_counter() - t0
        # Each rule is read once (by flagged): a view, computed with the others in one job.
        for f in chosen_files:
            engine.register_frame(f"rule_{f.name}", engine.sql(f.sql, params, where=f"sql/{f.path}"))
        t0 = time.perf_counter()
        counts["flagged"] = engine.materialize("flagged", flagged_sql([f.name for f in chosen_files]))
        timings["rules"] = time.perf_counter() - t0
        if engine.count:
            per_rule = dict(engine.frames["flagged"].groupBy("rule").count().collect())
            for f in chosen_files:
                counts[f"rule_{f.name}"] = int(per_rule.get(f.name, 0))
            say(f"rules: {counts['flagged']:,} flagged rows in {timings['rules']:.1f} s")
        else:
            say(f"rules: {timings['rules']:.1f} s")
        t0 = time.perf_counter()
        counts["finding_rows"] = engine.materialize("finding_rows", read_sql("findings/findings_rows.sql"), params,
                                                    where="sql/findings/findings_rows.sql")
        counts["new_findings"] = engine.materialize("new_findings", read_sql("findings/findings.sql"), params,
                                                    where="sql/findings/findings.sql")
        summary_rows = engine.fetch(read_sql("findings/findings_summary.sql"), params, where="sql/findings/findings_summary.sql")
        timings["findings"] = time.perf_counter() - t0
        summary = [RuleSummary(*row) for row in summary_rows]
        ok = True
    finally:
        if not ok:
            engine.drop_temp_tables()
    return SparkCheck(scope, summary, engine, data, params, [r.id for r in selected],
                      str(catalog) if catalog is not None else None, time.perf_counter() - started, timings, counts)


def _column_as(df: "DataFrame", f: pa.Field):
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_type

    kind = from_arrow_type(f.type)
    col = F.col(f"`{f.name}`") if f.name in df.columns else F.lit(None)
    return col.cast(kind).alias(f.name)


def stage_files() -> list[SqlFile]:
    """Every SQL file the Spark engine translates (for tests and docs)."""
    return [*list_stages(), *_rule_files().values()]


# ---------------------------------------------------------------------------
# Command line (also the spark-submit entry point)
# ---------------------------------------------------------------------------
