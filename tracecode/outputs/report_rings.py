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
from tracecode.messages import DEFAULT_LANG, text


def _e(value) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def _short_time(t) -> str:
    return "" if t is None else str(t)[:10]


def _t(lang: str, key: str, **params) -> str:
    return text(f"report.{key}", lang, **params)


def rings_section_html(found: list[Ring], *, min_packs: int = DEFAULT_MIN_PACKS, limit: int = SVG_RINGS,
                       table_rows: int = 20, lang: str = DEFAULT_LANG) -> str:
    """The report section: a sentence, the drawings of the largest rings, a table of rings."""
    out = [f'<section id="rings"><h2>{_t(lang, "rings_title")}</h2>',
           f'<p class="sub">{_t(lang, "rings_text", min_packs=min_packs, n=len(found), shown=min(limit, len(found)))}</p>',
           rings_svg(found, limit)]
    if found:
        heads = ("col_ring", "col_members", "col_packs", "col_persons", "col_drugs", "col_flows", "col_top_persons",
                 "col_time")
        out.append('<table class="sortable rings-table"><thead><tr>'
                   + "".join(f"<th>{_t(lang, k)}</th>" for k in heads) + '</tr></thead><tbody>')
        for r in found[:table_rows]:
            out.append(f'<tr><td>{_e(r.ring_id)}</td><td class="num">{len(r.members)}</td>'
                       f'<td class="num">{r.packs}</td><td class="num">{r.persons}</td>'
                       f'<td class="num">{r.drugs}</td><td>{_e(r.top_flows(3))}</td>'
                       f'<td>{_e(format_top(r.top_persons[:3]))}</td>'
                       f'<td>{_e(_short_time(r.first_bought))} — {_e(_short_time(r.last_resold))}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def report_section(con: duckdb.DuckDBPyConnection, month: str, mask: bool = True, lang: str = DEFAULT_LANG) -> str:
    """The rings section of the monthly HTML report (``tracecode report``) for ``month``: the
    drawings of the largest rings and a table; a short note when recycled_resale was not
    checked for that month."""
    try:
        found = rings(con, month, DEFAULT_MIN_PACKS, mask=mask)
    except TracecodeError as exc:
        return (f'<section id="rings"><h2>{_t(lang, "rings_title")}</h2>'
                f'<p class="muted">{_t(lang, "rings_failed", error=_e(exc))}</p></section>')
    return rings_section_html(found, lang=lang)
