"""The usual NHSA message file read by Arrow's JSON reader (C++, every core) instead of one
``json.loads`` and dict walk per message: one 3505/3506 message per line, ``input.selinfo`` an
object or a list of objects, ``drugtracinfo`` a list of ``{"drug_trac_codg": ...}``.

:func:`plain_message_batches` gives exactly the records, columns, line numbers and kinds that
:func:`tracecode.inputs.nhsa_json._record_batches` gives for the same piece of a file, or None
when the piece holds anything else (another infno, a pretty-printed or broken message, a field
sent in two spellings, an id sent as a number too large for 64 bits, ...): the caller then reads
that piece with the Python reader, which knows every form. The one difference allowed is the
text of a quantity or price sent as a JSON number, which both readers turn into the same number
(``2`` may read as ``2.0``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from tracecode.inputs.columns import INPUT_COLUMNS, canonical_name
from tracecode.inputs.nhsa_time import china_time
from tracecode.inputs.readers import BATCH_ROWS

#: infno read here, with the kind of their records (3503/3504, 3507 and the rest: Python reader).
KINDS = {"3505": "sale", "3505A": "sale", "3506": "return"}
#: Record fields parsed as text whatever they look like (Arrow would read a date as a timestamp;
#: another field that it reads so sends the piece to the Python reader).
_ITEM_TEXT_FIELDS = ("sel_retn_time", "manu_date", "expy_end")
#: Columns whose JSON numbers may arrive as doubles: SQL reads them as numbers.
_NUMBER_COLUMNS = ("sel_retn_cnt", "price")
_PLAIN_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
#: The characters Python's ``str.isspace()`` calls white space: what ``str.strip()`` removes
#: (tests/inputs/test_nhsa_arrow.py checks it against Python).
PY_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
            "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_MAX_DEPTH = 8
#: A line with more ``{`` and ``[`` than this is left to the Python reader.
MAX_BRACKETS = 1000


def plain_message_batches(data: bytes, first_line: int, extra: dict[str, str] | None,
                          max_line_bytes: int) -> tuple[list[pa.RecordBatch], int] | None:
    """(batches, records) of a piece of a UTF-8 message file that starts at line ``first_line``,
    or None when some line of it is not a plain 3505/3506 message (see the module)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = np.frombuffer(data, dtype=np.uint8)
    if not len(raw):
        return None
    size = len(raw) - (raw[-1] == 10)  # the text before a last line break
    ends = np.flatnonzero(raw[:size] == 10)
    returns = data.count(b"\r")
    # no control character but line ends (json.loads refuses them inside strings), and no lone \r
    # (a line end to the Python reader)
    if np.count_nonzero(raw < 32) != len(ends) + (size < len(raw)) + returns:
        return None
    if returns and returns != data.count(b"\r\n"):
        return None
    starts = np.r_[0, ends + 1]
    stops = np.r_[ends, size]
    last = stops - 1 - (raw[np.maximum(stops - 1, 0)] == 13)
    if (raw[starts] != ord("{")).any() or (raw[np.maximum(last, 0)] != ord("}")).any():
        return None
    lengths = stops - starts
    if lengths.max() > max_line_bytes:
        return None
    # Arrow's parser recurses, and overflows its stack some 10,000 levels deep; the brackets a
    # line holds bound its depth (json.loads gives up near 1,000: the Python reader's reject)
    for line in np.flatnonzero(lengths > MAX_BRACKETS):
        start, stop = int(starts[line]), int(stops[line])
        if data.count(b"{", start, stop) + data.count(b"[", start, stop) > MAX_BRACKETS:
            return None
    table = _parsed(data)
    if table is None or table.num_rows != len(starts) or _depth(table.schema) > _MAX_DEPTH:
        return None
    # with no null in the text, a field Arrow gives as null was absent from that record
    return _records(table, first_line, extra, nulls_sent=b"null" in data)


def _parsed(data: bytes) -> pa.Table | None:
    item = pa.struct([pa.field(name, pa.string()) for name in _ITEM_TEXT_FIELDS])
    for selinfo in (item, pa.list_(item)):
        schema = pa.schema([pa.field("input", pa.struct([pa.field("selinfo", selinfo)]))])
        options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
        try:
            table = pajson.read_json(pa.py_buffer(data), parse_options=options)
            # pyarrow 26 leaves out a null that leads a list of text ([null, "x"]): the array
            # is then invalid, and the piece is the Python reader's
            table.validate(full=True)
            return table
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _depth(schema_or_type) -> int:
    fields = list(schema_or_type) if isinstance(schema_or_type, pa.Schema) else []
    if isinstance(schema_or_type, pa.DataType):
        if pa.types.is_struct(schema_or_type):
            fields = [schema_or_type.field(i) for i in range(schema_or_type.num_fields)]
        elif pa.types.is_list(schema_or_type) or pa.types.is_large_list(schema_or_type):
            return 1 + _depth(schema_or_type.value_type)
        else:
            return 0
    return 1 + max((_depth(f.type) for f in fields), default=0)


def _records(table: pa.Table, first_line: int, extra: dict[str, str] | None,
             nulls_sent: bool) -> tuple[list[pa.RecordBatch], int] | None:
    table = table.combine_chunks()
    if "infno" not in table.column_names or "input" not in table.column_names:
        return None
    infno = table.column("infno").chunk(0) if table.column("infno").num_chunks else None
    if infno is None or infno.type != pa.string() or infno.null_count:
        return None
    if not pc.all(pc.is_in(infno, pa.array(list(KINDS)))).as_py():
        return None
    body = table.column("input").chunk(0)
    if body.null_count:
        return None
    selinfo = body.field("selinfo")
    if selinfo.null_count:
        return None
    if pa.types.is_list(selinfo.type):
        if pc.any(pc.equal(pc.list_value_length(selinfo), 0)).as_py():
            return None
        parents = pc.list_parent_indices(selinfo).to_numpy()
        items = pc.list_flatten(selinfo)
        if items.null_count:
            return None
    else:
        parents = np.arange(len(selinfo))
        items = selinfo
    items = _struct_fields(items)
    header = {name: table.column(name).chunk(0) for name in table.column_names if name != "input"}
    # Which field fills which column: a column claimed by two spellings is the Python reader's
    # to settle (it takes the first in each message's own order).
    claims: dict[str, set[str]] = {}
    for name in list(header) + [n for n in items if n != "drugtracinfo"]:
        col = canonical_name(name, extra)
        if col:
            claims.setdefault(col, set()).add(name)
    if any(len(names) > 1 for names in claims.values()):
        return None
    take = pa.array(parents, pa.int64())
    columns: dict[str, pa.Array] = {}
    for col, (name,) in claims.items():
        own = items.get(name)
        inherited = header.get(name)
        if inherited is not None:
            if pa.types.is_struct(inherited.type) or pa.types.is_list(inherited.type):
                if own is None:
                    continue  # an object or list in the header is no field (Python skips it)
                inherited = None
            elif not _plain_type(inherited.type, col):
                return None
            else:
                inherited = inherited.take(take)
        if own is not None and not _plain_type(own.type, col):
            return None
        if own is not None and inherited is not None:
            # a record's field wins over the header's, even when null (Python: ""); Arrow gives
            # an absent field as null too
            if not pc.any(pc.and_(own.is_null(), inherited.is_valid())).as_py():
                value = own
            elif not nulls_sent and own.type == inherited.type:
                value = pc.coalesce(own, inherited)
            else:
                return None
        else:
            value = own if own is not None else inherited
        text = _time_text(value) if col == "sel_retn_time" else _text(value)
        if text is None:
            return None
        columns[col] = text
    codes = _trace_codes(items.get("drugtracinfo"), len(parents))
    if codes is False:
        return None
    if codes is not None:
        joined, has_codes = codes
        flat = columns.get("drug_trac_codg", pa.array([""] * len(parents), pa.string()))
        columns["drug_trac_codg"] = pc.if_else(has_codes, joined, flat)
    n = len(parents)
    empty = pa.array([""] * n, pa.string())
    lines = pa.array(first_line + parents, pa.int64())
    kinds = pc.if_else(pc.equal(infno, "3506"), "return", "sale").take(take)
    arrays = [columns.get(col, empty) for col in INPUT_COLUMNS] + [lines, kinds]
    whole = pa.RecordBatch.from_arrays(arrays, names=list(INPUT_COLUMNS) + ["__line", "__kind"])
    return [whole.slice(i, BATCH_ROWS) for i in range(0, n, BATCH_ROWS)], n


def _struct_fields(array: pa.StructArray) -> dict[str, pa.Array]:
    """The fields of a struct array by name, the struct's nulls applied to each."""
    return {array.type.field(i).name: f for i, f in enumerate(array.flatten())}


def _plain_type(type_: pa.DataType, col: str) -> bool:
    if pa.types.is_string(type_) or pa.types.is_null(type_) or pa.types.is_int64(type_):
        return True
    return pa.types.is_floating(type_) and col in _NUMBER_COLUMNS


def _text(values: pa.Array) -> pa.Array | None:
    """Values as Python's ``str()`` writes them, "" for null."""
    if pa.types.is_null(values.type):
        return pa.array([""] * len(values), pa.string())
    if pa.types.is_floating(values.type):
        return pc.fill_null(float_text(values), "")
    return pc.fill_null(values.cast(pa.string()), "")


def float_text(values: pa.Array) -> pa.Array:
    """Doubles as Python's ``str()`` writes them. Arrow writes the same shortest digits, and the
    same text where Python writes a fraction (1e-4 <= |x| < 1e16), but ``2`` for ``2.0``: that
    ".0" is added; the rest (exponents, where the two choose differently) goes through ``str``."""
    text = values.cast(pa.string())
    whole = pc.match_substring_regex(text, r"^-?[0-9]+$")
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    size = pc.abs(values)
    tiny = pc.and_(pc.less(size, 1e-4), pc.not_equal(size, 0))
    odd = pc.or_(pc.or_(tiny, pc.greater_equal(size, 1e16)), pc.match_substring(text, "e"))
    rows = np.flatnonzero(odd.fill_null(False).to_numpy(zero_copy_only=False))
    if not len(rows):
        return text
    fixed = pa.array([str(v) for v in values.take(pa.array(rows)).to_pylist()], pa.string())
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), fixed)


def _time_text(values: pa.Array) -> pa.Array | None:
    """The sale time as :func:`tracecode.inputs.nhsa_time.china_time` writes it: the usual
    ``yyyy-MM-dd HH:mm:ss`` text as it is, the other forms (epoch numbers, ISO with an offset,
    no space) through china_time itself."""
    if pa.types.is_null(values.type):
        return _text(values)
    if pa.types.is_string(values.type):
        plain = pc.fill_null(pc.match_substring_regex(values, _PLAIN_TIME), True)
        if pc.all(plain).as_py():
            return pc.fill_null(values, "")
        rows = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
        fixed = pa.array([china_time(v) for v in values.take(pa.array(rows)).to_pylist()], pa.string())
        mask = np.zeros(len(values), dtype=bool)
        mask[rows] = True
        return pc.fill_null(pc.replace_with_mask(values, pa.array(mask), fixed), "")
    return pa.array([china_time(v) for v in values.to_pylist()], pa.string())


def _trace_codes(cells: pa.Array | None, records: int) -> tuple[pa.Array, pa.Array] | None | bool:
    """(the codes of each record joined by ",", whether it has any) from ``drugtracinfo``; None
    when no record has the field; False when it is in a form only the Python reader knows."""
    if cells is None or pa.types.is_null(cells.type):
        return None
    if pa.types.is_struct(cells.type):
        values, owners = _code_field(cells), np.arange(len(cells))
    elif pa.types.is_list(cells.type):
        inner = pc.list_flatten(cells)
        owners = pc.list_parent_indices(cells).to_numpy()
        if pa.types.is_struct(inner.type):
            values = _code_field(inner)
        elif pa.types.is_string(inner.type) or pa.types.is_null(inner.type):
            values = inner
        else:
            return False
    else:
        return False
    if values is False:
        return False
    if values is None or pa.types.is_null(values.type):
        return None
    values = pc.utf8_trim(values, PY_SPACE)  # as trace_codes strips each code
    present = pc.fill_null(pc.not_equal(values, ""), False)
    if pc.any(pc.starts_with(values, "[")).as_py() or pc.any(pc.starts_with(values, "{")).as_py():
        return False  # JSON text in a code cell: trace_codes parses it
    keep = present.to_numpy(zero_copy_only=False)
    counts = np.bincount(owners[keep], minlength=records)
    offsets = pa.array(np.r_[0, np.cumsum(counts)], pa.int32())
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, values.filter(present)), ",")
    return joined, pa.array(counts > 0)


def _code_field(items: pa.StructArray) -> pa.Array | None | bool:
    """The ``drug_trac_codg`` of each drugtracinfo object; False when an object may name its
    codes under another key (the Python reader looks there next)."""
    names = {items.type.field(i).name for i in range(items.type.num_fields)}
    if names & {"drugtracinfo", "drug_trac_codg_list"}:
        return False
    fields = _struct_fields(items)
    if "drug_trac_codg" not in fields:
        return None
    values = fields["drug_trac_codg"]
    if not (pa.types.is_string(values.type) or pa.types.is_null(values.type)):
        return False
    return values
