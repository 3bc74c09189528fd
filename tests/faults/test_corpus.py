"""Every file of the seed corpus (tests/faults/corpus/, see its README) through the command line:
``ingest``, then ``status`` and ``check``. Each run ends with exit 0, or with the project's own
error (exit 1, one ``Error:`` line, nothing of the file stored); never a traceback. A loaded file
is accounted for record by record: read = stored + rejected, and the store holds exactly that.
Then all the loadable files together go through every command in subprocesses, as a user runs
them."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from tests.faults.make_corpus import (
    CASES,
    CORPUS,
    HEADER,
    csv_text,
    row,
    xlsx,
    xlsx_cells,
)
from tracecode.cli import main

README = CORPUS / "README.md"


def readme_cases() -> dict[str, str]:
    """file -> expect, from the README table."""
    cases = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] in ("loaded", "error"):
            cases[cells[0]] = cells[1]
    return cases


EXPECT = readme_cases()


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def no_traceback(result: Result) -> None:
    """The run ended through the CLI (exit code), not by an exception escaping it."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert "Traceback" not in result.output


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def accounting(db: Path) -> list[tuple]:
    """Per file: (read, stored, rejected, rejects rows, lines of the events, events, code rows)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            """SELECT f.rows_read, f.rows_stored, f.rows_rejected,
                      (SELECT count(*) FROM rejects r WHERE r.file_id = f.file_id),
                      (SELECT count(DISTINCT src_line) FROM events e WHERE e.file_id = f.file_id),
                      f.events, (SELECT count(*) FROM events e WHERE e.file_id = f.file_id), f.format
               FROM files f ORDER BY f.file_id""").fetchall()
    finally:
        con.close()


def assert_accounted(db: Path) -> None:
    for read, stored, rejected, reject_rows, lines, events, event_rows, fmt in accounting(db):
        assert read == stored + rejected
        assert reject_rows == rejected
        assert events == event_rows
        # a JSON message's items share the message's line; elsewhere one record is one line
        assert lines == stored if fmt != "json" else lines <= stored
        assert (stored == 0) == (events == 0)


def test_the_readme_names_every_corpus_file_and_the_corpus_is_small():
    files = {p.name: p.stat().st_size for p in CORPUS.iterdir() if p.name != "README.md"}
    assert set(files) == set(EXPECT) == set(CASES)
    assert all(EXPECT[name] == case.expect for name, case in CASES.items())
    assert max(files.values()) < 50_000 and sum(files.values()) < 500_000
    assert {"loaded", "error"} == set(EXPECT.values())


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_corpus_file_through_ingest_status_and_check(name, tmp_path):
    db = tmp_path / "t.duckdb"
    ingested = invoke("ingest", "-q", "--db", db, CORPUS / name)
    no_traceback(ingested)
    if EXPECT[name] == "error":
        assert one_error_line(ingested)
        assert not db.exists() or accounting(db) == []
        # the error is in the catalogue: in Chinese it says in Chinese what is wrong (the path and the
        # file's own words, such as its headers or a type name, stay as they are)
        in_chinese = invoke("ingest", "-q", "--db", db, "--lang", "zh", CORPUS / name)
        no_traceback(in_chinese)
        [line] = [x for x in in_chinese.stderr.splitlines() if x.startswith("错误：")]
        assert re.search("[\u4e00-\u9fff]", line.replace(str(CORPUS / name), "")), line
        return
    assert ingested.exit_code == 0, ingested.output
    [(read, *_)] = accounting(db)
    assert_accounted(db)
    status = invoke("status", "--db", db)
    no_traceback(status)
    assert status.exit_code == 0 and f"records read: {read:,}" in status.stdout
    checked = invoke("check", "-q", "--db", db)
    no_traceback(checked)
    # a file with no stored row holds no month to check: that is the project's own error
    assert checked.exit_code == 0 or "holds no uploads" in one_error_line(checked), checked.output


def test_the_same_corpus_file_again_adds_nothing(tmp_path):
    db = tmp_path / "t.duckdb"
    for name in ("absurd_numbers.csv", "json_odd_types.jsonl", "empty_rows.xlsx"):
        assert invoke("ingest", "-q", "--db", db, CORPUS / name).exit_code == 0
    before = accounting(db)
    again = invoke("ingest", "-q", "--db", db, CORPUS / "absurd_numbers.csv")
    no_traceback(again)
    assert again.exit_code == 0 and accounting(db) == before


# ------------------------------------------------------------- hostile files too big to check in

def built(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BUILT = {
    "deep_100000.json": lambda: b"[" * 100_000 + b"]" * 100_000,
    "deep_100000.jsonl": lambda: b'{"infno": ' * 100_000 + b"1" + b"}" * 100_000 + b"\n",
    "cell_1mb.csv": lambda: csv_text([row("R1"), row("R2", "8" * 1_000_000), row("R3")]).encode(),
    "bomb.json.gz": lambda: gzip.compress(b" " * 50_000_000),
    "messages_1mb_cell.jsonl": lambda: (json.dumps({"infno": "3505", "fixmedins_code": "P001", "input": {"selinfo": [
        {"rtal_docno": "R1", "sel_retn_cnt": 1, "sel_retn_time": "2026-01-05 10:00:00", "drug_trac_codg": "8" * 1_000_000},
        {"rtal_docno": "R2", "sel_retn_cnt": 1, "sel_retn_time": "2026-01-05 10:00:00",
         "drug_trac_codg": "81234567890123456789"}]}}) + "\n").encode(),
    "endless_empty_rows.xlsx": lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row()) + "<row/>" * 2_000_000),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_hostile_file_through_ingest(name, tmp_path):
    path = built(tmp_path, name, BUILT[name]())
    db = tmp_path / "t.duckdb"
    result = invoke("ingest", "-q", "--db", db, path)
    no_traceback(result)
    if result.exit_code:
        assert one_error_line(result)
        assert not db.exists() or accounting(db) == []
    else:
        assert len(accounting(db)) == 1
        assert_accounted(db)


# ------------------------------------------------------------- every command, as a user runs them

def cli(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACECODE_LANG": "en"}
    env.pop("TRACECODE_DB", None)
    return subprocess.run([sys.executable, "-m", "tracecode.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd)


@pytest.mark.slow
def test_every_command_on_a_store_of_the_whole_corpus(tmp_path):
    loadable = [CORPUS / name for name, expect in sorted(EXPECT.items()) if expect == "loaded"]
    db = tmp_path / "all.duckdb"
    runs = {"ingest": cli("ingest", "-q", "--db", db, *loadable, cwd=tmp_path)}
    runs["ingest again"] = cli("ingest", "-q", "--db", db, *loadable, cwd=tmp_path)
    runs["status"] = cli("status", "--db", db, cwd=tmp_path)
    runs["check"] = cli("check", "-q", "--db", db, cwd=tmp_path)
    runs["check month"] = cli("check", "-q", "--db", db, "--month", "2026-01", cwd=tmp_path)
    runs["export"] = cli("export", "-q", "--db", db, "--month", "2026-01", "--out", tmp_path / "out", "--per-pharmacy",
                         cwd=tmp_path)
    runs["report"] = cli("report", "--db", db, "--month", "2026-01", "--out", tmp_path / "r.html", cwd=tmp_path)
    runs["trace"] = cli("trace", "--db", db, "81234567890123456789", "8.12E+19", "\x1b[31m", cwd=tmp_path)
    runs["people"] = cli("people", "--db", db, "--month", "2026-01", "--min-packs", "1", cwd=tmp_path)
    runs["scan"] = cli("scan", "-q", "--out", tmp_path / "scan", *loadable[:20], cwd=tmp_path)
    for name, result in runs.items():
        assert "Traceback" not in result.stderr, (name, result.stderr)
        assert result.returncode == 0, (name, result.stderr)
    assert_accounted(db)
    assert len(accounting(db)) == len(loadable)
    assert "already loaded" in runs["ingest again"].stderr
