"""What one upload file may cost, whatever its format: a cell longer than any real field is a
reject of its record (naming the column), never a stored megabyte of text."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tracecode.inputs.readers import BadRecord, Source

#: The longest cell a record may hold, in UTF-8 bytes. The longest real field is a name or a few
#: codes in one cell (a 30-code cell is under 1 KB); Excel itself stops a cell at 32,767 characters.
MAX_CELL_BYTES = 64 * 1024


def cell_too_long_reason(size: int) -> str:
    return f"cell too long: {size:,} bytes, more than the {MAX_CELL_BYTES:,} a cell may hold"


def cap_cells(batch: pa.RecordBatch, source: Source) -> pa.RecordBatch:
    """``batch`` without the records that hold a cell over MAX_CELL_BYTES; each of those is a
    bad record of ``source`` naming its first over-long column (the record stays counted as
    read)."""
    text_columns = [n for n in batch.schema.names if not n.startswith("__")]
    over = {}
    for name in text_columns:
        lengths = pc.binary_length(batch.column(name))
        if (pc.max(lengths).as_py() or 0) > MAX_CELL_BYTES:
            over[name] = lengths.fill_null(0).to_numpy(zero_copy_only=False)
    if not over:
        return batch
    lines = batch.column("__line").to_numpy(zero_copy_only=False)
    drop = np.zeros(batch.num_rows, dtype=bool)
    for name, lengths in over.items():
        for i in np.flatnonzero((lengths > MAX_CELL_BYTES) & ~drop):
            cell = batch.column(name)[int(i)].as_py()
            source.bad_records.append(BadRecord(int(lines[i]), name, cell_too_long_reason(int(lengths[i])),
                                                cell[:200]))
        drop |= lengths > MAX_CELL_BYTES
    return batch.filter(pa.array(~drop))


def capped(reader: Callable[..., Iterator[pa.RecordBatch]]) -> Callable[..., Iterator[pa.RecordBatch]]:
    """``reader`` whose batches go through :func:`cap_cells`."""

    def read(path, extra, source: Source, **options) -> Iterator[pa.RecordBatch]:
        for batch in reader(path, extra, source, **options):
            yield cap_cells(batch, source)

    read.__doc__ = reader.__doc__
    return read
