"""Lay stored rows out as Parquet for a cluster: normalised, hashed events partitioned by month
and code-hash bucket (every rule groups by code, so buckets are independent), plus the
rejects and the files table."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb

from tracecode.errors import OutputError
from tracecode.faults import fault_point
from tracecode.staging import replace_folder, staging_folder

BUCKETS = 64
#: The folders of the layout.
LAYOUT_FOLDERS = ("events", "rejects", "files")


def _copy_events(con: duckdb.DuckDBPyConnection, events_dir: Path, where: str, params: list, pattern: str) -> int:
    # COPY targets cannot be bind parameters; the path is ours (out_dir), quoted, and the
    # file name pattern is built from integers.
    target = str(events_dir).replace("'", "''")
    return con.execute(
        f"""COPY (SELECT *, CAST(((code_key % {BUCKETS}) + {BUCKETS}) % {BUCKETS} AS INTEGER) AS bucket
                  FROM events WHERE {where})
            TO '{target}' (FORMAT parquet, PARTITION_BY (month, bucket), OVERWRITE_OR_IGNORE,
                           FILENAME_PATTERN '{pattern}')""", params).fetchall()[0][0]


def _copy_table(con: duckdb.DuckDBPyConnection, table: str, path: Path, where: str, params: list) -> None:
    path.parent.mkdir(exist_ok=True)
    target = str(path).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM {table} WHERE {where}) TO '{target}' (FORMAT parquet)", params).fetchall()


def write_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path, file_ids: list[int] | None = None) -> int:
    """Write events (and rejects, files) of ``file_ids`` (all when None) under ``out_dir``, one
    set of files per upload file, so that later ingests append to the layout:

    \b
      out_dir/events/month=YYYY-MM/bucket=NN/file_<file_id>_<n>.parquet
      out_dir/rejects/file_<file_id>.parquet
      out_dir/files/file_<file_id>.parquet
    Returns the number of event rows written.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror}") from None
    if file_ids is None:
        file_ids = [r[0] for r in con.execute("SELECT file_id FROM files ORDER BY file_id").fetchall()]
    total = 0
    for file_id in file_ids:
        total += _copy_events(con, out_dir / "events", "file_id = ?", [file_id], f"file_{int(file_id)}_{{i}}")
        # files/ last: its part marks the upload file as complete in the layout (held_file_ids).
        for table in ("rejects", "files"):
            _copy_table(con, table, out_dir / table / f"file_{int(file_id)}.parquet", "file_id = ?", [file_id])
        fault_point("lake.file")
    return total


_FILES_PART = re.compile(r"(file|all)_(\d+)\.parquet")


def held_file_ids(out_dir: Path, stored: list[int]) -> set[int]:
    """The stored file ids the layout under ``out_dir`` already holds: ``files/file_<id>.parquet``
    (written last for each upload file, so its presence means the file's events and rejects are
    complete) and ``files/all_<n>.parquet`` (an ``export --parquet`` layout: every id up to n)."""
    held: set[int] = set()
    folder = Path(out_dir) / "files"
    if not folder.is_dir():
        return held
    for part in folder.iterdir():
        match = _FILES_PART.fullmatch(part.name)
        if match is None:
            continue
        number = int(match.group(2))
        held.update(i for i in stored if i == number or (match.group(1) == "all" and i <= number))
    return held


def write_missing(con: duckdb.DuckDBPyConnection, out_dir: Path) -> int:
    """Bring the layout under ``out_dir`` up to the store: write every stored upload file it does
    not hold yet (see :func:`held_file_ids`), so that the lake never misses rows the database
    keeps, whether an earlier ingest failed on a later file or was killed before writing the lake.
    Returns the number of event rows written."""
    stored = [r[0] for r in con.execute("SELECT file_id FROM files ORDER BY file_id").fetchall()]
    held = held_file_ids(out_dir, stored)
    return write_parquet(con, out_dir, [i for i in stored if i not in held])


def export_layout(con: duckdb.DuckDBPyConnection, out_dir: Path, force: bool = False) -> int:
    """Write the whole database (every file loaded, all months: a Spark check of a month needs
    the history before it) as the Parquet layout under ``out_dir``, for a database that was
    loaded without ``ingest --to-parquet``: one file per month and bucket (not one per upload
    file and bucket, which a city's thousands of daily files would turn into millions), named
    ``all_<max file_id>_<n>`` so that a later ``ingest --to-parquet`` can append to it. The
    layout is written into a staging folder and moved in at the end, so a failure leaves
    ``out_dir`` as it was. A folder that already holds files is refused unless ``force``, which
    replaces its events/, rejects/ and files/ (and drops the summaries a Spark check kept in
    summaries/). Returns the number of event rows written."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a folder", hint="give --parquet a folder path")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise OutputError(f"Parquet folder {out_dir} is not empty",
                          hint="choose an empty or new folder, or add --force to replace its layout")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror}") from None
    last = int(con.execute("SELECT COALESCE(MAX(file_id), 0) FROM files").fetchall()[0][0])
    with staging_folder(out_dir) as staging:
        rows = _copy_events(con, staging / "events", "file_id <= ?", [last], f"all_{last}_{{i}}")
        for table in ("rejects", "files"):
            _copy_table(con, table, staging / table / f"all_{last}.parquet", "file_id <= ?", [last])
        # A replaced layout's kept Spark summaries describe the old one: dropped with it.
        shutil.rmtree(out_dir / "summaries", ignore_errors=True)
        for name in LAYOUT_FOLDERS:
            replace_folder(staging, out_dir, name)
    return rows
