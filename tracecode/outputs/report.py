"""The monthly report for a bureau head: one self-contained HTML page (inline CSS and SVG, no
network) with the headline counts per rule versus last month, findings per rule over the months
held, the pharmacies with the largest flagged share, the drugs most involved, the worst cases of
each rule with their evidence, and the rejected records. The data are gathered here; the page is
drawn by :mod:`tracecode.outputs.report_html`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from tracecode.errors import OutputError
from tracecode.faults import fault_point
from tracecode.messages import DEFAULT_LANG, stored_text
from tracecode.outputs.export import checked_scopes, held_months, resolve_scope
from tracecode.outputs.export_sql import EVIDENCE_TABLE, export_query
from tracecode.outputs.report_model import Case, ReportData, RuleLine
from tracecode.privacy import mask_key, mask_person
from tracecode.rules.catalogue import list_rules

TOP_PHARMACIES = 15
TOP_DRUGS = 10
WORST_CASES = 10
EVIDENCE_ROWS = 30
UPLOADS = "report_uploads"
FLAGGED_IN_MONTH = "x.flagged AND x.month = $scope"


def previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def gather(con: duckdb.DuckDBPyConnection, month: str, *, mask: bool = True, db_label: str = "the database",
           top: int = TOP_PHARMACIES, lang: str = DEFAULT_LANG) -> ReportData:
    """Everything the page shows for ``month`` (which must have been checked); stored details and
    reject reasons in ``lang``."""
    scope = resolve_scope(con, month, db_label)
    if scope == "all":  # the page compares a month with the one before: it needs one month
        raise OutputError("the report is for one checked month", hint="give --month YYYY-MM")
    # The evidence joined to events once, and the month's uploads per pharmacy counted once:
    # every query below reads these two small tables instead of the events table.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {EVIDENCE_TABLE} AS\n{export_query('evidence_events')}", {"scope": scope})
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {UPLOADS} AS
                    SELECT fixmedins_code, arg_max(fixmedins_name, event_id) AS fixmedins_name,
                           count(*) AS rows_uploaded, list(DISTINCT file_id) AS files
                    FROM events WHERE month = $scope GROUP BY fixmedins_code""", {"scope": scope})
    try:
        return _gather(con, scope, mask, db_label, top, lang)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {EVIDENCE_TABLE}")
        con.execute(f"DROP TABLE IF EXISTS {UPLOADS}")


def _gather(con: duckdb.DuckDBPyConnection, scope: str, mask: bool, db_label: str, top: int,
            lang: str = DEFAULT_LANG) -> ReportData:
    prev = previous_month(scope)
    checked = checked_scopes(con)
    catalog = [(r.id, r.label_zh, r.severity) for r in list_rules()]
    p = {"scope": scope}
    meta = {r["rule"]: r for r in _dicts(con.execute(
        "SELECT rule, any_value(label_zh) AS label_zh, any_value(severity) AS severity, count(*) AS codes "
        "FROM findings WHERE month = $scope GROUP BY rule", p))}
    flagged = {r["rule"]: r for r in _dicts(con.execute(
        f"""SELECT x.rule, count(DISTINCT x.event_id) AS flagged_rows, count(DISTINCT x.fixmedins_code) AS pharmacies
            FROM {EVIDENCE_TABLE} x WHERE {FLAGGED_IN_MONTH} GROUP BY x.rule""", p))}
    before = dict(con.execute("SELECT rule, count(*) FROM findings WHERE month = $prev GROUP BY rule",
                              {"prev": prev}).fetchall()) if prev in checked else None
    ids = [r for r, _, _ in catalog] + sorted(set(meta) - {r for r, _, _ in catalog})
    labels = {r: label for r, label, _ in catalog}
    severities = {r: severity for r, _, severity in catalog}
    rules = [RuleLine(r, meta.get(r, {}).get("label_zh") or labels.get(r, r),
                      meta.get(r, {}).get("severity") or severities.get(r, ""),
                      meta.get(r, {}).get("codes", 0), flagged.get(r, {}).get("flagged_rows", 0),
                      flagged.get(r, {}).get("pharmacies", 0), None if before is None else before.get(r, 0))
             for r in ids]
    rows, pharmacies, records = con.execute(
        f"""SELECT coalesce(sum(rows_uploaded), 0), count(*),
                   (SELECT coalesce(sum(rows_read), 0) FROM files
                    WHERE file_id IN (SELECT unnest(files) FROM {UPLOADS}))
            FROM {UPLOADS}""").fetchall()[0]
    flagged_rows = con.execute(
        f"SELECT count(DISTINCT x.event_id) FROM {EVIDENCE_TABLE} x WHERE {FLAGGED_IN_MONTH}", p).fetchall()[0][0]
    # the month's rejects: those of the files holding rows of the month, and of the files from
    # which no row could be read (as in the export's rejects.csv)
    reasons = con.execute("""SELECT reason, count(*) AS n FROM rejects r
                             WHERE r.file_id IN (SELECT file_id FROM files WHERE events = 0)
                                OR r.file_id IN (SELECT DISTINCT file_id FROM events WHERE month = $scope)
                             GROUP BY reason ORDER BY n DESC, reason""", p).fetchall()
    reasons = [(stored_text(reason, lang), n) for reason, n in reasons]
    history = _history(con, checked)
    data = ReportData(scope, prev, db_label, dt.datetime.now().replace(microsecond=0), rules, int(rows), int(records),
                      pharmacies, flagged_rows, sum(n for _, n in reasons), reasons, history,
                      _top_pharmacies(con, scope, top), _top_drugs(con, scope), masked=mask)
    from tracecode.outputs.report_rings import report_section

    data.lang = lang
    data.rings_html = report_section(con, scope, mask, lang)
    from tracecode.outputs.report_cases import report_section as cases_section

    data.cases_html = cases_section(con, scope, lang)
    secret = mask_key(con) if mask else ""
    for line in rules:
        if line.codes:
            data.cases[line.rule] = _cases(con, scope, line.rule, secret if mask else None, lang)
    return data


def _history(con: duckdb.DuckDBPyConnection, checked: set[str]) -> list[tuple[str, dict[str, int] | None]]:
    counts: dict[str, dict[str, int]] = {}
    for month, rule, n in con.execute(
            "SELECT month, rule, count(*) FROM findings WHERE month <> 'all' GROUP BY month, rule").fetchall():
        counts.setdefault(month, {})[rule] = n
    months = sorted(set(held_months(con)) | set(counts))
    return [(m, counts.get(m, {}) if m in checked else None) for m in months]


def _top_pharmacies(con: duckdb.DuckDBPyConnection, scope: str, top: int) -> list[dict]:
    return _dicts(con.execute(
        f"""WITH fl AS (
                SELECT x.fixmedins_code, count(DISTINCT x.event_id) AS flagged_rows,
                       count(DISTINCT (x.rule, x.drug_trac_codg)) AS findings,
                       string_agg(DISTINCT x.rule, ',' ORDER BY x.rule) AS rules
                FROM {EVIDENCE_TABLE} x WHERE {FLAGGED_IN_MONTH} GROUP BY x.fixmedins_code
            )
            SELECT up.fixmedins_code, up.fixmedins_name, up.rows_uploaded, fl.flagged_rows, fl.findings, fl.rules,
                   fl.flagged_rows / up.rows_uploaded AS share
            FROM {UPLOADS} up JOIN fl USING (fixmedins_code)
            ORDER BY share DESC, flagged_rows DESC, fixmedins_code LIMIT $top""", {"scope": scope, "top": top}))


def _top_drugs(con: duckdb.DuckDBPyConnection, scope: str) -> list[dict]:
    return _dicts(con.execute(
        f"""SELECT coalesce(x.med_list_codg, '') AS med_list_codg,
                   mode(x.fixmedins_hilist_name) AS name,
                   count(DISTINCT (x.rule, x.drug_trac_codg)) AS findings,
                   count(DISTINCT x.event_id) AS flagged_rows,
                   count(DISTINCT x.fixmedins_code) AS pharmacies
            FROM {EVIDENCE_TABLE} x WHERE {FLAGGED_IN_MONTH}
            GROUP BY ALL ORDER BY findings DESC, flagged_rows DESC, med_list_codg LIMIT $top""",
        {"scope": scope, "top": TOP_DRUGS}))


def _cases(con: duckdb.DuckDBPyConnection, scope: str, rule: str, secret: str | None,
           lang: str = DEFAULT_LANG) -> list[Case]:
    worst = _dicts(con.execute(
        """SELECT drug_trac_codg, code_key, severity, label_zh, first_seen, last_seen, occurrences, flagged_rows,
                  pharmacies, pharmacy_list, detail
           FROM findings WHERE month = $scope AND rule = $rule
           ORDER BY flagged_rows DESC, pharmacies DESC, occurrences DESC, drug_trac_codg LIMIT $n""",
        {"scope": scope, "rule": rule, "n": WORST_CASES}))
    if not worst:
        return []
    keys = [w["code_key"] for w in worst]
    events = _dicts(con.execute(
        f"""SELECT x.code_key, x.drug_trac_codg, x.flagged, x.sel_retn_time, x.kind, x.fixmedins_code,
                   x.fixmedins_name, x.rtal_docno, x.med_list_codg, x.fixmedins_hilist_name, x.sel_retn_cnt,
                   x.trdn_flag, x.insured, x.psn_no, x.code_raw, f.name AS source_file, x.src_line
            FROM {EVIDENCE_TABLE} x JOIN files f ON f.file_id = x.file_id
            WHERE x.rule = $rule AND list_contains($keys, x.code_key)
            ORDER BY x.code_key, x.drug_trac_codg, x.sel_retn_time, x.event_id""",
        {"rule": rule, "keys": keys}))
    by_code: dict[tuple, list[dict]] = {}
    for ev in events:
        if secret is not None:
            ev["psn_no"] = mask_person(ev["psn_no"], secret)
        by_code.setdefault((ev["code_key"], ev["drug_trac_codg"]), []).append(ev)
    cases = []
    for w in worst:
        w["detail"] = stored_text(w["detail"], lang)
        rows = by_code.get((w["code_key"], w["drug_trac_codg"]), [])
        cases.append(Case(w, rows[:EVIDENCE_ROWS], max(0, len(rows) - EVIDENCE_ROWS)))
    return cases


def write_report(con: duckdb.DuckDBPyConnection, month: str, out: str | os.PathLike, *, mask: bool = True,
                 force: bool = False, db_label: str = "the database", lang: str = DEFAULT_LANG) -> ReportData:
    """Write the HTML report of ``month`` to ``out``.

    Example::

        con = open_store("city.duckdb", read_only=True)
        write_report(con, "2026-10", "report-2026-10.html")
    """
    from tracecode.outputs.report_html import render

    out = Path(out)
    if out.is_dir():
        raise OutputError(f"{out} is a folder", hint="give --out a file name such as report.html")
    if out.exists() and not force:
        raise OutputError(f"{out} exists", hint="choose another --out file, or add --force to overwrite it")
    if not out.parent.is_dir():
        raise OutputError(f"folder {out.parent} does not exist", hint="create it first, or choose another --out")
    data = gather(con, month, mask=mask, db_label=db_label, lang=lang)
    page = render(data)
    fault_point("report.render")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    fault_point("report.written")
    os.replace(tmp, out)
    fault_point("report.replaced")
    return data
