"""Opening the store: a --db that is not a database, memory limits, as the user meets them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tracecode.cli import main
from tracecode.errors import DatabaseError
from tracecode.store.database import checked_memory_limit, open_store


def test_db_naming_an_upload_file_is_refused_and_the_file_untouched(tmp_path):
    upload = write_csv(tmp_path / "x.csv", [sale()])
    more = write_csv(tmp_path / "more.csv", [sale(receipt="R2")])
    before = upload.read_bytes()
    result = CliRunner().invoke(main, ["ingest", "--db", str(upload), str(more)])
    assert result.exit_code == 1
    assert "is not a DuckDB database file" in result.output
    assert "Traceback" not in result.output
    assert upload.read_bytes() == before
    result = CliRunner().invoke(main, ["check", "--db", str(upload)])
    assert result.exit_code == 1 and "is not a DuckDB database file" in result.output


def test_a_real_store_and_a_new_path_still_open(tmp_path):
    con = open_store(tmp_path / "city.duckdb")
    con.close()
    open_store(tmp_path / "city.duckdb", read_only=True).close()
    (tmp_path / "empty.duckdb").write_bytes(b"")  # DuckDB refuses it itself: one clear error
    with pytest.raises(DatabaseError, match="not a valid DuckDB database file"):
        open_store(tmp_path / "empty.duckdb")


def test_a_folder_as_db_is_refused(tmp_path):
    with pytest.raises(DatabaseError, match="is a folder"):
        open_store(tmp_path)


@pytest.mark.parametrize("text", ["abc", "0", "1MB", "15MB", "4", "GB", "4 G B", "-4GB", "1e9GB"])
def test_bad_memory_limits_are_usage_errors(tmp_path, text):
    f = write_csv(tmp_path / "a.csv", [sale()])
    result = CliRunner().invoke(main, ["ingest", "--db", str(tmp_path / "t.duckdb"), "--memory-limit", text, str(f)])
    assert result.exit_code == 2, result.output
    assert "--memory-limit" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "t.duckdb").exists()


@pytest.mark.parametrize("text,expected", [("4GB", "4GB"), (" 512MiB ", "512MiB"), ("0.5gb", "0.5gb"),
                                           ("16MB", "16MB")])
def test_good_memory_limits(text, expected):
    assert checked_memory_limit(text) == expected


def test_bad_memory_limit_in_the_environment_is_one_error_line(tmp_path, monkeypatch):
    open_store(tmp_path / "city.duckdb").close()
    monkeypatch.setenv("TRACECODE_MEMORY_LIMIT", "abc")
    result = CliRunner().invoke(main, ["status", "--db", str(tmp_path / "city.duckdb")])
    assert result.exit_code == 1
    assert "TRACECODE_MEMORY_LIMIT" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("rows", ["0", "10"])
def test_synth_with_too_few_rows_is_a_usage_error(tmp_path, rows):
    result = CliRunner().invoke(main, ["synth", "--rows", rows, "--out", str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    assert "--rows" in result.output or "too small" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_checkpoint_rewrites_no_row_group_that_was_written(tmp_path):
    """Each INSERT leaves a part-filled row group; the checkpoint's vacuum would merge them by
    rewriting their full neighbours (12 s and 4 GB at the close of a 48-file ingest). A store
    keeps them; a table whose rows are all deleted still gives its space back."""
    path = tmp_path / "s.duckdb"
    con = open_store(path)
    con.execute("CREATE TABLE t (i BIGINT, s VARCHAR)")
    con.execute("BEGIN TRANSACTION")
    for start in range(0, 600_000, 150_000):  # 150k rows each: one full row group and a part
        con.execute("INSERT INTO t SELECT range, md5(range::VARCHAR) FROM range(?, ?)", [start, start + 150_000])
    con.execute("COMMIT")
    layout = "SELECT row_group_id, min(block_id) FROM pragma_storage_info('t') GROUP BY ALL ORDER BY 1"
    before = con.execute(layout).fetchall()
    assert len(before) > 5  # 600k rows would fit in 5
    con.execute("CHECKPOINT")
    assert con.execute(layout).fetchall() == before
    con.execute("DELETE FROM t")
    con.execute("CHECKPOINT")
    assert con.execute("SELECT count(*) FROM pragma_storage_info('t')").fetchall() == [(0,)]
    con.close()
