"""The Parquet layout a Spark check reads (written by ``ingest --to-parquet`` or ``export --parquet``)::

    DIR/events/month=YYYY-MM/bucket=NN/*.parquet   normalised, hashed code rows
    DIR/rejects/*.parquet                          records that could not be read
    DIR/files/*.parquet                            one row per upload file

its columns as Spark types, the file system of a path (local, hdfs://, s3a://), and reading it
as DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tracecode.errors import InputFileError
from tracecode.months import MONTH_RE
from tracecode.rules.catalogue import list_stages
from tracecode.store.schema import table_columns

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


#: The Spark type of each DuckDB column type of the store's tables.
_SPARK_TYPES = {"BIGINT": "BIGINT", "BOOLEAN": "BOOLEAN", "DOUBLE": "DOUBLE", "INTEGER": "INT", "SMALLINT": "SMALLINT",
                "TIMESTAMP": "TIMESTAMP_NTZ", "VARCHAR": "STRING"}


def spark_columns(table: str) -> tuple[tuple[str, str], ...]:
    """``(column, Spark type)`` of a table of the store (sql/schema/store.sql)."""
    return tuple((name, _SPARK_TYPES[kind]) for name, kind in table_columns(table))


#: The columns of the layout's events, files and rejects: the store's, as Spark types.
EVENT_COLUMNS = spark_columns("events")
FILE_COLUMNS = spark_columns("files")
REJECT_COLUMNS = spark_columns("rejects")
DELETE_COLUMNS = spark_columns("deletes")


#: The tables the persist stages keep across checks (sql/stages, "-- persist:").
PERSISTED_TABLES = tuple(s.meta["persist"] for s in list_stages() if s.meta.get("persist"))


#: The code-hash bucket partition column of the layout (tracecode.store.layout.BUCKETS buckets).
BUCKET_COLUMN = ("bucket", "INT")


def ddl(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in columns)


def names(columns: Iterable[tuple[str, str]]) -> list[str]:
    return [name for name, _ in columns]


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
    #: 3507 deletes (None: the input holds none, as a layout written before deletes existed)
    deletes: "DataFrame | None" = None

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
    bad = [m for m in months if not MONTH_RE.match(m)]
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
    deletes_dir = _join(root, "deletes")
    deletes = None
    if fs.exists(deletes_dir) and fs.has_parquet(deletes_dir):
        _check_columns(spark, deletes_dir, DELETE_COLUMNS)
        deletes = spark.read.schema(StructType.fromDDL(ddl(DELETE_COLUMNS))).parquet(deletes_dir)
    return SparkInput(events, files, rejects, months, root, "lake", size=fs.size(events_dir), deletes=deletes)


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
