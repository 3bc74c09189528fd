"""Lay stored rows out as Parquet for a cluster: normalised, hashed events partitioned by month
and code-hash bucket (every rule groups by code, so buckets are independent), plus the
rejects and the files table."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb

from tracecode.errors import OutputError
from tracecode.faults import fault_point
from tracecode.privacy import MASK_MACRO, mask_key
from tracecode.sqlfiles import bind_params, read_sql, strip_semicolon
from tracecode.staging import folder_lock, publish, recover, staging_folder

BUCKETS = 64
#: The folders of the layout.
LAYOUT_FOLDERS = ("events", "rejects", "deletes", "files")


#: In the root of a layout whose insured-person ids are masked (``export --parquet`` without
#: ``--no-mask``): a later ``ingest --to-parquet`` into it masks its rows too, with the same key,
#: so that one layout never holds one person under two ids.
MASKED_MARK = "_tracecode_masked"


def _params(con: duckdb.DuckDBPyConnection, file_lo: int, file_hi: int, mask: bool) -> dict:
    con.execute(MASK_MACRO)  # bound even when not called
    return {"file_lo": int(file_lo), "file_hi": int(file_hi), "mask": mask, "mask_key": mask_key(con) if mask else "",
            "buckets": BUCKETS}


def _copy_events(con: duckdb.DuckDBPyConnection, events_dir: Path, params: dict, pattern: str) -> int:
    # COPY targets cannot be bind parameters; the path is ours (out_dir), quoted, and the file
    # name pattern is built from integers.
    target = str(events_dir).replace("'", "''")
    sql = read_sql("export/layout_events.sql")
    return con.execute(
        f"""COPY ({strip_semicolon(sql)})
            TO '{target}' (FORMAT parquet, PARTITION_BY (month, bucket), OVERWRITE_OR_IGNORE,
                           FILENAME_PATTERN '{pattern}')""", bind_params(sql, params)).fetchall()[0][0]


def _copy_table(con: duckdb.DuckDBPyConnection, table: str, path: Path, params: dict) -> None:
    if table not in ("rejects", "deletes", "files"):
        raise ValueError(f"not a layout table: {table}")
    path.parent.mkdir(exist_ok=True)
    target = str(path).replace("'", "''")
    if table == "rejects":
        sql = read_sql("export/layout_rejects.sql")
        con.execute(f"COPY ({strip_semicolon(sql)}) TO '{target}' (FORMAT parquet)", bind_params(sql, params)).fetchall()
    else:  # files, deletes: no personal data
        con.execute(f"COPY (SELECT * FROM {table} WHERE file_id BETWEEN $file_lo AND $file_hi ORDER BY file_id) "
                    f"TO '{target}' (FORMAT parquet)", {k: params[k] for k in ("file_lo", "file_hi")}).fetchall()


def is_masked(out_dir: Path) -> bool:
    """Whether the layout under ``out_dir`` holds masked insured-person ids (:data:`MASKED_MARK`)."""
    return (Path(out_dir) / MASKED_MARK).is_file()


def key_check(key: str) -> str:
    """A check value of a mask key, kept in :data:`MASKED_MARK`: tells whether rows added later
    are masked with the same key, without keeping the key."""
    return hashlib.sha256(f"tracecode mask key check:{key}".encode("utf-8")).hexdigest()[:16]


def _mark_text(key: str) -> str:
    return f"insured-person ids (psn_no) are masked\nkey_check={key_check(key)}\n"


def check_layout_key(con: duckdb.DuckDBPyConnection, out_dir: Path) -> None:
    """OutputError when the layout under ``out_dir`` is masked with another key than the one
    this connection masks with (:func:`tracecode.privacy.mask_key`): rows added would carry other
    ids for the same people. Nothing to check for a raw or missing layout."""
    if is_masked(out_dir):
        _check_same_key(out_dir, mask_key(con))


def _check_same_key(out_dir: Path, key: str) -> None:
    text = (Path(out_dir) / MASKED_MARK).read_text(encoding="utf-8")
    kept = re.search(r"^key_check=(\w+)$", text, re.M)
    if kept and kept.group(1) != key_check(key):
        raise OutputError(f"the layout {out_dir} was masked with another key than this command's",
                          hint="give the --mask-key-file it was exported with, or export it again "
                               "(export --parquet --force)")


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
    with folder_lock(out_dir):
        recover(out_dir)  # an export --parquet killed while moving its layout in: finished first
        return _write_files(con, out_dir, file_ids)


def _write_files(con: duckdb.DuckDBPyConnection, out_dir: Path, file_ids: list[int]) -> int:
    total = 0
    mask = is_masked(out_dir)
    if mask and file_ids:
        _check_same_key(out_dir, mask_key(con))
    for file_id in file_ids:
        params = _params(con, file_id, file_id, mask)
        total += _copy_events(con, out_dir / "events", params, f"file_{int(file_id)}_{{i}}")
        # files/ last: its part marks the upload file as complete in the layout (held_file_ids).
        for table in ("rejects", "deletes", "files"):
            _copy_table(con, table, out_dir / table / f"file_{int(file_id)}.parquet", params)
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
    Rows going into a masked layout (:data:`MASKED_MARK`) are masked. Returns the number of event
    rows written."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out_dir}: {exc.strerror}") from None
    stored = [r[0] for r in con.execute("SELECT file_id FROM files ORDER BY file_id").fetchall()]
    with folder_lock(out_dir):
        recover(out_dir)
        held = held_file_ids(out_dir, stored)
        return _write_files(con, out_dir, [i for i in stored if i not in held])


def export_layout(con: duckdb.DuckDBPyConnection, out_dir: Path, force: bool = False, mask: bool = True) -> int:
    """Write the whole database (every file loaded, all months: a Spark check of a month needs
    the history before it) as the Parquet layout under ``out_dir``, for a database that was
    loaded without ``ingest --to-parquet``: one file per month and bucket (not one per upload
    file and bucket, which a city's thousands of daily files would turn into millions), named
    ``all_<max file_id>_<n>`` so that a later ``ingest --to-parquet`` can append to it. The
    layout is written into a staging folder and moved in at the end, so a failure leaves
    ``out_dir`` as it was. A folder that already holds files is refused unless ``force``, which
    replaces its events/, rejects/ and files/ (and drops the summaries a Spark check kept in
    summaries/). Insured-person ids are masked as in every export (:mod:`tracecode.privacy`)
    unless ``mask`` is False. Returns the number of event rows written."""
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
        params = _params(con, 0, last, mask)
        rows = _copy_events(con, staging / "events", params, f"all_{last}_{{i}}")
        fault_point("export.file")
        for table in ("rejects", "deletes", "files"):
            _copy_table(con, table, staging / table / f"all_{last}.parquet", params)
            fault_point("export.file")
        if mask:
            (staging / MASKED_MARK).write_text(_mark_text(params["mask_key"]), encoding="utf-8")
        # A replaced layout's kept Spark summaries describe the old one: dropped with it.
        publish(staging, out_dir, [MASKED_MARK], replace=LAYOUT_FOLDERS,
                drop=["summaries"] + ([] if mask else [MASKED_MARK]))
    return rows
