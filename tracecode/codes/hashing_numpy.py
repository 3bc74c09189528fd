"""Vectorised (numpy) XXH3-64 for whole Arrow arrays of codes — see ``tracecode.codes.hashing``.

``code_key(code)`` is XXH3-64 (seed 0, default secret) of the code's UTF-8 bytes, read as a
*signed* 64-bit integer so that it fits a SQL ``BIGINT``. ``code_keys`` computes the same
value for a whole Arrow string array.

Almost every code is 20 ASCII bytes (NHSA codes) or 18–38 bytes (canonical GS1 strings), so
``code_keys`` implements the two short-input branches of XXH3 in numpy:

* ``XXH3_len_9to16_64b``   for inputs of 9..16 bytes,
* ``XXH3_len_17to128_64b`` for inputs of 17..128 bytes,

reading the input words straight out of the Arrow data buffer (no Python loop per row).
Inputs of other lengths (0..8, 129+) fall back to the ``xxhash`` C library one by one.
The tests check both paths against ``xxhash.xxh3_64_intdigest`` for every length 0..200.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_S32 = _U64(32)

_PRIME64_1 = 0x9E3779B185EBCA87
_M64 = (1 << 64) - 1
_PRIME_MX1 = _U64(0x165667919E3779F9)

# First 128 bytes of XXH3's default secret (kSecret); the short paths use no more.
_K_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1c"
    "ded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221"
    "b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea3"
    "71644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d"
    "8a51e04bcdb45931c89f7ec9d9787364"
)


def _secret64(offset: int) -> np.uint64:
    """The little-endian 64-bit word of the default secret at byte ``offset``."""
    return _U64(int.from_bytes(_K_SECRET[offset : offset + 8], "little"))


# Rows per numpy batch: keeps the uint64 temporaries (8 bytes x rows each) cache-friendly.
_BATCH = 1 << 16


# ---------------------------------------------------------------------------
# numpy XXH3
# ---------------------------------------------------------------------------


def _mul128_fold64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a * b) as a 128-bit product, low 64 bits XOR high 64 bits (XXH3_mul128_fold64).

    The low half is numpy's wrapping uint64 product; the high half is emulated with 32-bit
    limbs exactly as xxHash's portable ``XXH_mult64to128`` does (the cross sum cannot
    overflow). ``a`` and ``b`` are consumed (used as scratch space).
    """
    lower = a * b
    a_hi = a >> _S32
    a &= _MASK32  # a_lo
    b_hi = b >> _S32
    b &= _MASK32  # b_lo
    hi_lo = a_hi * b
    a_hi *= b_hi  # hi_hi
    b_hi *= a  # lo_hi
    a *= b  # lo_lo
    a >>= _S32
    b = hi_lo & _MASK32
    a += b
    a += b_hi  # cross
    hi_lo >>= _S32
    a >>= _S32
    a += hi_lo
    a += a_hi  # upper
    lower ^= a
    return lower


def _avalanche(h: np.ndarray) -> np.ndarray:
    """XXH3_avalanche, in place."""
    h ^= h >> _U64(37)
    h *= _PRIME_MX1
    h ^= h >> _S32
    return h


def _swap64(x: np.ndarray) -> np.ndarray:
    return x.byteswap()


class _WordReader:
    """Reads little-endian uint64 words at ``row_start + k`` for a batch of rows."""

    def __init__(self, data: np.ndarray, starts: np.ndarray, stride: int | None):
        self.data = data  # uint8, the whole Arrow data buffer
        self.starts = starts  # int64 byte offset of each row
        # When every row has the same length and rows are contiguous, words can be read
        # with a strided view instead of a gather.
        self.stride = stride

    def word(self, k: int, xor: np.uint64 | None = None) -> np.ndarray:
        """The words at byte ``k`` of every row (a fresh array), XORed with ``xor``."""
        n = len(self.starts)
        if n == 0:
            return np.zeros(0, dtype=_U64)
        if self.stride is not None:
            view = np.ndarray(
                shape=(n,),
                dtype="<u8",
                buffer=self.data,
                offset=int(self.starts[0]) + k,
                strides=(self.stride,),
            )
            if xor is None:
                return np.array(view, dtype=_U64)
            return np.bitwise_xor(view, xor, dtype=_U64)
        idx = (self.starts + k)[:, None] + np.arange(8, dtype=np.int64)
        w = np.ascontiguousarray(self.data[idx]).view("<u8").reshape(n).astype(_U64)
        if xor is not None:
            w ^= xor
        return w


def _xxh3_9to16(r: _WordReader, length: int) -> np.ndarray:
    bitflip1 = _secret64(24) ^ _secret64(32)
    bitflip2 = _secret64(40) ^ _secret64(48)
    input_lo = r.word(0, bitflip1)
    input_hi = r.word(length - 8, bitflip2)
    acc = _swap64(input_lo)
    acc += _U64(length)
    acc += input_hi
    acc += _mul128_fold64(input_lo, input_hi)
    return _avalanche(acc)


def _mix16b(r: _WordReader, in_off: int, sec_off: int) -> np.ndarray:
    return _mul128_fold64(
        r.word(in_off, _secret64(sec_off)),
        r.word(in_off + 8, _secret64(sec_off + 8)),
    )


def _xxh3_17to128(r: _WordReader, length: int) -> np.ndarray:
    acc = _mix16b(r, 0, 0)
    acc += _U64((length * _PRIME64_1) & _M64)
    acc += _mix16b(r, length - 16, 16)
    rounds = (length - 1) // 32 + 1
    for i in range(1, rounds):
        acc += _mix16b(r, 16 * i, 32 * i)
        acc += _mix16b(r, length - 16 * (i + 1), 32 * i + 16)
    return _avalanche(acc)


def _xxh3_fixed_len(r: _WordReader, length: int) -> np.ndarray:
    if 9 <= length <= 16:
        return _xxh3_9to16(r, length)
    return _xxh3_17to128(r, length)


_VECTOR_LENGTHS = range(9, 129)


def _python_keys(values: pa.Array) -> np.ndarray:
    out = np.fromiter(
        (xxhash.xxh3_64_intdigest(v.encode("utf-8")) for v in values.to_pylist()),
        dtype=_U64,
        count=len(values),
    )
    return out.view(np.int64)


def _as_string_array(codes: pa.Array) -> pa.Array:
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    if not (pa.types.is_string(codes.type) or pa.types.is_large_string(codes.type)):
        codes = codes.cast(pa.string())
    if codes.null_count:
        codes = pc.fill_null(codes, "")
    return codes


def code_keys(codes: pa.Array) -> pa.Array:
    """Return the int64 key of every code: ``code_key(c)`` for each element, vectorised.

    ``codes`` is an Arrow string (or large_string) array; a ``ChunkedArray`` is accepted and
    combined. Nulls are hashed as the empty string. Rows of 9..128 UTF-8 bytes are hashed in
    numpy; other lengths fall back to the ``xxhash`` library.
    """
    codes = _as_string_array(codes)
    n = len(codes)
    if n == 0:
        return pa.array([], type=pa.int64())
    off_type = np.int64 if pa.types.is_large_string(codes.type) else np.int32
    bufs = codes.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_type)[codes.offset : codes.offset + n + 1]
    offsets = offsets.astype(np.int64)
    data = (
        np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets)
    out = np.empty(n, dtype=np.int64)

    first = int(lengths[0])
    if first in _VECTOR_LENGTHS and bool(np.all(lengths == first)):
        # The common case: every code has one length (e.g. all 20-digit NHSA codes).
        for lo in range(0, n, _BATCH):
            hi = min(n, lo + _BATCH)
            reader = _WordReader(data, offsets[lo:hi], stride=first)
            out[lo:hi] = _xxh3_fixed_len(reader, first).view(np.int64)
        return pa.array(out, type=pa.int64())

    done = np.zeros(n, dtype=bool)
    for length in np.unique(lengths):
        length = int(length)
        if length not in _VECTOR_LENGTHS:
            continue
        rows = np.flatnonzero(lengths == length)
        done[rows] = True
        for lo in range(0, len(rows), _BATCH):
            part = rows[lo : lo + _BATCH]
            reader = _WordReader(data, offsets[part], stride=None)
            out[part] = _xxh3_fixed_len(reader, length).view(np.int64)
    rest = np.flatnonzero(~done)
    if len(rest):
        out[rest] = _python_keys(codes.take(pa.array(rest)))
    return pa.array(out, type=pa.int64())
