"""Hostile and absurd input, as found by an attack on the readers: each gives a reject with its
reason or one clear error, never a stored nonsense value and never a traceback."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import NHSA_HEADER, sale, write_csv
from tracecode.errors import InputFileError
from tracecode.store.ingest import ingest_files


def _rejects(db) -> list[tuple]:
    return db.execute("SELECT src_line, field, reason FROM rejects ORDER BY src_line").fetchall()


@pytest.mark.parametrize("qty,reason", [
    ("NaN", "quantity is not a number"), ("nan", "quantity is not a number"), ("inf", "quantity out of range"),
    ("-inf", "quantity must be positive"), ("1e309", "quantity out of range"), ("1e-320", "quantity out of range"),
    ("1e20", "quantity out of range"), ("0", "quantity must be positive"), ("-1", "quantity must be positive"),
])
def test_absurd_quantities_are_rejected(db, tmp_path, qty, reason):
    f = write_csv(tmp_path / "s.csv", [sale(receipt="OK"), sale(receipt="BAD", qty=qty)])
    [res] = ingest_files(db, [f])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (2, 1, 1)
    [(line, field, text)] = _rejects(db)
    assert (line, field) == (3, "sel_retn_cnt") and text.startswith(reason)
    assert db.execute("SELECT sel_retn_cnt FROM events").fetchall() == [(1.0,)]


@pytest.mark.parametrize("qty", ["0.5", "0.25", "3", "1,000"])
def test_ordinary_quantities_are_kept(db, tmp_path, qty):
    f = write_csv(tmp_path / "s.csv", [sale(qty=qty)])
    [res] = ingest_files(db, [f])
    assert res.rows_stored == 1 and res.rows_rejected == 0


@pytest.mark.parametrize("price,reason", [
    ("NaN", "price is not a number"), ("inf", "price out of range"), ("1e20", "price out of range"),
    ("-3.5", "price must not be negative"),
])
def test_absurd_prices_are_rejected(db, tmp_path, price, reason):
    f = write_csv(tmp_path / "s.csv", [sale() + ["12.5"], sale(receipt="R2") + [price]],
                  header=NHSA_HEADER + ["price"])
    [res] = ingest_files(db, [f])
    assert (res.rows_stored, res.rows_rejected) == (1, 1)
    [(_, field, text)] = _rejects(db)
    assert field == "price" and text.startswith(reason)
    assert db.execute("SELECT price FROM events").fetchall() == [(12.5,)]


def test_json_null_code_is_no_code_not_the_code_none(db, tmp_path):
    message = {"infno": "3505", "input": {"selinfo": {
        "fixmedins_code": "P001", "rtal_docno": "R1", "sel_retn_cnt": "1", "sel_retn_time": "2026-01-05 10:00:00",
        "trdn_flag": "0", "drugtracinfo": [{"drug_trac_codg": None}, None, {"drug_trac_codg": "81234567890123456789"}]}}}
    f = tmp_path / "m.jsonl"
    f.write_text(json.dumps(message) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [f])
    assert res.rows_stored == 1
    assert db.execute("SELECT drug_trac_codg, code_raw FROM events").fetchall() == [
        ("81234567890123456789", "81234567890123456789")]
    assert db.execute("SELECT count(*) FROM events WHERE code_raw ILIKE '%none%'").fetchall() == [(0,)]


def test_json_nested_100000_deep_is_a_reject_per_line_and_an_error_for_an_array(db, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    lines = tmp_path / "deep.jsonl"  # one message a line; a line that starts with [ would read as an array
    lines.write_text('{"infno": ' * 100_000 + "1" + "}" * 100_000 + "\n", encoding="utf-8")
    [res] = ingest_files(db, [lines])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (1, 0, 1)
    assert _rejects(db)[0][2] == "JSON nested too deeply"
    array = tmp_path / "deep.json"
    array.write_text("[" + deep + "]", encoding="utf-8")
    with pytest.raises(InputFileError, match="nested too deeply"):
        ingest_files(db, [array])


@pytest.mark.parametrize("column", [
    pa.array([["81234567890123456789"]], pa.list_(pa.string())),
    pa.array([{"a": "81234567890123456789"}]),
    pa.array([b"81234567890123456789"], pa.binary()),
])
def test_parquet_nested_or_binary_column_is_one_clear_error(db, tmp_path, column):
    row = dict(zip(NHSA_HEADER, sale()))
    table = pa.table({**{k: [v] for k, v in row.items() if k != "drug_trac_codg"}, "drug_trac_codg": column})
    pq.write_table(table, tmp_path / "s.parquet")
    with pytest.raises(InputFileError, match="column drug_trac_codg holds"):
        ingest_files(db, [tmp_path / "s.parquet"])
    assert db.execute("SELECT count(*) FROM files").fetchall() == [(0,)]


def test_parquet_kind_other_than_sale_or_return_is_rejected(db, tmp_path):
    rows = [dict(zip(NHSA_HEADER, sale(receipt=f"R{i}"))) for i in range(3)]
    table = pa.table({k: [r[k] for r in rows] for k in NHSA_HEADER} | {"kind": ["sale", "refund", "return"]})
    pq.write_table(table, tmp_path / "s.parquet")
    [res] = ingest_files(db, [tmp_path / "s.parquet"])
    assert (res.rows_stored, res.rows_rejected) == (2, 1)
    [(line, field, text)] = _rejects(db)
    assert (line, field, text) == (2, "kind", "kind must be sale, return, purchase or purchase_return (类型)")
    assert sorted(r[0] for r in db.execute("SELECT kind FROM events").fetchall()) == ["return", "sale"]


def _xlsx_with_rows(path, rows_xml: str) -> None:
    import zipfile

    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>' + rows_xml + "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)


def _cells(row: int, values: list[str]) -> str:
    cells = "".join(f'<c r="{chr(65 + i)}{row}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{row}">{cells}</row>'


def test_xlsx_with_endless_empty_rows_stops_with_a_reject(db, tmp_path):
    from tracecode.inputs.readers import MAX_EMPTY_XLSX_ROWS

    empty = "".join(f'<row r="{r}"/>' for r in range(3, 3 + MAX_EMPTY_XLSX_ROWS + 10))
    after = 3 + MAX_EMPTY_XLSX_ROWS + 10
    _xlsx_with_rows(tmp_path / "e.xlsx", _cells(1, NHSA_HEADER) + _cells(2, sale()) + empty
                    + _cells(after, sale(receipt="LATE")))
    [res] = ingest_files(db, [tmp_path / "e.xlsx"])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (2, 1, 1)
    [(line, field, text)] = _rejects(db)
    assert field == "(sheet)" and text.startswith(f"stopped reading: {MAX_EMPTY_XLSX_ROWS:,} empty rows in a row")


def test_xlsx_with_a_few_empty_rows_between_records_reads_them_all(db, tmp_path):
    empty = "".join(f'<row r="{r}"/>' for r in range(3, 1003))
    _xlsx_with_rows(tmp_path / "e.xlsx", _cells(1, NHSA_HEADER) + _cells(2, sale()) + empty
                    + _cells(1003, sale(receipt="R2")))
    [res] = ingest_files(db, [tmp_path / "e.xlsx"])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (2, 2, 0)


def test_utf8_csv_with_one_gbk_line_keeps_every_name(db, tmp_path):
    header = ",".join(NHSA_HEADER) + "\n"
    lines = [",".join(sale(receipt=f"R{i}", name="杭州市益民大药房")) + "\n" for i in range(5)]
    gbk_line = ",".join(sale(receipt="RG", name="西湖区康宁药店")) + "\n"
    f = tmp_path / "mixed.csv"
    f.write_bytes(header.encode() + "".join(lines[:3]).encode("utf-8") + gbk_line.encode("gbk")
                  + "".join(lines[3:]).encode("utf-8"))
    [res] = ingest_files(db, [f])
    assert (res.rows_stored, res.rows_rejected, res.encoding) == (6, 0, "utf-8+gb18030")
    names = dict(db.execute("SELECT rtal_docno, fixmedins_name FROM events").fetchall())
    assert names["RG"] == "西湖区康宁药店"
    assert {names[f"R{i}"] for i in range(5)} == {"杭州市益民大药房"}


def test_a_gbk_file_is_still_read_as_gbk(db, tmp_path):
    f = write_csv(tmp_path / "g.csv", [sale(name="西湖区康宁药店"), sale(receipt="R2", name="杭州市益民大药房")],
                  encoding="gbk")
    [res] = ingest_files(db, [f])
    assert res.encoding == "gb18030"
    assert sorted(r[0] for r in db.execute("SELECT fixmedins_name FROM events").fetchall()) == [
        "杭州市益民大药房", "西湖区康宁药店"]
