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
