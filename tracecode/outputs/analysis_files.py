"""The analysis files of the bureau's export: persons.csv (professional buyers, from
:mod:`tracecode.analysis.people`), rings.csv and ring_edges.csv (recycling rings, from
:mod:`tracecode.analysis.rings`), written with :func:`tracecode.outputs.export_write.write_csv`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tracecode.analysis.people import DEFAULT_MIN_PACKS as PEOPLE_MIN_PACKS
from tracecode.analysis.people import LABELS_ZH as PEOPLE_ZH
from tracecode.analysis.people import PEOPLE_COLUMNS, Analysis, people, scope_of
from tracecode.analysis.rings import DEFAULT_MIN_PACKS as RING_MIN_PACKS
from tracecode.analysis.rings import (
    EDGE_COLUMNS,
    RING_COLUMNS,
    Ring,
    edge_rows,
    find_rings,
    ring_rows,
    rings,
)
from tracecode.analysis.rings import LABELS_ZH as RINGS_ZH
from tracecode.errors import TracecodeError
from tracecode.outputs.export_write import write_csv

ANALYSIS_FILES = ("persons.csv", "rings.csv", "ring_edges.csv")


def _rings_of(con_or_analysis, month: str | None, min_packs: int, mask: bool) -> list[Ring]:
    if isinstance(con_or_analysis, Analysis):
        return find_rings(con_or_analysis, min_packs, mask=mask)
    return rings(con_or_analysis, month, min_packs, mask=mask)


def write_people_csv(con_or_analysis, path: str | Path, month: str | None = None, mask: bool = True,
                     encoding: str = "utf-8-sig", *, min_packs: int = PEOPLE_MIN_PACKS,
                     headers: str = "nhsa") -> int:
    """Write ``persons.csv`` (the ranking, one row per person); return the rows written.
    ``con_or_analysis``: a connection, or an :class:`Analysis` already computed."""
    if isinstance(con_or_analysis, Analysis):
        ranked = con_or_analysis.people(min_packs, mask=mask)
    else:
        ranked = people(con_or_analysis, month, min_packs, mask=mask)
    write_csv(path, PEOPLE_COLUMNS, [[getattr(p, c) for c in PEOPLE_COLUMNS] for p in ranked],
              encoding=encoding, headers=headers, labels_zh=PEOPLE_ZH)
    return len(ranked)


def write_rings_csv(con_or_analysis, path: str | Path, month: str | None = None, mask: bool = True,
                    encoding: str = "utf-8-sig", *, min_packs: int = RING_MIN_PACKS, headers: str = "nhsa") -> int:
    """Write ``rings.csv`` (one row per ring); return the rows written."""
    found = _rings_of(con_or_analysis, month, min_packs, mask)
    write_csv(path, RING_COLUMNS, ring_rows(found), encoding=encoding, headers=headers, labels_zh=RINGS_ZH)
    return len(found)


def write_ring_edges_csv(con_or_analysis, path: str | Path, month: str | None = None, mask: bool = True,
                         encoding: str = "utf-8-sig", *, min_packs: int = RING_MIN_PACKS,
                         headers: str = "nhsa") -> int:
    """Write ``ring_edges.csv`` (one row per pharmacy pair with packs flowing inside a ring)."""
    found = _rings_of(con_or_analysis, month, min_packs, mask)
    rows = edge_rows(found)
    write_csv(path, EDGE_COLUMNS, rows, encoding=encoding, headers=headers, labels_zh=RINGS_ZH)
    return len(rows)


def write_analysis_csvs(con: duckdb.DuckDBPyConnection, folder: str | Path, month: str | None = None,
                        mask: bool = True, encoding: str = "utf-8-sig", *, headers: str = "nhsa",
                        people_min_packs: int | None = None, ring_min_packs: int | None = None
                        ) -> tuple[dict[str, int], list[str]]:
    """Write persons.csv, rings.csv and ring_edges.csv into ``folder`` from one computation of
    the flows (what ``export`` calls). Returns ({file name: rows}, warnings). ``month``: 'YYYY-MM',
    'all' or None (all months)."""
    folder = Path(folder)
    counts: dict[str, int] = {}
    warnings: list[str] = []
    with Analysis(con, month) as a:
        ranked = a.people(people_min_packs or PEOPLE_MIN_PACKS, mask=mask)
        found = find_rings(a, ring_min_packs or RING_MIN_PACKS, mask=mask)
    warnings += write_csv(folder / "persons.csv", PEOPLE_COLUMNS,
                          [[getattr(p, c) for c in PEOPLE_COLUMNS] for p in ranked],
                          encoding=encoding, headers=headers, labels_zh=PEOPLE_ZH)
    counts["persons.csv"] = len(ranked)
    warnings += write_csv(folder / "rings.csv", RING_COLUMNS, ring_rows(found), encoding=encoding, headers=headers,
                          labels_zh=RINGS_ZH)
    counts["rings.csv"] = len(found)
    edges = edge_rows(found)
    warnings += write_csv(folder / "ring_edges.csv", EDGE_COLUMNS, edges, encoding=encoding, headers=headers,
                          labels_zh=RINGS_ZH)
    counts["ring_edges.csv"] = len(edges)
    return counts, warnings


def export_people_and_rings(con: duckdb.DuckDBPyConnection, folder: str | Path, scope: str, mask: bool = True,
                            encoding: str = "utf-8-sig", headers: str = "nhsa") -> tuple[dict[str, int], list[str]]:
    """What ``tracecode export`` adds: persons.csv, rings.csv and ring_edges.csv of the month
    scope (default --min-packs), written into ``folder``. When recycled_resale was not checked
    for the scope (``check --rules`` without it), nothing is written and a warning says why."""
    try:
        scope_of(con, scope)
    except TracecodeError as exc:
        return {}, [f"{', '.join(ANALYSIS_FILES)} not written: {exc}"]
    return write_analysis_csvs(con, folder, scope, mask, encoding, headers=headers)
