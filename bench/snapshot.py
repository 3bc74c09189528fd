"""A fingerprint of tracecode's behaviour, to compare two versions of the code.

Runs the public command line only (so it works across any internal reorganisation) on
``data/sample/`` and on a synthetic set (``tracecode synth``), month by month: ingest, check,
export. Writes one JSON file: every exported file's SHA-256 and row count, the findings of
each scope (rule, code, detail), and the check summaries. Two runs are equal when the
behaviour is::

    python bench/snapshot.py --out /tmp/before.json             # on the old commit
    python bench/snapshot.py --out /tmp/after.json              # on the new one
    python bench/snapshot.py --compare /tmp/before.json /tmp/after.json

``--rows`` (default 100000) and ``--months`` (default 3) size the synthetic set.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "tracecode.cli", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"tracecode {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _findings(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT month, rule, drug_trac_codg, detail FROM findings "
                           "ORDER BY month, rule, drug_trac_codg, detail").fetchall()
        events = con.execute("SELECT month, rule, drug_trac_codg, count(*), sum(CAST(flagged AS INT)) "
                             "FROM finding_events GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()
    return {"findings": [list(map(str, r)) for r in rows], "finding_events": [list(map(str, r)) for r in events]}


def _data_set(name: str, inputs: list[str], catalog: str | None, months: list[str], work: Path) -> dict:
    db = work / f"{name}.duckdb"
    out: dict = {}
    _run("ingest", "--db", str(db), *inputs, cwd=ROOT)
    cat = ["--catalog", catalog] if catalog else []
    for month in [*months, None]:
        scope = month or "all"
        m = ["--month", month] if month else []
        out[f"check {scope}"] = _run("check", "--db", str(db), *m, *cat, "--quiet", cwd=ROOT)
        folder = work / f"{name}-{scope}"
        _run("export", "--db", str(db), *m, "--out", str(folder), "--no-mask", cwd=ROOT)
        out[f"export {scope}"] = _files(folder)
        folder_pp = work / f"{name}-{scope}-pp"
        _run("export", "--db", str(db), *m, "--out", str(folder_pp), "--per-pharmacy", "--headers", "zh",
             "--encoding", "gbk", "--no-mask", cwd=ROOT)
        out[f"export {scope} per-pharmacy zh gbk"] = _files(folder_pp)
    out["findings"] = _findings(db)
    return out


def snapshot(rows: int, months: int) -> dict:
    result: dict = {}
    # A fixed folder: rejects.csv names the upload files by path. Ids unmasked: the masking
    # key is random per database.
    # The sample is copied there too, so that two checkouts of the code give the same paths; one
    # snapshot at a time (a lock), as every run uses this one folder.
    work = Path(tempfile.gettempdir()) / "tracecode-snapshot"
    lock = open(Path(tempfile.gettempdir()) / "tracecode-snapshot.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        shutil.copytree(ROOT / "data" / "sample", work / "sample-in")
        sample = sorted(str(p) for p in (work / "sample-in").glob("*")
                        if p.name.startswith(("sales_", "returns_")))
        result["sample"] = _data_set("sample", sample, str(work / "sample-in" / "catalog.csv"),
                                     ["2026-01", "2026-02"], work)
        synth = work / "synth"
        _run("synth", "--out", str(synth), "--rows", str(rows), "--months", str(months), cwd=ROOT)
        files = sorted(str(p) for p in synth.iterdir() if p.name.startswith(("sales_", "returns_")))
        catalog = synth / "catalog.csv"
        found_months = sorted({p.name.split("_")[1][:7] for p in synth.iterdir() if p.name.startswith("sales_")})
        result["synth"] = _data_set("synth", files, str(catalog) if catalog.exists() else None, found_months, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        lock.close()
    return result


def compare(a: dict, b: dict, where: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(a) | set(b)):
        here = f"{where}/{key}"
        if key not in a or key not in b:
            diffs.append(f"{here}: only in {'after' if key not in a else 'before'}")
        elif isinstance(a[key], dict) and isinstance(b[key], dict):
            diffs.extend(compare(a[key], b[key], here))
        elif a[key] != b[key]:
            diffs.append(f"{here}: differs")
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        diffs = compare(*(json.loads(p.read_text(encoding="utf-8")) for p in args.compare))
        print("\n".join(diffs) if diffs else "same behaviour: every export byte and every finding equal")
        sys.exit(1 if diffs else 0)
    if args.out is None:
        parser.error("--out FILE or --compare BEFORE AFTER")
    args.out.write_text(json.dumps(snapshot(args.rows, args.months), ensure_ascii=False, indent=1, sort_keys=True),
                        encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
