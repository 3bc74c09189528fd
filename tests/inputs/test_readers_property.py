"""No file content makes a reader raise anything but the project's own errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracecode.errors import TracecodeError
from tracecode.store.ingest import ingest_files
from tracecode.store.database import open_store

HEADER = "fixmedins_code,rtal_docno,drug_trac_codg,sel_retn_time,sel_retn_cnt,trdn_flag\n"


def _ingest_bytes(name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        con = open_store(":memory:")
        try:
            results = ingest_files(con, [path])
            for r in results:
                assert r.rows_read == r.rows_stored + r.rows_rejected
        except TracecodeError:
            pass
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
