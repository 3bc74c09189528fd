"""What a store holds: files, months, kinds, codes, pharmacies, rejects."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass
class StoreStatus:
    files: list[dict]
    months: list[dict]  # month, sales, returns
    kinds: dict[str, int]
    events: int
    distinct_codes: int
    invalid_codes: int
    pharmacies: int
    rejects: int
    rows_read: int
    rows_stored: int


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def store_status(con: duckdb.DuckDBPyConnection) -> StoreStatus:
    files = _dicts(con.execute(
        """SELECT file_id, name, size, fingerprint, kind, format, encoding, rows_read, rows_stored,
                  rows_rejected, events, loaded_at, rows_skipped, header_line FROM files ORDER BY file_id"""))
    months = _dicts(con.execute(
        """SELECT month, count(*) FILTER (WHERE kind = 'sale') AS sales,
                  count(*) FILTER (WHERE kind = 'return') AS returns
           FROM events GROUP BY month ORDER BY month"""))
    kinds = dict(con.execute("SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind").fetchall())
    events, codes, invalid, pharmacies = con.execute(
        """SELECT count(*), count(DISTINCT drug_trac_codg) FILTER (WHERE code_status = 'valid'),
                  count(*) FILTER (WHERE code_status = 'invalid'), count(DISTINCT fixmedins_code)
           FROM events""").fetchall()[0]
    rejects = con.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
    rows_read, rows_stored = con.execute(
        "SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_stored), 0) FROM files").fetchall()[0]
    return StoreStatus(files, months, kinds, events, codes, invalid, pharmacies, rejects, int(rows_read), int(rows_stored))
