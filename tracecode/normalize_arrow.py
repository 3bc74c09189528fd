"""Arrow fast paths of the normaliser: the bulk of real data is clean 20-digit codes, handled
with pyarrow.compute; only the other cells go through the Python ``normalize_code``.
Kept apart from ``tracecode.normalize`` so that looking up one code (``trace``) does not pay
for importing pyarrow and numpy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tracecode.normalize import (
    INVALID_REASONS,
    _QUOTES,
    _SEP_CHARS,
    _WS_CHARS,
    normalize_code,
    split_codes,
)

_STATUS_DICT = pa.array(["valid", "invalid"], type=pa.string())
_SCHEME_DICT = pa.array(["nhsa20", "gs1", None], type=pa.string())
_REASON_DICT = pa.array([None, *INVALID_REASONS], type=pa.string())
_SCHEME_INDEX = {"nhsa20": 0, "gs1": 1, None: 2}
_REASON_INDEX = {None: 0, **{r: i + 1 for i, r in enumerate(INVALID_REASONS)}}

# Cells that may need splitting (RE2): any separator or whitespace character, a leading
# '[' (JSON list), a drug_trac_codg object, the empty string, or only quote characters.
_NEEDS_SPLIT_RE = (
    "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _SEP_CHARS + _WS_CHARS) + "]"
    "|^\\[|drug_trac_codg|^$"
    "|^[" + "".join(f"\\x{{{ord(c):x}}}" for c in _QUOTES) + "]+$"
)


def _to_string_array(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.string())
    return values


def _binary_of(str_type: pa.DataType) -> pa.DataType:
    return pa.large_binary() if pa.types.is_large_string(str_type) else pa.binary()


def _clean_nhsa_mask(raw: pa.Array) -> np.ndarray:
    """Rows already in clean NHSA form: exactly ``^8\\d{19}$`` (not a placeholder)."""
    mask = pc.and_(
        pc.and_(pc.equal(pc.binary_length(raw), 20), pc.starts_with(raw, "8")),
        pc.ascii_is_decimal(raw),
    )
    mask = pc.and_(mask, pc.invert(pc.equal(raw, "8" * 20)))
    return mask.fill_null(False).to_numpy(zero_copy_only=False)


def normalize_array(raw: pa.Array) -> pa.Table:
    """Normalise every element of a string array (see :func:`normalize_code`).

    Returns a table with string columns ``code``, ``status``, ``scheme``, ``reason`` and
    ``product_id``, of the same length and order as ``raw``; row *i* equals
    ``normalize_code(raw[i])``. Clean 20-digit codes take a pure-Arrow path; only the
    other rows go through :func:`normalize_code`, once per distinct value.
    ``ChunkedArray`` and non-string arrays (cast to string) are accepted.
    """
    raw = _to_string_array(raw)
    n = len(raw)
    clean = _clean_nhsa_mask(raw)
    other = np.flatnonzero(~clean)
    str_type = raw.type

    status_ix = np.zeros(n, dtype=np.int8)
    scheme_ix = np.zeros(n, dtype=np.int8)
    reason_ix = np.zeros(n, dtype=np.int8)
    code = raw
    # first 7 bytes (= characters: the clean rows are ASCII); the others are replaced below
    # (as binary: for the other rows the slice may cut a UTF-8 sequence; they are replaced
    # before the cast back to string, which validates the result)
    bin_type = _binary_of(str_type)
    product_id = pc.binary_slice(raw.cast(bin_type), 0, 7)

    if len(other):
        sub = raw.take(pa.array(other))
        enc = sub.dictionary_encode(null_encoding="encode")
        results = [normalize_code(v) for v in enc.dictionary.to_pylist()]
        ind = enc.indices.to_numpy(zero_copy_only=False)
        u_status = np.array([r.status == "invalid" for r in results], dtype=np.int8)
        u_scheme = np.array([_SCHEME_INDEX[r.scheme] for r in results], dtype=np.int8)
        u_reason = np.array([_REASON_INDEX[r.reason] for r in results], dtype=np.int8)
        status_ix[other] = u_status[ind]
        scheme_ix[other] = u_scheme[ind]
        reason_ix[other] = u_reason[ind]
        take = pa.array(ind)
        sub_code = pa.array([r.code for r in results], type=str_type).take(take)
        sub_pid = pa.array([r.product_id for r in results], type=str_type).take(take)
        if len(other) == n:
            code, product_id = sub_code, sub_pid
        else:
            replace = pa.array(~clean)
            code = pc.replace_with_mask(raw, replace, sub_code)
            product_id = pc.replace_with_mask(product_id, replace, sub_pid.cast(bin_type))

    return pa.table(
        {
            "code": code.cast(pa.string()) if code.type != pa.string() else code,
            "status": _STATUS_DICT.take(pa.array(status_ix)),
            "scheme": _SCHEME_DICT.take(pa.array(scheme_ix)),
            "reason": _REASON_DICT.take(pa.array(reason_ix)),
            "product_id": product_id.cast(pa.string()),
        }
    )


def explode_codes(cells: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Split every cell into its codes (see :func:`split_codes`).

    Returns ``(parent_index, piece)``: an int64 array of the cell index each piece came
    from (ascending, pieces of one cell in order) and the string pieces. A cell with no
    code at all (null, empty, only whitespace or separators) yields one piece ``''`` so
    that the caller can reject it as a missing code. Cells without any separator or
    whitespace pass through unchanged without Python; only the others (once per distinct
    value) go through :func:`split_codes`.
    """
    cells = _to_string_array(cells)
    n = len(cells)
    out_type = pa.large_string() if pa.types.is_large_string(cells.type) else pa.string()
    if n == 0:
        return pa.array([], type=pa.int64()), pa.array([], type=out_type)
    # Plain ASCII letters/digits (the bulk) cannot need splitting; the regex runs only on
    # the rest. (ascii_is_alnum is false for '' and null.)
    plain = pc.ascii_is_alnum(cells).fill_null(False).to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(~plain)
    needs_np = np.zeros(n, dtype=bool)
    if len(candidates):
        cand = cells.take(pa.array(candidates))
        hit = pc.match_substring_regex(cand, _NEEDS_SPLIT_RE).fill_null(True)
        needs_np[candidates] = hit.to_numpy(zero_copy_only=False)
    split_rows = np.flatnonzero(needs_np)
    parent_all = pa.array(np.arange(n, dtype=np.int64))
    if len(split_rows) == 0:
        return parent_all, cells.cast(out_type)

    sub = cells.take(pa.array(split_rows))
    enc = sub.dictionary_encode(null_encoding="encode")
    pieces_u = [split_codes(v) or [""] for v in enc.dictionary.to_pylist()]
    count_u = np.array([len(p) for p in pieces_u], dtype=np.int64)
    start_u = np.cumsum(count_u) - count_u
    flat_u = pa.array([p for ps in pieces_u for p in ps], type=out_type)
    ind = enc.indices.to_numpy(zero_copy_only=False)

    if bool(np.all(count_u == 1)):  # one code per cell: no expansion needed
        replacements = flat_u.take(enc.indices)
        pieces = pc.replace_with_mask(cells.cast(out_type), pa.array(needs_np), replacements)
        return parent_all, pieces

    counts = np.ones(n, dtype=np.int64)
    counts[split_rows] = count_u[ind]
    out_start = np.cumsum(counts) - counts  # first output slot of each cell
    total = int(counts.sum())
    parent = np.repeat(np.arange(n, dtype=np.int64), counts)

    # Output slot -> position in concat([passthrough cells, split pieces]).
    pass_rows = np.flatnonzero(~needs_np)
    perm = np.empty(total, dtype=np.int64)
    perm[out_start[pass_rows]] = np.arange(len(pass_rows), dtype=np.int64)
    row_counts = counts[split_rows]
    n_split_pieces = int(row_counts.sum())
    within = np.arange(n_split_pieces, dtype=np.int64) - np.repeat(
        np.cumsum(row_counts) - row_counts, row_counts
    )
    slots = np.repeat(out_start[split_rows], row_counts) + within
    src = np.repeat(start_u[ind], row_counts) + within  # index into flat_u
    perm[slots] = len(pass_rows) + np.arange(n_split_pieces, dtype=np.int64)
    split_pieces = flat_u.take(pa.array(src))
    passthrough = cells.filter(pa.array(~needs_np)).cast(out_type)
    pieces = pa.concat_arrays([passthrough, split_pieces]).take(pa.array(perm))
    return pa.array(parent), pieces
