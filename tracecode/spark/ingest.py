"""Read raw upload files inside Spark: the same readers, normaliser, hashing and parsing SQL as
``tracecode ingest``, run in Spark tasks (one task per upload file), never in a driver loop.

Each task reads its file with :data:`tracecode.inputs.formats.READERS` (encoding detection, Chinese
headers, line numbers, malformed records), explodes multi-code cells and normalises and hashes
every code in Arrow batches (:func:`tracecode.store.ingest.explode_batch`:
:func:`tracecode.codes.normalize_arrow.normalize_array` + :func:`tracecode.codes.hashing_numpy.code_keys`), and types
and checks every record with ``sql/ingest/parse_batch.sql`` — the very INSERT statements of
:class:`tracecode.store.ingest.Ingestor`, evaluated by an in-process DuckDB on the Arrow batch
(that file uses DuckDB's strptime formats, which have no faithful Spark translation). The
task's output is Arrow batches of events, rejects and one file row (``mapInArrow``).

File ids follow the order of the paths given, and a file whose content was given before is
skipped, as ``tracecode ingest`` does, so the event ids (file_id * 2^32 + sequence) are the ones
an ingest of the same files into an empty database gives.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pyarrow as pa

from tracecode.errors import InputFileError, TracecodeError
from tracecode.spark.layout import (
    _FS,
    DELETE_COLUMNS,
    EVENT_COLUMNS,
    FILE_COLUMNS,
    REJECT_COLUMNS,
    SparkInput,
    _is_local,
    _join,
    ddl,
    is_lake,
    names,
    read_lake,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson", ".parquet", ".pq")
#: Rows per DuckDB parse call inside a task (results do not depend on it).
CHUNK_ROWS = 200_000
BUCKETS = 64

_ARROW = {"BIGINT": pa.int64(), "INT": pa.int32(), "SMALLINT": pa.int16(), "STRING": pa.string(),
          "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "TIMESTAMP_NTZ": pa.timestamp("us")}


def _out_columns() -> list[tuple[str, str]]:
    cols: dict[str, str] = {"part": "STRING"}
    for name, kind in (*EVENT_COLUMNS, *REJECT_COLUMNS, *FILE_COLUMNS, *DELETE_COLUMNS):
        cols.setdefault(name, kind)
    cols["error"] = "STRING"
    cols["hint"] = "STRING"
    return list(cols.items())


OUT_COLUMNS = _out_columns()
OUT_ARROW = pa.schema([(name, _ARROW[kind]) for name, kind in OUT_COLUMNS])


def _batch(part: str, table: pa.Table | dict) -> pa.RecordBatch:
    """One output batch of the task: ``table``'s columns, nulls elsewhere."""
    if isinstance(table, dict):
        table = pa.table({k: pa.array(v, OUT_ARROW.field(k).type) for k, v in table.items()})
    n = table.num_rows
    arrays = []
    for f in OUT_ARROW:
        if f.name == "part":
            arrays.append(pa.array([part] * n, pa.string()))
        elif f.name in table.column_names:
            arrays.append(table.column(f.name).cast(f.type).combine_chunks())
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=OUT_ARROW)


# ---------------------------------------------------------------------------
# In the executors
# ---------------------------------------------------------------------------


def _fingerprint_task(item: tuple[int, str]) -> tuple[int, str | None, str | None]:
    from tracecode.store.ingest import fingerprint

    i, path = item
    try:
        return i, fingerprint(Path(path)), None
    except OSError as exc:
        return i, None, f"{path}: cannot read: {exc.strerror or exc}"


def ingest_task(batches: Iterator[pa.RecordBatch], columns: dict[str, str] | None = None) -> Iterator[pa.RecordBatch]:
    """mapInArrow body: each input row (file_id, path, kind, fingerprint) is one upload file."""
    import duckdb

    from tracecode.sqlfiles import read_sql

    con = duckdb.connect()
    con.execute("SET threads = 1")  # Spark runs one task per core
    con.execute("SET enable_progress_bar = false")
    con.execute(read_sql("schema/store.sql"))
    try:
        for batch in batches:
            for row in batch.to_pylist():
                try:
                    yield from _ingest_file(con, row, columns)
                except TracecodeError as exc:
                    yield _batch("error", {"file_id": [row["file_id"]], "path": [row["path"]], "error": [str(exc)],
                                           "hint": [exc.hint]})
                except Exception as exc:  # noqa: BLE001 - one clear line for the driver, not a worker trace
                    yield _batch("error", {"file_id": [row["file_id"]], "path": [row["path"]],
                                           "error": [f"{row['path']}: {type(exc).__name__}: {exc}"], "hint": [None]})
    finally:
        con.close()


def _ingest_file(con, row: dict, columns: dict[str, str] | None) -> Iterator[pa.RecordBatch]:
    """Ingestor._load for one file, with its INSERT statements, yielding instead of storing."""
    from tracecode.inputs.formats import READERS
    from tracecode.inputs.readers import (
        NeedExactReader,
        Source,
        check_readable,
        detect_format,
    )
    from tracecode.sqlfiles import read_sql
    from tracecode.store.ingest import EVENT_COLUMNS as INSERT_COLUMNS
    from tracecode.store.ingest import explode_batch, split_deletes, store_deletes

    path = Path(row["path"])
    file_id, kind = int(row["file_id"]), row["kind"]
    check_readable(path)
    fmt = detect_format(path)
    parse_sql = read_sql("ingest/parse_batch.sql")
    to_events = f"INSERT INTO events SELECT {INSERT_COLUMNS} FROM ({parse_sql}) WHERE reject_field IS NULL"
    to_rejects = (f"INSERT INTO rejects SELECT file_id, src_line, reject_field, reject_reason, reject_value, "
                  f"raw_record FROM ({parse_sql}) WHERE reject_field IS NOT NULL AND piece = 0 ORDER BY rec")
    params = {"file_id": file_id, "kind": kind}
    counts = {"events": 0, "rejected": 0}
    kinds: set[str] = set()

    def parse(rows: pa.Table) -> Iterator[pa.RecordBatch]:
        con.register("batch_rows", rows)
        try:
            counts["events"] += con.execute(to_events, params).fetchall()[0][0]
            counts["rejected"] += con.execute(to_rejects, params).fetchall()[0][0]
        finally:
            con.unregister("batch_rows")
        events = con.sql("SELECT * FROM events").to_arrow_table()
        rejects = con.sql("SELECT * FROM rejects").to_arrow_table()
        con.execute("DELETE FROM events")
        con.execute("DELETE FROM rejects")
        if events.num_rows:
            kinds.update(events.column("kind").unique().to_pylist())
            yield _batch("event", events)
        if rejects.num_rows:
            yield _batch("reject", rejects)

    def run(exact: bool, skip_records: int) -> tuple[Source, int]:
        """Read the file; rows of the first ``skip_records`` records were emitted already
        (by the fast reader, before it hit a malformed record)."""
        source = Source(path, fmt, kind=kind)
        reader = READERS[fmt]
        batches = reader(path, columns, source, exact=exact) if fmt == "csv" else reader(path, columns, source)
        batches = split_deletes(batches, kind, deletes)
        rec = seq = 0
        pending: list[pa.Table] = []
        pending_rows = 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            rows = explode_batch(batch, rec, seq)
            rec += batch.num_rows
            seq += rows.num_rows
            if skip_records:
                if rec <= skip_records:
                    continue
                import pyarrow.compute as pc

                rows = rows.filter(pc.greater_equal(rows.column("__rec"), skip_records))
            pending.append(rows)
            pending_rows += rows.num_rows
            if pending_rows >= CHUNK_ROWS:
                yield from parse(pa.concat_tables(pending))
                pending, pending_rows = [], 0
                emitted[0] = rec
        if pending:
            yield from parse(pa.concat_tables(pending))
        emitted[0] = rec
        sources.append(source)

    emitted = [0]
    sources: list[Source] = []
    deletes: list[pa.RecordBatch] = []
    try:
        yield from run(False, 0)
    except NeedExactReader:
        yield from run(True, emitted[0])
    source = sources[-1]
    kept, dropped = store_deletes(con, file_id, deletes)
    counts["rejected"] += dropped
    if kept:
        kinds.add("delete")
        yield _batch("delete", con.sql("SELECT * FROM deletes").to_arrow_table())
        con.execute("DELETE FROM deletes")
    rejects = con.sql("SELECT * FROM rejects").to_arrow_table()
    con.execute("DELETE FROM rejects")
    if rejects.num_rows:
        yield _batch("reject", rejects)
    bad = source.bad_records
    if bad:
        yield _batch("reject", {"file_id": [file_id] * len(bad), "src_line": [b.line for b in bad],
                                "field": [b.field for b in bad], "reason": [b.reason for b in bad],
                                "raw_value": [b.raw for b in bad], "raw_record": [None] * len(bad)})
    rejected = counts["rejected"] + len(bad)
    stored = source.records - rejected
    if stored < 0 or counts["events"] + kept < stored:
        raise TracecodeError(f"{path}: internal accounting error: read {source.records}, "
                             f"rejected {rejected}, code rows {counts['events']}")
    file_kind = next(iter(kinds)) if len(kinds) == 1 else ("mixed" if kinds else kind)
    yield _batch("file", {
        "file_id": [file_id], "path": [str(path.resolve())], "name": [path.name], "size": [path.stat().st_size],
        "fingerprint": [row["fingerprint"]], "kind": [file_kind], "format": [fmt], "encoding": [source.encoding],
        "rows_read": [source.records], "rows_stored": [stored], "rows_rejected": [rejected],
        "events": [counts["events"]], "loaded_at": [dt.datetime.now().replace(microsecond=0)],
        "rows_skipped": [source.skipped], "header_line": [source.header_line]})


# ---------------------------------------------------------------------------
# On the driver
# ---------------------------------------------------------------------------


def upload_files(inputs: list[str]) -> list[Path]:
    """The upload files named by ``inputs`` (files, or folders: their upload files, sorted)."""
    out: list[Path] = []
    for item in inputs:
        if not _is_local(item):
            raise InputFileError(f"{item}: upload files are read by Python in the Spark tasks and must be on a "
                                 "file system the executors mount",
                                 hint="copy them to a shared folder, or write a Parquet layout first "
                                      "(tracecode ingest --to-parquet) and give that folder")
        path = Path(item[len("file://"):] if item.startswith("file://") else item)
        if not path.exists():
            raise InputFileError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in UPLOAD_SUFFIXES
                           and not p.name.startswith((".", "_")))
            if not found:
                raise InputFileError(f"{path}: no upload files in this folder (.csv, .xlsx, .json, .parquet) and no "
                                     "events/ folder of a Parquet layout",
                                     hint="give upload files, or a folder written by tracecode ingest --to-parquet")
            out.extend(found)
        else:
            out.append(path)
    from tracecode.inputs.readers import check_readable, detect_format

    for path in out:
        check_readable(path)
        detect_format(path)
    return out


def ingest_raw(spark: "SparkSession", paths: list[str] | list[Path], *, kind: str = "auto",
               columns: dict[str, str] | None = None, first_file_id: int = 1,
               known_fingerprints: set[str] | frozenset[str] = frozenset(), allow_none: bool = False,
               log=None) -> SparkInput | None:
    """Read, normalise, hash and parse upload files in Spark tasks; return the events, rejects
    and files as (cached) DataFrames. Raises InputFileError with the reader's message when a file
    cannot be read (missing columns, binary, wrong encoding ...), as ``tracecode ingest`` does."""
    from pyspark import StorageLevel
    from pyspark.sql.types import StructType

    from tracecode.store.ingest import KINDS, guess_kind

    if kind not in KINDS:
        raise InputFileError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    say = log or (lambda text: None)
    files = upload_files([str(p) for p in paths])
    sc = spark.sparkContext
    digests = sorted(sc.parallelize(list(enumerate(str(p) for p in files)), max(1, len(files)))
                     .map(_fingerprint_task).collect())
    errors = [e for _, _, e in digests if e]
    if errors:
        raise InputFileError(errors[0])
    tasks, seen = [], set(known_fingerprints)
    messages = []
    for (i, digest, _), path in zip(digests, files):
        if digest in seen:
            messages.append(f"{path}: the same content was given before; skipped")
            continue
        seen.add(digest)
        tasks.append((first_file_id + len(tasks), str(path.resolve()), guess_kind(path, kind), digest))
    for m in messages:
        say(m)
    if not tasks:
        if allow_none:
            return None
        raise InputFileError("every upload file given was given before (same content); nothing to read")
    task_schema = StructType.fromDDL("file_id INT, path STRING, kind STRING, fingerprint STRING")
    todo = spark.createDataFrame(sc.parallelize(tasks, len(tasks)), task_schema)
    out_schema = StructType.fromDDL(ddl(OUT_COLUMNS))

    def task(batches, _columns=columns):
        return ingest_task(batches, _columns)

    raw = todo.mapInArrow(task, out_schema).persist(StorageLevel.MEMORY_AND_DISK_DESER)
    raw.count()
    failed = raw.filter("part = 'error'").select("path", "error", "hint").orderBy("file_id").collect()
    if failed:
        raw.unpersist()
        more = f" (and {len(failed) - 1} more file(s))" if len(failed) > 1 else ""
        raise InputFileError(f"{failed[0]['error']}{more}", hint=failed[0]["hint"])
    events = raw.filter("part = 'event'").select(*names(EVENT_COLUMNS))
    rejects = raw.filter("part = 'reject'").select(*names(REJECT_COLUMNS))
    files_df = raw.filter("part = 'file'").select(*names(FILE_COLUMNS))
    deletes = raw.filter("part = 'delete'").select(*names(DELETE_COLUMNS))
    months = sorted(r[0] for r in events.select("month").distinct().collect() if r[0])
    source = files[0].parent if len(files) > 1 else files[0]
    data = SparkInput(events, files_df, rejects, months, str(source), "raw", cached=[raw], deletes=deletes)
    return data


def lake_files(spark: "SparkSession", root: str) -> tuple[int, set[str]]:
    """(highest file_id, fingerprints) of an existing Parquet layout, for appending to it."""
    fs = _FS(spark, root)
    folder = _join(root, "files")
    if not fs.exists(folder) or not fs.has_parquet(folder):
        return 0, set()
    from pyspark.sql.types import StructType

    rows = (spark.read.schema(StructType.fromDDL(ddl(FILE_COLUMNS))).parquet(folder)
            .select("file_id", "fingerprint").collect())
    return max((r[0] for r in rows), default=0), {r[1] for r in rows}


def write_lake(data: SparkInput, root: str | Path) -> int:
    """Append ``data`` (from :func:`ingest_raw`) to the Parquet layout under ``root`` —
    events by month and code-hash bucket, rejects, files — the layout ``tracecode ingest
    --to-parquet`` writes. Give ingest_raw the layout's :func:`lake_files` first, so that file
    ids continue and files already there are skipped. Returns the event rows written."""
    from pyspark.sql import functions as F

    root = str(root)
    events = data.events.withColumn("bucket", F.pmod(F.col("code_key"), F.lit(BUCKETS)).cast("int"))
    # One shuffle to (month, bucket): each month's bucket is written by one task, as one file,
    # whatever the number of upload files (a task per upload file would each write a file into
    # every bucket: millions of small files for a city's daily uploads), and the writing is
    # spread over the executors even when one upload file holds most rows.
    events = events.repartition("month", "bucket")
    events.write.mode("append").partitionBy("month", "bucket").parquet(_join(root, "events"))
    data.rejects.write.mode("append").parquet(_join(root, "rejects"))
    if data.deletes is not None:
        data.deletes.write.mode("append").parquet(_join(root, "deletes"))
    data.files.write.mode("append").parquet(_join(root, "files"))
    return int(data.files.agg(F.sum("events")).collect()[0][0] or 0)


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
    return ingest_raw(spark, inputs, kind=kind, columns=columns)
