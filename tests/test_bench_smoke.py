"""bench/run.py at a small size: every stage runs through the real CLI and gets a number."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def _verdict(row: dict) -> bool:
    """The stage's target read back from its text (``≤ 3×``, ``< 500 ms``, ``< 2 s``) and applied."""
    if m := re.fullmatch(r"≤ ([\d.]+)×", row["target"]):
        return row["ratio"] <= float(m[1])
    if m := re.fullmatch(r"< ([\d.]+) (ms|s)", row["target"]):
        return row["wall"] < float(m[1]) / (1000 if m[2] == "ms" else 1)
    raise AssertionError(f"unknown target {row['target']!r}")


@pytest.mark.slow
def test_bench_smoke(tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "20k", "--months", "2", "--work", str(tmp_path / "work"),
         "--cache", str(tmp_path / "cache"), "--json", str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| stage | rows | wall s | rows/s | peak RSS |" in proc.stdout
    result = json.loads(out.read_text())
    rows = {r["stage"]: r for r in result["rows"]}
    assert result["data"]["input_rows"] >= 40_000 and result["data"]["code_rows"] > 0
    assert result["machine"]["cores"] and result["machine"]["duckdb"]

    def measured(stage):
        r = rows[stage]
        assert r["wall"] > 0 and r["rss"] > 0, r
        return r

    for stage in ("ingest", "json", "month", "check", "export", "trace", "trace-cli"):
        r = measured(stage)
        assert r["load"] is not None and r["load"] >= 0 and r["noisy"] is (r["load"] > 1.5), r
        assert isinstance(r["ratio"], float) and math.isfinite(r["ratio"]) and r["ratio"] > 0, r
        assert r["target"] and r["met"] is _verdict(r), r  # every stage has a target, judged by it
    for stage in ("people", "rings"):  # measured when the command exists
        if stage in rows:
            assert isinstance(measured(stage)["ratio"], float), rows[stage]
    pandas = rows["pandas"]
    assert pandas["note"].startswith("skipped") or isinstance(pandas["ratio"], float), pandas
    assert not (tmp_path / "work" / f"{result['data']['key']}.duckdb").exists()  # not kept without --keep-db


def test_native_bound_loads_the_sample_and_times_it_against_the_floor():
    script = BENCH.parent / "native_bound.py"
    sample = BENCH.parents[1] / "data" / "sample" / "sales_2026-01.csv"
    proc = subprocess.run([sys.executable, str(script), str(sample), "--repeat", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ratio = re.search(r"in-DuckDB / floor: ([\d.]+)x wall", proc.stdout)
    assert ratio and float(ratio[1]) > 0
    rows = re.search(r"in-DuckDB +wall [\d.]+ s, cpu [\d.]+ s \(median of 1\), ([\d,]+) rows", proc.stdout)
    assert rows and int(rows[1].replace(",", "")) > 100
