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
  or by :func:`tracecode.spark_ingest.write_lake`::

      DIR/events/month=YYYY-MM/bucket=NN/*.parquet   normalised, hashed code rows
      DIR/rejects/*.parquet                          records that could not be read
      DIR/files/*.parquet                            one row per upload file

* or raw upload files (CSV, also .xlsx / .json / .parquet uploads), read, normalised, hashed and
  parsed inside Spark tasks (:mod:`tracecode.spark_ingest`).

Output (``--out``): the files ``tracecode export`` writes from a database — suspicious_codes.csv,
suspicious_events.csv, rejects.csv, summary.csv — byte for byte the same for the same data
(:mod:`tracecode.spark_output`), plus findings.parquet and finding_events.parquet.

Where translation cannot be trusted (a function that means different things on the two
engines, see docs/SPARK.md), :func:`translate` refuses the file with a RuleError instead of
running it: rule files must stay in the portable subset.

Entry points: ``tracecode check --engine spark --input DIR --out DIR2 [--month M]`` and, for
``spark-submit``, this file itself::

    spark-submit --master yarn tracecode/spark_engine.py --input hdfs:///lake --month 2026-10 --out out/
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a script (spark-submit): its folder must not shadow stdlib modules (trace, ...)
    import os as _os

    _here = _os.path.dirname(_os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if _os.path.abspath(p or ".") != _here]

import datetime as dt
import functools
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pyarrow as pa

from tracecode.errors import InputFileError, RuleError, TracecodeError, UnknownMonth
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

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "EVENT_COLUMNS",
    "FILE_COLUMNS",
    "REJECT_COLUMNS",
    "SparkCheck",
    "SparkEngine",
    "SparkInput",
    "check_portable",
    "open_input",
    "read_lake",
    "run_checks_spark",
    "spark_session",
    "translate",
]

# ---------------------------------------------------------------------------
# The columns of the Parquet layout (sql/schema.sql, as Spark types)
# ---------------------------------------------------------------------------

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "BIGINT"), ("code_key", "BIGINT"), ("drug_trac_codg", "STRING"), ("code_raw", "STRING"),
    ("code_status", "STRING"), ("code_scheme", "STRING"), ("invalid_reason", "STRING"), ("product_id", "STRING"),
    ("kind", "STRING"), ("fixmedins_code", "STRING"), ("fixmedins_name", "STRING"), ("med_list_codg", "STRING"),
    ("fixmedins_hilist_id", "STRING"), ("fixmedins_hilist_name", "STRING"), ("fixmedins_bchno", "STRING"),
    ("rtal_docno", "STRING"), ("medins_prod_sel_no", "STRING"), ("setl_id", "STRING"), ("mdtrt_sn", "STRING"),
    ("psn_no", "STRING"), ("mdtrt_setl_type", "STRING"), ("manu_lotnum", "STRING"), ("manu_date", "STRING"),
    ("expy_end", "STRING"), ("trdn_flag", "SMALLINT"), ("sel_retn_cnt", "DOUBLE"), ("qty", "DOUBLE"),
    ("codes_in_line", "INT"), ("price", "DOUBLE"), ("sel_retn_time", "TIMESTAMP_NTZ"), ("ts", "BIGINT"),
    ("month", "STRING"), ("insured", "BOOLEAN"), ("file_id", "INT"), ("src_line", "BIGINT"),
)
FILE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_id", "INT"), ("path", "STRING"), ("name", "STRING"), ("size", "BIGINT"), ("fingerprint", "STRING"),
    ("kind", "STRING"), ("format", "STRING"), ("encoding", "STRING"), ("rows_read", "BIGINT"),
    ("rows_stored", "BIGINT"), ("rows_rejected", "BIGINT"), ("events", "BIGINT"), ("loaded_at", "TIMESTAMP_NTZ"),
)
REJECT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_id", "INT"), ("src_line", "BIGINT"), ("field", "STRING"), ("reason", "STRING"),
    ("raw_value", "STRING"), ("raw_record", "STRING"),
)
#: The tables the persist stages keep across checks (sql/stages, "-- persist:").
PERSISTED_TABLES = ("rule_dict", "rule_events", "product_counts", "repeat_rows")
#: The code-hash bucket partition column of the layout (tracecode.store.layout.BUCKETS buckets).
BUCKET_COLUMN = ("bucket", "INT")


def ddl(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)


def names(columns: Iterable[tuple[str, str]]) -> list[str]:
    return [name for name, _ in columns]


# ---------------------------------------------------------------------------
# Translation: DuckDB SQL -> Spark SQL, refusing what would change meaning
# ---------------------------------------------------------------------------

#: Shapes whose meaning differs between DuckDB and Spark even when sqlglot translates the
#: syntax (docs/SPARK.md). Checked on the DuckDB text, outside comments and string literals.
#: Not refused, because safe where the files use it: a division by a decimal literal (DOUBLE
#: on DuckDB, exact DECIMAL on Spark) under FLOOR of an integer quotient; never print one.
DIFFERENT_MEANING: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"\bround\s*\(", re.I),
     "ROUND rounds a DOUBLE's binary value on DuckDB (1.15 -> 1.1) and a DECIMAL half-up on Spark (1.2)"),
    (re.compile(r"\bhash\s*\(", re.I), "hash() is a different function on DuckDB and on Spark"),
    (re.compile(r"\b(u?hugeint|uint\d+|ubigint|uinteger|usmallint|utinyint|int128)\b", re.I),
     "unsigned and 128-bit integer types do not exist on Spark"),
    (re.compile(r"\b(try_)?strptime\s*\(|\bstrftime\s*\(|\bepoch\w*\s*\(|\bto_microseconds\s*\(", re.I),
     "DuckDB date/time formatting functions have no Spark equivalent with the same patterns"),
    (re.compile(r"\bregexp_full_match\s*\(|\blist_\w+\s*\(|\blist\s*\(|\bunnest\s*\(", re.I),
     "a DuckDB-only function"),
    (re.compile(r"\bread_(csv|parquet|json)\w*\s*\(", re.I), "reads files: the engines read their input themselves"),
    (re.compile(r"\barg_(max|min)\s*\(", re.I), "arg_max/arg_min skip NULL values on DuckDB, max_by/min_by do not"),
    (re.compile(r"\bgroup\s+by\s+all\b|\bqualify\b|\bexclude\s*\(|::", re.I), "DuckDB-only syntax"),
)


def _code_only(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def check_portable(sql: str, where: str = "SQL") -> None:
    """Raise RuleError when ``sql`` uses a shape that means different things on the engines."""
    body = _code_only(sql)
    for pattern, why in DIFFERENT_MEANING:
        match = pattern.search(body)
        if match:
            raise RuleError(f"{where} cannot run on Spark as written ({match.group(0).strip()}): {why}",
                            hint="keep the SQL files in the portable subset (docs/SPARK.md)")


#: Engine functions the SQL files may call, which each runner defines for its engine (the
#: DuckDB runner: tracecode.rules.runner.GUARD_HASH_DUCKDB). guard_hash(text) is a second 63-bit hash,
#: independent of code_key (XXH3): here xxhash64 (seed 42) shifted to 63 bits. Its values differ
#: from DuckDB's; no output shows them, and each run computes all of them itself.
ENGINE_FUNCTIONS: dict[str, str] = {
    "guard_hash": "SHIFTRIGHTUNSIGNED(XXHASH64({0}), 1)",
}


def _engine_function(node):
    from sqlglot import exp, parse_one

    if isinstance(node, exp.Anonymous) and str(node.name).lower() in ENGINE_FUNCTIONS:
        args = [a.sql(dialect="spark") for a in node.expressions]
        return parse_one(ENGINE_FUNCTIONS[str(node.name).lower()].format(*args), read="spark")
    return node


@functools.lru_cache(maxsize=256)
def translate(sql: str, where: str = "SQL") -> str:
    """The Spark SQL text of one DuckDB SELECT (comments dropped; ``$name`` -> ``:name``;
    engine functions such as guard_hash() replaced by their Spark definitions)."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    check_portable(sql, where)
    body = sql.rstrip().rstrip(";")
    try:
        trees = [t for t in sqlglot.parse(body, read="duckdb") if t is not None]
        if len(trees) != 1:
            raise RuleError(f"{where} holds {len(trees)} statements; a SQL file is one SELECT")
        return trees[0].transform(_engine_function).sql(dialect="spark", comments=False)
    except SqlglotError as exc:
        raise RuleError(f"{where}: sqlglot cannot translate it to Spark SQL: {str(exc).splitlines()[0]}") from None


@functools.lru_cache(maxsize=1)
def summary_schemas() -> dict[str, pa.Schema]:
    """The columns of the tables the DuckDB store keeps across checks (sql/findings_schema.sql),
    as Arrow schemas: the Spark runner starts each from empty."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(read_sql("findings_schema.sql").split("CREATE OR REPLACE VIEW")[0])
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
        return {t: con.sql(f'SELECT * FROM "{t}" LIMIT 0').to_arrow_table().schema for t in tables}
    finally:
        con.close()


# ---------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------


_LOG4J2 = """\
rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{HH:mm:ss}} %p %c{{1}}: %m%n%ex
"""


def _log4j2_file(level: str) -> str:
    import tempfile

    path = Path(tempfile.gettempdir()) / f"tracecode-spark-log4j2-{level.lower()}.properties"
    if not path.exists():
        path.write_text(_LOG4J2.format(level=level), encoding="utf-8")
    return str(path)


def spark_session(master: str | None = None, *, app_name: str = "tracecode", shuffle_partitions: int | None = None,
                  conf: dict[str, str] | None = None, log_level: str | None = None) -> "SparkSession":
    """A SparkSession for tracecode. ``master`` None: the one spark-submit configured, else
    ``local[*]``. Timestamps are wall-clock values (TIMESTAMP_NTZ, session time zone UTC).
    ``log_level`` (default $TRACECODE_SPARK_LOG or WARN): Spark's own log on stderr; the CLI
    uses OFF, errors reach the user as one line anyway."""
    log_level = (log_level or os.environ.get("TRACECODE_SPARK_LOG") or "WARN").upper()
    try:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession
    except ImportError:
        raise TracecodeError("the Spark engine needs PySpark", hint="pip install 'pyspark>=4.0'") from None
    import shutil

    if not os.environ.get("JAVA_HOME") and not shutil.which("java"):
        raise TracecodeError("the Spark engine needs Java (17 or 21): no java on PATH and JAVA_HOME unset",
                             hint="install a JDK, e.g. apt-get install openjdk-17-jre-headless")
    # PySpark warns about pandas 3 whenever a mapInArrow is defined; tracecode hands it Arrow
    # batches only (no pandas conversion), so the warning says nothing about tracecode's results.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    builder = SparkSession.builder.appName(app_name)
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Run by spark-submit: its JVM is up, holding --master and --conf; connect first, or
        # SparkConf() below would not see them (and --master yarn would become local[*]).
        from pyspark import SparkContext

        SparkContext._ensure_initialized()
    submitted = SparkConf()
    if master:
        builder = builder.master(master)
    elif not submitted.contains("spark.master"):
        master = "local[*]"
        builder = builder.master(master)
    local = (master or submitted.get("spark.master", "")).startswith("local")
    settings = {
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        # Checkpointed stages carry their source's constraints; Spark 4 then fails to map them in
        # a UNION of two such stages (UnionBase.rewriteConstraints: "key not found"). Inferring
        # filters from constraints buys nothing here: every stage filters explicitly.
        "spark.sql.constraintPropagation.enabled": "false",
    }
    if local and not os.environ.get("PYSPARK_PYTHON") and not submitted.contains("spark.pyspark.python"):
        # Python tasks (reading upload files) must import tracecode: run them in this interpreter
        # (PySpark reads the variable when the context starts; the conf only reaches spark-submit).
        os.environ["PYSPARK_PYTHON"] = sys.executable
    if local:  # one JVM is driver and executor: give it room, and few shuffle partitions
        if not submitted.contains("spark.driver.memory"):
            settings["spark.driver.memory"] = "2g"
        if not submitted.contains("spark.sql.shuffle.partitions"):
            settings["spark.sql.shuffle.partitions"] = "8"
    if shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    if local and not submitted.contains("spark.driver.extraJavaOptions"):
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_log4j2_file(log_level)}"
    conf = dict(conf or {})
    if "spark.driver.extraJavaOptions" in conf and "spark.driver.extraJavaOptions" in settings:
        conf["spark.driver.extraJavaOptions"] += " " + settings["spark.driver.extraJavaOptions"]
    settings.update(conf)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: say so in one line
        raise TracecodeError(f"cannot start Spark: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                             hint="check Java (java -version) and --master") from None
    spark.sparkContext.setLogLevel(log_level)
    return spark


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


@dataclass
class SparkInput:
    """The three base relations, as DataFrames, and the months the events hold."""

    events: "DataFrame"
    files: "DataFrame"
    rejects: "DataFrame"
    months: list[str]
    source: str  # what --input was, for messages
    kind: str  # 'lake' | 'raw'
    cached: list["DataFrame"] = field(default_factory=list)
    size: int = 0  # bytes of event files (lake)
    events_in_memory: bool = False
    #: The tables the DuckDB store keeps across checks (rule_dict, rule_events, product_counts,
    #: repeat_rows), computed by the first check of this input and reused by the next ones:
    #: they do not depend on the month, the catalogue or the rules asked for.
    summaries: dict[str, "DataFrame"] = field(default_factory=dict)

    def close(self) -> None:
        for df in self.cached:
            if df.is_cached:
                df.unpersist()
        self.cached.clear()
        self.summaries.clear()


class _FS:
    """The Hadoop FileSystem of a path (local, hdfs://, s3a://, ...) through the JVM."""

    def __init__(self, spark: "SparkSession", root: str):
        self.jvm = spark.sparkContext._jvm
        self.conf = spark.sparkContext._jsc.hadoopConfiguration()
        self.root = root
        path = self.path(root)
        self.fs = path.getFileSystem(self.conf)

    def path(self, text: str):
        return self.jvm.org.apache.hadoop.fs.Path(text)

    def exists(self, text: str) -> bool:
        return bool(self.fs.exists(self.path(text)))

    def is_dir(self, text: str) -> bool:
        return bool(self.fs.getFileStatus(self.path(text)).isDirectory())

    def children(self, text: str) -> list[tuple[str, bool]]:
        return [(s.getPath().getName(), bool(s.isDirectory())) for s in self.fs.listStatus(self.path(text))]

    def size(self, text: str) -> int:
        return int(self.fs.getContentSummary(self.path(text)).getLength())

    def has_parquet(self, text: str) -> bool:
        it = self.fs.listFiles(self.path(text), True)
        while it.hasNext():
            name = it.next().getPath().getName()
            if name.endswith(".parquet") and not name.startswith((".", "_")):
                return True
        return False


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def _is_local(text: str) -> bool:
    return "://" not in text or text.startswith("file://")


def _local_path(text: str) -> Path:
    return Path(text[len("file://"):] if text.startswith("file://") else text)


def read_lake(spark: "SparkSession", root: str) -> SparkInput:
    """The Parquet layout under ``root`` (local path or any Hadoop URL) as DataFrames.

    Raises InputFileError when the folder is missing, holds no events, or its events lack
    columns tracecode needs.
    """
    if _is_local(root):
        root = str(_local_path(root).resolve())
    fs = _FS(spark, root)
    hint = "write one with: tracecode ingest --db DB --to-parquet DIR FILES..., or give upload files to --input"
    if not fs.exists(root):
        raise InputFileError(f"{root}: no such folder", hint=hint)
    if not fs.is_dir(root):
        raise InputFileError(f"{root}: is a file, not a Parquet folder", hint=hint)
    events_dir = _join(root, "events")
    if not fs.exists(events_dir) or not fs.is_dir(events_dir):
        raise InputFileError(f"{root}: holds no events/ folder: not a tracecode Parquet layout", hint=hint)
    months = sorted(name[len("month="):] for name, is_dir in fs.children(events_dir)
                    if is_dir and name.startswith("month=") and fs.has_parquet(_join(events_dir, name)))
    if not months:
        raise InputFileError(f"{events_dir}: no event files (expected month=YYYY-MM/bucket=NN/*.parquet)", hint=hint)
    bad = [m for m in months if not _MONTH_RE.match(m)]
    if bad:
        raise InputFileError(f"{events_dir}: folder month={bad[0]} is not a month such as month=2026-10")
    _check_columns(spark, events_dir, EVENT_COLUMNS, {"month"})
    from pyspark.sql.types import StructType

    schema = StructType.fromDDL(ddl((*EVENT_COLUMNS, BUCKET_COLUMN)))
    events = (spark.read.schema(schema).option("basePath", events_dir).option("recursiveFileLookup", "false")
              .parquet(events_dir).select(*names(EVENT_COLUMNS)))
    files_dir = _join(root, "files")
    if not fs.exists(files_dir) or not fs.has_parquet(files_dir):
        raise InputFileError(f"{root}: holds no files/ folder (the upload files table)", hint=hint)
    _check_columns(spark, files_dir, FILE_COLUMNS)
    files = spark.read.schema(StructType.fromDDL(ddl(FILE_COLUMNS))).parquet(files_dir)
    rejects_dir = _join(root, "rejects")
    if fs.exists(rejects_dir) and fs.has_parquet(rejects_dir):
        _check_columns(spark, rejects_dir, REJECT_COLUMNS)
        rejects = spark.read.schema(StructType.fromDDL(ddl(REJECT_COLUMNS))).parquet(rejects_dir)
    else:
        rejects = spark.createDataFrame([], StructType.fromDDL(ddl(REJECT_COLUMNS)))
    return SparkInput(events, files, rejects, months, root, "lake", size=fs.size(events_dir))


def _check_columns(spark: "SparkSession", folder: str, columns: tuple[tuple[str, str], ...],
                   partition: set[str] = frozenset()) -> None:
    """The Parquet files under ``folder`` must hold the columns (name and type) tracecode reads."""
    from pyspark.sql.types import StructType
    from pyspark.sql.utils import AnalysisException

    found = _local_schema(folder) if _is_local(folder) else None
    if found is None:
        try:
            found = spark.read.option("mergeSchema", "false").parquet(folder).schema
        except AnalysisException as exc:
            raise InputFileError(f"{folder}: cannot read the Parquet files: {str(exc).splitlines()[0]}") from None
    want = StructType.fromDDL(ddl(columns))
    have = {f.name: f.dataType for f in found.fields}
    missing = [f.name for f in want.fields if f.name not in have and f.name not in partition]
    if missing:
        raise InputFileError(f"{folder}: the Parquet files lack column(s) {', '.join(missing)}",
                             hint="the folder was not written by tracecode ingest --to-parquet")
    wrong = [f"{f.name} is {have[f.name].simpleString()}, expected {f.dataType.simpleString()}"
             for f in want.fields if f.name in have and f.name not in partition
             and have[f.name].simpleString() != f.dataType.simpleString()
             and not (f.dataType.simpleString() == "timestamp_ntz" and have[f.name].simpleString() == "timestamp")]
    if wrong:
        raise InputFileError(f"{folder}: unexpected column type(s): {'; '.join(wrong)}",
                             hint="the folder was not written by tracecode ingest --to-parquet")


def _local_schema(folder: str):
    """The Spark schema of the first Parquet file under a local ``folder`` (one footer read)."""
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import from_arrow_schema

    for path in sorted(_local_path(folder).rglob("*.parquet")):
        if not path.name.startswith((".", "_")):
            try:
                return from_arrow_schema(pq.read_schema(path))
            except Exception as exc:  # noqa: BLE001 - a damaged file: one clear line
                raise InputFileError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    return None


def is_lake(spark: "SparkSession", inputs: list[str]) -> bool:
    """One folder holding events/ (or a non-local URL): the Parquet layout; else upload files."""
    if len(inputs) != 1:
        return False
    root = inputs[0]
    if not _is_local(root):
        return True
    path = _local_path(root)
    if not path.exists():
        raise InputFileError(f"{root}: no such file or folder",
                             hint="--input is a folder written by tracecode ingest --to-parquet, or upload files")
    if path.is_dir():
        if (path / "events").exists():
            return True
        if (path / "files").exists() or (path / "rejects").exists():
            return True  # read_lake says what is missing
    return False


def open_input(spark: "SparkSession", inputs: list[str] | str, *, kind: str = "auto",
               columns: dict[str, str] | None = None) -> SparkInput:
    """--input: a Parquet layout folder, or upload files / folders of upload files."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [str(inputs)]
    inputs = [str(i) for i in inputs]
    if not inputs:
        raise InputFileError("no --input given", hint="--input DIR (tracecode ingest --to-parquet DIR) or upload files")
    if is_lake(spark, inputs):
        return read_lake(spark, inputs[0])
    from tracecode.spark_ingest import ingest_raw

    return ingest_raw(spark, inputs, kind=kind, columns=columns)


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
    there (DIR/summaries/, :mod:`tracecode.spark_summaries`), so that each upload file is read
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
        # check (tracecode.spark_summaries), else from empty (every file is new).
        schemas = summary_schemas()
        persisted = [stage.meta["persist"] for stage in plan if stage.meta.get("persist")]
        for table in persisted:
            for name in (table, f"{table}_files"):
                if name not in schemas:
                    raise RuleError(f"a stage persists into {name}, which sql/findings_schema.sql does not define")
        reuse = engine.scratch is None  # scratch files go with the engine: recompute then
        if keep_summaries is None:
            keep_summaries = spark.conf.get("spark.tracecode.keepSummaries", "true").lower() != "false"
        # Kept only when this plan builds every table (a --rules subset may need fewer).
        keep = (keep_summaries and data.kind == "lake" and set(persisted) == set(PERSISTED_TABLES)
                and not (reuse and all(t in data.summaries for t in persisted)))
        stored, new_files, added = None, True, {}
        if keep:
            from tracecode.spark_summaries import SummaryStore

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
                from tracecode.spark_summaries import MAX_PARTS

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
        counts["finding_rows"] = engine.materialize("finding_rows", read_sql("findings_rows.sql"), params,
                                                    where="sql/findings_rows.sql")
        counts["new_findings"] = engine.materialize("new_findings", read_sql("findings.sql"), params,
                                                    where="sql/findings.sql")
        summary_rows = engine.fetch(read_sql("findings_summary.sql"), params, where="sql/findings_summary.sql")
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


def run_cli(*, inputs: tuple[str, ...] | list[str], out_dir: Path | None, month: str | None, catalog: Path | None,
            close_days: int, rules: str | None, master: str | None, mask: bool, force: bool, encoding: str,
            headers: str, kind: str, columns_file: Path | None, to_parquet: str | None,
            spark_conf: tuple[str, ...] | list[str], quiet: bool) -> list[RuleSummary]:
    """`tracecode check --engine spark` and `spark_engine.py`: check, write the findings files,
    print the per-rule summary."""
    import click

    if out_dir is None:
        raise click.UsageError("--engine spark needs --out DIR (where the findings files are written)")
    if not inputs:
        raise click.UsageError("--engine spark needs --input (a folder written by ingest --to-parquet, or upload files)")
    try:
        return _run_cli(inputs=inputs, out_dir=out_dir, month=month, catalog=catalog, close_days=close_days,
                        rules=rules, master=master, mask=mask, force=force, encoding=encoding, headers=headers,
                        kind=kind, columns_file=columns_file, to_parquet=to_parquet, spark_conf=spark_conf,
                        quiet=quiet)
    except TracecodeError:
        raise
    except Exception as exc:  # a Java or Python-worker failure: one line, not a JVM stack trace
        clear = spark_failure(exc)
        if clear is None:
            raise
        raise clear from None


def _run_cli(*, inputs, out_dir, month, catalog, close_days, rules, master, mask, force, encoding, headers, kind,
             columns_file, to_parquet, spark_conf, quiet) -> list[RuleSummary]:
    import click

    from tracecode.outputs.export import ENCODINGS, HEADERS, check_out_dir
    from tracecode.outputs.textout import format_table

    if encoding not in ENCODINGS or headers not in HEADERS:
        raise click.UsageError(f"--encoding is one of {', '.join(ENCODINGS)}; --headers one of {', '.join(HEADERS)}")
    check_out_dir(Path(out_dir), force)  # before minutes of Spark work, not after
    conf = {}
    for item in spark_conf or ():
        if "=" not in item:
            raise click.UsageError(f"--spark-conf {item!r}: write KEY=VALUE")
        key, value = item.split("=", 1)
        conf[key.strip()] = value.strip()
    mapping = None
    if columns_file is not None:
        from tracecode.inputs.columns import load_column_mapping

        mapping = load_column_mapping(Path(columns_file))
    say = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    _preflight([str(i) for i in inputs])  # a wrong path fails now, not after the JVM started
    t0 = time.perf_counter()
    conf.setdefault("spark.ui.showConsoleProgress", "false")  # the stages are reported below, one line each
    spark = spark_session(master, conf=conf, log_level=None if os.environ.get("TRACECODE_SPARK_LOG") else "OFF")
    say(f"Spark {spark.version} ({spark.sparkContext.master}) started in {time.perf_counter() - t0:.1f} s")
    from tracecode.spark_output import write_findings

    inputs = list(inputs)
    if to_parquet and not is_lake(spark, inputs):
        # Upload files: add them to the Parquet layout (file ids continue, files already there
        # are skipped), then check the whole layout, history included.
        from tracecode.spark_ingest import ingest_raw, lake_files, write_lake

        last_id, known = lake_files(spark, to_parquet)
        raw = ingest_raw(spark, inputs, kind=kind, columns=mapping, first_file_id=last_id + 1,
                         known_fingerprints=known, log=say, allow_none=True)
        if raw is not None:
            try:
                written = write_lake(raw, to_parquet)
            finally:
                raw.close()
            say(f"Wrote {written:,} code rows as Parquet under {to_parquet}")
        inputs = [str(to_parquet)]
    elif to_parquet:
        raise click.UsageError("--to-parquet goes with upload files as --input, not with a Parquet folder")
    data = open_input(spark, inputs, kind=kind, columns=mapping)
    try:
        result = run_checks_spark(spark, data, month=month, catalog=catalog, close_days=close_days,
                                  rules=rules.split(",") if rules else None, log=say)
        try:
            exported = write_findings(result, Path(out_dir), mask=mask, encoding=encoding, headers=headers,
                                      force=force, mask_key_dir=_mask_key_dir(inputs, data))
        finally:
            result.close()
    finally:
        data.close()
    click.echo(format_table(
        ["rule", "label", "severity", "codes", "rows", "pharmacies"],
        [[r.rule, r.label_zh, r.severity, r.codes, r.rows, r.pharmacies] for r in result.rules]))
    for warning in exported.warnings:
        click.echo(f"Warning: {warning}", err=True)
    say(f"check {result.month} on Spark: {result.findings:,} findings in {result.seconds:.1f} s; "
        f"files in {out_dir}")
    return result.rules


def _preflight(inputs: list[str]) -> None:
    """Check local --input paths before Spark starts: missing paths, and upload files that
    cannot be read (the errors `tracecode ingest` gives). A Parquet layout is checked by
    :func:`read_lake` once Spark runs."""
    local = [i for i in inputs if _is_local(i)]
    if len(local) != len(inputs):
        return
    for item in local:
        if not _local_path(item).exists():
            raise InputFileError(f"{item}: no such file or folder",
                                 hint="--input is a folder written by tracecode ingest --to-parquet, or upload files")
    if len(local) == 1 and _local_path(local[0]).is_dir() and any(
            (_local_path(local[0]) / sub).exists() for sub in ("events", "files", "rejects")):
        return
    from tracecode.spark_ingest import upload_files

    upload_files(local)


def spark_failure(exc: BaseException) -> TracecodeError | None:
    """A Spark or Py4J error as one clear TracecodeError (None when ``exc`` is not one)."""
    kind = type(exc).__module__ or ""
    if not (kind.startswith("pyspark") or kind.startswith("py4j")):
        return None
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    python_error = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", ln)
                    and not ln.startswith(("org.apache", "java.", "py4j"))]
    hint = None
    if any("No module named 'tracecode'" in ln for ln in lines):
        hint = ("the executors' Python cannot import tracecode: install it there (pip install tracecode) or "
                "point spark.pyspark.python at a Python that has it")
    elif any("OutOfMemoryError" in ln for ln in lines):
        hint = "give Spark more memory: --spark-conf spark.driver.memory=8g (local) or spark.executor.memory"
    first = python_error[-1] if python_error else (lines[0] if lines else type(exc).__name__)
    return TracecodeError(f"Spark failed: {first[:500]}", hint=hint)


def _mask_key_dir(inputs, data: SparkInput) -> Path | None:
    """Where the masking key of insured-person ids lives: in the Parquet folder (local), so
    that masked ids stay comparable across exports of it; else nowhere (a key per run)."""
    if data.kind == "lake" and _is_local(data.source):
        return _local_path(data.source)
    return None


def _cli():
    import click

    from tracecode.cli import TracecodeGroup  # noqa: F401  (same error handling below)
    from tracecode.errors import ExitCode
    from tracecode.rules.runner import RULE_IDS

    @click.command(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--input", "inputs", multiple=True, required=True, metavar="DIR|FILE",
                  help="A folder written by `tracecode ingest --to-parquet` or `export --parquet` (local or "
                       "hdfs://, s3a://; summaries kept in DIR/summaries/), or upload files / folders of them "
                       "(CSV, .xlsx, .json, .parquet).")
    @click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
                  help="Folder for suspicious_codes.csv, suspicious_events.csv, rejects.csv, summary.csv.")
    @click.option("--month", default=None, metavar="YYYY-MM")
    @click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=None)
    @click.option("--close-days", default=3, show_default=True, type=click.IntRange(min=0))
    @click.option("--rules", default=None, metavar="RULE,RULE", help=f"Default: all of {', '.join(RULE_IDS)}.")
    @click.option("--master", default=None, help="Spark master URL (default: spark-submit's, else local[*]).")
    @click.option("--spark-conf", multiple=True, metavar="KEY=VALUE")
    @click.option("--mask/--no-mask", default=True, show_default=True)
    @click.option("--encoding", default="utf-8-sig", show_default=True)
    @click.option("--headers", default="nhsa", show_default=True)
    @click.option("--kind", default="auto", show_default=True)
    @click.option("--columns", "columns_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--to-parquet", default=None, metavar="DIR")
    @click.option("--force", is_flag=True)
    @click.option("--quiet", "-q", is_flag=True)
    def main(**kwargs):
        """Run tracecode's rules on Spark (spark-submit entry point); see docs/SPARK.md."""
        try:
            run_cli(**kwargs)
        except TracecodeError as exc:
            click.echo(f"Error: {exc}", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            sys.exit(ExitCode.ERROR)

    return main


if __name__ == "__main__":  # pragma: no cover
    _cli()()
