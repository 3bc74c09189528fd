from __future__ import annotations

import pyarrow.dataset as ds
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tracecode.cli import main


def test_ingest_to_parquet_partitions_by_month_and_bucket(tmp_path):
    f = write_csv(tmp_path / "s.csv", [sale(), sale(receipt="R2", code="81234567890123456780", time="2026-02-03 10:00:00"),
                                       sale(receipt="R3", time="bad")])
    lake = tmp_path / "lake"
    result = CliRunner().invoke(main, ["ingest", "--db", str(tmp_path / "t.duckdb"), "--to-parquet", str(lake), str(f)])
    assert result.exit_code == 0, result.output
    table = ds.dataset(lake / "events", format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("month").to_pylist()) == ["2026-01", "2026-02"]
    assert set(table.column("drug_trac_codg").to_pylist()) == {"81234567890123456789", "81234567890123456780"}
    assert all(0 <= b < 64 for b in table.column("bucket").to_pylist())
    rejects = ds.dataset(lake / "rejects", format="parquet").to_table()
    assert rejects.column("field").to_pylist() == ["sel_retn_time"]


def _rows(folder):
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return sorted(map(str, table.to_pylist()))


def test_export_parquet_writes_the_same_layout_as_ingest_to_parquet(tmp_path):
    first = write_csv(tmp_path / "s1.csv", [sale(), sale(receipt="R3", time="bad")])
    second = write_csv(tmp_path / "s2.csv", [sale(receipt="R2", code="81234567890123456780",
                                                  time="2026-02-03 10:00:00")])
    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    # Two ingests into one lake (month by month) against one export of the whole database.
    for f in (first, second):
        result = runner.invoke(main, ["ingest", "--db", db, "--to-parquet", str(tmp_path / "lake"), str(f)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["export", "--db", db, "--parquet", str(tmp_path / "exported")])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 code rows as Parquet" in result.output
    for sub in ("events", "rejects", "files"):
        assert _rows(tmp_path / "exported" / sub) == _rows(tmp_path / "lake" / sub), sub
    assert not [p for p in (tmp_path / "exported").iterdir() if p.name.startswith(".")]  # no staging left


def test_export_parquet_refuses_a_folder_with_files_unless_force(tmp_path):
    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--db", db, str(write_csv(tmp_path / "s.csv", [sale()]))]).exit_code == 0
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "notes.txt").write_text("mine")
    (lake / "summaries" / "v1").mkdir(parents=True)  # kept by a Spark check of an older layout
    result = runner.invoke(main, ["export", "--db", db, "--parquet", str(lake)])
    assert result.exit_code == 1
    assert f"Error: Parquet folder {lake} is not empty" in result.output
    assert not (lake / "events").exists()
    result = runner.invoke(main, ["export", "--db", db, "--parquet", str(lake), "--force"])
    assert result.exit_code == 0, result.output
    assert (lake / "notes.txt").read_text() == "mine"  # --force replaces the layout, not other files
    assert not (lake / "summaries").exists()
    assert len(_rows(lake / "events")) == 1


def test_export_needs_out_or_parquet(tmp_path):
    result = CliRunner().invoke(main, ["export", "--db", str(tmp_path / "t.duckdb")])
    assert result.exit_code == 2
    assert "give --out DIR (the CSV files), --parquet DIR (the Parquet layout), or both" in result.output
