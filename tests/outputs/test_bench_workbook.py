"""bench/bench_workbook.py at a tiny size: it runs and reports each writer's time (no figure is
judged here: the target needs a quiet machine)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_workbook.py"


def test_bench_workbook_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_workbook", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--findings", "50", "--evidence", "1500", "--repeat", "2", "--zlib", "--openpyxl",
                         "--json", str(tmp_path / "r.json")])  # evidence past SQL_ROWS: DuckDB writes its rows
    assert result["evidence"] == 1500 and result["csv_s"] > 0 and result["workbook_s"] > 0 and result["openpyxl_s"] > 0
    assert [len(result["runs"][k]) for k in ("csv", "workbook", "zlib")] == [2, 2, 2]
    assert result["sizes_mb"]["zlib"] > 0 and result["sizes_mb"]["workbook"] > 0
    # the ratio of the unrounded times: near that of the rounded ones
    assert result["workbook_ratio"] == pytest.approx(result["workbook_s"] / result["csv_s"], rel=0.1)
    assert (tmp_path / "r.json").exists()
