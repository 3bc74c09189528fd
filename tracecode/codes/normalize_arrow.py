"""Arrow fast paths of the normaliser: the bulk of real data is clean 20-digit codes, handled
with pyarrow.compute; of the other cells, the common shapes (GS1 element strings, digit
strings, Excel numbers) are decided exactly with pyarrow.compute and numpy too, and only
the rest go through the Python ``normalize_code``.
Kept apart from ``tracecode.codes.normalize`` so that looking up one code (``trace``) does not pay
for importing pyarrow and numpy."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tracecode.codes.normalize import (
    _QUOTES,
    _SEP_CHARS,
    _WS_CHARS,
    GS,
    INVALID_REASONS,
    gs1_candidates,
    normalize_code,
    split_codes,
)

_STATUS_DICT = pa.array(["valid", "invalid"], type=pa.string())
_SCHEME_DICT = pa.array(["nhsa20", "gs1", None], type=pa.string())
_REASON_DICT = pa.array([None, *INVALID_REASONS], type=pa.string())
_SCHEME_INDEX = {"nhsa20": 0, "gs1": 1, None: 2}
_REASON_INDEX = {None: 0, **{r: i + 1 for i, r in enumerate(INVALID_REASONS)}}

# Cells that may need splitting (RE2): any separator or whitespace character, a leading
# '[' or '{' (JSON), a drug_trac_codg object, the empty string, or only quote characters.
_NEEDS_SPLIT_RE = (
    "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _SEP_CHARS + _WS_CHARS) + "]"
    "|^\\[|^\\{|drug_trac_codg|^$"
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


# ---------------------------------------------------------------------------
# Exact fast paths for the values that are not clean NHSA codes
# ---------------------------------------------------------------------------
#
# Each pattern below admits only strings on which ``normalize_code`` provably takes one
# fixed route, so that its result can be computed with Arrow and numpy; everything else
# still goes through ``normalize_code``. RE2's \d is ASCII-only, like the scalar code's.
#
# GS1 element strings. The patterns admit ASCII only, with no lower case after the
# optional scanner prefix, no quotes, whitespace, dashes, 'è' or '<GS>'-like spellings, so
# ``_clean`` only drops the prefix (same regex as _SYMBOLOGY_RE), nothing else changes it
# and _gs1_forms yields one spelling; it is shorter than gs1.MAX_LENGTH. AI 01 comes first;
# 11 and 17 are valid YYMMDD dates (the syntax dictionary's pattern, which gs1.readings
# checks), 10 and 21 hold 1-20 characters of [0-9A-Z] (all in character set 82), each AI
# at most once. Then there is one reading only:
# * with a GS anywhere the string is read strictly (gs1.readings): fixed fields by length,
#   a variable field to the next GS or the end — exactly the fields the pattern names;
# * without any GS (only '01'+gtin['17'+date]'21'+serial) the serial might end early,
#   where another medicine AI starts; _decide_gs1_element leaves to normalize_code every
#   serial that has '10' '11' '17' '71[0-5]' or '9[1-9]' after its first character, so
#   for the rest the serial-to-the-end reading is the only one.
# Hence: good check digit -> valid gs1 '01'+gtin+'21'+serial, product id the GTIN; bad ->
# invalid gs1_check_digit, same code. The digits-only branch of normalize_code reaches the
# same _parse_gs1 result, except that a failed 20-digit string is 'bad_prefix':
# _decide_gs1 leaves a bad check digit with a serial of 2 characters or less to
# normalize_code (only those can total 20 characters without GS).
_SYMBOLOGY = r"(?:\][A-Za-z][0-9])?"
_DATE = r"\d{2}(?:0\d|1[0-2])(?:[0-2]\d|3[01])"
_GS1_ELEMENT_RE = (
    "^" + _SYMBOLOGY + r"\x1d?01\d{14}(?:17" + _DATE + r")?(?:(?:10[0-9A-Z]{1,20})?\x1d)?"
    r"21[0-9A-Z]{1,20}\x1d?$"
)
# where a GS-less serial might end early (another medicine AI may start there)
_GSLESS_SPLIT_RE = r"1[017]|71[0-5]|9[1-9]"
# Parenthesised HRI '(01)gtin[(11)date][(17)date][(10)batch](21)serial': _gs1_forms turns
# every '(ai)' into GS + ai (the values hold no parentheses, so only the AI markers
# match), a strict reading with one parse only.
_GS1_PAREN_RE = (
    r"^\(01\)\d{14}(?:\(11\)" + _DATE + r")?(?:\(17\)" + _DATE + r")?(?:\(10\)[0-9A-Z]{1,20})?"
    r"\(21\)[0-9A-Z]{1,20}$"
)
# Digits (ASCII or full-width: NFKC makes those ASCII, and _clean does NFKC first),
# possibly behind Excel's apostrophe (stripped by _clean). Digit strings starting with
# a medicine AI may be GS1 and are left out. The rest: one digit repeated -> placeholder; 20
# digits starting with 8 -> nhsa20; other 20 digits -> bad_prefix; else bad_length.
_DIGITS_RE = r"^'?[0-9\x{FF10}-\x{FF19}]+$"
_MEDICINE_AI_START_RE = r"^(?:01|1[017]|21|71[0-5]|9[1-9])"
_SAME_DIGIT_RE = "^(?:" + "|".join(f"{d}+" for d in "0123456789") + ")$"
# Excel scientific notation: no whitespace, dash or GS, not digits only; '<d>.' starts no
# GS1 AI (they are digits), so no GS1 reading; then _EXCEL_RE matches, code unchanged.
_EXCEL_SCI_RE = r"^[1-9]\.\d+E\+\d+$"

_VALID, _INVALID = 0, 1


def _gtin_check_ok(gtins: pa.Array) -> np.ndarray:
    """GS1 mod-10 check of GTIN-14s (a string array of exactly 14 ASCII digits each, no
    nulls), as :func:`tracecode.codes.normalize.gs1_check_digit_ok`."""
    if len(gtins) == 0:
        return np.zeros(0, dtype=bool)
    large = pa.types.is_large_string(gtins.type)
    offsets = np.frombuffer(gtins.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[gtins.offset : gtins.offset + len(gtins)]
    data = np.frombuffer(gtins.buffers()[2], dtype=np.uint8)
    d = data[offsets[:, None] + np.arange(14)].astype(np.int32) - ord("0")
    total = 3 * d[:, 0:13:2].sum(axis=1) + d[:, 1:13:2].sum(axis=1)
    return (10 - total % 10) % 10 == d[:, 13]


class _Decided:
    """Results for subsets of the distinct values, assembled at the end."""

    def __init__(self, values: pa.Array):
        n = len(values)
        self.values = values
        self.todo = np.ones(n, dtype=bool)
        self.str_type = values.type
        self.status = np.zeros(n, dtype=np.int8)
        self.scheme = np.full(n, _SCHEME_INDEX[None], dtype=np.int8)
        self.reason = np.zeros(n, dtype=np.int8)
        self.index: list[np.ndarray] = []
        self.code: list[pa.Array] = []
        self.pid: list[pa.Array] = []

    def add(self, idx, code, pid, status, scheme, reason) -> None:
        if len(idx) == 0:
            return
        self.todo[idx] = False
        self.status[idx] = status
        self.scheme[idx] = scheme
        self.reason[idx] = reason
        self.index.append(idx)
        self.code.append(code.cast(self.str_type))
        if pid is None:
            pid = pa.nulls(len(idx), type=self.str_type)
        self.pid.append(pid.cast(self.str_type))

    def add_gs1(self, idx, gtin, serial, ok) -> None:
        """GS1 rows: valid when the check digit is ``ok``, else gs1_check_digit."""
        t = gtin.type
        code = pc.binary_join_element_wise(
            pa.scalar("01", t), gtin, pa.scalar("21", t), serial, pa.scalar("", t)
        )
        pid = pc.if_else(pa.array(ok), gtin, pa.scalar(None, type=gtin.type))
        self.add(
            idx,
            code,
            pid,
            np.where(ok, _VALID, _INVALID),
            np.where(ok, _SCHEME_INDEX["gs1"], _SCHEME_INDEX[None]),
            np.where(ok, _REASON_INDEX[None], _REASON_INDEX["gs1_check_digit"]),
        )

    def assemble(self, ind: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """(code, product_id) for the rows whose distinct-value index is ``ind``."""
        order = np.concatenate(self.index)
        pos = np.empty(len(order), dtype=np.int64)
        pos[order] = np.arange(len(order), dtype=np.int64)
        take = pa.array(pos[ind])
        return pa.concat_arrays(self.code).take(take), pa.concat_arrays(self.pid).take(take)


def _undecided(dec: _Decided) -> tuple[np.ndarray, pa.Array]:
    """(indices, values) of the distinct values not decided yet."""
    idx = np.flatnonzero(dec.todo)
    return idx, dec.values.take(pa.array(idx))


def _matching(dec: _Decided, pattern: str) -> tuple[np.ndarray, pa.Array]:
    """(indices, values) of the undecided values that match ``pattern``."""
    idx, cand = _undecided(dec)
    hit = pc.match_substring_regex(cand, pattern).fill_null(False)
    return idx[np.flatnonzero(hit.to_numpy(zero_copy_only=False))], cand.filter(hit)


def _slice(values: pa.Array, start: int, stop: int | None = None) -> pa.Array:
    return pc.utf8_slice_codeunits(values, start, stop)  # ASCII here: characters = bytes


def _decide_gs1(dec: _Decided, idx: np.ndarray, gtin: pa.Array, serial: pa.Array) -> None:
    """Decide the GS1 values ``idx`` read as (gtin, serial) (see the comment above)."""
    if len(idx) == 0:
        return
    ok = _gtin_check_ok(gtin)
    # a bad check digit in 20 characters would be bad_prefix if all digits: left out
    keep = ok | (pc.binary_length(serial).to_numpy(zero_copy_only=False) > 2)
    if not keep.all():
        k = pa.array(keep)
        idx, ok, gtin, serial = idx[keep], ok[keep], gtin.filter(k), serial.filter(k)
    dec.add_gs1(idx, gtin, serial, ok)


def _decide_gs1_element(dec: _Decided) -> None:
    idx, x = _matching(dec, _GS1_ELEMENT_RE)
    if len(idx) == 0:
        return
    # Read the match apart (as the regex does): drop the prefix and the end GSs, leaving
    # '01'+gtin ['17'+date] [['10'+batch] GS] '21'+serial.
    x = pc.if_else(pc.starts_with(x, "]"), _slice(x, 3), x)
    has_gs = pc.match_substring(x, GS)  # anywhere, the ends included: read strictly
    x = pc.utf8_trim(x, GS)
    gtin = _slice(x, 2, 16)
    # with a GS inside, the serial field follows it; else it follows gtin ['17'+date]
    field21 = pc.if_else(pc.starts_with(_slice(x, 16), "17"), _slice(x, 24), _slice(x, 16))
    inner_gs = pc.match_substring(x, GS)
    if pc.any(inner_gs).as_py():
        after_gs = pc.list_element(pc.split_pattern(x.filter(inner_gs), GS, max_splits=1), 1)
        field21 = pc.replace_with_mask(field21, inner_gs, after_gs)
    serial = _slice(field21, 2)
    # GS-less with a possible early end of the serial: several readings, normalize_code decides
    maybe_split = pc.match_substring_regex(_slice(serial, 1), _GSLESS_SPLIT_RE)
    certain = pc.or_(has_gs, pc.invert(maybe_split)).to_numpy(zero_copy_only=False)
    if not certain.all():
        keep = pa.array(certain)
        idx, gtin, serial = idx[certain], gtin.filter(keep), serial.filter(keep)
    _decide_gs1(dec, idx, gtin, serial)


def _decide_gs1_paren(dec: _Decided) -> None:
    idx, x = _matching(dec, _GS1_PAREN_RE)
    if len(idx) == 0:
        return
    # '(01)' + gtin first; '(21)' occurs once (no other parentheses), serial after it
    serial = pc.list_element(pc.split_pattern(x, "(21)", max_splits=1), 1)
    _decide_gs1(dec, idx, _slice(x, 4, 18), serial)


def _decide_digits(dec: _Decided) -> None:
    idx, cand = _undecided(dec)
    pos = np.flatnonzero(
        pc.match_substring_regex(cand, _DIGITS_RE).fill_null(False).to_numpy(zero_copy_only=False)
    )
    if len(pos) == 0:
        return
    # NFKC of these: ASCII digits with at most one leading apostrophe
    digits = pc.utf8_ltrim(pc.utf8_normalize(cand.take(pa.array(pos)), "NFKC"), "'")
    # those starting with a medicine AI may read as GS1 (gs1.starts_with_medicine_ai)
    keep = pc.invert(pc.match_substring_regex(digits, _MEDICINE_AI_START_RE)).to_numpy(zero_copy_only=False)
    digits, pos = digits.filter(pa.array(keep)), pos[keep]
    same = pc.match_substring_regex(digits, _SAME_DIGIT_RE).to_numpy(zero_copy_only=False)
    len20 = pc.equal(pc.binary_length(digits), 20).to_numpy(zero_copy_only=False)
    nhsa = ~same & len20 & pc.starts_with(digits, "8").to_numpy(zero_copy_only=False)
    reason = np.where(
        same,
        _REASON_INDEX["placeholder"],
        np.where(len20, _REASON_INDEX["bad_prefix"], _REASON_INDEX["bad_length"]),
    )
    reason[nhsa] = _REASON_INDEX[None]
    first7 = pc.utf8_slice_codeunits(digits, 0, 7)
    pid = pc.if_else(pa.array(nhsa), first7, pa.scalar(None, type=digits.type))
    status = np.where(nhsa, _VALID, _INVALID)
    scheme = np.where(nhsa, _SCHEME_INDEX["nhsa20"], _SCHEME_INDEX[None])
    dec.add(idx[pos], digits, pid, status, scheme, reason)


def _decide_excel(dec: _Decided) -> None:
    idx, cand = _undecided(dec)
    hit = pc.match_substring_regex(cand, _EXCEL_SCI_RE).fill_null(False)
    pos = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    if len(pos):
        code = cand.take(pa.array(pos))
        reason = _REASON_INDEX["excel_scientific"]
        dec.add(idx[pos], code, None, _INVALID, _SCHEME_INDEX[None], reason)


def _decide_fast(dec: _Decided) -> None:
    """Decide the distinct values that match one of the exact fast paths. The patterns
    are mutually exclusive (first characters, '.'); each only sees undecided values."""
    if len(dec.values) == 0:
        return
    _decide_gs1_element(dec)
    _decide_gs1_paren(dec)
    _decide_digits(dec)
    _decide_excel(dec)


def _decide_python(dec: _Decided) -> None:
    """The remaining distinct values: :func:`normalize_code` one by one."""
    idx, cand = _undecided(dec)
    results = [normalize_code(v) for v in cand.to_pylist()]
    dec.add(
        idx,
        pa.array([r.code for r in results], type=dec.str_type),
        pa.array([r.product_id for r in results], type=dec.str_type),
        np.array([r.status == "invalid" for r in results], dtype=np.int8),
        np.array([_SCHEME_INDEX[r.scheme] for r in results], dtype=np.int8),
        np.array([_REASON_INDEX[r.reason] for r in results], dtype=np.int8),
    )


def normalize_array(raw: pa.Array, *, fast: bool = True) -> pa.Table:
    """Normalise every element of a string array (see :func:`normalize_code`).

    Returns a table with string columns ``code``, ``status``, ``scheme``, ``reason`` and
    ``product_id``, of the same length and order as ``raw``; row *i* equals
    ``normalize_code(raw[i])``. Clean 20-digit codes take a pure-Arrow path; the other
    rows are de-duplicated, and the distinct values of a few common shapes (GS1 element
    strings, apostrophe-prefixed or other digit strings, Excel scientific notation) are
    decided with Arrow too; only the rest go through :func:`normalize_code`, once each.
    ``fast=False`` sends all non-clean values through :func:`normalize_code` (for tests
    and benchmarks). ``ChunkedArray`` and non-string arrays (cast to string) are accepted.
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
        dec = _Decided(enc.dictionary)
        if fast:
            _decide_fast(dec)
        _decide_python(dec)
        ind = enc.indices.to_numpy(zero_copy_only=False)
        status_ix[other] = dec.status[ind]
        scheme_ix[other] = dec.scheme[ind]
        reason_ix[other] = dec.reason[ind]
        sub_code, sub_pid = dec.assemble(ind)
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


def resolve_ambiguous(normal: pa.Table, known: Callable[[list[str]], Iterable[str]] | None = None) -> pa.Table:
    """Settle ``gs1_ambiguous`` rows of a :func:`normalize_array` table where that is certain:
    when exactly one of a string's candidate packs (a reading with a serial) was seen read
    without doubt — in this same table, or by ``known`` (given candidate codes, it returns
    those the store already holds as valid codes) — the row becomes that pack. Every other
    row is returned unchanged; a serial is never chosen otherwise."""
    normal = normal.combine_chunks()
    reason = normal.column("reason").chunk(0) if normal.num_rows else pa.array([], pa.string())
    ambiguous = pc.equal(reason, "gs1_ambiguous").fill_null(False)
    if not pc.any(ambiguous).as_py():
        return normal
    codes = normal.column("code").chunk(0)
    candidates = {c: [x for x in gs1_candidates(c) if len(x) > 16] for c in pc.unique(codes.filter(ambiguous)).to_pylist()}
    wanted = {x for xs in candidates.values() for x in xs}
    valid_gs1 = pc.and_(pc.equal(normal.column("scheme"), "gs1"), pc.equal(normal.column("status"), "valid"))
    seen = set(pc.unique(codes.filter(valid_gs1.fill_null(False))).to_pylist()) & wanted
    if known is not None and wanted - seen:
        seen |= set(known(sorted(wanted - seen))) & wanted
    resolved = {}
    for code, xs in candidates.items():
        hits = [x for x in xs if x in seen]
        if len(hits) == 1:
            resolved[code] = hits[0]
    if not resolved:
        return normal
    mask = pc.and_(ambiguous, pc.is_in(codes, value_set=pa.array(list(resolved), codes.type))).fill_null(False)
    new_codes = [resolved[c] for c in codes.filter(mask).to_pylist()]
    n = len(new_codes)
    replacements = {
        "code": pa.array(new_codes, pa.string()),
        "status": pa.array(["valid"] * n, pa.string()),
        "scheme": pa.array(["gs1"] * n, pa.string()),
        "reason": pa.nulls(n, pa.string()),
        "product_id": pa.array([c[2:16] for c in new_codes], pa.string()),
    }
    columns = {}
    for name in normal.column_names:
        col = normal.column(name).chunk(0)
        columns[name] = pc.replace_with_mask(col, mask, replacements[name].cast(col.type)) if name in replacements else col
    return pa.table(columns)
