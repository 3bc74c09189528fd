"""is_utf8 (Arrow's validator, in pieces) judges a file as Python's strict UTF-8 decoder does."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracecode.inputs import readers
from tracecode.inputs.readers import Utf8Check, detect_encoding, is_utf8
from tracecode.store.ingest import fingerprint

#: bytes at the edges of UTF-8's classes: ASCII, continuation, lead bytes of 2/3/4, never-valid
EDGE_BYTES = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
              0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFE, 0xFF]


def python_says(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("data", [
    "销售 drug 20 位码".encode(), b"", b"\xed\xa0\x80", b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80",
    b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xed\x9f\xbf", b"\xe4\xb8", b"\x80\x80\x80\x80",
    "益民大药房".encode("gbk"), b"\xef\xbb\xbfabc",
])
def test_a_file_is_utf8_exactly_when_python_decodes_it(tmp_path, data):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert is_utf8(path) == python_says(data)


def test_every_short_sequence_of_edge_bytes_is_judged_as_python_judges_it(tmp_path):
    path = tmp_path / "f.csv"
    checked = 0
    for length in (1, 2, 3):
        for seq in itertools.product(EDGE_BYTES, repeat=length):
            data = bytes(seq)
            path.write_bytes(data)
            assert is_utf8(path) == python_says(data), data
            checked += 1
    assert checked == 28 + 28**2 + 28**3


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.one_of(st.text(max_size=8).map(lambda t: t.encode("utf-8", "surrogatepass")),
                                st.binary(max_size=4),
                                st.lists(st.sampled_from(EDGE_BYTES), max_size=5).map(bytes)), max_size=12),
       cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8))
def test_pieces_cut_anywhere_give_python_s_verdict(parts, cuts):
    # pieces cut at any byte put a cut inside every kind of character, valid or not
    data = b"".join(parts)
    check = Utf8Check()
    start = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        check.feed(data[start:max(start, cut)])
        start = max(start, cut)
    assert check.valid() == python_says(data)


@pytest.mark.parametrize("data", [("a,b\n" + "1,益民\n" * 40).encode(), "益民大药房".encode("gbk") * 9])
def test_ingest_reads_the_file_once_for_its_fingerprint_and_its_encoding(tmp_path, data):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    check = Utf8Check()
    assert fingerprint(path, check) == fingerprint(path)
    assert check.valid() == python_says(data) == is_utf8(path)


def test_a_bad_byte_past_the_first_piece_makes_the_file_gbk(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "UTF8_CHECK_BYTES", 64)
    path = tmp_path / "f.csv"
    path.write_bytes(("a,b\n" + "1,益民\n" * 40).encode() + "同仁堂".encode("gbk") + b"\n")
    assert not is_utf8(path)
    assert detect_encoding(path) != "utf-8"
