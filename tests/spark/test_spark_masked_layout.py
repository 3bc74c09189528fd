"""A masked Parquet layout (export --parquet, issue 17) and Spark: spark check of it does not mask
its ids a second time (they read as in every other export of the store), and spark check
--to-parquet refuses to add raw rows to it."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tests.spark.test_spark_parity import _spark_missing
from tracecode.cli import main
from tracecode.outputs.export_write import exact


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), env={"TRACECODE_LANG": "en"})


@pytest.fixture
def masked_layout(tmp_path):
    rows = [sale(receipt="R1", psn="PSN0000000001"), sale(receipt="R2", psn="PSN0000000001", pharmacy="P002")]
    db, layout = tmp_path / "t.duckdb", tmp_path / "layout"
    assert invoke("ingest", "-q", "--db", str(db), str(write_csv(tmp_path / "s.csv", rows))).exit_code == 0
    assert invoke("export", "--db", str(db), "--parquet", str(layout)).exit_code == 0
    assert invoke("check", "-q", "--db", str(db)).exit_code == 0
    return db, layout


def _ids(folder) -> set[str]:
    with open(folder / "suspicious_events.csv", encoding="utf-8-sig", newline="") as fh:
        return {exact(r["psn_no"]) for r in csv.DictReader(fh)}


def test_spark_check_to_parquet_into_a_masked_layout_is_refused_before_spark_starts(masked_layout, tmp_path):
    _, layout = masked_layout
    more = write_csv(tmp_path / "more.csv", [sale(receipt="R3", psn="PSN0000000009")])
    result = invoke("spark", "check", "--input", str(more), "--to-parquet", str(layout), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "holds masked person ids" in result.output and "Hint: add the files with tracecode ingest" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.skipif(_spark_missing() is not None, reason=_spark_missing() or "")
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_check_of_a_masked_layout_shows_the_stores_masks_not_masks_of_masks(masked_layout, tmp_path):
    db, layout = masked_layout
    assert invoke("export", "--db", str(db), "--out", str(tmp_path / "duck"), "-q").exit_code == 0
    result = invoke("spark", "check", "--input", str(layout), "--out", str(tmp_path / "spark"), "-q")
    assert result.exit_code == 0, result.output
    assert _ids(tmp_path / "spark") == _ids(tmp_path / "duck") and len(_ids(tmp_path / "duck")) == 1
    assert "PSN0000000001" not in _ids(tmp_path / "spark")
