"""The report's section on cases: the month's new, reopened, open and closed cases, amount at
stake and recovered per rule, the age of open cases, and each rule's measured precision."""

from __future__ import annotations

import html

import duckdb

from tracecode.cases.summary import SUMMARY_COLUMNS, cases_summary
from tracecode.rules.catalogue import list_rules

__all__ = ["report_section"]

_HEAD = ["规则", "新案件", "重开", "未结", "已结", "涉及金额(元)", "已追回(元)", "未结最长天数", "规则精确率（已决定数）"]


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(str(value))


def report_section(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """The HTML section (empty when the store has no cases)."""
    rows = cases_summary(con, month)
    if rows is None:
        return ""
    labels = {r.id: r.label_zh for r in list_rules()}
    at = {name: i for i, name in enumerate(SUMMARY_COLUMNS)}
    out = ['<section id="cases"><h2>案件处理情况</h2>',
           "<p>案件 = 按规则和追溯码跨月跟踪的发现；精确率 = 确认违规 /（确认违规 + 已排除），按全部已决定案件计。</p>"]
    lines = [r for r in rows if r[at["fixmedins_code"]] == "*"]
    if not lines:
        out.append("<p>本月没有涉及案件的标记行。</p></section>")
        return "\n".join(out)
    out.append("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in _HEAD) + "</tr></thead><tbody>")
    for r in lines:
        precision = r[at["rule_precision"]]
        shown = "—" if precision is None else f"{precision:.0%}（{r[at['rule_decided_cases']]}）"
        cells = [labels.get(r[at["rule"]], r[at["rule"]]), r[at["new_cases"]], r[at["reopened"]], r[at["open_cases"]],
                 r[at["closed_cases"]], r[at["amount_at_stake"]], r[at["recovered"]], r[at["open_age_days_max"]]]
        out.append("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + f"<td>{html.escape(shown)}</td></tr>")
    out.append("</tbody></table><p>按药店的明细见导出文件 cases_summary.csv。</p></section>")
    return "\n".join(out)
