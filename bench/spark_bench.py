"""The same rows checked by DuckDB and by Spark (local mode), reported as a ratio, with the
per-core throughput the province sizing in docs/SPARK.md is computed from.

    python bench/spark_bench.py --rows 10M [--master local[2]] [--repeat 1] [--json out.json]

Steps (each timed, wall clock; the machine is shared, so compare within one run):
1. data: `tracecode synth --formats csv` (cached in bench/work/spark/data-r<rows>/),
2. `tracecode ingest --to-parquet`: the DuckDB store and the Parquet layout, from the same CSVs,
3. DuckDB: `tracecode check --month M` + `tracecode export` (fresh processes, as a user runs them),
   and the same on a copy of the store without the summaries ingest builds (Spark's check builds
   them from the layout every time: the like-for-like comparison),
4. Spark: `tracecode check --engine spark --input LAYOUT --month M --out DIR` (fresh process:
   JVM start included, and reported apart), then the same check again in one warm session
   (the engine's own time, per stage), and Spark reading the raw CSVs (`ingest_raw`),
5. the findings files of both engines must be the same bytes,
6. Spark's event log of the warm session (bench/spark_eventlog.py): task core-seconds, shuffle
   bytes and spill per SQL file — the per-row cost a cluster divides among its cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from spark_eventlog import PHASE_PROPERTY, newest_log, summarise

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "spark"
PY = sys.executable
FILES = ("suspicious_codes.csv", "suspicious_events.csv", "rejects.csv", "summary.csv")
#: What the store keeps across checks (sql/schema/findings.sql), emptied for a check from scratch.
SUMMARY_TABLES = ("rule_dict", "rule_dict_files", "rule_events", "rule_events_files", "repeat_rows",
                  "repeat_rows_files", "product_counts", "product_counts_files", "pharmacy_rows",
                  "pharmacy_rows_files", "finding_evidence", "finding_events", "findings", "check_runs")


def parse_rows(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if text[-1:] in "kmb" else text) * mult)


def run(cmd: list[str], log: Path, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n" + "\n".join(tail))
    return took


def tracecode(*args: str) -> list[str]:
    return [PY, "-m", "tracecode.cli", *args]


def _monthly_flow(spark, lake: Path, db: Path, out: Path, month: str, catalog: Path, phase) -> dict[str, float]:
    """A bureau's monthly run: the summaries of the earlier months were kept by last month's
    check; this month's check summarises only this month's files. (Against the check that
    rebuilds them from every month: spark_check_warm_s.)"""
    import duckdb

    from tracecode.spark.engine import run_checks_spark

    from tracecode.spark.ingest import open_input

    con = duckdb.connect(str(db), read_only=True)
    this_month = {r[0] for r in con.execute(
        "SELECT DISTINCT file_id FROM events WHERE month = ?", [month]).fetchall()}
    earlier = {r[0] for r in con.execute(
        "SELECT DISTINCT file_id FROM events WHERE month < ?", [month]).fetchall()}
    con.close()
    new_ids = this_month - earlier
    previous = out / "lake-previous-months"
    shutil.rmtree(previous, ignore_errors=True)

    def earlier_file(path: str, names: list[str]) -> list[str]:  # copytree's ignore: this month's files
        return [n for n in names if n.endswith(".parquet") and n.startswith("file_")
                and int(n.split("_")[1].split(".")[0]) in new_ids]

    shutil.copytree(lake, previous, ignore=earlier_file)
    shutil.rmtree(lake / "summaries", ignore_errors=True)
    steps: dict[str, float] = {}
    phase("summaries of the earlier months")
    data = open_input(spark, str(previous))
    t0 = time.perf_counter()
    run_checks_spark(spark, data, month=data.months[-1], catalog=catalog, keep_summaries=True).close()
    steps["spark_check_previous_month_keeping_summaries_s"] = time.perf_counter() - t0
    data.close()
    shutil.copytree(previous / "summaries", lake / "summaries")
    phase("monthly check, earlier months kept")
    data = open_input(spark, str(lake))
    t0 = time.perf_counter()
    run_checks_spark(spark, data, month=month, catalog=catalog, keep_summaries=True).close()
    steps["spark_check_month_with_earlier_months_kept_s"] = time.perf_counter() - t0
    data.close()
    shutil.rmtree(lake / "summaries", ignore_errors=True)
    shutil.rmtree(previous, ignore_errors=True)
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="10M")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--shuffle-partitions", type=int, default=16)
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-raw", action="store_true", help="skip Spark reading the raw CSVs")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=WORK, help="where data, databases and layouts go (cached)")
    ap.add_argument("--months", type=int, default=1,
                    help="months of data (--rows in all); with 2 or more, the last month is also checked with "
                         "the summaries of the earlier months kept, against rebuilding them from every month")
    args = ap.parse_args()
    rows = parse_rows(args.rows)
    tag = f"r{args.rows}" + (f"-m{args.months}" if args.months > 1 else "")
    data, out = args.work / f"data-{tag}", args.work / tag
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict = {"rows_requested": rows, "master": args.master, "cores": os.cpu_count(),
                     "driver_memory": args.driver_memory, "shuffle_partitions": args.shuffle_partitions,
                     "duckdb_memory_limit": args.memory_limit, "steps": {}}
    steps = results["steps"]

    if not (data / "DONE").exists():
        shutil.rmtree(data, ignore_errors=True)
        steps["generate_s"] = run(tracecode("synth", "--rows", str(rows), "--months", str(args.months), "--formats", "csv",
                                            "--out", str(data), "--quiet"), logs / "generate.log")
        (data / "DONE").write_text("ok\n")
    files = sorted(data.glob("sales_*.csv")) + sorted(data.glob("returns_*.csv"))
    month = sorted(p.stem.split("_")[1] for p in data.glob("sales_*.csv"))[-1]
    catalog = data / "catalog.csv"
    db, lake = out / "store.duckdb", out / "lake"
    if not (out / "INGESTED").exists():
        for p in (db, lake):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        steps["duckdb_ingest_to_parquet_s"] = run(
            tracecode("ingest", "--db", str(db), "--quiet", "--memory-limit", args.memory_limit, "--to-parquet",
                      str(lake), *map(str, files)), logs / "ingest.log")
        (out / "INGESTED").write_text("ok\n")
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n_events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    con.close()
    results["events"] = n_events
    results["lake_bytes"] = sum(f.stat().st_size for f in (lake / "events").rglob("*.parquet"))
    results["lake_files"] = sum(1 for _ in (lake / "events").rglob("*.parquet"))

    duck_check, duck_export, spark_cli = [], [], []
    for i in range(args.repeat):
        duck_out = out / f"duck-{i}"
        shutil.rmtree(duck_out, ignore_errors=True)
        duck_check.append(run(tracecode("check", "--db", str(db), "--quiet", "--memory-limit", args.memory_limit,
                                        "--month", month, "--catalog", str(catalog)), logs / f"duck-check-{i}.log"))
        duck_export.append(run(tracecode("export", "--db", str(db), "--month", month, "--out", str(duck_out),
                                         "--no-mask"), logs / f"duck-export-{i}.log"))
        spark_out = out / f"spark-{i}"
        shutil.rmtree(spark_out, ignore_errors=True)
        spark_cli.append(run(tracecode(
            "check", "--engine", "spark", "--master", args.master, "--input", str(lake), "--month", month,
            "--catalog", str(catalog), "--out", str(spark_out), "--no-mask",
            "--spark-conf", f"spark.driver.memory={args.driver_memory}",
            "--spark-conf", f"spark.sql.shuffle.partitions={args.shuffle_partitions}",
            # Like for like: every check builds the summaries from the whole layout (a kept
            # version would make the next run incremental; measured apart below).
            "--spark-conf", "spark.tracecode.keepSummaries=false"), logs / f"spark-check-{i}.log"))
        same = {name: (duck_out / name).read_bytes() == (spark_out / name).read_bytes() for name in FILES}
        results.setdefault("same_files", []).append(same)
        if not all(same.values()):
            print(f"WARNING: files differ: {same}", file=sys.stderr)
    # DuckDB doing all the work Spark's check does: the store keeps summaries (rule_dict,
    # rule_events, repeat_rows, product_counts, pharmacy_rows) built at ingest, which Spark
    # builds from the layout in every check. A copy of the store without them makes check
    # rebuild them, as Spark does.
    scratch_db = out / "store-no-summaries.duckdb"
    shutil.copyfile(db, scratch_db)
    con = duckdb.connect(str(scratch_db))
    for table in SUMMARY_TABLES:
        con.execute(f"DELETE FROM {table}")
    con.close()
    duck_scratch_out = out / "duck-scratch"
    shutil.rmtree(duck_scratch_out, ignore_errors=True)
    steps["duckdb_check_from_scratch_s"] = run(
        tracecode("check", "--db", str(scratch_db), "--quiet", "--memory-limit", args.memory_limit, "--month", month,
                  "--catalog", str(catalog)), logs / "duck-check-scratch.log")
    steps["duckdb_export_from_scratch_s"] = run(
        tracecode("export", "--db", str(scratch_db), "--month", month, "--out", str(duck_scratch_out), "--no-mask"),
        logs / "duck-export-scratch.log")
    scratch_db.unlink()
    results["same_files_from_scratch"] = all(
        (duck_scratch_out / name).read_bytes() == (out / "duck-0" / name).read_bytes() for name in FILES)
    steps["duckdb_check_s"] = sorted(duck_check)[len(duck_check) // 2]
    steps["duckdb_export_s"] = sorted(duck_export)[len(duck_export) // 2]
    steps["spark_cli_check_and_files_s"] = sorted(spark_cli)[len(spark_cli) // 2]

    # The engine alone, in a warm session: per stage, and the files.
    sys.path.insert(0, str(ROOT))
    from tracecode.spark.engine import run_checks_spark
    from tracecode.spark.ingest import open_input
    from tracecode.spark.session import spark_session
    from tracecode.spark.output import write_findings

    # The event log gives each task's run time, CPU, spill and shuffle bytes (bench/spark_eventlog.py):
    # the work that grows with the data, apart from the fixed cost per query of the driver.
    event_dir = out / "eventlog"
    shutil.rmtree(event_dir, ignore_errors=True)
    event_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    spark = spark_session(args.master, conf={"spark.driver.memory": args.driver_memory,
                                             "spark.sql.shuffle.partitions": str(args.shuffle_partitions),
                                             "spark.eventLog.enabled": "true",
                                             "spark.eventLog.dir": event_dir.resolve().as_uri(),
                                             "spark.eventLog.compress": "false",
                                             "spark.ui.showConsoleProgress": "false"},
                          log_level="ERROR")
    steps["spark_session_start_s"] = time.perf_counter() - t0
    sc = spark.sparkContext

    def phase(label: str) -> None:  # the part of the run the jobs that follow belong to (event log)
        sc.setLocalProperty(PHASE_PROPERTY, label)

    phase("check")
    data_in = open_input(spark, str(lake))
    t0 = time.perf_counter()
    check = run_checks_spark(spark, data_in, month=month, catalog=catalog, keep_summaries=False)
    steps["spark_check_warm_s"] = time.perf_counter() - t0
    results["spark_stage_s"] = {k: round(v, 2) for k, v in check.timings.items()}
    phase("files")
    t0 = time.perf_counter()
    warm_out = out / "spark-warm"
    shutil.rmtree(warm_out, ignore_errors=True)
    write_findings(check, warm_out, mask=False)
    steps["spark_files_s"] = time.perf_counter() - t0
    check.close()
    data_in.close()
    # Summaries kept in the layout (tracecode.spark.summaries): the first check builds and
    # writes them; the next check of the same files reads them and builds nothing — the part
    # of a check that is paid once per upload file, ever, apart from the part paid per check.
    kept_dir = lake / "summaries"
    shutil.rmtree(kept_dir, ignore_errors=True)
    for label, step in (("check, keeping summaries", "spark_check_writing_summaries_s"),
                        ("check with kept summaries", "spark_check_with_kept_summaries_s")):
        phase(label)
        data_in = open_input(spark, str(lake))
        t0 = time.perf_counter()
        run_checks_spark(spark, data_in, month=month, catalog=catalog, keep_summaries=True).close()
        steps[step] = time.perf_counter() - t0
        data_in.close()
    shutil.rmtree(kept_dir, ignore_errors=True)
    if args.months > 1:
        steps.update(_monthly_flow(spark, lake, db, out, month, catalog, phase))
    if not args.skip_raw:
        from tracecode.spark.ingest import ingest_raw, write_lake

        phase("raw read")
        t0 = time.perf_counter()
        raw = ingest_raw(spark, [str(f) for f in files])
        steps["spark_raw_read_normalise_hash_parse_s"] = time.perf_counter() - t0
        raw_lake = out / "raw-lake"
        shutil.rmtree(raw_lake, ignore_errors=True)
        phase("raw write")
        t0 = time.perf_counter()
        write_lake(raw, str(raw_lake))
        steps["spark_raw_write_layout_s"] = time.perf_counter() - t0
        results["raw_tasks"] = len(files)
        raw.close()
    spark.stop()
    tasks = summarise(newest_log(event_dir))
    results["spark_tasks"] = tasks
    # Per phase, per million rows: task core-seconds, shuffle written, spilled (the sizing's basis).
    per_million = n_events / 1e6
    results["spark_per_million_rows"] = {
        name: {"task_core_s": round(v["run_s"] / per_million, 2), "cpu_s": round(v["cpu_s"] / per_million, 2),
               "shuffle_write_mb": round(v["shuffle_write_bytes"] / per_million / 1e6, 1),
               "spill_disk_mb": round(v["spill_disk_bytes"] / per_million / 1e6, 1), "tasks": int(v["tasks"])}
        for name, v in tasks["per_phase"].items()}
    check_task_s = tasks["per_phase"].get("check", {}).get("run_s", 0.0)
    results["spark_check_task_core_s"] = round(check_task_s, 1)
    results["spark_check_tasks"] = int(tasks["per_phase"].get("check", {}).get("tasks", 0))

    cores = int(args.master[len("local["):-1]) if args.master.startswith("local[") and args.master[6:-1].isdigit() \
        else os.cpu_count()
    results["spark_cores"] = cores
    duck = steps["duckdb_check_s"] + steps["duckdb_export_s"]
    results["ratio_spark_cli_over_duckdb_cli"] = round(steps["spark_cli_check_and_files_s"] / duck, 2)
    results["ratio_spark_warm_check_over_duckdb_check"] = round(steps["spark_check_warm_s"] / steps["duckdb_check_s"], 2)
    duck_scratch = steps["duckdb_check_from_scratch_s"] + steps["duckdb_export_from_scratch_s"]
    results["ratio_spark_cli_over_duckdb_cli_from_scratch"] = round(steps["spark_cli_check_and_files_s"] / duck_scratch, 2)
    results["ratio_spark_warm_check_over_duckdb_check_from_scratch"] = round(
        steps["spark_check_warm_s"] / steps["duckdb_check_from_scratch_s"], 2)
    results["spark_rows_per_core_second"] = round(n_events / (steps["spark_check_warm_s"] * cores))
    results["duckdb_rows_per_second"] = round(n_events / steps["duckdb_check_s"])
    if "spark_raw_read_normalise_hash_parse_s" in steps:
        results["spark_raw_rows_per_task_second"] = round(
            n_events / (steps["spark_raw_read_normalise_hash_parse_s"] * min(cores, len(files))))
    for k, v in list(steps.items()):
        steps[k] = round(v, 1)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    target = args.json or (out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json")
    target.write_text(text + "\n")
    print(f"\nDuckDB check+export {duck:.1f} s; Spark ({args.master}) check+files {steps['spark_cli_check_and_files_s']} s "
          f"(JVM start included) -> {results['ratio_spark_cli_over_duckdb_cli']}x; warm Spark check "
          f"{steps['spark_check_warm_s']} s vs DuckDB check {steps['duckdb_check_s']} s -> "
          f"{results['ratio_spark_warm_check_over_duckdb_check']}x. JSON: {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
