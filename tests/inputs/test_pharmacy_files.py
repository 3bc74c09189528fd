"""Pharmacy files as they really arrive (issue #14): blank and all-empty rows, a title block
above the header, POS/HIS header spellings and flag words, files that mix encodings."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from tracecode.cli import main
from tracecode.errors import InputFileError
from tracecode.inputs.readers import MIXED_ENCODING, detect_encoding
from tracecode.store.ingest import ingest_files

HEADER = "fixmedins_code,fixmedins_name,rtal_docno,drug_trac_codg,trdn_flag,sel_retn_cnt,sel_retn_time"
ROW1 = "P001,益民大药房,R1,81234567890123456789,0,1,2026-01-05 10:00:00"
ROW2 = "P001,益民大药房,R2,81234567890123456780,0,1,2026-01-06 10:00:00"


def stored(con):
    return con.execute("SELECT fixmedins_name, rtal_docno, src_line FROM events ORDER BY event_id").fetchall()


def file_row(con):
    return con.execute("SELECT rows_read, rows_stored, rows_rejected, rows_skipped, header_line, encoding "
                       "FROM files").fetchone()


def test_blank_lines_and_trailing_commas_are_skipped_and_counted(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([HEADER, ROW1, "", ",,,,,,", ROW2, ",,,,,,", " , ,,,,,", ""]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected, res.rows_skipped) == (2, 2, 0, 5)
    assert stored(db) == [("益民大药房", "R1", 2), ("益民大药房", "R2", 5)]
    assert db.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    assert file_row(db)[:5] == (2, 2, 0, 5, 1)


def test_blank_line_with_too_few_separators_is_skipped(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([HEADER, ROW1, ",,", ROW2]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected, res.rows_skipped) == (2, 2, 0, 1)
    assert [r[2] for r in stored(db)] == [2, 4]


def test_a_record_with_only_some_fields_empty_is_still_a_reject(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([HEADER, ROW1, "P001,,R3,81234567890123456781,0,1,"]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected, res.rows_skipped) == (2, 1, 1, 0)


@pytest.mark.parametrize("title", [
    ["杭州市益民大药房 2026年3月医保药品销售明细"],
    ["杭州市益民大药房 2026年3月医保药品销售明细,,,,,,", "统计期间：2026-03-01 至 2026-03-31,,,,,,", ""],
])
def test_title_block_above_the_header_is_skipped(db, tmp_path, title):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([*title, HEADER, ROW1, ROW2]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    header_line = len(title) + 1
    assert (res.rows_read, res.rows_stored, res.header_line) == (2, 2, header_line)
    assert [r[2] for r in stored(db)] == [header_line + 1, header_line + 2]
    assert file_row(db)[4] == header_line


def test_title_row_in_excel_is_skipped(db, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["杭州市益民大药房 2026年3月医保药品销售明细"])
    sheet.merge_cells("A1:G1")
    sheet.append([])
    sheet.append(HEADER.split(","))
    sheet.append(ROW1.split(","))
    sheet.append([None] * 7)
    sheet.append(["", " ", "", "", "", "", ""])
    sheet.append(ROW2.split(","))
    path = tmp_path / "sales.xlsx"
    book.save(path)
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected, res.header_line) == (2, 2, 0, 3)
    assert res.rows_skipped >= 2
    assert [r[2] for r in stored(db)] == [4, 7]


def test_excel_number_code_in_the_first_rows_reads_as_excel_shows_it(db, tmp_path):
    """A code Excel stored as a number reads as Excel's 15-digit display (8.12345678901235E+19)
    wherever it is; the first rows (read while looking for the header) once came out as
    Python's str() of the float (8.123456789012346e+19)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for n in (1, 30):  # one among the first rows, one below them
        row = ROW1.split(",")
        row[2], row[3] = f"R{n}", float(f"8123456789012345{n:04d}")
        sheet.append(row)
        for k in range(n, 25):
            sheet.append(["P001", "益民大药房", f"R{n}-{k}", f"812345678901234{k:05d}", "0", "1", "2026-01-05 10:00:00"])
    path = tmp_path / "sales.xlsx"
    book.save(path)
    ingest_files(db, [path])
    raw = dict(db.execute("SELECT rtal_docno, code_raw FROM events WHERE rtal_docno IN ('R1', 'R30')").fetchall())
    assert raw == {"R1": "%.15G" % 81234567890123450001.0, "R30": "%.15G" % 81234567890123450030.0}
    assert all("E+19" in v for v in raw.values())


def test_no_header_in_the_first_lines_names_the_missing_columns_in_chinese(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("店号,单号,日期\nP001,R1,2026-01-05\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        ingest_files(db, [path])
    text = str(err.value)
    assert "追溯码 (drug_trac_codg)" in text and "定点医药机构编号 (fixmedins_code)" in text


def test_pos_header_spellings_and_flag_words(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([
        "药店编码,门店名称,单据编号,结算类型,是否拆零,销售数量,销售日期,追溯码信息,零售价",
        "P001,益民大药房,R1,医保结算,是,0.5,2026-03-01 09:00:00,81234567890123456789,12.50",
        "P001,益民大药房,R2,自费结算,否,1,2026-03-02 09:00:00,81234567890123456780,25",
        "P001,益民大药房,R3,医保,Y,1,2026-03-03,81234567890123456781,",
        "P001,益民大药房,R4,自费,N,1,2026-03-04,81234567890123456782,",
    ]) + "\n", encoding="gbk")
    [res] = ingest_files(db, [path])
    assert (res.rows_stored, res.rows_rejected) == (4, 0)
    rows = db.execute("SELECT rtal_docno, mdtrt_setl_type, insured, trdn_flag, price FROM events "
                      "ORDER BY event_id").fetchall()
    assert rows == [("R1", "1", True, 1, 12.5), ("R2", "2", False, 0, 25.0),
                    ("R3", "1", True, 1, None), ("R4", "2", False, 0, None)]


def test_one_gbk_line_among_utf8_lines_is_decoded_on_its_own(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes("\n".join([HEADER, ROW1]).encode("utf-8") + b"\n"
                     + ROW2.replace("益民大药房", "同仁堂药店").encode("gbk") + b"\n")
    assert detect_encoding(path) == MIXED_ENCODING
    [res] = ingest_files(db, [path])
    assert (res.rows_stored, res.rows_rejected) == (2, 0)
    assert [r[0] for r in stored(db)] == ["益民大药房", "同仁堂药店"]


def test_a_line_in_neither_encoding_is_a_reject_not_mojibake(db, tmp_path):
    path = tmp_path / "sales.csv"
    broken = "P001,".encode() + b"\xff\xfe\xfd\x80" + ",R9,81234567890123456781,0,1,2026-01-07 10:00:00\n".encode()
    path.write_bytes(("\n".join([HEADER, ROW1]) + "\n").encode("utf-8") + broken + (ROW2 + "\n").encode("utf-8"))
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected) == (3, 2, 1)
    assert db.execute("SELECT src_line, field FROM rejects").fetchall() == [(3, "encoding")]
    assert [r[0] for r in stored(db)] == ["益民大药房", "益民大药房"]


def test_gbk_file_whose_first_megabyte_is_ascii(db, tmp_path):
    path = tmp_path / "sales.csv"
    ascii_row = "P002,Store Two,R{},8123456789012345{:04d},0,1,2026-01-05 10:00:00\n"
    body = "".join(ascii_row.format(i, i) for i in range(20_000))
    assert len(body) > 1 << 20
    path.write_bytes((HEADER + "\n" + body).encode("ascii") + (ROW1 + "\n").encode("gbk"))
    assert detect_encoding(path) == "gb18030"
    [res] = ingest_files(db, [path])
    assert (res.rows_stored, res.rows_rejected) == (20_001, 0)
    assert db.execute("SELECT fixmedins_name FROM events WHERE rtal_docno = 'R1' AND fixmedins_code = 'P001'"
                      ).fetchone() == ("益民大药房",)


def test_scan_takes_columns(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(["店号,店名,小票,码,拆,数,时刻",
                               "P001,益民大药房,R1,81234567890123456789,0,1,2026-01-05 10:00:00",
                               "P001,益民大药房,R2,81234567890123456789,0,1,2026-01-06 10:00:00"]) + "\n",
                    encoding="utf-8")
    mapping = tmp_path / "map.csv"
    mapping.write_text("店号,fixmedins_code\n店名,fixmedins_name\n小票,rtal_docno\n码,drug_trac_codg\n"
                       "拆,trdn_flag\n数,sel_retn_cnt\n时刻,sel_retn_time\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", "--columns", str(mapping), "--out", str(tmp_path / "out"), str(path)])
    assert result.exit_code == 0, result.output
    assert "same_pharmacy_repeat" in (tmp_path / "out" / "suspicious_codes.csv").read_text(encoding="utf-8-sig")
    without = CliRunner().invoke(main, ["scan", "--out", str(tmp_path / "out2"), str(path)])
    assert without.exit_code == 1


def test_tab_led_ids_of_chinese_systems_are_read_without_the_tab(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([HEADER, "\tP001,益民大药房,\tR1,\t81234567890123456789,0,1,2026-01-05 10:00:00",
                               ROW2]) + "\n", encoding="utf-8")
    ingest_files(db, [path])
    assert db.execute("SELECT DISTINCT fixmedins_code FROM events").fetchall() == [("P001",)]
    assert [r[1] for r in stored(db)] == ["R1", "R2"]


def test_whitespace_only_rows_are_blank_whatever_the_whitespace(db, tmp_path):
    path = tmp_path / "sales.csv"
    blank = ["\u3000,\t, ,\u00a0,,\u2003,", "\t\t,,,,,,  "]
    path.write_text("\n".join([HEADER, ROW1, *blank, ROW2]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected, res.rows_skipped) == (2, 2, 0, 2)
    assert [r[2] for r in stored(db)] == [2, 5]


def test_a_row_whose_only_value_is_in_its_last_column_is_a_record(db, tmp_path):
    # the blank-row test looks at the columns in turn: a value far right still makes a record
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([HEADER, ROW1, "\u3000,,,,,,2026-01-07 10:00:00", ROW2]) + "\n", encoding="utf-8")
    [res] = ingest_files(db, [path])
    assert (res.rows_read, res.rows_stored, res.rows_rejected, res.rows_skipped) == (3, 2, 1, 0)
    assert db.execute("SELECT src_line, field FROM rejects").fetchall() == [(3, "fixmedins_code")]


def test_tab_led_cells_lose_the_tab_and_tabs_inside_a_cell_stay(db, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("\n".join([HEADER, "P001,益民\t大药房,\t\tR1,81234567890123456789,0,1,2026-01-05 10:00:00"])
                    + "\n", encoding="utf-8")
    ingest_files(db, [path])
    assert stored(db) == [("益民\t大药房", "R1", 2)]
