"""The history of one code, as the national app shows it to the public: not found / sold once /
sold N times, with every event in time order and the rules it trips."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from tracecode.codes.hashing import code_key
from tracecode.codes.normalize import NormalizedCode, gs1_candidates, normalize_code
from tracecode.errors import CodeError
from tracecode.privacy import mask_key, mask_person
from tracecode.sqlfiles import read_sql
from tracecode.store.known_codes import known_codes

EVENT_FIELDS = ("sel_retn_time", "kind", "fixmedins_code", "fixmedins_name", "rtal_docno", "med_list_codg",
                "qty", "trdn_flag", "insured", "setl_id", "psn_no", "code_raw", "file_name", "src_line", "event_id",
                "fixmedins_bchno")


@dataclass
class CodeHistory:
    query: str  # as typed
    code: str  # normalised
    events: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)  # one per rule tripped
    status: str = "valid"  # of the query's code: valid | invalid
    reason: str | None = None  # invalid_reason when invalid

    @property
    def sales(self) -> int:
        """Sales that count: a sale a 3507 delete withdrew does not."""
        return sum(1 for e in self.events if e["kind"] == "sale" and not e.get("withdrawn"))

    @property
    def returns(self) -> int:
        return sum(1 for e in self.events if e["kind"] == "return" and not e.get("withdrawn"))

    @property
    def verdict(self) -> str:
        """What the national app would answer: not found / sold once / sold N times."""
        if not self.events:
            return "not found"
        if self.sales == 1:
            return "sold once"
        return f"sold {self.sales} times"


def query_code(con: duckdb.DuckDBPyConnection, raw: str) -> NormalizedCode:
    """The code a query names, as ingest would store it: valid, or invalid as uploaded
    (placeholders, 无, 8.12E+19 … are looked up too); a GS-less GS1 string settles on the one
    pack among its readings that the store holds. Only an empty query is an error."""
    result = normalize_code(raw)
    if result.reason == "empty":
        raise CodeError(f"{raw!r} is empty: nothing to trace", hint="give the code as uploaded")
    if result.reason == "gs1_ambiguous":
        packs = [c for c in gs1_candidates(result.code) if len(c) > 16]
        held = known_codes(con, packs)
        if len(held) == 1:
            return NormalizedCode(held[0], "valid", "gs1", None, held[0][2:16])
    return result


def trace_code(con: duckdb.DuckDBPyConnection, raw: str, *, mask: bool = True) -> CodeHistory:
    """Every event of one code (any spelling: full-width, GS1 with parentheses, ...; an invalid
    value such as a placeholder shows who uploaded it)."""
    result = query_code(con, raw)
    code = result.code
    key = code_key(code)
    ids = [r[0] for r in con.execute("SELECT event_id FROM code_index WHERE code_key = ?", [key]).fetchall()]
    upto = con.execute(
        "SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'indexed_file_id'").fetchall()[0][0]
    select = """SELECT e.sel_retn_time, e.kind, e.fixmedins_code, e.fixmedins_name, e.rtal_docno, e.med_list_codg,
                       e.qty, e.trdn_flag, e.insured, e.setl_id, e.psn_no, e.code_raw, f.name AS file_name,
                       e.src_line, e.event_id, e.fixmedins_bchno
                FROM events e JOIN files f USING (file_id)"""
    rows = []
    if ids:
        # Events are stored in event_id order, so an IN list is answered from a few row groups.
        placeholders = ", ".join("?" for _ in ids)
        rows += con.execute(f"{select} WHERE e.event_id IN ({placeholders}) AND e.drug_trac_codg = ?",
                            [*ids, code]).fetchall()
    rows += con.execute(f"{select} WHERE e.file_id > ? AND e.code_key = ? AND e.drug_trac_codg = ?",
                        [upto, key, code]).fetchall()
    events = sorted((dict(zip(EVENT_FIELDS, r)) for r in rows), key=lambda e: (e["sel_retn_time"], e["event_id"]))
    withdrawn = withdrawn_events(con, events)
    for event in events:
        event["withdrawn"] = event["event_id"] in withdrawn
    if mask:
        secret = mask_key(con)
        for event in events:
            event["psn_no"] = mask_person(event["psn_no"], secret)
    history = CodeHistory(raw, code, events, status=result.status, reason=result.reason)
    names = [code] if result.valid else sorted({e["code_raw"] for e in events} | {raw})
    history.findings = _findings(con, names)
    return history


def withdrawn_events(con: duckdb.DuckDBPyConnection, events: list[dict]) -> set[int]:
    """The ids among ``events`` that a 3507 delete withdrew (sql/stages/08_withdrawn.sql, the
    rules' own definition); run only when a delete names one of their batch numbers."""
    pairs = sorted({(e["fixmedins_code"], e["fixmedins_bchno"]) for e in events if e["fixmedins_bchno"]})
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not pairs or "deletes" not in tables:
        return set()
    named = con.execute("SELECT count(*) FROM deletes WHERE list_contains(?, [fixmedins_code, fixmedins_bchno])",
                        [[list(p) for p in pairs]]).fetchall()[0][0]
    if not named:
        return set()
    ids = [e["event_id"] for e in events]
    return {r[0] for r in con.execute(
        f"SELECT event_id FROM ({read_sql('stages/08_withdrawn.sql')}) WHERE list_contains(?, event_id)",
        [ids]).fetchall()}


def _findings(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[dict]:
    """The rules the code trips, each once: its widest scope's detail ('all' if checked so,
    else the latest month) and every month it was found in. ``names``: the normalised code,
    or for an invalid code the raw values it was uploaded as (invalid_code's findings name
    those)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "findings" not in tables:
        return []
    cur = con.execute(
        """SELECT rule, month, severity, label_zh, detail FROM findings
           WHERE list_contains(?, drug_trac_codg) ORDER BY rule, month""", [names])
    columns = [d[0] for d in cur.description]
    by_rule: dict[str, dict] = {}
    for row in cur.fetchall():
        finding = dict(zip(columns, row))
        kept = by_rule.setdefault(finding["rule"], {**finding, "months": []})
        kept["months"].append(finding["month"])
        if finding["month"] == "all" or kept["month"] != "all":
            kept.update(month=finding["month"], detail=finding["detail"])
    return list(by_rule.values())
