"""Run tracecode's rules on Apache Spark, from the same ``sql/`` files as the DuckDB path.

A province uploads billions of code rows a year; no single machine holds them. This module runs
the stage and rule SQL files (``sql/stages``, ``sql/rules``, ``sql/findings*.sql``) with
PySpark: each file is translated from DuckDB SQL to Spark SQL by sqlglot at run time, its
``$name`` parameters become Spark named parameters (``:name``, ``spark.sql(sql, args=...)``),
and each stage is materialised as a cached temporary view, exactly as
:class:`tracecode.rules.duckdb_engine.DuckDBEngine` materialises temporary tables. The flow (plan,
parameters, stages, rules, findings) is :func:`tracecode.rules.runner.run_rules` itself: this
module only says how a relation is made on Spark, and where the kept summaries live.

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

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pyarrow as pa

from tracecode.errors import RuleError, UnknownMonth
from tracecode.rules.catalogue import list_stages, rule_files
from tracecode.rules.results import RuleSummary
from tracecode.rules.runner import run_rules
from tracecode.spark.layout import (
    _FS,
    DELETE_COLUMNS,
    PERSISTED_TABLES,
    SparkInput,
    _join,
    ddl,
)
from tracecode.spark.translate import translate
from tracecode.sqlfiles import SqlFile, bind_params, check_identifier, read_sql

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkCheck", "SparkEngine", "run_checks_spark"]


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


#: The Arrow type of each DuckDB column type the runner registers lists of values as.
_ARROW_TYPES = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "BIGINT": pa.int64(), "INTEGER": pa.int32(),
                "SMALLINT": pa.int16()}


# ---------------------------------------------------------------------------
# The engine adapter (tracecode.rules.runner.Engine)
# ---------------------------------------------------------------------------


class SparkEngine:
    """Runs the pipeline's SQL on a SparkSession: each SQL file is translated (sqlglot,
    duckdb -> spark), its parameters bound as Spark named parameters, and materialised as a
    checkpointed temporary view. With ``data``, it is the engine of a check over that input
    (:func:`run_checks_spark`)."""

    def __init__(self, spark: "SparkSession", scratch: str | None = None, count: bool = True,
                 data: SparkInput | None = None, keep: bool = False, say: Callable[[str], None] | None = None):
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
        self.data = data
        self.keep = keep  # keep the summaries in the layout (DIR/summaries/) for the next check
        self.say = say or (lambda text: None)

    def sql(self, sql: str, params: dict[str, Any] | None = None, where: str = "SQL") -> "DataFrame":
        """The DataFrame of one DuckDB SELECT, translated and bound (lazy)."""
        text = translate(sql, where)
        args = bind_params(sql, params)
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

    def require_month(self, month: str) -> None:
        """UnknownMonth unless the input holds events in ``month``."""
        data = self.data
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

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """Run a SELECT into the view ``name``, computed now (:meth:`checkpoint`); return its row
        count (-1 without counting)."""
        check_identifier(name)
        df = self.checkpoint(name, self.sql(sql, params, where or name))
        count = df.count() if self.count else -1
        self._keep(name, df)
        return count

    def define(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """A rule's view, not computed: each rule is read once (by flagged), computed with the
        others in one job. Returns -1 (not counted)."""
        self.register_frame(name, self.sql(sql, params, where or name))
        return -1

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
        """Make a DataFrame available as the temporary view ``name``."""
        check_identifier(name)
        if cache:
            df = df.persist(self.level)
        self._keep(name, df)

    def register(self, name: str, table: pa.Table) -> None:
        """Make a (small) Arrow table available as the temporary view ``name``."""
        frame = arrow_frame(self.spark, table)
        # An empty table needs no Spark job; rows are checkpointed, not carried in every plan.
        self.register_frame(name, frame if table.num_rows == 0 else self.checkpoint(name, frame))

    def register_columns(self, name: str, columns: list[tuple[str, str, list]]) -> None:
        """Make the view ``name`` from lists of values, one per (column, DuckDB type, values)."""
        for column, kind, _ in columns:
            check_identifier(column)
            if kind not in _ARROW_TYPES:
                raise RuleError(f"{kind!r} is not a column type")
        self.register(name, pa.table({column: pa.array(list(values), _ARROW_TYPES[kind])
                                      for column, kind, values in columns}))

    def _keep(self, name: str, df: "DataFrame") -> None:
        old = self.frames.get(name)
        if old is not None and old is not df and old.is_cached:
            old.unpersist()
        df.createOrReplaceTempView(name)
        self.frames[name] = df
        if name not in self.views:
            self.views.append(name)

    def fetch(self, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> list[tuple]:
        """The rows of a SELECT, on the driver."""
        return [tuple(row) for row in self.sql(sql, params, where or "SQL").collect()]

    def drop_temp_tables(self) -> None:
        """Drop every view made, and the scratch folder."""
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

    def keep_summaries(self, stages: list[SqlFile], timings: dict[str, float], counts: dict[str, int]) -> None:
        """The tables the DuckDB store keeps across checks (dictionary, narrow copy of the
        events, repeated codes, product counts): each ``persist`` stage reads the files its
        table has not seen. They start from the version kept in the layout by an earlier
        check (:mod:`tracecode.spark.summaries`), else from empty (every file is new); with
        :attr:`keep`, the updated ones are kept there for the next check."""
        data, say = self.data, self.say
        schemas = summary_schemas()
        persisted = [stage.meta["persist"] for stage in stages]
        for table in persisted:
            for name in (table, f"{table}_files"):
                if name not in schemas:
                    raise RuleError(f"a stage persists into {name}, which sql/schema/findings.sql does not define")
        reuse = self.scratch is None  # scratch files go with the engine: recompute then
        # Kept only when this plan builds every table (a --rules subset may need fewer).
        keep = (self.keep and data.kind == "lake" and set(persisted) == set(PERSISTED_TABLES)
                and not (reuse and all(t in data.summaries for t in persisted)))
        stored, new_files, added = None, True, {}
        if keep:
            from tracecode.spark.summaries import SummaryStore

            store = SummaryStore(self.spark, data.source)
            stored = store.load({t: schemas[t] for t in persisted}, data.files)
            if stored is not None:
                frames, covered = stored
                fresh_files = data.files.join(covered, "file_id", "left_anti")
                new_files = bool(fresh_files.limit(1).count())
                say(f"summaries kept in {store.root}: {'new files to add' if new_files else 'up to date'}")
        for table in persisted:
            if stored is not None:
                self.register_frame(table, frames[table])
                self.register_frame(f"{table}_files", covered.select("file_id"))
            else:
                self.register(table, schemas[table].empty_table())
                self.register(f"{table}_files", schemas[f"{table}_files"].empty_table())
        for stage in stages:
            t0 = time.perf_counter()
            table = stage.meta["persist"]
            if reuse and table in data.summaries:
                self.register_frame(table, data.summaries[table])
                counts[stage.name] = -1
                timings[stage.name] = 0.0
                say(f"stage {stage.name}: {table} of an earlier check of this input")
                continue
            # INSERT INTO table BY NAME: the table's columns and types, NULL where absent
            df = self.sql(stage.sql, {}, where=f"sql/{stage.path}")
            df = df.select(*[_column_as(df, f) for f in schemas[table]])
            frame = self.checkpoint(table, df)
            counts[stage.name] = frame.count() if self.count else -1  # rows added
            added[table] = frame
            if stored is not None:  # the kept rows and this check's
                frame = frames[table].unionByName(frame).persist(self.level)
            self.register_frame(table, frame)
            if reuse:
                data.summaries[table] = frame
            timings[stage.name] = time.perf_counter() - t0
            _say_stage(say, stage.name, counts[stage.name], timings[stage.name])
        if keep and new_files:
            t0 = time.perf_counter()
            try:
                from tracecode.spark.summaries import MAX_PARTS

                if stored is not None and len(store.parts()) < MAX_PARTS:  # a part with the rows added
                    folder = store.save({t: added[t] for t in persisted}, fresh_files)
                else:  # the whole, replacing the parts
                    folder = store.save({t: self.frames[t] for t in persisted}, data.files, replace=True)
                say(f"summaries kept in {folder} for the next check: {time.perf_counter() - t0:.1f} s")
            except Exception as exc:  # noqa: BLE001 - a read-only layout: the check goes on
                say(f"Warning: cannot keep the summaries in {store.root} ({str(exc).splitlines()[0][:200]}); "
                    "the next check rebuilds them")
            timings["keep_summaries"] = time.perf_counter() - t0


def _say_stage(say: Callable[[str], None], name: str, rows: int, seconds: float) -> None:
    say(f"stage {name}: {f'{rows:,} rows in ' if rows >= 0 else ''}{seconds:.1f} s")


def arrow_frame(spark: "SparkSession", table: pa.Table) -> "DataFrame":
    """A DataFrame of an Arrow table, the empty table included (its schema kept)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if table.num_rows == 0:
        return spark.createDataFrame([], from_arrow_schema(table.schema))
    return spark.createDataFrame(table)


def _column_as(df: "DataFrame", f: pa.Field):
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_type

    kind = from_arrow_type(f.type)
    col = F.col(f"`{f.name}`") if f.name in df.columns else F.lit(None)
    return col.cast(kind).alias(f.name)


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
        """The number of findings (codes with a finding, summed over the rules)."""
        return sum(r.codes for r in self.rules)

    def frame(self, name: str) -> "DataFrame":
        """The DataFrame of one of the check's relations (new_findings, finding_rows, ...)."""
        return self.engine.frames[name]

    def close(self) -> None:
        """Drop the check's relations."""
        self.engine.drop_temp_tables()


class _Log:
    """A Spark check's steps as lines (``log``); the rules' row counts, taken off flagged."""

    def __init__(self, engine: SparkEngine):
        self.engine = engine
        self.per_rule: dict[str, int] = {}

    def planned(self, steps: int) -> None:
        pass

    def start(self, step: str) -> None:
        pass

    def done(self, step: str, rows: int, seconds: float) -> None:
        if step == "flagged":
            if self.engine.count:
                self.per_rule = dict(self.engine.frames["flagged"].groupBy("rule").count().collect())
                self.engine.say(f"rules: {rows:,} flagged rows in {seconds:.1f} s")
            else:
                self.engine.say(f"rules: {seconds:.1f} s")
        elif not step.startswith("rule_") and step not in ("summaries", "findings"):
            _say_stage(self.engine.say, step, rows, seconds)


def run_checks_spark(spark: "SparkSession", data: SparkInput, *, month: str | None = None,
                     catalog: Path | str | None = None, close_days: int = 3, rules: list[str] | None = None,
                     scratch: str | None = None, cache_bytes: int = 256 << 20, count: bool = True,
                     keep_summaries: bool | None = None, log=None) -> SparkCheck:
    """Run the rules on Spark over ``data``: :func:`tracecode.rules.runner.run_rules` on a
    :class:`SparkEngine`. Returns the summary and keeps the relations (call
    :meth:`SparkCheck.close` when done). Raises what run_rules raises.

    ``keep_summaries`` (default: conf spark.tracecode.keepSummaries, else True): over a Parquet
    layout, start from the summaries an earlier check kept in it and keep the updated ones
    there (DIR/summaries/, :mod:`tracecode.spark.summaries`), so that each upload file is read
    once, ever, as by the DuckDB store; False builds them from every month, every time."""
    started = time.perf_counter()
    if scratch is None:  # spark-submit --conf spark.tracecode.scratch=hdfs:///tmp/tracecode
        scratch = spark.conf.get("spark.tracecode.scratch", None) or None
    if keep_summaries is None:
        keep_summaries = spark.conf.get("spark.tracecode.keepSummaries", "true").lower() != "false"
    engine = SparkEngine(spark, scratch, count, data=data, keep=keep_summaries, say=log)
    progress = _Log(engine)
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
        if data.deletes is None:
            from pyspark.sql.types import StructType

            data.deletes = spark.createDataFrame([], StructType.fromDDL(ddl(DELETE_COLUMNS)))
        engine.register_frame("deletes", data.deletes)
        run = run_rules(engine, month=month, catalog=catalog, close_days=close_days, rules=rules, progress=progress)
        if engine.count:
            for r in run.rules:
                run.counts[f"rule_{r.id}"] = int(progress.per_rule.get(r.id, 0))
        ok = True
    finally:
        if not ok:
            engine.drop_temp_tables()
    return SparkCheck(run.scope, run.summary, engine, data, run.params, [r.id for r in run.rules],
                      str(catalog) if catalog is not None else None, time.perf_counter() - started, run.timings,
                      run.counts)


def stage_files() -> list[SqlFile]:
    """Every SQL file the Spark engine translates (for tests and docs)."""
    return [*list_stages(), *rule_files().values()]
