"""The Spark engine finds exactly what the DuckDB path finds, from the same sql/ files.

On data/sample (every upload format) and on a 100k-row synthetic set, both are ingested with
`tracecode ingest --to-parquet`; DuckDB checks and exports each month (and, for the sample,
the whole history), Spark (local[2]) checks the Parquet layout and writes its files. Per
scope: the four CSV files are the same bytes, and the findings and their evidence rows are
the same, rule by rule. The synthetic CSVs are also read raw by Spark (readers, normaliser and
hashing inside Spark tasks): the same events, rejects and files as ingest. Bad input: the
errors ingest gives, rejects kept alike, clear errors for folders that are not a layout.

Runs by default where PySpark and Java are installed (TRACECODE_SKIP_SPARK=1 skips it): one
Spark session for the module, each data set in a thread of its own (about 2.5 min on 2 cores).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _spark_missing() -> str | None:
    import os

    if os.environ.get("TRACECODE_SKIP_SPARK") == "1":
        return "TRACECODE_SKIP_SPARK=1"
    for module in ("pyspark", "sqlglot", "pandas"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'tracecode[spark]')"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "Java is not installed (the Spark engine needs a JDK 17+ on PATH or JAVA_HOME)"
    return None


pytestmark = [
    pytest.mark.slow,  # a Spark session (JVM) per module and minutes of local-mode jobs
    pytest.mark.skipif(_spark_missing() is not None, reason=_spark_missing() or ""),
    # PySpark warns about pandas 3 when a mapInArrow is defined; tracecode passes it Arrow only
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

from tracecode.cli import main  # noqa: E402
from tracecode.errors import InputFileError, RuleError, TracecodeError, UnknownMonth  # noqa: E402
from tracecode.outputs.export import FILE_NAMES, export  # noqa: E402
from tracecode.rules.runner import run_checks  # noqa: E402
from tracecode.store.database import open_store  # noqa: E402

MONTHS = ("2026-01", "2026-02")
SCOPES = (*MONTHS, None)  # None: the whole history ('all')


#: Tiny data: Spark's time goes to planning, JIT, code generation and per-stage overhead, not
#: to rows. These settings more than halve a check here (the results do not depend on them):
#: no generated code (interpreted expressions), the quick JIT only, with room for its code (at
#: the default 48 MB the JVM fills it within the module and stops compiling: checks then take
#: twice as long), no runtime Bloom filters (each one ships a megabyte-sized bit array to
#: every task of the join it prunes), no broadcast joins (each broadcast is a Spark job of its
#: own: a fifth of a check's CPU here).
TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.optimizer.runtime.bloomFilter.enabled": "false",
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.locality.wait": "0",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m",
}


@pytest.fixture(scope="module")
def spark_starting():
    """The module's Spark session, started in the background (the JVM starts while DuckDB
    builds the reference outputs)."""
    from tracecode.spark.session import spark_session

    pool = ThreadPoolExecutor(1, thread_name_prefix="spark-start")
    starting = pool.submit(spark_session, "local[2]", app_name="tracecode-parity", conf=TEST_CONF)
    pool.shutdown(wait=False)
    yield starting
    if starting.exception() is None:
        starting.result().stop()


@pytest.fixture(scope="module")
def spark(spark_starting):
    return spark_starting.result()


def _ingest(folder: Path, files: list[Path], layout: str = "ingest") -> tuple[Path, Path]:
    """The store and the Parquet layout of ``files``: written by `ingest --to-parquet`
    (layout 'ingest', a file per upload file and bucket) or by `export --parquet` of the store
    afterwards (layout 'export', a file per month and bucket)."""
    db, lake = folder / "store.duckdb", folder / "lake"
    to_parquet = ["--to-parquet", str(lake)] if layout == "ingest" else []
    result = CliRunner().invoke(main, ["ingest", "--quiet", "--db", str(db), *to_parquet, *map(str, files)])
    assert result.exit_code == 0, result.output
    if layout == "export":
        result = CliRunner().invoke(main, ["export", "--db", str(db), "--parquet", str(lake), "--no-mask"])
        assert result.exit_code == 0, result.output
        assert not list(lake.rglob("file_*.parquet")) and list(lake.rglob("all_*.parquet"))
    return db, lake


def _duckdb_outputs(db: Path, folder: Path, catalog: Path | None, scopes=SCOPES) -> dict:
    """DuckDB: check and export every scope; the stored findings and evidence per scope."""
    out = {}
    con = open_store(db)
    try:
        for month in scopes:
            scope = month or "all"
            result = run_checks(con, month=month, catalog=catalog)
            export(con, folder / f"duck_{scope}", month=month, mask=False)
            findings = con.execute(
                "SELECT * EXCLUDE (checked_at) FROM findings WHERE month = ? ORDER BY ALL", [scope]).fetchall()
            events = con.execute(
                "SELECT rule, code_key, drug_trac_codg, event_id, flagged FROM finding_events WHERE month = ? "
                "ORDER BY ALL", [scope]).fetchall()
            out[scope] = {"summary": [tuple(vars(r).values()) for r in result.rules], "findings": findings,
                          "events": events}
    finally:
        con.close()
    return out


def _spark_outputs(spark, source, folder: Path, catalog: Path | None, scopes=SCOPES) -> dict:
    from tracecode.spark.engine import run_checks_spark
    from tracecode.spark.ingest import open_input
    from tracecode.spark.output import FINDING_EVENTS_PARQUET, FINDINGS_PARQUET, write_findings

    out = {}
    data = open_input(spark, source)
    try:
        for month in scopes:
            scope = month or "all"
            result = run_checks_spark(spark, data, month=month, catalog=catalog, count=False)
            try:
                write_findings(result, folder / f"spark_{scope}", mask=False)
            finally:
                result.close()
            findings = sorted(tuple(v for k, v in r.items() if k != "checked_at")
                              for r in pq.read_table(folder / f"spark_{scope}" / FINDINGS_PARQUET).to_pylist())
            events = sorted(tuple(r.values()) for r in
                            pq.read_table(folder / f"spark_{scope}" / FINDING_EVENTS_PARQUET)
                            .drop_columns(["month"]).to_pylist())
            out[scope] = {"summary": [tuple(vars(r).values()) for r in result.rules], "findings": findings,
                          "events": events}
    finally:
        data.close()
    return out


def _assert_same(duck: dict, spark_out: dict, folder: Path, scopes=SCOPES) -> None:
    for month in scopes:
        scope = month or "all"
        d, s = duck[scope], spark_out[scope]
        assert s["summary"] == d["summary"], f"[{scope}] per-rule summary differs"
        by_rule = lambda rows: Counter(r[1] for r in rows)  # noqa: E731
        assert by_rule(s["findings"]) == by_rule(d["findings"]), f"[{scope}] findings per rule differ"
        assert s["findings"] == sorted(d["findings"]), f"[{scope}] findings differ"
        assert s["events"] == sorted(d["events"]), f"[{scope}] evidence rows differ"
        for name in FILE_NAMES:
            want = (folder / f"duck_{scope}" / name).read_bytes()
            got = (folder / f"spark_{scope}" / name).read_bytes()
            assert got == want, f"[{scope}] {name} differs"


@dataclass
class DataSet:
    folder: Path
    files: list[Path]
    db: Path
    lake: Path
    catalog: Path
    scopes: tuple
    duck: dict  # scope -> DuckDB's summary, findings and evidence rows
    spark: Future  # scope -> Spark's (from _spark_outputs)


@pytest.fixture(scope="module")
def pool():
    """Threads for Spark's side of the tests: each data set is checked by Spark in its own
    thread and session (its own temporary views) while DuckDB builds the reference outputs of
    the next, and the driver plans one query while the executors run another."""
    workers = ThreadPoolExecutor(3, thread_name_prefix="spark-parity")
    yield workers
    workers.shutdown(wait=True, cancel_futures=True)


def _data_set(spark_starting, pool, folder: Path, files: list[Path], catalog: Path, scopes,
              layout: str = "ingest") -> DataSet:
    db, lake = _ingest(folder, files, layout)

    def on_spark():
        return _spark_outputs(spark_starting.result().newSession(), lake, folder, catalog, scopes)

    running = pool.submit(on_spark)
    return DataSet(folder, files, db, lake, catalog, scopes, _duckdb_outputs(db, folder, catalog, scopes), running)


@pytest.fixture(scope="module")
def sample(spark_starting, pool, tmp_path_factory):
    """Every input format; laid out by `export --parquet` (the synthetic set by `ingest --to-parquet`)."""
    files = sorted(SAMPLE.glob("sales_*")) + sorted(SAMPLE.glob("returns_*"))
    return _data_set(spark_starting, pool, tmp_path_factory.mktemp("spark_sample"), files, SAMPLE / "catalog.csv",
                     SCOPES, layout="export")


@pytest.fixture(scope="module")
def synthetic(spark_starting, pool, tmp_path_factory):
    """100k code rows over two months; checked month by month (the whole history is the
    sample's), and read raw by Spark."""
    from tracecode.synth import generate

    folder = tmp_path_factory.mktemp("spark_synth")
    data = folder / "uploads"
    generate(data, 100_000, months=2, formats="csv")
    files = sorted(data.glob("sales_*.csv")) + sorted(data.glob("returns_*.csv"))
    return _data_set(spark_starting, pool, folder, files, data / "catalog.csv", MONTHS)


def _collect(df, order: list[str]) -> list[tuple]:
    """A DataFrame's rows as tuples in ``order`` (through Arrow: Row objects cost seconds)."""
    table = df.toArrow().sort_by([(c, "ascending") for c in order])
    return [tuple(r.values()) for r in table.to_pylist()]


def _raw_read(spark, files: list[Path], lake: Path) -> dict:
    """Spark reads the upload CSVs (ingest_raw); the returns files are also written as a
    Parquet layout (write_lake, a file per month and bucket) and read back (read_lake)."""
    from tracecode.spark.layout import EVENT_COLUMNS, REJECT_COLUMNS, names, read_lake
    from tracecode.spark.ingest import ingest_raw, write_lake

    def collect(data) -> dict:
        return {"events": _collect(data.events.select(*names(EVENT_COLUMNS)), ["event_id"]),
                "rejects": _collect(data.rejects.select(*names(REJECT_COLUMNS)), names(REJECT_COLUMNS)),
                "files": _collect(data.files.select(*FILE_FIELDS), ["file_id"]),
                "months": data.months, "kind": data.kind}

    data = ingest_raw(spark, files)
    try:
        raw = collect(data)
    finally:
        data.close()
    returns = [f for f in files if f.name.startswith("returns_")]
    data = ingest_raw(spark, returns, first_file_id=len(files) - len(returns) + 1)
    try:
        written = write_lake(data, lake)
    finally:
        data.close()
    back = collect(read_lake(spark, str(lake)))
    back["written"] = written
    return {"raw": raw, "lake": back}


FILE_FIELDS = ["file_id", "name", "size", "fingerprint", "kind", "format", "encoding", "rows_read", "rows_stored",
               "rows_rejected", "events"]


@pytest.fixture(scope="module")
def raw_run(spark_starting, pool, synthetic, tmp_path_factory) -> Future:
    lake = tmp_path_factory.mktemp("raw") / "lake"
    return pool.submit(lambda: _raw_read(spark_starting.result().newSession(), synthetic.files, lake))


# ------------------------------------------------------------------------------ data/sample


def test_sample_parity_every_month_and_all_history(sample, raw_run):
    assert sum(len(v["findings"]) for v in sample.duck.values()) > 0
    _assert_same(sample.duck, sample.spark.result(), sample.folder, sample.scopes)


# ----------------------------------------------------------------------- 100k synthetic rows


def test_synthetic_100k_parity_every_month(synthetic):
    per_rule = Counter(r[1] for month in MONTHS for r in synthetic.duck[month]["findings"])
    assert len(per_rule) >= 6, per_rule  # the planted cases trip (nearly) every rule
    _assert_same(synthetic.duck, synthetic.spark.result(), synthetic.folder, synthetic.scopes)


def test_raw_csv_read_inside_spark_equals_ingest(raw_run, synthetic):
    """Spark reads the upload CSVs itself (same readers, normaliser, hashing and parse SQL, in
    tasks): the same events, rejects and files as `tracecode ingest`. (The three relations the
    rules read being equal, the findings are those of the layout test above.) Written as a
    Parquet layout and read back: the same rows again."""
    from tracecode.spark.layout import EVENT_COLUMNS, names

    con = open_store(synthetic.db, read_only=True)
    try:
        def rows(sql: str) -> list[tuple]:
            return con.execute(sql).fetchall()

        events = f"SELECT {', '.join(names(EVENT_COLUMNS))} FROM events"
        files = f"SELECT {', '.join(FILE_FIELDS)} FROM files"
        want = {"events": rows(f"{events} ORDER BY event_id"), "rejects": rows("SELECT * FROM rejects ORDER BY ALL"),
                "files": rows(f"{files} ORDER BY file_id"), "months": list(MONTHS), "kind": "raw"}
        returns = "file_id IN (SELECT file_id FROM files WHERE kind = 'return')"
        want_back = {"events": rows(f"{events} WHERE {returns} ORDER BY event_id"),
                     "rejects": rows(f"SELECT * FROM rejects WHERE {returns} ORDER BY ALL"),
                     "files": rows(f"{files} WHERE {returns} ORDER BY file_id"), "months": list(MONTHS),
                     "kind": "lake", "written": len(rows(f"{events} WHERE {returns}"))}
    finally:
        con.close()
    got = raw_run.result()
    assert len(got["raw"]["events"]) == len(want["events"]) > 90_000
    for key, value in want.items():
        assert _rows(got["raw"][key], key) == _rows(value, key), f"read raw: {key} differ"
    assert want_back["events"] and want_back["files"]
    for key, value in want_back.items():
        assert _rows(got["lake"][key], key) == _rows(value, key), f"written and read back: {key} differ"


def _rows(value, key: str):
    """Rejects in one order (sorted as Python sees them: the engines order text alike, but
    let no collation decide the test)."""
    return sorted(value, key=repr) if key == "rejects" else value


# ----------------------------------------------------------------------------- bad input


def test_bad_input_gives_clear_errors(spark, tmp_path, sample):
    from tracecode.spark.engine import run_checks_spark
    from tracecode.spark.ingest import open_input
    from tracecode.spark.layout import read_lake
    from tracecode.spark.translate import translate
    from tracecode.spark.ingest import ingest_raw

    with pytest.raises(InputFileError, match="no such file or folder"):
        open_input(spark, str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no upload files"):
        open_input(spark, str(empty))
    (tmp_path / "nolake" / "files").mkdir(parents=True)
    with pytest.raises(InputFileError, match="holds no events/ folder"):
        open_input(spark, str(tmp_path / "nolake"))
    with pytest.raises(InputFileError, match="no such folder"):
        read_lake(spark, str(tmp_path / "missing"))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="missing required column"):
        ingest_raw(spark, [bad])
    data = read_lake(spark, str(sample.lake))
    with pytest.raises(UnknownMonth, match="no events in 2025-07"):
        run_checks_spark(spark, data, month="2025-07")
    with pytest.raises(UnknownMonth):
        run_checks_spark(spark, data, month="July")
    with pytest.raises(RuleError):
        run_checks_spark(spark, data, rules=["no_such_rule"])
    with pytest.raises(RuleError, match="ROUND"):
        translate("SELECT ROUND(x / 3600.0, 1) FROM t")
    with pytest.raises(RuleError, match="hash"):
        translate("SELECT hash(x) FROM t")
    assert issubclass(InputFileError, TracecodeError)


def _layout_cases(root: Path, sample_lake: Path) -> dict[str, tuple[Path, str]]:
    """Folders that look like a Parquet layout but are not one tracecode can read: the folder,
    and what the error says."""
    import pyarrow as pa

    cases = {}
    other = root / "other_columns"
    (other / "events" / "month=2026-01" / "bucket=0").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), other / "events" / "month=2026-01" / "bucket=0" / "a.parquet")
    cases["other columns"] = (other, "lack column(s)")
    damaged = root / "damaged"
    shutil.copytree(sample_lake, damaged)
    victim = sorted((damaged / "events").rglob("*.parquet"))[0]
    victim.write_bytes(b"PAR1 not really parquet")
    cases["damaged file"] = (damaged, "not a readable Parquet file")
    no_files = root / "no_files"
    shutil.copytree(sample_lake / "events", no_files / "events")
    cases["no files table"] = (no_files, "holds no files/ folder")
    bad_month = root / "bad_month"
    shutil.copytree(sample_lake, bad_month)
    (bad_month / "events" / "month=2026-01").rename(bad_month / "events" / "month=January")
    cases["month folder"] = (bad_month, "is not a month")
    empty_events = root / "empty_events"
    (empty_events / "events").mkdir(parents=True)
    (empty_events / "files").mkdir()
    cases["no event files"] = (empty_events, "no event files")
    return cases


def _error_line(result) -> str:
    """The `Error: ...` line of a CLI run (progress lines may come before it)."""
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_not_a_tracecode_layout_is_a_clear_error(spark, tmp_path, sample):
    from tracecode.spark.ingest import open_input

    for name, (folder, message) in _layout_cases(tmp_path, sample.lake).items():
        with pytest.raises(InputFileError, match=re.escape(message)):
            open_input(spark, str(folder))
        result = CliRunner().invoke(main, ["check", "--engine", "spark", "--input", str(folder),
                                           "--out", str(tmp_path / "out" / name.replace(" ", "_"))])
        assert result.exit_code == 1, (name, result.output)
        assert message in _error_line(result), (name, result.stderr)
        assert "Traceback" not in result.output and "java." not in result.output, name


def test_bad_upload_files_give_the_errors_ingest_gives(spark, tmp_path):
    """Upload files Spark cannot read fail as `tracecode ingest` fails on them: same message."""
    cases = {
        "empty.csv": b"",
        "no_code_column.csv": "a,b\n1,2\n".encode(),
        "binary.csv": bytes(range(256)) * 8,
        "not_a_workbook.xlsx": b"this is no zip",
    }
    for name, content in cases.items():
        path = (tmp_path / name).resolve()
        path.write_bytes(content)
        ingest = CliRunner().invoke(main, ["ingest", "--quiet", "--db", str(tmp_path / f"{name}.duckdb"), str(path)])
        assert ingest.exit_code == 1, (name, ingest.output)
        on_spark = CliRunner().invoke(main, ["check", "--engine", "spark", "--input", str(path),
                                             "--out", str(tmp_path / f"out_{name}")])
        assert on_spark.exit_code == 1, (name, on_spark.output)
        assert "Traceback" not in on_spark.output, (name, on_spark.output)
        assert _error_line(on_spark) == _error_line(ingest), name


def test_rejects_kept_as_ingest_keeps_them(spark, tmp_path):
    """Records that cannot be read (in every upload format) are kept as rejects by Spark's raw
    read exactly as by `tracecode ingest`, next to the same events."""
    from tracecode.spark.layout import EVENT_COLUMNS, REJECT_COLUMNS, names
    from tracecode.spark.ingest import ingest_raw

    files = [SAMPLE / n for n in ("sales_2026-01.jsonl", "sales_2026-01.xlsx", "sales_2026-02_zh_bom.csv",
                                  "sales_2026-01_zh_gbk.csv")]
    db, _lake = _ingest(tmp_path, files)
    con = open_store(db, read_only=True)
    try:
        want_events = con.execute(f"SELECT {', '.join(names(EVENT_COLUMNS))} FROM events ORDER BY event_id").fetchall()
        want_rejects = con.execute("SELECT * FROM rejects").fetchall()
        want_files = con.execute(f"SELECT {', '.join(FILE_FIELDS)} FROM files ORDER BY file_id").fetchall()
    finally:
        con.close()
    assert len(want_rejects) >= 4
    data = ingest_raw(spark, files)
    try:
        assert _collect(data.events.select(*names(EVENT_COLUMNS)), ["event_id"]) == want_events
        got = _collect(data.rejects.select(*names(REJECT_COLUMNS)), names(REJECT_COLUMNS))
        assert sorted(got, key=repr) == sorted(want_rejects, key=repr)
        assert _collect(data.files.select(*FILE_FIELDS), ["file_id"]) == want_files
    finally:
        data.close()


def test_cli_errors_are_one_line(tmp_path):
    missing = tmp_path / "missing"
    result = CliRunner().invoke(main, ["check", "--engine", "spark", "--input", str(missing),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "no such file or folder" in result.output
    assert "Traceback" not in result.output and "java." not in result.output
    result = CliRunner().invoke(main, ["check", "--engine", "spark", "--input", str(missing)])
    assert result.exit_code == 2 and "--out" in result.output
    result = CliRunner().invoke(main, ["check", "--db", str(tmp_path / "x.duckdb"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--engine spark" in result.output


def test_spark_submit_runs_the_entry_file(tmp_path):
    """The documented spark-submit line: the engine module is the application file (run as a
    script, its folder must not shadow standard modules such as trace)."""
    import os
    import subprocess
    import sys

    import pyspark

    import tracecode.spark_engine as entry

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    done = subprocess.run([str(submit), "--master", "local[1]", entry.__file__, "--help"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--input" in done.stdout and "--out" in done.stdout


def test_every_sql_file_translates():
    from tracecode.spark.engine import stage_files
    from tracecode.spark.translate import translate
    from tracecode.sqlfiles import read_sql

    for f in stage_files():
        text = translate(f.sql, f.path)
        assert "$" not in text.replace("'$'", ""), f.path
    for name in ("findings/findings_rows.sql", "findings/findings.sql", "findings/findings_summary.sql"):
        assert translate(read_sql(name), name)


# ------------------------------------------------------------------------ kept summaries


def test_kept_summaries_make_the_next_check_read_only_new_files(spark, tmp_path):
    """A check over a layout keeps the summaries (rule_dict, rule_events, repeat_rows,
    product_counts) in it; the next month's check reads the kept version and summarises only
    the files added since — and finds what DuckDB finds. A file taken out of the layout makes
    the next check rebuild them from every file."""
    from tracecode.spark.engine import run_checks_spark
    from tracecode.spark.ingest import open_input
    from tracecode.spark.output import write_findings
    from tracecode.spark.summaries import SummaryStore

    spark = spark.newSession()
    january = [SAMPLE / "sales_2026-01.csv", SAMPLE / "returns_2026-01.csv"]
    february = [SAMPLE / "sales_2026-02.csv", SAMPLE / "returns_2026-02.csv"]
    db, lake = _ingest(tmp_path, january)

    def check(month: str, out: str | None = None, keep: bool = True):
        data = open_input(spark, str(lake))
        try:
            result = run_checks_spark(spark, data, month=month, catalog=SAMPLE / "catalog.csv", keep_summaries=keep)
            try:
                if out:
                    write_findings(result, tmp_path / out, mask=False)
                return dict(result.counts)
            finally:
                result.close()
        finally:
            data.close()

    def events(where: str = "TRUE") -> int:
        con = open_store(db, read_only=True)
        try:
            return con.execute(f"SELECT count(*) FROM events WHERE {where}").fetchall()[0][0]
        finally:
            con.close()

    check("2026-01", keep=False)
    assert not (lake / "summaries").exists()  # spark.tracecode.keepSummaries=false: nothing written
    first = check("2026-01")
    assert first["rule_events_new"] == events() > 0  # built from every file, then kept
    store = SummaryStore(spark, str(lake))
    assert len(store.parts()) == 1

    result = CliRunner().invoke(main, ["ingest", "--quiet", "--db", str(db), "--to-parquet", str(lake),
                                       *map(str, february)])
    assert result.exit_code == 0, result.output
    second = check("2026-02", "spark_feb")
    assert second["rule_events_new"] == events("file_id > 2") > 0  # February's files only
    assert len(store.parts()) == 2  # a part with the rows February added
    con = open_store(db)
    try:
        run_checks(con, month="2026-02", catalog=SAMPLE / "catalog.csv")
        export(con, tmp_path / "duck_feb", month="2026-02", mask=False)
    finally:
        con.close()
    for name in FILE_NAMES:
        assert (tmp_path / "spark_feb" / name).read_bytes() == (tmp_path / "duck_feb" / name).read_bytes(), name

    kept = store.parts()
    again = check("2026-02")  # nothing new: nothing summarised, nothing written
    assert again["rule_events_new"] == 0 and store.parts() == kept

    for path in [*lake.rglob("file_1_*.parquet"), lake / "files" / "file_1.parquet"]:
        path.unlink()  # January's sales file taken out of the layout
    rebuilt = check("2026-02")
    assert rebuilt["rule_events_new"] == events("file_id <> 1")
    assert len(store.parts()) == 1  # rebuilt as one part

    twin = store.parts()[0]  # two parts covering one file (two checks at once): rebuilt, never counted twice
    shutil.copytree(lake / "summaries" / twin, lake / "summaries" / twin.replace("p", "p9", 1))
    assert check("2026-02")["rule_events_new"] == events("file_id <> 1")
    assert len(store.parts()) == 1


# ------------------------------------------------------------ issue 13: the two new rules


def test_new_rules_parity(spark, tmp_path):
    """uncoded_sale and sale_without_purchase give the same findings on both engines. The
    purchases and sales without a code are stored as ingest stores them (kind purchase, code_status
    'uncoded'), here by rewriting rows ingested as sales."""
    import duckdb

    case = Path(__file__).resolve().parents[1] / "rules" / "cases" / "sale_without_purchase"
    uncoded = tmp_path / "uncoded.csv"
    uncoded.write_text(
        "fixmedins_code,med_list_codg,rtal_docno,trdn_flag,sel_retn_cnt,sel_retn_time,drug_trac_codg,price\n"
        "P001,XA01,U1,0,1,2026-01-03 09:00:00,UNCODED-1,10.10\n"
        "P001,XA01,U2,0,2,2026-02-03 09:00:00,UNCODED-2,10.10\n"
        "P002,T0001,U3,0,1,2026-01-03 09:00:00,UNCODED-3,1\n", encoding="utf-8")
    db = tmp_path / "store.duckdb"
    files = [str(case / n) for n in ("sales.csv", "purchases.csv", "purchase_returns.csv")] + [str(uncoded)]
    result = CliRunner().invoke(main, ["ingest", "--quiet", "--db", str(db), "--kind", "sale", *files])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db))
    for name, kind in (("purchases.csv", "purchase"), ("purchase_returns.csv", "purchase_return")):
        con.execute("UPDATE events SET kind = ? WHERE file_id = (SELECT file_id FROM files WHERE name = ?)",
                    [kind, name])
    con.execute("UPDATE events SET code_status = 'uncoded', drug_trac_codg = '', code_key = 0 "
                "WHERE code_raw LIKE 'UNCODED-%'")
    con.execute("UPDATE meta SET value = 'stale' WHERE key = 'rules_summary_version'")
    con.close()
    lake = tmp_path / "lake"
    result = CliRunner().invoke(main, ["export", "--db", str(db), "--parquet", str(lake), "--no-mask"])
    assert result.exit_code == 0, result.output
    duck = _duckdb_outputs(db, tmp_path, None)
    rules = {r[1] for scope in duck.values() for r in scope["findings"]}
    assert {"uncoded_sale", "sale_without_purchase"} <= rules, rules
    _assert_same(duck, _spark_outputs(spark, lake, tmp_path, None), tmp_path)


def test_deletes_parity(spark, tmp_path):
    """3507 deletes withdraw the same rows on both engines (the golden case
    duplicate_upload/deletes, through a Parquet layout that carries the deletes)."""
    case = Path(__file__).resolve().parents[1] / "rules" / "cases" / "duplicate_upload" / "deletes"
    db = tmp_path / "store.duckdb"
    runner = CliRunner()
    for args in (["ingest", "--quiet", "--db", str(db), *(str(case / n) for n in ("sales.csv", "returns.csv",
                                                                               "sales_fix.csv"))],
                 ["ingest", "--quiet", "--db", str(db), "--kind", "delete", str(case / "deletes.csv")],
                 ["export", "--db", str(db), "--parquet", str(tmp_path / "lake"), "--no-mask"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    scopes = ("2026-03", None)
    duck = _duckdb_outputs(db, tmp_path, None, scopes)
    found = sorted((r[1], r[2]) for r in duck["all"]["findings"])
    assert [rule for rule, _ in found] == ["duplicate_upload", "duplicate_upload"], found
    _assert_same(duck, _spark_outputs(spark, tmp_path / "lake", tmp_path, None, scopes), tmp_path, scopes)
