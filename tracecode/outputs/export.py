"""Write what ``check`` found to CSV files a bureau or a pharmacy opens in Excel.

Four files per export (NHSA field names, or Chinese headers with ``headers="zh"``):

- ``suspicious_codes.csv``  one row per (code, rule) finding of the month scope;
- ``suspicious_events.csv`` the evidence: every row of each suspicious code, ``flagged`` 1 for
  the rows the rule blames;
- ``rejects.csv``           input records that could not be read (file, line, field, reason);
- ``summary.csv``           per pharmacy: code rows uploaded, findings per rule, flagged share and amount;
- ``uncoded_sales.csv``     per pharmacy and drug: the sales without a code (rule uncoded_sale);
- ``cases_summary.csv``      when the store has cases: per month, rule and pharmacy ('*': all),
  new, reopened, open and closed cases, amount at stake, recovered, open age, rule precision
  (docs/CASES.md; bureau only);

and, for the bureau only (never in the per-pharmacy folders), ``persons.csv`` (professional
buyers), ``rings.csv`` and ``ring_edges.csv`` (recycling rings): see :mod:`tracecode.outputs.analysis_files`.

Each file is one DuckDB ``COPY`` (the queries are the files of ``sql/export/``, read by
:mod:`tracecode.outputs.export_sql`; the writing is :mod:`tracecode.outputs.export_write`). The
export reads what check stored for it: the evidence rows with their event columns, in file
order (finding_evidence), and the code rows per file, month and pharmacy (pharmacy_rows, kept
by ingest); it reads the events table only for what a store lacks (earlier months of a
--month check, a store checked by an earlier version). Three connections work at once:
suspicious_events.csv; the other three files; persons and rings. Text cells Excel would read as
a formula get a leading ``'``; insured-person ids are masked unless ``mask=False``. Files are
written into a staging folder inside ``out_dir`` (:mod:`tracecode.staging`) and moved into place
at the end: a failed export leaves no half-written files.

``per_pharmacy`` adds ``pharmacies/<folder>/`` holding the same four files restricted to one
pharmacy, for dispatch to it. What a pharmacy sees: the findings in which at least one of its
own rows is flagged; only its own evidence rows (first/last seen and occurrences over those);
``pharmacies`` still counts every pharmacy that sold the code, but ``pharmacy_list`` names only
itself and other pharmacies' codes and names in ``detail`` read 其他药店; its own rejects (by the
record's pharmacy code, else the pharmacy of a one-pharmacy file); its own summary row.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from tracecode.errors import DatabaseError, OutputError, UnknownMonth
from tracecode.messages import DEFAULT_LANG, text
from tracecode.outputs.export_sql import (
    CODE_COLUMNS,
    EVENT_COLUMNS,
    EVIDENCE_TABLE,
    FOLDER_COLUMNS,
    MACROS,
    PHARMACY_ROWS_TABLE,
    REJECT_COLUMNS,
    SCOPE_VARIABLE,
    SCOPED_REJECTS_VIEW,
    UNCODED_COLUMNS,
    export_query,
    summary_columns,
    summary_sql,
)
from tracecode.outputs.export_write import (
    ENCODINGS,
    PHARMACY_DIR,
    CsvWriter,
    bound,
    folder_names,
)
from tracecode.outputs.workbook import write_workbooks
from tracecode.privacy import mask_key
from tracecode.staging import publish, staging_folder, visible_entries

HEADERS = ("nhsa", "zh")
FILE_NAMES = ("suspicious_codes.csv", "suspicious_events.csv", "rejects.csv", "summary.csv", "uncoded_sales.csv")
#: The case figures per month, rule and pharmacy (tracecode.cases.summary), when the store has cases.
CASES_SUMMARY_FILE = "cases_summary.csv"
FOLDERS_FILE = "pharmacy_folders.csv"
EVENTS_FILE = "suspicious_events.csv"
ALL = "all"
from tracecode.months import MONTH_RE  # noqa: E402


@dataclass
class ExportResult:
    """What an export wrote."""

    out_dir: Path
    scope: str  # 'YYYY-MM' or 'all'
    rows: dict[str, int] = field(default_factory=dict)  # file name -> data rows
    pharmacies: int = 0  # per-pharmacy folders written
    findings: dict[str, int] = field(default_factory=dict)  # rule -> codes found
    warnings: list[str] = field(default_factory=list)

    @property
    def total_findings(self) -> int:
        return sum(self.findings.values())


def rule_catalog() -> list[tuple[str, str]]:
    """(rule id, Chinese label) of every rule, in rule order (docs/RULES.md)."""
    from tracecode.rules.catalogue import list_rules

    return [(r.id, r.label_zh) for r in list_rules()]


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}


def held_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT month FROM events WHERE month <> '' ORDER BY month").fetchall()]


def checked_scopes(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Month scopes a check has run for ('all' included): the check log when there is one,
    else the scopes that have findings."""
    have = tables(con)
    for table in ("check_runs", "checks"):
        if table in have:
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
            if "month" in cols:
                return {r[0] for r in con.execute(f"SELECT DISTINCT month FROM {table}").fetchall()}
    if "findings" not in have:
        return set()
    return {r[0] for r in con.execute("SELECT DISTINCT month FROM findings").fetchall()}


def resolve_scope(con: duckdb.DuckDBPyConnection, month: str | None, db_label: str = "the database",
                  require_rows: bool = True) -> str:
    """The findings scope to export: ``month`` or 'all' when it is None.

    Raises DatabaseError when nothing was ingested or checked, UnknownMonth when the month is
    malformed, not held, or not checked yet. ``require_rows=False`` (scan) accepts a database
    whose every record was rejected.
    """
    db = shlex.quote(db_label) if db_label != "the database" else "DB"
    if con.execute("SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)").fetchall()[0][0] == 0:
        if not require_rows and month is None:
            return ALL
        raise DatabaseError(f"{db_label} holds no uploads",
                            hint=f"load files first: tracecode ingest --db {db} FILE...")
    if month is not None:
        if not MONTH_RE.match(month):
            raise UnknownMonth(f"--month {month!r} is not a month; write it as YYYY-MM, e.g. 2026-10")
        months = held_months(con)
        if month not in months:
            span = f"{months[0]} to {months[-1]}" if months else "no months"
            raise UnknownMonth(f"month {month} is not in {db_label} (it holds {span})")
    scope = month or ALL
    checked = checked_scopes(con)
    if not checked:
        raise DatabaseError(f"{db_label} has not been checked yet",
                            hint=f"run tracecode check --db {db}" + (f" --month {month}" if month else ""))
    if scope not in checked:
        done = ", ".join(sorted(checked))
        if month:
            raise UnknownMonth(f"month {month} has not been checked (checked: {done})",
                               hint=f"run tracecode check --db {db} --month {month}")
        raise UnknownMonth(f"there are no findings over all months (checked: {done})",
                           hint=f"run tracecode check --db {db} (without --month), or export with --month")
    return scope


def check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuse to write over files in a non-empty folder unless ``force``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a folder", hint="give --out a folder path")
    if out_dir.is_dir() and visible_entries(out_dir) and not force:
        raise OutputError(f"output folder {out_dir} is not empty",
                          hint="choose an empty or new --out folder, or add --force to overwrite tracecode's files")


def make_out_dir(out_dir: Path) -> None:
    """Create the output folder (and its parents), or say why it cannot be."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {out_dir}: {exc.strerror}",
                          hint="choose a folder you may write to") from None


def export(con: duckdb.DuckDBPyConnection, out_dir: str | os.PathLike, *, month: str | None = None,
           per_pharmacy: bool = False, encoding: str = "utf-8-sig", headers: str = "nhsa", mask: bool = True,
           force: bool = False, db_label: str = "the database", require_rows: bool = True,
           lang: str = DEFAULT_LANG) -> ExportResult:
    """Write the four CSV files of a month's findings (or of all months') into ``out_dir``.

    Example::

        con = open_store("city.duckdb", read_only=True)
        export(con, "out/2026-10", month="2026-10", per_pharmacy=True)
    """
    if encoding not in ENCODINGS:
        raise OutputError(f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    if headers not in HEADERS:
        raise OutputError(f"headers {headers!r} is not one of {', '.join(HEADERS)}")
    out_dir = Path(out_dir)
    check_out_dir(out_dir, force)
    scope = resolve_scope(con, month, db_label, require_rows)
    catalog = rule_catalog()
    rules = [r for r, _ in catalog]
    result = ExportResult(out_dir, scope)
    result.findings = dict(con.execute(
        "SELECT rule, count(*) FROM findings WHERE month = $scope GROUP BY rule ORDER BY rule",
        {"scope": scope}).fetchall())
    created = not out_dir.exists()
    make_out_dir(out_dir)
    try:
        _export_staged(con, out_dir, result, scope, catalog, rules, per_pharmacy, encoding, headers, mask, force, lang)
    except BaseException:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()  # a failed export into a new folder leaves no folder behind
        raise
    return result


def _export_staged(con: duckdb.DuckDBPyConnection, out_dir: Path, result: ExportResult, scope: str, catalog,
                   rules: list[str], per_pharmacy: bool, encoding: str, headers: str, mask: bool, force: bool,
                   lang: str) -> None:
    with staging_folder(out_dir, refuse_nonempty=not force) as staging:
        stand_in = _stand_in_finding_evidence(con)
        # persons.csv, rings.csv and ring_edges.csv are computed on a second connection while the
        # four files are written (see _Background); the graph library they end with is imported
        # meanwhile, while DuckDB works.
        _import_in_background("networkx")
        people = _Background(con, _people_and_rings(staging, scope, mask, encoding, headers), "people")
        try:
            w = CsvWriter(con, staging, encoding, headers, dict(catalog))
            result.rows.update(write_files(con, w, scope, mask, rules=rules, per_pharmacy=per_pharmacy, lang=lang))
            written = list(FILE_NAMES)
            cases_rows = write_cases_summary(con, staging / CASES_SUMMARY_FILE, scope, encoding)
            if cases_rows is not None:
                result.rows[CASES_SUMMARY_FILE] = cases_rows
                written.append(CASES_SUMMARY_FILE)
            people_rows, people_warnings = people.result()
            result.rows.update(people_rows)
            written += list(people_rows)
            if per_pharmacy:
                written.append(FOLDERS_FILE)
                result.pharmacies = result.rows.pop(PHARMACY_DIR)
            result.warnings = w.warnings + people_warnings
            book = write_workbooks(staging, scope, encoding, catalog, result.rows, result.findings,
                                   sorted(p for p in (staging / PHARMACY_DIR).glob("*") if p.is_dir()))
            written.append(book)
            publish(staging, out_dir, written, PHARMACY_DIR, (*FILE_NAMES, book))
        finally:
            people.wait()
            if stand_in:
                con.execute("DROP TABLE IF EXISTS temp.main.finding_evidence")


class _Background:
    """``fn(cursor)`` in a thread, on its own cursor (a connection to the same database, with
    its own temporary tables): DuckDB releases the GIL, so the work overlaps the caller's."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fn: Callable[[duckdb.DuckDBPyConnection], object],
                 name: str):
        import threading

        self._value: object = None
        self._error: BaseException | None = None
        self._cursor = con.cursor()
        self._thread = threading.Thread(target=self._run, args=(fn,), name=f"tracecode-{name}", daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn(self._cursor)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def wait(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
        self._cursor.close()

    def result(self):
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value


def write_cases_summary(con: duckdb.DuckDBPyConnection, path: Path, scope: str, encoding: str) -> int | None:
    """Write cases_summary.csv (the case figures of the scope's month, or of every month for
    'all'; docs/CASES.md); None, writing nothing, when the store has no cases."""
    import csv

    from tracecode.cases.summary import SUMMARY_COLUMNS, cases_summary

    rows = cases_summary(con, scope)
    if rows is None:
        return None
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(rows)
    return len(rows)


def _import_in_background(module: str) -> None:
    """Start importing ``module`` in a daemon thread (the import lock makes a later import wait
    for it rather than start again); a failure is left for that later import to report."""
    import importlib
    import sys
    import threading

    if module in sys.modules:
        return

    def run() -> None:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the real import says what is wrong
            pass

    threading.Thread(target=run, name=f"tracecode-import-{module}", daemon=True).start()


def _people_and_rings(folder: Path, scope: str, mask: bool, encoding: str, headers: str):
    def run(cur: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], list[str]]:
        from tracecode.outputs.analysis_files import export_people_and_rings

        stand_in = _stand_in_finding_evidence(cur)
        try:
            return export_people_and_rings(cur, folder, scope, mask, encoding, headers)
        finally:
            if stand_in:
                cur.execute("DROP TABLE IF EXISTS temp.main.finding_evidence")
    return run


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether ``name`` is a table of the main database or a temporary one."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
                            [name]).fetchall()[0][0])


def _stand_in_finding_evidence(con: duckdb.DuckDBPyConnection) -> bool:
    """An empty temporary finding_evidence for a store last checked before check stored it
    (see :func:`tracecode.rules.runner.stand_in_finding_evidence`); returns whether it made one."""
    from tracecode.rules.duckdb_engine import stand_in_finding_evidence

    return stand_in_finding_evidence(con)


def _presorted(con: duckdb.DuckDBPyConnection, scope: str, rules: list[str]) -> bool:
    """Whether finding_evidence holds the scope's every evidence row, sorted for ``rules``: its
    stamp (written by check) matches the scope's finding_events and rule order, and no row is
    missing (check reads no history: a --month scope can lack its earlier months' rows)."""
    from tracecode.rules.duckdb_engine import evidence_stamp

    stamp = con.execute("SELECT value FROM meta WHERE key = ?", [f"evidence:{scope}"]).fetchall()
    if not stamp or stamp[0][0] != evidence_stamp(con, scope, rules):
        return False
    events = int(stamp[0][0].rsplit("|", 1)[1].split(":")[0])
    return con.execute(export_query("evidence_stored_count"), {"scope": scope}).fetchall()[0][0] == events


def write_files(con: duckdb.DuckDBPyConnection, writer: CsvWriter, scope: str, mask: bool = True, *,
                rules: list[str] | None = None, per_pharmacy: bool = False,
                rewrite: Callable[[str, str], str] | None = None, lang: str = DEFAULT_LANG) -> dict[str, int]:
    """Write the four files of ``scope`` (and with ``per_pharmacy`` the pharmacies/ folders and
    pharmacy_folders.csv) into ``writer``'s folder from the findings, finding_events,
    finding_evidence, pharmacy_rows, events, files and rejects tables ``con`` holds (reading
    events only for what check did not store); return the rows per file (and the folder count
    under 'pharmacies'). ``rewrite(file name, SELECT)`` lets another engine adapt a query (the
    Spark output feeds summary.csv's per-pharmacy counts)."""
    rules = rules if rules is not None else [r for r, _ in rule_catalog()]
    params = {"scope": scope, "rules": rules, "other": text("other_pharmacy", lang),
              "withheld": text("withheld", lang), "lang": lang, "mask": mask,
              "mask_key": mask_key(con) if mask else ""}
    rows: dict[str, int] = {}
    stand_in = _stand_in_finding_evidence(con)
    counted = _pharmacy_rows(con)
    # finding_evidence holds the scope in file order: export_evidence is a view of it (nothing
    # to write first), suspicious_events.csv is written as stored (no sort; insertion order kept
    # on for this export), and summary, rejects and suspicious_codes.csv are written on a second
    # connection meanwhile. Else export_evidence is a table made from it and events, sorted.
    presorted = not stand_in and _presorted(con, scope, rules)
    jobs = _jobs(rules, presorted)
    if rewrite is not None:
        jobs = [_Job(j.name, (lambda ph, j=j: rewrite(j.name, j.sql(ph))), j.columns) for j in jobs]
    keep_order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    helper = None
    try:
        _open_session(con, scope)
        if presorted:
            con.execute("SET preserve_insertion_order = true")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {EVIDENCE_TABLE} AS\n{export_query('evidence_view')}")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {EVIDENCE_TABLE} AS\n{export_query('evidence_stored')}",
                        {"scope": scope})
        mine = jobs
        if presorted and not counted:
            mine = [j for j in jobs if j.name == EVENTS_FILE]
            helper = _Background(con, _write_jobs([j for j in jobs if j not in mine], writer, scope, params),
                                 "export-files")
        before = list(writer.warnings)
        warned: dict[str, list[str]] = {}
        for job in mine:
            n = len(writer.warnings)
            rows[job.name] = writer.file(job.name, job.sql(False), params, job.columns)
            warned[job.name] = writer.warnings[n:]
        if helper is not None:
            done, more = helper.result()
            rows.update(done)
            warned.update(more)
            rows = {j.name: rows[j.name] for j in jobs}
            writer.warnings[:] = before + [w for j in jobs for w in warned[j.name]]  # in file order
        if per_pharmacy:
            rows[PHARMACY_DIR] = _per_pharmacy(con, writer, jobs, params, writer.folder)
    finally:
        if helper is not None:
            helper.wait()
        con.execute(f"SET preserve_insertion_order = {'true' if keep_order else 'false'}")
        con.execute(f"DROP {'VIEW' if presorted else 'TABLE'} IF EXISTS temp.main.{EVIDENCE_TABLE}")
        _close_session(con)
        con.execute(f"DROP {'TABLE' if counted else 'VIEW'} IF EXISTS temp.main.{PHARMACY_ROWS_TABLE}")
        if stand_in:
            con.execute("DROP TABLE IF EXISTS temp.main.finding_evidence")
    return rows


def _write_jobs(jobs: list[_Job], writer: CsvWriter, scope: str, params: dict):
    """The top-level files of ``jobs`` written on a cursor of their own (its own views of the
    stored evidence and pharmacy rows); returns (rows per file, GBK warnings)."""
    def run(cur: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], list[str]]:
        w = CsvWriter(cur, writer.folder, writer.encoding, writer.headers, writer.rule_labels)
        stand_in = _stand_in_finding_evidence(cur)
        try:
            cur.execute(f"CREATE OR REPLACE TEMP VIEW {PHARMACY_ROWS_TABLE} AS\n{export_query('pharmacy_rows_stored')}")
            _open_session(cur, scope)
            # the other files do not depend on its order
            cur.execute(f"CREATE OR REPLACE TEMP VIEW {EVIDENCE_TABLE} AS\n{export_query('evidence_view')}")
            done, warned = {}, {}
            for job in jobs:
                n = len(w.warnings)
                done[job.name] = w.file(job.name, job.sql(False), params, job.columns)
                warned[job.name] = w.warnings[n:]
        finally:
            cur.execute(f"DROP VIEW IF EXISTS temp.main.{EVIDENCE_TABLE}")
            _close_session(cur)
            cur.execute(f"DROP VIEW IF EXISTS temp.main.{PHARMACY_ROWS_TABLE}")
            if stand_in:
                cur.execute("DROP TABLE IF EXISTS temp.main.finding_evidence")
        return done, warned
    return run


def _pharmacy_rows(con: duckdb.DuckDBPyConnection) -> bool:
    """Make export_pharmacy_rows: a view of the store's pharmacy_rows when it covers every
    file, else a table counted from events. Returns whether it counted."""
    if (_has_table(con, "pharmacy_rows_files")
            and con.execute(export_query("pharmacy_rows_complete")).fetchall()[0][0]):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {PHARMACY_ROWS_TABLE} AS\n{export_query('pharmacy_rows_stored')}")
        return False
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PHARMACY_ROWS_TABLE} AS\n{export_query('pharmacy_rows_counted')}")
    return True


def _open_session(con: duckdb.DuckDBPyConnection, scope: str) -> None:
    """What the export's SQL files read on ``con`` besides tables: the month scope as a session
    variable (for the views), the macros, the view of the scope's rejects (over
    export_pharmacy_rows, made first)."""
    con.execute(f"SET VARIABLE {SCOPE_VARIABLE} = $scope", {"scope": scope})
    for sql in MACROS.values():
        con.execute(sql)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {SCOPED_REJECTS_VIEW} AS\n{export_query('scoped_rejects')}")


def _close_session(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what :func:`_open_session` made."""
    con.execute(f"DROP VIEW IF EXISTS temp.main.{SCOPED_REJECTS_VIEW}")
    for name in MACROS:
        con.execute(f"DROP MACRO IF EXISTS temp.main.{name}")
    con.execute(f"RESET VARIABLE {SCOPE_VARIABLE}")


@dataclass
class _Job:
    name: str
    sql: Callable[[bool], str]  # per_pharmacy -> SELECT
    columns: list[str]


def _jobs(rules: list[str], presorted: bool = False) -> list[_Job]:
    events = "events_presorted" if presorted else "events"
    return [
        _Job("suspicious_codes.csv", lambda ph: export_query("codes_pharmacy" if ph else "codes"), list(CODE_COLUMNS)),
        _Job(EVENTS_FILE, lambda ph: export_query("events_pharmacy" if ph else events), list(EVENT_COLUMNS)),
        _Job("rejects.csv", lambda ph: export_query("rejects_pharmacy" if ph else "rejects"), list(REJECT_COLUMNS)),
        _Job("summary.csv", lambda ph: summary_sql(rules, ph), summary_columns(rules)),
        _Job("uncoded_sales.csv", lambda ph: export_query("uncoded_sales_pharmacy" if ph else "uncoded_sales"),
             list(UNCODED_COLUMNS)),
    ]


def _per_pharmacy(con: duckdb.DuckDBPyConnection, w: CsvWriter, jobs: list[_Job], params: dict,
                  staging: Path) -> int:
    sql = export_query("pharmacies")
    rows = con.execute(sql, bound(sql, params)).fetchall()
    codes = [r[0] for r in rows]
    folders = folder_names(codes)
    # a temporary table from bound lists (no pyarrow to import)
    con.execute(f"CREATE OR REPLACE TEMP TABLE export_pharmacies AS\n{export_query('export_pharmacies')}",
                {"pidx": list(range(len(codes))), "code": codes, "folder": folders})
    try:
        for folder in folders:
            (staging / PHARMACY_DIR / folder).mkdir(parents=True)
        for job in jobs:
            w.partitions(job.name, job.sql(True), params, job.columns, folders)
        w.file(FOLDERS_FILE, export_query("pharmacy_folders"), {}, list(FOLDER_COLUMNS))
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main.export_pharmacies")
    return len(codes)
