"""NHSA 35xx messages (JSON) as real HIS/POS integrations send them, read into the canonical
columns: the 2025 and 2021 layouts of 3505 (sale) and 3506 (return), 3503/3504 (purchase and
purchase return, ``input.purcinfo``), the 3505A batch form,
the pharmacy code only in the message header, ``drugtracinfo`` as a list, an object, a JSON
string, empty or absent (a flat ``drug_trac_codg`` then stands), ``input`` or its record list
as a JSON string, one message per line, a JSON array, or pretty-printed messages over many
lines, and the time forms DOMAIN.md lists (converted to China time, +08:00).

One record per sale/return line (``selinfo`` item); a 3507 delete (``input.data``) is one
record of kind ``delete``, its time the header's ``inf_time``. A message tracecode does not use
(3501, 3502) or cannot read (an encrypted ``input``) is a reject whose reason says exactly that.
A file of messages one per line is read in pieces: a piece of plain sale and return messages
by Arrow's JSON reader (:mod:`tracecode.inputs.nhsa_arrow`), any other by the Python reader
here (by worker processes in a large file), with the same records, lines and rejects.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import re
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from tracecode.errors import InputFileError
from tracecode.inputs.columns import INPUT_COLUMNS, canonical_name
from tracecode.inputs.nhsa_arrow import plain_message_batches
from tracecode.inputs.nhsa_time import china_time
from tracecode.inputs.readers import (
    BATCH_ROWS,
    MIXED_ENCODING,
    BadRecord,
    Source,
    detect_encoding,
)

#: infno -> the kind of its records.
KINDS = {"3505": "sale", "3505A": "sale", "3506": "return", "3503": "purchase", "3504": "purchase_return",
         "3507": "delete"}
#: infno of records tracecode reads but does not use yet, with the reason a reject states.
UNUSED = {
    "3501": "3501 inventory records are not used",
    "3502": "3502 stock change records are not used",
}
#: Where a message's records sit under ``input``.
RECORD_KEYS = ("selinfo", "selinfoDetail", "selinfo_detail", "purcinfo", "data")
#: A message longer than this (one line, or pretty-printed over many) is broken, not a message;
#: a longer line is read past in chunks, never held whole.
MAX_MESSAGE_CHARS = 10 << 20
#: A JSON array is parsed whole (Python objects take about ten times the file's bytes); a larger
#: one must be written one message per line, which is read message by message.
MAX_ARRAY_BYTES = 64 << 20
#: A file of messages larger than this is read by worker processes (one per core but one, 2 to
#: MAX_WORKERS), CHUNK_BYTES at a time: the reader is Python, one message at a time, and is what
#: an ingest of messages waits for.
PARALLEL_MIN_BYTES = 32 << 20
MAX_WORKERS = 8
CHUNK_BYTES = 8 << 20
#: Encodings where a line break and ``{`` are single bytes no other character contains.
PARALLEL_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
SURROGATE_REASON = ("encoding: a JSON string holds an unpaired UTF-16 surrogate escape (ud800 to udfff), "
                    "not a character")
_SURROGATE = re.compile("[\ud800-\udfff]")
def trace_codes(value: object) -> list[str] | None:
    """The codes a ``drugtracinfo`` value holds (list, object, JSON string, plain code string);
    None when it holds none (empty or absent: a flat code of the record then stands)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[0] in "[{":
            try:
                return trace_codes(json.loads(text))
            except (json.JSONDecodeError, RecursionError):
                return [text]
        return [text]
    if isinstance(value, dict):
        for key in ("drug_trac_codg", "drugtracinfo", "drug_trac_codg_list"):
            if key in value:
                return trace_codes(value[key])
        return None
    if isinstance(value, list):
        found = [c for item in value for c in (trace_codes(item) or [])]
        return found or None
    return [str(value)]


def _parsed(value: object) -> object:
    """A value that may arrive as a JSON string (``input``, ``purcinfo``), parsed."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value


def message_records(message: dict) -> tuple[str | None, list | None, str | None]:
    """(infno, the record items, reject reason) of one message (the reason starts with the
    field it is about: ``infno``, ``input`` or ``input.selinfo``). A message without a header
    (just ``input`` or just the records) has no infno: the file's kind applies."""
    infno = str(message.get("infno", "")).strip().upper() or None
    body = _parsed(message.get("input", message))
    if isinstance(body, str):
        return infno, None, "input is encrypted (SM4): decrypt before loading" if body.strip() else "input is empty"
    if infno in UNUSED:
        return infno, None, UNUSED[infno]
    if infno is not None and infno not in KINDS:
        return infno, None, f"unsupported infno {infno}; expected 3503, 3504, 3505, 3505A, 3506 or 3507"
    if not isinstance(body, dict):
        return infno, None, "input is not a JSON object"
    for key in RECORD_KEYS:
        if key in body:
            items = _parsed(body[key])
            items = [items] if isinstance(items, dict) else items
            if isinstance(items, list) and items:
                return infno, items, None
            return infno, None, f"input.{key} holds no record"
    if "drug_trac_codg" in body or "drugtracinfo" in body or "sel_retn_time" in body:
        return infno, [body], None  # a bare sale line
    return infno, None, "no sale or return record (input.selinfo) in the message"


def record_columns(header: dict, item: dict, extra: dict[str, str] | None,
                   names: dict[str, str | None] | None = None) -> dict[str, str]:
    """The canonical columns of one record: the header's plain fields (the pharmacy code is
    often only there), overridden by the record's own. ``names`` caches the canonical name of
    each field name met (every message of a file repeats the same few dozen)."""
    merged = {k: v for k, v in header.items() if not isinstance(v, (dict, list))}
    merged.update({k: v for k, v in item.items() if k != "drugtracinfo" and not isinstance(v, (dict, list))})
    if names is None:
        names = {}
    canonical: dict[str, str] = {}
    time_value: object = None
    for key, value in merged.items():
        try:
            col = names[key]
        except KeyError:
            col = names[key] = canonical_name(str(key), extra)
        if col and col not in canonical:
            canonical[col] = "" if value is None else str(value)
            if col == "sel_retn_time":
                time_value = value
    codes = trace_codes(item.get("drugtracinfo"))
    if codes:
        canonical["drug_trac_codg"] = ",".join(codes)
    if "sel_retn_time" in canonical:
        canonical["sel_retn_time"] = china_time(time_value)
    elif str(header.get("infno", "")).strip() == "3507" and header.get("inf_time") not in (None, ""):
        canonical["sel_retn_time"] = china_time(header["inf_time"])  # when the delete was sent
    return canonical


def _messages(path: Path, encoding: str) -> Iterator[tuple[int, object]]:
    """(line where it starts, message or BadRecord) for every message of the file: a JSON
    array, one message per line, or messages pretty-printed over many lines."""
    try:
        with open(path, encoding=encoding, errors="strict") as fh:
            head = fh.read(4096)
            fh.seek(0)
            if head.lstrip().startswith("["):
                size = path.stat().st_size
                if size > MAX_ARRAY_BYTES:
                    raise InputFileError(
                        f"{path}: a JSON array of {size:,} bytes; at most {MAX_ARRAY_BYTES:,} are read as one array",
                        hint="write the messages one per line (.jsonl): such a file is read message by message")
                try:
                    messages = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise InputFileError(f"{path}: not valid JSON: {exc}") from None
                except RecursionError:
                    raise InputFileError(f"{path}: JSON nested too deeply to be an NHSA message") from None
                for number, message in enumerate(messages if isinstance(messages, list) else [messages], start=1):
                    yield number, message
                return
            yield from _message_lines(fh)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not valid {encoding} text: {exc.reason}") from None


def _message_lines(fh, first_line: int = 1) -> Iterator[tuple[int, object]]:
    """Messages one per line, or pretty-printed over many lines (copied from an HIS log
    dialog). A line starting with ``{`` at its first column starts a new message."""
    buffer: list[str] = []
    size = start = 0

    def broken(reason: str) -> BadRecord:
        return BadRecord(start, "(record)", reason, "".join(buffer)[:500])

    for number, line in enumerate(_lines(fh), start=first_line):
        if line is None:
            if buffer:
                yield start, broken("invalid JSON: the message is not complete")
                buffer, size = [], 0
            yield number, BadRecord(number, "(record)",
                                    f"message too long: more than {MAX_MESSAGE_CHARS:,} characters; not read", "")
            continue
        if buffer and line.startswith(("{", "[")):
            yield start, broken("invalid JSON: the message is not complete")
            buffer, size = [], 0
        if not buffer:
            if not line.strip():
                continue
            start = number
        buffer.append(line)
        size += len(line)
        if not line.rstrip().endswith(("}", "]")) and size < MAX_MESSAGE_CHARS:
            continue  # a pretty-printed message goes on
        text = "".join(buffer)
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.pos >= len(text.rstrip()) and size < MAX_MESSAGE_CHARS:
                continue  # not complete yet
            yield start, broken(f"invalid JSON: {exc.msg}")
        except RecursionError:
            yield start, broken("JSON nested too deeply")
        else:
            yield start, message
        buffer, size = [], 0
    if buffer:
        yield start, broken("invalid JSON: the message is not complete")


def _lines(fh) -> Iterator[str | None]:
    """The lines of a text file; None for a line longer than MAX_MESSAGE_CHARS (read past in
    chunks, never held whole)."""
    while line := fh.readline(MAX_MESSAGE_CHARS + 1):
        if len(line) <= MAX_MESSAGE_CHARS or line.endswith("\n"):
            yield line
            continue
        while (rest := fh.readline(MAX_MESSAGE_CHARS)) and not rest.endswith("\n"):
            pass
        yield None


def _unpaired_surrogate(canonical: dict[str, str]) -> str | None:
    """The column whose value holds an unpaired surrogate (JSON's \\ud800 escape; no text can
    hold one), or None."""
    values = "".join(canonical.values())
    if values.isascii() or not _SURROGATE.search(values):
        return None
    for col, value in canonical.items():
        if not value.isascii() and _SURROGATE.search(value):
            return col
    return None


def _reject_field(reason: str) -> str:
    if reason.startswith(("3", "unsupported infno")):
        return "infno"
    return "input" if reason.startswith("input is") else "input.selinfo"


def read_messages(path: Path, extra: dict[str, str] | None, source: Source,
                  processes: bool = False) -> Iterator[pa.RecordBatch]:
    """The records of a file of NHSA messages, piece by piece where it can be cut (see
    :func:`_chunks`); with ``processes``, the pieces of a large one that Arrow's JSON reader
    cannot read are read by worker processes."""
    encoding = detect_encoding(path, source.utf8)
    source.encoding = encoding
    if encoding == MIXED_ENCODING:
        raise InputFileError(f"{path}: mixes UTF-8 and GBK text", hint="save the messages in one encoding (UTF-8)")
    source.columns = list(INPUT_COLUMNS)
    pieces = _chunks(path) if _readable_in_pieces(path, encoding) else None
    if pieces is None:
        yield from _record_batches(_messages(path, encoding), extra, source)
        return
    # Piece by piece in this process while Arrow reads them; from the first piece it cannot,
    # by worker processes where asked (Python, one message at a time, is what they share).
    for number, (start, end, first_line) in enumerate(pieces):
        data = _piece_bytes(path, start, end)
        result = _plain_piece(data, first_line, encoding, extra)
        if result is None and processes and len(pieces) - number > 1 and _worth_processes(path):
            yield from _parallel_batches(path, encoding, extra, source, pieces[number:])
            return
        if result is None:
            try:
                result = _python_piece(path, data, first_line, encoding, extra)
            except UnicodeDecodeError as exc:
                raise InputFileError(f"{path}: not valid {encoding} text: {exc.reason}") from None
        yield from _taken_result(result, source)


def _readable_in_pieces(path: Path, encoding: str) -> bool:
    """Messages one per line (or pretty-printed), not a JSON array, in an encoding where a line
    break and ``{`` are single bytes that no character contains."""
    if encoding not in PARALLEL_ENCODINGS:
        return False
    with open(path, "rb") as fh:
        head = fh.read(4096)
    return not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def _worth_processes(path: Path) -> bool:
    """A file large enough to share among worker processes, on a machine of 2+ cores."""
    return (os.cpu_count() or 1) >= 2 and path.stat().st_size >= PARALLEL_MIN_BYTES


def _chunks(path: Path) -> list[tuple[int, int, int]] | None:
    """(start, end, number of the first line) of pieces of about CHUNK_BYTES, cut only before a
    line that starts with ``{``, where the line-by-line reader starts a new message anyway; None
    when a piece would grow past 4 x CHUNK_BYTES without such a line (one huge line or message:
    read in one pass, in bounded memory). The file is read a piece at a time: memory stays
    within a few pieces whatever its size (a map of the whole file counted all of it as
    resident: 4.7 GB for a 4.7 GB file)."""
    size = path.stat().st_size
    if not size:
        return [(0, 0, 1)]
    pieces = []
    with open(path, "rb") as fh:
        start, line = 0, 1
        while start < size:
            end, reach = size, CHUNK_BYTES
            window = fh.read(min(reach, size - start))
            while start + reach < size:  # else the rest of the file is the last piece
                if (cut := window.rfind(b"\n{", 0, reach) + 1) > 0:
                    end = start + cut
                    break
                if reach > 4 * CHUNK_BYTES:
                    return None
                window += fh.read(min(CHUNK_BYTES, size - start - reach))
                reach += CHUNK_BYTES
            pieces.append((start, end, line))
            line += _line_ends(window, end - start)
            start = end
            fh.seek(start)
    return pieces


def _line_ends(data: bytes, length: int) -> int:
    """How many lines end in the first ``length`` bytes of ``data`` as the text reader counts
    them: \n, \r\n and a lone \r each end one."""
    raw = np.frombuffer(data, dtype=np.uint8, count=length)
    breaks = int(np.count_nonzero(raw == 10))
    if data.find(b"\r", 0, length) >= 0:
        returns = raw == 13
        breaks += int(np.count_nonzero(returns)) - int(np.count_nonzero(returns[:-1] & (raw[1:] == 10)))
    return breaks


PieceResult = tuple[list[pa.RecordBatch], int, list[BadRecord]]


def _chunk_batches(path: Path, start: int, end: int, first_line: int, encoding: str,
                   extra: dict[str, str] | None) -> PieceResult:
    """In a worker process: the batches, records read and bad records of one piece of the file."""
    data = _piece_bytes(path, start, end)
    return _plain_piece(data, first_line, encoding, extra) or _python_piece(path, data, first_line, encoding, extra)


def _piece_bytes(path: Path, start: int, end: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def _plain_piece(data: bytes, first_line: int, encoding: str, extra: dict[str, str] | None) -> PieceResult | None:
    """A piece read by Arrow's JSON reader, when every line of it is a plain sale or return
    message (:mod:`tracecode.inputs.nhsa_arrow`); else None."""
    if encoding == "gb18030":
        try:  # Arrow reads UTF-8 only; the Python reader decodes the same way
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            return None
    elif encoding not in ("utf-8", "utf-8-sig"):
        return None
    plain = plain_message_batches(data, first_line, extra, MAX_MESSAGE_CHARS)
    return None if plain is None else (plain[0], plain[1], [])


def _python_piece(path: Path, data: bytes, first_line: int, encoding: str, extra: dict[str, str] | None) -> PieceResult:
    """A piece read by the Python reader, one message at a time."""
    source = Source(path, "json")
    fh = io.StringIO(data.decode(encoding), newline=None)
    batches = list(_record_batches(_message_lines(fh, first_line), extra, source))
    return batches, source.records, source.bad_records


def _ignore_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _parallel_batches(path: Path, encoding: str, extra: dict[str, str] | None, source: Source,
                      pieces: list[tuple[int, int, int]]) -> Iterator[pa.RecordBatch]:
    """The file's pieces read by worker processes, their results taken in file order: the same
    records, lines and rejects as reading it in one pass."""
    workers = max(2, min(MAX_WORKERS, (os.cpu_count() or 1) - 1))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_ignore_interrupt)
    pending: deque = deque()
    try:
        for start, end, first_line in pieces:
            pending.append(pool.submit(_chunk_batches, path, start, end, first_line, encoding, extra))
            if len(pending) > workers:
                yield from _taken(pending.popleft(), path, encoding, source)
        while pending:
            yield from _taken(pending.popleft(), path, encoding, source)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _taken(future, path: Path, encoding: str, source: Source) -> Iterator[pa.RecordBatch]:
    try:
        result = future.result()
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not valid {encoding} text: {exc.reason}") from None
    yield from _taken_result(result, source)


def _taken_result(result: PieceResult, source: Source) -> Iterator[pa.RecordBatch]:
    batches, records, bad = result
    source.records += records
    source.bad_records.extend(bad)
    yield from batches


def _record_batches(messages: Iterable[tuple[int, object]], extra: dict[str, str] | None,
                    source: Source) -> Iterator[pa.RecordBatch]:
    """The records of numbered messages as batches of the canonical columns; each bad one a
    BadRecord of ``source``."""
    columns: dict[str, list[str]] = {c: [] for c in INPUT_COLUMNS}
    lines: list[int] = []
    kinds: list[str | None] = []

    def flush() -> pa.RecordBatch:
        arrays = [pa.array(v, pa.string()) for v in columns.values()]
        arrays += [pa.array(lines, pa.int64()), pa.array(kinds, pa.string())]
        return pa.RecordBatch.from_arrays(arrays, names=list(columns) + ["__line", "__kind"])

    names: dict[str, str | None] = {}
    column_lists = list(columns.items())
    for number, message in messages:
        if isinstance(message, BadRecord):
            source.records += 1
            source.bad_records.append(message)
            continue
        if not isinstance(message, dict):
            source.records += 1
            source.bad_records.append(BadRecord(number, "(record)", "not a JSON object", str(message)[:500]))
            continue
        infno, items, reason = message_records(message)
        if reason is not None:
            source.records += 1
            source.bad_records.append(BadRecord(number, _reject_field(reason), reason,
                                                json.dumps(message, ensure_ascii=False)[:500]))
            continue
        for item in items:
            source.records += 1
            if not isinstance(item, dict):
                source.bad_records.append(BadRecord(number, "input.selinfo", "selinfo item is not an object",
                                                    str(item)[:500]))
                continue
            canonical = record_columns(message, item, extra, names)
            bad_column = _unpaired_surrogate(canonical)
            if bad_column is not None:
                source.bad_records.append(BadRecord(number, bad_column, SURROGATE_REASON,
                                                    json.dumps(item, ensure_ascii=True)[:500]))
                continue
            get = canonical.get
            for col, values in column_lists:
                values.append(get(col, ""))
            lines.append(number)
            kinds.append(KINDS.get(infno) if infno else None)
            if len(lines) >= BATCH_ROWS:
                yield flush()
                for v in columns.values():
                    v.clear()
                lines.clear()
                kinds.clear()
    if lines:
        yield flush()
