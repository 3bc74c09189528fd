"""What one file may cost (issue 17): each reader's cap, with a file just over it (a reject naming
the line and field, or one clear error) and one under it (read as before)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.faults.make_corpus import HEADER, csv_text, row, xlsx, xlsx_cells
from tracecode.errors import InputFileError
from tracecode.inputs import nhsa_json, readers
from tracecode.inputs.caps import MAX_CELL_BYTES
from tracecode.store.ingest import ingest_files

CODE = "81234567890123456789"


def rejects(db) -> list[tuple]:
    return db.execute("SELECT src_line, field, reason FROM rejects ORDER BY src_line").fetchall()


def receipts(db) -> list[str]:
    return sorted(r[0] for r in db.execute("SELECT rtal_docno FROM events").fetchall())


# ------------------------------------------------------------------ cell length, every reader

def csv_file(tmp_path, cell: str, name="s.csv", header=HEADER):
    path = tmp_path / name
    path.write_text(csv_text([row("R1"), row("R2", cell), row("R3")], header), encoding="utf-8")
    return path


def json_file(tmp_path, cell: str):
    items = [{"rtal_docno": r, "sel_retn_cnt": 1, "sel_retn_time": "2026-01-05 10:00:00", "fixmedins_name": c,
              "drugtracinfo": [{"drug_trac_codg": CODE}]} for r, c in (("R1", "x"), ("R2", cell), ("R3", "y"))]
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"infno": "3505", "fixmedins_code": "P001", "input": {"selinfo": items}}) + "\n",
                    encoding="utf-8")
    return path


def xlsx_file(tmp_path, cell: str):
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row("R1")) + xlsx_cells(3, row("R2", cell))
                          + xlsx_cells(4, row("R3"))))
    return path


def parquet_file(tmp_path, cell: str):
    rows = [row("R1"), row("R2", cell), row("R3")]
    path = tmp_path / "s.parquet"
    pq.write_table(pa.table({h: [r[i] for r in rows] for i, h in enumerate(HEADER)}), path)
    return path


BUILDERS = {"csv": (csv_file, 3, "drug_trac_codg"), "json": (json_file, 1, "fixmedins_name"),
            "xlsx": (xlsx_file, 3, "drug_trac_codg"), "parquet": (parquet_file, 2, "drug_trac_codg")}


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_a_cell_over_the_cap_is_a_reject_of_its_record(db, tmp_path, fmt):
    build, line, field = BUILDERS[fmt]
    [res] = ingest_files(db, [build(tmp_path, "8" * (MAX_CELL_BYTES + 1))])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (3, 2, 1)
    [(at, named, reason)] = rejects(db)
    assert (at, named) == (line, field)
    assert reason == f"cell too long: {MAX_CELL_BYTES + 1:,} bytes, more than the {MAX_CELL_BYTES:,} a cell may hold"
    assert receipts(db) == ["R1", "R3"]


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_a_cell_at_the_cap_is_read(db, tmp_path, fmt):
    build, _, field = BUILDERS[fmt]
    [res] = ingest_files(db, [build(tmp_path, "8" * MAX_CELL_BYTES)])
    assert (res.rows_stored, res.rows_rejected) == (3, 0)
    assert db.execute(f"SELECT max(length({'code_raw' if field == 'drug_trac_codg' else field})) "
                      "FROM events").fetchall() == [(MAX_CELL_BYTES,)]


def test_a_1mb_cell_in_a_file_the_exact_reader_reads_is_a_reject_not_a_malformed_file(db, tmp_path):
    """Python's csv module stops at 131,072 characters a field; the exact reader (duplicate
    headers, mixed encodings, a malformed record) reads past that and the cell cap rejects."""
    path = csv_file(tmp_path, "8" * 1_000_000, header=HEADER[:-1] + ["rtal_docno"])
    [res] = ingest_files(db, [path])
    assert (res.rows_stored, res.rows_rejected) == (2, 1)
    assert rejects(db)[0][:2] == (3, "drug_trac_codg")


def test_a_cell_over_the_cap_counted_in_characters_of_chinese_is_counted_in_bytes(db, tmp_path):
    cell = "药" * (MAX_CELL_BYTES // 3 + 1)  # 3 bytes each in UTF-8: just over the cap
    [res] = ingest_files(db, [json_file(tmp_path, cell)])
    assert res.rows_rejected == 1 and rejects(db)[0][1] == "fixmedins_name"


# ------------------------------------------------------------------ line length (CSV) and message length (JSON)

def test_a_csv_line_over_the_line_cap_is_a_reject_and_never_read_whole(db, tmp_path):
    path = tmp_path / "s.csv"
    head = csv_text([row("R1")])
    path.write_text(head + "P001,X,R2," + "8" * (readers.MAX_LINE_BYTES + 10) + "\n" + ",".join(row("R3")) + "\n",
                    encoding="utf-8")
    assert readers.has_long_line(path)
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (3, 2, 1)
    assert rejects(db) == [(3, "(record)", f"line too long: more than {readers.MAX_LINE_BYTES:,} bytes; not read")]
    assert receipts(db) == ["R1", "R3"]


@pytest.mark.parametrize("size,long", [(readers.SNIFF_BYTES * 3, True), (readers.SNIFF_BYTES // 2, False)])
def test_has_long_line_across_chunk_ends(monkeypatch, tmp_path, size, long):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", readers.SNIFF_BYTES)
    path = tmp_path / "s.csv"
    path.write_bytes(b"a,b\n" * 1000 + b"x" * size + b"\n" + b"a,b\n" * 1000)
    assert readers.has_long_line(path) is long


def test_a_json_line_over_the_message_cap_is_a_reject(db, tmp_path, monkeypatch):
    monkeypatch.setattr(nhsa_json, "MAX_MESSAGE_CHARS", 4096)
    good = {"infno": "3505", "fixmedins_code": "P001", "input": {"selinfo": [
        {"rtal_docno": "R1", "sel_retn_cnt": 1, "sel_retn_time": "2026-01-05 10:00:00", "drug_trac_codg": CODE}]}}
    long = {**good, "pad": "x" * 10_000}
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(long) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (2, 1, 1)
    assert rejects(db) == [(1, "(record)", "message too long: more than 4,096 characters; not read")]


def test_a_json_array_over_its_cap_is_one_error_asking_for_one_message_a_line(db, tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_text(json.dumps([{"infno": "3505", "input": {"selinfo": []}}] * 50), encoding="utf-8")
    monkeypatch.setattr(nhsa_json, "MAX_ARRAY_BYTES", 1000)
    with pytest.raises(InputFileError, match="at most 1,000 are read as one array") as caught:
        ingest_files(db, [path])
    assert "one per line" in caught.value.hint
    monkeypatch.setattr(nhsa_json, "MAX_ARRAY_BYTES", 10_000)
    [res] = ingest_files(db, [path])
    assert res.rows_read == 50


def test_an_unpaired_surrogate_in_a_message_is_a_reject_of_its_record(db, tmp_path):
    path = tmp_path / "m.jsonl"
    item = '{"rtal_docno":"%s","sel_retn_cnt":1,"sel_retn_time":"2026-01-05 10:00:00","drug_trac_codg":"%s"}'
    path.write_text('{"infno":"3505","fixmedins_code":"P001","input":{"selinfo":[' + item % ("R\\ud800", CODE) + ","
                    + item % ("R2", CODE) + "]}}\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (2, 1, 1)
    [(line, field, reason)] = rejects(db)
    assert (line, field) == (1, "rtal_docno") and reason.startswith("encoding: a JSON string holds an unpaired")
    assert db.execute("SELECT raw_value FROM rejects").fetchall()[0][0].count("\\ud800") == 1
    assert receipts(db) == ["R2"]


# ------------------------------------------------------------------ Excel: bombs, parts, empty cells

def test_an_xlsx_zip_bomb_is_one_error_before_anything_is_parsed(db, tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row()) + "<row/>" * 3_000_000))
    with pytest.raises(InputFileError, match=r"xl/worksheets/sheet1.xml unpacks to 18,00[\d,]+ bytes from [\d,]+: a zip bomb"):
        ingest_files(db, [path])
    assert db.execute("SELECT count(*) FROM files").fetchall() == [(0,)]


def test_a_large_part_read_whole_is_one_error(db, tmp_path, monkeypatch):
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row())))
    monkeypatch.setattr(readers, "MAX_XLSX_PART_BYTES", 200)
    with pytest.raises(InputFileError, match=r"part .* unpacks to [\d,]+ bytes; at most 200 are read whole"):
        ingest_files(db, [path])
    monkeypatch.setattr(readers, "MAX_XLSX_PART_BYTES", 10_000)
    monkeypatch.setattr(readers, "MAX_XLSX_BYTES", 1000)
    with pytest.raises(InputFileError, match="the workbook unpacks to"):
        ingest_files(db, [path])
    monkeypatch.setattr(readers, "MAX_XLSX_BYTES", 100_000)
    assert ingest_files(db, [path])[0].rows_stored == 1


def test_rows_of_empty_cells_stop_at_the_empty_cell_cap(db, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_EMPTY_XLSX_CELLS", 10_000)
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row()) + ("<row>" + "<c/>" * 1000 + "</row>") * 20
                          + xlsx_cells(23, row("LATE"))))
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (2, 1, 1)
    [(line, field, reason)] = rejects(db)
    assert (line, field) == (12, "(sheet)") and reason.startswith("stopped reading: 10 empty rows in a row")
    assert receipts(db) == ["R1"]


def test_rows_of_empty_cells_under_the_cap_are_skipped_and_reading_goes_on(db, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_EMPTY_XLSX_CELLS", 30_000)
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row()) + ("<row>" + "<c/>" * 1000 + "</row>") * 20
                          + xlsx_cells(23, row("LATE"))))
    [res] = ingest_files(db, [path])
    assert (res.rows_stored, res.rows_rejected, res.rows_skipped) == (2, 0, 20)
    assert receipts(db) == ["LATE", "R1"]


# ------------------------------------------------------------------ duplicate headers

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_header_given_twice_is_read_from_its_first_place(db, tmp_path, fmt):
    header = HEADER + ["rtal_docno"]
    if fmt == "csv":
        path = tmp_path / "s.csv"
        path.write_text(csv_text([row("FIRST") + ["SECOND"]], header), encoding="utf-8")
    else:
        path = tmp_path / "s.xlsx"
        path.write_bytes(xlsx(xlsx_cells(1, header) + xlsx_cells(2, row("FIRST") + ["SECOND"])))
    [res] = ingest_files(db, [path])
    assert (res.rows_stored, res.rows_rejected) == (1, 0)
    assert receipts(db) == ["FIRST"]
