"""Plain-text tables for the terminal (CJK characters count as two columns)."""

from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence

from tracecode.messages import severity_text, text
from tracecode.rules.results import RuleSummary


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if not value.is_integer() else f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def format_table(headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    """Left-aligned text, right-aligned numbers, columns sized to their content."""
    rows = [list(r) for r in rows]
    cells = [[_cell(v) for v in r] for r in rows]
    numeric = [all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in rows if r[i] is not None)
               for i in range(len(headers))]
    widths = [max([display_width(h)] + [display_width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        out = []
        for i, v in enumerate(values):
            pad = " " * (widths[i] - display_width(v))
            out.append(pad + v if numeric[i] and rows else v + pad)
        return "  ".join(out).rstrip()

    parts = [line(list(headers)), "  ".join("-" * w for w in widths)]
    parts += [line(r) for r in cells]
    return "\n".join(parts)


def rule_table(rules: Iterable[RuleSummary], lang: str) -> str:
    """The per-rule lines of a check (both engines): rule id, label, severity, codes, rows, pharmacies,
    amount (yuan, '-' when no flagged row has a price)."""
    return format_table(
        [text(k, lang) for k in ("col.rule", "col.label", "col.severity", "col.codes", "col.rows", "col.pharmacies",
                                 "col.amount")],
        [[r.rule, r.label_zh, severity_text(r.severity, lang), r.codes, r.rows, r.pharmacies, r.amount_text]
         for r in rules])
