"""Read upload files of every supported format into Arrow batches of canonical text columns.

Every batch holds the canonical columns found in the file (as strings), ``__line`` (the line,
sheet row or record number of each record) and ``__kind`` ('sale', 'return' or null when the
file does not say). Readers stream: memory does not grow with the file size, except for
Excel files and JSON arrays, which are parsed whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tracecode.errors import InputFileError
from tracecode.inputs.columns import (
    REQUIRED_COLUMNS,
    canonical_name,
    column_label,
    required_columns,
)

BATCH_ROWS = 200_000
SNIFF_BYTES = 1 << 20
UTF8_CHECK_BYTES = 1 << 24
#: A CSV line longer than this is no record (a record of real fields is a few KB): it becomes a
#: reject and is never held whole in memory.
MAX_LINE_BYTES = 16 << 20
#: A sheet with this many empty rows in a row holds no more records (a hostile or broken file
#: can carry millions of empty <row/> elements); reading stops there with a reject saying so.
MAX_EMPTY_XLSX_ROWS = 100_000
#: Nor does a run of empty rows holding this many cells (rows of thousands of empty <c/> each
#: cost openpyxl as much as rows of data: some 5 µs a cell).
MAX_EMPTY_XLSX_CELLS = 500_000
#: A workbook part that unpacks to more than this many times its packed size (and to more than
#: XLSX_RATIO_FLOOR bytes) is a zip bomb: real sheets pack 5-20 times, 16 MiB of empty <row/>
#: elements some 700 times.
MAX_XLSX_RATIO = 100
XLSX_RATIO_FLOOR = 16 << 20
#: Parts other than the sheets (shared strings, styles) are parsed whole: a 1M-row export's
#: shared strings are about 100 MB.
MAX_XLSX_PART_BYTES = 256 << 20
#: A whole workbook unpacked (Excel's 1,048,576 rows of 20 columns are under 1 GB of XML).
MAX_XLSX_BYTES = 4 << 30


@dataclass
class BadRecord:
    """A record the reader could not turn into columns (wrong field count, broken JSON, …)."""

    line: int
    field: str
    reason: str
    raw: str


@dataclass
class Source:
    """What a reader found out about a file, filled while reading."""

    path: Path
    format: str
    encoding: str | None = None
    columns: list[str] = field(default_factory=list)  # canonical columns found
    bad_records: list[BadRecord] = field(default_factory=list)
    records: int = 0  # records read, bad ones included
    skipped: int = 0  # blank and all-empty rows: not records, neither stored nor rejected
    header_line: int = 1  # line (CSV) or sheet row (xlsx) of the header; > 1 when a title block is above it
    kind: str = "auto"  # the --kind the file is loaded as (a file of deletes needs other columns)
    utf8: bool | None = None  # whether every byte is UTF-8, when known already (checked while fingerprinting)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputFileError(
        f"{path}: unknown file type {suffix or '(none)'}",
        hint="tracecode reads .csv, .xlsx, .json/.jsonl (NHSA messages) and .parquet",
    )


def check_readable(path: Path) -> None:
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty")


def _mapped(headers: list[str], extra: dict[str, str] | None,
            required: tuple[str, ...] = REQUIRED_COLUMNS) -> tuple[dict[str, str], list[str]]:
    """Input header -> canonical name, and the required columns that are missing."""
    mapping: dict[str, str] = {}
    for header in headers:
        col = canonical_name(header, extra)
        if col and col not in mapping.values():
            mapping[header] = col
    found = set(mapping.values())
    if found & {"medins_prod_sel_no", "fixmedins_bchno"}:  # returns and purchases carry no receipt
        found.add("rtal_docno")  # of their own; a sale without one is a reject of that row
    return mapping, [c for c in required if c not in found]


def map_columns(path: Path, headers: list[str], extra: dict[str, str] | None,
                required: tuple[str, ...] = REQUIRED_COLUMNS) -> dict[str, str]:
    """Map input headers to canonical names; fail clearly when a required column is missing."""
    mapping, missing = _mapped(headers, extra, required)
    if missing:
        shown = ", ".join(h for h in headers[:30] if h) or "(none)"
        raise InputFileError(
            f"{path}: missing required column(s) {', '.join(column_label(c) for c in missing)}; columns found: {shown}",
            hint="name the columns with NHSA field names or Chinese headers, or give a --columns mapping file",
        )
    return mapping


#: How many lines above the header a title block may take (report title, pharmacy, period, blank lines).
MAX_TITLE_LINES = 20


def find_header(rows: list[list[str]], extra: dict[str, str] | None,
                required: tuple[str, ...] = REQUIRED_COLUMNS) -> int:
    """Index of the header row among a file's first rows: the first row naming every required
    column. 0 when none does (the first row is then reported as the header that lacks them)."""
    for index, row in enumerate(rows[:MAX_TITLE_LINES + 1]):
        if any(cell.strip() for cell in row) and not _mapped([c.strip() for c in row], extra, required)[1]:
            return index
    return next((i for i, row in enumerate(rows) if any(c.strip() for c in row)), 0)


# ---------------------------------------------------------------- encodings

MIXED_ENCODING = "utf-8+gb18030"
#: Two CJK characters in UTF-8 in a row: what a UTF-8 line of Chinese text holds. Chunks of a GBK
#: file without this byte pattern hold no UTF-8 Chinese line and need no line-by-line look.
_UTF8_CJK_RUN = re.compile(rb"(?:[\xe4-\xe9][\x80-\xbf]{2}){2}")
_GB_FAMILY = {"gb18030", "gbk", "gb2312", "hz", "ascii", "utf_8", "utf-8"}


def detect_encoding(path: Path, utf8: bool | None = None) -> str:
    """The text encoding of a whole file (read in chunks, memory stays flat): UTF-8 when every
    byte is UTF-8, ``utf-8+gb18030`` when UTF-8 lines of Chinese text sit beside lines that are
    not UTF-8 (an export edited by two programs: each line is then decoded on its own), else
    GB18030 (a superset of GBK; lines it cannot decode become rejects), unless charset-normalizer
    names a clearly different encoding. ``utf8``: whether every byte is UTF-8, when the caller
    checked it already (:class:`Utf8Check`, fed while the file was read for its fingerprint)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputFileError(f"{path}: looks like a binary file, not text", hint="export the data as CSV or .xlsx")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if utf8 is None:
        utf8 = is_utf8(path)
    if utf8:
        return "utf-8"
    if _has_utf8_chinese_lines(path):
        return MIXED_ENCODING
    if _decodes_whole(path, "gb18030"):
        return "gb18030"
    from charset_normalizer import from_bytes

    with open(path, "rb") as fh:
        best = from_bytes(fh.read(SNIFF_BYTES)).best()
    if best is not None and best.encoding not in _GB_FAMILY:
        return best.encoding
    return "gb18030"


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(SNIFF_BYTES):
            yield chunk


def _decodes_whole(path: Path, encoding: str) -> bool:
    """Whether every byte of the file decodes in ``encoding`` (read in chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


class Utf8Check:
    """Whether the pieces of a file fed to it, in order, are all UTF-8, judged as Python's strict
    decoder judges it (surrogates, overlong forms and code points above U+10FFFF refused) but by
    Arrow's validator, ten times faster. Each piece is cut before a byte that starts a
    character; the rest goes with the next, so that no character is split between two."""

    def __init__(self) -> None:
        self._carry = b""
        self._valid = True

    def feed(self, chunk: bytes) -> None:
        if not self._valid:
            return
        data = self._carry + chunk if self._carry else chunk
        cut = _utf8_cut(data)
        self._valid = _valid_utf8(memoryview(data)[:cut])
        self._carry = data[cut:]

    def valid(self) -> bool:
        """The verdict, once the whole file was fed."""
        return self._valid and _valid_utf8(memoryview(self._carry))


def is_utf8(path: Path) -> bool:
    """Whether every byte of the file is UTF-8 (see :class:`Utf8Check`; a 4.7 GB file: 2.35 ->
    1.5 s against Python's decoder, most of it the reading)."""
    check = Utf8Check()
    with open(path, "rb") as fh:
        while chunk := fh.read(UTF8_CHECK_BYTES):
            check.feed(chunk)
    return check.valid()


def _utf8_cut(data: bytes) -> int:
    """Where to end a piece of ``data`` (more follows): before its last byte that is not a
    continuation byte (10xxxxxx) within its last four. Four continuation bytes in a row are not
    UTF-8 wherever the cut falls."""
    for back in range(1, min(4, len(data)) + 1):
        if data[-back] & 0xC0 != 0x80:
            return len(data) - back
    return len(data)


def _valid_utf8(view: memoryview) -> bool:
    offsets = pa.py_buffer(np.array([0, len(view)], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(view)])
    try:
        text.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _utf8_chinese(line: bytes) -> bool:
    """A line of UTF-8 text with Chinese in it (GBK text is almost never valid UTF-8)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 2


def _has_utf8_chinese_lines(path: Path) -> bool:
    return any(_UTF8_CJK_RUN.search(chunk) and any(_utf8_chinese(line) for line in chunk.split(b"\n"))
               for chunk in _chunks(path))


def _plausible_gbk_text(text: str) -> bool:
    """Characters a pharmacy export holds: ASCII, Latin-1, Greek (α-), punctuation, ℃, Roman
    numerals, circled digits, CJK and full-width forms. Decoding bytes of another encoding as
    GB18030 yields rarer characters, so such a line is not decoded with certainty."""
    return all(ch < "\u0100" or "\u0391" <= ch <= "\u03c9" or "\u2000" <= ch <= "\u24ff"
               or "\u3000" <= ch <= "\u303f" or "\u3400" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"
               for ch in text)


def _decode_line(raw: bytes, encoding: str) -> str | None:
    """One line as text, or None when its encoding is not certain."""
    if encoding in ("utf-8", "utf-8-sig", MIXED_ENCODING):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            return None
        return text if _plausible_gbk_text(text) else None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding == "gb18030" and _utf8_chinese(raw):
            return raw.decode("utf-8")
        return None


def _raw_lines(fh) -> Iterator:
    """The lines of a file (bytes or text); None for a line longer than MAX_LINE_BYTES (read
    past in chunks, never held whole)."""
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        if len(raw) <= MAX_LINE_BYTES or raw[-1:] in (b"\n", "\n"):
            yield raw
            continue
        while (rest := fh.readline(MAX_LINE_BYTES)) and rest[-1:] not in (b"\n", "\n"):
            pass
        yield None


def has_long_line(path: Path) -> bool:
    """Whether a line of the file is longer than MAX_LINE_BYTES (read in chunks smaller than
    that, so only a line running over chunk ends can be too long)."""
    run = 0  # bytes of the line still open at the end of the chunks read so far
    for chunk in _chunks(path):
        last = chunk.rfind(b"\n")
        if last < 0:
            run += len(chunk)
        elif run + chunk.find(b"\n") > MAX_LINE_BYTES:
            return True
        else:
            run = len(chunk) - last - 1
        if run > MAX_LINE_BYTES:
            return True
    return False




def _decoded_lines(fh, encoding: str, source: Source, bad_lines: dict[int, str]) -> Iterator[str]:
    """The lines of a binary file as text, each decoded on its own (see ``_decode_line``). A line
    whose encoding is not certain, or longer than MAX_LINE_BYTES, is yielded as an empty line and
    its number put in ``bad_lines`` with the reason: the record becomes a reject, never mojibake
    nor a line held whole in memory."""
    for number, raw in enumerate(_raw_lines(fh), start=1):
        if raw is None:
            bad_lines[number] = f"line too long: more than {MAX_LINE_BYTES:,} bytes; not read"
            yield "\n"
            continue
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        text = _decode_line(raw, encoding)
        if text is None:
            bad_lines[number] = ENCODING_REASON
            yield "\n" if raw.endswith(b"\n") else ""
            continue
        if encoding in ("utf-8", "utf-8-sig") and not raw.isascii():
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                source.encoding = MIXED_ENCODING
        yield text


ENCODING_REASON = "encoding: the line is neither UTF-8 nor GBK (GB18030) text"


# ---------------------------------------------------------------- CSV

def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _read_header(path: Path, encoding: str, extra: dict[str, str] | None,
                 required: tuple[str, ...] = REQUIRED_COLUMNS) -> tuple[list[str], str, int]:
    """The header row, the delimiter and the header's line number; a title block above the
    header (report title, pharmacy, period) is skipped."""
    rows: list[list[str]] = []
    delimiters: list[str] = []
    for text in itertools.islice(_header_lines(path, encoding), MAX_TITLE_LINES + 1):
        text = text.rstrip("\r\n").lstrip("\ufeff")
        delimiter = "\t" if text.count("\t") > text.count(",") else ","
        try:
            rows.append(next(csv.reader([text], delimiter=delimiter), []))
        except csv.Error:
            rows.append([text])
        delimiters.append(delimiter)
    if not rows or all(_blank(r) for r in rows):
        raise InputFileError(f"{path}: no header line found (the first lines are empty)")
    index = find_header(rows, extra, required)
    return [h.strip().lstrip("\ufeff") for h in rows[index]], delimiters[index], index + 1


def _header_lines(path: Path, encoding: str) -> Iterator[str]:
    """The first lines, where the header is looked for (a line too long for a record is none)."""
    if encoding == MIXED_ENCODING:
        with open(path, "rb") as fh:
            for raw in _raw_lines(fh):
                yield "" if raw is None else _decode_line(raw, encoding) or ""
    else:
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            for text in _raw_lines(fh):
                yield "" if text is None else text


class NeedExactReader(Exception):
    """Raised by the fast CSV reader when a record is malformed: Arrow cannot tell its line,
    so the caller rolls back and reads the file again with the exact (slower) reader."""


def read_csv(path: Path, extra: dict[str, str] | None, source: Source, exact: bool = False) -> Iterator[pa.RecordBatch]:
    encoding = detect_encoding(path, source.utf8)
    source.encoding = encoding
    required = required_columns(source.kind)
    headers, delimiter, header_line = _read_header(path, encoding, extra, required)
    source.header_line = header_line
    mapping = map_columns(path, headers, extra, required)
    source.columns = list(mapping.values())
    # A line too long for a record is a reject; only the exact reader reads past it in chunks.
    if exact or encoding == MIXED_ENCODING or len(set(headers)) != len(headers) or has_long_line(path):
        yield from _read_csv_python(path, encoding, headers, delimiter, header_line, mapping, source)
    else:
        yield from _read_csv_arrow(path, encoding, headers, delimiter, header_line, mapping, source)


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding


def _not_blank(batch: pa.RecordBatch) -> pa.Array | None:
    """Mask of the rows with a value in at least one column read; None when none is blank."""
    if batch.num_columns == 0:
        return None
    mask = None
    for column in batch.columns:
        # a cell is blank when empty or all whitespace: as after utf8_trim_whitespace, without
        # copying the column; most batches are settled by their first column
        filled = pc.invert(pc.or_(pc.equal(pc.binary_length(column), 0), pc.utf8_is_space(column)))
        mask = filled if mask is None else pc.or_(mask, filled)
        if pc.all(mask).as_py():
            return None
    return mask


def _read_csv_arrow(path, encoding, headers, delimiter, header_line, mapping, source) -> Iterator[pa.RecordBatch]:
    bad_rows: list[str] = []

    def on_bad_row(row) -> str:
        bad_rows.append(row.text)  # Arrow cannot tell its line: the exact reader reads the file again
        return "skip"

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=_arrow_encoding(encoding), block_size=1 << 24,
                                           skip_rows=header_line - 1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False, invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in headers},
                include_columns=list(mapping.keys()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                # "utf-8" means detect_encoding decoded every byte of the file already: Arrow need
                # not check each string again (0.15-0.3 CPU-s of 0.6-1.4 per 1M rows)
                check_utf8=encoding != "utf-8",
            ),
        )
        line = header_line + 1
        for batch in reader:
            if bad_rows:
                raise NeedExactReader()
            n = batch.num_rows
            lines = pa.array(range(line, line + n), pa.int64())
            line += n
            keep = _not_blank(batch)
            if keep is not None:
                batch, lines = batch.filter(keep), lines.filter(keep)
                source.skipped += n - batch.num_rows
            source.records += batch.num_rows
            if batch.num_rows:
                yield _canonical_batch(batch, mapping, lines)
        if bad_rows:
            raise NeedExactReader()
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        text = str(exc).lower().replace("-", "")
        if encoding not in ("utf-8", "utf-8-sig") or "utf8" in text:
            raise NeedExactReader() from None  # an undecodable line: the exact reader decodes each line
        raise InputFileError(
            f"{path}: cannot read as {encoding} CSV: {str(exc).splitlines()[0]}",
            hint="check the file is CSV text in one encoding (UTF-8 or GBK), one record per line",
        ) from None


def _read_csv_python(path, encoding, headers, delimiter, header_line, mapping, source) -> Iterator[pa.RecordBatch]:
    wanted = first_columns(headers, mapping)
    columns: dict[str, list[str]] = {col: [] for _, col in wanted}
    lines: list[int] = []
    bad_lines: dict[int, str] = {}
    # A quoted cell may span lines; past MAX_LINE_BYTES it is malformed (the cell cap rejects
    # any record with a cell over caps.MAX_CELL_BYTES).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    try:
        with open(path, "rb") as fh:
            reader = csv.reader(_decoded_lines(fh, encoding, source, bad_lines), delimiter=delimiter)
            while reader.line_num < header_line and next(reader, None) is not None:
                pass
            last = reader.line_num
            for record in reader:
                first, line = last + 1, reader.line_num
                last = line
                bad = bad_lines and next((bad_lines[n] for n in range(first, line + 1) if n in bad_lines), None)
                if bad:
                    source.records += 1
                    field = "encoding" if bad == ENCODING_REASON else "(record)"
                    source.bad_records.append(BadRecord(first, field, bad, ""))
                    continue
                if _blank(record):
                    source.skipped += 1
                    continue
                source.records += 1
                if len(record) != len(headers):
                    source.bad_records.append(BadRecord(
                        first, "(record)", f"expected {len(headers)} fields, found {len(record)}",
                        delimiter.join(record)[:500]))
                    continue
                for i, col in wanted:
                    columns[col].append(record[i])
                lines.append(first)
                if len(lines) >= BATCH_ROWS:
                    yield _batch_from_lists(columns, lines)
                    columns = {k: [] for k in columns}
                    lines = []
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: not valid {encoding} text at byte {exc.start}",
            hint="save the file as UTF-8 or GBK (one encoding for the whole file)",
        ) from None
    except csv.Error as exc:
        raise InputFileError(f"{path}: malformed CSV: {exc}") from None
    if lines:
        yield _batch_from_lists(columns, lines)


def first_columns(headers: list[str], mapping: dict[str, str]) -> list[tuple[int, str]]:
    """(index, canonical column) of the mapped headers, each column from its first header only
    (a header given twice is read once, from its first place)."""
    wanted: list[tuple[int, str]] = []
    for i, header in enumerate(headers):
        col = mapping.get(header)
        if col and all(col != c for _, c in wanted):
            wanted.append((i, col))
    return wanted


def _untabbed(array: pa.Array) -> pa.Array:
    """A text column without leading tabs: Chinese systems (and tracecode's own exports) lead
    code and id cells with a tab so that spreadsheets keep their digits."""
    if not pc.any(pc.starts_with(array, "\t")).as_py():
        return array  # the usual case: no copy
    return pc.utf8_ltrim(array, "\t")


def _batch_from_lists(columns: dict[str, list[str]], lines: list[int]) -> pa.RecordBatch:
    arrays = [_untabbed(pa.array(v, pa.string())) for v in columns.values()]
    names = list(columns.keys())
    arrays.append(pa.array(lines, pa.int64()))
    names.append("__line")
    arrays.append(pa.nulls(len(lines), pa.string()))
    names.append("__kind")
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _canonical_batch(batch: pa.RecordBatch, mapping: dict[str, str], lines: pa.Array) -> pa.RecordBatch:
    names = [mapping[n] for n in batch.schema.names]
    arrays = [_untabbed(c) for c in batch.columns] + [lines, pa.nulls(batch.num_rows, pa.string())]
    return pa.RecordBatch.from_arrays(arrays, names=names + ["__line", "__kind"])


# ---------------------------------------------------------------- Excel

def _excel_text(value, column: str | None) -> str:
    """Render an Excel cell as the text a user sees; numbers in the code column keep Excel's
    15-digit display so that a code mangled into a number is caught as invalid."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (int, float)):
        if column == "drug_trac_codg":
            text = "%.15G" % value
            return text if "E" in text or "." in text or len(text) < 16 else text + ".0"
        if column == "sel_retn_time" and 20000 < value < 80000:
            return (dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return str(value)


XLSX_HINT = "open the file in Excel and save it again as .xlsx, or export the data as CSV"


def check_xlsx_size(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than a workbook holds, before any is read.
    (A part never unpacks to more than its declared size: zipfile stops there.)"""
    import zipfile

    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: openpyxl says so
    for part in parts:
        if part.file_size > XLSX_RATIO_FLOOR and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
            raise InputFileError(f"{path}: part {part.filename} unpacks to {part.file_size:,} bytes from "
                                 f"{part.compress_size:,}: a zip bomb, not a workbook", hint=XLSX_HINT)
        if not part.filename.startswith("xl/worksheets/") and part.file_size > MAX_XLSX_PART_BYTES:
            raise InputFileError(f"{path}: part {part.filename} unpacks to {part.file_size:,} bytes; at most "
                                 f"{MAX_XLSX_PART_BYTES:,} are read whole", hint=XLSX_HINT)
    total = sum(part.file_size for part in parts)
    if total > MAX_XLSX_BYTES:
        raise InputFileError(f"{path}: the workbook unpacks to {total:,} bytes; at most {MAX_XLSX_BYTES:,} are read",
                             hint=XLSX_HINT)


def _sheet_rows(path: Path, rows: Iterator[tuple]) -> Iterator[tuple]:
    """The rows of a sheet; a part openpyxl cannot read (a cell reference or number that is
    not one, a shared string that is not there, a damaged zip) is one clear error."""
    number = 0
    try:
        for number, row in enumerate(rows, start=1):
            yield row
    except InputFileError:
        raise
    except Exception as exc:  # openpyxl and zipfile raise many types for a damaged sheet
        raise InputFileError(f"{path}: cannot read the first sheet after row {number:,} ({type(exc).__name__})",
                             hint=XLSX_HINT) from None


def read_xlsx(path: Path, extra: dict[str, str] | None, source: Source) -> Iterator[pa.RecordBatch]:
    import openpyxl

    check_xlsx_size(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InputFileError(f"{path}: cannot open as an Excel .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        rows = _sheet_rows(path, sheet.iter_rows(values_only=True))
        # the first rows keep their cell values: a record among them is read like any other
        # (str() of a code Excel turned into a number is not what Excel shows)
        head = [tuple(row or ()) for _, row in zip(range(MAX_TITLE_LINES + 1), rows)]
        top = [["" if v is None else str(v) for v in row] for row in head]
        if not top or all(_blank(r) for r in top):
            raise InputFileError(f"{path}: the first sheet is empty")
        required = required_columns(source.kind)
        index = find_header(top, extra, required)
        source.header_line = index + 1
        headers = [h.strip() for h in top[index]]
        mapping = map_columns(path, headers, extra, required)
        source.columns = list(mapping.values())
        wanted = first_columns(headers, mapping)
        columns: dict[str, list[str]] = {c: [] for _, c in wanted}
        lines: list[int] = []
        empty = empty_cells = 0
        below = enumerate(head[index + 1:], start=index + 2)
        for row_number, row in itertools.chain(below, enumerate(rows, start=len(top) + 1)):
            if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                empty += 1  # Excel reports trailing formatted-but-empty rows; they hold nothing
                empty_cells += len(row or ())
                source.skipped += 1
                if empty >= MAX_EMPTY_XLSX_ROWS or empty_cells >= MAX_EMPTY_XLSX_CELLS:
                    source.skipped -= 1
                    source.records += 1
                    source.bad_records.append(BadRecord(
                        row_number, "(sheet)", f"stopped reading: {empty:,} empty rows in a row; rows after "
                        f"{row_number:,} were not read (delete the empty rows in Excel if records follow)", ""))
                    break
                continue
            empty = empty_cells = 0
            source.records += 1
            for i, col in wanted:
                columns[col].append(_excel_text(row[i] if i < len(row) else None, col))
            lines.append(row_number)
            if len(lines) >= BATCH_ROWS:
                yield _batch_from_lists(columns, lines)
                columns = {k: [] for k in columns}
                lines = []
        if lines:
            yield _batch_from_lists(columns, lines)
    finally:
        book.close()


# ---------------------------------------------------------------- Parquet

def _text_like(kind: pa.DataType) -> bool:
    """Whether a Parquet column of this type reads as one text value per row: not a list, struct
    or map, not bytes (which need not be UTF-8), and castable to text (an interval is not)."""
    if pa.types.is_dictionary(kind):
        return _text_like(kind.value_type)
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind) \
            or pa.types.is_fixed_size_binary(kind) or str(kind) == "binary_view":
        return False
    try:
        pa.array([], kind).cast(pa.string())
    except (pa.ArrowException, TypeError):
        return False
    return True


def read_parquet(path: Path, extra: dict[str, str] | None, source: Source) -> Iterator[pa.RecordBatch]:
    try:
        pfile = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    headers = pfile.schema_arrow.names
    mapping = map_columns(path, headers, extra, required_columns(source.kind))
    for header in [*mapping, *(["kind"] if "kind" in headers else [])]:
        kind = pfile.schema_arrow.field(header).type
        if not _text_like(kind):
            raise InputFileError(f"{path}: column {header} holds {kind}, not text or numbers",
                                 hint="write each field as a text column (one value per row)")
    source.columns = list(mapping.values())
    kind_column = "kind" if "kind" in headers else None
    wanted = list(mapping.keys()) + ([kind_column] if kind_column else [])
    line = 1
    for batch in pfile.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
        n = batch.num_rows
        arrays, names = [], []
        for header in mapping:
            col = batch.column(header)
            arrays.append(col.cast(pa.string()).fill_null(""))
            names.append(mapping[header])
        arrays.append(pa.array(range(line, line + n), pa.int64()))
        names.append("__line")
        arrays.append(batch.column(kind_column).cast(pa.string()) if kind_column else pa.nulls(n, pa.string()))
        names.append("__kind")
        source.records += n
        line += n
        yield pa.RecordBatch.from_arrays(arrays, names=names)
