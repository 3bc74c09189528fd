"""Draw the report page: plain HTML, inline CSS, inline SVG charts; every value escaped.

No file, font or script is fetched: a Content-Security-Policy forbids the page any network
access; the Chinese font is embedded, cut to the page's characters (:mod:`report_font`). The one inline script only sorts tables on a header click and records the drawn bar
widths (``data-drawn``) so a headless browser test can check what was rendered.
"""

from __future__ import annotations

import html
import math

from tracecode.messages import severity_text
from tracecode.outputs.report_font import font_face_css
from tracecode.outputs.report_model import Case, ReportData

PALETTE = ("#c0392b", "#e67e22", "#8e44ad", "#2c3e50", "#16a085", "#2980b9", "#7f8c8d", "#d35400",
           "#27ae60", "#f39c12")
KIND_ZH = {"sale": "销售", "return": "退货"}

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
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:; font-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>药品追溯码监测月报 {e(data.month)}</title><style>{CSS}</style></head><body>",
        "<header><h1>药品追溯码重复使用监测月报</h1>",
        f'<p class="sub">统计月份 <b>{e(data.month)}</b> · 数据库 {e(data.db_label)} · '
        f"生成时间 {e(data.generated_at)}</p></header>",
        _headline(data, colors),
        _trend(data, colors),
        _pharmacies(data),
        _drugs(data),
        data.rings_html,
        data.cases_html,
        _cases(data, colors),
        _rejects(data),
        "<footer>",
        "人员编号已脱敏（保留前三位与后两位，附校验串，可区分不同人员但无法还原）。" if data.masked
        else "注意：本报告含未脱敏的人员编号，请按个人信息管理规定保管。",
        " 同一追溯码可同时触发多条规则。规则定义见 tracecode 文档 docs/RULES.md。</footer>",
        f"<script>{SCRIPT}</script></body></html>",
    ]
    page = "\n".join(parts) + "\n"
    # the page's own font, cut to the characters it shows (a server may have no CJK font)
    return page.replace("</style>", font_face_css(page) + "</style>", 1)


def _delta(line) -> str:
    if line.previous is None:
        return '<span class="na">上月未检查</span>'
    d = line.codes - line.previous
    if d > 0:
        return f'<span class="up">▲ {num(d)}</span> <span class="muted">较上月</span>'
    if d < 0:
        return f'<span class="down">▼ {num(-d)}</span> <span class="muted">较上月</span>'
    return '<span class="same">与上月持平</span>'


def _headline(data: ReportData, colors: dict[str, str]) -> str:
    share = data.flagged_rows / data.rows if data.rows else 0.0
    totals = [("上传追溯码行数", num(data.rows)), ("药店数", num(data.pharmacies)),
              ("可疑追溯码（码×规则）", num(data.total_codes)),
              ("被标记行数", f"{num(data.flagged_rows)} <small>({pct(share)})</small>"),
              ("无法读取的记录", num(data.rejects))]
    out = ['<section id="headline"><h2>本月概况</h2><div class="cards">']
    out += [f'<div class="card"><div class="n">{v}</div><div class="l">{e(k)}</div></div>' for k, v in totals]
    out.append('</div><h3>各规则发现的可疑追溯码</h3><div class="cards">')
    for r in data.rules:
        out.append(
            f'<div class="card rule" style="--c:{colors[r.rule]}" data-rule="{e(r.rule)}">'
            f'<div class="n">{num(r.codes)}</div><div class="l">{e(r.label_zh)}</div>'
            f'<div class="muted">{e(r.rule)} · 严重程度 {e(severity_text(r.severity, "zh") or "—")}</div>'
            f"<div>{_delta(r)}</div>"
            f'<div class="muted">标记 {num(r.flagged_rows)} 行 · {num(r.pharmacies)} 家药店</div></div>')
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
    out = ['<section id="trend-section"><h2>各规则发现数（按月）</h2>',
           f'<svg class="chart" id="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="各规则发现数（按月）">']
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
                       f'text-anchor="middle" class="muted" fill="#999">未检查</text>')
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
    rows = data.top_pharmacies
    out = ['<section id="pharmacies"><h2>被标记比例最高的药店</h2>']
    if not rows:
        out.append("<p>本月没有药店的上传行被标记。</p></section>")
        return "\n".join(out)
    label_w, bar_max, row_h = 300, 330, 24
    width, height = label_w + bar_max + 140, row_h * len(rows) + 10
    top_share = max(r["share"] for r in rows) or 1.0
    out.append(f'<svg class="chart" id="pharmacy-chart" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}" role="img" aria-label="被标记比例最高的药店">')
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
    out.append('<table class="sortable"><thead><tr><th>定点医药机构编号</th><th>名称</th><th>上传行数</th>'
               "<th>标记行数</th><th>标记比例</th><th>可疑追溯码</th><th>规则</th></tr></thead><tbody>")
    for r in rows:
        out.append(f'<tr><td class="code">{e(r["fixmedins_code"])}</td><td>{e(r["fixmedins_name"])}</td>'
                   f'<td class="num">{num(r["rows_uploaded"])}</td><td class="num">{num(r["flagged_rows"])}</td>'
                   f'<td class="num" data-v="{r["share"]:.6f}">{pct(r["share"])}</td>'
                   f'<td class="num">{num(r["findings"])}</td><td>{e(_rule_names(data, r["rules"]))}</td></tr>')
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _rule_names(data: ReportData, ids: str | None) -> str:
    labels = {r.rule: r.label_zh for r in data.rules}
    return "、".join(labels.get(i, i) for i in (ids or "").split(",") if i)


def _drugs(data: ReportData) -> str:
    out = ['<section id="drugs"><h2>涉及最多的药品</h2>']
    if not data.top_drugs:
        out.append("<p>本月没有可疑药品。</p></section>")
        return "\n".join(out)
    most = max(d["findings"] for d in data.top_drugs) or 1
    out.append('<table class="sortable"><thead><tr><th>医疗目录编码</th><th>药品名称</th><th>可疑追溯码</th>'
               "<th>标记行数</th><th>药店数</th></tr></thead><tbody>")
    for d in data.top_drugs:
        bar = f'<svg width="80" height="10"><rect x="0" y="1" width="{80 * d["findings"] / most:.1f}" height="8" ' \
              f'fill="#e67e22"/></svg>'
        out.append(f'<tr><td class="code">{e(d["med_list_codg"] or "（无）")}</td><td>{e(d["name"])}</td>'
                   f'<td class="num" data-v="{d["findings"]}">{bar} {num(d["findings"])}</td>'
                   f'<td class="num">{num(d["flagged_rows"])}</td><td class="num">{num(d["pharmacies"])}</td></tr>')
    out.append("</tbody></table></section>")
    return "\n".join(out)


def _cases(data: ReportData, colors: dict[str, str]) -> str:
    out = ['<section id="rules"><h2>各规则最严重的案例及证据</h2>']
    if not data.cases:
        out.append("<p>本月没有发现可疑追溯码。</p>")
    for line in data.rules:
        cases = data.cases.get(line.rule)
        if not cases:
            continue
        shown = f"（前 {len(cases)} 个）" if line.codes > len(cases) else ""
        out.append(f'<h3 id="rule-{e(line.rule)}" style="color:{colors[line.rule]}">{e(line.label_zh)} '
                   f'<span class="muted">{e(line.rule)} · {num(line.codes)} 个追溯码{shown}</span></h3>')
        out.append('<table class="cases"><thead><tr><th>追溯码</th><th>说明</th><th>涉及药店</th><th>出现次数</th>'
                   "<th>标记行数</th><th>首次出现</th><th>最后出现</th></tr></thead><tbody>")
        for case in cases:
            f = case.finding
            out.append(f'<tr><td class="code">{e(f["drug_trac_codg"])}</td><td>{e(f["detail"])}</td>'
                       f'<td>{num(f["pharmacies"])}：{e(f["pharmacy_list"])}</td>'
                       f'<td class="num">{num(f["occurrences"])}</td><td class="num">{num(f["flagged_rows"])}</td>'
                       f'<td>{e(f["first_seen"])}</td><td>{e(f["last_seen"])}</td></tr>')
            out.append(f'<tr class="evidence"><td colspan="7">{_evidence(case)}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _evidence(case: Case) -> str:
    rows = ["<details><summary>证据：该追溯码的全部记录（红色为被标记行）</summary>",
            "<table><thead><tr><th>时间</th><th>类型</th><th>药店</th><th>零售单据号</th><th>医疗目录编码</th>"
            "<th>数量</th><th>拆零</th><th>医保结算</th><th>人员编号</th><th>原始追溯码</th><th>来源</th></tr></thead><tbody>"]
    for ev in case.events:
        rows.append(
            f'<tr class="{"flag" if ev["flagged"] else ""}"><td>{e(ev["sel_retn_time"])}</td>'
            f'<td>{e(KIND_ZH.get(ev["kind"], ev["kind"]))}</td>'
            f'<td>{e(ev["fixmedins_code"])} {e(ev["fixmedins_name"])}</td><td>{e(ev["rtal_docno"])}</td>'
            f'<td>{e(ev["med_list_codg"])} {e(ev["fixmedins_hilist_name"])}</td>'
            f'<td class="num">{num(ev["sel_retn_cnt"])}</td>'
            f'<td>{"拆零" if ev["trdn_flag"] else "整盒"}</td><td>{"是" if ev["insured"] else "否"}</td>'
            f'<td class="code">{e(ev["psn_no"])}</td><td class="code">{e(ev["code_raw"])}</td>'
            f'<td>{e(ev["source_file"])}:{e(ev["src_line"])}</td></tr>')
    rows.append("</tbody></table>")
    if case.more_events:
        rows.append(f'<p class="muted">另有 {num(case.more_events)} 条记录未列出，'
                    "完整证据见 tracecode export 的 suspicious_events.csv。</p>")
    rows.append("</details>")
    return "".join(rows)


def _rejects(data: ReportData) -> str:
    out = ['<section id="rejects"><h2>无法读取的记录</h2>',
           f'<p>本月相关文件中共有 <b id="rejects-count">{num(data.rejects)}</b> 条记录无法读取。'
           f'这些文件共读取 <b id="records-read">{num(data.records)}</b> 条记录；概况中的'
           f'“上传追溯码行数” <b>{num(data.rows)}</b> 是其中属于本月的追溯码行'
           "（一条记录可含多个追溯码，文件也可含其他月份的记录）。</p>"]
    if data.reject_reasons:
        out.append("<table><thead><tr><th>原因</th><th>记录数</th></tr></thead><tbody>")
        out += [f'<tr><td>{e(reason)}</td><td class="num">{num(n)}</td></tr>' for reason, n in data.reject_reasons[:20]]
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)
