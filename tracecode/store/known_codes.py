"""Which of some candidate codes the store already holds as valid codes: what settles a GS-less
GS1 string whose pack was seen before with separators (docs/RULES.md, "How a GS1 code is read")."""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from tracecode.codes.hashing import code_key

__all__ = ["known_codes", "store_lookup"]


def known_codes(con: duckdb.DuckDBPyConnection, candidates: list[str]) -> list[str]:
    """The ``candidates`` that are the normalised code of a valid stored event."""
    if not candidates:
        return []
    keys = [code_key(c) for c in candidates]
    upto = con.execute(
        "SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'indexed_file_id'").fetchall()[0][0]
    rows = con.execute(
        """SELECT DISTINCT e.drug_trac_codg FROM events e
           WHERE e.code_status = 'valid' AND list_contains(?, e.drug_trac_codg)
             AND (e.event_id IN (SELECT i.event_id FROM code_index i WHERE list_contains(?, i.code_key))
                  OR (e.file_id > ? AND list_contains(?, e.code_key)))""",
        [candidates, keys, upto, keys]).fetchall()
    return [r[0] for r in rows]


def store_lookup(con: duckdb.DuckDBPyConnection) -> Callable[[list[str]], list[str]]:
    """:func:`known_codes` on a connection of its own (ingest normalises in a prefetch thread;
    it sees what is committed)."""
    cursor = con.cursor()
    return lambda candidates: known_codes(cursor, candidates)
