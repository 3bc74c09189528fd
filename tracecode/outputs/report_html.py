"""Draw the report page: plain HTML, inline CSS, inline SVG charts; every value escaped.

No file, font or script is fetched: a Content-Security-Policy forbids the page any network
access; the font is embedded, cut to the page's characters, with a small script in the head that
installs it (:mod:`report_font`). The one other inline script only sorts tables on a header click
and records the drawn bar widths (``data-drawn``) so a headless browser test can check what was
rendered.
"""

from __future__ import annotations

import html
import math

from tracecode.messages import DEFAULT_LANG, severity_text, text
from tracecode.outputs.report_font import embed_font
from tracecode.outputs.report_model import Case, ReportData

PALETTE = ("#c0392b", "#e67e22", "#8e44ad", "#2c3e50", "#16a085", "#2980b9", "#7f8c8d", "#d35400",
           "#27ae60", "#f39c12")


def t(lang: str, key: str, **params) -> str:
    """The report's words for ``key`` (``report.<key>`` in the catalogue) in ``lang``; the
    catalogue's text is trusted HTML, the ``params`` are escaped by the caller."""
    return text(f"report.{key}", lang, **params)

CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC","Source Han Sans SC",sans-serif;
 margin:0;padding:0 24px 48px;color:#222;background:#fafafa;font-size:14px;line-height:1.5}
header{border-bottom:3px solid #c0392b;margin-bottom:16px;padding:16px 0 8px}
h1{font-size:24px;margin:0}h2{font-size:18px;margin:28px 0 8px;border-left:4px solid #c0392b;padding-left:8px}
h3{font-size:15px;margin:18px 0 6px}.sub{color:#666;margin:4px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;
 padding:10px 14px;min-width:150px}.card .n{font-size:26px;font-weight:bold}.card .l{color:#555}
.card.rule{border-top:4px solid var(--c)}.up{color:#c0392b}.down{color:#27ae60}.same,.na{color:#888}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f0f0;cursor:pointer;white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.flag td{background:#fdecea}details{margin:2px 0 10px}summary{cursor:pointer;color:#2c3e50}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;
 margin-right:4px;vertical-align:middle}.code{font-family:Consolas,monospace}.muted{color:#888}
svg text{font-size:12px;fill:#333}footer{margin-top:32px;color:#777;font-size:12px}
"""

SCRIPT = """
(function(){
  document.querySelectorAll('svg.chart').forEach(function(svg){
    var w=[];svg.querySelectorAll('rect.bar').forEach(function(r){
      var b=r.getBoundingClientRect();w.push(Math.round(svg.id.indexOf('trend')===0?b.height:b.width));});
    svg.setAttribute('data-drawn',w.join(','));
  });
  document.querySelectorAll('table.sortable th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var t=th.closest('table'),b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
      var asc=th.getAttribute('data-asc')!=='1';th.setAttribute('data-asc',asc?'1':'0');
      rows.sort(function(a,c){var x=a.cells[i].getAttribute('data-v')||a.cells[i].textContent,
        y=c.cells[i].getAttribute('data-v')||c.cells[i].textContent,nx=parseFloat(x),ny=parseFloat(y);
        var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y,'zh');return asc?r:-r;});
      rows.forEach(function(r){b.appendChild(r);});});
  });
  document.body.setAttribute('data-ready','1');
})();
"""


def e(value) -> str:
    """Escape anything for HTML text and attribute values."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def num(n) -> str:
    if n is None:
        return ""
    if isinstance(n, float):
        return f"{n:,.0f}" if n.is_integer() else f"{n:,.2f}"
    return f"{n:,}"


def pct(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.1f}%"


def render(data: ReportData) -> str:
    colors = {r.rule: PALETTE[i % len(PALETTE)] for i, r in enumerate(data.rules)}
    lang = data.lang
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:; font-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{t(lang, 'title', month=e(data.month))}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{t(lang, 'h1')}</h1>",
        f'<p class="sub">{t(lang, "sub", month=e(data.month), db=e(data.db_label), at=e(data.generated_at))}'
        "</p></header>",
        _headline(data, colors),
        _trend(data, colors),
        _pharmacies(data),
        _drugs(data),
        data.rings_html,
        data.cases_html,
        _cases(data, colors),
        _rejects(data),
        "<footer>",
        t(lang, "footer_masked") if data.masked else t(lang, "footer_unmasked"),
        t(lang, "footer_rules") + "</footer>",
        f"<script>{SCRIPT}</script></body></html>",
    ]
    page = "\n".join(parts) + "\n"
    # the page's own font, cut to the characters it shows (a server may have no font at all)
    return embed_font(page)


def _delta(line, lang: str = DEFAULT_LANG) -> str:
    if line.previous is None:
        return f'<span class="na">{t(lang, "not_checked_prev")}</span>'
    d = line.codes - line.previous
    if d > 0:
        return f'<span class="up">▲ {num(d)}</span> <span class="muted">{t(lang, "vs_prev")}</span>'
    if d < 0:
        return f'<span class="down">▼ {num(-d)}</span> <span class="muted">{t(lang, "vs_prev")}</span>'
    return f'<span class="same">{t(lang, "same_as_prev")}</span>'


def _headline(data: ReportData, colors: dict[str, str]) -> str:
    lang = data.lang
    share = data.flagged_rows / data.rows if data.rows else 0.0
    totals = [(t(lang, "card_rows"), num(data.rows)), (t(lang, "card_pharmacies"), num(data.pharmacies)),
              (t(lang, "card_codes"), num(data.total_codes)),
              (t(lang, "card_flagged"), f"{num(data.flagged_rows)} <small>({pct(share)})</small>"),
              (t(lang, "card_rejects"), num(data.rejects))]
    out = [f'<section id="headline"><h2>{t(lang, "overview")}</h2><div class="cards">']
    out += [f'<div class="card"><div class="n">{v}</div><div class="l">{e(k)}</div></div>' for k, v in totals]
    out.append(f'</div><h3>{t(lang, "by_rule")}</h3><div class="cards">')
    for r in data.rules:
        out.append(
            f'<div class="card rule" style="--c:{colors[r.rule]}" data-rule="{e(r.rule)}">'
            f'<div class="n">{num(r.codes)}</div><div class="l">{e(r.label_zh)}</div>'
            f'<div class="muted">{e(r.rule)} · {t(lang, "severity")} {e(severity_text(r.severity, lang) or "—")}</div>'
            f"<div>{_delta(r, lang)}</div>"
            f'<div class="muted">{t(lang, "rule_flagged", rows=num(r.flagged_rows), pharmacies=num(r.pharmacies))}</div></div>')
    out.append("</div></section>")
    return "\n".join(out)


def _nice_max(v: int) -> int:
    if v <= 5:
        return 5
    exp = 10 ** int(math.floor(math.log10(v)))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return int(m * exp)
    return v


def _trend(data: ReportData, colors: dict[str, str]) -> str:
    months = data.history
    width, height, left, bottom, top = 760, 280, 48, 40, 16
    plot_h = height - bottom - top
    slot = (width - left - 10) / max(len(months), 1)
    bar_w = max(6.0, min(48.0, slot * 0.6))
    ymax = _nice_max(max([sum(c.values()) for _, c in months if c] or [0]))
    lang = data.lang
    out = [f'<section id="trend-section"><h2>{t(lang, "trend")}</h2>',
           f'<svg class="chart" id="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{t(lang, "trend")}">']
    for i in range(6):
        v = ymax * i / 5
        y = top + plot_h - plot_h * i / 5
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{num(round(v))}</text>')
    for i, (month, counts) in enumerate(months):
        x = left + slot * i + (slot - bar_w) / 2
        cur = month == data.month
        label_y = height - bottom + 16
        weight = ' font-weight="bold"' if cur else ""
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{label_y}" text-anchor="middle"{weight}>{e(month)}</text>')
        if counts is None:
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - 20}" width="{bar_w:.1f}" height="20" fill="none" '
                       f'stroke="#bbb" stroke-dasharray="3,3"/><text x="{x + bar_w / 2:.1f}" y="{label_y + 14}" '
                       f'text-anchor="middle" class="muted" fill="#999">{t(lang, "not_checked")}</text>')
            continue
        y = top + plot_h
        for r in data.rules:
            n = counts.get(r.rule, 0)
            if not n:
                continue
            h = plot_h * n / ymax
            y -= h
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                       f'fill="{colors[r.rule]}" data-rule="{e(r.rule)}" data-value="{n}">'
                       f"<title>{e(month)} {e(r.label_zh)}: {num(n)}</title></rect>")
        total = sum(counts.values())
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{num(total)}</text>')
    out.append(f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/></svg>')
    out.append('<div class="legend">' + "".join(
        f'<span><i style="background:{colors[r.rule]}"></i>{e(r.label_zh)}</span>' for r in data.rules) + "</div>")
    out.append("</section>")
    return "\n".join(out)


def _pharmacies(data: ReportData) -> str:
    rows, lang = data.top_pharmacies, data.lang
    out = [f'<section id="pharmacies"><h2>{t(lang, "top_pharmacies")}</h2>']
    if not rows:
        out.append(f"<p>{t(lang, 'no_pharmacy')}</p></section>")
        return "\n".join(out)
    label_w, bar_max, row_h = 300, 330, 24
    width, height = label_w + bar_max + 140, row_h * len(rows) + 10
    top_share = max(r["share"] for r in rows) or 1.0
    out.append(f'<svg class="chart" id="pharmacy-chart" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" role="img" aria-label="{t(lang, "top_pharmacies")}">')
    for i, r in enumerate(rows):
        y = 5 + i * row_h
        name = r["fixmedins_name"] or ""
        shown = (name[:14] + "…" if len(name) > 15 else name) + f" {r['fixmedins_code']}"
        w = bar_max * r["share"] / top_share
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end"><title>{e(name)} '
                   f'{e(r["fixmedins_code"])}</title>{e(shown)}</text>'
                   f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="#c0392b" '
                   f'data-value="{r["share"]:.6f}"/>'
                   f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{pct(r["share"])} '
                   f'({num(r["flagged_rows"])}/{num(r["rows_uploaded"])})</text>')
    out.append("</svg>")
    out.append('<table class="sortable"><thead><tr>' + _heads(lang, "col_pharmacy_code", "col_name", "col_rows",
                                                              "col_flagged", "col_share", "col_codes", "col_rules")
               + "</tr></thead><tbody>")
    for r in rows:
        out.append(f'<tr><td class="code">{e(r["fixmedins_code"])}</td><td>{e(r["fixmedins_name"])}</td>'
                   f'<td class="num">{num(r["rows_uploaded"])}</td><td class="num">{num(r["flagged_rows"])}</td>'
                   f'<td class="num" data-v="{r["share"]:.6f}">{pct(r["share"])}</td>'
                   f'<td class="num">{num(r["findings"])}</td><td>{e(_rule_names(data, r["rules"]))}</td></tr>')
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _rule_names(data: ReportData, ids: str | None) -> str:
    labels = {r.rule: r.label_zh for r in data.rules}
    return t(data.lang, "list_sep").join(labels.get(i, i) for i in (ids or "").split(",") if i)


def _drugs(data: ReportData) -> str:
    lang = data.lang
    out = [f'<section id="drugs"><h2>{t(lang, "top_drugs")}</h2>']
    if not data.top_drugs:
        out.append(f"<p>{t(lang, 'no_drug')}</p></section>")
        return "\n".join(out)
    most = max(d["findings"] for d in data.top_drugs) or 1
    out.append('<table class="sortable"><thead><tr>' + _heads(lang, "col_med_list", "col_drug_name", "col_codes",
                                                              "col_flagged", "col_pharmacy_count")
               + "</tr></thead><tbody>")
    for d in data.top_drugs:
        bar = f'<svg width="80" height="10"><rect x="0" y="1" width="{80 * d["findings"] / most:.1f}" height="8" ' \
              f'fill="#e67e22"/></svg>'
        out.append(f'<tr><td class="code">{e(d["med_list_codg"] or t(lang, "none"))}</td><td>{e(d["name"])}</td>'
                   f'<td class="num" data-v="{d["findings"]}">{bar} {num(d["findings"])}</td>'
                   f'<td class="num">{num(d["flagged_rows"])}</td><td class="num">{num(d["pharmacies"])}</td></tr>')
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _cases(data: ReportData, colors: dict[str, str]) -> str:
    lang = data.lang
    out = [f'<section id="rules"><h2>{t(lang, "cases")}</h2>']
    if not data.cases:
        out.append(f"<p>{t(lang, 'no_finding')}</p>")
    for line in data.rules:
        cases = data.cases.get(line.rule)
        if not cases:
            continue
        shown = t(lang, "first_n", n=len(cases)) if line.codes > len(cases) else ""
        out.append(f'<h3 id="rule-{e(line.rule)}" style="color:{colors[line.rule]}">{e(line.label_zh)} '
                   f'<span class="muted">{e(line.rule)} · {t(lang, "rule_codes", n=num(line.codes), shown=shown)}</span></h3>')
        out.append('<table class="cases"><thead><tr>' + _heads(lang, "col_code", "col_detail", "col_pharmacies",
                                                                "col_occurrences", "col_flagged", "col_first", "col_last")
                   + "</tr></thead><tbody>")
        for case in cases:
            f = case.finding
            out.append(f'<tr><td class="code">{e(f["drug_trac_codg"])}</td><td>{e(f["detail"])}</td>'
                       f'<td>{num(f["pharmacies"])}：{e(f["pharmacy_list"])}</td>'
                       f'<td class="num">{num(f["occurrences"])}</td><td class="num">{num(f["flagged_rows"])}</td>'
                       f'<td>{e(f["first_seen"])}</td><td>{e(f["last_seen"])}</td></tr>')
            out.append(f'<tr class="evidence"><td colspan="7">{_evidence(case, lang)}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _heads(lang: str, *keys: str) -> str:
    return "".join(f"<th>{t(lang, k)}</th>" for k in keys)


def _evidence(case: Case, lang: str = DEFAULT_LANG) -> str:
    rows = [f"<details><summary>{t(lang, 'evidence')}</summary>",
            "<table><thead><tr>" + _heads(lang, "col_time", "col_kind", "col_pharmacy", "col_receipt", "col_med_list",
                                          "col_qty", "col_split", "col_insured", "col_person", "col_code_raw",
                                          "col_source") + "</tr></thead><tbody>"]
    kinds = {"sale": t(lang, "kind_sale"), "return": t(lang, "kind_return")}
    for ev in case.events:
        rows.append(
            f'<tr class="{"flag" if ev["flagged"] else ""}"><td>{e(ev["sel_retn_time"])}</td>'
            f'<td>{e(kinds.get(ev["kind"], ev["kind"]))}</td>'
            f'<td>{e(ev["fixmedins_code"])} {e(ev["fixmedins_name"])}</td><td>{e(ev["rtal_docno"])}</td>'
            f'<td>{e(ev["med_list_codg"])} {e(ev["fixmedins_hilist_name"])}</td>'
            f'<td class="num">{num(ev["sel_retn_cnt"])}</td>'
            f'<td>{t(lang, "split") if ev["trdn_flag"] else t(lang, "whole")}</td>'
            f'<td>{t(lang, "yes") if ev["insured"] else t(lang, "no")}</td>'
            f'<td class="code">{e(ev["psn_no"])}</td><td class="code">{e(ev["code_raw"])}</td>'
            f'<td>{e(ev["source_file"])}:{e(ev["src_line"])}</td></tr>')
    rows.append("</tbody></table>")
    if case.more_events:
        rows.append(f'<p class="muted">{t(lang, "more_events", n=num(case.more_events))}</p>')
    rows.append("</details>")
    return "".join(rows)


def _rejects(data: ReportData) -> str:
    lang = data.lang
    out = [f'<section id="rejects"><h2>{t(lang, "rejects_title")}</h2>',
           f'<p>{t(lang, "rejects_text", rejects=num(data.rejects), records=num(data.records), rows=num(data.rows))}</p>']
    if data.reject_reasons:
        out.append("<table><thead><tr>" + _heads(lang, "col_reason", "col_records") + "</tr></thead><tbody>")
        out += [f'<tr><td>{e(reason)}</td><td class="num">{num(n)}</td></tr>' for reason, n in data.reject_reasons[:20]]
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)
