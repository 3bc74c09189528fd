"""bench/run.py keeps figures taken under load out of RESULTS.md: each run records the 1-minute
load around it, each figure shows it, and --md refuses a noisy result unless --noisy (then it is
marked). No benchmark is run here: the pieces are tried on made-up results."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_run", None)


def result(bench, *loads: float) -> dict:
    rows = []
    for i, load in enumerate(loads):
        row = bench.Row("ingest" if i == 0 else "check", rows=1000, wall=2.0, rss=10**8, floor="floor",
                        floor_wall=1.0, floor_rss=10**8, ratio=2.0, target="≤ 2×", met=True)
        row.saw(bench.Run(2.0, 10**8, 0, "", "", load=load), bench.Run(1.0, 10**8, 0, "", "", load=load / 2))
        rows.append(dataclass_row(bench, row))
    return {"date": "2026-12-04 22:00 UTC", "command": "python bench/run.py --rows 1k",
            "machine": {"cores": 2, "cpu": "x", "ram": 2**34, "os": "linux", "python": "3.11", "duckdb": "2",
                        "pyarrow": "26", "pandas": "3", "tracecode": "0.1"},
            "data": {"rows_per_month": 1000, "months": 1, "key": "k", "generator": "synth", "files": 1,
                     "input_rows": 1000, "code_rows": 1000},
            "memory_limit": "4GB", "repeat": 1, "peak_rss": 10**8, "peak_rss_met": True,
            "load_average": {"start": [0.1, 0.1, 0.1], "end": [0.1, 0.1, 0.1]},
            "max_load": max(loads), "rows": rows}


def dataclass_row(bench, row) -> dict:
    from dataclasses import asdict

    return asdict(row) | {"rate": row.rate, "noisy": row.noisy}


def test_a_row_keeps_the_highest_load_of_its_runs_and_its_floors(bench):
    row = bench.Row("ingest")
    row.saw(bench.Run(1.0, 1, 0, "", "", load=0.4), bench.Run(1.0, 1, 0, "", "", load=1.2))
    assert row.load == 1.2 and not row.noisy
    row.saw(bench.Run(1.0, 1, 0, "", "", load=1.6))
    assert row.load == 1.6 and row.noisy


def test_every_figure_shows_its_load(bench):
    text = bench.markdown(result(bench, 0.4, 0.9))
    assert "| load (1 min) |" in text
    assert "| 0.40 |" in text and "| 0.90 |" in text
    assert "NOISY" not in text


def test_a_quiet_result_is_appended(bench, tmp_path):
    md = tmp_path / "RESULTS.md"
    md.write_text("# Results\n", encoding="utf-8")
    assert bench.append_markdown(md, result(bench, 0.3, 1.5)) is True
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Results\n") and "### 1k rows/month" in text and "NOISY" not in text


def test_a_noisy_result_is_refused_and_nothing_is_written(bench, tmp_path):
    md = tmp_path / "RESULTS.md"
    md.write_text("# Results\n", encoding="utf-8")
    assert bench.append_markdown(md, result(bench, 0.3, 1.51)) is False
    assert md.read_text(encoding="utf-8") == "# Results\n"


def test_with_noisy_a_noisy_result_is_appended_and_marked(bench, tmp_path):
    md = tmp_path / "RESULTS.md"
    assert bench.append_markdown(md, result(bench, 3.2, 0.4), allow_noisy=True) is True
    text = md.read_text(encoding="utf-8")
    assert "— NOISY (measured under load)" in text
    assert "| 3.20 NOISY |" in text and "| 0.40 |" in text  # only the loaded figure is marked


def test_the_launcher_records_the_load_before_a_run(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "SETTLE_S", 0)
    run = bench.run_measured([sys.executable, "-c", "pass"], tmp_path / "log")
    assert run.rc == 0 and run.load >= 0.0


def test_the_load_is_taken_once_the_benchs_own_load_has_settled(bench, monkeypatch):
    """A run waits for the 1-minute load to fall below LOAD_QUIET (the previous run's own load
    decaying), up to --settle seconds; still above it then, the figure is noisy."""
    loads = iter([2.4, 1.9, 1.2, 0.9])
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (next(loads), 0.0, 0.0))
    monkeypatch.setattr(bench.time, "sleep", lambda s: None)
    assert bench.settled_load(settle_s=60) == 1.2
    busy = iter([3.0] * 1000)
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (next(busy), 0.0, 0.0))
    assert bench.settled_load(settle_s=0) == 3.0
