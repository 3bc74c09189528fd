"""tracecode.codes.normalize_arrow: the exact Arrow fast paths of ``normalize_array`` (GS1
element strings, parenthesised GS1, digit strings, Excel scientific notation) give what
``normalize_code`` gives, element by element, including near misses that must fall back."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracecode.codes.normalize_arrow as na
from tracecode.codes.normalize import normalize_code
from tracecode.codes.normalize_arrow import normalize_array

GS = "\x1d"
UPPER = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
GTIN = "06901234567892"  # good check digit
BAD_GTIN = "06901234567893"


def check_digit(body13: str) -> str:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body13)))
    return str((10 - total % 10) % 10)


def expected(values):
    rows = [normalize_code(v) for v in values]
    return {
        "code": [r.code for r in rows],
        "status": [r.status for r in rows],
        "scheme": [r.scheme for r in rows],
        "reason": [r.reason for r in rows],
        "product_id": [r.product_id for r in rows],
    }


def assert_matches_scalar(values, arrow_type=pa.string()):
    got = normalize_array(pa.array(values, type=arrow_type)).to_pydict()
    want = expected(values)
    for i, v in enumerate(values):
        row_got = {k: got[k][i] for k in got}
        row_want = {k: want[k][i] for k in want}
        assert row_got == row_want, repr(v)


@pytest.fixture
def scalar_calls(monkeypatch):
    """The values that normalize_array still sends to normalize_code."""
    calls: list = []

    def spy(v):
        calls.append(v)
        return normalize_code(v)

    monkeypatch.setattr(na, "normalize_code", spy)
    return calls


# ---------------------------------------------------------------------------
# Strategies: GS1-ish strings built from the fast-path templates, with near misses
# ---------------------------------------------------------------------------

digit = st.sampled_from("0123456789")


@st.composite
def gtins(draw):
    body = "".join(draw(st.lists(digit, min_size=13, max_size=13)))
    good = check_digit(body)
    last = draw(st.one_of(st.just(good), digit))  # good, or any (sometimes good too)
    return body + last


def text_of(alphabet, min_size, max_size):
    return st.lists(st.sampled_from(alphabet), min_size=min_size, max_size=max_size).map(
        "".join
    )


# values: mostly [0-9A-Z] of 1-20 characters; sometimes empty, too long, AI-looking,
# all digits, or with characters that the fast paths do not accept
field_value = st.one_of(
    text_of(UPPER, 1, 20),
    text_of("0123456789", 1, 20),
    text_of("1702", 1, 12),  # '10', '17', '21', '01' inside the value
    st.sampled_from(["10", "17", "21", "01", "1021", "2110", "1727", "21AB", "AB21CD"]),
    text_of(UPPER, 0, 24),
    text_of(UPPER + "abz-./ \x1d()'", 1, 22),
)
dates = st.one_of(text_of("0123456789", 6, 6), text_of("0123456789A", 5, 7))
prefixes = st.sampled_from(["", "", "", "]d2", "]C1", "]Q3", "]e0", "]d", "]2d", "]d2 ", "'"])
gs_or_not = st.sampled_from(["", GS])


@st.composite
def gs1_elements(draw):
    """'01'+gtin ['17'+date] [['10'+batch] GS] '21'+serial, with optional prefix and GS."""
    s = draw(prefixes) + draw(gs_or_not) + "01" + draw(gtins())
    if draw(st.booleans()):
        s += "17" + draw(dates)
    if draw(st.booleans()):
        s += "10" + draw(field_value) + draw(st.sampled_from([GS, GS, "", "<GS>", " "]))
    elif draw(st.booleans()):
        s += GS
    s += "21" + draw(field_value) + draw(gs_or_not)
    if draw(st.integers(0, 9)) == 0:  # something after the serial
        s += draw(st.sampled_from(["17271231", GS + "17271231", "10B1", GS + "10B1", "x"]))
    return s


@st.composite
def gs1_parens(draw):
    """'(01)gtin' and other fields in parentheses, in the fast path's order or shuffled,
    sometimes repeated or missing."""
    fields = [("01", draw(gtins()))]
    if draw(st.booleans()):
        fields.append(("11", draw(dates)))
    if draw(st.booleans()):
        fields.append(("17", draw(dates)))
    if draw(st.booleans()):
        fields.append(("10", draw(field_value)))
    if draw(st.integers(0, 9)):
        fields.append(("21", draw(field_value)))
    if draw(st.integers(0, 4)) == 0:
        fields = draw(st.permutations(fields))
    if draw(st.integers(0, 9)) == 0:
        fields.append(draw(st.sampled_from(fields)))  # a repeated AI
    if draw(st.integers(0, 9)) == 0:
        fields.append(("21", draw(field_value)))
    s = "".join(f"({ai}){value}" for ai, value in fields)
    return draw(st.sampled_from(["", "", "", "]d2", " "])) + s


digit_strings = st.builds(
    lambda quote, body: quote + body,
    st.sampled_from(["", "'", "'", "''", "\u2018", " "]),
    st.one_of(
        text_of("0123456789", 1, 25),
        text_of("0123456789", 20, 20),
        st.builds(lambda d, n: d * n, digit, st.integers(1, 22)),  # one digit repeated
        st.builds(lambda rest: "8" + rest, text_of("0123456789", 19, 19)),
        st.builds(lambda rest: "01" + rest, text_of("0123456789", 0, 22)),
        text_of("0123456789０１２３４５６７８９", 1, 22),  # some full-width digits
    ),
)
excel_like = st.builds(
    lambda a, b, e, sign, ex: f"{a}.{b}{e}{sign}{ex}",
    st.sampled_from("0123456789"),
    text_of("0123456789", 0, 16),
    st.sampled_from(["E", "E", "e"]),
    st.sampled_from(["+", "+", "-", ""]),
    text_of("0123456789", 0, 3),
)

gs1_ish = st.one_of(gs1_elements(), gs1_parens(), digit_strings, excel_like)


@settings(max_examples=500, deadline=None)
@given(st.lists(gs1_ish, min_size=1, max_size=40))
def test_fast_paths_equal_normalize_code(values):
    assert_matches_scalar(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(gs1_ish, st.none()), min_size=1, max_size=20))
def test_fast_paths_equal_normalize_code_large_string(values):
    assert_matches_scalar(values, pa.large_string())


# ---------------------------------------------------------------------------
# Targeted cases
# ---------------------------------------------------------------------------

SERIALS = ["ABC123", "1", "12", "123", "A", "AB", "JQ4WNAVBX6", "1727083121JQ4WNAVBX6", "S" * 20,
           "21", "10", "17271231", "10AB21CD", "2110", "01" + GTIN]  # fmt: skip


# between the GTIN and AI 21 (the last two: GS dropped after a batch, for normalize_code)
ELEMENT_MIDDLES = ["", "17271231", "17271231" + GS, GS, "10B1" + GS, "1727123110B1" + GS,
                   "10" + "B" * 20 + GS, "10" + "B" * 21 + GS, "10B1", "1727123110B1"]  # fmt: skip


@pytest.mark.parametrize("gtin", [GTIN, BAD_GTIN])
@pytest.mark.parametrize("serial", SERIALS)
def test_element_and_paren_templates(gtin, serial):
    values = []
    for prefix, lead, tail in itertools.product(["", "]d2", "]C1"], ["", GS], ["", GS]):
        head = prefix + lead + "01" + gtin
        for middle in ELEMENT_MIDDLES:
            values.append(head + middle + "21" + serial + tail)
    for middle in ["", "(17)271231", "(11)250101(17)271231(10)B1", "(10)FP50370", "(17)27123"]:
        values.append(f"(01){gtin}{middle}(21){serial}")
        values.append(f"(01){gtin}(21){serial}{middle}")
    assert_matches_scalar(values)


def test_serial_length_limit_and_20_digit_gs1():
    values = [
        f"01{GTIN}21{'S' * 20}",
        f"01{GTIN}21{'S' * 21}",
        f"01{GTIN}2112",  # 20 digits, valid GS1
        f"01{BAD_GTIN}2112",  # 20 digits, bad check digit: bad_prefix
        f"01{BAD_GTIN}21AB",  # 20 characters, not all digits: gs1_check_digit
        f"01{BAD_GTIN}211",
        f"01{BAD_GTIN}21123",
        f"]d201{BAD_GTIN}2112",
        f"{GS}01{BAD_GTIN}2112",
        f"01{BAD_GTIN}2112{GS}",
        f"(01){GTIN}(21){'S' * 20}",
        f"(01){GTIN}(21){'S' * 21}",
        f"(01){GTIN}(10){'B' * 21}(21)X",
        f"(01){GTIN}(21)",
        f"(01){GTIN}(10)(21)X",
    ]
    assert_matches_scalar(values)
    assert normalize_code(f"01{BAD_GTIN}2112").reason == "bad_prefix"
    assert normalize_code(f"01{BAD_GTIN}21AB").reason == "gs1_check_digit"


def test_digit_and_excel_cases():
    values = [
        "'81234567890123456789",
        "'88888888888888888888",
        "'00000000000000000000",
        "'71234567890123456789",
        "'8123456789",
        "'0",
        "0",
        "'0106901234567892211",
        "０１" + GTIN + "２１１２３",
        "８１２３４５６７８９０１２３４５６７８９",
        "'８１２３４５６７８９０１２３４５６７８９",
        "８８８８８８８８８８８８８８８８８８８８",
        "8.92379195507055E+19",
        "8.92379195507055e+19",
        "8.E+19",
        "0.5E+1",
        "1.0E-5",
        "12.3E+5",
    ]
    assert_matches_scalar(values)


def test_benchmark_shapes_take_no_python_path(scalar_calls):
    """The common shapes of the benchmark data are decided without normalize_code, and
    correctly; the excluded cases still go through it."""
    fast = [
        "01030022715759321727083121JQ4WNAVBX6",
        "0103002271575932" + "21JQ4WNAVBX6",
        "01030022715759311727083121JQ4WNAVBX6",  # bad check digit
        "(01)05008326441472(17)260531(10)FP50370(21)RDVNRJ99MB",
        "(01)05008326441472(21)RDVNRJ99MB",
        "(01)05008326441473(17)260531(10)FP50370(21)RDVNRJ99MB",  # bad check digit
        "]d201076000640888271728022910QR78028\x1d21VVCF57DN84",
        "0107600064088827" + GS + "21VVCF57DN84",
        "'83457638305524493987",
        "８３４５７６３８３０５５２４４９３９８７",
        "61234567890123456789",
        "8123456789",
        "88888888888888888888",
        "8.92379195507055E+19",
    ]
    slow = [
        f"01{BAD_GTIN}2112",  # might be bad_prefix
        "71234567890123456789",  # starts with AI 712: might be a GS-less GS1 string
        f"01{GTIN}21abc",  # lower case
        f"01{GTIN}1727123110B121ABC",  # GS dropped before 21 after a batch
        f"(01){GTIN}(21)X(17)271231",  # another order
        f"(01){GTIN}(21)X(21)Y",
        "'0106901234567892211",  # digits starting with 01
        "无",
    ]
    values = fast + slow
    table = normalize_array(pa.array(values))
    assert sorted(scalar_calls) == sorted(slow)
    assert table.to_pydict() == expected(values)
    assert table.column("status").to_pylist()[:2] == ["valid", "valid"]
    assert table.column("reason").to_pylist()[2] == "gs1_check_digit"


def test_fast_false_uses_python_for_all(scalar_calls):
    values = ["'83457638305524493987", "8.92379195507055E+19", "81234567890123456789"]
    table = normalize_array(pa.array(values), fast=False)
    assert scalar_calls == values[:2]
    assert table.to_pydict() == expected(values)


def test_gtin_check_matches_scalar():
    from tracecode.codes.normalize import gs1_check_digit_ok

    gtins = [f"{i:013d}" for i in range(0, 10**13, 7_919_000_000_003)]
    gtins = [g + d for g in gtins for d in "0123456789"]
    arr = pa.array(["xx" + g for g in gtins])
    for a in (pc.utf8_slice_codeunits(arr, 2, 16), pa.array(gtins, pa.large_string())):
        assert na._gtin_check_ok(a).tolist() == [gs1_check_digit_ok(g) for g in gtins]
