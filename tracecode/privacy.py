"""Masking of insured-person ids (人员编号 psn_no and the like): personal data.

A masked id keeps a few of its first and last characters and adds a keyed hash, so that an
analyst can tell two people apart and follow one person across files, but cannot read the id
back. It never shows more than a third of the id's characters (at most the first 3 and the
last 2: a 20-digit psn_no shows 5), so an id of 2 characters shows none and `张三丰` only `张`.
The key is random per database (meta.mask_key) and never leaves it, so one person's masks differ
between two databases. A bureau that keeps several databases (one per district, per year) and wants
one person to carry one mask in all of them keeps its own key in a file and gives it to every
masking command: ``--mask-key-file PATH`` or ``$TRACECODE_MASK_KEY_FILE`` (:func:`use_key_file`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb

from tracecode.errors import MaskKeyError

#: The same mask as a SQL macro, for exports computed inside DuckDB: masked_id(column, key).
MASK_MACRO = ("CREATE OR REPLACE TEMP MACRO masked_id(v, key) AS CASE WHEN v IS NULL OR v = '' THEN v ELSE "
              "left(v, least(3, (length(v) // 3 + 1) // 2)) || '***' "
              "|| CASE WHEN length(v) // 3 - least(3, (length(v) // 3 + 1) // 2) > 0 "
              "THEN right(v, least(2, length(v) // 3 - least(3, (length(v) // 3 + 1) // 2))) ELSE '' END "
              "|| '#' || left(sha256(key || v), 6) END")

#: Columns holding personal data (masked unless --no-mask).
PERSONAL_COLUMNS = ("psn_no", "certno", "psn_name", "psn_cert_type")


#: The environment variable naming a bureau's key file (the default of --mask-key-file).
KEY_FILE_ENV = "TRACECODE_MASK_KEY_FILE"
#: A key file holds at least this many characters (a key short enough to guess would let anyone
#: holding an export test candidate ids against the masks).
MIN_KEY_CHARS = 16

_bureau_key: str | None = None


def read_key_file(path: str | os.PathLike) -> str:
    """The key in ``path`` (its first line, without surrounding blanks)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MaskKeyError(f"cannot read mask key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    key = (text.splitlines() or [""])[0].strip()
    if len(key) < MIN_KEY_CHARS:
        raise MaskKeyError(f"mask key file {path} holds {len(key)} characters; at least {MIN_KEY_CHARS} are needed")
    return key


def use_key_file(path: str | os.PathLike | None) -> None:
    """Mask with the key in ``path`` from now on in this process, instead of each database's own
    key; None goes back to the databases' keys."""
    global _bureau_key
    _bureau_key = None if path is None else read_key_file(path)


def bureau_key() -> str | None:
    """The key of the key file in use (:func:`use_key_file`), or None."""
    return _bureau_key


def mask_key(con: duckdb.DuckDBPyConnection) -> str:
    """The key masks are made with: the key file's when one is in use, else the database's."""
    if _bureau_key is not None:
        return _bureau_key
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
