"""What the Spark tasks of a run did, read from Spark's event log: the measured basis of the
province sizing in docs/SPARK.md.

Wall-clock time in local mode mixes the work that grows with the data (tasks: reading,
shuffling, window queries) with a fixed cost per query (planning, scheduling, the driver).
The event log separates them: every finished task reports its executor run time, CPU time,
GC, spill and shuffle bytes; every job carries the SQL file that started it (the engine names
jobs ``tracecode sql/...``). Summed over tasks, that is core-seconds of work per row, which is
what a cluster divides among its executor cores.

    python bench/spark_eventlog.py EVENT_LOG_FILE [--rows N]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


#: A local property a caller sets (sc.setLocalProperty) to say which part of its run the
#: following jobs belong to; PySpark overwrites the call site of collect()/toArrow() jobs with
#: its own, so the SQL file name alone does not tell the parts apart.
PHASE_PROPERTY = "tracecode.phase"


def _group(description: str | None) -> str:
    """The SQL file a job ran for, or what else started it."""
    if not description:
        return "other"
    text = description.removeprefix("tracecode ").strip()
    return text.split("/")[-1].removesuffix(".sql") if text.startswith("sql/") else text


def _lines(log: Path):
    """The events of one application: a single file, or the folder of a rolling log
    (Spark 4's default: eventlog_v2_<app>/events_<n>_<app>, in n order)."""
    if Path(log).is_dir():
        parts = sorted((p for p in Path(log).iterdir() if p.name.startswith("events_")),
                       key=lambda p: int(p.name.split("_")[1]))
    else:
        parts = [Path(log)]
    for part in parts:
        with open(part, encoding="utf-8") as fh:
            yield from fh


def summarise(log: Path) -> dict:
    """Totals over the tasks of one event log (file or rolling-log folder), and per SQL file."""
    stage_group: dict[int, str] = {}
    stage_phase: dict[int, str] = {}
    per_group: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_phase: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    total: dict[str, float] = defaultdict(float)
    max_task_s = 0.0
    app_start = app_end = None
    for line in _lines(log):
        event = json.loads(line)
        kind = event.get("Event")
        if kind == "SparkListenerApplicationStart":
            app_start = event.get("Timestamp")
        elif kind == "SparkListenerApplicationEnd":
            app_end = event.get("Timestamp")
        elif kind == "SparkListenerJobStart":
            props = event.get("Properties") or {}
            group = _group(props.get("callSite.short") or props.get("spark.job.description"))
            phase = props.get(PHASE_PROPERTY) or "other"
            for stage_id in event.get("Stage IDs", []):
                stage_group.setdefault(stage_id, group)
                stage_phase.setdefault(stage_id, phase)
        elif kind == "SparkListenerTaskEnd":
            metrics = event.get("Task Metrics") or {}
            info = event.get("Task Info") or {}
            if info.get("Failed") or info.get("Killed"):
                total["failed_tasks"] += 1
            shuffle_read = metrics.get("Shuffle Read Metrics") or {}
            shuffle_write = metrics.get("Shuffle Write Metrics") or {}
            values = {
                "tasks": 1,
                "run_s": metrics.get("Executor Run Time", 0) / 1e3,
                "cpu_s": metrics.get("Executor CPU Time", 0) / 1e9,
                "gc_s": metrics.get("JVM GC Time", 0) / 1e3,
                "deserialize_s": metrics.get("Executor Deserialize Time", 0) / 1e3,
                "spill_disk_bytes": metrics.get("Disk Bytes Spilled", 0),
                "shuffle_write_bytes": shuffle_write.get("Shuffle Bytes Written", 0),
                "shuffle_read_bytes": shuffle_read.get("Remote Bytes Read", 0)
                + shuffle_read.get("Local Bytes Read", 0),
                "input_bytes": (metrics.get("Input Metrics") or {}).get("Bytes Read", 0),
            }
            group = stage_group.get(event.get("Stage ID"), "other")
            phase = stage_phase.get(event.get("Stage ID"), "other")
            for key, value in values.items():
                per_group[group][key] += value
                per_phase[phase][key] += value
                total[key] += value
            if info.get("Launch Time") and info.get("Finish Time"):
                max_task_s = max(max_task_s, (info["Finish Time"] - info["Launch Time"]) / 1e3)
    result = {key: round(value, 2) for key, value in total.items()}
    result["max_task_s"] = round(max_task_s, 2)
    if app_start and app_end:
        result["app_wall_s"] = round((app_end - app_start) / 1e3, 2)
    result["per_phase"] = {phase: {key: round(value, 2) for key, value in values.items()}
                           for phase, values in per_phase.items()}
    result["per_sql_file"] = {
        group: {key: round(value, 2) for key, value in values.items()}
        for group, values in sorted(per_group.items(), key=lambda item: -item[1]["run_s"])
    }
    return result


def newest_log(folder: Path) -> Path:
    """The newest finished application log under spark.eventLog.dir (a file, or a rolling
    log's folder)."""
    logs = [p for p in Path(folder).iterdir()
            if not p.name.endswith(".inprogress") and (p.is_file() or p.name.startswith("eventlog_v2_"))]
    if not logs:
        raise SystemExit(f"{folder}: no finished Spark event log")
    return max(logs, key=lambda p: p.stat().st_mtime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", type=Path, help="an event log (file or eventlog_v2_* folder), or spark.eventLog.dir "
                                           "(its newest log)")
    ap.add_argument("--rows", type=int, default=None, help="rows checked, to print core-seconds per million rows")
    args = ap.parse_args()
    log = newest_log(args.log) if args.log.is_dir() and not args.log.name.startswith("eventlog_v2_") else args.log
    result = summarise(log)
    if args.rows:
        result["task_core_s_per_million_rows"] = round(result.get("run_s", 0) / (args.rows / 1e6), 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
