"""Professional drug-buyers (职业开药人): the insured persons whose insured packs come back.

Built on the stored findings of ``recycled_resale`` (``tracecode check``), never on a rescan
of the history: the evidence rows of those findings are read once (one join of
``finding_events`` with ``events``), the rules' own stages from code_events to sales
(duplicates dropped, returns matched) run over those few codes, and each flagged resale is
linked to its *source*, the latest earlier insured whole-pack
purchase of the same pack (sql/analysis/recycled_flows.sql). Those links ("flows") feed two
views:

- :func:`people` — per insured person (``psn_no`` of the source purchase): packs that
  reappeared, their share of the person's insured packs, drugs and value, where they bought,
  where the packs reappeared, median days to reappearance (sql/analysis/people.sql);
- :mod:`tracecode.analysis.rings` — the pharmacy-to-pharmacy graph of the same flows.

Definitions (also in docs/PEOPLE_RINGS.md):

- a *pack* is one insured whole-pack purchase (trdn_flag 0, ``insured``) that was sold again,
  in the checked month, by a sale recycled_resale flags;
- ``--month M`` reads the findings of the check of M (which must have been run) and keeps the
  resales of M; without it, the findings over all months (``check`` without --month);
- ``--min-packs N`` lists the persons with at least N such packs.

Person ids are masked (:mod:`tracecode.privacy`) unless ``mask=False``.

Usage::

    con = open_store("city.duckdb", read_only=True)
    with Analysis(con, month="2026-10") as a:
        for p in a.people(min_packs=3):
            print(p.psn_no, p.packs, p.share)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import duckdb

from tracecode.errors import DatabaseError, UnknownMonth
from tracecode.months import ALL_MONTHS, check_month_text, month_bounds
from tracecode.privacy import mask_key, mask_person
from tracecode.sqlfiles import read_sql

__all__ = [
    "Analysis",
    "Person",
    "PEOPLE_COLUMNS",
    "people",
]

ALL = ALL_MONTHS
RULE = "recycled_resale"
DEFAULT_MIN_PACKS = 2

#: Temporary tables the analysis creates on the connection (dropped by Analysis.close()).
EVIDENCE_TABLE = "recycled_evidence"
FLOWS_TABLE = "recycled_flows"


@dataclass
class Person:
    """One insured person of the ranking (see sql/analysis/people.sql for each field)."""

    rank: int
    psn_no: str  # masked unless mask=False
    packs: int  # insured whole packs they bought that were sold again
    resales: int  # the flagged resales of those packs (a pack may be resold more than once)
    insured_packs: int  # insured whole packs they bought from their first such pack's month on
    share: float  # packs / insured_packs
    drugs: int
    top_drugs: str  # 'name xN; ...' by packs
    value: float | None  # sum of price x quantity of those purchases; None without prices
    bought_pharmacies: int
    bought_at: str  # 'pharmacy xN; ...'
    reappeared_pharmacies: int
    reappeared_at: str
    days_median: float
    first_bought: Any
    last_reappeared: Any


PEOPLE_COLUMNS = tuple(f.name for f in fields(Person))

#: Chinese headers for --headers zh.
LABELS_ZH = {
    "rank": "排名", "psn_no": "人员编号", "packs": "回流盒数", "resales": "再销售次数",
    "insured_packs": "医保购药盒数", "share": "回流比例", "drugs": "药品种数", "top_drugs": "主要药品",
    "value": "回流药品金额", "bought_pharmacies": "购药药店数", "bought_at": "购药药店",
    "reappeared_pharmacies": "回流药店数", "reappeared_at": "回流药店", "days_median": "回流天数中位数",
    "first_bought": "首次购药时间", "last_reappeared": "最后回流时间",
}


def scope_of(con: duckdb.DuckDBPyConnection, month: str | None) -> tuple[str, str, str]:
    """``(scope, month_lo, month_hi)`` of ``month`` (None: all months), checking that
    recycled_resale was checked for it. Raises UnknownMonth / DatabaseError."""
    if month is not None and month != ALL:
        month = check_month_text(month)
    scope, lo, hi = month_bounds(month if month != ALL else None)
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if not {"findings", "finding_events"} <= have:
        raise DatabaseError("the database has not been checked yet",
                            hint="run tracecode check --db DB" + (f" --month {month}" if scope != ALL else ""))
    if "check_runs" in have:
        ran = con.execute("SELECT count(*) FROM check_runs WHERE month = ? AND rule = ?", [scope, RULE]).fetchall()
        checked = ran[0][0] > 0
    else:
        checked = con.execute("SELECT count(*) FROM findings WHERE month = ?", [scope]).fetchall()[0][0] > 0
    if not checked:
        what = f"month {scope}" if scope != ALL else "all months (check without --month)"
        raise UnknownMonth(f"{RULE} has not been checked for {what}",
                           hint="run tracecode check --db DB" + (f" --month {scope}" if scope != ALL else ""))
    return scope, lo, hi


def _sales_ctes() -> str:
    """The rules' stages that turn ``code_events`` into ``sales`` (the sales that count:
    unique, not cancelled by a return), as CTEs in file order, whatever their numbers."""
    from tracecode.rules.catalogue import list_stages

    stages = list_stages()
    by_name = {s.name: s for s in stages}
    needed: set[str] = set()
    todo = ["sales"]
    while todo:
        name = todo.pop()
        if name in needed or name == "code_events" or name not in by_name:
            continue  # code_events is ours; anything else that is no stage is a table
        needed.add(name)
        todo.extend(by_name[name].needs)
    if "sales" not in needed:  # pragma: no cover
        raise DatabaseError("the rules have no sales stage")
    return ",\n".join(f"{s.name} AS (\n{_strip(s.sql)}\n)" for s in stages if s.name in needed)


def _strip(sql: str) -> str:
    return sql.rstrip().rstrip(";")


class Analysis:
    """The recycled-pack flows of one month scope, computed once on ``con`` (two temporary
    tables) and shared by :meth:`people`, :func:`tracecode.analysis.rings.find_rings` and the CSV writers. Use as a context
    manager, or call :meth:`close`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, month: str | None = None):
        from tracecode.rules.duckdb_engine import DuckDBEngine

        self.con = con
        self.scope, self.month_lo, self.month_hi = scope_of(con, month)
        self.engine = DuckDBEngine(con)
        params = {"scope": self.scope, "month_lo": self.month_lo, "month_hi": self.month_hi}
        try:
            self.engine.materialize(EVIDENCE_TABLE, read_sql("analysis/recycled_evidence.sql"), params)
            sql = (f"WITH code_events AS (SELECT * FROM {EVIDENCE_TABLE}),\n{_sales_ctes()}\n"
                   f"SELECT * FROM (\n{_strip(read_sql('analysis/recycled_flows.sql'))}\n) flows_")
            self.flows = self.engine.materialize(FLOWS_TABLE, sql, params)
        except BaseException:
            self.close()
            raise
        self._mask_key: str | None = None

    def __enter__(self) -> "Analysis":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.drop_temp_tables()

    def masker(self, mask: bool):
        """A function masking one person id (identity when ``mask`` is False)."""
        if not mask:
            return lambda v: v
        if self._mask_key is None:
            self._mask_key = mask_key(self.con)
        key = self._mask_key
        return lambda v: mask_person(v, key)

    def people(self, min_packs: int = DEFAULT_MIN_PACKS, *, mask: bool = True, limit: int | None = None) -> list[Person]:
        """The ranking: persons with at least ``min_packs`` packs that reappeared, most first."""
        min_packs = _checked_min_packs(min_packs)
        rows = self.con.execute(
            "SELECT min(src_month) FROM recycled_flows WHERE psn_no IS NOT NULL AND psn_no <> ''").fetchall()
        month_from = rows[0][0] or self.month_lo
        sql = _strip(read_sql("analysis/people.sql"))
        if limit is not None:
            sql += f"\nLIMIT {int(limit)}"
        rows = self.engine.fetch(sql, {"min_packs": min_packs, "month_from": month_from, "month_hi": self.month_hi})
        hide = self.masker(mask)
        out = []
        for i, r in enumerate(rows, start=1):
            p = Person(i, *r)
            p.psn_no = hide(p.psn_no)
            out.append(p)
        return out


def _checked_min_packs(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"min_packs must be a whole number >= 1, not {n!r}")
    return n


def people(con: duckdb.DuckDBPyConnection, month: str | None = None, min_packs: int = DEFAULT_MIN_PACKS, *,
           mask: bool = True, limit: int | None = None) -> list[Person]:
    """The professional-buyer ranking of ``month`` (None: all months)."""
    with Analysis(con, month) as a:
        return a.people(min_packs, mask=mask, limit=limit)
