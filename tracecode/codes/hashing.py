"""The 64-bit key of a normalised traceability code: XXH3-64 (seed 0) of its UTF-8 bytes,
as a signed BIGINT. ``tracecode.codes.hashing_numpy.code_keys`` computes the same for a whole Arrow array (numpy);
this module stays small, so that one-code lookups start fast."""

from __future__ import annotations

import xxhash

__all__ = ["code_key"]


def code_key(code: str) -> int:
    """Return the signed 64-bit key of one normalised code.

    The value is ``xxhash.xxh3_64_intdigest(code.encode('utf-8'))`` converted to a signed
    int64 (two's complement), so that it fits a SQL ``BIGINT``.
    """
    h = xxhash.xxh3_64_intdigest(code.encode("utf-8"))
    return h - (1 << 64) if h >= (1 << 63) else h

