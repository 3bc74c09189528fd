#!/usr/bin/env python3
"""Write the workbook that settles whether WPS (and any other spreadsheet) reads sheet rows
without their ``r`` references, the one lever left for the export's workbook speed (issue 16,
bench/RESULTS.md "Quiet-machine figures").

    python bench/wps_probe.py wps_probe.xlsx

Sheet 带引用 is written by xlsxwriter as the export writes it; sheet 无引用 holds the same cells
as the export would write them without ``r``: inline strings, and an empty cell written as
``<c/>`` — it cannot be left out as it is now, or every later cell of its row moves one column
left (openpyxl reads 12.5 under 数量 then). Open the file in WPS: both sheets must show the same
table, column for column (the 20-digit code as text in column A, column C of row 3 empty). If
they do, the export can drop ``r`` and number no rows."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter

ROWS = [
    ["追溯码", "药店", "数量", "金额", "说明"],
    ["\t83329780088802996040", "P3306000017", 1, 6.8, "同一追溯码在两家药店销售"],
    ["\t81000010000000000801", "P3306000007", None, 12.5, "空的数量单元格：这一行的 C 列应为空"],
    ["\t330106964557177907", "P3306000017", 3, 0.5, "=1+1 应显示为文字"],
]
_SHEET_DATA = re.compile(rb"<sheetData>.*</sheetData>", re.S)


def rows_without_r() -> bytes:
    """The sheet rows as the export would write them with no ``r``."""
    out = ["<sheetData>"]
    for row in ROWS:
        cells = []
        for value in row:
            if value is None:
                cells.append("<c/>")
            elif isinstance(value, str):
                style = ' s="1"' if value.startswith("\t") else ""
                text = escape(value.removeprefix("\t"))
                cells.append(f'<c{style} t="inlineStr"><is><t>{text}</t></is></c>')
            else:
                cells.append(f"<c><v>{value}</v></c>")
        out.append("<row>" + "".join(cells) + "</row>")
    out.append("</sheetData>")
    return "".join(out).encode("utf-8")


def write(path: Path) -> None:
    tmp = path.with_suffix(".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False})
    text = book.add_format({"num_format": "@"})
    for name in ("带引用", "无引用"):
        sheet = book.add_worksheet(name)
        for r, row in enumerate(ROWS):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str) and value.startswith("\t"):
                    sheet.write_string(r, c, value[1:], text)
                else:
                    sheet.write(r, c, value)
    book.close()
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = _SHEET_DATA.sub(lambda _: rows_without_r(), data)
            dst.writestr(info, data)
    tmp.unlink()


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "wps_probe.xlsx"))
