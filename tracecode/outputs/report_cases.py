"""The report's section on cases: the month's new, reopened, open and closed cases, amount at
stake and recovered per rule, the age of open cases, and each rule's measured precision."""

from __future__ import annotations

import html

import duckdb

from tracecode.cases.summary import SUMMARY_COLUMNS, cases_summary
from tracecode.messages import DEFAULT_LANG, text
from tracecode.rules.catalogue import list_rules

__all__ = ["report_section"]



def _t(lang: str, key: str) -> str:
    return text(f"report.{key}", lang)


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(str(value))


def report_section(con: duckdb.DuckDBPyConnection, month: str, lang: str = DEFAULT_LANG) -> str:
    """The HTML section (empty when the store has no cases)."""
    rows = cases_summary(con, month)
    if rows is None:
        return ""
    labels = {r.id: r.label_zh for r in list_rules()}
    at = {name: i for i, name in enumerate(SUMMARY_COLUMNS)}
    out = [f'<section id="cases"><h2>{_t(lang, "cases_title")}</h2>', f"<p>{_t(lang, 'cases_text')}</p>"]
    lines = [r for r in rows if r[at["fixmedins_code"]] == "*"]
    if not lines:
        out.append(f"<p>{_t(lang, 'cases_none')}</p></section>")
        return "\n".join(out)
    out.append("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in _t(lang, "cases_head").split("|")) + "</tr></thead><tbody>")
    for r in lines:
        precision = r[at["rule_precision"]]
        decided = r[at["rule_decided_cases"]]
        shown = "—" if precision is None else (f"{precision:.0%}（{decided}）" if lang == "zh"
                                               else f"{precision:.0%} ({decided})")
        cells = [labels.get(r[at["rule"]], r[at["rule"]]), r[at["new_cases"]], r[at["reopened"]], r[at["open_cases"]],
                 r[at["closed_cases"]], r[at["amount_at_stake"]], r[at["recovered"]], r[at["open_age_days_max"]]]
        out.append("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + f"<td>{html.escape(shown)}</td></tr>")
    out.append(f"</tbody></table><p>{_t(lang, 'cases_more')}</p></section>")
    return "\n".join(out)
