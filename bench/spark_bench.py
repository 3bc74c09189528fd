"""The same rows checked by DuckDB and by Spark (local mode), reported as a ratio, with the
per-core throughput the province sizing in docs/SPARK.md is computed from.

    python bench/spark_bench.py --rows 10M [--master local[2]] [--repeat 1] [--json out.json]

Steps (each timed, wall clock; the machine is shared, so compare within one run):
1. data: `tracecode synth --formats csv` (cached in bench/work/spark/data-r<rows>/),
2. `tracecode ingest --to-parquet`: the DuckDB store and the Parquet layout, from the same CSVs,
3. DuckDB: `tracecode check --month M` + `tracecode export` (fresh processes, as a user runs them),
4. Spark: `tracecode check --engine spark --input LAYOUT --month M --out DIR` (fresh process:
   JVM start included, and reported apart), then the same check again in one warm session
   (the engine's own time, per stage), and Spark reading the raw CSVs (`ingest_raw`),
5. the findings files of both engines must be the same bytes.
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

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "spark"
PY = sys.executable
FILES = ("suspicious_codes.csv", "suspicious_events.csv", "rejects.csv", "summary.csv")


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
    args = ap.parse_args()
    rows = parse_rows(args.rows)
    tag = f"r{args.rows}"
    data, out = WORK / f"data-{tag}", WORK / tag
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict = {"rows_requested": rows, "master": args.master, "cores": os.cpu_count(),
                     "driver_memory": args.driver_memory, "shuffle_partitions": args.shuffle_partitions,
                     "duckdb_memory_limit": args.memory_limit, "steps": {}}
    steps = results["steps"]

    if not (data / "DONE").exists():
        shutil.rmtree(data, ignore_errors=True)
        steps["generate_s"] = run(tracecode("synth", "--rows", str(rows), "--months", "1", "--formats", "csv",
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
            "--spark-conf", f"spark.sql.shuffle.partitions={args.shuffle_partitions}"), logs / f"spark-check-{i}.log"))
        same = {name: (duck_out / name).read_bytes() == (spark_out / name).read_bytes() for name in FILES}
        results.setdefault("same_files", []).append(same)
        if not all(same.values()):
            print(f"WARNING: files differ: {same}", file=sys.stderr)
    steps["duckdb_check_s"] = sorted(duck_check)[len(duck_check) // 2]
    steps["duckdb_export_s"] = sorted(duck_export)[len(duck_export) // 2]
    steps["spark_cli_check_and_files_s"] = sorted(spark_cli)[len(spark_cli) // 2]

    # The engine alone, in a warm session: per stage, and the files.
    sys.path.insert(0, str(ROOT))
    from tracecode.spark_engine import open_input, run_checks_spark, spark_session
    from tracecode.spark_output import write_findings

    t0 = time.perf_counter()
    spark = spark_session(args.master, conf={"spark.driver.memory": args.driver_memory,
                                             "spark.sql.shuffle.partitions": str(args.shuffle_partitions)})
    steps["spark_session_start_s"] = time.perf_counter() - t0
    data_in = open_input(spark, str(lake))
    t0 = time.perf_counter()
    check = run_checks_spark(spark, data_in, month=month, catalog=catalog)
    steps["spark_check_warm_s"] = time.perf_counter() - t0
    results["spark_stage_s"] = {k: round(v, 2) for k, v in check.timings.items()}
    t0 = time.perf_counter()
    warm_out = out / "spark-warm"
    shutil.rmtree(warm_out, ignore_errors=True)
    write_findings(check, warm_out, mask=False)
    steps["spark_files_s"] = time.perf_counter() - t0
    check.close()
    data_in.close()
    if not args.skip_raw:
        from tracecode.spark_ingest import ingest_raw, write_lake

        t0 = time.perf_counter()
        raw = ingest_raw(spark, [str(f) for f in files])
        steps["spark_raw_read_normalise_hash_parse_s"] = time.perf_counter() - t0
        raw_lake = out / "raw-lake"
        shutil.rmtree(raw_lake, ignore_errors=True)
        t0 = time.perf_counter()
        write_lake(raw, str(raw_lake))
        steps["spark_raw_write_layout_s"] = time.perf_counter() - t0
        results["raw_tasks"] = len(files)
        raw.close()
    spark.stop()

    cores = int(args.master[len("local["):-1]) if args.master.startswith("local[") and args.master[6:-1].isdigit() \
        else os.cpu_count()
    results["spark_cores"] = cores
    duck = steps["duckdb_check_s"] + steps["duckdb_export_s"]
    results["ratio_spark_cli_over_duckdb_cli"] = round(steps["spark_cli_check_and_files_s"] / duck, 2)
    results["ratio_spark_warm_check_over_duckdb_check"] = round(steps["spark_check_warm_s"] / steps["duckdb_check_s"], 2)
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
