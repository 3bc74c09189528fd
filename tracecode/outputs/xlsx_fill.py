"""Fill worksheets of an xlsx package with rows written elsewhere: every part of the package is
copied as it is, except the named worksheets, whose ``<sheetData>`` (the header row xlsxwriter
wrote) gets the streamed ``<row>`` elements after it, and whose ``<dimension>`` is set to the
rows held.

The streamed parts are deflated at level 1 (bench/RESULTS.md: little slower than storing them,
the rows coming from DuckDB on the other core, and a tenth of the size). A part is written with
ZIP64 sizes only when it turns out to need them (over 2 GiB of XML): the package is then written
again (Excel has trouble with ZIP64 parts it does not need, xlsxwriter issue 656)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable

from xlsxwriter.utility import xl_col_to_name

COMPRESSION = zipfile.ZIP_DEFLATED
LEVEL = 1
#: A part larger than this needs ZIP64 sizes (zipfile's limit, less room for deflate's overhead).
ZIP32_LIMIT = (1 << 31) - 1 - (1 << 24)
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
_SHEET_DATA_END = b"</sheetData>"


@dataclass
class Fill:
    """Rows for one worksheet: ``rows`` <row> elements (after the header row) in ``chunks``,
    ``columns`` wide."""

    rows: int
    columns: int
    chunks: Iterable[bytes | memoryview]


class _NeedsZip64(Exception):
    def __init__(self, part: str):
        super().__init__(part)
        self.part = part


def worksheet_part(index: int) -> str:
    """The package part of the ``index``-th worksheet (0-based) as xlsxwriter names it."""
    return f"xl/worksheets/sheet{index + 1}.xml"


def fill_package(source: IO[bytes], target: Path, fills: Callable[[], dict[str, Fill]]) -> None:
    """Write ``target``: the xlsx package ``source`` with each worksheet part named by
    ``fills()`` holding those rows (consumed in the order of the parts in the package;
    ``fills`` is called again when a part needs ZIP64 sizes)."""
    zip64: set[str] = set()
    while True:
        streams = fills()
        try:
            _write(source, target, streams, zip64)
            return
        except _NeedsZip64 as exc:
            zip64.add(exc.part)
        finally:
            for fill in streams.values():  # a stream left unread lets go of its query
                close = getattr(fill.chunks, "close", None)
                if close is not None:
                    close()


def _write(source: IO[bytes], target: Path, fills: dict[str, Fill], zip64: set[str]) -> None:
    with zipfile.ZipFile(source) as src, \
            zipfile.ZipFile(target, "w", compression=COMPRESSION, compresslevel=LEVEL) as out:
        for info in src.infolist():
            data = src.read(info)
            fill = fills.get(info.filename)
            if fill is None:
                out.writestr(info, data)
                continue
            head, cut, tail = data.partition(_SHEET_DATA_END)
            if not cut:
                raise ValueError(f"{info.filename} has no </sheetData>")
            last = f"{xl_col_to_name(max(fill.columns, 1) - 1)}{fill.rows + 1}"
            head = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>'.encode(), head, count=1)
            big = info.filename in zip64
            with out.open(info.filename, "w", force_zip64=big) as part:
                size = len(head) + len(cut) + len(tail)
                part.write(head)
                for chunk in fill.chunks:
                    size += len(chunk)
                    if size > ZIP32_LIMIT and not big:
                        raise _NeedsZip64(info.filename)
                    part.write(chunk)
                part.write(cut + tail)
