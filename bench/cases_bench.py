"""Bench: `check --month` on a store carrying many open cases from earlier months, against the
same check on the same store without cases (target: at most 1.2x; issue 15).

Usage (figures only on an otherwise idle machine)::

    python bench/cases_bench.py --rows 200k --months 3 --cases 50000 --work /tmp/cases-bench

Builds the store once (synth, ingest, a check of every earlier month), copies it, plants
``--cases`` open cases (each with two flagged rows, in earlier months) into one copy, then runs
`check --month <last>` on both copies ``--repeat`` times and prints the median wall times and
their ratio (JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def tracecode(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "tracecode.cli", *args], check=True, capture_output=True, text=True)


def plant_cases(db: Path, n: int, month: str) -> None:
    """Add ``n`` open cases, with two flagged rows each in ``month``, that no finding will touch."""
    import duckdb

    from tracecode.cases.sync import ensure_cases_schema

    con = duckdb.connect(str(db))
    try:
        ensure_cases_schema(con)
        con.execute("""INSERT INTO cases SELECT 'TC-BENCH-' || lpad(i::VARCHAR, 10, '0'), 'same_pharmacy_repeat',
            'B' || i, 'B' || i, 'reviewing', TIMESTAMP '2000-01-01', TIMESTAMP '2000-01-02', 2, 1, 'P' || (i % 500),
            10.0, NULL, NULL, NULL, $m, $m, NULL, '2:0', 1, now()::TIMESTAMP FROM range($n) t(i)""", {"n": n, "m": month})
        con.execute("""INSERT INTO case_rows SELECT 'TC-BENCH-' || lpad((i // 2)::VARCHAR, 10, '0'), -1 - i, $m,
            'P' || ((i // 2) % 500), TIMESTAMP '2000-01-01', 5.0, now()::TIMESTAMP, $m FROM range(2 * $n) t(i)""",
                    {"n": n, "m": month})
    finally:
        con.close()


def timed_check(db: Path, month: str) -> float:
    t0 = time.perf_counter()
    tracecode("check", "--db", str(db), "--month", month, "-q")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", default="200k")
    p.add_argument("--months", type=int, default=3)
    p.add_argument("--cases", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    data = a.work / "data"
    tracecode("synth", "--rows", a.rows, "--months", str(a.months), "--out", str(data), "--formats", "csv", "-q")
    base = a.work / "base.duckdb"
    base.unlink(missing_ok=True)
    uploads = sorted(str(f) for f in data.rglob("*.csv") if f.name.startswith(("sales", "returns")))
    tracecode("ingest", "--db", str(base), "-q", *uploads)
    import duckdb

    con = duckdb.connect(str(base), read_only=True)
    months = [r[0] for r in con.execute("SELECT DISTINCT month FROM events ORDER BY month").fetchall()]
    con.close()
    for m in months[:-1]:
        tracecode("check", "--db", str(base), "--month", m, "-q")
    last = months[-1]
    plain, carried = a.work / "without_cases.duckdb", a.work / "with_cases.duckdb"
    result = {"rows": a.rows, "months": months, "cases": a.cases, "without": [], "with": []}
    for _ in range(a.repeat):
        for db, key in ((plain, "without"), (carried, "with")):
            shutil.copyfile(base, db)
            if key == "with":
                plant_cases(db, a.cases, months[0])
            result[key].append(timed_check(db, last))
    result["ratio"] = statistics.median(result["with"]) / statistics.median(result["without"])
    print(f"check --month {last}: without cases {statistics.median(result['without']):.2f} s, with {a.cases:,} "
          f"open cases {statistics.median(result['with']):.2f} s, ratio {result['ratio']:.2f} (target <= 1.2)")
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
