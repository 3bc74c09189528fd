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
    # code_index is sorted by code_key (row groups skipped by their min/max), events are stored
    # in event_id order: two narrow reads, as trace does; files not indexed yet by file_id.
    # IN lists of placeholders (not list_contains) so that DuckDB pushes them into the scans.
    key_list = ", ".join("?" for _ in keys)
    ids = [r[0] for r in con.execute(f"SELECT event_id FROM code_index WHERE code_key IN ({key_list})",
                                     keys).fetchall()]
    found: set[str] = set()
    if ids:
        id_list = ", ".join("?" for _ in ids)
        found.update(r[0] for r in con.execute(
            f"SELECT DISTINCT drug_trac_codg FROM events WHERE event_id IN ({id_list}) "
            "AND code_status = 'valid' AND list_contains(?, drug_trac_codg)", [*ids, candidates]).fetchall())
    found.update(r[0] for r in con.execute(
        f"SELECT DISTINCT drug_trac_codg FROM events WHERE file_id > ? AND code_key IN ({key_list}) "
        "AND code_status = 'valid' AND list_contains(?, drug_trac_codg)", [upto, *keys, candidates]).fetchall())
    return sorted(found)


def store_lookup(con: duckdb.DuckDBPyConnection) -> Callable[[list[str]], list[str]]:
    """:func:`known_codes` on a connection of its own (ingest normalises in a prefetch thread;
    it sees what is committed)."""
    cursor = con.cursor()
    return lambda candidates: known_codes(cursor, candidates)
