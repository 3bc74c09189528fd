"""The export's workbook against its CSV files: time to write N findings and M evidence rows as
CSV (DuckDB COPY, as export writes them, code and id columns tab-led), as the export's workbook
(tracecode.outputs.workbook: xlsxwriter for the layout, the rows of large sheets by DuckDB) and,
with --openpyxl, as the same cells by openpyxl's write-only mode (the writer the workbook used
before). CSV and workbook alternate --repeat times, each figure with the 1-minute load beside it;
the medians make the ratio. --zlib also writes the workbook deflated by zlib instead of ISA-L
(what isal earns). Target (issue 16): 100k findings and 1M evidence rows, workbook within
2x the CSV time. Run on a quiet machine:

    python bench/bench_workbook.py --findings 100000 --evidence 1000000 [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import duckdb

from tracecode.outputs import xlsx_fill
from tracecode.outputs.export_write import text_ids
from tracecode.outputs.workbook import _NUMBER, SHEETS, Summary, _read, write_workbook

CODES_SQL = """SELECT lpad(CAST(8100000000000000000 + i AS VARCHAR), 20, '0') AS drug_trac_codg,
 'cross_pharmacy_reuse' AS rule, 'high' AS severity, '跨店重复销售' AS label_zh,
 '2026-02-03 10:00:00' AS first_seen, '2026-02-20 10:00:00' AS last_seen, 2 AS occurrences, 2 AS pharmacies,
 'P100,P200' AS pharmacy_list, '两家药店各售出一次' AS detail, '2026-02' AS month FROM range($n) t(i)"""
EVENTS_SQL = """SELECT 'cross_pharmacy_reuse' AS rule, lpad(CAST(8100000000000000000 + i // 10 AS VARCHAR), 20, '0')
 AS drug_trac_codg, i % 2 AS flagged, 'P' || (i % 500) AS fixmedins_code, '药店' || (i % 500) AS fixmedins_name,
 'R' || i AS rtal_docno, '2026-02-03 10:00:00' AS sel_retn_time, 'sale' AS kind, 'XA01' AS med_list_codg,
 1 AS sel_retn_cnt, 1 AS qty, 0 AS trdn_flag, 1 AS insured, CAST(330100000000000000 + i AS VARCHAR) AS setl_id,
 'PSN***' || (i % 97) AS psn_no, 'sales.csv' AS source_file, i + 2 AS src_line,
 lpad(CAST(8100000000000000000 + i // 10 AS VARCHAR), 20, '0') AS code_raw, '布洛芬片, 0.2g' AS fixmedins_hilist_name
 FROM range($n) t(i)"""


def write_csvs(folder: Path, findings: int, evidence: int) -> tuple[float, dict[str, int]]:
    """The two CSV files by COPY; the time and the rows of each (export hands these to the workbook)."""
    con = duckdb.connect()
    rows = {}
    start = time.perf_counter()
    for name, sql, n in (("suspicious_codes.csv", CODES_SQL, findings), ("suspicious_events.csv", EVENTS_SQL, evidence)):
        names = [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0", {"n": 0}).description]
        rows[name] = con.execute(f"COPY ({text_ids(sql, names)}) TO $t (FORMAT csv, HEADER true)",
                                 {"n": n, "t": str(folder / name)}).fetchall()[0][0]
    seconds = time.perf_counter() - start
    con.close()
    return seconds, rows


def write_book(folder: Path, rows: dict[str, int], use_zlib: bool = False) -> tuple[float, int]:
    """The export's workbook of the CSV files in ``folder``: its time and size in bytes."""
    deflate = xlsx_fill.deflate
    xlsx_fill.deflate = zlib if use_zlib else deflate
    try:
        start = time.perf_counter()
        path = write_workbook(folder, Summary("2026-02", rows, []), "utf-8-sig", {})
        seconds = time.perf_counter() - start
    finally:
        xlsx_fill.deflate = deflate
    size = path.stat().st_size
    path.unlink()
    return seconds, size


def load() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def write_openpyxl(folder: Path) -> float:
    """The same sheets and cell types by openpyxl's write-only mode (header bold, ids as text
    with format @, formula-looking text a string, short numbers as numbers)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    start = time.perf_counter()
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet, file in SHEETS:
        if not (folder / file).exists():
            continue
        ws = book.create_sheet(sheet)
        ws.freeze_panes = "A2"
        header, body = _read(folder / file, "utf-8-sig")
        head = []
        for name in header:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = bold
            head.append(cell)
        ws.append(head)
        for row in body:
            out = []
            for v in row:
                if v.startswith("\t"):
                    cell = WriteOnlyCell(ws, value=v[1:])
                    cell.data_type, cell.number_format = "s", "@"
                    out.append(cell)
                elif v == "":
                    out.append(None)
                elif _NUMBER.fullmatch(v):
                    out.append(float(v) if "." in v else int(v))
                else:
                    cell = WriteOnlyCell(ws, value=v)
                    cell.data_type = "s"
                    out.append(cell)
            ws.append(out)
    book.save(folder / "openpyxl.xlsx")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--evidence", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="CSV and workbook alternately, this many times each")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--zlib", action="store_true", help="also the workbook deflated by zlib (not ISA-L)")
    ap.add_argument("--openpyxl", action="store_true", help="also openpyxl's write-only mode (slow: minutes at 1M)")
    args = ap.parse_args(argv)
    runs: dict[str, list[dict]] = {"csv": [], "workbook": [], **({"zlib": []} if args.zlib else {})}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for _ in range(args.repeat):
            seconds, rows = write_csvs(folder, args.findings, args.evidence)
            runs["csv"].append({"s": round(seconds, 3), "load": load()})
            for name, use_zlib in (("workbook", False), ("zlib", True)):
                if name in runs:
                    seconds, sizes[name] = write_book(folder, rows, use_zlib)
                    runs[name].append({"s": round(seconds, 3), "load": load()})
        sizes["csv"] = sum((folder / f).stat().st_size for f in rows)
        openpyxl_s = write_openpyxl(folder) if args.openpyxl else None
    median = {k: statistics.median(r["s"] for r in v) for k, v in runs.items()}
    result = {"findings": args.findings, "evidence": rows["suspicious_events.csv"], "runs": runs,
              "csv_s": round(median["csv"], 3), "workbook_s": round(median["workbook"], 3),
              "workbook_ratio": round(median["workbook"] / median["csv"], 2),
              "zlib_s": round(median["zlib"], 3) if "zlib" in median else None,
              "sizes_mb": {k: round(v / 1e6, 1) for k, v in sizes.items()},
              "workbook_library": "xlsxwriter (layout, small sheets) + DuckDB sheet XML (large sheets), deflate 1 (ISA-L), stream-zip",
              "openpyxl_s": None if openpyxl_s is None else round(openpyxl_s, 3),
              "openpyxl_ratio": None if openpyxl_s is None else round(openpyxl_s / median["csv"], 2), "target_ratio": 2}
    print(json.dumps(result, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
