"""Write the seed corpus of hostile upload files (tests/faults/corpus/) and its README.

Run ``python -m tests.faults.make_corpus`` after changing a case; the files are checked in, so
the corpus test reads them as they are, and this script is how they were made. Each case says
what it is and what ingest must do with it: ``loaded`` (exit 0; read = stored + rejected) or
``error`` (exit 1, one ``Error:`` line, nothing of the file stored). Files too big to check in
(a 1 MB cell, JSON nested 100,000 deep, a zip bomb) are built by the tests themselves.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

CORPUS = Path(__file__).parent / "corpus"

HEADER = ["fixmedins_code", "fixmedins_name", "rtal_docno", "psn_no", "trdn_flag", "sel_retn_cnt", "sel_retn_time",
          "drug_trac_codg", "price"]
ZH_HEADER = ["定点医药机构编号", "定点医药机构名称", "零售单据号", "人员编号", "拆零标志", "销售/退货数量", "销售/退货时间",
             "追溯码", "单价"]


def row(receipt: str = "R1", code: str = "81234567890123456789", qty: str = "1", price: str = "12.5",
        name: str = "益民大药房", pharmacy: str = "P001", time: str = "2026-01-05 10:00:00") -> list[str]:
    return [pharmacy, name, receipt, "PSN1", "0", qty, time, code, price]


def csv_text(rows: list[list[str]], header: list[str] = HEADER, sep: str = ",", end: str = "\n") -> str:
    return end.join(sep.join(r) for r in [header, *rows]) + end


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


def message(items: list[dict] | dict, infno: str = "3505", **header) -> dict:
    return {"infno": infno, "fixmedins_code": "P001", **header, "input": {"selinfo": items}}


def sel(receipt: str = "R1", codes: object = ("81234567890123456789",), **more) -> dict:
    item = {"rtal_docno": receipt, "sel_retn_cnt": "1", "sel_retn_time": "2026-01-05 10:00:00", "trdn_flag": "0",
            "finl_trns_pric": "12.5", "psn_no": "PSN1"}
    if codes is not None:
        item["drugtracinfo"] = [{"drug_trac_codg": c} for c in codes] if isinstance(codes, tuple) else codes
    return {**item, **more}


def jsonl(*messages: object) -> bytes:
    return utf8("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages))


def parquet(columns: dict[str, pa.Array]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def parquet_with(code_column: pa.Array) -> bytes:
    base = {name: pa.array([value]) for name, value in zip(HEADER, row()) if name != "drug_trac_codg"}
    return parquet({**base, "drug_trac_codg": code_column})


def xlsx(sheet_rows: str, shared: list[str] | None = None) -> bytes:
    """A minimal .xlsx whose first sheet's <sheetData> is ``sheet_rows`` (deflated, so repeated
    empty rows cost a few bytes each)."""
    ns = "http://schemas.openxmlformats.org/"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}package/2006/content-types"><Default '
        f'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
        f'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
        f'"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        f'"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        f'worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}package/2006/relationships"><Relationship '
        f'Id="rId1" Type="{ns}officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        f'</Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{ns}spreadsheetml/2006/main" xmlns:r="{ns}'
        f'officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{ns}officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{ns}spreadsheetml/2006/main">'
        f"<sheetData>{sheet_rows}</sheetData></worksheet>",
    }
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in parts.items():  # a fixed time: the same bytes on every run
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text, zipfile.ZIP_DEFLATED, 9)
    return sink.getvalue()


def xlsx_cells(number: int, values: list[object]) -> str:
    cells = []
    for i, v in enumerate(values):
        ref = f"{chr(65 + i)}{number}"
        if isinstance(v, (int, float)):
            cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def openpyxl_book(rows: list[list[object]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append(r)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


class Case(NamedTuple):
    build: Callable[[], bytes]
    expect: str  # loaded | error
    what: str


GOOD = [row(f"R{i}", f"8123456789012345678{i}") for i in range(3)]

CASES: dict[str, Case] = {
    # ---------------------------------------------------------------- empty and near-empty
    "empty.csv": Case(lambda: b"", "error", "0 bytes"),
    "header_only.csv": Case(lambda: utf8(csv_text([])), "loaded", "the header line and no record"),
    "bom_only.csv": Case(lambda: b"\xef\xbb\xbf", "error", "a UTF-8 byte-order mark and nothing else"),
    "blank_lines_only.csv": Case(lambda: b"\n\r\n  \n\t\n", "error", "blank lines, no header"),
    "empty.jsonl": Case(lambda: b"\n\n", "loaded", "blank lines only, as a JSON-lines file"),
    "empty_array.json": Case(lambda: b"[]", "loaded", "an empty JSON array"),
    # ---------------------------------------------------------------- encodings
    "utf8_one_gbk_line.csv": Case(lambda: utf8(csv_text(GOOD[:2])) + ",".join(row("RG", name="西湖区康宁药店")).encode("gbk")
                                  + b"\n" + utf8(",".join(GOOD[2]) + "\n"),
                                  "loaded", "UTF-8 lines with one GBK line (the GBK line is read as GBK, not mojibake)"),
    "gbk_zh_header.csv": Case(lambda: csv_text(GOOD, ZH_HEADER).encode("gbk"), "loaded", "GBK with Chinese headers"),
    "utf16.csv": Case(lambda: csv_text(GOOD, ZH_HEADER, sep="\t").encode("utf-16"), "loaded",
                      "UTF-16 with a BOM, tab-separated (Excel's 'Unicode text')"),
    "undecodable_line.csv": Case(lambda: utf8(csv_text(GOOD[:1])) + b"P001,\xff\xfe\xfd,R9,PSN1,0,1,2026-01-05 10:00:00,"
                                 b"81234567890123456780,1\n" + utf8(",".join(GOOD[1]) + "\n"),
                                 "loaded", "one line neither UTF-8 nor GBK (a reject with reason encoding)"),
    "nul_in_head.csv": Case(lambda: b"\x00\x01\x02" + utf8(csv_text(GOOD)), "error", "NUL bytes at the start: binary"),
    "nul_late.csv": Case(lambda: utf8(csv_text(GOOD * 60) + "P001,X,R\x00X,PSN1,0,1,2026-01-05 10:00:00,"
                                      "81234567890123456789,1\n"),
                         "loaded", "a NUL byte inside a cell after the first 4 KB"),
    # ---------------------------------------------------------------- numbers
    "absurd_numbers.csv": Case(lambda: utf8(csv_text(
        [row(f"Q{i}", qty=q) for i, q in enumerate(["NaN", "inf", "-inf", "1e309", "1e-320", "1e20", "0", "-1", "abc"])]
        + [row(f"P{i}", price=p) for i, p in enumerate(["NaN", "inf", "1e309", "-3.5", "1e20", "十二"])] + GOOD)),
        "loaded", "NaN, inf, 1e309, 1e-320, 1e20, 0, negative quantities and prices (each a reject)"),
    "excel_e19_codes.csv": Case(lambda: utf8(csv_text([row("R1", "8.12345678901235E+19"), row("R2", "8.12E+19"),
                                                      row("R3", "81234567890123500000")])),
                                "loaded", "codes that went through Excel as numbers (8.12E+19): invalid codes"),
    "excel_e19_codes.xlsx": Case(lambda: openpyxl_book([HEADER, [*row("R1")[:7], 8.12345678901235e19, 12.5],
                                                        [*row("R2")[:7], 81234567890123456789, 12.5]]),
                                 "loaded", "a workbook whose code cells are numbers"),
    "placeholder_codes.csv": Case(lambda: utf8(csv_text([row("R1", "00000000000000000000"), row("R2", "无"),
                                                        row("R3", "88888888888888888888")])),
                                  "loaded", "placeholder codes (all zeros, 无, one digit repeated)"),
    # ---------------------------------------------------------------- CSV structure
    "unbalanced_quotes.csv": Case(lambda: utf8(csv_text(GOOD[:1]) + 'P001,"X,R2,PSN1,0,1,2026-01-05 10:00:00,'
                                           '81234567890123456788,1\n' + ",".join(GOOD[2]) + "\n"),
                                  "loaded", "a quote opened and never closed"),
    "quote_at_end.csv": Case(lambda: utf8(csv_text(GOOD) + '"'), "loaded", "a lone quote as the last byte"),
    "crlf_cr_mix.csv": Case(lambda: utf8(",".join(HEADER) + "\r" + ",".join(GOOD[0]) + "\r\n" + ",".join(GOOD[1])
                                         + "\n" + ",".join(GOOD[2]) + "\r"),
                            "loaded", "CR, CRLF and LF line ends mixed"),
    "wrong_field_counts.csv": Case(lambda: utf8(csv_text(GOOD) + "P001,R9\n" + ",".join(GOOD[0] + ["x", "y"]) + "\n"),
                                   "loaded", "records with too few and too many fields"),
    "formula_cells.csv": Case(lambda: utf8(csv_text([row("=cmd|' /C calc'!A0", name="=HYPERLINK(\"http://x\")"),
                                                    row("+1+1", name="@SUM(1)"), row("-2", name="\t=1+1")])),
                              "loaded", "cells that look like spreadsheet formulas (=, +, -, @, tab-led)"),
    "huge_header.csv": Case(lambda: utf8(csv_text([row() + ["x"] * 4000], HEADER + [f"c{i}" for i in range(4000)])),
                            "loaded", "4,009 columns in the header"),
    "duplicate_headers.csv": Case(lambda: utf8(csv_text([row() + ["R-dup"]], HEADER + ["rtal_docno"])), "loaded",
                                  "the receipt column twice"),
    "missing_columns.csv": Case(lambda: utf8(csv_text([["a", "b"]], ["foo", "bar"])), "error",
                                "no required column"),
    "long_cell_40k.csv": Case(lambda: utf8(csv_text([row("R1", "8" * 40_000), *GOOD[1:]])), "loaded",
                              "a 40,000-character code cell (under the cell cap)"),
    "title_block.csv": Case(lambda: utf8("药品销售明细\n药店：益民\n\n" + csv_text(GOOD, ZH_HEADER)), "loaded",
                            "a title block above the header"),
    "semicolon_codes.csv": Case(lambda: utf8(csv_text([row("R1", "81234567890123456789;81234567890123456788，"
                                                                 "81234567890123456787")])),
                                "loaded", "several codes in one cell, with ; and full-width commas"),
    "control_chars.csv": Case(lambda: utf8(csv_text([row("R\x1b[31m1", "8123456789012345678\x1d9", name="\u202e药店"),
                                                    row("R2", "\u200b81234567890123456789")])),
                              "loaded", "ANSI escapes, GS, right-to-left override and zero-width space in cells"),
    # ---------------------------------------------------------------- JSON
    "deep_5000.json": Case(lambda: b"[" * 5000 + b"]" * 5000, "error",
                           "a JSON array nested 5,000 deep (the 100,000-deep one is built by the test)"),
    "deep_5000.jsonl": Case(lambda: b"{\"a\":" * 5000 + b"1" + b"}" * 5000 + b"\n" + jsonl(message([sel()])),
                            "loaded", "a message line nested 5,000 deep beside a good message"),
    "null_codes.jsonl": Case(lambda: jsonl(message([sel("R1", [{"drug_trac_codg": None}, None]), sel("R2", None),
                                                    sel("R3", "null"), sel("R4", {"drug_trac_codg": None})])),
                             "loaded", "null codes, null drugtracinfo items, the string null"),
    "json_odd_types.jsonl": Case(lambda: jsonl(message([sel("R1", sel_retn_cnt=[1]), sel(2, sel_retn_time=1.5e300),
                                                        sel(None, finl_trns_pric={"a": 1}),
                                                        sel("R4", (12345678901234567890,)), sel(True)]),
                                               message("not a list"), message([1, "x", None]), [1, 2], "str", 42),
                                 "loaded", "numbers, lists, objects, booleans and nulls where text goes"),
    "json_nan_inf.jsonl": Case(lambda: b'{"infno":"3505","fixmedins_code":"P001","input":{"selinfo":[{"rtal_docno":"R1",'
                               b'"sel_retn_cnt":NaN,"sel_retn_time":"2026-01-05 10:00:00","drug_trac_codg":'
                               b'"81234567890123456789"},{"rtal_docno":"R2","sel_retn_cnt":1e309,"finl_trns_pric":-Infinity,'
                               b'"sel_retn_time":"2026-01-05 10:00:00","drug_trac_codg":"81234567890123456788"}]}}\n',
                               "loaded", "NaN and Infinity literals and 1e309 in a message"),
    "json_lone_surrogate.jsonl": Case(lambda: b'{"infno":"3505","fixmedins_code":"P\\ud800","input":{"selinfo":'
                                      b'[{"rtal_docno":"R\\udfff","sel_retn_cnt":1,"sel_retn_time":"2026-01-05 10:00:00",'
                                      b'"drugtracinfo":[{"drug_trac_codg":"81234567890123456789"}]}]}}\n'
                                      + jsonl(message([sel("R2")])),
                                      "loaded", "lone UTF-16 surrogates (\\ud800) escaped in JSON strings"),
    "json_truncated.jsonl": Case(lambda: jsonl(message([sel()]))[:-20] + b"\n" + jsonl(message([sel("R2")])),
                                 "loaded", "a message cut short before a good one"),
    "json_truncated.json": Case(lambda: b'[{"infno":"3505","input":{"selinfo":[', "error", "a JSON array cut short"),
    "json_encrypted.jsonl": Case(lambda: jsonl({"infno": "3505", "input": "2F8A9C0D1E"}, {"infno": "3507", "input": {}},
                                               {"infno": "9999", "input": {}}, {"input": {"selinfo": []}}),
                                 "loaded", "an SM4-encrypted input, 3507, an unknown infno, an empty selinfo"),
    "json_duplicate_keys.jsonl": Case(lambda: b'{"infno":"3505","infno":"3506","fixmedins_code":"P001","input":{"selinfo":'
                                      b'[{"rtal_docno":"R1","rtal_docno":"R2","sel_retn_cnt":"1","sel_retn_time":'
                                      b'"2026-01-05 10:00:00","drug_trac_codg":"81234567890123456789"}]}}\n',
                                      "loaded", "duplicate keys in a message"),
    "json_pretty_broken.json": Case(lambda: b'{\n  "infno": "3505",\n  "input": {\n    "selinfo": [\n', "loaded",
                                    "a pretty-printed message that never ends"),
    "json_string_drugtracinfo.jsonl": Case(lambda: jsonl(message([sel("R1", '[{"drug_trac_codg": "81234567890123456789"}'),
                                                                  sel("R2", "[[[[[["), sel("R3", "{")])),
                                           "loaded", "drugtracinfo as broken JSON strings"),
    "json_gbk.jsonl": Case(lambda: json.dumps(message([sel()], fixmedins_name="益民大药房"), ensure_ascii=False)
                           .encode("gbk") + b"\n", "loaded", "a message in GBK"),
    # ---------------------------------------------------------------- Parquet
    "parquet_list.parquet": Case(lambda: parquet_with(pa.array([["81234567890123456789"]], pa.list_(pa.string()))),
                                 "error", "the code column a list of strings"),
    "parquet_struct.parquet": Case(lambda: parquet_with(pa.array([{"a": "81234567890123456789"}])), "error",
                                   "the code column a struct"),
    "parquet_binary.parquet": Case(lambda: parquet_with(pa.array([b"\xff\xfe"], pa.binary())), "error",
                                   "the code column binary (not UTF-8)"),
    "parquet_map.parquet": Case(lambda: parquet_with(pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string()))),
                                "error", "the code column a map"),
    "parquet_dict_binary.parquet": Case(lambda: parquet_with(pa.array([b"\xff\xfe"], pa.binary()).dictionary_encode()),
                                        "error", "the code column dictionary-encoded binary that is not UTF-8"),
    "parquet_numbers.parquet": Case(lambda: parquet({**{n: pa.array([v]) for n, v in zip(HEADER, row())},
                                                     "drug_trac_codg": pa.array([8.123456789012346e19]),
                                                     "sel_retn_cnt": pa.array([float("nan")]),
                                                     "price": pa.array([float("inf")])}),
                                    "loaded", "a float code, NaN quantity and inf price in Parquet"),
    "parquet_null_columns.parquet": Case(lambda: parquet({n: pa.nulls(2) for n in HEADER}), "loaded",
                                         "every column null"),
    "parquet_garbage.parquet": Case(lambda: b"PAR1" + b"\x00" * 100 + b"PAR1", "error", "PAR1 magic around garbage"),
    # ---------------------------------------------------------------- Excel
    "empty_rows.xlsx": Case(lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row()) + "<row/>" * 120_000
                                         + xlsx_cells(120_003, row("LATE"))),
                            "loaded", "120,000 empty <row/> elements between a record and the next"),
    "wide_empty_rows.xlsx": Case(lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row())
                                              + ("<row>" + "<c/>" * 5000 + "</row>") * 40 + xlsx_cells(43, row("LATE"))),
                                 "loaded", "40 rows of 5,000 empty cells each (under the empty-cell cap), then a record"),
    "xlsx_no_sheet_data.xlsx": Case(lambda: xlsx(""), "error", "a workbook with an empty first sheet"),
    "xlsx_not_a_zip.xlsx": Case(lambda: b"PK\x03\x04 not really a zip", "error", "zip magic, no zip"),
    "xlsx_is_csv.xlsx": Case(lambda: utf8(csv_text(GOOD)), "error", "a CSV named .xlsx"),
    "xlsx_bad_number.xlsx": Case(lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row())
                                              + '<row r="3"><c r="A3"><v>abc</v></c></row>'),
                                 "error", "a number cell holding abc"),
    "xlsx_bad_reference.xlsx": Case(lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row())
                                                 + '<row r="3"><c r="!!"><v>1</v></c></row>'),
                                    "error", "a cell reference that is not one (r=\"!!\")"),
    "xlsx_missing_shared_string.xlsx": Case(lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row())
                                                         + '<row r="3"><c r="A3" t="s"><v>5</v></c></row>'),
                                            "error", "a shared-string cell pointing at no shared string"),
    "xlsx_row_jump.xlsx": Case(lambda: xlsx(xlsx_cells(1, HEADER) + xlsx_cells(2, row())
                                            + xlsx_cells(999_999_999, row("FAR"))),
                               "loaded", "a row numbered 999,999,999 after row 2 (a gap of empty rows)"),
    "xlsx_formulas.xlsx": Case(lambda: openpyxl_book([HEADER, [*row("R1")[:7], "=1+1", "=A1"],
                                                      [*row("=cmd|'/C calc'!A0")[:7], "81234567890123456789", 1]]),
                               "loaded", "formulas in cells (read as their text, never evaluated)"),
    # ---------------------------------------------------------------- compressed and unknown
    "bomb.csv.gz": Case(lambda: gzip.compress(b"0" * 40_000_000, 9, mtime=0), "error",
                        "gzip that unpacks to 40 MB (compressed inputs are not read: unknown file type)"),
    "gzip_named.csv": Case(lambda: gzip.compress(utf8(csv_text(GOOD)), mtime=0), "error", "gzip bytes named .csv"),
    "no_suffix": Case(lambda: utf8(csv_text(GOOD)), "error", "a file without a suffix"),
}


def main() -> None:
    built = {name: case.build() for name, case in CASES.items()}
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.iterdir():
        old.unlink()
    lines = ["# Seed corpus of hostile upload files",
             "",
             "Written by `python -m tests.faults.make_corpus`; read by `tests/faults/test_corpus.py`.",
             "`expect`: `loaded` = exit 0, read = stored + rejected; `error` = exit 1 with one `Error:` line.",
             "",
             "| file | expect | what it is |",
             "|---|---|---|"]
    for name, case in CASES.items():
        data = built[name]
        assert len(data) < 50_000, (name, len(data))
        (CORPUS / name).write_bytes(data)
        lines.append(f"| {name} | {case.expect} | {case.what} |")
    (CORPUS / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
