"""Load upload files into the store: read, explode multi-code cells, normalise and hash the
codes, type and check every record, and write it all in one transaction per file."""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from tqdm import tqdm

from tracecode.codes.hashing_numpy import code_keys
from tracecode.codes.normalize import cell_split_flag
from tracecode.codes.normalize_arrow import (
    explode_codes,
    normalize_array,
    resolve_ambiguous,
)
from tracecode.errors import DatabaseError, TracecodeError
from tracecode.faults import fault_point
from tracecode.inputs.columns import CANONICAL_COLUMNS, INPUT_COLUMNS
from tracecode.inputs.formats import READERS
from tracecode.inputs.readers import (
    UTF8_CHECK_BYTES,
    NeedExactReader,
    Source,
    Utf8Check,
    check_readable,
    detect_format,
)
from tracecode.sqlfiles import read_sql
from tracecode.store.database import (
    MIN_MEMORY_BYTES,
    checked_memory_limit,
    memory_limit_bytes,
)
from tracecode.store.known_codes import store_lookup
from tracecode.store.prefetch import prefetched
from tracecode.store.schema import table_columns

KINDS = ("auto", "sale", "return", "purchase", "purchase_return", "delete")
INSERT_CHUNK_ROWS = 500_000  # two chunks are alive at once (see prefetched)
#: DuckDB's share of the memory limit while files load (and, in the ingest command, while the
#: summaries are brought up to date): what it holds during a load is mostly a cache of blocks
#: already written; the reading and normalising in Python take the rest. A 10M-row file with the
#: 4GB default: peak RSS 3.40 GB with all of it, 2.48 GB in the load with half, as fast (issue 18).
LOAD_MEMORY_SHARE = 0.5

#: The columns of events, in the order of sql/schema/store.sql, for an INSERT.
EVENT_COLUMNS = ", ".join(name for name, _ in table_columns("events"))


@dataclass
class FileResult:
    """What ingesting one file did."""

    path: Path
    status: str  # loaded | skipped
    file_id: int | None = None
    kind: str = ""
    format: str = ""
    encoding: str | None = None
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    events: int = 0
    message: str = ""
    rows_skipped: int = 0  # blank / all-empty rows
    header_line: int = 1
    deletes: int = 0  # 3507 delete records kept (in table deletes)


def fingerprint(path: Path, utf8: Utf8Check | None = None) -> str:
    """The xxh3_128 of the file's bytes; each piece read is fed to ``utf8`` too (one reading of
    the file for both)."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(UTF8_CHECK_BYTES):
            digest.update(chunk)
            if utf8 is not None:
                utf8.feed(chunk)
    return digest.hexdigest()


def guess_kind(path: Path, kind: str) -> str:
    """--kind auto: a file whose name says delete (delete, 3507, 删除) holds deletes; one that
    says purchase (purchase, purc, 采购) purchases, or purchase returns when it says return too;
    one whose name says return (return, retn, 退货) returns. (NHSA JSON records carry their own
    kind, by infno.)"""
    if kind != "auto":
        return kind
    name = path.name.lower()
    if "delete" in name or "3507" in name or "删除" in name:
        return "delete"
    returns = "return" in name or "retn" in name or "退" in name
    if "purchase" in name or "purc" in name or "采购" in name:
        return "purchase_return" if returns else "purchase"
    return "return" if returns else "sale"


def explode_batch(batch: pa.RecordBatch, first_rec: int, first_seq: int,
                  known: Callable[[list[str]], Iterable[str]] | None = None) -> pa.Table:
    """One row per code: explode multi-code cells, normalise and hash each code. ``known``
    (see :func:`tracecode.codes.normalize_arrow.resolve_ambiguous`) tells which GS1 packs the
    store holds already."""
    n = batch.num_rows
    columns = {name: batch.column(name) for name in batch.schema.names}
    for name in CANONICAL_COLUMNS:
        if name not in columns:
            columns[name] = pa.array([""] * n, pa.string())
    columns["trdn_flag"] = _json_split_flags(columns["drug_trac_codg"], columns["trdn_flag"])
    parents, pieces = explode_codes(columns["drug_trac_codg"])
    parents_np = parents.to_numpy(zero_copy_only=False)
    counts = np.bincount(parents_np, minlength=n)
    first_of_parent = np.r_[0, np.cumsum(counts)[:-1]]
    piece_index = np.arange(len(parents_np)) - first_of_parent[parents_np]
    table = pa.table({k: v for k, v in columns.items()})
    if len(parents_np) != n or not np.array_equal(parents_np, np.arange(n)):
        table = table.take(parents)
    normal = resolve_ambiguous(normalize_array(pieces), known)
    keys = code_keys(normal.column("code"))
    extra = {
        "__rec": pa.array(first_rec + parents_np, pa.int64()),
        "__seq": pa.array(first_seq + np.arange(len(parents_np)), pa.int64()),
        "__piece": pa.array(piece_index, pa.int32()),
        "__codes_in_line": pa.array(np.maximum(counts[parents_np], 1), pa.int32()),
        "__code_piece": pieces,
        "__code": normal.column("code"),
        "__code_status": normal.column("status"),
        "__code_scheme": normal.column("scheme"),
        "__code_reason": normal.column("reason"),
        "__product_id": normal.column("product_id"),
        "__code_key": keys,
    }
    for name, array in extra.items():
        table = table.append_column(name, array)
    return table


def _json_split_flags(cells: pa.Array, flags: pa.Array) -> pa.Array:
    """``flags``, with the ``trdnFlag`` of a JSON code cell (a HIS grid cell) where it has one."""
    hit = pc.match_substring_regex(cells, "trdn_?flag", ignore_case=True).fill_null(False)
    if not pc.any(hit).as_py():
        return flags
    rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    found = [cell_split_flag(c) for c in cells.take(pa.array(rows)).to_pylist()]
    mask = np.zeros(len(cells), dtype=bool)
    mask[[r for r, f in zip(rows, found) if f is not None]] = True
    if not mask.any():
        return flags
    values = pa.array([f for f in found if f is not None], pa.string())
    flags = flags.cast(pa.string()) if flags.type != pa.string() else flags
    return pc.replace_with_mask(flags, pa.array(mask), values)


def exploded_chunks(batches: Iterable[pa.RecordBatch],
                    known: Callable[[list[str]], Iterable[str]] | None = None) -> Iterator[tuple[pa.Table, int]]:
    """Explode, normalise and hash record batches into chunks of about INSERT_CHUNK_ROWS code
    rows (DuckDB appends far faster in big chunks). Yields (rows, records in them)."""
    rec = seq = 0
    pending: list[pa.Table] = []
    pending_rows = pending_records = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        rows = explode_batch(batch, rec, seq, known)
        rec += batch.num_rows
        seq += rows.num_rows
        pending.append(rows)
        pending_rows += rows.num_rows
        pending_records += batch.num_rows
        if pending_rows >= INSERT_CHUNK_ROWS:
            yield pa.concat_tables(pending), pending_records
            pending, pending_rows, pending_records = [], 0, 0
    if pending:
        yield pa.concat_tables(pending), pending_records


def split_deletes(batches: Iterable[pa.RecordBatch], kind: str,
                  deletes: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` without their delete records (3507, or every record of a --kind delete
    file), which are appended to ``deletes`` instead."""
    for batch in batches:
        if "__kind" in batch.schema.names:
            marked = pc.equal(batch.column("__kind"), "delete")
            is_delete = pc.fill_null(marked, kind == "delete")
        else:
            is_delete = pa.array([kind == "delete"] * batch.num_rows)
        if not pc.any(is_delete).as_py():
            yield batch
            continue
        deletes.append(batch.filter(is_delete))
        rest = batch.filter(pc.invert(is_delete))
        if rest.num_rows:
            yield rest


def store_deletes(con: duckdb.DuckDBPyConnection, file_id: int, batches: list[pa.RecordBatch]) -> tuple[int, int]:
    """Write the delete records to ``deletes`` and the broken ones to ``rejects``; returns
    (kept, rejected)."""
    if not batches:
        return 0, 0
    table = pa.Table.from_batches(batches)
    for name in INPUT_COLUMNS:
        if name not in table.column_names:
            table = table.append_column(name, pa.array([""] * table.num_rows, pa.string()))
    delete_rows = table  # noqa: F841 (read by DuckDB's replacement scan)
    parse_sql = read_sql("ingest/parse_deletes.sql")
    params = {"file_id": file_id}
    kept = con.execute(
        "INSERT INTO deletes SELECT file_id, src_line, fixmedins_code, fixmedins_bchno, inv_data_type, deleted_at "
        f"FROM ({parse_sql}) WHERE reject_field IS NULL", params).fetchall()[0][0]
    rejected = con.execute(
        "INSERT INTO rejects SELECT file_id, src_line, reject_field, reject_reason, reject_value, raw_record "
        f"FROM ({parse_sql}) WHERE reject_field IS NOT NULL ORDER BY src_line", params).fetchall()[0][0]
    return kept, rejected


class Ingestor:
    """Loads files into an open store, one transaction per file."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, columns: dict[str, str] | None = None,
                 progress: bool = False, reader_processes: bool = False):
        self.con = con
        self.columns = columns
        self.progress = progress
        self.reader_processes = reader_processes

    def ingest_file(self, path: Path, kind: str = "auto") -> FileResult:
        path = Path(path)
        fault_point("ingest.file")
        check_readable(path)
        fmt = detect_format(path)
        utf8_check = Utf8Check() if fmt in ("csv", "json") else None
        digest = fingerprint(path, utf8_check)
        known = self.con.execute(
            "SELECT file_id, name, loaded_at FROM files WHERE fingerprint = ?", [digest]).fetchall()
        known = known[0] if known else None
        if known:
            return FileResult(path, "skipped", file_id=known[0], format=fmt,
                              message=f"already loaded as file #{known[0]} ({known[1]}, {known[2]:%Y-%m-%d %H:%M}); nothing added")
        utf8 = utf8_check.valid() if utf8_check is not None else None
        try:
            return self._load(path, fmt, digest, guess_kind(path, kind), exact=False, utf8=utf8)
        except NeedExactReader:
            return self._load(path, fmt, digest, guess_kind(path, kind), exact=True, utf8=utf8)

    def _load(self, path: Path, fmt: str, digest: str, kind: str, exact: bool, utf8: bool | None = None) -> FileResult:
        con = self.con
        source = Source(path, fmt, kind=kind, utf8=utf8)
        con.execute("BEGIN TRANSACTION")
        try:
            file_id = con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM files").fetchall()[0][0]
            parse_sql = read_sql("ingest/parse_batch.sql")
            to_events = f"INSERT INTO events SELECT {EVENT_COLUMNS} FROM ({parse_sql}) WHERE reject_field IS NULL"
            to_rejects = (f"INSERT INTO rejects SELECT file_id, src_line, reject_field, reject_reason, reject_value, "
                          f"raw_record FROM ({parse_sql}) WHERE reject_field IS NOT NULL AND piece = 0 ORDER BY rec")
            params = {"file_id": file_id, "kind": kind}
            events = rejected = 0
            reader = READERS[fmt]
            if fmt == "csv":
                batches = reader(path, self.columns, source, exact=exact)
            elif fmt == "json":
                batches = reader(path, self.columns, source, processes=self.reader_processes)
            else:
                batches = reader(path, self.columns, source)
            deletes: list[pa.RecordBatch] = []
            batches = split_deletes(batches, kind, deletes)
            if fmt == "json":
                # Messages are read in a thread of their own, apart from the normalising: for them
                # reading is the slow stage (300k messages 3.97 -> 3.67 s, medians of 5
                # alternating). A CSV gains nothing so (5M rows 24.1 vs 24.8 s): DuckDB's writing
                # is its slow stage (issue 18).
                batches = prefetched(batches, depth=1)
            with tqdm(desc=path.name, unit=" rows", disable=not self.progress, leave=False, file=sys.stderr) as bar:
                # Reading and normalising the next chunk (Python) overlaps with DuckDB writing
                # this one; at most two chunks are alive at once.
                chunks = exploded_chunks(batches, store_lookup(con))
                for batch_rows, records in prefetched(chunks, depth=1):
                    # DuckDB finds `batch_rows` by a replacement scan of this local variable. Not
                    # con.register(): a registered table stays alive until the file's transaction
                    # commits, so memory would grow with the file.
                    stored = con.execute(to_events, params).fetchall()[0][0]
                    events += stored
                    if stored < batch_rows.num_rows:  # the rejects query re-parses: only when needed
                        rejected += con.execute(to_rejects, params).fetchall()[0][0]
                    del batch_rows
                    bar.update(records)
                    fault_point("ingest.chunk")
            kept, dropped = store_deletes(con, file_id, deletes)
            rejected += dropped
            result = self._record_file(path, fmt, digest, kind, file_id, source, events, rejected, kept)
            fault_point("ingest.commit")
            con.execute("COMMIT")
            fault_point("ingest.committed")
            return result
        except BaseException as exc:
            _rollback(con)
            if isinstance(exc, duckdb.Error) and "memory" in str(exc).lower():
                raise DatabaseError(
                    f"{path}: DuckDB ran out of memory; nothing of this file was stored ({str(exc).splitlines()[0]})",
                    hint="raise --memory-limit (or $TRACECODE_MEMORY_LIMIT); DuckDB spills to disk beyond it") from None
            raise

    def _record_file(self, path: Path, fmt: str, digest: str, kind: str, file_id: int, source: Source,
                     events: int, rejected: int, deletes: int = 0) -> FileResult:
        con = self.con
        for bad in source.bad_records:
            con.execute("INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?)",
                        [file_id, bad.line, bad.field, bad.reason, _storable(bad.raw), None])
        rejected += len(source.bad_records)
        stored = source.records - rejected
        if stored < 0 or events + deletes < stored:
            raise TracecodeError(f"{path}: internal accounting error: read {source.records}, "
                                 f"rejected {rejected}, code rows {events}")
        kinds = [r[0] for r in con.execute(
            "SELECT DISTINCT kind FROM events WHERE file_id = ?", [file_id]).fetchall()]
        if deletes:
            kinds.append("delete")
        file_kind = kinds[0] if len(kinds) == 1 else ("mixed" if kinds else kind)
        con.execute(
            "INSERT INTO files (file_id, path, name, size, fingerprint, kind, format, encoding, rows_read, rows_stored, "
            "rows_rejected, events, loaded_at, rows_skipped, header_line) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_id, str(path.resolve()), path.name, path.stat().st_size, digest, file_kind, fmt, source.encoding,
             source.records, stored, rejected, events, dt.datetime.now().replace(microsecond=0), source.skipped,
             source.header_line])
        return FileResult(path, "loaded", file_id, file_kind, fmt, source.encoding, source.records, stored,
                          rejected, events, rows_skipped=source.skipped, header_line=source.header_line,
                          deletes=deletes)


def _storable(raw: str) -> str:
    """A reject's raw text as UTF-8 can hold it: an unpaired surrogate (from a JSON \\ud800
    escape) written as its escape."""
    return raw if raw.isascii() else raw.encode("utf-8", "backslashreplace").decode("utf-8")


def ingest_files(con: duckdb.DuckDBPyConnection, paths: Iterable[Path], *, kind: str = "auto",
                 columns: dict[str, str] | None = None, progress: bool = False,
                 on_result: Callable[[FileResult], None] | None = None,
                 reader_processes: bool = False) -> list[FileResult]:
    """Ingest each file in its own transaction. A file that cannot be read raises
    InputFileError after the files before it were committed; nothing of it is written.
    ``reader_processes``: a large file of NHSA messages is read by worker processes (started by
    spawn, which imports the main module again: a script that calls this with True needs an
    ``if __name__ == "__main__":`` guard, as the tracecode command has)."""
    ingestor = Ingestor(con, columns=columns, progress=progress, reader_processes=reader_processes)
    results = []
    try:
        with loading_memory(con):
            for path in paths:
                result = ingestor.ingest_file(Path(path), kind)
                results.append(result)
                if on_result:
                    on_result(result)
    finally:
        # the Arrow pool keeps what reading freed: what runs next is DuckDB's
        pa.default_memory_pool().release_unused()
        update_code_index(con)
    return results


@contextmanager
def loading_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB gets LOAD_MEMORY_SHARE of the store's memory limit inside, all of it again after
    (nested uses change nothing). Only for a store opened by open_store, which keeps the limit as
    given: DuckDB shows its own setting rounded ('3.7 GiB')."""
    full, active = con.execute(
        "SELECT getvariable('tracecode_memory_limit'), getvariable('tracecode_loading')").fetchall()[0]
    if not full or active:
        yield
        return
    share = max(int(memory_limit_bytes(full) * LOAD_MEMORY_SHARE), MIN_MEMORY_BYTES)
    con.execute(f"SET memory_limit = '{share}B'")
    con.execute("SET VARIABLE tracecode_loading = true")
    try:
        yield
    finally:
        con.execute("RESET VARIABLE tracecode_loading")
        con.execute(f"SET memory_limit = '{checked_memory_limit(full)}'")


def update_code_index(con: duckdb.DuckDBPyConnection) -> None:
    """Add one sorted run of (code_key, event_id) for the files loaded since the last run."""
    con.execute("BEGIN TRANSACTION")
    try:
        upto = int(con.execute(
            "SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'indexed_file_id'").fetchall()[0][0])
        newest = con.execute("SELECT coalesce(max(file_id), 0) FROM files").fetchall()[0][0]
        if newest > upto:
            con.execute("INSERT INTO code_index SELECT code_key, event_id FROM events WHERE file_id > ? ORDER BY code_key",
                        [upto])
            con.execute("INSERT OR REPLACE INTO meta VALUES ('indexed_file_id', ?)", [str(newest)])
        fault_point("ingest.code_index")
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back; a failed COMMIT has already ended the transaction, which is fine."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass
