"""Masking of insured-person ids (人员编号 psn_no and the like): personal data.

A masked id keeps its first 3 and last 2 characters and adds a keyed hash, so that an analyst
can tell two people apart and follow one person across files, but cannot read the id back.
The key is random per database (meta.mask_key) and never leaves it.
"""

from __future__ import annotations

import hashlib

import duckdb

#: The same mask as a SQL macro, for exports computed inside DuckDB: masked_id(column, key).
MASK_MACRO = ("CREATE OR REPLACE TEMP MACRO masked_id(v, key) AS CASE WHEN v IS NULL OR v = '' THEN v ELSE "
              "left(v, 3) || '***' || right(v, 2) || '#' || left(sha256(key || v), 6) END")

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
    return f"{value[:3]}***{value[-2:]}#{digest}"
