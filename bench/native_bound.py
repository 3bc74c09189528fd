"""How fast could an ingest be that never leaves DuckDB? (issue 18)

Loads a sale CSV the way `tracecode ingest` stores it — DuckDB's parallel `read_csv`, then
`sql/ingest/parse_batch.sql` into the 35-column `events` table, in one statement — but with the
Python steps replaced by the cheapest SQL stand-ins: a code is only trimmed (no GS1, Excel or
multi-code handling) and its key is DuckDB's `hash()`, not xxh3 (which a native extension would
have to provide). The result is not a correct load; it is a lower bound for any design that keeps
today's stored columns, timed against the floor (`CREATE TABLE AS SELECT * FROM read_csv`)
in alternating runs. "narrow" stores instead the input's text as it is plus the code key and the
sale time (what a store that types the other columns at query time would write).

    python bench/native_bound.py SALES.csv --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracecode.sqlfiles import read_sql  # noqa: E402
from tracecode.store.database import open_store  # noqa: E402
from tracecode.store.ingest import EVENT_COLUMNS  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def source_sql(headers: list[str]) -> str:
    """The CSV's rows as `parse_batch.sql` expects `batch_rows`, the code steps in SQL."""
    columns = "{" + ", ".join(f"'{h}': 'VARCHAR'" for h in headers) + "}"
    empty_not_null = ", ".join(f"coalesce({h}, '') AS {h}" for h in headers)
    code = "trim(coalesce(drug_trac_codg, ''))"
    missing = ", ".join(f"'' AS {c}" for c in ("medins_prod_sel_no",) if c not in headers)
    return f"""SELECT * REPLACE ({empty_not_null}), {missing + ',' if missing else ''}
        NULL::VARCHAR AS __kind, CAST(row_number() OVER () AS BIGINT) AS __seq, 0::BIGINT AS __rec,
        0::INTEGER AS __piece, 0::BIGINT AS __line, 1 AS __codes_in_line,
        coalesce(drug_trac_codg, '') AS __code_piece, {code} AS __code,
        CASE WHEN regexp_full_match({code}, '[0-9]{{20}}') THEN 'valid' ELSE 'invalid' END AS __code_status,
        'nhsa20' AS __code_scheme, NULL AS __code_reason, substr({code}, 1, 7) AS __product_id,
        CAST(hash({code}) >> 1 AS BIGINT) AS __code_key
        FROM read_csv($path, all_varchar = true, columns = {columns}, header = true)"""


def timed(kind: str, path: Path, work: Path) -> tuple[float, float, int]:
    db = work / f"{kind}.duckdb"
    for leftover in (db, Path(f"{db}.wal")):
        leftover.unlink(missing_ok=True)
    con = open_store(db)
    start, cpu = time.perf_counter(), cpu_seconds()
    if kind == "floor":
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true)", [str(path)])
    elif kind == "narrow":
        con.execute("CREATE TABLE t AS SELECT 0::BIGINT AS event_id, "
                    "CAST(hash(trim(coalesce(drug_trac_codg, ''))) >> 1 AS BIGINT) AS code_key, "
                    "try_strptime(trim(sel_retn_time), '%Y-%m-%d %H:%M:%S') AS sel_retn_time, * "
                    "FROM read_csv(?, all_varchar = true)", [str(path)])
    else:
        headers = path.open(encoding="utf-8").readline().strip().split(",")
        con.execute("BEGIN")
        con.execute(f"WITH batch_rows AS ({source_sql(headers)}) INSERT INTO events SELECT {EVENT_COLUMNS} "
                    f"FROM ({read_sql('ingest/parse_batch.sql')}) WHERE reject_field IS NULL",
                    {"path": str(path), "file_id": 1, "kind": "sale"})
        con.execute("COMMIT")
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    rows = con.execute(f"SELECT count(*) FROM {'events' if kind == 'in-DuckDB' else 't'}").fetchall()[0][0]
    con.close()
    return wall, cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="a sale CSV with NHSA column names in its header (UTF-8)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    results: dict[str, list[tuple[float, float, int]]] = {"floor": [], "in-DuckDB": [], "narrow": []}
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.repeat):
            for kind in results:
                results[kind].append(timed(kind, args.csv, Path(work)))
    for kind, runs in results.items():
        print(f"{kind:10} wall {statistics.median(r[0] for r in runs):.2f} s, "
              f"cpu {statistics.median(r[1] for r in runs):.2f} s (median of {len(runs)}), {runs[-1][2]:,} rows")
    for kind in ("in-DuckDB", "narrow"):
        ratio = statistics.median(b[0] / a[0] for a, b in zip(results["floor"], results[kind]))
        print(f"{kind} / floor: {ratio:.2f}x wall (median of pairs)")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
