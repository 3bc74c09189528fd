"""tracecode.codes.hashing: code_key / code_keys equal signed XXH3-64 of the UTF-8 bytes."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from tracecode.codes.hashing import code_key
from tracecode.codes.hashing_numpy import code_keys


def reference(s: str) -> int:
    h = xxhash.xxh3_64_intdigest(s.encode("utf-8"))
    return h - (1 << 64) if h >= (1 << 63) else h


def random_string(rnd: random.Random, length: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz-_<>()\x1d ８é中码"
    return "".join(rnd.choice(alphabet) for _ in range(length))


def test_code_key_is_signed_xxh3():
    for s in ["", "81234567890123456789", "010690123456789221ABC123", "追溯码"]:
        assert code_key(s) == reference(s)
        assert -(1 << 63) <= code_key(s) < (1 << 63)
    # both signs occur
    keys = [code_key(str(i)) for i in range(100)]
    assert min(keys) < 0 < max(keys)


def test_code_keys_every_length_0_to_200():
    rnd = random.Random(7)
    values = [random_string(rnd, n) for n in range(201) for _ in range(5)]
    # plus pure-ASCII strings of every byte length (random_string mixes in multibyte chars)
    values += ["".join(rnd.choice("0123456789") for _ in range(n)) for n in range(201)]
    got = code_keys(pa.array(values)).to_pylist()
    assert got == [reference(v) for v in values]


@pytest.mark.parametrize("length", [9, 12, 16, 17, 20, 24, 31, 32, 33, 38, 64, 65, 96, 97, 128])
def test_code_keys_uniform_length_fast_path(length):
    rnd = random.Random(length)
    values = ["".join(rnd.choice("0123456789ABZ") for _ in range(length)) for _ in range(300)]
    arr = pa.array(values)
    assert code_keys(arr).to_pylist() == [reference(v) for v in values]
    # a sliced array (non-zero offset) takes the same path
    assert code_keys(arr.slice(17, 100)).to_pylist() == [reference(v) for v in values[17:117]]


def test_code_keys_nulls_chunks_large_string_and_empty():
    assert code_keys(pa.array([], type=pa.string())).to_pylist() == []
    arr = pa.array(["81234567890123456789", None, "x"])
    expected = [reference("81234567890123456789"), reference(""), reference("x")]
    assert code_keys(arr).to_pylist() == expected
    big = pa.array(["81234567890123456789", "0106901234567892211"], type=pa.large_string())
    assert code_keys(big).to_pylist() == [reference(v) for v in big.to_pylist()]
    chunked = pa.chunked_array([["a" * 20], ["b" * 25, "c"]])
    assert code_keys(chunked).to_pylist() == [reference(v) for v in ["a" * 20, "b" * 25, "c"]]


def test_code_keys_returns_int64():
    out = code_keys(pa.array(["81234567890123456789"] * 3))
    assert out.type == pa.int64()
    assert out.to_numpy().dtype == np.int64


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=40))
def test_code_keys_property(values):
    assert code_keys(pa.array(values, type=pa.string())).to_pylist() == [
        code_key(v) for v in values
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=20, max_size=20), min_size=1, max_size=50))
def test_code_keys_property_uniform_digits(values):
    assert code_keys(pa.array(values)).to_pylist() == [reference(v) for v in values]
