"""The export's queries: the SQL files of ``sql/export/`` (one query a file, ``$name`` bind
parameters), the column names each file's header shows, and the two things SQL files cannot
hold: the session's macros (the formula guard :func:`tracecode.outputs.export_write.guard` and the
person-id mask of :mod:`tracecode.privacy`, as ``excel_safe``, ``excel_safe_led`` and
``masked_id``; the catalogue's ``shown_text`` and ``shown_severity`` render stored details, reject
reasons and severities in the chosen language) and summary.csv's per-rule columns (one per rule, named after the checked rule
ids). The queries read the evidence from export_evidence (alias x), the code rows per file,
month and pharmacy from export_pharmacy_rows and the scope's rejects from export_scoped_rejects:
none reads the events table when check and ingest stored what they need."""

from __future__ import annotations

import re
from functools import lru_cache

from tracecode.outputs.export_write import guard
from tracecode.messages import severity_macro, stored_text_macro
from tracecode.privacy import MASK_MACRO
from tracecode.sqlfiles import read_sql


EVIDENCE_TABLE = "export_evidence"
PHARMACY_ROWS_TABLE = "export_pharmacy_rows"
SCOPED_REJECTS_VIEW = "export_scoped_rejects"
#: The session variable the views read the month scope from (a view cannot take a parameter).
SCOPE_VARIABLE = "export_scope"

CODE_COLUMNS = ("drug_trac_codg", "rule", "severity", "label_zh", "first_seen", "last_seen", "occurrences",
                "pharmacies", "pharmacy_list", "detail", "month", "amount")
EVENT_COLUMNS = ("rule", "drug_trac_codg", "flagged", "fixmedins_code", "fixmedins_name", "rtal_docno",
                 "sel_retn_time", "kind", "med_list_codg", "sel_retn_cnt", "qty", "trdn_flag", "insured", "setl_id",
                 "psn_no", "source_file", "src_line", "code_raw", "fixmedins_hilist_name")
UNCODED_COLUMNS = ("fixmedins_code", "fixmedins_name", "med_list_codg", "fixmedins_hilist_name", "sales", "quantity",
                   "amount", "first_seen", "last_seen", "month")
REJECT_COLUMNS = ("source_file", "src_line", "field", "reason", "raw_value", "raw_record", "fixmedins_code")
FOLDER_COLUMNS = ("fixmedins_code", "folder")

#: The macros the export's SQL files call, made for one connection and dropped after.
MACROS = {
    "excel_safe": f"CREATE OR REPLACE TEMP MACRO excel_safe(v) AS {guard('v')}",
    "excel_safe_led": f"CREATE OR REPLACE TEMP MACRO excel_safe_led(v, lead) AS {guard('v', 'lead')}",
    "masked_id": MASK_MACRO,
    "shown_text": stored_text_macro(),
    "shown_severity": severity_macro(),
}

_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@lru_cache(maxsize=None)
def export_query(name: str) -> str:
    """The query of ``sql/export/<name>.sql`` (its header starts ``-- relation:``)."""
    text = read_sql(f"export/{name}.sql")
    if not text.startswith("-- relation:"):
        raise ValueError(f"sql/export/{name}.sql does not start with a '-- relation:' header")
    return text.rstrip().rstrip(";")


def summary_columns(rules: list[str]) -> list[str]:
    """summary.csv's columns: one per rule (codes with flagged rows of the pharmacy) in the middle."""
    return ["fixmedins_code", "fixmedins_name", "rows_uploaded", "rows_rejected", *rules, "flagged_rows",
            "flagged_share", "flagged_amount", "deletes", "purchases_loaded"]


def summary_sql(rules: list[str], pharmacy: bool) -> str:
    """sql/export/summary.sql (or summary_pharmacy.sql) with its rule_codes list spread into one
    column per rule, named after the rule ids (checked: lower-case letters, digits, _)."""
    for rule in rules:
        if not _RULE_ID.match(rule):
            raise ValueError(f"rule id {rule!r} cannot name a column")
    spread = [f"s.rule_codes[{i}] AS {rule}" for i, rule in enumerate(rules, start=1)]
    cols = ["s.pidx"] * pharmacy + ["s.fixmedins_code", "s.fixmedins_name", "s.rows_uploaded", "s.rows_rejected",
                                    *spread, "s.flagged_rows", "s.flagged_share",
                                    "s.flagged_amount", "s.deletes", "s.purchases_loaded"]
    inner = export_query("summary_pharmacy" if pharmacy else "summary")
    return f"SELECT {', '.join(cols)}\nFROM (\n{inner}\n) s"
