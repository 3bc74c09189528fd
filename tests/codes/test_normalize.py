"""tracecode.codes.normalize: cleaning, classification, splitting, and the Arrow fast paths."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracecode.codes.normalize import (
    INVALID_REASONS,
    NormalizedCode,
    gs1_candidates,
    normalize_code,
    split_codes,
)
from tracecode.codes.normalize_arrow import explode_codes, normalize_array

NHSA = "81234567890123456789"
GTIN = "06901234567892"  # valid GS1 check digit (2)
BAD_GTIN = "06901234567893"
GS1_CODE = "01" + GTIN + "21" + "ABC123"


def valid_nhsa(code: str = NHSA) -> NormalizedCode:
    return NormalizedCode(code, "valid", "nhsa20", None, code[:7])


def valid_gs1(serial: str = "ABC123", gtin: str = GTIN) -> NormalizedCode:
    return NormalizedCode("01" + gtin + "21" + serial, "valid", "gs1", None, gtin)


# ---------------------------------------------------------------------------
# NHSA codes and dirt
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        NHSA,
        f"  {NHSA}  ",
        f"\t{NHSA}\r\n",
        f"\u3000{NHSA}\u3000",  # full-width space
        f"\u00a0{NHSA}\u00a0",  # NBSP
        f"'{NHSA}",  # Excel text marker
        f'"{NHSA}"',
        f"'{NHSA}'",
        f"\u201c{NHSA}\u201d",  # “ ”
        f"\u2018{NHSA}\u2019",  # ‘ ’
        f'="{NHSA}"',  # Excel formula text
        f" ' {NHSA} ",
        "８１２３４５６７８９０１２３４５６７８９",  # full-width digits
        "8123 4567 8901 2345 6789",
        "8123\u30004567\u300089012345\t6789",
        "8123-4567-8901-2345-6789",
        "8123－4567－8901－2345－6789",  # full-width hyphen
        f"\ufeff{NHSA}",  # BOM
        f"8123\u200b4567890123456789",  # zero-width space
        f"]C1{NHSA}",  # scanner symbology prefix
        f"]e0{NHSA}",
    ],
)
def test_nhsa_dirt_is_cleaned(raw):
    assert normalize_code(raw) == valid_nhsa()


def test_full_width_copy_equals_ascii_code():
    full = "".join(chr(ord(c) + 0xFEE0) for c in NHSA)
    assert full != NHSA
    assert normalize_code(full).code == normalize_code(NHSA).code == NHSA


def test_nhsa_product_id_is_first_seven_digits():
    assert normalize_code("87654321098765432109").product_id == "8765432"


# ---------------------------------------------------------------------------
# GS1
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        f"(01){GTIN}(21)ABC123(17)271231(10)B1",
        f"(01){GTIN}(17)271231(10)B1(21)ABC123",
        f"(01) {GTIN} (21) ABC123 (17) 271231 (10) B1",
        f"（01）{GTIN}（21）ABC123",  # full-width parentheses
        f"01{GTIN}21ABC123\x1d17271231\x1d10B1",
        f"01{GTIN} 21ABC123<GS>17271231 10B1",  # the brief's GS/space spelling
        f"01{GTIN}21ABC123<gs>17271231<gs>10B1",
        f"01{GTIN}21ABC123\\x1d17271231\\x1d10B1",  # literal text \x1d
        f"]d2\x1d01{GTIN}21ABC123\x1d17271231\x1d10B1",  # prefix + leading FNC1
        f"]d201{GTIN}17271231\x1d10B1\x1d21ABC123",
        f"01{GTIN}21ABC123",  # GS dropped, serial last
        f"01{GTIN}1727123110B1\x1d21ABC123",
        f"01{GTIN}\x1d21ABC123\x1d",
        "０１" + GTIN + "２１ＡＢＣ１２３",  # full-width
        f"'01{GTIN}21ABC123",
    ],
)
def test_gs1_spellings_give_one_code(raw):
    assert normalize_code(raw) == valid_gs1()


def test_three_gs1_spellings_of_one_pack_are_equal():
    spellings = [
        f"(01){GTIN}(21)ABC123(17)271231(10)B1",
        f"01{GTIN} 21ABC123<GS>17271231 10B1",
        f"01{GTIN}21ABC123",  # without batch / expiry
    ]
    codes = {normalize_code(s).code for s in spellings}
    assert codes == {GS1_CODE}


def test_gs1_all_digit_serial():
    assert normalize_code(f"01{GTIN}21123456789") == valid_gs1("123456789")
    assert normalize_code(f"01 {GTIN} 21 123456789") == valid_gs1("123456789")


def test_gs1_serial_up_to_20_chars_and_split_when_longer():
    serial = "S" * 20
    assert normalize_code(f"01{GTIN}21{serial}") == valid_gs1(serial)
    # GS dropped after a 20-char serial: the serial cannot be longer, the rest is AI 17/10
    assert normalize_code(f"01{GTIN}21{serial}17271231") == valid_gs1(serial)


def test_gs1_bad_check_digit():
    r = normalize_code(f"(01){BAD_GTIN}(21)ABC123")
    assert r.status == "invalid" and r.reason == "gs1_check_digit"
    assert r.code == "01" + BAD_GTIN + "21ABC123"
    assert r.scheme is None and r.product_id is None


def test_gs1_no_serial():
    for raw in [f"(01){GTIN}(17)271231(10)B1", f"01{GTIN}", f"01{GTIN}17271231\x1d10B1"]:
        r = normalize_code(raw)
        assert (r.status, r.reason) == ("invalid", "gs1_no_serial"), raw
        assert r.code == "01" + GTIN


def test_gs1_explicit_separators_are_not_second_guessed():
    # With a GS present the batch "AB21CD" is not re-read as batch AB + serial CD.
    r = normalize_code(f"01{GTIN}\x1d10AB21CD")
    assert r.reason == "gs1_no_serial"


def test_gs1_unknown_ai_is_bad_characters():
    assert normalize_code(f"01{GTIN}4XYZ").reason == "bad_characters"


def test_gs1_serial_case_is_kept():
    assert normalize_code(f"01{GTIN}21abc123") == valid_gs1("abc123")
    assert normalize_code(f"01{GTIN}21abc123") != normalize_code(f"01{GTIN}21ABC123")


def test_gs1_gsless_lot_before_serial_is_ambiguous():
    r = normalize_code(f"01{GTIN}172712311127010110B121ABC123")  # GS dropped, 10 before 21
    assert r.reason == "gs1_ambiguous"
    assert GS1_CODE in gs1_candidates(r.code)


# ---------------------------------------------------------------------------
# Invalid reasons
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, reason, code",
    [
        (None, "empty", ""),
        ("", "empty", ""),
        ("   \t\u3000", "empty", ""),
        ('""', "empty", ""),
        ("'", "empty", ""),
        ("8.12345678901235E+19", "excel_scientific", "8.12345678901235E+19"),
        ("8.12345678901235e19", "excel_scientific", "8.12345678901235E19"),
        ("8,12345678901235E+19", "excel_scientific", "8,12345678901235E+19"),
        ("81234567890123456789.0", "excel_scientific", "81234567890123456789.0"),
        ("81234567890123500000.", "excel_scientific", "81234567890123500000."),
        ("00000000000000000000", "placeholder", "00000000000000000000"),
        ("88888888888888888888", "placeholder", "88888888888888888888"),
        ("0", "placeholder", "0"),
        ("无", "placeholder", "无"),
        ("空", "placeholder", "空"),
        ("NULL", "placeholder", "NULL"),
        ("null", "placeholder", "null"),
        ("N/A", "placeholder", "N/A"),
        ("-", "placeholder", "-"),
        ("--", "placeholder", "--"),
        ("8123456789", "bad_length", "8123456789"),
        ("812345678901234567890", "bad_length", "812345678901234567890"),
        ("6901234567892", "bad_length", "6901234567892"),  # an EAN-13 product barcode
        ("71234567890123456789", "bad_prefix", "71234567890123456789"),
        ("0123 4567 8901 2345 6789", "bad_prefix", "01234567890123456789"),
        ("8123456789012345678X", "bad_characters", "8123456789012345678X"),
        ("abc def", "bad_characters", "abcdef"),
        ("追溯码", "bad_characters", "追溯码"),
        ("(01)123", "bad_characters", "(01)123"),
        (f"(01){BAD_GTIN}(21)X", "gs1_check_digit", f"01{BAD_GTIN}21X"),
        (f"(01){GTIN}", "gs1_no_serial", f"01{GTIN}"),
    ],
)
def test_invalid_reasons(raw, reason, code):
    r = normalize_code(raw)
    assert r == NormalizedCode(code, "invalid", None, reason, None)


def test_every_invalid_reason_is_reachable_and_listed():
    samples = [
        "",
        "8.1E+19",
        "00000000000000000000",
        "123",
        "71234567890123456789",
        "abc",
        f"01{BAD_GTIN}21X",
        f"01{GTIN}",
        f"01{GTIN}2112310B1",
    ]
    reasons = {normalize_code(s).reason for s in samples}
    assert reasons == set(INVALID_REASONS)


def test_excel_number_is_never_fixed():
    r = normalize_code("8.12345678901235E+19")
    assert r.status == "invalid" and r.scheme is None and r.product_id is None


def test_non_string_input_is_converted():
    assert normalize_code(81234567890123456789) == valid_nhsa()  # type: ignore[arg-type]
    as_float = 8.123456789012346e19
    assert normalize_code(as_float).reason == "excel_scientific"  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# split_codes
# ---------------------------------------------------------------------------

A, B, C = NHSA, "81234567890123456780", "81234567890123456781"


@pytest.mark.parametrize(
    "cell, expected",
    [
        (None, []),
        ("", []),
        ("   ", []),
        (A, [A]),
        (f" {A} ", [A]),
        (f"{A},{B}", [A, B]),
        (f"{A};{B}", [A, B]),
        (f"{A}，{B}", [A, B]),
        (f"{A}；{B}", [A, B]),
        (f"{A}、{B}", [A, B]),
        (f"{A}|{B}", [A, B]),
        (f"{A}\n{B}\r\n{C}", [A, B, C]),
        (f"{A}, {B} ,{C}", [A, B, C]),
        (f"{A},,{B},", [A, B]),
        (f"{A} {B}", [A, B]),
        (f"{A}\t{B}\u3000{C}", [A, B, C]),
        ("8123 4567 8901 2345 6789", ["8123 4567 8901 2345 6789"]),
        (f"{A} 123", [f"{A} 123"]),  # a short piece: whitespace does not split
        (f"01{GTIN} 21ABC123 17271231 10B1", [f"01{GTIN} 21ABC123 17271231 10B1"]),
        (f'"{A}","{B}"', [f'"{A}"', f'"{B}"']),
        (f'["{A}", "{B}"]', [A, B]),
        (f'[{{"drug_trac_codg": "{A}"}}, {{"drug_trac_codg":"{B}"}}]', [A, B]),
        (", ; 、", []),
        ('"",', []),
    ],
)
def test_split_codes(cell, expected):
    assert split_codes(cell) == expected


def test_split_then_normalize_full_width_separators():
    cell = f"８１２３４５６７８９０１２３４５６７８９，{B}"
    assert [normalize_code(p).code for p in split_codes(cell)] == [A, B]


# ---------------------------------------------------------------------------
# Arrow: normalize_array / explode_codes
# ---------------------------------------------------------------------------

MIXED = [
    NHSA,
    B,
    None,
    "",
    "   ",
    f" {NHSA}",
    "８１２３４５６７８９０１２３４５６７８９",
    f"(01){GTIN}(21)ABC123(17)271231(10)B1",
    f"01{GTIN}21ABC123",
    f"(01){BAD_GTIN}(21)X",
    f"(01){GTIN}",
    f"(01){GTIN}(17)271231(10)B1(21)ABC123",  # the GS1 shapes with Arrow fast paths
    f"(01){BAD_GTIN}(17)271231(10)B1(21)ABC123",
    f"01{GTIN}1727123121ABC123",
    f"01{BAD_GTIN}21ABC123",
    f"]d201{GTIN}1727123110B1\x1d21ABC123",
    f"'{NHSA}",
    "'71234567890123456789",
    "8.12345678901235E+19",
    "00000000000000000000",
    "88888888888888888888",
    "无",
    "71234567890123456789",
    "8123",
    "8123456789012345678X",
    "追溯码",
    "éé",
    NHSA,
]


def expected_table(values):
    rows = [normalize_code(v) for v in values]
    return {
        "code": [r.code for r in rows],
        "status": [r.status for r in rows],
        "scheme": [r.scheme for r in rows],
        "reason": [r.reason for r in rows],
        "product_id": [r.product_id for r in rows],
    }


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()])
def test_normalize_array_equals_normalize_code(arrow_type):
    table = normalize_array(pa.array(MIXED, type=arrow_type))
    assert table.column_names == ["code", "status", "scheme", "reason", "product_id"]
    assert all(t == pa.string() for t in table.schema.types)
    assert table.num_rows == len(MIXED)
    assert table.to_pydict() == expected_table(MIXED)


def test_normalize_array_all_clean_all_dirty_empty_and_chunked():
    clean = [NHSA, B, C]
    assert normalize_array(pa.array(clean)).to_pydict() == expected_table(clean)
    dirty = [" " + NHSA, None, "x"]
    assert normalize_array(pa.array(dirty)).to_pydict() == expected_table(dirty)
    assert normalize_array(pa.array([], type=pa.string())).num_rows == 0
    chunked = pa.chunked_array([MIXED[:5], MIXED[5:]], type=pa.string())
    assert normalize_array(chunked).to_pydict() == expected_table(MIXED)
    sliced = pa.array(MIXED).slice(3, 10)
    assert normalize_array(sliced).to_pydict() == expected_table(MIXED[3:13])


def test_normalize_array_repeated_dirty_values():
    values = [" " + NHSA, "x", " " + NHSA, NHSA] * 50
    assert normalize_array(pa.array(values)).to_pydict() == expected_table(values)


def reference_explode(cells):
    parents, pieces = [], []
    for i, cell in enumerate(cells):
        found = split_codes(cell) or [""]
        parents += [i] * len(found)
        pieces += found
    return parents, pieces


def test_explode_codes_parent_indices():
    spaced = "8123 4567 8901 2345 6789"
    cells = [A, f"{A},{B}", None, "", f"{A} {B}\n{C}", "  ", B, f" {C} ", spaced]
    parent, pieces = explode_codes(pa.array(cells))
    assert parent.type == pa.int64()
    assert parent.to_pylist() == [0, 1, 1, 2, 3, 4, 4, 4, 5, 6, 7, 8]
    assert pieces.to_pylist() == [A, A, B, "", "", A, B, C, "", B, C, spaced]
    assert (parent.to_pylist(), pieces.to_pylist()) == reference_explode(cells)


def test_explode_codes_fast_paths():
    cells = [A, B, C]
    parent, pieces = explode_codes(pa.array(cells))
    assert parent.to_pylist() == [0, 1, 2] and pieces.to_pylist() == cells
    # every split cell holds exactly one code
    cells = [A, f" {B}", f"{C},"]
    parent, pieces = explode_codes(pa.array(cells))
    assert parent.to_pylist() == [0, 1, 2] and pieces.to_pylist() == [A, B, C]
    parent, pieces = explode_codes(pa.array([], type=pa.string()))
    assert len(parent) == 0 and len(pieces) == 0


def test_explode_then_normalize_pipeline():
    cells = pa.array([f"{A}，８１２３４５６７８９０１２３４５６７８９", None, f"(01){GTIN}(21)ABC123"])
    parent, pieces = explode_codes(cells)
    table = normalize_array(pieces)
    assert parent.to_pylist() == [0, 0, 1, 2]
    assert table.column("code").to_pylist() == [A, A, "", GS1_CODE]
    assert table.column("reason").to_pylist() == [None, None, "empty", None]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

code_like = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789 -'\"()\x1d<>GS8,;，、|\n\u3000０８ABC", max_size=60),
    st.builds(lambda s: "01" + GTIN + s, st.text(alphabet="0123456789ABC21\x1d ()", max_size=40)),
)


@settings(max_examples=400, deadline=None)
@given(code_like)
def test_normalize_code_never_raises(raw):
    r = normalize_code(raw)
    assert r.status in ("valid", "invalid")
    if r.status == "valid":
        assert r.reason is None and r.scheme in ("nhsa20", "gs1") and r.product_id
        assert r.code.isascii()
    else:
        assert r.reason in INVALID_REASONS and r.scheme is None and r.product_id is None


@settings(max_examples=400, deadline=None)
@given(code_like)
def test_normalize_code_idempotent_for_valid_codes(raw):
    r = normalize_code(raw)
    if r.status == "valid":
        again = normalize_code(r.code)
        assert again == r or (again.reason == "gs1_ambiguous" and r.code in gs1_candidates(again.code))


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda s: "01" + GTIN + "21" + s,
        st.text(alphabet="0123456789ABCXYZ-./_", min_size=1, max_size=20),
    )
)
def test_gs1_canonical_is_idempotent(raw):
    # GS-less: certain, or ambiguous with the serial-to-the-end reading among the candidates
    r = normalize_code(raw)
    if r.status == "valid":
        assert normalize_code(r.code) == r
    else:
        assert r.reason == "gs1_ambiguous"
        assert raw in gs1_candidates(r.code)
        assert normalize_code(raw) == r


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), code_like))
def test_split_codes_never_raises(cell):
    pieces = split_codes(cell)
    assert isinstance(pieces, list)
    assert all(isinstance(p, str) and p for p in pieces)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), code_like, st.sampled_from(MIXED)), max_size=30))
def test_arrow_functions_match_python(values):
    arr = pa.array(values, type=pa.string())
    assert normalize_array(arr).to_pydict() == expected_table(values)
    parent, pieces = explode_codes(arr)
    assert (parent.to_pylist(), pieces.to_pylist()) == reference_explode(values)
    assert np.all(np.diff(parent.to_numpy()) >= 0)
