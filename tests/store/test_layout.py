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
    result = runner.invoke(main, ["export", "--db", db, "--parquet", str(tmp_path / "exported"), "--no-mask"])
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


def _psn(folder) -> list[str]:
    return sorted(ds.dataset(folder / "events", format="parquet", partitioning="hive").to_table()
                  .column("psn_no").to_pylist())


def _reject_records(folder) -> list[str]:
    return ds.dataset(folder / "rejects", format="parquet").to_table().column("raw_record").to_pylist()


def _store_key(db: str) -> str:
    from tracecode.privacy import mask_key
    from tracecode.store.database import open_store

    con = open_store(db, read_only=True)
    try:
        return mask_key(con)
    finally:
        con.close()


def test_export_parquet_masks_person_ids_unless_no_mask(tmp_path):
    from tracecode.privacy import mask_person

    f = write_csv(tmp_path / "s.csv", [sale(psn="PSN0000000001"), sale(receipt="R3", time="bad", psn="PSN0000000002")])
    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--db", db, str(f)]).exit_code == 0
    key = _store_key(db)
    masked, raw = tmp_path / "masked", tmp_path / "raw"
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(masked)]).exit_code == 0
    assert _psn(masked) == [mask_person("PSN0000000001", key)]  # as the CSV export masks it
    [record] = _reject_records(masked)
    assert "PSN0000000002" not in record and mask_person("PSN0000000002", key) in record
    assert (masked / "_tracecode_masked").is_file()
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(raw), "--no-mask"]).exit_code == 0
    assert _psn(raw) == ["PSN0000000001"]
    assert "PSN0000000002" in _reject_records(raw)[0]
    assert not (raw / "_tracecode_masked").exists()
    # --no-mask --force over the masked layout: raw throughout, the mark gone
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(masked), "--no-mask", "--force"]).exit_code == 0
    assert _psn(masked) == ["PSN0000000001"] and not (masked / "_tracecode_masked").exists()


def test_ingest_to_parquet_into_a_masked_layout_masks_its_rows_too(tmp_path):
    from tracecode.privacy import mask_person

    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    jan = write_csv(tmp_path / "jan.csv", [sale(psn="PSN0000000001")])
    feb = write_csv(tmp_path / "feb.csv", [sale(receipt="R2", code="81234567890123456780", psn="PSN0000000001",
                                                time="2026-02-03 10:00:00")])
    assert runner.invoke(main, ["ingest", "--db", db, str(jan)]).exit_code == 0
    masked, raw = tmp_path / "masked", tmp_path / "raw"
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(masked)]).exit_code == 0
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(raw), "--no-mask"]).exit_code == 0
    assert runner.invoke(main, ["ingest", "--db", db, "--to-parquet", str(masked), str(feb)]).exit_code == 0
    assert runner.invoke(main, ["ingest", "--db", db, "--to-parquet", str(raw), str(tmp_path / "feb.csv")]).exit_code == 0
    # one person, one id in each layout
    assert _psn(masked) == [mask_person("PSN0000000001", _store_key(db))] * 2
    assert _psn(raw) == ["PSN0000000001"] * 2


def test_a_killed_export_parquet_force_is_finished_by_the_next_run(tmp_path):
    """export --parquet --force moves the new layout in by the checked plan of the CSV export: killed
    at any point, the next run into the folder (an export, or an ingest --to-parquet) finishes or
    drops it, and the layout is then the new one whole."""
    import os
    import subprocess
    import sys

    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    old = write_csv(tmp_path / "old.csv", [sale(psn="PSN0000000001")])
    new = write_csv(tmp_path / "new.csv", [sale(receipt="R2", code="81234567890123456780", psn="PSN0000000002",
                                                time="2026-02-03 10:00:00")])
    assert runner.invoke(main, ["ingest", "--db", db, str(old)]).exit_code == 0
    clean = tmp_path / "clean"
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(clean / "layout")]).exit_code == 0
    (clean / "layout" / "summaries").mkdir()  # a Spark check's, dropped by --force
    assert runner.invoke(main, ["ingest", "--db", db, str(new)]).exit_code == 0

    def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        full = {**os.environ, "TRACECODE_LANG": "en", **(env or {})}
        return subprocess.run([sys.executable, "-m", "tracecode.cli", *args], capture_output=True, text=True, env=full)

    def fresh(name: str):
        import shutil

        shutil.copytree(clean / "layout", tmp_path / name)
        return tmp_path / name

    args = ["export", "--db", db, "--force", "--parquet"]
    count = tmp_path / "points.txt"
    assert cli(*args, str(fresh("probe")), env={"TRACECODE_FAULT_COUNT": str(count)}).returncode == 0
    expected = {sub: _rows(tmp_path / "probe" / sub) for sub in ("events", "rejects", "files")}
    names = count.read_text(encoding="utf-8").split()
    assert "publish.plan" in names
    for at in range(1, len(names) + 1):
        for finish in ("export", "ingest"):
            layout = fresh(f"k{at}-{finish}")
            assert cli(*args, str(layout), env={"TRACECODE_FAULT_AT": str(at)}).returncode == -9
            if finish == "export":
                assert cli(*args, str(layout)).returncode == 0
            else:  # an ingest into the lake finishes a planned move first, or drops an unplanned one
                assert cli("ingest", "--db", db, "--to-parquet", str(layout), str(new)).returncode == 0
            assert {sub: _rows(layout / sub) for sub in expected} == expected, (at, finish)
            if finish == "export":
                assert not (layout / "summaries").exists()
            assert not [p for p in layout.iterdir() if p.name.startswith(".tracecode")], (at, finish)


def test_a_layout_masked_with_a_key_file_takes_rows_only_under_that_key(tmp_path):
    from tracecode.privacy import mask_person

    key = tmp_path / "bureau.key"
    key.write_text("bureau-key-0123456789abcdef\n")
    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    jan = write_csv(tmp_path / "jan.csv", [sale(psn="PSN0000000001")])
    feb = write_csv(tmp_path / "feb.csv", [sale(receipt="R2", code="81234567890123456780", psn="PSN0000000001",
                                                time="2026-02-03 10:00:00")])
    assert runner.invoke(main, ["ingest", "--db", db, str(jan)]).exit_code == 0
    layout = tmp_path / "layout"
    assert runner.invoke(main, ["export", "--db", db, "--parquet", str(layout), "--mask-key-file", str(key)]).exit_code == 0
    before = _psn(layout)
    # without the key file: the database's own key would give the same person another id
    result = runner.invoke(main, ["ingest", "--db", db, "--to-parquet", str(layout), str(feb)],
                           env={"TRACECODE_LANG": "en"})
    assert result.exit_code == 1
    assert [x for x in result.output.splitlines() if x.startswith("Error: ")] == [
        f"Error: the layout {layout} was masked with another key than this command's"]
    assert _psn(layout) == before
    assert "feb.csv" not in runner.invoke(main, ["status", "--db", db]).output  # nothing loaded
    result = runner.invoke(main, ["ingest", "--db", db, "--to-parquet", str(layout), "--mask-key-file", str(key),
                                  str(feb)])
    assert result.exit_code == 0, result.output
    assert _psn(layout) == [mask_person("PSN0000000001", "bureau-key-0123456789abcdef")] * 2
