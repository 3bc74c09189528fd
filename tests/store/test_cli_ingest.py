"""The ingest/status CLI: happy path, errors as `Error: …`, atomicity under kill -9, the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tracecode.cli import main


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_ingest_then_status(tmp_path):
    db = tmp_path / "city.duckdb"
    f = write_csv(tmp_path / "sales.csv", [sale(), sale(receipt="R2", time="bad")])
    result = run("ingest", "--db", str(db), str(f))
    assert result.exit_code == 0, result.output
    assert "2 sale records" in result.stderr and "1 rejected" in result.stderr
    again = run("ingest", "--db", str(db), str(f))
    assert again.exit_code == 0 and "already loaded" in again.stderr
    st = run("status", "--db", str(db))
    assert st.exit_code == 0
    assert "2026-01" in st.stdout and "sales.csv" in st.stdout and "rejected: 1" in st.stdout


def test_db_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACECODE_DB", str(tmp_path / "env.duckdb"))
    f = write_csv(tmp_path / "sales.csv", [sale()])
    assert run("ingest", str(f)).exit_code == 0
    assert (tmp_path / "env.duckdb").exists()


def test_user_errors_are_one_line_not_tracebacks(tmp_path):
    db = str(tmp_path / "x.duckdb")
    (tmp_path / "empty.csv").write_bytes(b"")
    result = run("ingest", "--db", db, str(tmp_path / "empty.csv"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "empty.csv" in result.stderr and "Traceback" not in result.stderr
    missing = run("status", "--db", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_second_writer_gets_in_use_error(tmp_path):
    db = tmp_path / "city.duckdb"
    f = write_csv(tmp_path / "sales.csv", [sale()])
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(60)",
                               str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = subprocess.run([sys.executable, "-m", "tracecode.cli", "ingest", "--db", str(db), str(f)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert "in use" in result.stderr and "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow  # a big file, a subprocess killed mid-file
def test_kill_mid_file_leaves_database_as_before(tmp_path):
    db = tmp_path / "city.duckdb"
    first = write_csv(tmp_path / "first.csv", [sale()])
    assert run("ingest", "--db", str(db), str(first)).exit_code == 0
    con = duckdb.connect(str(db))
    before = con.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM files), "
                         "(SELECT count(*) FROM rejects)").fetchall()[0]
    con.close()
    big = tmp_path / "big.csv"
    rows = [sale(receipt=f"R{i}", code=f"8{i:019d}") for i in range(1_000_000)]
    write_csv(big, rows)
    proc = subprocess.Popen([sys.executable, "-m", "tracecode.cli", "ingest", "--db", str(db), str(big)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    time.sleep(2.0)
    assert proc.poll() is None, "ingest finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = duckdb.connect(str(db))
    after = con.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM files), "
                        "(SELECT count(*) FROM rejects)").fetchall()[0]
    con.close()
    assert after == before
    # and the file loads cleanly afterwards
    assert run("ingest", "--db", str(db), "--quiet", str(big)).exit_code == 0


def test_out_of_memory_is_a_clear_error_and_stores_nothing(tmp_path):
    db = tmp_path / "t.duckdb"
    big = write_csv(tmp_path / "big.csv", [sale(receipt=f"R{i}", code=f"8{i:019d}") for i in range(40_000)])
    result = run("ingest", "--db", str(db), "--memory-limit", "20MB", str(big))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "out of memory" in result.stderr and "Traceback" not in result.stderr
    con = duckdb.connect(str(db))
    assert con.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM files)").fetchall() == [(0, 0)]
    con.close()


@pytest.mark.slow
def test_ctrl_c_during_ingest_is_one_line_and_rolls_the_file_back(tmp_path):
    db = tmp_path / "t.duckdb"
    first = write_csv(tmp_path / "first.csv", [sale(receipt="F1")])
    big = write_csv(tmp_path / "big.csv", [sale(receipt=f"R{i}", code=f"8{i:019d}") for i in range(600_000)])
    proc = subprocess.Popen([sys.executable, "-m", "tracecode.cli", "ingest", "--db", str(db), str(first), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # the kill point: once the first file is reported (committed), the big one is being loaded
    line = proc.stderr.readline()
    assert line.startswith(str(first)), line
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("Interrupted: the file being loaded")
    con = duckdb.connect(str(db))
    assert con.execute("SELECT name FROM files").fetchall() == [("first.csv",)]
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(1,)]
    con.close()
