"""Fill worksheets of an xlsx package with rows written elsewhere: every part of the package is
copied as it is, except the named worksheets, whose ``<sheetData>`` (the header row xlsxwriter
wrote) gets the streamed ``<row>`` elements after it, and whose ``<dimension>`` is set to the
rows held.

Every part is deflated at level 1 by ISA-L (``isal``, 4x zlib's speed at the same level and
size, bench/RESULTS.md; zlib where isal is not installed) into a package that stream-zip writes
as it goes. A part is written with ZIP64 sizes only when it turns out to need them (over 2 GiB of
XML): the package is then written again (Excel has trouble with ZIP64 parts it does not need,
xlsxwriter issue 656)."""

from __future__ import annotations

import datetime as dt
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from stream_zip import ZIP_32, ZIP_64, stream_zip
from xlsxwriter.utility import xl_col_to_name

try:
    from isal import isal_zlib as deflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib gives the same package, slower
    deflate = zlib

LEVEL = 1
#: Bytes of package handed to the file at a time.
_WRITE_BYTES = 1 << 20
_MODE = stat.S_IFREG | 0o644
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
    with zipfile.ZipFile(source) as src, open(target, "wb") as out:
        members = (_member(src, info, fills.get(info.filename), info.filename in zip64) for info in src.infolist())
        for chunk in stream_zip(members, chunk_size=_WRITE_BYTES, get_compressobj=_compressobj,
                                extended_timestamps=False):
            out.write(chunk)


def _compressobj():
    return deflate.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)


def _member(src: zipfile.ZipFile, info: zipfile.ZipInfo, fill: Fill | None, big: bool):
    """stream-zip's member for the part ``info``: as it is, or with ``fill``'s rows."""
    data = src.read(info)
    chunks = (data,) if fill is None else _filled(info.filename, data, fill, big)
    return info.filename, dt.datetime(*info.date_time), _MODE, ZIP_64 if big else ZIP_32, chunks


def _filled(name: str, data: bytes, fill: Fill, big: bool) -> Iterator[bytes | memoryview]:
    head, cut, tail = data.partition(_SHEET_DATA_END)
    if not cut:
        raise ValueError(f"{name} has no </sheetData>")
    last = f"{xl_col_to_name(max(fill.columns, 1) - 1)}{fill.rows + 1}"
    head = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>'.encode(), head, count=1)
    size = len(head) + len(cut) + len(tail)
    yield head
    for chunk in fill.chunks:
        size += len(chunk)
        if size > ZIP32_LIMIT and not big:
            raise _NeedsZip64(name)
        yield chunk
    yield cut + tail
