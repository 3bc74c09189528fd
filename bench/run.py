#!/usr/bin/env python3
"""Benchmark tracecode end to end against plain-DuckDB floors measured in the same run.

    python bench/run.py --rows 10M [--months 12] [--stages ingest,check,export,trace]

Generates synthetic uploads with ``tracecode synth --formats csv`` (cached in --cache, keyed by
rows, months and seed), runs every stage as a user would (the ``tracecode`` CLI, a fresh
process each time), runs each stage's floor (plain DuckDB in a fresh process) on the same
files, and prints one table: rows, wall seconds, rows/s, peak RSS, and the ratio to the floor.

--rows is rows PER MONTH: ``--rows 10M --months 12`` makes a 120M-row database.

Stages (default: all that apply):
  ingest  tracecode ingest (all files)  vs CREATE TABLE AS SELECT * FROM read_csv(same files)
  month   check --month LAST on the --months database vs the same on a database holding
          only that month (needs --months >= 2)
  check   tracecode check (all rules)   vs SELECT code, count(*) ... GROUP BY code HAVING count(*) > 1
  export  tracecode export              vs COPY (SELECT * FROM events LIMIT n) TO 'x.csv', n = rows exported
  trace   trace_code() in a warm process, and `tracecode trace CODE` as a fresh CLI call,
          vs a point query on the code column (warm / fresh process)
  json    tracecode ingest of the sale rows as NHSA 2025 3505 messages (one per line,
          input.selinfo with a drugtracinfo list) vs CREATE TABLE AS SELECT * FROM read_json(same files)
  people, rings   (when those commands exist) vs check --month of the same month
  pandas  what an analyst would write: pandas.read_csv + duplicated(code) + write the marked
          rows, under an address-space cap (--pandas-cap), vs tracecode ingest+check+export

Peak RSS is the child's own ru_maxrss (os.wait4). Times are medians of --repeat runs.

The 1-minute load average is taken before and after every measured run and printed beside each
figure: other jobs on the machine slow the floors (which use every core) more than tracecode,
so a figure taken under load is not a figure. --md refuses to append to RESULTS.md when any
figure was taken at a load above 1.5 (LOAD_QUIET), unless --noisy, which marks it as noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("ingest", "json", "month", "check", "export", "trace", "people", "rings", "pandas")
TARGETS = {  # stage -> (kind, limit): ratio to its floor, or absolute seconds
    "ingest": ("ratio", 2.0),
    "json": ("ratio", 2.0),
    "check": ("ratio", 4.0),
    "export": ("ratio", 2.0),
    "month": ("ratio", 1.5),
    "trace": ("seconds", 0.1),
    "trace-cli": ("seconds", 1.0),
    "people": ("ratio", 2.0),
    "rings": ("ratio", 2.0),
}
ORDER = ("ingest", "json", "month", "check", "export", "trace", "trace-cli", "people", "rings", "pandas")
RSS_TARGET = 10 * 1000**3  # peak RSS under 10 GB (at 100M rows)
#: Above this 1-minute load average (2 cores), taken just before a run, a figure is noisy: --md
#: refuses it without --noisy.
LOAD_QUIET = 1.5


# ---------------------------------------------------------------- sizes and formatting

def parse_count(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgG]?)\s*", str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count such as 20k, 1M, 10M")
    mult = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()]
    return int(round(float(m.group(1)) * mult))


def parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)i?B?\s*", str(text), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 16GB")
    return int(float(m.group(1)) * {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[m.group(2).upper()])


def short_count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return str(n)


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def fmt_load(row) -> str:
    """The load beside a figure: ``load 0.42`` or ``load 3.10 NOISY``."""
    if row.load is None:
        return "load ?"
    return f"load {row.load:.2f}" + (" NOISY" if row.noisy else "")


def fmt_secs(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s:.3f}" if s < 1 else f"{s:.2f}" if s < 100 else f"{s:.0f}"


# ---------------------------------------------------------------- running a child, measured

@dataclass
class Run:
    wall: float
    rss: int  # bytes, the child's peak resident set
    rc: int
    out: str
    err: str
    killed_at_rss: int = 0  # bytes: the bench killed it there (--rss-cap)
    load: float = 0.0  # the higher 1-minute load average of the two taken before and after the run


# The measured command is started by this small launcher, not by the bench process itself:
# Linux keeps the peak RSS of the image a child had before exec (the forked copy of its
# parent), so a child forked from a big parent would report the parent's RSS as its own.
LAUNCHER = """
import json, os, resource, sys, threading, time
cap, rss_cap_kb, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if cap:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
killed = [0]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[4], sys.argv[4:])
    finally:
        os._exit(127)

def watch():
    # Kill the child before it drives a shared machine into the kernel's OOM killer.
    while True:
        try:
            with open(f"/proc/{pid}/status") as fh:
                rss = next((int(l.split()[1]) for l in fh if l.startswith("VmRSS")), 0)
        except (OSError, ValueError):
            return
        if rss > rss_cap_kb:
            killed[0] = rss
            os.kill(pid, 9)
            return
        time.sleep(0.5)

if rss_cap_kb:
    threading.Thread(target=watch, daemon=True).start()
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"wall": wall, "maxrss_kb": usage.ru_maxrss, "rc": os.waitstatus_to_exitcode(status),
               "killed_at_rss_kb": killed[0]}, fh)
"""
RSS_CAP = 0  # kB; set from --rss-cap in main()
#: Seconds to wait before a run for the 1-minute load to fall below LOAD_QUIET; set from --settle.
SETTLE_S = 120


def settled_load(settle_s: float | None = None, poll_s: float = 5.0) -> float:
    """The 1-minute load average just before a run (what `uptime` says before a measurement),
    after waiting up to ``settle_s`` for it to fall below LOAD_QUIET: a 1-minute average still
    holds the bench's own previous run for a minute (a parallel floor keeps both cores busy),
    which is not other work on the machine. Above LOAD_QUIET after the wait, the figure is noisy."""
    deadline = time.monotonic() + (SETTLE_S if settle_s is None else settle_s)
    load = os.getloadavg()[0]
    while load > LOAD_QUIET and time.monotonic() < deadline:
        time.sleep(poll_s)
        load = os.getloadavg()[0]
    return load


def run_measured(argv: list[str], log: Path, env: dict | None = None, cap_as: int | None = None,
                 check: bool = True) -> Run:
    """Run argv in a fresh process; its wall time and its own peak RSS (wait4's ru_maxrss)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path, rusage_path = log.with_suffix(".out"), log.with_suffix(".err"), log.with_suffix(".rusage")
    rusage_path.unlink(missing_ok=True)
    argv = [str(a) for a in argv]
    load_before = settled_load()
    if not os.path.isabs(argv[0]):
        argv[0] = shutil.which(argv[0]) or argv[0]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(cap_as or 0), str(RSS_CAP), str(rusage_path),
                               *argv],
                              stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    if not rusage_path.exists():
        raise SystemExit(f"bench: launcher failed (exit {proc.returncode}) for {' '.join(argv)}; see {err_path}")
    usage = json.loads(rusage_path.read_text())
    run = Run(usage["wall"], usage["maxrss_kb"] * 1024, usage["rc"],
              out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
              usage.get("killed_at_rss_kb", 0) * 1024, load_before)
    if check and run.rc != 0:
        raise StageFailed(run, argv, err_path)
    return run


class StageFailed(Exception):
    """A measured command exited non-zero: the bench records it and goes on where it can."""

    def __init__(self, run: Run, argv: list[str], log: Path):
        self.run, self.argv, self.log = run, argv, log
        lines = [l for l in run.err.strip().splitlines() if l.strip()]
        self.last = lines[-1][:200] if lines else ""
        if run.killed_at_rss:
            self.last = (f"killed by the bench at RSS {fmt_bytes(run.killed_at_rss)} (--rss-cap); "
                         f"last output: {self.last}")
        elif run.rc < 0:
            self.last = f"killed by signal {-run.rc}; last output: {self.last}"
        super().__init__(f"exit {run.rc}: {' '.join(argv)}: {self.last}")


def last_json(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return {}


# ---------------------------------------------------------------- floors: plain DuckDB / pandas scripts

DUCKDB_PRELUDE = """
import duckdb, json, sys, time
def connect(db, limit, tmp, read_only=False):
    con = duckdb.connect(db, read_only=read_only)
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{tmp}'")
    con.execute("SET preserve_insertion_order = false")  # as tracecode's store does
    return con
def sql_list(paths):
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
"""

FLOOR_INGEST = DUCKDB_PRELUDE + """
db, limit, tmp, *files = sys.argv[1:]
con = connect(db, limit, tmp)
con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({sql_list(files)}, header = true, all_varchar = true, union_by_name = true)")
print(json.dumps({"rows": con.execute("SELECT count(*) FROM t").fetchall()[0][0]}))
"""

FLOOR_JSON = DUCKDB_PRELUDE + """
db, limit, tmp, *files = sys.argv[1:]
con = connect(db, limit, tmp)
con.execute(f"CREATE TABLE t AS SELECT * FROM read_json({sql_list(files)}, format = 'newline_delimited')")
print(json.dumps({"rows": con.execute("SELECT count(*) FROM t").fetchall()[0][0]}))
"""

# The sale rows of a synth CSV as NHSA 2025 3505 messages, one a line: the header fields (the
# pharmacy code among them), input.selinfo with the price as finl_trns_pric, numbers as JSON
# numbers and the codes as a drugtracinfo list.
MAKE_JSON_2025 = DUCKDB_PRELUDE + """
src, out = sys.argv[1:]
con = duckdb.connect()
con.execute("SET preserve_insertion_order = true")
fields = ["med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno", "rtal_docno",
          "setl_id", "mdtrt_sn", "psn_no", "mdtrt_setl_type", "manu_lotnum", "manu_date", "expy_end", "trdn_flag",
          "sel_retn_time"]
selinfo = ", ".join(f"'{f}': {f}" for f in fields)
q = (f"COPY (SELECT '3505' AS infno, fixmedins_code || rtal_docno AS msgid, '330100' AS mdtrtarea_admvs, "
     f"'330100' AS insuplc_admdvs, 'YDXT' AS recer_sys_code, 'V1.0' AS infver, '1' AS opter_type, "
     f"'0001' AS opter, '营业员' AS opter_name, sel_retn_time AS inf_time, fixmedins_code, fixmedins_name, "
     f"{{'selinfo': {{{selinfo}, 'rx_flag': '0', 'sel_retn_opter_name': '营业员', "
     f"'finl_trns_pric': TRY_CAST(price AS DOUBLE), 'sel_retn_cnt': TRY_CAST(sel_retn_cnt AS DOUBLE), "
     f"'drugtracinfo': list_transform(string_split(drug_trac_codg, ','), lambda c: {{'drug_trac_codg': c}})}}}} AS input "
     f"FROM read_csv({sql_list([src])}, header = true, all_varchar = true)) "
     f"TO {sql_list([out])[1:-1]} (FORMAT json)")
con.execute(q)
"""

FLOOR_CHECK = DUCKDB_PRELUDE + """
db, limit, tmp, month = sys.argv[1:]
con = connect(db, limit, tmp, read_only=True)
where = "WHERE month = ?" if month else ""
n = con.execute(f"SELECT count(*) FROM (SELECT drug_trac_codg, count(*) FROM events {where} "
                "GROUP BY drug_trac_codg HAVING count(*) > 1)", [month] if month else []).fetchall()[0][0]
print(json.dumps({"repeated_codes": n}))
"""

FLOOR_EXPORT = DUCKDB_PRELUDE + """
db, limit, tmp, out, n = sys.argv[1:]
con = connect(db, limit, tmp, read_only=True)
con.execute(f"COPY (SELECT * FROM events LIMIT {int(n)}) TO '{out}' (HEADER)")
print(json.dumps({"rows": int(n)}))
"""

FLOOR_POINT = DUCKDB_PRELUDE + """
db, limit, tmp, *codes = sys.argv[1:]
con = connect(db, limit, tmp, read_only=True)
times = []
for code in codes:
    t0 = time.perf_counter()
    con.execute("SELECT * FROM events WHERE drug_trac_codg = ?", [code]).fetchall()
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times}))
"""

WARM_TRACE = """
import json, sys, time
from tracecode.store.database import open_store
from tracecode.outputs.trace import trace_code
db, *codes = sys.argv[1:]
con = open_store(db, read_only=True)
t0 = time.perf_counter(); first = trace_code(con, codes[0]); cold = time.perf_counter() - t0
times, verdicts = [], {}
for code in codes:
    t0 = time.perf_counter()
    h = trace_code(con, code)
    times.append(time.perf_counter() - t0)
    verdicts[code] = h.verdict
print(json.dumps({"cold": cold, "times": times, "verdicts": verdicts}))
"""

PANDAS_SCRIPT = """
import json, sys, time
try:
    import pandas as pd
except ImportError:
    print(json.dumps({"skipped": "pandas not installed"})); sys.exit(0)
out, chunk, *files = sys.argv[1:]
rows = 0
try:
    frames = []
    for f in files:
        # As an analyst would: every column as text (codes are 20 digits), the whole month in memory.
        # Read in chunks only so that we can say how far it got when memory runs out.
        for part in pd.read_csv(f, dtype=str, keep_default_na=False, chunksize=int(chunk)):
            frames.append(part)
            rows += len(part)
            print(json.dumps({"progress": rows}), flush=True)
    df = pd.concat(frames, ignore_index=True)
    del frames
    df["duplicate"] = df.duplicated("drug_trac_codg", keep=False)
    marked = df[df["duplicate"]]
    marked.to_csv(out, index=False)
    print(json.dumps({"rows": rows, "marked": len(marked)}))
except MemoryError:
    print(json.dumps({"oom": True, "rows": rows}), flush=True)
    sys.exit(3)
"""


# ---------------------------------------------------------------- data

def tracecode_argv() -> list[str]:
    script = Path(sys.executable).parent / "tracecode"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tracecode.cli"]


def have_command(name: str) -> bool:
    r = subprocess.run(tracecode_argv() + [name, "--help"], capture_output=True)
    return r.returncode == 0


def have_synth() -> bool:
    try:
        import tracecode.synth  # noqa: F401
    except ImportError:
        return False
    return have_command("synth")


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def month_of(path: Path) -> str:
    m = re.search(r"(\d{4}-\d{2})", path.name)
    return m.group(1) if m else ""


def dataset(cache: Path, rows: int, months: int, seed: int, log: Path) -> dict:
    """Generate (or reuse) the CSVs with `tracecode synth`; returns {dir, generator, files: [{path, kind, month, rows}]}."""
    if not have_synth():
        raise SystemExit("bench: `tracecode synth` is not available (tracecode.synth missing)")
    generator = "synth"
    key = f"{generator}-r{short_count(rows)}-m{months}-s{seed}"
    target = cache / key
    done = target / "DONE.json"
    if done.exists():
        return json.loads(done.read_text())
    tmp = cache / (key + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    print(f"bench: generating {key} ({rows:,} sale rows/month x {months} months) ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    # synth's --rows is the total over all months.
    run_measured(tracecode_argv() + ["synth", "--rows", str(rows * months), "--months", str(months),
                                     "--out", str(tmp), "--formats", "csv", "--seed", str(seed), "--quiet"],
                 log / f"synth-{key}")
    gen_secs = time.perf_counter() - t0
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    files = []
    for p in sorted(target.glob("*.csv")):
        if p.name.startswith(("sales", "returns")):
            files.append({"path": str(p), "kind": "return" if p.name.startswith("returns") else "sale",
                          "month": month_of(p), "rows": count_lines(p) - 1, "bytes": p.stat().st_size})
    info = {"dir": str(target), "key": key, "generator": generator, "rows_per_month": rows, "months": months,
            "seed": seed, "files": files, "generate_seconds": round(gen_secs, 1)}
    done.write_text(json.dumps(info, indent=1))
    return info


# ---------------------------------------------------------------- the bench

@dataclass
class Row:
    stage: str
    rows: int | None = None
    wall: float | None = None
    rss: int | None = None
    floor: str = ""
    floor_wall: float | None = None
    floor_rss: int | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    runs: list = field(default_factory=list)
    load: float | None = None  # the highest 1-minute load average around its runs (and its floor's)

    def saw(self, *runs: "Run") -> None:
        """Take the load of these runs into the row's."""
        self.load = max([self.load or 0.0, *(r.load for r in runs)])

    @property
    def noisy(self) -> bool:
        return self.load is not None and self.load > LOAD_QUIET

    @property
    def rate(self) -> float | None:
        if self.stage.startswith("trace"):  # a point query: rows/s means nothing
            return None
        return self.rows / self.wall if self.rows and self.wall else None


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.load_start = os.getloadavg()
        self.work: Path = args.work.resolve()
        self.logs = self.work / "logs"
        self.rows: list[Row] = []
        self.limit = args.memory_limit or os.environ.get("TRACECODE_MEMORY_LIMIT") or "4GB"
        self.env = dict(os.environ, TRACECODE_MEMORY_LIMIT=self.limit)
        self.env.pop("TRACECODE_DB", None)
        self.tc = tracecode_argv()
        self.floor_tmp = self.work / "floor.tmp"
        self.step = 0

    # -- helpers
    def log(self, name: str) -> Path:
        self.step += 1
        return self.logs / f"{self.step:02d}-{name}"

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)

    def tracecode(self, name: str, *args: str, check: bool = True) -> Run:
        return run_measured(self.tc + list(args), self.log(name), env=self.env, check=check)

    def python(self, name: str, script: str, *args: str, cap_as: int | None = None, check: bool = True) -> Run:
        return run_measured([sys.executable, "-c", script, *map(str, args)], self.log(name), env=self.env,
                            cap_as=cap_as, check=check)

    def floor(self, name: str, script: str, *args: str) -> Run:
        self.floor_tmp.mkdir(parents=True, exist_ok=True)
        return self.python(name, script, *args)

    @staticmethod
    def drop_db(path: Path) -> None:
        for p in (path, Path(str(path) + ".wal")):
            p.unlink(missing_ok=True)
        shutil.rmtree(str(path) + ".tmp", ignore_errors=True)

    def query(self, db: Path, sql: str, params: list | None = None) -> list:
        import duckdb
        con = duckdb.connect(str(db), read_only=True)
        con.execute(f"SET memory_limit = '{self.limit}'")
        con.execute(f"SET temp_directory = '{self.floor_tmp}'")
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def pair(self, stage: str, do_tc, do_floor) -> tuple[list[Run], list[Run]]:
        """Run the stage and its floor --repeat times, interleaved (noise hits both alike)."""
        tcs, floors = [], []
        times = self.args.repeat_month if stage == "month" and self.args.repeat_month else self.args.repeat
        for _ in range(times):
            tcs.append(do_tc())
            floors.append(do_floor())
        return tcs, floors

    def add(self, stage: str, rows: int | None, tcs: list[Run], floors: list[Run], floor: str,
            note: str = "") -> Row:
        row = Row(stage, rows, med(r.wall for r in tcs), max(r.rss for r in tcs), floor,
                  med(r.wall for r in floors) if floors else None,
                  max(r.rss for r in floors) if floors else None, note=note)
        row.runs = [{"wall": r.wall, "rss": r.rss, "load": round(r.load, 2)} for r in tcs]
        row.saw(*tcs, *floors)
        if row.floor_wall:
            row.ratio = row.wall / row.floor_wall
        self.judge(row)
        self.rows.append(row)
        self.say(f"{stage}: {fmt_secs(row.wall)} s, floor {fmt_secs(row.floor_wall)} s, "
                 f"ratio {row.ratio:.2f}, {fmt_load(row)}" if row.ratio is not None
                 else f"{stage}: {fmt_secs(row.wall)} s, {fmt_load(row)}")
        return row

    @staticmethod
    def judge(row: Row) -> None:
        t = TARGETS.get(row.stage)
        if not t:
            return
        kind, limit = t
        if kind == "ratio":
            row.target = f"≤ {limit:g}×"
            row.met = row.ratio is not None and row.ratio <= limit
        else:
            row.target = f"< {limit * 1000:.0f} ms" if limit < 1 else f"< {limit:g} s"
            row.met = row.wall is not None and row.wall < limit

    # -- stages
    def run(self) -> dict:
        a = self.args
        self.work.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.data = dataset(a.cache.resolve(), a.rows, a.months, a.seed, self.logs)
        files = self.data["files"]
        self.files = [Path(f["path"]) for f in files]
        self.input_rows = sum(f["rows"] for f in files)
        self.sale_files = [Path(f["path"]) for f in files if f["kind"] == "sale"]
        self.months = sorted({f["month"] for f in files})
        self.db = self.work / f"{self.data['key']}.duckdb"
        catalog = Path(self.data["dir"]) / "catalog.csv"
        self.catalog = ["--catalog", str(catalog)] if catalog.exists() else []
        self.say(f"data {self.data['key']}: {len(files)} files, {self.input_rows:,} input rows "
                 f"({a.rows:,} sale rows/month x {a.months} month(s)), generator: {self.data['generator']}")
        if a.generate_only:
            return {}
        stages = a.stages
        available = {name: have_command(name) for name in ("check", "export", "people", "rings")}
        for name in ("check", "export"):
            if name in stages and not available[name]:
                self.rows.append(Row(name, note=f"skipped: `tracecode {name}` is not available"))
        if not available["check"]:
            stages = [s for s in stages if s not in ("check", "export", "month")]
        if "ingest" in stages or not self.db.exists():
            if not self.guard("ingest", self.stage_ingest):
                return self.report()
        if "json" in stages:
            self.guard("json", self.stage_json)
        self.events = self.query(self.db, "SELECT count(*) FROM events")[0][0]
        self.month_rows = dict(self.query(self.db, "SELECT month, count(*) FROM events GROUP BY month"))
        if "month" in stages and len(self.months) >= 2:
            self.guard("month", self.stage_month)
        checked = True
        if "check" in stages:
            checked = self.guard("check", self.stage_check)
        if "export" in stages and checked:
            self.guard("export", self.stage_export)
        if "trace" in stages:
            self.guard("trace", self.stage_trace)
        for name in ("people", "rings"):
            if name in stages and available[name]:
                self.guard(name, lambda: self.stage_month_command(name))
        if "pandas" in stages:
            self.guard("pandas", self.stage_pandas)
        if getattr(self, "ingest_floor", None):
            self.guard("ingest", self.stage_ingest_floor)
        return self.report()

    def guard(self, stage: str, fn) -> bool:
        """Run one stage; a failing command becomes a FAILED row (with its wall time and peak
        RSS) instead of ending the bench. The results so far are saved after every stage."""
        ok = True
        try:
            fn()
        except StageFailed as exc:
            ok = False
            r = exc.run
            name = Path(exc.argv[1]).name if len(exc.argv) > 1 and exc.argv[1] == "-c" else " ".join(
                Path(a).name if i == 0 else a for i, a in enumerate(exc.argv[:2]))
            self.rows.append(Row(stage, wall=r.wall, rss=r.rss, met=False,
                                 note=f"FAILED: `{name}` exit {r.rc} after {r.wall:.0f} s at peak RSS "
                                      f"{fmt_bytes(r.rss)}: {exc.last} (log {exc.log})", load=r.load))
            self.say(f"{stage} FAILED: {exc}")
        if self.args.json:
            self.args.json.write_text(json.dumps(self.report() | {"partial": True}, indent=1, default=str))
        return ok

    def stage_ingest(self) -> None:
        self.say(f"ingest: {len(self.files)} files, {self.input_rows:,} rows")
        floor_db = self.work / "floor.duckdb"

        def tc():
            self.drop_db(self.db)
            return self.tracecode("ingest", "ingest", "--db", str(self.db), "--quiet", *map(str, self.files))

        def fl():
            self.drop_db(floor_db)
            r = self.floor("floor-ingest", FLOOR_INGEST, floor_db, self.limit, self.floor_tmp, *self.files)
            self.drop_db(floor_db)
            return r

        if self.args.ingest_floor_last:
            # Long runs: the floor runs at the very end, so that a run cut short still has the rest.
            tcs = [tc() for _ in range(self.args.repeat)]
            self.ingest_floor = fl
            self.add("ingest", self.input_rows, tcs, [], "read_csv → CREATE TABLE (run last)")
            return
        tcs, fls = self.pair("ingest", tc, fl)
        self.add("ingest", self.input_rows, tcs, fls, "read_csv → CREATE TABLE")

    def json_files(self) -> list[Path]:
        """The sale files as NHSA 2025 messages (made once, kept beside the cached CSVs)."""
        folder = Path(self.data["dir"]) / "nhsa2025"
        folder.mkdir(exist_ok=True)
        out = []
        for csv_path in self.sale_files:
            target = folder / (csv_path.stem + ".jsonl")
            if not target.exists():
                partial = target.with_suffix(".partial")
                subprocess.run([sys.executable, "-c", MAKE_JSON_2025, str(csv_path), str(partial)], check=True)
                partial.rename(target)
            out.append(target)
        return out

    def stage_json(self) -> None:
        files = self.json_files()
        messages = sum(count_lines(p) for p in files)
        self.say(f"json: {len(files)} files, {messages:,} NHSA 2025 messages")
        db = self.work / f"{self.data['key']}-json.duckdb"
        floor_db = self.work / "floor-json.duckdb"

        def tc():
            self.drop_db(db)
            return self.tracecode("ingest-json", "ingest", "--db", str(db), "--quiet", *map(str, files))

        def fl():
            self.drop_db(floor_db)
            r = self.floor("floor-json", FLOOR_JSON, floor_db, self.limit, self.floor_tmp, *files)
            self.drop_db(floor_db)
            return r

        tcs, fls = self.pair("json", tc, fl)
        self.drop_db(db)
        self.add("json", messages, tcs, fls, "read_json → CREATE TABLE",
                 note="the sale rows as NHSA 2025 3505 messages, one a line (input.selinfo, drugtracinfo list)")

    def stage_ingest_floor(self) -> None:
        row = next(r for r in self.rows if r.stage == "ingest")
        self.say("ingest floor (run last)")
        fls = [self.ingest_floor() for _ in range(self.args.repeat)]
        row.floor_wall, row.floor_rss = med(r.wall for r in fls), max(r.rss for r in fls)
        row.saw(*fls)
        row.ratio = row.wall / row.floor_wall
        self.judge(row)
        self.say(f"ingest: ratio {row.ratio:.2f}, {fmt_load(row)}")

    def stage_check(self) -> None:
        self.say(f"check: {self.events:,} code rows")
        tcs, fls = self.pair(
            "check",
            lambda: self.tracecode("check", "check", "--db", str(self.db), "--quiet", *self.catalog),
            lambda: self.floor("floor-check", FLOOR_CHECK, self.db, self.limit, self.floor_tmp, ""))
        self.check_row = self.add("check", self.events, tcs, fls, "GROUP BY code HAVING count(*) > 1")

    def stage_month(self) -> None:
        """check --month LAST on the full database vs on a database of that month only."""
        last = self.months[-1]
        one = self.work / f"{self.data['key']}-only-{last}.duckdb"
        self.drop_db(one)
        only = [p for p in self.files if month_of(p) == last]
        self.say(f"month: building a 1-month database of {last} ({len(only)} files)")
        self.tracecode("ingest-one-month", "ingest", "--db", str(one), "--quiet", *map(str, only))
        tcs, fls = self.pair(
            "month",
            lambda: self.tracecode("check-month-full", "check", "--db", str(self.db), "--month", last, "--quiet", *self.catalog),
            lambda: self.tracecode("check-month-one", "check", "--db", str(one), "--month", last, "--quiet", *self.catalog))
        self.add("month", self.month_rows.get(last), tcs, fls,
                 f"check --month {last} on a 1-month db",
                 note=f"{len(self.months)}-month db ({self.events:,} code rows) vs 1-month db")
        self.drop_db(one)

    def stage_month_command(self, name: str) -> None:
        """people / rings read the findings of `check --month`: the floor (that check) runs first."""
        last = self.months[-1]
        tcs, fls = [], []
        for _ in range(self.args.repeat):
            fls.append(self.tracecode(f"check-month-for-{name}", "check", "--db", str(self.db), "--month", last,
                                      "--quiet", *self.catalog))
            tcs.append(self.tracecode(name, name, "--db", str(self.db), "--month", last))
        self.add(name, self.month_rows.get(last), tcs, fls, f"check --month {last}")

    def stage_export(self) -> None:
        out = self.work / "export"
        floor_out = self.work / "floor-export.csv"
        if not any(r.stage == "check" for r in self.rows):
            self.tracecode("check-before-export", "check", "--db", str(self.db), "--quiet")

        def tc():
            shutil.rmtree(out, ignore_errors=True)
            return self.tracecode("export", "export", "--db", str(self.db), "--out", str(out), "--quiet")

        tcs = [tc()]
        exported = sum(count_lines(p) - 1 for p in out.rglob("*.csv"))
        self.say(f"export: {exported:,} rows in {len(list(out.rglob('*.csv')))} CSV files")
        fls = [self.floor("floor-export", FLOOR_EXPORT, self.db, self.limit, self.floor_tmp, floor_out, exported)]
        for _ in range(self.args.repeat - 1):
            tcs.append(tc())
            fls.append(self.floor("floor-export", FLOOR_EXPORT, self.db, self.limit, self.floor_tmp, floor_out,
                                  exported))
        floor_out.unlink(missing_ok=True)
        self.add("export", exported, tcs, fls, f"COPY (SELECT * FROM events LIMIT {exported:,}) TO csv")

    def trace_codes(self) -> list[str]:
        rep = [r[0] for r in self.query(
            self.db, "SELECT drug_trac_codg FROM events WHERE code_status = 'valid' GROUP BY drug_trac_codg "
                     "HAVING count(*) > 1 ORDER BY hash(drug_trac_codg) LIMIT 8")]
        once = [r[0] for r in self.query(
            self.db, "SELECT drug_trac_codg FROM events WHERE code_status = 'valid' USING SAMPLE 8 ROWS")]
        return rep + once + ["80000000000000000017"]  # the last is (almost surely) not found

    def stage_trace(self) -> None:
        codes = self.trace_codes()
        self.say(f"trace: {len(codes)} codes over {self.events:,} code rows")
        warm = self.python("trace-warm", WARM_TRACE, self.db, *codes)
        wj = last_json(warm.out)
        point = self.floor("floor-point", FLOOR_POINT, self.db, self.limit, self.floor_tmp, *codes)
        pj = last_json(point.out)
        row = Row("trace", self.events, med(wj["times"]), warm.rss, "point query on the code column (warm)",
                  med(pj["times"]), point.rss,
                  note=f"warm process, median of {len(codes)} codes; max {max(wj['times']) * 1000:.0f} ms, "
                       f"first call {wj['cold'] * 1000:.0f} ms")
        row.ratio = row.wall / row.floor_wall if row.floor_wall else None
        row.saw(warm, point)
        self.judge(row)
        self.rows.append(row)
        self.say(f"trace warm: {row.wall * 1000:.1f} ms (max {max(wj['times']) * 1000:.0f} ms), {fmt_load(row)}")
        picks = [codes[0], codes[len(codes) // 2 + 1], codes[-1]]
        tcs, fls = [], []
        for _ in range(self.args.repeat):
            for code in picks:
                tcs.append(self.tracecode("trace-cli", "trace", "--db", str(self.db), code))
                fls.append(self.floor("floor-point-cli", FLOOR_POINT, self.db, self.limit, self.floor_tmp, code))
        self.add("trace-cli", self.events, tcs, fls, "point query, fresh python+duckdb process",
                 note=f"fresh `tracecode trace CODE`, median of {len(tcs)} calls, max {max(r.wall for r in tcs):.2f} s")

    def stage_pandas(self) -> None:
        sale_rows = sum(f["rows"] for f in self.data["files"] if f["kind"] == "sale")
        cap = self.args.pandas_cap
        chunk = max(10_000, min(1_000_000, sale_rows // 20))
        self.say(f"pandas: {sale_rows:,} sale rows under a {fmt_bytes(cap)} address-space cap")
        out = self.work / "pandas-marked.csv"
        run = self.python("pandas", PANDAS_SCRIPT, out, chunk, *self.sale_files, cap_as=cap, check=False)
        out.unlink(missing_ok=True)
        lines = [json.loads(l) for l in run.out.splitlines() if l.startswith("{")]
        final = lines[-1] if lines else {}
        parts = [r for r in self.rows if r.stage in ("ingest", "check", "export") and r.wall
                 and not r.note.startswith("FAILED")]
        tc_total = sum(r.wall for r in parts) or None
        row = Row("pandas", sale_rows, run.wall, run.rss,
                  ("tracecode " + " + ".join(r.stage for r in parts) + " (ratio = pandas / tracecode)") if parts else "",
                  tc_total, max((r.rss for r in parts), default=None))
        row.saw(run)
        if final.get("skipped"):
            row.note = f"skipped: {final['skipped']}"
            row.wall = row.rss = None
        elif run.rc == 0 and "marked" in final:
            row.note = f"read_csv + duplicated(code) + to_csv; {final['marked']:,} rows marked"
        else:
            got = max((l.get("progress", 0) for l in lines), default=0)
            got = max(got, final.get("rows", 0))
            reason = "MemoryError" if final.get("oom") else f"exit {run.rc}"
            tail = run.err.strip().splitlines()[-1:] if run.err.strip() else []
            row.note = (f"OUT OF MEMORY ({reason}, cap {fmt_bytes(cap)}) after reading {got:,} of {sale_rows:,} rows"
                        + (f": {tail[0][:120]}" if tail and not final.get("oom") else ""))
        if row.wall and tc_total:
            row.ratio = row.wall / tc_total
        self.rows.append(row)
        self.say(f"pandas: {row.note}")

    # -- output
    def report(self) -> dict:
        a = self.args
        peak = max((r.rss or 0 for r in self.rows if r.stage != "pandas"), default=0)
        return {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/run.py " + " ".join(sys.argv[1:]),
            "machine": machine(),
            "data": {k: v for k, v in self.data.items() if k != "files"} | {
                "input_rows": self.input_rows, "code_rows": getattr(self, "events", None),
                "files": len(self.data["files"])},
            "memory_limit": self.limit,
            "load_average": {"start": [round(x, 1) for x in self.load_start],
                             "end": [round(x, 1) for x in os.getloadavg()]},
            "repeat": a.repeat,
            "peak_rss": peak,
            "peak_rss_met": peak < RSS_TARGET,
            "max_load": max((r.load for r in self.rows if r.load is not None), default=None),
            "noisy_marked": bool(a.noisy),
            "rows": [asdict(r) | {"rate": r.rate, "noisy": r.noisy}
                     for r in sorted(self.rows, key=lambda r: ORDER.index(r.stage))],
        }


def med(values) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def machine_ram() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 16 * 10**9


def machine() -> dict:
    mem_total = machine_ram

    def cpu_model() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor()

    def version(mod: str) -> str:
        try:
            return __import__(mod).__version__
        except Exception:
            return "not installed"

    def git_head() -> str:
        r = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        head = r.stdout.strip() or "?"
        r = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "tracecode", "sql"],
                           capture_output=True, text=True)
        dirty = len([l for l in r.stdout.splitlines() if l.strip()])
        return f"{head} + {dirty} uncommitted file(s) in tracecode/, sql/" if dirty else head

    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version
    try:
        tc_version = dist_version("tracecode")
    except PackageNotFoundError:
        tc_version = "?"
    return {"cores": os.cpu_count(), "cpu": cpu_model(), "ram": mem_total(), "os": platform.platform(),
            "python": platform.python_version(), "duckdb": version("duckdb"), "pyarrow": version("pyarrow"),
            "pandas": version("pandas"), "tracecode": f"{tc_version} ({git_head()})"}


def _md_load(row: dict) -> str:
    load = row.get("load")
    if load is None:
        return "—"
    return f"{load:.2f}" + (" NOISY" if load > LOAD_QUIET else "")


def markdown(result: dict) -> str:
    m, d = result["machine"], result["data"]
    load = result.get("load_average") or {"start": ["?"], "end": ["?"]}
    max_load = result.get("max_load")
    noisy = max_load is not None and max_load > LOAD_QUIET
    lines = [
        f"### {short_count(d['rows_per_month'])} rows/month × {d['months']} month(s) — {result['date']}"
        + (" — NOISY (measured under load)" if noisy else ""),
        "",
        f"`{result['command']}`",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram'] / 2**30:.1f} GiB RAM, {m['os']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']}, pyarrow {m['pyarrow']}, pandas {m['pandas']}, "
        f"tracecode {m['tracecode']}.",
        f"Data: `{d['key']}` ({d['generator']}), {d['files']} CSV files, {d['input_rows']:,} input rows "
        f"(sales + returns), {d['code_rows'] or 0:,} code rows stored. DuckDB memory limit {result['memory_limit']} "
        f"(tracecode and floors). Median of {result['repeat']} run(s). Load average (1/5/15 min) "
        f"{'/'.join(map(str, load['start']))} at the start, "
        f"{'/'.join(map(str, load['end']))} at the end (other jobs share the machine).",
        "",
    ]
    if noisy:
        lines += [f"**Noisy: the 1-minute load reached {max_load:.2f} (quiet is ≤ {LOAD_QUIET:g} on this machine); "
                  "the figures marked NOISY are not quiet-machine figures. Re-run them idle.**", ""]
    lines += [
        "| stage | rows | wall s | rows/s | peak RSS | floor (same run, same files) | floor s | floor RSS | ratio | target | met "
        "| load (1 min) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|---:|",
    ]
    for r in result["rows"]:
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        rate = f"{r['rate']:,.0f}" if r["rate"] else "—"
        rows = f"{r['rows']:,}" if r["rows"] is not None else "—"
        lines.append(
            f"| {r['stage']} | {rows} | {fmt_secs(r['wall'])} | "
            f"{rate} | "
            f"{fmt_bytes(r['rss'])} | {r['floor']} | {fmt_secs(r['floor_wall'])} | {fmt_bytes(r['floor_rss'])} | "
            f"{ratio} | {r['target']} | {met} | {_md_load(r)} |")
    lines.append("")
    if result["peak_rss"]:
        lines.append(f"Peak RSS of any tracecode stage: {fmt_bytes(result['peak_rss'])} "
                     f"(target < 10 GB: {'yes' if result['peak_rss_met'] else '**no**'}).")
    notes = [f"- {r['stage']}: {r['note']}" for r in result["rows"] if r["note"]]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=textwrap.dedent(__doc__.split("\n\n", 1)[1]))
    p.add_argument("--rows", type=parse_count, help="sale rows PER MONTH: 20k, 1M, 10M, 100M")
    p.add_argument("--months", type=int, default=1)
    p.add_argument("--stages", default=",".join(STAGES),
                   help=f"comma-separated subset of {','.join(STAGES)} (default: all that apply)")
    p.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    p.add_argument("--repeat-month", type=int, default=None,
                   help="runs of the month stage (default --repeat): it is cheap next to ingest")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--memory-limit", default=None,
                   help="DuckDB memory limit for tracecode (TRACECODE_MEMORY_LIMIT) and the floors (default 4GB)")
    p.add_argument("--pandas-cap", type=parse_bytes, default=parse_bytes("16GB"),
                   help="address-space cap of the pandas baseline (default 16GB)")
    p.add_argument("--settle", type=float, default=120,
                   help="seconds to wait before each run for the 1-minute load to fall below "
                        f"{LOAD_QUIET:g} (the bench's own previous run included); the load then is the figure's")
    p.add_argument("--rss-cap", type=parse_bytes, default=None,
                   help="kill a measured command whose RSS passes this (default 70%% of RAM): "
                        "protects a shared machine from the OOM killer")
    p.add_argument("--work", type=Path, default=HERE / "work", help="databases, outputs, logs (default bench/work)")
    p.add_argument("--cache", type=Path, default=HERE / "cache", help="generated data (default bench/cache)")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument("--md", type=Path, help="append the markdown section to this file (e.g. bench/RESULTS.md); "
                   f"refused when a figure was taken at a 1-minute load above {LOAD_QUIET:g}, unless --noisy")
    p.add_argument("--noisy", action="store_true",
                   help="let --md append figures taken under load, marked NOISY")
    p.add_argument("--ingest-floor-last", action="store_true",
                   help="run the ingest floor after every other stage (long runs: the rest is saved first)")
    p.add_argument("--generate-only", action="store_true", help="only generate (or find) the cached data")
    p.add_argument("--keep-db", action="store_true", help="keep the database in --work afterwards")
    p.add_argument("--render", type=Path, nargs="+", metavar="JSON",
                   help="print the markdown of earlier results (JSON files) and exit")
    a = p.parse_args(argv)
    if a.render:
        for path in a.render:
            print(markdown(json.loads(path.read_text())))
        return 0
    if a.rows is None:
        p.error("--rows is required")
    a.stages = [s.strip() for s in a.stages.split(",") if s.strip()]
    unknown = [s for s in a.stages if s not in STAGES]
    if unknown:
        p.error(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    if a.repeat < 1 or a.months < 1 or a.rows < 1:
        p.error("--rows, --months and --repeat must be positive")
    global RSS_CAP, SETTLE_S
    RSS_CAP = (a.rss_cap or int(0.7 * machine_ram())) // 1024
    SETTLE_S = a.settle
    bench = Bench(a)
    result = bench.run()
    if a.generate_only:
        print(json.dumps({k: v for k, v in bench.data.items() if k != "files"}))
        return 0
    text = markdown(result)
    print(text)
    a.work.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = a.json or (a.work / f"results-{result['data']['key']}-{stamp}.json")
    json_path.write_text(json.dumps(result, indent=1, default=str))
    if not a.keep_db:
        bench.drop_db(bench.db)
    if a.md and not append_markdown(a.md, result, allow_noisy=a.noisy):
        print(f"bench: NOT appended to {a.md}: the 1-minute load reached {result['max_load']:.2f} "
              f"(> {LOAD_QUIET:g}) while measuring; re-run on a quiet machine, or pass --noisy to append it "
              f"marked NOISY (results kept in {json_path})", file=sys.stderr)
        return 3
    return 0


def append_markdown(path: Path, result: dict, allow_noisy: bool = False) -> bool:
    """Append the result's section to ``path`` (RESULTS.md); False, and nothing written, when a
    figure was taken at a 1-minute load above LOAD_QUIET and ``allow_noisy`` is not set."""
    max_load = result.get("max_load")
    if max_load is not None and max_load > LOAD_QUIET and not allow_noisy:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" + markdown(result))
    return True


if __name__ == "__main__":
    sys.exit(main())
