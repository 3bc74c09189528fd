"""The rules and stages there are: their SQL files and the metadata in their headers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracecode.errors import RuleError
from tracecode.sqlfiles import SqlFile, list_sql, sql_file

__all__ = ["RULE_IDS", "SEVERITIES", "RuleInfo", "list_rules", "list_stages", "rule_files"]

#: Every rule, in the order summaries list them.
RULE_IDS: tuple[str, ...] = (
    "duplicate_upload",
    "return_without_sale",
    "same_pharmacy_repeat",
    "cross_pharmacy_reuse",
    "recycled_resale",
    "split_overuse",
    "invalid_code",
    "product_mismatch",
    "uncoded_sale",
    "sale_without_purchase",
)

SEVERITIES: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class RuleInfo:
    """A rule's metadata, from its SQL file's header."""

    id: str
    severity: str
    label_zh: str
    meaning: str
    evidence: str  # 'code': all rows of the code; 'flagged': the flagged rows only
    path: str


def list_stages() -> list[SqlFile]:
    """The stages, in the order they run (their file names start with a number)."""
    return [sql_file(f"stages/{stem}.sql", re.sub(r"^\d+_", "", stem)) for stem in list_sql("stages")]


def rule_files() -> dict[str, SqlFile]:
    """Every rule's SQL file, by rule id."""
    return {stem: sql_file(f"rules/{stem}.sql", stem) for stem in list_sql("rules")}


def list_rules() -> list[RuleInfo]:
    """Every rule with its metadata, in the canonical order (see :data:`RULE_IDS`)."""
    files = rule_files()
    order = [r for r in RULE_IDS if r in files] + sorted(set(files) - set(RULE_IDS))
    out = []
    for rule_id in order:
        f = files[rule_id]
        meta = f.meta
        if meta.get("rule") != rule_id:
            raise RuleError(f"sql/{f.path}: header says rule {meta.get('rule')!r}, expected {rule_id!r}")
        severity = meta.get("severity", "")
        if severity not in SEVERITIES:
            raise RuleError(f"sql/{f.path}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        if not meta.get("label_zh"):
            raise RuleError(f"sql/{f.path}: the header has no label_zh")
        evidence = meta.get("evidence", "code")
        if evidence not in ("code", "flagged"):
            raise RuleError(f"sql/{f.path}: evidence must be 'code' or 'flagged', not {evidence!r}")
        out.append(RuleInfo(rule_id, severity, meta["label_zh"], meta.get("meaning", ""), evidence, f.path))
    return out
