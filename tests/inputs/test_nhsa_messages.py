"""NHSA 3505/3506 messages in the layouts real integrations send (issue #13, reading): one
fixture file per variant under fixtures/nhsa/, built from the public layouts (field names,
nesting and value types as HIS/POS integration code has them), each with its stored rows."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from tracecode.inputs.nhsa_json import china_time, record_columns, trace_codes
from tracecode.rules.runner import run_checks
from tracecode.store.ingest import ingest_files

FIXTURES = Path(__file__).parent / "fixtures" / "nhsa"
T = dt.datetime(2025, 6, 10, 10, 35)


def rows(con, columns="kind, fixmedins_code, rtal_docno, drug_trac_codg, price, sel_retn_time"):
    return con.execute(f"SELECT {columns} FROM events ORDER BY event_id").fetchall()


def accounted(res):
    assert res.rows_read == res.rows_stored + res.rows_rejected
    return res


def test_2025_layout(db):
    [res] = ingest_files(db, [FIXTURES / "3505_2025.jsonl"])
    assert (accounted(res).rows_read, res.rows_stored, res.kind) == (1, 1, "sale")
    assert rows(db, "fixmedins_code, rtal_docno, drug_trac_codg, price, sel_retn_cnt, qty, insured, psn_no") == [
        ("P33010000001", "RD202506100001", "81000010000000000801", 12.5, 1.0, 0.5, True, "33010000000000000001"),
        ("P33010000001", "RD202506100001", "81000010000000000802", 12.5, 1.0, 0.5, True, "33010000000000000001")]


def test_2021_layout_flat_code_iso_time(db):
    [res] = ingest_files(db, [FIXTURES / "3505_2021.jsonl"])
    assert accounted(res).rows_stored == 1
    assert rows(db, "drug_trac_codg, price, insured, sel_retn_time") == [
        ("81000010000000000803", 12.5, False, dt.datetime(2021, 6, 10, 10, 35))]


def test_drugtracinfo_forms_batches_and_times(db):
    [res] = ingest_files(db, [FIXTURES / "3505_variants.jsonl"])
    assert (accounted(res).rows_read, res.rows_rejected) == (6, 0)
    assert rows(db, "rtal_docno, drug_trac_codg, sel_retn_time, trdn_flag") == [
        ("R1", "81000010000000000811", T, 0),  # object; no space between date and time
        ("R2", "81000010000000000812", T, 0),  # JSON string; epoch milliseconds
        ("R3", "81000010000000000813", T, 0),  # flat code beside an empty list; UTC time
        ("R4", "81000010000000000814", T, 0),  # input as a JSON string; :ss.0
        ("R5", "81000010000000000815", T, 0),  # 3505A selinfoDetail[]; +08:00
        ("R6", "81000010000000000816", dt.datetime(2025, 6, 10), 1),  # date alone
    ]


def test_returns_without_receipt_are_stored_and_cancel_their_sales(db):
    results = ingest_files(db, [FIXTURES / "3505_variants.jsonl", FIXTURES / "3506_no_receipt.jsonl"])
    assert [accounted(r).rows_rejected for r in results] == [0, 0]
    assert rows(db, "kind, rtal_docno, medins_prod_sel_no, fixmedins_bchno, price")[-2:] == [
        ("return", "", None, "RB1", 12.5), ("return", "", None, "RB2", None)]
    run_checks(db, month=None)
    found = db.execute("SELECT rule, drug_trac_codg FROM findings ORDER BY 1, 2").fetchall()
    assert not [f for f in found if f[0] in ("return_without_sale", "duplicate_upload")]


def test_two_receiptless_returns_of_one_code_are_not_a_duplicate_upload(db, tmp_path):
    code = "81000010000000000841"

    def message(infno, **selinfo):
        base = {"sel_retn_cnt": "1", "trdn_flag": "0", "drugtracinfo": [{"drug_trac_codg": code}]}
        return json.dumps({"infno": infno, "fixmedins_code": "P1", "input": {"selinfo": {**base, **selinfo}}})

    path = tmp_path / "msgs.jsonl"
    path.write_text("\n".join([
        message("3505", rtal_docno="S1", sel_retn_time="2025-06-01 09:00:00"),
        message("3506", fixmedins_bchno="RB1", sel_retn_time="2025-06-02 09:00:00"),
        message("3505", rtal_docno="S2", sel_retn_time="2025-06-03 09:00:00"),
        message("3506", fixmedins_bchno="RB2", sel_retn_time="2025-06-04 09:00:00"),
        message("3506", fixmedins_bchno="RB2", sel_retn_time="2025-06-04 09:00:00"),  # the same return again
    ]) + "\n", encoding="utf-8")
    ingest_files(db, [path])
    run_checks(db, month=None)
    assert db.execute("SELECT rule, flagged_rows FROM findings ORDER BY rule").fetchall() == [("duplicate_upload", 1)]


def test_pretty_printed_messages_are_one_record_each(db):
    [res] = ingest_files(db, [FIXTURES / "pretty.json"])
    assert (accounted(res).rows_read, res.rows_stored, res.rows_rejected) == (3, 3, 0)
    assert [r[0] for r in rows(db, "rtal_docno, src_line")] == ["R9", "R10", "R11"]
    assert [r[1] for r in rows(db, "rtal_docno, src_line")] == [1, 19, 25]


def test_records_not_used_say_why_and_purchases_are_read(db):
    [res] = ingest_files(db, [FIXTURES / "unused.jsonl"])
    assert (accounted(res).rows_read, res.rows_stored, res.rows_rejected) == (4, 2, 2)
    reasons = [r[0] for r in db.execute("SELECT reason FROM rejects ORDER BY src_line").fetchall()]
    assert reasons == ["input is encrypted (SM4): decrypt before loading", "3501 inventory records are not used"]
    assert rows(db, "kind, drug_trac_codg, codes_in_line, sel_retn_cnt, price, rtal_docno, fixmedins_bchno") == [
        ("purchase", "81000010000000000831", 1, 10.0, 8.0, "", "PB1"),  # purcinfo as a JSON string
        ("sale", "81000010000000000832", 1, 1.0, None, "R12", None)]  # a null code is no code


def test_records_without_a_code_are_uncoded_sales_not_rejects(db, tmp_path):
    path = tmp_path / "msgs.jsonl"
    sale = {"rtal_docno": "R1", "med_list_codg": "T0001", "sel_retn_cnt": "2", "sel_retn_time": "2025-06-10 10:35:00",
            "trdn_flag": "0", "finl_trns_pric": "3.5"}
    path.write_text("\n".join(json.dumps({"infno": "3505", "fixmedins_code": "P1", "input": {"selinfo": s}}) for s in [
        {**sale, "drugtracinfo": []}, {**sale, "rtal_docno": "R2"}, {**sale, "rtal_docno": "R3", "drug_trac_codg": ""},
    ]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (accounted(res).rows_read, res.rows_stored, res.rows_rejected) == (3, 3, 0)
    assert rows(db, "rtal_docno, code_status, drug_trac_codg, code_key, qty, price") == [
        ("R1", "uncoded", "", 0, 2.0, 3.5), ("R2", "uncoded", "", 0, 2.0, 3.5), ("R3", "uncoded", "", 0, 2.0, 3.5)]


def test_purchase_csv_with_kind(db, tmp_path):
    path = tmp_path / "purchases.csv"
    path.write_text("定点医药机构编号,定点医药机构批次流水号,医疗目录编码,采购/退货数量,采购/退货入库时间,追溯码\n"
                    "P1,PB1,XA01,1,2025-06-01 09:00:00,81000010000000000851\n", encoding="utf-8")
    [res] = ingest_files(db, [path], kind="purchase")
    assert (accounted(res).rows_stored, res.kind) == (1, "purchase")
    assert rows(db, "kind, rtal_docno, fixmedins_bchno") == [("purchase", "", "PB1")]


def test_gbk_messages(db, tmp_path):
    path = tmp_path / "gbk.jsonl"
    shutil.copy(FIXTURES / "3505_2025.jsonl", path)
    path.write_bytes((FIXTURES / "3505_2025.jsonl").read_text(encoding="utf-8").encode("gbk"))
    [res] = ingest_files(db, [path])
    assert accounted(res).rows_stored == 1
    assert db.execute("SELECT DISTINCT fixmedins_name, fixmedins_hilist_name FROM events").fetchall() == [
        ("益民大药房", "阿莫西林胶囊")]


@pytest.mark.parametrize("value, expected", [
    ("2025-06-10 10:35:00", "2025-06-10 10:35:00"),
    ("2025-06-1010:35:00", "2025-06-10 10:35:00"),
    (1749522900000, "2025-06-10 10:35:00"),
    ("1749522900000", "2025-06-10 10:35:00"),
    ("2025-06-10T02:35:00Z", "2025-06-10 10:35:00"),
    ("2025-06-10T04:35:00+02:00", "2025-06-10 10:35:00"),
    ("2025-06-10T10:35:00", "2025-06-10T10:35:00"),  # no offset: read as written, by the SQL
    ("20250610103500", "20250610103500"),
])
def test_china_time(value, expected):
    assert china_time(value) == expected


@pytest.mark.parametrize("value, expected", [
    (None, None), ([], None), ("", None), ({"drug_trac_codg": "81"}, ["81"]), ("[{\"drug_trac_codg\":\"81\"}]", ["81"]),
    ([{"drug_trac_codg": "81"}, "82"], ["81", "82"]), ([{"drug_trac_codg": None}], None),
])
def test_trace_codes(value, expected):
    assert trace_codes(value) == expected


def test_record_columns_header_then_record_first_name_wins():
    """The record's field overrides the header's; of two spellings of one column the first in
    header-then-record order wins, and the time is converted from that one. The cache of field
    names read across records gives the same columns as no cache."""
    header = {"infno": "3505", "fixmedins_code": "H1", "定点医药机构编号": "H2", "inf_time": "2025-06-10 10:00:00",
              "input": {"selinfo": []}}
    first = {"fixmedins_code": "R1", "sel_retn_time": 1749522900000, "销售/退货时间": "2020-01-01 00:00:00",
             "drugtracinfo": [{"drug_trac_codg": "81000010000000000801"}]}
    second = {"fixmedins_code": {"nested": "x"}, "sel_retn_time": "2025-06-10T02:35:00Z",
              "drugtracinfo": "81000010000000000802"}
    names: dict = {}
    got = [record_columns(header, item, None, names) for item in (first, second)]
    assert got == [record_columns(header, item, None) for item in (first, second)]
    assert got[0]["fixmedins_code"] == "R1"  # the record's own value, in the header's place
    assert got[1]["fixmedins_code"] == "H1"  # an object is no value: the header's stands
    assert got[0]["sel_retn_time"] == got[1]["sel_retn_time"] == "2025-06-10 10:35:00"
    assert (got[0]["drug_trac_codg"], got[1]["drug_trac_codg"]) == ("81000010000000000801", "81000010000000000802")
    assert names["定点医药机构编号"] == "fixmedins_code"
