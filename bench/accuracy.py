"""Precision and recall of every rule against the synthetic generator's ground truth.

    python bench/accuracy.py --rows 100k [--months 2] [--seed 0] [--data DIR] [--db FILE] [--keep]

Generates CSV uploads with ``tracecode.synth.generate(out, rows, months, formats='csv')``
(sales, returns, purchases, purchase returns and deletes; it writes ``truth.csv``: rule, drug_trac_codg,
month), ingests them into a fresh database,
runs ``check --month M`` for every month with the generated catalogue, and compares the stored
findings (rule, code, month) with the truth. Prints a table per rule on stdout; exits 1 when
any rule is below precision = recall = 1.0. ``measure()`` is what tests/rules/test_rules_accuracy.py
calls.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracecode.rules.catalogue import RULE_IDS  # noqa: E402
from tracecode.rules.runner import run_checks  # noqa: E402
from tracecode.store.database import open_store  # noqa: E402
from tracecode.store.ingest import ingest_files  # noqa: E402


@dataclass
class RuleScore:
    rule: str
    truth: int
    found: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truth if self.truth else 1.0


@dataclass
class Accuracy:
    scores: list[RuleScore]
    false_positives: list[tuple[str, str, str]]
    false_negatives: list[tuple[str, str, str]]
    rows: int
    events: int
    seconds_generate: float
    seconds_ingest: float
    seconds_check: float

    @property
    def perfect(self) -> bool:
        return not self.false_positives and not self.false_negatives


def read_truth(path: Path) -> set[tuple[str, str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["rule"], r["drug_trac_codg"], r["month"]) for r in csv.DictReader(fh)}


def measure(rows: int, months: int = 2, seed: int = 0, data_dir: Path | None = None,
            db_path: Path | None = None, close_days: int = 3, incremental: bool = False) -> Accuracy:
    """Generate (unless ``data_dir`` already holds truth.csv), ingest, check every month, compare.

    ``incremental``: ingest one month at a time and check it as it arrives (the way a bureau
    works, exercising the summaries kept across checks); else ingest everything, then check."""
    from tracecode.synth import generate

    work = Path(tempfile.mkdtemp(prefix="tracecode-accuracy-"))
    data_dir = Path(data_dir) if data_dir else work / "data"
    t0 = time.perf_counter()
    if not (data_dir / "truth.csv").exists():
        generate(data_dir, rows, months=months, seed=seed, formats="csv")
    t1 = time.perf_counter()
    db_path = Path(db_path) if db_path else work / "accuracy.duckdb"
    if db_path.exists():
        db_path.unlink()
    con = open_store(db_path)
    try:
        catalog = data_dir / "catalog.csv"
        catalog = catalog if catalog.exists() else None
        # deletes_M.csv, purchases_M.csv and purchase_returns_M.csv: their kind is read from the name
        uploads = [p for prefix in ("deletes_", "purchase", "sales_", "returns_")
                   for p in sorted(data_dir.glob(prefix + "*.csv"))]
        seconds_ingest = seconds_check = 0.0
        if incremental:
            for month in sorted({p.stem[-7:] for p in uploads}):
                t = time.perf_counter()
                ingest_files(con, [p for p in uploads if p.stem[-7:] == month], kind="auto")
                seconds_ingest += time.perf_counter() - t
                t = time.perf_counter()
                run_checks(con, month=month, catalog=catalog, close_days=close_days)
                seconds_check += time.perf_counter() - t
        else:
            t = time.perf_counter()
            ingest_files(con, uploads, kind="auto")
            seconds_ingest = time.perf_counter() - t
            t = time.perf_counter()
            for month in [r[0] for r in con.execute("SELECT DISTINCT month FROM events ORDER BY month").fetchall()]:
                run_checks(con, month=month, catalog=catalog, close_days=close_days)
            seconds_check = time.perf_counter() - t
        found = {(r, c, m) for r, c, m in con.execute(
            "SELECT rule, drug_trac_codg, month FROM findings WHERE month <> 'all'").fetchall()}
        events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        n_rows = con.execute("SELECT coalesce(sum(rows_read), 0) FROM files").fetchall()[0][0]
    finally:
        con.close()
    truth = read_truth(data_dir / "truth.csv")
    scores = []
    for rule in RULE_IDS:
        t = {x for x in truth if x[0] == rule}
        f = {x for x in found if x[0] == rule}
        scores.append(RuleScore(rule, len(t), len(f), len(t & f)))
    return Accuracy(scores, sorted(found - truth), sorted(truth - found), n_rows, events, t1 - t0, seconds_ingest,
                    seconds_check)


def main(argv: list[str] | None = None) -> int:
    from tracecode.synth import parse_count

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="100k", help="input records over all months (e.g. 20k, 100k, 1M)")
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="reuse (or create) the generated data here")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: a temporary one)")
    parser.add_argument("--show", type=int, default=10, help="list up to this many misses per kind")
    parser.add_argument("--incremental", action="store_true",
                        help="ingest one month at a time and check it as it arrives")
    args = parser.parse_args(argv)
    acc = measure(parse_count(args.rows), args.months, args.seed, args.data, args.db, incremental=args.incremental)
    print(f"{acc.rows:,} records, {acc.events:,} code rows, {args.months} months, seed {args.seed}: "
          f"generate {acc.seconds_generate:.1f} s, ingest {acc.seconds_ingest:.1f} s, "
          f"check (every month{', as it arrives' if args.incremental else ''}) {acc.seconds_check:.1f} s")
    print()
    print(f"{'rule':<22} {'truth':>7} {'found':>7} {'tp':>7} {'precision':>10} {'recall':>8}")
    for s in acc.scores:
        print(f"{s.rule:<22} {s.truth:>7,} {s.found:>7,} {s.true_positives:>7,} {s.precision:>10.4f} {s.recall:>8.4f}")
    for title, items in (("false positives (found, not in truth)", acc.false_positives),
                         ("false negatives (in truth, not found)", acc.false_negatives)):
        if items:
            print(f"\n{title}: {len(items)}")
            for item in items[: args.show]:
                print("  ", *item)
    return 0 if acc.perfect else 1


if __name__ == "__main__":
    sys.exit(main())
