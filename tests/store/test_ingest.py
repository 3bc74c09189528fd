"""Ingest: every reader, normalisation on the way in, rejects, accounting, idempotence."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import NHSA_HEADER, sale, write_csv
from tracecode.errors import InputFileError, TracecodeError
from tracecode.inputs.columns import load_column_mapping
from tracecode.store.ingest import ingest_files

CODE = "81234567890123456789"
CODE2 = "81234567890123456780"


def events(con, columns="drug_trac_codg, code_status, kind, fixmedins_code, rtal_docno, qty, src_line"):
    return con.execute(f"SELECT {columns} FROM events ORDER BY event_id").fetchall()


def accounting_holds(con):
    for read, stored, rejected in con.execute("SELECT rows_read, rows_stored, rows_rejected FROM files").fetchall():
        assert read == stored + rejected


def test_csv_utf8_nhsa_headers(db, tmp_path):
    f = write_csv(tmp_path / "sales.csv", [sale(), sale(receipt="R2", code=CODE2)])
    [res] = ingest_files(db, [f])
    assert (res.status, res.kind, res.rows_read, res.rows_stored, res.rows_rejected) == ("loaded", "sale", 2, 2, 0)
    assert events(db) == [(CODE, "valid", "sale", "P001", "R1", 1.0, 2), (CODE2, "valid", "sale", "P001", "R2", 1.0, 3)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_csv_chinese_headers_any_encoding(db, tmp_path, encoding):
    header = ["定点医药机构编号", "定点医药机构名称", "零售单据号", "追溯码", "拆零标志", "销售/退货数量", "销售/退货时间", "备注"]
    f = write_csv(tmp_path / "销售.csv", [["P1", "仁和大药房", "单001", CODE, "0", "1", "2026/1/5 9:03", "无"]],
                  header=header, encoding=encoding)
    [res] = ingest_files(db, [f])
    assert res.rows_stored == 1
    assert db.execute("SELECT fixmedins_name, sel_retn_time FROM events").fetchall()[0] == (
        "仁和大药房", dt.datetime(2026, 1, 5, 9, 3))


def test_missing_required_column_names_file_and_found_columns(db, tmp_path):
    f = write_csv(tmp_path / "bad.csv", [["P1", "x"]], header=["fixmedins_code", "whatever"])
    with pytest.raises(InputFileError) as err:
        ingest_files(db, [f])
    msg = str(err.value)
    assert "bad.csv" in msg and "rtal_docno" in msg and "drug_trac_codg" in msg and "whatever" in msg
    assert db.execute("SELECT count(*) FROM files").fetchall()[0] == (0,)


@pytest.mark.parametrize("suffix", [".toml", ".csv"])
def test_column_mapping_file(db, tmp_path, suffix):
    if suffix == ".toml":
        (tmp_path / "map.toml").write_text('[columns]\n"店号" = "fixmedins_code"\n"小票号" = "rtal_docno"\n', encoding="utf-8")
    else:
        (tmp_path / "map.csv").write_text("header,canonical\n店号,fixmedins_code\n小票号,rtal_docno\n", encoding="utf-8")
    mapping = load_column_mapping(tmp_path / f"map{suffix}")
    f = write_csv(tmp_path / "s.csv", [["P9", "R9", CODE, "2026-01-05 10:00:00", "1"]],
                  header=["店号", "小票号", "追溯码", "销售时间", "数量"])
    ingest_files(db, [f], columns=mapping)
    assert events(db, "fixmedins_code, rtal_docno") == [("P9", "R9")]


def test_bad_mapping_target_is_an_error(tmp_path):
    (tmp_path / "map.toml").write_text('"店号" = "pharmacy"\n', encoding="utf-8")
    with pytest.raises(TracecodeError, match="pharmacy"):
        load_column_mapping(tmp_path / "map.toml")


def test_time_formats_seen_in_the_wild(db, tmp_path):
    times = ["2026-10-03 14:22:01", "2026/10/3 14:22", "20261003142201", "2026-10-03T14:22:01", "46298.5"]
    f = write_csv(tmp_path / "s.csv", [sale(receipt=f"R{i}", code=f"8123456789012345678{i}", time=t) for i, t in enumerate(times)])
    ingest_files(db, [f])
    got = [r[0] for r in db.execute("SELECT sel_retn_time FROM events ORDER BY src_line").fetchall()]
    assert got[:4] == [dt.datetime(2026, 10, 3, 14, 22, 1), dt.datetime(2026, 10, 3, 14, 22),
                       dt.datetime(2026, 10, 3, 14, 22, 1), dt.datetime(2026, 10, 3, 14, 22, 1)]
    assert got[4] == dt.datetime(2026, 10, 3, 12, 0)  # Excel serial day 46298 + half a day


def test_sale_times_from_2000_up_to_the_end_of_2099_are_read_and_others_rejected(db, tmp_path):
    times = {"2000-01-01 00:00:00": True, "2099-12-31 23:59:59.999999": True, "1999-12-31 23:59:59": False,
             "2100-01-01 00:00:00": False, "   ": False}
    f = write_csv(tmp_path / "s.csv", [sale(receipt=f"R{i}", code=f"8123456789012345678{i}", time=t)
                                       for i, t in enumerate(times)])
    [res] = ingest_files(db, [f])
    assert (res.rows_stored, res.rows_rejected) == (2, 3)
    assert db.execute("SELECT rtal_docno, sel_retn_time FROM events ORDER BY src_line").fetchall() == [
        ("R0", dt.datetime(2000, 1, 1)), ("R1", dt.datetime(2099, 12, 31, 23, 59, 59, 999999))]
    got = db.execute("SELECT src_line, field, reason FROM rejects ORDER BY src_line").fetchall()
    assert [(line, field) for line, field, _ in got] == [(4, "sel_retn_time"), (5, "sel_retn_time"),
                                                       (6, "sel_retn_time")]
    assert [reason.split(" (")[0] for _, _, reason in got] == [
        "unreadable sale/return time", "unreadable sale/return time", "missing sale/return time"]


def test_rejects_name_file_line_field_and_reason(db, tmp_path):
    rows = [
        sale(),
        sale(receipt="R2", time="yesterday"),
        sale(receipt="R3", pharmacy=""),
        sale(receipt="R4", code=""),
        sale(receipt="R5", qty="abc"),
        sale(receipt="R6", split="7"),
        sale(receipt="R7", qty="0"),
    ]
    f = write_csv(tmp_path / "s.csv", rows)
    [res] = ingest_files(db, [f])
    # a sale without a code (R4) is a record, not a broken row: an uncoded sale (未扫码, issue 13)
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (7, 2, 5)
    got = db.execute("SELECT src_line, field, reason, raw_value FROM rejects ORDER BY src_line").fetchall()
    assert [(g[0], g[1]) for g in got] == [(3, "sel_retn_time"), (4, "fixmedins_code"),
                                            (6, "sel_retn_cnt"), (7, "trdn_flag"), (8, "sel_retn_cnt")]
    assert db.execute("SELECT rtal_docno, code_status FROM events WHERE rtal_docno = 'R4'").fetchall() == [
        ("R4", "uncoded")]
    assert got[0][2].startswith("unreadable sale/return time") and got[0][3] == "yesterday"
    assert got[2][2].startswith("quantity is not a number")
    assert json.loads(db.execute("SELECT raw_record FROM rejects WHERE src_line = 3").fetchall()[0][0])["rtal_docno"] == "R2"
    accounting_holds(db)


def test_malformed_csv_rows_rejected_with_their_line(db, tmp_path):
    f = tmp_path / "s.csv"
    good = ",".join(sale())
    f.write_text(",".join(NHSA_HEADER) + "\n" + good + "\nP1,only,three\n" + good.replace("R1", "R2") + "\n", encoding="utf-8")
    [res] = ingest_files(db, [f])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (3, 2, 1)
    assert db.execute("SELECT src_line, field FROM rejects").fetchall() == [(3, "(record)")]
    assert [r[0] for r in db.execute("SELECT src_line FROM events ORDER BY src_line").fetchall()] == [2, 4]


def test_several_codes_in_one_cell_become_rows_with_truthful_quantities(db, tmp_path):
    f = write_csv(tmp_path / "s.csv", [sale(code=f"{CODE}，{CODE2}、81234567890123456781", qty="3"),
                                       sale(receipt="R2", code=f"{CODE} 81234567890123456782", qty="1")])
    [res] = ingest_files(db, [f])
    assert (res.rows_read, res.rows_stored, res.events) == (2, 2, 5)
    got = db.execute("SELECT rtal_docno, qty, sel_retn_cnt, codes_in_line FROM events ORDER BY event_id").fetchall()
    assert got[:3] == [("R1", 1.0, 3.0, 3)] * 3
    assert got[3:] == [("R2", 0.5, 1.0, 2)] * 2


def test_dirty_codes_are_normalised_and_raw_kept(db, tmp_path):
    full_width = CODE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    f = write_csv(tmp_path / "s.csv", [sale(code=f"'{CODE}"), sale(receipt="R2", code=full_width),
                                       sale(receipt="R3", code="8.12345678901235E+19")])
    ingest_files(db, [f])
    got = db.execute("SELECT drug_trac_codg, code_raw, code_status, invalid_reason FROM events ORDER BY src_line").fetchall()
    assert got[0][:3] == (CODE, f"'{CODE}", "valid")
    assert got[1][:3] == (CODE, full_width, "valid")
    assert got[2][2:] == ("invalid", "excel_scientific")


def test_xlsx_numbers_in_code_column_are_caught_and_dates_read(db, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["定点医药机构编号", "零售单据号", "追溯码", "销售/退货时间", "销售/退货数量", "拆零标志"])
    sheet.append(["P1", "R1", CODE, dt.datetime(2026, 1, 5, 9, 30), 1, 0])
    sheet.append(["P1", "R2", 81234567890123456789, dt.datetime(2026, 1, 5, 9, 31), 1, 0])
    sheet.append([None] * 6)
    book.save(tmp_path / "export.xlsx")
    [res] = ingest_files(db, [tmp_path / "export.xlsx"])
    assert (res.format, res.rows_read, res.rows_stored) == ("xlsx", 2, 2)
    got = db.execute("SELECT src_line, code_status, invalid_reason, sel_retn_time FROM events ORDER BY src_line").fetchall()
    assert got[0] == (2, "valid", None, dt.datetime(2026, 1, 5, 9, 30))
    assert got[1][:3] == (3, "invalid", "excel_scientific")


def _message(infno, receipt, codes, **extra):
    item = {"med_list_codg": "XA01", "rtal_docno": receipt, "sel_retn_cnt": len(codes),
            "sel_retn_time": "2026-01-05 10:00:00", "trdn_flag": "0", "setl_id": "S", "psn_no": "PSN",
            "drugtracinfo": [{"drug_trac_codg": c} for c in codes], **extra}
    return {"infno": infno, "msgid": "M1", "fixmedins_code": "P7", "input": {"selinfo": item}}


def test_nhsa_json_lines_and_arrays(db, tmp_path):
    lines = tmp_path / "msgs.jsonl"
    lines.write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in [
        _message("3505", "R1", [CODE, CODE2]), _message("3506", "R9", [CODE], medins_prod_sel_no="R1"),
        {"infno": "3505", "broken": True}]) + "\n{not json\n", encoding="utf-8")
    array = tmp_path / "msgs.json"
    array.write_text(json.dumps([_message("3505", "R3", ["81234567890123456781"])]), encoding="utf-8")
    first, second = ingest_files(db, [lines, array])
    assert (first.rows_read, first.rows_stored, first.rows_rejected, first.kind) == (4, 2, 2, "mixed")
    assert events(db, "kind, fixmedins_code, rtal_docno, drug_trac_codg, src_line") == [
        ("sale", "P7", "R1", CODE, 1), ("sale", "P7", "R1", CODE2, 1), ("return", "P7", "R9", CODE, 2),
        ("sale", "P7", "R3", "81234567890123456781", 1)]
    assert db.execute("SELECT src_line, field FROM rejects ORDER BY src_line").fetchall() == [(3, "input.selinfo"), (4, "(record)")]
    accounting_holds(db)


def test_parquet_canonical(db, tmp_path):
    table = pa.table({h: [v] for h, v in zip(NHSA_HEADER, sale())})
    pq.write_table(table, tmp_path / "s.parquet")
    [res] = ingest_files(db, [tmp_path / "s.parquet"])
    assert (res.format, res.rows_stored) == ("parquet", 1)
    assert events(db, "drug_trac_codg, src_line") == [(CODE, 1)]


def test_same_file_twice_adds_nothing_but_same_record_in_two_files_is_kept(db, tmp_path):
    a = write_csv(tmp_path / "a.csv", [sale()])
    b = write_csv(tmp_path / "b.csv", [sale(), sale(receipt="R2", code=CODE2)])
    results = ingest_files(db, [a, a, b])
    assert [r.status for r in results] == ["loaded", "skipped", "loaded"]
    assert "already loaded" in results[1].message
    assert db.execute("SELECT count(*) FROM events WHERE drug_trac_codg = ?", [CODE]).fetchall()[0] == (2,)
    again = ingest_files(db, [tmp_path / "a.csv"])
    assert again[0].status == "skipped"
    assert db.execute("SELECT count(*), count(DISTINCT file_id) FROM events").fetchall()[0] == (3, 2)


def test_kind_from_option_and_from_file_name(db, tmp_path):
    a = write_csv(tmp_path / "returns_jan.csv", [sale()])
    b = write_csv(tmp_path / "x.csv", [sale(receipt="R2")])
    c = write_csv(tmp_path / "y.csv", [sale(receipt="R3")])
    ingest_files(db, [a, b])
    ingest_files(db, [c], kind="return")
    assert [r[0] for r in db.execute("SELECT kind FROM events ORDER BY event_id").fetchall()] == ["return", "sale", "return"]


@pytest.mark.parametrize("name,kind", [
    ("purchases_2026-01.csv", "purchase"), ("purchase_returns_2026-01.csv", "purchase_return"),
    ("采购退货_1月.csv", "purchase_return"), ("采购明细.csv", "purchase"), ("purc_retn.csv", "purchase_return"),
    ("退货.csv", "return"), ("sales_2026-01.csv", "sale"),
])
def test_kind_from_a_purchase_file_name(db, tmp_path, name, kind):
    path = write_csv(tmp_path / name, [sale()])
    ingest_files(db, [path])
    assert db.execute("SELECT kind FROM events").fetchall() == [(kind,)]


@pytest.mark.parametrize("content,expected", [
    (b"", "empty"),
    (b"\x00\x01\x02\xff\xfe binary \x00\x00" * 100, "binary"),
])
def test_unreadable_files(db, tmp_path, content, expected):
    f = tmp_path / "x.csv"
    f.write_bytes(content)
    with pytest.raises(InputFileError, match=expected):
        ingest_files(db, [f])
    assert db.execute("SELECT count(*) FROM files").fetchall()[0] == (0,)


def test_unknown_extension_and_missing_file(db, tmp_path):
    (tmp_path / "x.doc").write_text("hello")
    with pytest.raises(InputFileError, match="unknown file type"):
        ingest_files(db, [tmp_path / "x.doc"])
    with pytest.raises(InputFileError, match="no such file"):
        ingest_files(db, [tmp_path / "nope.csv"])


def test_encoding_that_changes_mid_file_is_read_line_by_line(db, tmp_path):
    f = tmp_path / "s.csv"
    head = (",".join(NHSA_HEADER) + "\n").encode()
    good = (",".join(sale()) + "\n").encode("utf-8")
    f.write_bytes(head + good * 80_000 + ",".join(sale(receipt="G", name="仁和大药房")).encode("gbk") + b"\n")
    [res] = ingest_files(db, [f])
    assert (res.rows_stored, res.rows_rejected, res.encoding) == (80_001, 0, "utf-8+gb18030")
    assert db.execute("SELECT fixmedins_name FROM events WHERE rtal_docno = 'G'").fetchall() == [("仁和大药房",)]


def test_a_file_in_no_encoding_fails_cleanly(db, tmp_path):
    f = tmp_path / "s.csv"
    head = (",".join(NHSA_HEADER) + "\n").encode()
    good = (",".join(sale()) + "\n").encode("utf-16-le")
    f.write_bytes(head + good)
    with pytest.raises(InputFileError, match="s.csv"):
        ingest_files(db, [f])
    assert db.execute("SELECT count(*) FROM events").fetchall()[0] == (0,)
    assert db.execute("SELECT count(*) FROM files").fetchall()[0] == (0,)


def test_duckdb_gets_half_the_memory_limit_while_files_load_and_all_of_it_after(tmp_path):
    from tracecode.store.database import open_store

    con = open_store(tmp_path / "m.duckdb", memory_limit="4GB")
    during = []
    f = write_csv(tmp_path / "s.csv", [sale()])
    ingest_files(con, [f, write_csv(tmp_path / "t.csv", [sale(receipt="R2")])],
                 on_result=lambda _: during.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))
    after = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.close()
    assert during == ["1.8 GiB", "1.8 GiB"]  # 2GB
    assert after == "3.7 GiB"  # 4GB again, exactly as given (not DuckDB's rounded figure)


def test_the_limit_is_restored_when_a_file_fails(tmp_path):
    from tracecode.store.database import open_store

    con = open_store(tmp_path / "m.duckdb", memory_limit="1GB")
    with pytest.raises(InputFileError):
        ingest_files(con, [write_csv(tmp_path / "s.csv", [sale()]), tmp_path / "missing.csv"])
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == "953.6 MiB"
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 1
    con.close()


def test_a_connection_not_opened_as_a_store_keeps_its_limit(tmp_path):
    import duckdb

    from tracecode.store.database import ensure_schema

    con = duckdb.connect(str(tmp_path / "raw.duckdb"))
    con.execute("SET memory_limit = '3GB'")
    ensure_schema(con)
    seen = []
    ingest_files(con, [write_csv(tmp_path / "s.csv", [sale()])],
                 on_result=lambda _: seen.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]))
    assert seen == ["2.7 GiB"]
    con.close()


def test_loading_memory_nested_halves_once_and_the_outer_one_restores(tmp_path):
    from tracecode.store.database import open_store
    from tracecode.store.ingest import loading_memory

    con = open_store(tmp_path / "m.duckdb", memory_limit="4GB")

    def limit():
        return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]

    during = []
    with loading_memory(con):
        ingest_files(con, [write_csv(tmp_path / "s.csv", [sale()])], on_result=lambda _: during.append(limit()))
        still = limit()
    assert during == ["1.8 GiB"] and still == "1.8 GiB"  # the inner one neither halved again nor restored
    assert limit() == "3.7 GiB"
    con.close()
