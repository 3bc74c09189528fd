"""Run the detection rules: one flow for every engine.

The rules are SQL files (``sql/rules/<rule>.sql``), each one plain SELECT returning the rows it
flags (``code_key, drug_trac_codg, event_id, detail``), with its metadata in header comments::

    -- rule: same_pharmacy_repeat
    -- severity: high
    -- label_zh: 同店重复销售
    -- needs: sales
    -- meaning: ...

They read intermediate relations built by the stages (``sql/stages/NN_<name>.sql``, also plain
SELECTs), which the runner materialises one by one, named after the file. Values are bound
parameters (``$month_lo``, ``$month_hi``, ``$close_days``, ``$scope``, ``$checked_at``), never
formatted into the SQL.

:func:`run_rules` is the flow (plan, parameters, rule metadata, kept summaries, stages, rules,
flagged, finding_rows, new_findings, summary); an engine (:class:`Engine`) only says how a
relation is made on it: :class:`tracecode.rules.duckdb_engine.DuckDBEngine` (temporary tables)
or :class:`tracecode.spark.engine.SparkEngine` (checkpointed views). :func:`run_checks` runs
it on a DuckDB store and stores the findings.

The semantics are in docs/RULES.md. Usage::

    con = open_store("city.duckdb")
    result = run_checks(con, month="2026-10", catalog=Path("catalog.csv"))
    for row in result.rules:
        print(row.rule, row.codes, row.rows, row.pharmacies)
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import duckdb

from tracecode.errors import RuleError
from tracecode.faults import fault_point
from tracecode.inputs.catalog import CATALOG_COLUMNS, read_catalog
from tracecode.months import check_month_text, month_bounds
from tracecode.rules.catalogue import RuleInfo, list_stages, rule_files
from tracecode.rules.duckdb_engine import DuckDBEngine
from tracecode.rules.plan import flagged_sql, select_rules, stage_plan
from tracecode.rules.results import CheckResult, RuleSummary
from tracecode.sqlfiles import SqlFile, read_sql

__all__ = [
    "CheckResult",
    "Engine",
    "Progress",
    "RuleRun",
    "run_checks",
    "run_rules",
]


class Engine(Protocol):
    """What the runner needs of an engine: how relations are made and read on it."""

    def require_month(self, month: str) -> None:
        """UnknownMonth unless the input holds events in ``month`` (a well-formed month)."""

    def register_columns(self, name: str, columns: list[tuple[str, str, list]]) -> None:
        """Make the relation ``name`` from lists of values, one per (column, DuckDB type, values)."""

    def keep_summaries(self, stages: list[SqlFile], timings: dict[str, float], counts: dict[str, int]) -> None:
        """Make the tables of the ``persist`` stages current (kept across checks where the
        engine can keep them) and readable under their table names."""

    def materialize(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """Compute a SELECT into the relation ``name``; its row count (-1: not counted)."""

    def define(self, name: str, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> int:
        """Make the relation ``name`` of a rule (read once, by ``flagged``); its row count or -1."""

    def fetch(self, sql: str, params: dict[str, Any] | None = None, where: str | None = None) -> list[tuple]:
        """The rows of a SELECT."""

    def drop_temp_tables(self) -> None:
        """Drop every relation the engine made."""


class Progress(Protocol):
    """Where the runner reports its steps."""

    def planned(self, steps: int) -> None:
        """The number of steps to come."""

    def start(self, step: str) -> None:
        """A step begins."""

    def done(self, step: str, rows: int, seconds: float) -> None:
        """A step finished: a stage, a rule (``rule_<id>``), ``summaries``, ``flagged`` or ``findings``."""


class _Quiet:
    def planned(self, steps: int) -> None:
        pass

    def start(self, step: str) -> None:
        pass

    def done(self, step: str, rows: int, seconds: float) -> None:
        pass


@dataclass
class RuleRun:
    """The rules' results on an engine: the summary, and the relations new_findings and
    finding_rows still held by the engine."""

    scope: str  # 'YYYY-MM' or 'all'
    rules: list[RuleInfo]  # the rules run, in the canonical order
    params: dict[str, Any]  # the bound values: month_lo, month_hi, close_days, scope, checked_at
    summary: list[RuleSummary]
    timings: dict[str, float] = field(default_factory=dict)  # step name -> seconds
    counts: dict[str, int] = field(default_factory=dict)  # relation -> rows


def run_rules(engine: Engine, *, month: str | None = None, catalog: Path | str | None = None, close_days: int = 3,
              rules: Iterable[str] | None = None, progress: Progress | None = None) -> RuleRun:
    """Run the selected rules on ``engine`` for ``month`` (None: every month) and leave the
    relations new_findings and finding_rows on it. Raises UnknownMonth (malformed month, or no
    events in it), RuleError (unknown rule id, bad close_days), InputFileError (unreadable
    catalogue)."""
    progress = progress or _Quiet()
    selected = select_rules(rules)
    if isinstance(close_days, bool) or not isinstance(close_days, int) or close_days < 0:
        raise RuleError(f"close_days must be a whole number of days >= 0, not {close_days!r}")
    if month is not None:
        month = check_month_text(month)
        engine.require_month(month)
    scope, lo, hi = month_bounds(month)
    catalog_columns = read_catalog(catalog) if catalog is not None else ([], [], [], [])

    files = rule_files()
    chosen = [files[r.id] for r in selected]
    plan = stage_plan(list_stages(), chosen)
    params = {"month_lo": lo, "month_hi": hi, "close_days": int(close_days), "scope": scope,
              "checked_at": dt.datetime.now().replace(microsecond=0)}
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    built = [s for s in plan if not s.meta.get("persist")]
    progress.planned(len(built) + len(chosen) + 3)

    engine.register_columns("drug_catalog", [(name, kind, values) for (name, kind), values
                                             in zip(CATALOG_COLUMNS, catalog_columns)])
    engine.register_columns("rule_meta", [
        ("rule", "VARCHAR", [r.id for r in selected]),
        ("severity", "VARCHAR", [r.severity for r in selected]),
        ("label_zh", "VARCHAR", [r.label_zh for r in selected]),
        ("evidence", "VARCHAR", [r.evidence for r in selected]),
        ("position", "BIGINT", list(range(len(selected)))),
    ])
    progress.start("summaries")
    t0 = time.perf_counter()
    engine.keep_summaries([s for s in plan if s.meta.get("persist")], timings, counts)
    progress.done("summaries", -1, time.perf_counter() - t0)

    def step(name: str, make, sql: str, where: str, values: dict[str, Any] | None = params) -> None:
        progress.start(name)
        t0 = time.perf_counter()
        counts[name] = make(name, sql, values, where=where)
        timings[name] = time.perf_counter() - t0
        progress.done(name, counts[name], timings[name])
        fault_point("check.step")

    for stage in built:
        step(stage.name, engine.materialize, stage.sql, f"sql/{stage.path}")
    for f in chosen:
        step(f"rule_{f.name}", engine.define, f.sql, f"sql/{f.path}")
    step("flagged", engine.materialize, flagged_sql([f.name for f in chosen]), "flagged", None)
    progress.start("findings")
    t0 = time.perf_counter()
    for name, path in (("finding_rows", "findings/findings_rows.sql"), ("new_findings", "findings/findings.sql")):
        counts[name] = engine.materialize(name, read_sql(path), params, where=f"sql/{path}")
    summary_rows = engine.fetch(read_sql("findings/findings_summary.sql"), params,
                                where="sql/findings/findings_summary.sql")
    timings["findings"] = time.perf_counter() - t0
    progress.done("findings", counts["new_findings"], timings["findings"])
    return RuleRun(scope, selected, params, [RuleSummary(*row) for row in summary_rows], timings, counts)


def run_checks(con: duckdb.DuckDBPyConnection, *, month: str | None = None, catalog: Path | str | None = None,
               close_days: int = 3, rules: list[str] | None = None, progress: bool = False,
               on_store: Callable[[duckdb.DuckDBPyConnection, str, dt.datetime], Any] | None = None) -> CheckResult:
    """Run the rules on a DuckDB store and store their findings; return the per-rule summary.

    With ``month`` ('YYYY-MM'), the findings are those with a flagged row in that month,
    judged against every event up to the end of the month; without it, everything (month
    scope 'all'). Re-running the same scope and rules replaces their findings.

    Raises what :func:`run_rules` raises.
    """
    started = time.perf_counter()
    engine = DuckDBEngine(con)
    bar = _Bar(month) if progress else None
    try:
        run = run_rules(engine, month=month, catalog=catalog, close_days=close_days, rules=rules, progress=bar)
        if bar:
            bar.start("store")
        engine.store_findings(run.scope, [r.id for r in run.rules], run.summary, run.params,
                              str(catalog) if catalog is not None else None, run.timings, run.counts,
                              None if on_store is None else
                              (lambda c: on_store(c, run.scope, run.params["checked_at"])))
        if bar:
            bar.bar.update(1)
    finally:
        if bar:
            bar.close()
        engine.drop_temp_tables()
    return CheckResult(run.scope, run.summary, time.perf_counter() - started, run.timings, run.counts)


class _Bar:
    """A check's progress as a tqdm bar on stderr."""

    def __init__(self, month: str | None):
        self.month = month
        self.bar = None

    def planned(self, steps: int) -> None:
        from tqdm import tqdm

        scope = month_bounds(self.month.strip() if isinstance(self.month, str) else None)[0]
        self.bar = tqdm(total=steps, desc=f"check {scope}", unit=" step", leave=False, file=sys.stderr)

    def start(self, step: str) -> None:
        self.bar.set_postfix_str(step)

    def done(self, step: str, rows: int, seconds: float) -> None:
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
