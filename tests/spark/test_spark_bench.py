"""bench/spark_eventlog.py on a hand-built event log, and bench/spark_bench.py at a small size
(skipped without Java or PySpark, as the parity tests are)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.spark.test_spark_parity import _spark_missing

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _eventlog_module():
    spec = importlib.util.spec_from_file_location("spark_eventlog", BENCH / "spark_eventlog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _task(stage: int, run_ms: int, cpu_ns: int, launch: int, finish: int, shuffle_write: int = 0,
          spill: int = 0) -> dict:
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage,
            "Task Info": {"Launch Time": launch, "Finish Time": finish, "Failed": False, "Killed": False},
            "Task Metrics": {"Executor Run Time": run_ms, "Executor CPU Time": cpu_ns, "JVM GC Time": 10,
                             "Executor Deserialize Time": 5, "Disk Bytes Spilled": spill,
                             "Shuffle Write Metrics": {"Shuffle Bytes Written": shuffle_write},
                             "Shuffle Read Metrics": {"Remote Bytes Read": 0, "Local Bytes Read": 7},
                             "Input Metrics": {"Bytes Read": 100}}}


def test_eventlog_sums_tasks_per_sql_file(tmp_path):
    events = [
        {"Event": "SparkListenerApplicationStart", "Timestamp": 1_000},
        {"Event": "SparkListenerJobStart", "Stage IDs": [0, 1],
         "Properties": {"callSite.short": "tracecode sql/stages/20_code_events.sql", "tracecode.phase": "check"}},
        {"Event": "SparkListenerJobStart", "Stage IDs": [2],
         "Properties": {"callSite.short": "toArrow at spark_output.py:80", "tracecode.phase": "files"}},
        _task(0, 2_000, 1_500_000_000, 1_000, 3_100, shuffle_write=400),
        _task(1, 1_000, 900_000_000, 3_100, 4_200, spill=50),
        _task(2, 500, 400_000_000, 4_200, 4_800),
        _task(9, 250, 0, 4_800, 5_000),  # a stage no job named
        {"Event": "SparkListenerApplicationEnd", "Timestamp": 6_000},
    ]
    log = tmp_path / "app-1"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = _eventlog_module().summarise(log)
    assert result["tasks"] == 4
    assert result["run_s"] == 3.75
    assert result["cpu_s"] == 2.8
    assert result["shuffle_write_bytes"] == 400 and result["spill_disk_bytes"] == 50
    assert result["max_task_s"] == 2.1
    assert result["app_wall_s"] == 5.0
    per = result["per_sql_file"]
    assert list(per) == ["20_code_events", "toArrow at spark_output.py:80", "other"]  # most task time first
    assert per["20_code_events"]["run_s"] == 3.0 and per["20_code_events"]["tasks"] == 2
    assert per["other"]["run_s"] == 0.25
    phases = result["per_phase"]
    assert phases["check"]["run_s"] == 3.0 and phases["files"]["run_s"] == 0.5 and phases["other"]["tasks"] == 1


@pytest.mark.slow
@pytest.mark.skipif(_spark_missing() is not None, reason=_spark_missing() or "")
def test_spark_bench_smoke(tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "spark_bench.py"), "--rows", "20k", "--skip-raw", "--shuffle-partitions", "2",
         "--driver-memory", "1g", "--work", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["events"] >= 20_000
    assert all(all(same.values()) for same in result["same_files"]), result["same_files"]  # same bytes
    assert result["ratio_spark_cli_over_duckdb_cli"] > 0
    assert result["spark_check_task_core_s"] > 0 and result["spark_check_tasks"] > 0
    assert "20_code_events" in result["spark_tasks"]["per_sql_file"]
    per_million = result["spark_per_million_rows"]
    assert per_million["check"]["task_core_s"] > 0 and per_million["files"]["task_core_s"] > 0, per_million
