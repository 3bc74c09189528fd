"""bench/wps_probe.py: its two sheets hold the same cells, one with every ``r`` reference and one
with none (an empty cell written, not left out)."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import openpyxl

PROBE = Path(__file__).resolve().parents[2] / "bench" / "wps_probe.py"


def test_both_sheets_read_the_same_and_one_has_no_r(tmp_path):
    spec = importlib.util.spec_from_file_location("wps_probe", PROBE)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    path = tmp_path / "probe.xlsx"
    probe.write(path)
    with zipfile.ZipFile(path) as z:
        with_r, without_r = (z.read(f"xl/worksheets/sheet{n}.xml") for n in (1, 2))
    assert b' r="A1"' in with_r and b' r="' not in without_r.partition(b"<sheetData>")[2]
    book = openpyxl.load_workbook(path)
    cells = [[[c.value for c in row] for row in book[name].iter_rows()] for name in ("带引用", "无引用")]
    assert cells[0] == cells[1]
    assert cells[1][1][0] == "83329780088802996040" and cells[1][2][2] is None and cells[1][2][3] == 12.5
    assert book["无引用"]["A2"].number_format == "@"
