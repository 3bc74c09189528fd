"""GS1 identity (issue 14): the literal examples, case-distinct serials, GS-less strings, JSON
cells, and a property over every spelling a scanner may produce."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracecode.codes.gs1 import ai_table, check_digit_ok
from tracecode.codes.normalize import (
    cell_split_flag,
    gs1_candidates,
    normalize_code,
    split_codes,
)
from tracecode.codes.normalize_arrow import normalize_array, resolve_ambiguous

GS = "\x1d"
DXB_GSLESS = "]d20108470006991541211008199619525610DXB200517220228"
DXB_PACK = "01084700069915412110081996195256"
DXB_SEPARATED = f"]d20108470006991541211008199619525610DXB2005{GS}17220228".replace(
    "2110081996195256", f"2110081996195256{GS}")


def test_ai_table_is_the_full_gs1_table():
    table = ai_table()
    assert len(table) > 500
    assert table["01"].fixed == 14 and table["17"].fixed == 6 and table["11"].fixed == 6
    assert table["21"].fixed is None and table["21"].max_len == 20
    assert table["10"].max_len == 20 and table["91"].max_len == 90
    assert all(table[f"71{d}"].fixed is None for d in range(6))


def test_dxb_gsless_is_ambiguous_alone_never_serial_via_ai_20():
    r = normalize_code(DXB_GSLESS)
    assert r.status == "invalid" and r.reason == "gs1_ambiguous"
    candidates = gs1_candidates(r.code)
    assert DXB_PACK in candidates
    assert not any("1008199619525610DXB" in c for c in candidates)


def test_dxb_separated_spelling_is_the_pack():
    assert DXB_SEPARATED.count(GS) == 2
    r = normalize_code(DXB_SEPARATED)
    assert (r.code, r.status, r.product_id) == (DXB_PACK, "valid", "08470006991541")
    assert normalize_code("(01)08470006991541(21)10081996195256(10)DXB2005(17)220228").code == DXB_PACK


def test_dxb_gsless_settles_when_the_separated_spelling_was_seen():
    normal = resolve_ambiguous(normalize_array(pa.array([DXB_GSLESS, DXB_SEPARATED])))
    assert normal.column("code").to_pylist() == [DXB_PACK, DXB_PACK]
    assert normal.column("status").to_pylist() == ["valid", "valid"]
    alone = resolve_ambiguous(normalize_array(pa.array([DXB_GSLESS])))
    assert alone.column("reason").to_pylist() == ["gs1_ambiguous"]
    from_store = resolve_ambiguous(normalize_array(pa.array([DXB_GSLESS])), lambda c: [DXB_PACK])
    assert from_store.column("code").to_pylist() == [DXB_PACK]


def test_lot_b522162_never_becomes_lot_b52_serial_62():
    r = normalize_code("01069012345678921727123110B522162")
    assert r.reason == "gs1_ambiguous" and r.status == "invalid"
    # only a pack seen with separators could settle it; nothing else picks serial 62
    assert resolve_ambiguous(normalize_array(pa.array([r.code and "01069012345678921727123110B522162"]))) \
        .column("status").to_pylist() == ["invalid"]


def test_two_seen_candidates_stay_ambiguous():
    raw = "01069012345678921727123110B522162"
    seen = ["(01)06901234567892(21)62"]
    normal = resolve_ambiguous(normalize_array(pa.array([raw, *seen])))
    assert normal.column("code").to_pylist()[0] == "01069012345678922162"  # the one pack seen
    two = resolve_ambiguous(normalize_array(pa.array([f"01{'06901234567892'}21AB10CD17271231",
                                                      "(01)06901234567892(21)AB", "(01)06901234567892(21)AB10CD"])))
    assert two.column("reason").to_pylist()[0] == "gs1_ambiguous"


@pytest.mark.parametrize("serials", [("pq7Xk2Lm9", "PQ7XK2LM9")])
def test_case_distinct_serials_are_two_packs(serials):
    codes = {normalize_code(f"(01)06901234567892(21){s}").code for s in serials}
    assert codes == {f"010690123456789221{s}" for s in serials}
    arrow = normalize_array(pa.array([f"]d2010690123456789221{s}" for s in serials])).column("code").to_pylist()
    assert set(arrow) == codes


@pytest.mark.parametrize("fnc1", [GS, "<GS>", "<gs>", "{GS}", "\\x1d", "è", "[GS]"])
def test_every_fnc1_spelling_with_ai_91_92(fnc1):
    raw = f"]d2010690123456789221ab12CD{fnc1}91XY-Z{fnc1}92abc{fnc1}10L1"
    r = normalize_code(raw)
    assert (r.status, r.code) == ("valid", "010690123456789221ab12CD")


@pytest.mark.parametrize("prefix", ["]d2", "]C1", "]Q3", "]e0", ""])
def test_symbology_prefixes(prefix):
    assert normalize_code(f"{prefix}(01)06901234567892(11)250101(21)Zz9").code == "010690123456789221Zz9"


def test_ai_710_and_11_accepted():
    assert normalize_code(f"010690123456789211250101{GS}71012345{GS}21SER").code == "010690123456789221SER"


def test_json_grid_cell_is_its_codes_and_flag():
    cell = '{"trdnFlag":"1","drugtracinfo":["81234567890123456789","81234567890123456788"]}'
    assert split_codes(cell) == ["81234567890123456789", "81234567890123456788"]
    assert cell_split_flag(cell) == "1"
    assert split_codes('{"drug_trac_codg": "81234567890123456789"}') == ["81234567890123456789"]
    assert split_codes('[{"drug_trac_codg":"81234567890123456789"}]') == ["81234567890123456789"]
    assert split_codes('{"drugtracinfo": "[\\"81234567890123456789\\"]"}') == ["81234567890123456789"]
    assert cell_split_flag("81234567890123456789") is None


# ---------------------------------------------------------------------------
# Property: every scanner spelling of one pack is one code; two serials never one code
# ---------------------------------------------------------------------------

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


@st.composite
def gtins(draw):
    body = draw(st.text("0123456789", min_size=13, max_size=13))
    for d in "0123456789":
        if check_digit_ok(body + d):
            return body + d
    raise AssertionError


serials = st.text(CSET82, min_size=1, max_size=20)
dates = st.builds(lambda y, m, d: f"{y:02d}{m:02d}{d:02d}", st.integers(0, 99), st.integers(1, 12), st.integers(0, 28))
lots = st.text(CSET82, min_size=1, max_size=20)
internals = st.text(CSET82, min_size=1, max_size=30)


@st.composite
def packs(draw):
    fields = [("01", draw(gtins())), ("21", draw(serials))]
    if draw(st.booleans()):
        fields.append(("17", draw(dates)))
    if draw(st.booleans()):
        fields.append(("10", draw(lots)))
    if draw(st.booleans()):
        fields.append(("91", draw(internals)))
    return fields


def spell(fields, order, fnc1: str, prefix: str) -> str:
    ordered = [fields[i] for i in order]
    text = ""
    for k, (ai, value) in enumerate(ordered):
        text += ai + value
        if ai not in ("01", "17") and k < len(ordered) - 1:
            text += fnc1
    return prefix + (fnc1 if prefix and fnc1 == GS else "") + text


def spell_parens(fields, order) -> str:
    return "".join(f"({fields[i][0]}){fields[i][1]}" for i in order)


def assert_names_pack(raw: str, want: str) -> None:
    """``raw`` is the pack ``want``; a spelling without any separator (a variable field
    last, so GS1 needs none) may instead be gs1_ambiguous with the pack among its readings,
    and then the pack seen elsewhere settles it."""
    got = normalize_code(raw)
    arrow = normalize_array(pa.array([raw]))
    assert arrow.column("code").to_pylist() == [got.code]
    if got.valid:
        assert got.code == want
        return
    assert got.reason == "gs1_ambiguous", (raw, got)
    assert not any(spelling in raw for spelling in (GS, "<GS>", "è", "{GS}", "("))
    assert want in gs1_candidates(got.code)
    settled = resolve_ambiguous(normalize_array(pa.array([raw, "(01)" + want[2:16] + "(21)" + want[18:]])))
    assert settled.column("code").to_pylist()[0] == want


@settings(max_examples=300, deadline=None)
@given(packs(), st.randoms(use_true_random=False), st.sampled_from([GS, "<GS>", "è", "{GS}"]),
       st.sampled_from(["", "]d2", "]C1", "]Q3"]))
def test_every_spelling_of_a_pack_is_one_code(fields, rnd, fnc1, prefix):
    order = list(range(len(fields)))
    rnd.shuffle(order)
    want = "01" + fields[0][1] + "21" + fields[1][1]
    assert_names_pack(spell(fields, order, fnc1, prefix), want)
    if not any("(" in v or ")" in v for _, v in fields):
        assert normalize_code(spell_parens(fields, order)).code == want
    # with a separator anywhere (here the FNC1 scanners send first) the reading is exact
    assert normalize_code(GS + spell(fields, order, GS, "")).code == want
    assert normalize_code(prefix + "<GS>" + spell(fields, order, "<GS>", "")).code == want


@settings(max_examples=300, deadline=None)
@given(gtins(), serials, serials, st.sampled_from([GS, "<GS>", "è"]))
def test_two_serials_never_one_code(gtin, s1, s2, fnc1):
    if s1 == s2:
        return
    a = normalize_code(f"01{gtin}21{s1}{fnc1}17271231")
    b = normalize_code(f"01{gtin}21{s2}{fnc1}17271231")
    assert a.valid and b.valid and a.code != b.code
