"""A large file of NHSA messages is read by worker processes in pieces cut before a line that
starts with ``{``: the records, their line numbers, the rejects and the count read must be the
ones reading it in one pass gives, whatever the cuts."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest

from tracecode.errors import InputFileError
from tracecode.inputs import nhsa_json
from tracecode.inputs.readers import Source

ROOT = Path(__file__).resolve().parents[2]
READABLE_IN_PIECES = nhsa_json._readable_in_pieces
FILES = sorted((ROOT / "tests/inputs/fixtures/nhsa").glob("*.json*")) + sorted(
    (ROOT / "tests/faults/corpus").glob("json_*")) + [ROOT / "data/sample/sales_2026-01.jsonl",
                                                      ROOT / "data/sample/sales_2026-01_2021.json",
                                                      ROOT / "data/sample/deletes_2026-01.jsonl"]


def read(path: Path, monkeypatch, *, parallel: bool, chunk: int = 700):
    """The file read in one pass by the Python reader, or in pieces by worker processes (each
    piece by Arrow's JSON reader where it can)."""
    monkeypatch.setattr(nhsa_json, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 62)
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(nhsa_json, "_readable_in_pieces",
                        READABLE_IN_PIECES if parallel else lambda path, encoding: False)
    source = Source(path, "json")
    try:
        batches = list(nhsa_json.read_messages(path, None, source, processes=parallel))
    except InputFileError as exc:
        return "error", str(exc)
    table = pa.Table.from_batches(batches).combine_chunks() if batches else None
    return table, source.records, source.bad_records, source.encoding


def mixed_file(tmp_path: Path, newline: str) -> Path:
    """Every kind of line the one-pass reader handles, twice over so that cuts fall among them."""
    good = [line for line in (ROOT / "tests/inputs/fixtures/nhsa/3505_variants.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    pretty = (ROOT / "tests/inputs/fixtures/nhsa/pretty.json").read_text("utf-8").splitlines()
    odd = ['{"infno": "3505", "input": {"selinfo": [', '{"infno": "3501", "input": {"invinfo": {}}}', "",
           '{"infno": "3505", "input": "c2VjcmV0"}', "[1, 2]", "not json", "a lone\rcarriage return", '{"a": 1']
    lines = (good + pretty + odd) * 3 + good
    path = tmp_path / f"mixed{len(newline)}.jsonl"
    path.write_bytes(newline.join(lines).encode("utf-8"))
    return path


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_pieces_read_as_one_pass(path, monkeypatch):
    serial = read(path, monkeypatch, parallel=False)
    assert read(path, monkeypatch, parallel=True) == serial


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("chunk", [50, 700, 5000])
def test_mixed_lines_and_line_ends(tmp_path, monkeypatch, newline, chunk):
    path = mixed_file(tmp_path, newline)
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", chunk)
    pieces = nhsa_json._chunks(path)
    if newline == "\r" or chunk == 50:  # no "\n{" to cut at, or lines longer than 4 pieces: one pass
        assert pieces is None or len(pieces) == 1
    else:
        assert len(pieces) >= 2
    serial = read(path, monkeypatch, parallel=False, chunk=chunk)
    parallel = read(path, monkeypatch, parallel=True, chunk=chunk)
    assert parallel == serial
    assert serial[2], "the odd lines are rejects"


def test_a_bad_byte_after_a_bom_names_the_file(tmp_path, monkeypatch):
    good = (ROOT / "data/sample/sales_2026-01.jsonl").read_bytes()
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + good + b'{"infno": "3505", "x": "\xff"}\n' + good)
    serial = read(path, monkeypatch, parallel=False)
    assert serial[0] == "error" and "bom.jsonl: not valid utf-8-sig text" in serial[1]
    assert read(path, monkeypatch, parallel=True, chunk=4096) == serial


def test_one_huge_line_is_read_in_one_pass(tmp_path, monkeypatch):
    path = tmp_path / "huge.jsonl"
    path.write_text('{"infno": "3505", "input": {"selinfo": {"drug_trac_codg": "' + "8" * 5000 + '"}}}\n', "utf-8")
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 100)
    assert nhsa_json._chunks(path) is None
    assert read(path, monkeypatch, parallel=True, chunk=100) == read(path, monkeypatch, parallel=False, chunk=100)


def test_ingest_stores_the_same_rows_and_rejects_either_way(tmp_path, monkeypatch):
    from tracecode.store.database import open_store
    from tracecode.store.ingest import ingest_files

    path = mixed_file(tmp_path, "\r\n")
    sample = ROOT / "data/sample/sales_2026-01.jsonl"
    both = tmp_path / "both.jsonl"
    both.write_bytes(sample.read_bytes() + path.read_bytes())
    stored = []
    for parallel in (False, True):
        monkeypatch.setattr(nhsa_json, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 62)
        monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 4096)
        con = open_store(tmp_path / f"p{parallel}.duckdb")
        [result] = ingest_files(con, [both], reader_processes=parallel)
        stored.append((result.rows_read, result.rows_stored, result.rows_rejected,
                       con.execute("SELECT * FROM events ORDER BY event_id").fetchall(),
                       con.execute("SELECT * FROM rejects ORDER BY ALL").fetchall()))
        con.close()
    assert stored[0] == stored[1]
    assert stored[0][1] > 100 and stored[0][2] > 5


def test_library_callers_read_in_one_pass_unless_they_ask(tmp_path, no_worker_processes):
    """Worker processes are started by spawn, which imports the caller's main module again: only
    the tracecode command (guarded) and callers that ask get them."""
    path = ROOT / "data/sample/sales_2026-01.jsonl"
    assert len(nhsa_json._chunks(path)) > 1
    source = Source(path, "json")
    assert sum(b.num_rows for b in nhsa_json.read_messages(path, None, source)) > 100
    with pytest.raises(AssertionError, match="worker processes started"):
        list(nhsa_json.read_messages(path, None, Source(path, "json"), processes=True))


def test_the_ingest_command_reads_a_large_file_with_workers(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tracecode.cli import main

    used = []
    real = nhsa_json._parallel_batches

    def spy(*args, **kwargs):
        used.append(len(args[-1]))
        yield from real(*args, **kwargs)

    monkeypatch.setattr(nhsa_json, "_parallel_batches", spy)
    monkeypatch.setattr(nhsa_json, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 4096)
    result = CliRunner().invoke(main, ["ingest", "--quiet", "--db", str(tmp_path / "c.duckdb"),
                                       str(ROOT / "data/sample/sales_2026-01.jsonl")])
    assert result.exit_code == 0, result.output
    assert used and used[0] > 1


def test_a_tail_longer_than_a_piece_without_a_cut_is_the_last_piece(tmp_path, monkeypatch):
    good = (ROOT / "tests/inputs/fixtures/nhsa/3505_2025.jsonl").read_bytes()
    long_line = good.splitlines()[0].replace(b'"input"', b'"note": "' + b"x" * 1500 + b'", "input"') + b"\n"
    path = tmp_path / "tail.jsonl"
    path.write_bytes(good + long_line)
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 700)
    pieces = nhsa_json._chunks(path)
    assert pieces is not None and pieces[-1][1] == path.stat().st_size
    assert pieces[-1][1] - pieces[-1][0] > 700
    assert read(path, monkeypatch, parallel=True) == read(path, monkeypatch, parallel=False)


def test_pieces_are_found_reading_a_piece_at_a_time(tmp_path, monkeypatch):
    """Finding the cuts holds a few pieces of the file, not the file (a map of the whole file
    counted all of it as resident memory)."""
    path = mixed_file(tmp_path, "\n")
    monkeypatch.setattr(nhsa_json, "CHUNK_BYTES", 700)
    reads: list[int] = []
    real_open = open

    class Recorded:
        def __init__(self, fh):
            self.fh = fh

        def read(self, size=-1):
            data = self.fh.read(size)
            reads.append(len(data))
            return data

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(nhsa_json, "open", lambda *a, **k: Recorded(real_open(*a, **k)), raising=False)
    pieces = nhsa_json._chunks(path)
    assert len(pieces) > 5
    assert max(reads) <= 700 and sum(reads) >= path.stat().st_size
    monkeypatch.undo()
    # each piece starts a message, at the line the text reader (\n, \r\n, a lone \r) gives it
    text = path.read_bytes()
    for start, _end, first_line in pieces:
        assert text[start:start + 1] == b"{"
        assert first_line == len(io.StringIO(text[:start].decode("utf-8"), newline=None).readlines()) + 1
