"""Lay stored rows out as Parquet for a cluster: normalised, hashed events partitioned by month
and code-hash bucket (every rule groups by code, so buckets are independent), plus the
rejects and the files table."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tracecode.errors import OutputError

BUCKETS = 64


def write_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path, file_ids: list[int] | None = None) -> int:
    """Write events (and rejects, files) of ``file_ids`` (all when None) under ``out_dir``:

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
        events_dir = out_dir / "events"
        # COPY targets cannot be bind parameters; the paths are ours (out_dir + file ids), quoted.
        target = str(events_dir).replace("'", "''")
        total += con.execute(
            f"""COPY (SELECT *, CAST(((code_key % {BUCKETS}) + {BUCKETS}) % {BUCKETS} AS INTEGER) AS bucket
                      FROM events WHERE file_id = ?)
                TO '{target}' (FORMAT parquet, PARTITION_BY (month, bucket), OVERWRITE_OR_IGNORE,
                               FILENAME_PATTERN 'file_{int(file_id)}_{{i}}')""", [file_id]).fetchall()[0][0]
        for table in ("rejects", "files"):
            folder = out_dir / table
            folder.mkdir(exist_ok=True)
            path = str(folder / f"file_{int(file_id)}.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {table} WHERE file_id = ?) TO '{path}' (FORMAT parquet)", [file_id]).fetchall()
    return total
