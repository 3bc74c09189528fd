"""Masking of insured-person ids (人员编号 psn_no and the like): personal data.

A masked id keeps a few of its first and last characters and adds a keyed hash, so that an
analyst can tell two people apart and follow one person across files, but cannot read the id
back. It never shows more than a third of the id's characters (at most the first 3 and the
last 2: a 20-digit psn_no shows 5), so an id of 2 characters shows none and `张三丰` only `张`.
The key is random per database (meta.mask_key) and never leaves it.
"""

from __future__ import annotations

import hashlib

import duckdb

#: The same mask as a SQL macro, for exports computed inside DuckDB: masked_id(column, key).
MASK_MACRO = ("CREATE OR REPLACE TEMP MACRO masked_id(v, key) AS CASE WHEN v IS NULL OR v = '' THEN v ELSE "
              "left(v, least(3, (length(v) // 3 + 1) // 2)) || '***' "
              "|| CASE WHEN length(v) // 3 - least(3, (length(v) // 3 + 1) // 2) > 0 "
              "THEN right(v, least(2, length(v) // 3 - least(3, (length(v) // 3 + 1) // 2))) ELSE '' END "
              "|| '#' || left(sha256(key || v), 6) END")

#: Columns holding personal data (masked unless --no-mask).
PERSONAL_COLUMNS = ("psn_no", "certno", "psn_name", "psn_cert_type")


def mask_key(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute("SELECT value FROM meta WHERE key = 'mask_key'").fetchall()
    return rows[0][0] if rows else ""


def mask_person(value: str | None, key: str) -> str | None:
    """Mask one id exactly as MASK_MACRO does."""
    if value is None or value == "":
        return value
    digest = hashlib.sha256((key + value).encode("utf-8")).hexdigest()[:6]
    head, tail = shown_ends(len(value))
    return f"{value[:head]}***{value[len(value) - tail:]}#{digest}"


def shown_ends(length: int) -> tuple[int, int]:
    """How many first and last characters a masked id of ``length`` characters shows: a third
    of them at most, at most 3 first and 2 last."""
    shown = length // 3
    head = min(3, (shown + 1) // 2)
    return head, min(2, shown - head)
