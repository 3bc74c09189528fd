"""The recycling-rings section of the monthly HTML report: a sentence, the drawings of the
largest rings (:func:`tracecode.analysis.rings.rings_svg`) and a table of rings."""

from __future__ import annotations

import html

import duckdb

from tracecode.analysis.rings import (
    DEFAULT_MIN_PACKS,
    SVG_RINGS,
    Ring,
    format_top,
    rings,
    rings_svg,
)
from tracecode.errors import TracecodeError


def _e(value) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def _short_time(t) -> str:
    return "" if t is None else str(t)[:10]


def rings_section_html(found: list[Ring], *, min_packs: int = DEFAULT_MIN_PACKS, limit: int = SVG_RINGS,
                       table_rows: int = 20) -> str:
    """The report section: a sentence, the drawings of the largest rings, a table of rings."""
    out = ['<section id="rings"><h2>疑似回流团伙（药店之间的医保药品回流）</h2>',
           f'<p class="sub">一条箭头 A → B：在药店 A 医保购买的整盒药品，之后在药店 B 再次销售。'
           f'单条流向至少 {min_packs} 盒、或同一人至少 {min_packs} 盒回流时连成团伙；'
           f'共 {len(found)} 个团伙，下图为最大的 {min(limit, len(found))} 个。</p>',
           rings_svg(found, limit)]
    if found:
        out.append('<table class="sortable rings-table"><thead><tr><th>团伙</th><th>药店数</th><th>回流盒数</th>'
                   '<th>涉及人数</th><th>药品种数</th><th>主要流向</th><th>主要人员</th><th>时间</th></tr></thead><tbody>')
        for r in found[:table_rows]:
            out.append(f'<tr><td>{_e(r.ring_id)}</td><td class="num">{len(r.members)}</td>'
                       f'<td class="num">{r.packs}</td><td class="num">{r.persons}</td>'
                       f'<td class="num">{r.drugs}</td><td>{_e(r.top_flows(3))}</td>'
                       f'<td>{_e(format_top(r.top_persons[:3]))}</td>'
                       f'<td>{_e(_short_time(r.first_bought))} — {_e(_short_time(r.last_resold))}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def report_section(con: duckdb.DuckDBPyConnection, month: str, mask: bool = True) -> str:
    """The rings section of the monthly HTML report (``tracecode report``) for ``month``: the
    drawings of the largest rings and a table; a short note when recycled_resale was not
    checked for that month."""
    try:
        found = rings(con, month, DEFAULT_MIN_PACKS, mask=mask)
    except TracecodeError as exc:
        return (f'<section id="rings"><h2>疑似回流团伙（药店之间的医保药品回流）</h2>'
                f'<p class="muted">无法分析：{_e(exc)}</p></section>')
    return rings_section_html(found)
