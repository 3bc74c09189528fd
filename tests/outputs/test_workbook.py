"""The export's workbook: golden cells (types and values, not bytes), codes and ids as text with
every digit, formula-looking text kept a string, sheets split at Excel's row limit, 概况's counts
and amounts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest

from tests.outputs.test_export import build_case
from tracecode.outputs import workbook
from tracecode.outputs.export import export
from tracecode.outputs.export_write import label
from tracecode.outputs.workbook import Summary, write_workbook

GOLDEN = Path(__file__).parent / "golden" / "workbook"
CODE = "82141354479797212345"


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = build_case(tmp_path_factory.mktemp("wb") / "city.duckdb")
    yield c
    c.close()


def cells(path: Path) -> dict:
    """Every sheet: its frozen cell, filter, and each cell as [type, value]."""
    book = openpyxl.load_workbook(path)
    got = {ws.title: {"freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
                      "rows": [[[c.data_type, c.value] for c in row] for row in ws.iter_rows()]}
           for ws in book.worksheets}
    book.close()
    return got


def assert_golden(got: dict, name: str) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("TRACECODE_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no golden workbook {path}: write it with TRACECODE_UPDATE_GOLDEN=1 and review it")
    assert got == json.loads(path.read_text(encoding="utf-8"))


def test_golden_month_workbook(con, tmp_path):
    export(con, tmp_path / "out", month="2026-02")
    got = cells(tmp_path / "out" / "tracecode_2026-02.xlsx")
    assert list(got) == ["概况", "可疑追溯码", "证据明细", "未扫码销售", "无法读取的记录", "药店汇总"]
    assert_golden(got, "2026-02")


def test_golden_all_months_pharmacy_workbook(con, tmp_path):
    export(con, tmp_path / "out", per_pharmacy=True, headers="zh", encoding="gbk")
    assert (tmp_path / "out" / "tracecode_all.xlsx").exists()
    assert_golden(cells(tmp_path / "out" / "pharmacies" / "P200" / "tracecode_all.xlsx"), "all_P200")


def test_codes_and_ids_are_text_and_formulas_stay_strings(con, tmp_path):
    export(con, tmp_path / "out", mask=False)
    book = openpyxl.load_workbook(tmp_path / "out" / "tracecode_all.xlsx")
    events = book["证据明细"]
    header = [c.value for c in events[1]]
    for name in ("追溯码", "定点医药机构编号", "零售单据号"):
        col = header.index(name)
        column = [row[col] for row in events.iter_rows(min_row=2)]
        assert column and all(c.data_type == "s" and c.number_format == "@" for c in column if c.value)
    names = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert names and all(c.data_type == "s" and c.value.startswith("=HYPERLINK") for c in names)
    codes = book["概况"]
    overview = {r[0].value: r[1].value for r in codes.iter_rows(min_row=2)}
    assert overview["可疑追溯码合计"] == sum(1 for _ in book["可疑追溯码"].iter_rows(min_row=2))


def write_csv_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8-sig")


def test_hand_built_cells(tmp_path, monkeypatch):
    write_csv_text(tmp_path / "suspicious_codes.csv",
                   "drug_trac_codg,rule,occurrences,detail,med_list_codg\n"
                   f"\t{CODE},duplicate_upload,3,'=1+2,\t0012\n"
                   "\t1,duplicate_upload,1234567890123456,bad\x01char,\n"
                   "\t2,duplicate_upload,0012,'-x,\n")
    write_csv_text(tmp_path / "summary.csv", "fixmedins_code,rows_uploaded,flagged_amount\n\tP1,5,12.5\n\tP2,3,1.25\n")
    write_csv_text(tmp_path / "uncoded_sales.csv", "fixmedins_code,med_list_codg\n\tP1,\tXA01\n")
    monkeypatch.setattr(workbook, "MAX_ROWS", 2)
    path = write_workbook(tmp_path, Summary("2026-03", {"suspicious_codes.csv": 3},
                                            [("duplicate_upload", "重复上传", 3)]), "utf-8-sig", {})
    assert path.name == "tracecode_2026-03.xlsx"
    got = cells(path)
    assert list(got) == ["概况", "可疑追溯码", "可疑追溯码_2", "未扫码销售", "药店汇总"]
    rows = got["可疑追溯码"]["rows"]
    assert rows[0][0] == ["s", "追溯码"]
    assert rows[1] == [["s", CODE], ["s", "duplicate_upload"], ["n", 3], ["s", "=1+2"], ["s", "0012"]]
    assert rows[2][2] == ["s", "1234567890123456"]  # 16 digits: a float would lose one
    assert rows[2][3] == ["s", "bad\ufffdchar"]
    assert got["可疑追溯码"]["filter"] == "A1:E3" and got["可疑追溯码"]["freeze"] == "A2"
    assert got["可疑追溯码_2"]["rows"][1][:4] == [["s", "2"], ["s", "duplicate_upload"], ["s", "0012"], ["s", "-x"]]
    overview = {r[0][1]: r[1][1] for r in got["概况"]["rows"][1:]}
    assert overview["月份"] == "2026-03" and overview["可疑追溯码合计"] == 3
    assert overview[label("flagged_amount", "zh")] == 13.75


def test_empty_csv_still_gets_its_sheet(tmp_path):
    write_csv_text(tmp_path / "rejects.csv", "source_file,src_line\n")
    got = cells(write_workbook(tmp_path, Summary("all", {}, []), "utf-8-sig", {}))
    assert list(got) == ["概况", "无法读取的记录"]
    assert got["无法读取的记录"]["rows"] == [[["s", "来源文件"], ["s", "来源行号"]]]
    assert got["概况"]["rows"][1] == [["s", "月份"], ["s", "全部月份"]]


def test_the_rows_wait_in_a_folder_that_goes_away(tmp_path):
    """xlsxwriter streams each sheet's rows through temporary files: they are kept in the output
    folder (its disk) and removed, after a written workbook as after a failed one."""
    write_csv_text(tmp_path / "suspicious_codes.csv", f"drug_trac_codg,rule\n\t{CODE},duplicate_upload\n")
    write_workbook(tmp_path, Summary("2026-03", {}, []), "utf-8-sig", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["suspicious_codes.csv", "tracecode_2026-03.xlsx"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "suspicious_codes.csv").write_bytes(b"drug_trac_codg,rule\n\t1,\xff\xfe\n")  # not UTF-8
    with pytest.raises(UnicodeDecodeError):
        write_workbook(bad, Summary("2026-03", {}, []), "utf-8-sig", {})
    assert [p.name for p in bad.iterdir()] == ["suspicious_codes.csv"]
