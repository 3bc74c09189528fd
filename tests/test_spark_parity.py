"""The Spark engine finds exactly what the DuckDB path finds, from the same sql/ files.

On data/sample (every upload format) and on a 100k-row synthetic set, both are ingested with
`tracecode ingest --to-parquet`; DuckDB checks and exports each month and the whole history,
Spark (local[2]) checks the Parquet layout and writes its files. Per scope: the four CSV files
are the same bytes, and the findings and their evidence rows are the same, rule by rule. The
synthetic CSVs are also read raw by Spark (readers, normaliser and hashing inside Spark tasks):
the same events, rejects and findings. One Spark session for the module.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


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


pytestmark = pytest.mark.skipif(_spark_missing() is not None, reason=_spark_missing() or "")

from tracecode.cli import main  # noqa: E402
from tracecode.errors import InputFileError, RuleError, TracecodeError, UnknownMonth  # noqa: E402
from tracecode.export import FILE_NAMES, export  # noqa: E402
from tracecode.rules import run_checks  # noqa: E402
from tracecode.store import open_store  # noqa: E402

MONTHS = ("2026-01", "2026-02")
SCOPES = (*MONTHS, None)  # None: the whole history ('all')


#: Tiny data: Spark's time goes to planning, JIT, code generation and per-stage overhead, not
#: to rows. These settings more than halve a check here (the results do not depend on them):
#: no generated code (interpreted expressions), the quick JIT only, with room for its code (at
#: the default 48 MB the JVM fills it within the module and stops compiling: checks then take
#: twice as long), no runtime Bloom filters (each one ships a megabyte-sized bit array to
#: every task of the join it prunes).
TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.optimizer.runtime.bloomFilter.enabled": "false",
    "spark.locality.wait": "0",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m",
}


@pytest.fixture(scope="module")
def spark_starting():
    """The module's Spark session, started in the background (the JVM starts while DuckDB
    builds the reference outputs)."""
    from tracecode.spark_engine import spark_session

    pool = ThreadPoolExecutor(1, thread_name_prefix="spark-start")
    starting = pool.submit(spark_session, "local[2]", app_name="tracecode-parity", conf=TEST_CONF)
    pool.shutdown(wait=False)
    yield starting
    if starting.exception() is None:
        starting.result().stop()


@pytest.fixture(scope="module")
def spark(spark_starting):
    return spark_starting.result()


def _ingest(folder: Path, files: list[Path]) -> tuple[Path, Path]:
    db, lake = folder / "store.duckdb", folder / "lake"
    result = CliRunner().invoke(main, ["ingest", "--quiet", "--db", str(db), "--to-parquet", str(lake),
                                       *map(str, files)])
    assert result.exit_code == 0, result.output
    return db, lake


def _duckdb_outputs(db: Path, folder: Path, catalog: Path | None) -> dict:
    """DuckDB: check and export every scope; the stored findings and evidence per scope."""
    out = {}
    con = open_store(db)
    try:
        for month in SCOPES:
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
    from tracecode.spark_engine import open_input, run_checks_spark
    from tracecode.spark_output import FINDING_EVENTS_PARQUET, FINDINGS_PARQUET, write_findings

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
            findings = [tuple(r[:-1]) for r in sorted(
                tuple(r.values()) for r in pq.read_table(folder / f"spark_{scope}" / FINDINGS_PARQUET).to_pylist())]
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
    duck: dict  # scope -> DuckDB's summary, findings and evidence rows


def _data_set(folder: Path, files: list[Path], catalog: Path) -> DataSet:
    db, lake = _ingest(folder, files)
    return DataSet(folder, files, db, lake, catalog, _duckdb_outputs(db, folder, catalog))


@pytest.fixture(scope="module")
def sample(spark_starting, tmp_path_factory):
    files = sorted(SAMPLE.glob("sales_*")) + sorted(SAMPLE.glob("returns_*"))
    return _data_set(tmp_path_factory.mktemp("spark_sample"), files, SAMPLE / "catalog.csv")


@pytest.fixture(scope="module")
def synthetic(spark_starting, tmp_path_factory):
    from tracecode.synth import generate

    folder = tmp_path_factory.mktemp("spark_synth")
    data = folder / "uploads"
    generate(data, 100_000, months=2, formats="csv")
    files = sorted(data.glob("sales_*.csv")) + sorted(data.glob("returns_*.csv"))
    return _data_set(folder, files, data / "catalog.csv")


def _raw_read(spark, files: list[Path], lake: Path) -> dict:
    """Spark reads the upload CSVs (ingest_raw), writes them as a Parquet layout (write_lake)
    and reads that back (read_lake): the three relations, collected, each time."""
    from tracecode.spark_engine import EVENT_COLUMNS, REJECT_COLUMNS, names, read_lake
    from tracecode.spark_ingest import ingest_raw, write_lake

    def collect(data) -> dict:
        return {"events": [tuple(r) for r in data.events.select(*names(EVENT_COLUMNS)).orderBy("event_id").collect()],
                "rejects": sorted(tuple(r) for r in data.rejects.select(*names(REJECT_COLUMNS)).collect()),
                "files": [tuple(r) for r in data.files.orderBy("file_id").select(*FILE_FIELDS).collect()],
                "months": data.months, "kind": data.kind}

    data = ingest_raw(spark, files)
    try:
        raw = collect(data)
        raw["written"] = write_lake(data, lake)
    finally:
        data.close()
    return {"raw": raw, "lake": collect(read_lake(spark, str(lake)))}


FILE_FIELDS = ["file_id", "name", "size", "fingerprint", "kind", "format", "encoding", "rows_read", "rows_stored",
               "rows_rejected", "events"]


@pytest.fixture(scope="module")
def spark_runs(spark_starting, sample, synthetic, tmp_path_factory) -> dict[str, Future]:
    """Spark's side of the parity tests, all at once: one thread and session (its own temporary
    views) per data set, so that the driver plans one query while the executors run another."""
    spark = spark_starting.result()
    pool = ThreadPoolExecutor(3, thread_name_prefix="spark-parity")
    runs = {
        "sample": pool.submit(_spark_outputs, spark.newSession(), sample.lake, sample.folder, sample.catalog),
        "synthetic": pool.submit(_spark_outputs, spark.newSession(), synthetic.lake, synthetic.folder,
                                 synthetic.catalog),
        "raw": pool.submit(_raw_read, spark.newSession(), synthetic.files, tmp_path_factory.mktemp("raw") / "lake"),
    }
    yield runs
    pool.shutdown(wait=True)


# ------------------------------------------------------------------------------ data/sample


def test_sample_parity_every_month_and_all_history(spark_runs, sample):
    assert sum(len(v["findings"]) for v in sample.duck.values()) > 0
    _assert_same(sample.duck, spark_runs["sample"].result(), sample.folder)


# ----------------------------------------------------------------------- 100k synthetic rows


def test_synthetic_100k_parity_every_month_and_all_history(spark_runs, synthetic):
    per_rule = Counter(r[1] for r in synthetic.duck["all"]["findings"])
    assert len(per_rule) >= 6, per_rule  # the planted cases trip (nearly) every rule
    _assert_same(synthetic.duck, spark_runs["synthetic"].result(), synthetic.folder)


def test_raw_csv_read_inside_spark_equals_ingest(spark_runs, synthetic):
    """Spark reads the upload CSVs itself (same readers, normaliser, hashing and parse SQL, in
    tasks): the same events, rejects and files as `tracecode ingest`; written as a Parquet
    layout and read back, the same again. (The three relations the rules read being equal,
    the findings are those of the layout test above.)"""
    from tracecode.spark_engine import EVENT_COLUMNS, names

    con = open_store(synthetic.db, read_only=True)
    try:
        want = {
            "events": con.execute(f"SELECT {', '.join(names(EVENT_COLUMNS))} FROM events ORDER BY event_id").fetchall(),
            "rejects": sorted(con.execute("SELECT * FROM rejects").fetchall()),
            "files": con.execute(f"SELECT {', '.join(FILE_FIELDS)} FROM files ORDER BY file_id").fetchall(),
            "months": list(MONTHS),
        }
    finally:
        con.close()
    got = spark_runs["raw"].result()
    assert got["raw"]["kind"] == "raw" and got["lake"]["kind"] == "lake"
    assert got["raw"]["written"] == len(want["events"])
    for source in ("raw", "lake"):
        for key, value in want.items():
            assert got[source][key] == value, f"{source}: {key} differ"


# ----------------------------------------------------------------------------- bad input


def test_bad_input_gives_clear_errors(spark, tmp_path, sample):
    from tracecode.spark_engine import open_input, read_lake, run_checks_spark, translate
    from tracecode.spark_ingest import ingest_raw

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


def test_every_sql_file_translates():
    from tracecode.spark_engine import stage_files, translate
    from tracecode.sqlfiles import read_sql

    for f in stage_files():
        text = translate(f.sql, f.path)
        assert "$" not in text.replace("'$'", ""), f.path
    for name in ("findings_rows.sql", "findings.sql", "findings_summary.sql"):
        assert translate(read_sql(name), name)
