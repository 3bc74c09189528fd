"""The export's Excel workbook, ``tracecode_<month>.xlsx`` (``tracecode_all.xlsx`` for an export
of every month), written beside the CSV files from them: each sheet holds the rows of one CSV
(:data:`SHEETS`), so the two never disagree. Chinese headers; code and id cells (the CSV's
tab-led cells, :data:`tracecode.outputs.export_write.TEXT_ID_COLUMNS`) typed as text with their
exact value; numbers as numbers; a text that looks like a formula stays a plain string. Header
row frozen, filters on, widths from the content.

xlsxwriter writes the workbook (its constant_memory mode: rows streamed through temporary files
in the output folder) with every sheet's header, widths, frozen row and filter, and the rows of
the small sheets. The rows of a sheet of :data:`SQL_ROWS` rows or more are generated as sheet
XML by DuckDB from the CSV (:mod:`tracecode.outputs.sheet_rows`, the same cells) and streamed
into the package after it (:mod:`tracecode.outputs.xlsx_fill`): xlsxwriter spends 10-20 µs a
cell, which made 1M evidence rows take minutes (bench/bench_workbook.py)."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import xlsxwriter

from tracecode.faults import fault_point
from tracecode.outputs.export_write import FORMULA_LEADS, TEXT_LEAD, label
from tracecode.outputs.sheet_rows import NUMBER, SheetRows, clean, connect, count_rows
from tracecode.outputs.xlsx_fill import Fill, fill_package, worksheet_part

#: (sheet name, the CSV file whose rows it holds); a sheet whose CSV the export did not write is
#: left out. 概况, the overview, comes first and is computed (:func:`overview_rows`).
SHEETS: tuple[tuple[str, str], ...] = (
    ("可疑追溯码", "suspicious_codes.csv"),
    ("证据明细", "suspicious_events.csv"),
    ("未扫码销售", "uncoded_sales.csv"),
    ("无法读取的记录", "rejects.csv"),
    ("药店汇总", "summary.csv"),
)
OVERVIEW = "概况"
#: Rows a sheet holds at most (Excel's limit, less the header); more continue on 证据明细_2, ….
MAX_ROWS = 1_048_575
#: A sheet of this many rows or more has its rows written by DuckDB (below it, xlsxwriter's time
#: is less than a query's start).
SQL_ROWS = 1_000
MAX_WIDTH = 60
_NUMBER = re.compile(NUMBER)
_WIDTH_SAMPLE = 500


def workbook_name(scope: str) -> str:
    """``tracecode_<month>.xlsx``, or ``tracecode_all.xlsx`` for every month."""
    return f"tracecode_{scope}.xlsx"


@dataclass
class Summary:
    """What 概况 shows: the scope, the rows of each file, the codes found per rule."""

    scope: str
    rows: dict[str, int]
    findings: list[tuple[str, str, int]]  # (rule id, Chinese label, codes)


def folder_summary(folder: Path, scope: str, encoding: str, catalog: Sequence[tuple[str, str]]) -> Summary:
    """The :class:`Summary` of a folder's CSV files, counted from them (a pharmacy's folder)."""
    rows: dict[str, int] = {}
    found: dict[str, int] = {}
    for _, file in SHEETS:
        if (folder / file).exists():
            header, body = _read(folder / file, encoding)
            rule = next((i for i, h in enumerate(header) if h in ("rule", "规则")), None)
            n = 0
            for record in body:
                n += 1
                if file == "suspicious_codes.csv" and rule is not None:
                    found[record[rule]] = found.get(record[rule], 0) + 1
            rows[file] = n
    return Summary(scope, rows, [(r, name, found.get(r, 0)) for r, name in catalog])


def write_workbooks(staging: Path, scope: str, encoding: str, catalog: Sequence[tuple[str, str]],
                    rows: dict[str, int], findings: dict[str, int], pharmacy_dirs: Sequence[Path] = ()) -> str:
    """The export's workbook in ``staging`` and one in each of ``pharmacy_dirs``; returns its name."""
    labels = dict(catalog)
    write_workbook(staging, Summary(scope, rows, [(r, name, findings.get(r, 0)) for r, name in catalog]),
                   encoding, labels)
    fault_point("export.workbook")
    for folder in pharmacy_dirs:
        write_workbook(folder, folder_summary(folder, scope, encoding, catalog), encoding, labels)
        fault_point("export.workbook")
    return workbook_name(scope)


def overview_rows(summary: Summary, folder: Path, encoding: str) -> list[tuple[str, object]]:
    """概况's rows (项目, 数值): the month, each rule's codes, the rows of each sheet, and the
    amounts of 药店汇总 (its columns named *amount*) summed when the export has them."""
    rows: list[tuple[str, object]] = [("月份", "全部月份" if summary.scope == "all" else summary.scope)]
    rows += [(f"可疑追溯码：{name}（{rule}）", n) for rule, name, n in summary.findings]
    rows.append(("可疑追溯码合计", sum(n for _, _, n in summary.findings)))
    for sheet, file in SHEETS:
        if file in summary.rows:
            rows.append((f"{sheet}行数", summary.rows[file]))
    summary_csv = folder / "summary.csv"
    if summary_csv.exists():
        header, body = _read(summary_csv, encoding)
        amounts = [i for i, name in enumerate(header) if "amount" in name or "金额" in name]
        for i in amounts:
            total = sum(float(v) for r in body for v in [r[i]] if _NUMBER.fullmatch(v))
            rows.append((label(header[i], "zh"), round(total, 2)))
    return rows


def write_workbook(folder: Path, summary: Summary, encoding: str, rule_labels: dict[str, str]) -> Path:
    """Write ``folder``/tracecode_<scope>.xlsx from the CSV files in ``folder``; returns its path.
    ``summary.rows`` gives each file's rows when known (else they are counted)."""
    target = folder / workbook_name(summary.scope)
    # temporary files (xlsxwriter's rows, a GBK file's UTF-8 copy) stay on the output's disk,
    # removed whatever happens
    with tempfile.TemporaryDirectory(prefix=".xlsx-", dir=folder) as tmp:
        package = io.BytesIO()
        # strings are never read as formulas, numbers or links: every cell's type is chosen by _write
        book = xlsxwriter.Workbook(package, {"constant_memory": True, "tmpdir": tmp,
                                             "strings_to_formulas": False, "strings_to_numbers": False,
                                             "strings_to_urls": False})
        styles = _Styles(book.add_format({"bold": True}), book.add_format({"num_format": "@"}))
        _sheet(book, OVERVIEW, ["项目", "数值"], iter(overview_rows(summary, folder, encoding)), styles)
        big: list[_BigSheet] = []
        con = None
        for sheet, file in SHEETS:
            path = folder / file
            if not path.exists():
                continue
            header, body = _read(path, encoding)
            names = [label(h, "zh", rule_labels) for h in header]
            rows = summary.rows.get(file)
            utf8 = path if encoding == "utf-8-sig" else None
            if rows is None:
                con = con or connect(Path(tmp))
                utf8 = utf8 or _utf8_copy(path, encoding, Path(tmp))
                rows = count_rows(con, utf8, len(header))
            if rows < SQL_ROWS:
                _small_sheets(book, sheet, names, body, styles)
                continue
            sample = list(_take(body, _WIDTH_SAMPLE))
            body.close()
            con = con or connect(Path(tmp))
            big.append(_BigSheet(utf8 or _utf8_copy(path, encoding, Path(tmp)), len(header), rows, []))
            for part in range(max(1, -(-rows // MAX_ROWS))):
                title = sheet if part == 0 else f"{sheet}_{part + 1}"
                big[-1].sheets.append(len(book.worksheets()))
                _sheet(book, title, names, iter(sample), styles, later=min(MAX_ROWS, rows - part * MAX_ROWS))
        # the text format's index, which the generated rows name (xlsxwriter gives one to a
        # format when a cell first uses it)
        text_style = styles.text._get_xf_index()
        book.close()

        def fills() -> dict[str, Fill]:
            out: dict[str, Fill] = {}
            for sheet in big:
                stream = SheetRows(con, sheet.path, sheet.columns, sheet.rows, text_style, MAX_ROWS)
                for part, index in enumerate(sheet.sheets):
                    rows = min(MAX_ROWS, sheet.rows - part * MAX_ROWS)
                    out[worksheet_part(index)] = Fill(rows, sheet.columns, stream.part(part))
            return out

        written = Path(tmp) / target.name  # moved into place whole
        try:
            package.seek(0)
            fill_package(package, written, fills)
        finally:
            if con is not None:
                con.close()
        os.replace(written, target)
    return target


@dataclass
class _BigSheet:
    path: Path  # the CSV, UTF-8
    columns: int
    rows: int
    sheets: list[int]  # the worksheet index of each part


def _small_sheets(book: xlsxwriter.Workbook, sheet: str, names: list[str], body: Iterator[list[str]],
                  styles: _Styles) -> None:
    part, rows = 1, iter(body)
    while True:  # a sheet per MAX_ROWS rows; an empty CSV still gets its sheet
        chunk = _take(rows, MAX_ROWS)
        first = next(chunk, None)
        if first is None and part > 1:
            break
        _sheet(book, sheet if part == 1 else f"{sheet}_{part}", names, _chain(first, chunk), styles)
        part += 1


def _utf8_copy(path: Path, encoding: str, folder: Path) -> Path:
    """``path`` re-encoded as UTF-8 in ``folder`` (DuckDB reads no GBK)."""
    copy = folder / (path.name + ".utf8")
    with open(path, encoding=encoding, newline="") as src, open(copy, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    return copy


@dataclass
class _Styles:
    header: object
    text: object


def _read(path: Path, encoding: str) -> tuple[list[str], Iterator[list[str]]]:
    handle = open(path, encoding=encoding, newline="")
    reader = csv.reader(handle)
    header = next(reader, [])
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def body() -> Iterator[list[str]]:
        with handle:
            yield from reader
    return header, body()


def _take(rows: Iterator, n: int) -> Iterator:
    for _ in range(n):
        row = next(rows, None)
        if row is None:
            return
        yield row


def _chain(first, rest: Iterator) -> Iterator:
    if first is not None:
        yield first
        yield from rest


def _sheet(book: xlsxwriter.Workbook, title: str, names: Sequence[str], rows: Iterator[Sequence],
           styles: _Styles, *, later: int | None = None) -> None:
    """A sheet of ``rows``; with ``later``, of its header and layout for ``later`` rows that
    ``rows`` (a sample, for the widths) only begins and that are written into the package after."""
    ws = book.add_worksheet(title)
    sample = list(_take(rows, _WIDTH_SAMPLE))
    widths = [_width(n) for n in names]
    for row in sample:
        for i, v in enumerate(row[:len(widths)]):
            widths[i] = max(widths[i], _width(str(v)))
    for i, w in enumerate(widths):
        ws.set_column(i, i, min(w + 2, MAX_WIDTH))
    ws.freeze_panes(1, 0)
    for c, name in enumerate(names):
        ws.write_string(0, c, clean(name), styles.header)
    r = 0
    if later is None:
        for r, row in enumerate(_chain_all(sample, rows), start=1):
            for c, value in enumerate(row):
                _write(ws, r, c, value, styles)
    ws.autofilter(0, 0, r if later is None else later, max(len(names), 1) - 1)


def _chain_all(sample: list, rest: Iterator) -> Iterator:
    yield from sample
    yield from rest


def _write(ws, r: int, c: int, value: object, styles: _Styles) -> None:
    """A CSV text as a typed cell: a tab-led code or id as text (the tab removed, format @), the
    guard's ' removed from a formula-looking text kept a string, a short number as a number."""
    if not isinstance(value, str):
        if value is not None:
            ws.write_number(r, c, value)
        return
    if value.startswith(TEXT_LEAD):
        ws.write_string(r, c, clean(value[1:]), styles.text)
    elif value == "":
        return
    elif _NUMBER.fullmatch(value):
        ws.write_number(r, c, float(value) if "." in value else int(value))
    else:
        if value[:1] == "'" and value[1:2] in FORMULA_LEADS:
            value = value[1:]
        ws.write_string(r, c, clean(value))  # never a formula


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
