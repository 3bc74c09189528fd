"""No file content makes a reader raise anything but its documented InputFileError, and what a
reader accepts is accounted for record by record."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracecode.errors import InputFileError
from tracecode.store.ingest import ingest_files
from tracecode.store.database import open_store

HEADER = "fixmedins_code,rtal_docno,drug_trac_codg,sel_retn_time,sel_retn_cnt,trdn_flag\n"


def _stored(con) -> tuple[int, int, int, int]:
    """(files, events, distinct source lines of the events, rejects) in the store."""
    return con.execute("SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM events), "
                       "(SELECT count(DISTINCT (file_id, src_line)) FROM events), "
                       "(SELECT count(*) FROM rejects)").fetchall()[0]


def _ingest_bytes(name: str, content: bytes) -> None:
    """Ingest ``content`` as one file. Either the file is refused with the documented
    InputFileError (one clear message, nothing of the file written), or it is loaded and
    every record read is accounted for: stored or rejected, with its rows in the store."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        con = open_store(":memory:")
        try:
            try:
                results = ingest_files(con, [path])
            except InputFileError as e:
                assert str(e).strip(), "an InputFileError without a message"
                assert _stored(con) == (0, 0, 0, 0)
                return
            (r,) = results
            assert r.status == "loaded" and r.file_id is not None, r
            assert r.rows_read == r.rows_stored + r.rows_rejected, r
            assert _stored(con) == (1, r.events, r.rows_stored, r.rows_rejected), r
        finally:
            con.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_as_csv(content):
    _ingest_bytes("x.csv", content)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.text(max_size=25), min_size=0, max_size=8), max_size=6))
def test_any_cells_under_a_valid_header(rows):
    body = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows)
    _ingest_bytes("x.csv", (HEADER + body).encode("utf-8", "replace"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_as_json(content):
    _ingest_bytes("x.jsonl", content)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes_as_xlsx_or_parquet(content):
    _ingest_bytes("x.xlsx", content)
    _ingest_bytes("x.parquet", content)
