"""The synthetic sample (data/sample) ingested and checked once, shared by the people and rings tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    con = open_store(folder / "s.duckdb")
    files = sorted(SAMPLE.glob("sales_*")) + sorted(SAMPLE.glob("returns_*"))
    ingest_files(con, files)
    months = [r[0] for r in con.execute("SELECT DISTINCT month FROM events ORDER BY 1").fetchall()]
    for m in months:
        run_checks(con, month=m, rules=["recycled_resale"])
    yield con, months
    con.close()
