"""Synthetic data generator: formats, determinism, truth consistency, the reference judge.

The files are checked with independent readers (csv, openpyxl, json, pyarrow, duckdb),
never with tracecode's own ingest.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import openpyxl
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tracecode.inputs.columns import CANONICAL_COLUMNS, LABELS_ZH
from tracecode.synth import (
    GS1_STYLES,
    RULE_IDS,
    STYLES,
    TEMPLATES,
    OracleEvent,
    _World,
    excel_display,
    generate,
    parse_count,
    reference_findings,
)

ROWS = 3000
RULES_MD = Path(__file__).resolve().parents[1] / "docs" / "RULES.md"
ZH_TO_CANON = {v: k for k, v in LABELS_ZH.items()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("synth") / "s"
    summary = generate(out, ROWS, months=2, seed=0)  # verify=True: re-judged row by row
    return out, summary


def read_csv_rows(path: Path, encoding: str) -> tuple[list[str], list[dict]]:
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [dict(zip(header, r)) for r in reader]
    return header, rows


def canonical(row: dict) -> dict:
    return {ZH_TO_CANON.get(k, k): v for k, v in row.items()}


def json_messages(path: Path) -> list[tuple[int, dict]]:
    """(line where it starts, message) of every message in the file: one per line or pretty-printed."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        msg, end = decoder.raw_decode(text, pos)
        out.append((text.count("\n", 0, pos) + 1, msg))
        pos = end


def message_items(msg: dict) -> list[dict]:
    body = json.loads(msg["input"]) if isinstance(msg["input"], str) else msg["input"]
    for key in ("selinfo", "selinfoDetail", "purcinfo", "data"):
        if key in body:
            items = json.loads(body[key]) if isinstance(body[key], str) else body[key]
            return items if isinstance(items, list) else [items]
    raise AssertionError(f"no records in {msg}")


def item_codes(item: dict) -> list[str]:
    """The codes of a record: drugtracinfo as a list, one object or absent; a flat code."""
    info = item.get("drugtracinfo")
    if isinstance(info, dict):
        info = [info]
    if info:
        return [c["drug_trac_codg"] for c in info]
    return [item["drug_trac_codg"]] if item.get("drug_trac_codg") else []


def all_records(out: Path) -> dict[str, list[dict]]:
    """Every upload record, canonical names, values as text, read with plain tools; JSON
    records carry the line their message starts on (``__line``) and their codes (``codes``)."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    records: dict[str, list[dict]] = {}
    for meta in manifest["files"]:
        path = out / meta["name"]
        if meta["format"] == "csv":
            _, rows = read_csv_rows(path, meta["encoding"])
            recs = [canonical(r) for r in rows]
            if meta["kind"].startswith("purchase"):
                for r in recs:
                    r["codes"] = r.pop("drug_trac_codg").split(",")
            records[meta["name"]] = recs
        elif meta["format"] == "parquet":
            records[meta["name"]] = pq.read_table(path).to_pylist()
        elif meta["format"] == "xlsx":
            sheet = openpyxl.load_workbook(path).active
            rows = list(sheet.iter_rows(values_only=True))
            header = [ZH_TO_CANON[h] for h in rows[0]]
            recs = []
            for r in rows[1:]:
                rec = dict(zip(header, r))
                code = rec["drug_trac_codg"]
                rec["drug_trac_codg"] = excel_display(str(int(code))) if isinstance(code, float) else code
                recs.append(rec)
            records[meta["name"]] = recs
        else:
            recs = []
            for line, msg in json_messages(path):
                for item in message_items(msg):
                    rec = dict(item, __line=line, __infno=msg["infno"], codes=item_codes(item))
                    rec["fixmedins_code"] = msg.get("fixmedins_code", item.get("fixmedins_code"))
                    recs.append(rec)
            records[meta["name"]] = recs
    return records


def code_cells(records: dict[str, list[dict]], purchases: bool = False) -> list[str]:
    """The code cells of the sale and return records (or of the purchase records)."""
    cells = []
    for name, recs in records.items():
        if name.startswith("purchase") != purchases:
            continue
        for r in recs:
            cells += r["codes"] if "codes" in r else re.split("[,；、]", str(r["drug_trac_codg"] or ""))
    return [c for c in cells if c]


def clean(cell: str) -> str:
    """A deliberately small independent cleaner: NFKC, no whitespace/quotes/GS/parentheses."""
    s = unicodedata.normalize("NFKC", cell).strip().lstrip("'")
    return re.sub(r"[\s()\x1d]", "", s)


# ------------------------------------------------------------------------------- basics


def test_parse_count():
    assert parse_count("10M") == 10_000_000
    assert parse_count("100k") == 100_000
    assert parse_count("1.5m") == 1_500_000
    assert parse_count("2_000") == 2000
    assert parse_count(" 250000 ") == 250_000
    assert parse_count(42) == 42
    for bad in ("ten", "1.5", "-3", "10X"):
        with pytest.raises(ValueError):
            parse_count(bad)


def test_too_few_rows_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="too small"):
        generate(tmp_path / "x", 300, months=2)


def test_same_seed_same_bytes(sample, tmp_path):
    out, _ = sample
    again = tmp_path / "again"
    generate(again, ROWS, months=2, seed=0, verify=False)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path / "other"
    generate(other, ROWS, months=2, seed=1, verify=False)
    assert (other / "sales_2026-01.csv").read_bytes() != (out / "sales_2026-01.csv").read_bytes()


def test_every_format_file_present(sample):
    out, summary = sample
    for m in ("2026-01", "2026-02"):
        for name in (f"sales_{m}.csv", f"sales_{m}_zh_bom.csv", f"sales_{m}_zh_gbk.csv", f"sales_{m}.xlsx",
                     f"sales_{m}.jsonl", f"sales_{m}_2021.json", f"sales_{m}.parquet", f"returns_{m}.csv",
                     f"returns_{m}.jsonl", f"purchases_{m}.jsonl", f"deletes_{m}.jsonl"):
            assert (out / name).stat().st_size > 0, name
            assert summary.rows_per_file[name] > 0, name
    for name in ("catalog.csv", "truth.csv", "truth_cases.csv", "truth_people.csv", "truth_rings.csv",
                 "expected_rejects.csv", "manifest.json"):
        assert (out / name).exists(), name
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert {m["format"] for m in files} == {"csv", "xlsx", "json", "parquet"}
    assert {m["kind"] for m in files} == {"sale", "return", "purchase", "delete"}


def test_manifest_rows_add_up_and_match_the_files(sample):
    out, summary = sample
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    sales_returns = sum(m["rows"] for m in manifest["files"] if m["kind"] in ("sale", "return"))
    assert sales_returns == manifest["rows"] == summary.rows == ROWS  # rows asked = sale and return records
    others = sum(m["rows"] for m in manifest["files"] if m["kind"] not in ("sale", "return"))
    assert others == manifest["purchase_and_delete_rows"] == summary.other_rows > 0
    records = all_records(out)
    for meta in manifest["files"]:
        assert len(records[meta["name"]]) == meta["rows"], meta["name"]


def test_canonical_csv_reads_with_duckdb_and_pyarrow(sample):
    out, summary = sample
    path = out / "sales_2026-01.csv"
    con = duckdb.connect()
    n, codes = con.execute(f"SELECT count(*), count(drug_trac_codg) FROM read_csv('{path}', all_varchar=true)").fetchone()
    header = pacsv.read_csv(path).column_names
    assert header == [c for c in CANONICAL_COLUMNS if c != "medins_prod_sel_no"]
    assert n == summary.rows_per_file[path.name]
    # the only rows without a code are planted uncoded sales (or decoction pieces)
    truth = {r["drug_trac_codg"] for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8"))}
    bare = con.execute(f"SELECT fixmedins_code, med_list_codg FROM read_csv('{path}', all_varchar=true) "
                       "WHERE drug_trac_codg IS NULL").fetchall()
    assert len(bare) == n - codes
    assert all(m.startswith("T") or f"uncoded:{p}:{m}" in truth for p, m in bare)
    ret = pacsv.read_csv(out / "returns_2026-01.csv").column_names
    assert "medins_prod_sel_no" in ret


def test_gbk_file_is_gbk_not_utf8(sample):
    out, _ = sample
    raw = (out / "sales_2026-01_zh_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert b"\r\n" in raw
    header = text.splitlines()[0].split(",")
    assert header[0] == LABELS_ZH["fixmedins_code"] and LABELS_ZH["drug_trac_codg"] in header
    _, rows = read_csv_rows(out / "sales_2026-01_zh_gbk.csv", "gbk")
    times = [r[LABELS_ZH["sel_retn_time"]] for r in rows]
    good = [t for t in times if re.fullmatch(r"2026/1/\d{1,2} \d{1,2}:\d{2}", t)]
    assert len(good) >= len(times) - 3 and any(re.fullmatch(r"2026/1/\d \d:\d\d", t) for t in times)


def test_bom_csv_has_chinese_headers(sample):
    out, _ = sample
    raw = (out / "sales_2026-02_zh_bom.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == [LABELS_ZH[c] for c in CANONICAL_COLUMNS if c != "medins_prod_sel_no"]


def test_xlsx_has_datetimes_and_numeric_codes(sample):
    out, _ = sample
    sheet = openpyxl.load_workbook(out / "sales_2026-01.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert LABELS_ZH["sel_retn_time"] in header
    t = header.index(LABELS_ZH["sel_retn_time"])
    c = header.index(LABELS_ZH["drug_trac_codg"])
    assert sum(isinstance(r[t], dt.datetime) for r in rows[1:]) >= len(rows) - 4
    numbers = [r[c] for r in rows[1:] if isinstance(r[c], float)]
    assert numbers
    truth = {r["drug_trac_codg"] for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8"))
             if r["rule"] == "invalid_code"}
    for x in numbers:
        assert "%.15G" % x in truth and "E+19" in "%.15G" % x


def test_json_2025_layout(sample):
    """3505/3506 as 2025 integrations send them: ~39 fields, finl_trns_pric, drugtracinfo
    (a list; one object; empty or absent without a code), the pharmacy code sometimes only in
    the header, receipts of several lines as 3505A batches, 3506 without rtal_docno."""
    out, _ = sample
    multi = batches = header_only = as_object = 0
    for name, infno in (("sales_2026-01.jsonl", "3505"), ("returns_2026-02.jsonl", "3506")):
        for line, msg in json_messages(out / name):
            assert msg["msgid"] and msg["inf_time"] and "sign_no" in msg
            items = message_items(msg)
            if msg["infno"] == "3505A":
                assert infno == "3505" and len(items) >= 2 and list(msg["input"]) == ["selinfoDetail"]
                assert len({i["rtal_docno"] for i in items}) == 1
                batches += 1
            else:
                assert msg["infno"] == infno and list(msg["input"]) == ["selinfo"]
            for sel in items:
                assert "finl_trns_pric" in sel and "price" not in sel and isinstance(sel["finl_trns_pric"], float)
                assert len(sel) >= 35
                if "fixmedins_code" in msg:  # a planted reject lacks it
                    assert msg["fixmedins_code"].startswith("P")
                    assert sel.get("fixmedins_code", msg["fixmedins_code"]) == msg["fixmedins_code"]
                    header_only += "fixmedins_code" not in sel
                if isinstance(sel.get("drugtracinfo"), dict):
                    as_object += 1
                codes = item_codes(sel)
                if len(codes) > 1:
                    multi += 1
                    assert float(sel["sel_retn_cnt"]) == len(codes) and sel["trdn_flag"] == "0"
                if infno == "3506":
                    assert "rtal_docno" not in sel and codes
                    assert sel["medins_prod_sel_no"] == "" or sel["medins_prod_sel_no"].startswith("XS")
    assert multi >= 2 and batches >= 2 and header_only >= 2 and as_object >= 1


def test_json_2021_layout_and_pretty_printed_messages(sample):
    out, _ = sample
    path = out / "sales_2026-01_2021.json"
    messages = json_messages(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    pretty = [line for line, _ in messages if lines[line - 1] == "{"]
    assert len(pretty) >= 3 and len(lines) > len(messages)
    for line, msg in messages:
        assert msg["infno"] == "3505" and "T" in msg["inf_time"]
        sel = msg["input"]["selinfo"]
        assert "drugtracinfo" not in sel and "fixmedins_code" not in sel
        assert all(isinstance(v, str) for v in sel.values()), sel
        if sel["sel_retn_time"].startswith("2026-01"):  # else a planted bad time
            assert re.fullmatch(r"2026-01-\d\dT\d\d:\d\d:\d\d", sel["sel_retn_time"])
        assert len(sel["drug_trac_codg"].split(",")) == 1


def test_purchase_messages(sample):
    out, _ = sample
    kinds = Counter()
    as_string = 0
    deliveries = 0
    for line, msg in json_messages(out / "purchases_2026-01.jsonl"):
        kinds[msg["infno"]] += 1
        as_string += isinstance(msg["input"]["purcinfo"], str)
        items = message_items(msg)
        deliveries += len(items) > 1
        assert len({purc["purc_retn_stoin_time"] for purc in items}) == 1
        for purc in items:
            assert msg["fixmedins_code"].startswith("P") and "fixmedins_code" not in purc
            assert purc["purc_retn_cnt"] == len(item_codes(purc)) >= 1
            assert re.fullmatch(r"2026-01-\d\d \d\d:\d\d:\d\d", purc["purc_retn_stoin_time"])
    assert kinds["3503"] > kinds["3504"] >= 1 and set(kinds) == {"3503", "3504"} and as_string >= 1
    assert deliveries >= 2


def serial(code: str) -> str:
    """A pack's identity whatever its spelling: the end of a 20-digit code, a GS1 serial (AI 21, last)."""
    return clean(code)[-10:]


def test_pharmacies_with_purchase_data_bought_what_they_sold(sample):
    """Only some pharmacies have purchase data; they bought every pack they sold except in the
    planted sale_without_purchase cases; the others bought nothing."""
    out, _ = sample
    records = all_records(out)
    bought: dict[str, set] = {}
    for name, recs in records.items():
        if name.startswith("purchases"):
            for r in recs:
                if r["__infno"] == "3503":
                    bought.setdefault(r["fixmedins_code"], set()).update(serial(c) for c in r["codes"])
    pharmacies = {r["fixmedins_code"] for recs in records.values() for r in recs if r.get("fixmedins_code")}
    assert 2 <= len(bought) <= len(pharmacies) / 3
    unbought = {r["drug_trac_codg"] for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8"))
                if r["rule"] == "sale_without_purchase"}
    planted = {r["drug_trac_codg"] for r in csv.DictReader(open(out / "truth_cases.csv", encoding="utf-8"))
               if r["template"].startswith(("sale_", "benign_bought", "benign_month2_bought", "benign_purchase"))}
    assert unbought and unbought <= planted
    sold_unbought = set()
    for name, recs in records.items():
        if name.startswith("sales"):
            for r in recs:
                cells = r["codes"] if "codes" in r else re.split("[,；、]", str(r["drug_trac_codg"] or ""))
                if r.get("fixmedins_code") in bought:
                    sold_unbought |= {serial(c) for c in cells if c and serial(c) not in bought[r["fixmedins_code"]]}
    # GS1 packs are sold in any spelling and bought in the plain element string: compare serials.
    # Bought but flagged: returned to the supplier before the sale, or bought after it.
    later = {serial(r["drug_trac_codg"]) for r in csv.DictReader(open(out / "truth_cases.csv", encoding="utf-8"))
             if r["template"] in ("sale_after_purchase_return", "sale_before_purchase")}
    flagged = {serial(c) for c in unbought}
    assert sold_unbought <= flagged and flagged - sold_unbought <= later and flagged & later


def test_uncoded_sales_and_decoction_pieces(sample):
    out, _ = sample
    records = all_records(out)
    uncoded = Counter()
    for name, recs in records.items():
        for r in recs:
            cell = r["codes"] if "codes" in r else r["drug_trac_codg"]
            if name.startswith("sales") and not cell:
                uncoded[(r["fixmedins_code"], r["med_list_codg"][0])] += 1
    classes = {k for _, k in uncoded}
    assert "T" in classes and classes & {"X", "Z"}
    truth = {r["drug_trac_codg"] for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8"))
             if r["rule"] == "uncoded_sale"}
    assert truth and all(re.fullmatch(r"uncoded:P\d+:[XZ]\w+", t) for t in truth)
    assert {t.split(":")[1] for t in truth} == {p for p, k in uncoded if k != "T"}
    catalog = {r["med_list_codg"] for r in csv.DictReader(open(out / "catalog.csv", encoding="utf-8"))}
    assert not any(m.startswith("T") for m in catalog)


def test_deletes_name_uploaded_records_or_none(sample):
    """3507 messages (``input.data``: the batch number of the withdrawn record, kind 4) sent in
    the month of the record they withdraw: a duplicate upload, a wrong upload that was then
    uploaded again correctly, one of three copies — and one naming a record never uploaded."""
    out, _ = sample
    records = all_records(out)
    uploads: Counter = Counter()
    for name, recs in records.items():
        if name.startswith("sales"):
            for r in recs:
                uploads[(r["fixmedins_code"], r["fixmedins_bchno"], name[6:13])] += 1
    named = Counter()
    as_string = 0
    for month in ("2026-01", "2026-02"):
        for line, msg in json_messages(out / f"deletes_{month}.jsonl"):
            assert msg["infno"] == "3507" and msg["inf_time"].startswith(month)
            as_string += isinstance(msg["input"], str)
            data = (json.loads(msg["input"]) if isinstance(msg["input"], str) else msg["input"])["data"]
            assert set(data) == {"fixmedins_bchno", "inv_data_type"} and data["inv_data_type"] == "4"
            named[uploads[(msg["fixmedins_code"], data["fixmedins_bchno"], month)]] += 1
    # never uploaded (0); a duplicate or a corrected record (2 uploads); one of three copies (3)
    assert set(named) == {0, 2, 3} and as_string >= 1


def test_returns_without_receipt(sample):
    """3506 records naming no receipt (medins_prod_sel_no "") in CSV and JSON, both benign and
    return_without_sale."""
    out, _ = sample
    records = all_records(out)
    bare = [r for name, recs in records.items() if name.startswith("returns") for r in recs
            if not r.get("rtal_docno") and not r.get("medins_prod_sel_no")]
    assert {r["fixmedins_bchno"][:2] for r in bare} == {"LS"} and len(bare) >= 4
    cases = {r["drug_trac_codg"]: r["template"] for r in csv.DictReader(open(out / "truth_cases.csv", encoding="utf-8"))}
    templates = {cases.get(clean(c)) for r in bare for c in (r["codes"] if "codes" in r else [r["drug_trac_codg"]])}
    assert {"benign_return_no_receipt", "return_no_receipt_without_sale"} <= templates


def test_parquet_is_all_strings_with_canonical_names(sample):
    out, _ = sample
    table = pq.read_table(out / "sales_2026-02.parquet")
    assert table.column_names == [c for c in CANONICAL_COLUMNS if c != "medins_prod_sel_no"]
    assert all(str(f.type) == "string" for f in table.schema)


def test_multi_code_cells_count_matches(sample):
    out, _ = sample
    seen = Counter()
    for meta in json.loads((out / "manifest.json").read_text())["files"]:
        if meta["format"] != "csv":
            continue
        _, rows = read_csv_rows(out / meta["name"], meta["encoding"])
        for r in map(canonical, rows):
            for sep in (",", "；", "、"):
                if sep in r["drug_trac_codg"]:
                    seen[sep] += 1
                    assert r["sel_retn_cnt"] == str(len(r["drug_trac_codg"].split(sep)))
    assert sum(seen.values()) >= 2


def test_expected_rejects_point_at_bad_fields(sample):
    out, _ = sample
    rejects = list(csv.DictReader(open(out / "expected_rejects.csv", encoding="utf-8")))
    assert len(rejects) >= 3 and {r["field"] for r in rejects} == {"sel_retn_time", "fixmedins_code", "sel_retn_cnt"}
    records = all_records(out)
    assert {r["file"] for r in rejects} & {"sales_2026-01_2021.json", "sales_2026-02_2021.json"}
    for r in rejects:
        if r["file"].endswith((".json", ".jsonl")):
            [rec] = [x for x in records[r["file"]] if x["__line"] == int(r["line"])]
        else:
            rec = records[r["file"]][int(r["line"]) - (1 if r["file"].endswith(".parquet") else 2)]
        value = rec.get(r["field"])
        if r["field"] == "fixmedins_code":
            assert not value
        elif r["field"] == "sel_retn_cnt":
            assert value == "abc"
        else:
            good = r"2026-0[12]-[0-3]\d [01]\d:\d\d:\d\d|2026-0[12]-[0-3]\dT[01]\d:\d\d:\d\d|2026/[12]/\d+ 1?\d:[0-5]\d"
            assert isinstance(value, str) and not re.fullmatch(good, value), value


# -------------------------------------------------------------------------------- truth


def rule_ids_of_rules_md() -> set[str]:
    text = RULES_MD.read_text(encoding="utf-8")
    return set(re.findall(r"^\d+\. ([a-z_]+) —", text, flags=re.M))


def test_truth_has_every_rule_in_every_month(sample):
    out, summary = sample
    assert rule_ids_of_rules_md() == set(RULE_IDS)
    truth = list(csv.DictReader(open(out / "truth.csv", encoding="utf-8")))
    assert list(truth[0]) == ["rule", "drug_trac_codg", "month"]
    present = {(r["rule"], r["month"]) for r in truth}
    for month in ("2026-01", "2026-02"):
        for rule in RULE_IDS:
            assert (rule, month) in present, (rule, month)
    assert len(truth) == len({tuple(r.values()) for r in truth})
    assert summary.cases_per_rule == dict(Counter(r["rule"] for r in truth)) | {
        k: 0 for k in RULE_IDS if k not in Counter(r["rule"] for r in truth)}


def test_truth_codes_are_in_the_files(sample):
    out, _ = sample
    records = all_records(out)
    cells = code_cells(records)
    raw = set(cells)
    cleaned = {clean(c) for c in cells}
    catalog = {r["code_prefix"] for r in csv.DictReader(open(out / "catalog.csv", encoding="utf-8"))}
    uncoded = {f"uncoded:{r['fixmedins_code']}:{r['med_list_codg']}" for name, recs in records.items()
               if name.startswith("sales") for r in recs
               if not (r["codes"] if "codes" in r else r["drug_trac_codg"])}
    for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8")):
        code = r["drug_trac_codg"]
        if r["rule"] == "uncoded_sale":
            assert code in uncoded, code
        elif r["rule"] == "invalid_code":
            assert code in raw, code
        elif code.startswith("01"):
            gtin, serial = code[2:16], code[18:]
            assert code[16:18] == "21" and gtin in catalog
            assert any(gtin in c and c.endswith(serial) for c in cleaned), code
        else:
            assert re.fullmatch(r"8\d{19}", code) and code[:7] in catalog
            assert code in cleaned, code


def test_background_codes_are_unique(sample):
    """Only planted codes repeat: a benign row can trip no rule."""
    out, _ = sample
    planted = {r["drug_trac_codg"] for r in csv.DictReader(open(out / "truth_cases.csv", encoding="utf-8"))}
    counts = Counter(clean(c) for c in code_cells(all_records(out)))
    repeated = {c for c, n in counts.items() if n > 1}
    # GS1 spellings clean to 01+gtin+17..., not the canonical form: compare by serial end
    for c in repeated:
        assert c in planted or any(c.endswith(p[18:]) for p in planted if p.startswith("01")), c
    bought = Counter(code_cells(all_records(out), purchases=True))
    # a pack in two purchase records: a planted purchase and its return to the supplier
    assert bought and all(c in planted for c, n in bought.items() if n > 1) and max(bought.values()) == 2


def test_people_and_rings(sample):
    out, _ = sample
    people = list(csv.DictReader(open(out / "truth_people.csv", encoding="utf-8")))
    rings = list(csv.DictReader(open(out / "truth_rings.csv", encoding="utf-8")))
    assert people and all(re.fullmatch(r"\d{16,20}", p["psn_no"]) and p["packs"] == "12" for p in people)
    assert rings and Counter(r["role"] for r in rings)["sink"] == len({r["ring_id"] for r in rings})
    records = all_records(out)
    bought = [r for recs in records.values() for r in recs if r.get("psn_no") == people[0]["psn_no"]]
    assert len(bought) == 12


def test_templates_cover_every_rule():
    """Every rule has a planted case, and the benign look-alikes exist."""
    names = {t.name for t in TEMPLATES}
    for needed in ("benign_split_within_units", "benign_sale_return_resale", "benign_cash_sale_return",
                   "benign_fullwidth", "benign_apostrophe", "benign_gs1_parentheses", "benign_gs1_gs",
                   "benign_gs1_no_gs", "month2_cross", "dup_csv_and_jsonl", "invalid_excel_number",
                   "sale_never_bought", "sale_bought_elsewhere", "benign_bought_then_sold",
                   "benign_purchase_return_no_sale", "uncoded_sale", "benign_decoction_uncoded",
                   "benign_return_no_receipt", "return_no_receipt_without_sale"):
        assert needed in names


def test_scalar_and_vector_code_spellings_agree():
    w = _World.build(np.random.default_rng(3), "2026-01", 1, 20, 4000)
    ids = np.arange(1000, 1040, dtype=np.int64)
    gs1 = np.nonzero(w.d_gs1)[0]
    nhsa = np.nonzero(~w.d_gs1)[0]
    for style in sorted(set(STYLES.values())):
        pool = gs1 if (style in GS1_STYLES or style == STYLES["gs1_bad_check"]) else nhsa
        drugs = pool[ids % len(pool)]
        batch = ids % 3
        styles = np.full(len(ids), style, np.int8)
        vec = w.code_texts(ids, drugs, styles, batch).to_pylist()
        assert vec == [w.code_text(int(i), int(d), style, int(b)) for i, d, b in zip(ids, drugs, batch)]
    for gtin in (w.d_prefix[i] for i in gs1):
        total = sum(int(c) * (3 if k % 2 == 0 else 1) for k, c in enumerate(gtin[:13]))
        assert int(gtin[13]) == (10 - total % 10) % 10


# ------------------------------------------------------------------ formats="csv" (bench)


def test_csv_mode_is_fast_and_writes_only_csv(tmp_path):
    out = tmp_path / "bench"
    t0 = time.perf_counter()
    summary = generate(out, 200_000, months=2, seed=5, formats="csv", verify=True)
    assert time.perf_counter() - t0 < 15
    uploads = sorted(p.name for p in out.iterdir() if p.name.startswith(("sales_", "returns_", "purchase", "deletes_")))
    assert uploads == ["deletes_2026-01.csv", "deletes_2026-02.csv", "purchase_returns_2026-01.csv",
                       "purchase_returns_2026-02.csv", "purchases_2026-01.csv", "purchases_2026-02.csv",
                       "returns_2026-01.csv", "returns_2026-02.csv", "sales_2026-01.csv", "sales_2026-02.csv"]
    assert not list(out.glob("*.xlsx")) + list(out.glob("*.jsonl")) + list(out.glob("*.parquet"))
    con = duckdb.connect()
    total = Counter()
    for name in uploads:
        n = con.execute(f"SELECT count(*) FROM read_csv('{out / name}', all_varchar=true)").fetchone()[0]
        assert n == summary.rows_per_file[name]
        total[name.startswith(("sales_", "returns_"))] += n
    assert total[True] == summary.rows == 200_000  # --rows: the sale and return records, as the bench reads them
    assert total[False] == summary.other_rows > 0
    assert 0.01 < summary.injected_rows / summary.rows < 0.06
    truth = {(r["rule"], r["month"]) for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8"))}
    assert truth == {(r, m) for r in RULE_IDS for m in ("2026-01", "2026-02")}
    purchases = pacsv.read_csv(out / "purchases_2026-01.csv", read_options=pacsv.ReadOptions(column_names=None))
    assert {"purc_retn_cnt", "purc_retn_stoin_time", "drug_trac_codg"} <= set(purchases.column_names)
    assert "rtal_docno" not in purchases.column_names
    # sales are in time order, within opening hours
    times = con.execute(f"SELECT sel_retn_time FROM read_csv('{out / 'sales_2026-01.csv'}', all_varchar=true)").fetchall()
    times = [t for (t,) in times]
    assert times == sorted(times) and all("08:00:00" <= t[11:] < "22:00:00" for t in times)


def test_nhsa_json_mode_writes_only_messages(tmp_path):
    """--formats nhsa-json: every upload as NHSA messages (both eras, purchases), re-judged row
    by row (verify), with planted rejects."""
    out = tmp_path / "json"
    summary = generate(out, 3000, months=2, seed=2, formats="nhsa-json")
    uploads = sorted(p.name for p in out.iterdir() if p.name.startswith(("sales_", "returns_", "purchase", "deletes_")))
    assert uploads == ["deletes_2026-01.jsonl", "deletes_2026-02.jsonl", "purchases_2026-01.jsonl", "purchases_2026-02.jsonl", "returns_2026-01.jsonl",
                       "returns_2026-02.jsonl", "sales_2026-01.jsonl", "sales_2026-01_2021.json",
                       "sales_2026-02.jsonl", "sales_2026-02_2021.json"]
    assert summary.rows == 3000 and summary.formats == "nhsa-json"
    records = all_records(out)
    assert sum(len(r) for name, r in records.items() if name.startswith(("sales", "returns"))) == 3000
    assert (out / "expected_rejects.csv").read_text().count("\n") > 3
    truth = {r["rule"] for r in csv.DictReader(open(out / "truth.csv", encoding="utf-8"))}
    assert truth == set(RULE_IDS)


# ------------------------------------------------------------------ the reference judge


def ev(eid, code="C", ph="A", kind="S", doc=None, ts=0, month=0, trdn=0, qty=1.0, ins=False, med="D", product="D",
       valid=True, must_code=True):
    return OracleEvent(eid=eid, key=code, valid=valid, kind=kind, ph=ph, doc=doc or f"R{eid}", ts=ts, month=month,
                       trdn=trdn, qty=qty, insured=ins, med=med, product=product, must_code=must_code)


def judge(events, units=None, months=(0,)):
    return sorted((r, m) for r, _, m in reference_findings(events, {"D": 10} if units is None else units, months))


def test_judge_duplicates_collapse_before_other_rules():
    events = [ev(1, doc="X", ins=True), ev(2, doc="X", ins=True, ts=5)]
    assert judge(events) == [("duplicate_upload", 0)]


def test_judge_return_matching_is_parenthesis_matching():
    # sale, return, sale: the first is cancelled, the resale stands alone
    assert judge([ev(1, ins=True), ev(2, kind="R", ts=1), ev(3, ts=2)]) == []
    # two returns for one sale: the second has nothing to cancel
    assert judge([ev(1), ev(2, kind="R", ts=1), ev(3, kind="R", ts=2)]) == [("return_without_sale", 0)]
    # a return at another pharmacy cancels nothing
    assert judge([ev(1), ev(2, kind="R", ph="B", ts=1)]) == [("return_without_sale", 0)]
    # sale and return at the same time: the sale comes first
    assert judge([ev(2, kind="R", ts=1), ev(3, ts=1)]) == []


def test_judge_repeat_cross_recycled():
    assert judge([ev(1), ev(2, ts=1)]) == [("same_pharmacy_repeat", 0)]
    assert judge([ev(1, ins=True), ev(2, ts=1)]) == [("recycled_resale", 0), ("same_pharmacy_repeat", 0)]
    assert judge([ev(1, ins=True), ev(2, ph="B", ts=1)]) == [("cross_pharmacy_reuse", 0), ("recycled_resale", 0)]
    # an insured split sale is not a whole-pack sale
    assert judge([ev(1, ins=True, trdn=1, qty=2), ev(2, trdn=1, qty=2, ts=1)]) == []


def test_judge_split_overuse():
    assert judge([ev(i, trdn=1, qty=q, ts=i) for i, q in enumerate((3, 3, 4))]) == []
    assert judge([ev(i, trdn=1, qty=4, ts=i) for i in range(3)]) == [("split_overuse", 0)]
    assert judge([ev(i, trdn=1, qty=4, ts=i) for i in range(3)], units={}) == []  # no pack size known
    assert judge([ev(1, trdn=1, qty=1), ev(2, ph="B", trdn=1, qty=1, ts=1)]) == [
        ("cross_pharmacy_reuse", 0), ("split_overuse", 0)]
    assert judge([ev(1), ev(2, trdn=1, qty=1, ts=1)]) == [("split_overuse", 0)]


def test_judge_invalid_and_mismatch():
    assert judge([ev(1, code="无", valid=False), ev(2, code="无", valid=False, ts=1)]) == [("invalid_code", 0)]
    assert judge([ev(1, med="E")]) == [("product_mismatch", 0)]


def test_judge_uncoded_sale():
    # a coded drug sold without a code is flagged; a decoction piece without one is not
    assert judge([ev(1, code="uncoded:A:D", kind="U")]) == [("uncoded_sale", 0)]
    assert judge([ev(1, code="uncoded:A:T", kind="U", med="T", must_code=False)]) == []
    # an uncoded sale is no sale to the code rules: a coded sale of the same drug stays alone
    assert judge([ev(1, code="uncoded:A:D", kind="U"), ev(2, ts=1)]) == [("uncoded_sale", 0)]


def test_judge_sale_without_purchase():
    # a pharmacy without purchase data is not judged
    assert judge([ev(1)]) == []
    # bought, then sold: nothing; sold, never bought at a judged pharmacy: flagged
    assert judge([ev(1, kind="P"), ev(2, ts=1)]) == []
    assert judge([ev(1, code="X", kind="P"), ev(2, ts=1)]) == [("sale_without_purchase", 0)]
    # bought by another pharmacy; bought after the sale; bought and returned to the supplier
    assert judge([ev(1, ph="B", kind="P"), ev(2, ph="A", code="X", kind="P"), ev(3, ts=1)]) == [
        ("sale_without_purchase", 0)]
    assert judge([ev(1, ts=1), ev(2, kind="P", ts=2)]) == [("sale_without_purchase", 0)]
    assert judge([ev(1, kind="P"), ev(2, kind="Q", ts=1), ev(3, ts=2)]) == [("sale_without_purchase", 0)]
    # a purchase return without a sale: nothing; purchases are no sales to the other rules
    assert judge([ev(1, kind="P"), ev(2, kind="Q", ts=1)]) == []
    assert judge([ev(1, kind="P"), ev(2, ph="B", kind="P", ts=1)]) == []
    # a later month's purchase does not buy an earlier month's sale
    assert judge([ev(1, code="X", kind="P"), ev(2, ts=5), ev(3, kind="P", month=1, ts=10)], months=(0, 1)) == [
        ("sale_without_purchase", 0)]


def test_judge_month_cut_off():
    # a sale in month 0 and a resale elsewhere in month 1: flagged in month 1 only
    events = [ev(1, month=0, ts=0), ev(2, ph="B", month=1, ts=100)]
    assert judge(events, months=(0, 1)) == [("cross_pharmacy_reuse", 1)]
    # a return in month 1 does not un-flag month 0, where it was not yet seen
    events = [ev(1, month=0, ts=0), ev(2, ph="B", month=0, ts=1), ev(3, ph="B", kind="R", month=1, ts=100)]
    assert judge(events, months=(0, 1)) == [("cross_pharmacy_reuse", 0)]


def test_sample_folder_is_current(tmp_path):
    """data/sample is exactly what its manifest says generated it (regenerate after changes)."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    if not (sample / "manifest.json").exists():
        pytest.skip("data/sample not generated")
    manifest = json.loads((sample / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["formats"] == "all" and manifest["months"] == ["2026-01", "2026-02"]
    assert sum(p.stat().st_size for p in sample.iterdir()) < 2_000_000
    fresh = tmp_path / "fresh"
    generate(fresh, manifest["rows_requested"], months=2, seed=manifest["seed"], verify=False)
    for name in ("truth.csv", "manifest.json", "sales_2026-01.csv", "sales_2026-02.xlsx", "sales_2026-01_2021.json",
                 "purchases_2026-02.jsonl"):
        assert (fresh / name).read_bytes() == (sample / name).read_bytes(), name
