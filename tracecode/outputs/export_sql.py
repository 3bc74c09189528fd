"""The SQL of each export file: column lists and SELECTs over findings, finding_events,
finding_evidence, pharmacy_rows, files and rejects. Identifiers come from the fixed lists here;
values are bind parameters ($scope, $rules, $mask_key, $other, $withheld). The queries read the
evidence from export_evidence (alias x: a view of finding_evidence, or a table made by
STORED_EVIDENCE_SQL) and the code rows per file, month and pharmacy from export_pharmacy_rows
(PHARMACY_ROWS_*): neither reads the events table when check and ingest stored what they need."""

from __future__ import annotations

from tracecode.outputs.export_write import guard
from tracecode.privacy import mask_sql

OTHER_PHARMACY_ZH = "其他药店"
WITHHELD = "(withheld: the whole record may hold personal data; --no-mask shows it)"


#: Reject fields whose raw value is one field of the upload and never personal data.
PLAIN_FIELDS = ("fixmedins_code", "rtal_docno", "drug_trac_codg", "sel_retn_time", "sel_retn_cnt",
                "trdn_flag", "price", "med_list_codg")


def number(expr: str) -> str:
    """1.0 -> 1, 0.5 -> 0.5 (quantities read as Excel numbers)."""
    return f"printf('%.10g', {expr})"


def person(expr: str, mask: bool) -> str:
    return mask_sql(expr) if mask else expr


def select_list(columns: list[tuple]) -> str:
    """columns: (name, SQL expression, is_text[, expression with the same first character])."""
    return ",\n       ".join(f"{guard(expr, *rest) if text else expr} AS {name}" for name, expr, text, *rest in columns)


#: The rule's detail with every other pharmacy's code and name (o.others, longest first) read as $other.
SCRUBBED_DETAIL = "list_reduce(coalesce(o.others, []), lambda acc, x: replace(acc, x, $other), f.detail)"


def code_columns(pharmacy: bool) -> list[tuple[str, str, bool]]:
    own = pharmacy  # a pharmacy sees its own rows' span and count, and no other pharmacy's name
    return [
        ("drug_trac_codg", "f.drug_trac_codg", True),
        ("rule", "f.rule", True),
        ("severity", "f.severity", True),
        ("label_zh", "f.label_zh", True),
        ("first_seen", "o.first_seen" if own else "f.first_seen", False),
        ("last_seen", "o.last_seen" if own else "f.last_seen", False),
        ("occurrences", "o.occurrences" if own else "f.occurrences", False),
        ("pharmacies", "f.pharmacies", False),
        ("pharmacy_list", "o.fixmedins_code" if own else "f.pharmacy_list", True),
        ("detail", SCRUBBED_DETAIL if own else "f.detail", True),
        ("month", "f.month", True),
    ]


def event_columns(mask: bool, source_file: str = "fl.name") -> list[tuple]:
    return [
        ("rule", "x.rule", True),
        ("drug_trac_codg", "x.drug_trac_codg", True),
        ("flagged", "CAST(x.flagged AS INTEGER)", False),
        ("fixmedins_code", "x.fixmedins_code", True),
        ("fixmedins_name", "x.fixmedins_name", True),
        ("rtal_docno", "x.rtal_docno", True),
        ("sel_retn_time", "x.sel_retn_time", False),
        ("kind", "x.kind", True),
        ("med_list_codg", "x.med_list_codg", True),
        ("sel_retn_cnt", number("x.sel_retn_cnt"), False),
        ("qty", number("x.qty"), False),
        ("trdn_flag", "x.trdn_flag", False),
        ("insured", "CAST(x.insured AS INTEGER)", False),
        ("setl_id", "x.setl_id", True),
        ("psn_no", person("x.psn_no", mask), True, "x.psn_no"),  # a masked id starts as the id does
        ("source_file", source_file, True),
        ("src_line", "x.src_line", False),
        ("code_raw", "x.code_raw", True),
        ("fixmedins_hilist_name", "x.fixmedins_hilist_name", True),
    ]


def reject_columns(mask: bool) -> list[tuple[str, str, bool]]:
    if mask:
        raw_value = f"CASE WHEN r.field IN {tuple(PLAIN_FIELDS)!r} THEN r.raw_value ELSE $withheld END"
        psn = "(r.raw_record ->> 'psn_no')"
        raw_record = (f"CASE WHEN coalesce({psn}, '') = '' THEN r.raw_record "
                      f"ELSE CAST(json_merge_patch(r.raw_record, json_object('psn_no', {mask_sql(psn)})) AS VARCHAR) "
                      "END")
    else:
        raw_value, raw_record = "r.raw_value", "r.raw_record"
    return [
        ("source_file", "fl.name", True),
        ("src_line", "r.src_line", False),
        ("field", "r.field", True),
        ("reason", "r.reason", True),
        ("raw_value", raw_value, True),
        ("raw_record", raw_record, True),
        ("fixmedins_code", "r.fixmedins_code", True),
    ]


def summary_columns(rules: list[str]) -> list[tuple[str, str, bool]]:
    cols = [("fixmedins_code", "p.fixmedins_code", True), ("fixmedins_name", "ev.fixmedins_name", True),
            ("rows_uploaded", "coalesce(ev.rows_uploaded, 0)", False),
            ("rows_rejected", "coalesce(rj.rows_rejected, 0)", False)]
    cols += [(rule, f"coalesce(fr.{rule}, 0)", False) for rule in rules]
    cols += [("flagged_rows", "coalesce(fr.flagged_rows, 0)", False),
             ("flagged_share", "coalesce(round(fr.flagged_rows / nullif(ev.rows_uploaded, 0), 4), 0)", False)]
    return cols


IN_SCOPE = "($scope = 'all' OR e.month = $scope)"
X_IN_SCOPE = "($scope = 'all' OR x.month = $scope)"

#: The event columns of the evidence (export_evidence, alias x); finding_evidence calls month event_month.
EVIDENCE_COLUMNS = ("fixmedins_code", "fixmedins_name", "rtal_docno", "sel_retn_time", "kind", "med_list_codg",
                    "sel_retn_cnt", "qty", "trdn_flag", "insured", "setl_id", "psn_no", "file_id", "src_line",
                    "code_raw", "fixmedins_hilist_name", "month")
_STORED_COLUMNS = ", ".join("event_month AS month" if c == "month" else c for c in EVIDENCE_COLUMNS)

#: The scope's evidence rows with the event columns the files show, joined to events (the
#: big table) in one pass: what the report reads (the export reads finding_evidence).
EVIDENCE_TABLE = "export_evidence"
EVIDENCE_SQL = f"""CREATE OR REPLACE TEMP TABLE {EVIDENCE_TABLE} AS
SELECT fe.rule, fe.code_key, fe.drug_trac_codg, fe.flagged, fe.event_id,
       {", ".join("e." + c for c in EVIDENCE_COLUMNS)}
FROM finding_events fe JOIN events e ON e.event_id = fe.event_id
WHERE fe.month = $scope"""

#: The same table (same rows, same columns) when finding_evidence does not hold every row of
#: the scope (earlier months of a --month check, a store checked before finding_evidence, or by
#: an earlier tracecode since): the event columns of the stored events come from it, the others
#: are read from events, which is not read at all when there are none.
STORED_EVIDENCE_SQL = f"""CREATE OR REPLACE TEMP TABLE {EVIDENCE_TABLE} AS
WITH fe AS (
    SELECT rule, code_key, drug_trac_codg, flagged, event_id FROM finding_events WHERE month = $scope
), stored AS (
    SELECT DISTINCT ON (event_id) event_id, {_STORED_COLUMNS}
    FROM finding_evidence WHERE month = $scope
), fetched AS MATERIALIZED (  -- its own plan: the optimiser may not join events to fe first
    SELECT e.event_id, {", ".join("e." + c for c in EVIDENCE_COLUMNS)}
    FROM events e
    WHERE e.event_id IN (SELECT event_id FROM fe WHERE event_id NOT IN (SELECT event_id FROM stored))
), x AS (
    SELECT * FROM stored
    UNION ALL
    SELECT * FROM fetched
)
SELECT fe.rule, fe.code_key, fe.drug_trac_codg, fe.flagged, fe.event_id,
       {", ".join("x." + c for c in EVIDENCE_COLUMNS)}
FROM fe JOIN x ON x.event_id = fe.event_id"""

#: Rows of finding_evidence for the scope (export compares it with the stamp's count).
STORED_COUNT_SQL = "SELECT count(*) FROM finding_evidence WHERE month = $scope"


def stored_evidence_view(scope: str) -> str:
    """export_evidence (plus each row's source_file) as a view of the scope's finding_evidence
    rows, in their stored order: the same rows as STORED_EVIDENCE_SQL when finding_evidence
    holds the whole scope (see tracecode.outputs.export)."""
    literal = "'" + scope.replace("'", "''") + "'"  # a view cannot take a bound parameter
    return f"""CREATE OR REPLACE TEMP VIEW {EVIDENCE_TABLE} AS
SELECT rule, code_key, drug_trac_codg, flagged, event_id, {_STORED_COLUMNS}, source_file
FROM finding_evidence WHERE month = {literal}"""


#: Code rows per file, month and pharmacy (export_pharmacy_rows): the store's pharmacy_rows
#: when it covers every file, else (a database not ingested or checked since pharmacy_rows
#: existed; the Spark output's small driver database) counted from events.
PHARMACY_ROWS_TABLE = "export_pharmacy_rows"
PHARMACY_ROWS_COMPLETE = """SELECT (SELECT count(*) FROM files) > 0
    AND NOT EXISTS (SELECT 1 FROM files WHERE file_id NOT IN (SELECT file_id FROM pharmacy_rows_files))"""
PHARMACY_ROWS_STORED = f"""CREATE OR REPLACE TEMP VIEW {PHARMACY_ROWS_TABLE} AS
SELECT file_id, month, fixmedins_code, n, fixmedins_name, name_event_id FROM pharmacy_rows"""
PHARMACY_ROWS_COUNTED = f"""CREATE OR REPLACE TEMP TABLE {PHARMACY_ROWS_TABLE} AS
SELECT file_id, month, fixmedins_code, count(*) AS n, arg_max(fixmedins_name, event_id) AS fixmedins_name,
       max(CASE WHEN fixmedins_name IS NOT NULL THEN event_id END) AS name_event_id
FROM events GROUP BY file_id, month, fixmedins_code"""


def scoped_rejects(all_months: bool, rows: str = "events") -> str:
    """Rejects with the pharmacy they belong to: the record's own pharmacy code, else the one
    pharmacy of its file (when the file holds one), else NULL (shown only in the bureau's
    files). A month's rejects are those of the files holding rows of the month, and of the
    files from which no row could be read. ``rows`` is where the files' months and pharmacies
    are read: events, or the export's PHARMACY_ROWS_TABLE (same answer, no pass over events)."""
    where = "" if all_months else f"""
    WHERE r.file_id IN (SELECT file_id FROM files WHERE events = 0)
       OR r.file_id IN (SELECT DISTINCT file_id FROM {rows} WHERE month = $scope)"""
    return f"""
scoped_rejects AS (
    SELECT r.*, coalesce(nullif(trim(r.raw_record ->> 'fixmedins_code'), ''), fp.code) AS fixmedins_code
    FROM rejects r
    LEFT JOIN (SELECT file_id, min(fixmedins_code) AS code FROM {rows}
               WHERE file_id IN (SELECT file_id FROM rejects)
               GROUP BY file_id HAVING min(fixmedins_code) = max(fixmedins_code)) fp USING (file_id){where}
)"""


#: (pharmacy, finding) pairs where the pharmacy has a flagged row in the scope: what it must answer.
MINE = f"""
mine AS (
    SELECT DISTINCT x.fixmedins_code, x.rule, x.code_key, x.drug_trac_codg
    FROM {EVIDENCE_TABLE} x WHERE x.flagged AND {X_IN_SCOPE}
)"""
SAME_FINDING = "m.rule = x.rule AND m.code_key = x.code_key AND m.drug_trac_codg = x.drug_trac_codg"


def codes_sql(pharmacy: bool) -> str:
    cols = select_list(code_columns(pharmacy))
    order = "list_position($rules, f.rule), f.rule, f.occurrences DESC, f.drug_trac_codg, f.code_key"
    if not pharmacy:
        return f"SELECT {cols}\nFROM findings f WHERE f.month = $scope ORDER BY {order}"
    return f"""WITH {MINE},
own AS (
    SELECT m.fixmedins_code, m.rule, m.code_key, m.drug_trac_codg, min(x.sel_retn_time) AS first_seen,
           max(x.sel_retn_time) AS last_seen, count(*) AS occurrences
    FROM {EVIDENCE_TABLE} x JOIN mine m ON m.fixmedins_code = x.fixmedins_code AND {SAME_FINDING}
    GROUP BY ALL
),
named AS (  -- every pharmacy code and name in the finding's evidence (for scrubbing)
    SELECT DISTINCT x.rule, x.code_key, x.drug_trac_codg, x.fixmedins_code AS code, v
    FROM {EVIDENCE_TABLE} x, unnest([x.fixmedins_code, x.fixmedins_name]) AS t(v)
    WHERE v IS NOT NULL AND v <> ''
      AND (x.rule, x.code_key, x.drug_trac_codg) IN (SELECT (rule, code_key, drug_trac_codg) FROM mine)
),
o AS (
    SELECT own.*, p.pidx,
           (SELECT list(n.v ORDER BY length(n.v) DESC, n.v) FROM named n
            WHERE n.rule = own.rule AND n.code_key = own.code_key AND n.drug_trac_codg = own.drug_trac_codg
              AND n.code <> own.fixmedins_code AND n.v <> own.fixmedins_code) AS others
    FROM own JOIN export_pharmacies p ON p.fixmedins_code = own.fixmedins_code
)
SELECT o.pidx, {cols}
FROM o JOIN findings f ON f.month = $scope AND f.rule = o.rule AND f.code_key = o.code_key
                      AND f.drug_trac_codg = o.drug_trac_codg
ORDER BY o.pidx, {order}"""


def events_sql(mask: bool, pharmacy: bool, presorted: bool = False) -> str:
    """``presorted``: export_evidence is the view of finding_evidence in file order (read with
    preserve_insertion_order on), whose rows carry source_file: no join, no sort."""
    if presorted and not pharmacy:
        return f"SELECT {select_list(event_columns(mask, 'x.source_file'))}\nFROM {EVIDENCE_TABLE} x"
    cols = select_list(event_columns(mask))
    base = f"FROM {EVIDENCE_TABLE} x JOIN files fl ON fl.file_id = x.file_id"
    order = "list_position($rules, x.rule), x.rule, x.drug_trac_codg, x.code_key, x.sel_retn_time, x.event_id"
    if not pharmacy:
        return f"SELECT {cols}\n{base}\nORDER BY {order}"
    return f"""WITH {MINE}
SELECT p.pidx, {cols}
{base}
JOIN mine m ON m.fixmedins_code = x.fixmedins_code AND {SAME_FINDING}
JOIN export_pharmacies p ON p.fixmedins_code = x.fixmedins_code
ORDER BY p.pidx, {order}"""


def rejects_sql(mask: bool, pharmacy: bool, all_months: bool) -> str:
    cols = select_list(reject_columns(mask))
    if not pharmacy:
        return f"""WITH {scoped_rejects(all_months, PHARMACY_ROWS_TABLE)}
SELECT {cols}
FROM scoped_rejects r JOIN files fl ON fl.file_id = r.file_id
ORDER BY r.file_id, r.src_line, r.field"""
    return f"""WITH {scoped_rejects(all_months, PHARMACY_ROWS_TABLE)}
SELECT p.pidx, {cols}
FROM scoped_rejects r JOIN files fl ON fl.file_id = r.file_id
JOIN export_pharmacies p ON p.fixmedins_code = r.fixmedins_code
ORDER BY p.pidx, r.file_id, r.src_line, r.field"""


def summary_sql(rules: list[str], pharmacy: bool, all_months: bool) -> str:
    per_rule = ",\n           ".join(f"count(*) FILTER (WHERE c.rule = '{rule}') AS {rule}" for rule in rules)
    cols = select_list(summary_columns(rules))
    join = "JOIN export_pharmacies px ON px.fixmedins_code = p.fixmedins_code" if pharmacy else ""
    return f"""WITH {scoped_rejects(all_months, PHARMACY_ROWS_TABLE)},
ev AS (
    SELECT c.fixmedins_code, arg_max(c.fixmedins_name, c.name_event_id) AS fixmedins_name,
           CAST(sum(c.n) AS BIGINT) AS rows_uploaded
    FROM {PHARMACY_ROWS_TABLE} c {'' if all_months else 'WHERE c.month = $scope'} GROUP BY c.fixmedins_code
),
rj AS (SELECT fixmedins_code, count(*) AS rows_rejected FROM scoped_rejects
       WHERE fixmedins_code IS NOT NULL GROUP BY fixmedins_code),
fx AS (SELECT x.fixmedins_code, x.rule, x.drug_trac_codg, x.event_id
       FROM {EVIDENCE_TABLE} x WHERE x.flagged AND {X_IN_SCOPE}),
fr AS (  -- per pharmacy: the codes it has flagged rows of, per rule; its flagged rows
    SELECT c.fixmedins_code,
           {per_rule},
           any_value(n.flagged_rows) AS flagged_rows
    FROM (SELECT DISTINCT fixmedins_code, rule, drug_trac_codg FROM fx) c
    JOIN (SELECT fixmedins_code, count(DISTINCT event_id) AS flagged_rows FROM fx GROUP BY fixmedins_code) n
      USING (fixmedins_code)
    GROUP BY c.fixmedins_code
),
p AS (SELECT fixmedins_code FROM ev UNION SELECT fixmedins_code FROM rj)
SELECT {'px.pidx, ' if pharmacy else ''}{cols}
FROM p LEFT JOIN ev USING (fixmedins_code) LEFT JOIN rj USING (fixmedins_code) LEFT JOIN fr USING (fixmedins_code)
{join}
ORDER BY {'px.pidx, ' if pharmacy else ''}coalesce(fr.flagged_rows / nullif(ev.rows_uploaded, 0), 0) DESC,
         coalesce(fr.flagged_rows, 0) DESC, p.fixmedins_code"""
