"""Recycling rings (团伙化回流): groups of pharmacies that feed each other insured packs.

The graph (networkx, built from the flows of :class:`tracecode.analysis.people.Analysis`, never from a
rescan of the history):

- a *flow* is one pack bought on insurance (whole pack) at pharmacy A by person P and sold
  again at pharmacy B in the checked month (recycled_resale), A <> B;
- pharmacy nodes; an edge A -> B of weight = packs that flowed from A to B, kept when it
  carries at least ``min_packs`` packs;
- person nodes for the insured persons with at least ``min_packs`` packs that reappeared (the
  persons ``people`` lists with the same --min-packs): edges A -> P (packs P bought at A) and
  P -> B (P's packs sold again at B), whatever their weight. A professional buyer thus links
  every pharmacy they bought at to every pharmacy their packs reappeared at, even when no
  single pharmacy pair reaches ``min_packs``;
- a *ring* is a weakly connected component of that graph holding at least two pharmacies and
  at least ``min_packs`` packs flowing between its pharmacies. Its members are its
  pharmacies; its packs, persons, drugs and time span are over *all* flows between two of its
  members (below-threshold pairs included once the pharmacies are members).

``--min-packs`` therefore filters three things: which pharmacy pairs are edges, which persons
are nodes, and which rings are reported. One resold pack between two random pharmacies (the
background of unrelated repeats) never reaches 2, so it never forms or joins a ring.

Rings are ranked by packs (then pharmacies, then the first member's code); their ids R001,
R002 ... follow that rank and are not stable across months.
"""

from __future__ import annotations

import html
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tracecode.analysis.people import Analysis, _checked_min_packs, _strip
from tracecode.sqlfiles import read_sql

__all__ = [
    "DEFAULT_MIN_PACKS",
    "Ring",
    "RingEdge",
    "RING_COLUMNS",
    "EDGE_COLUMNS",
    "find_rings",
    "rings",
    "rings_svg",
    "ring_rows",
    "edge_rows",
]

DEFAULT_MIN_PACKS = 3
TOP = 5  # entries in the 'top_*' lists
SVG_RINGS = 4  # rings drawn in the report


@dataclass
class RingEdge:
    """The packs that went from one ring member to another."""

    source: str
    target: str
    source_name: str
    target_name: str
    packs: int
    resales: int
    persons: int
    top_persons: str
    drugs: int
    value: float | None
    first_bought: Any
    last_resold: Any
    days_median: float
    in_graph: bool  # the pair alone reaches min_packs (else it joins through other edges or persons)


@dataclass
class Ring:
    ring_id: str
    rank: int
    members: list[str]  # pharmacy codes, most packs first
    names: dict[str, str]
    roles: dict[str, str]  # code -> source | sink | both
    node_packs: dict[str, int]  # packs sent plus packs received, per member
    packs: int
    resales: int
    value: float | None
    persons: int
    top_persons: list[tuple[str, int]]
    linking_persons: list[str]  # person nodes of the component (>= min_packs packs each)
    drugs: int
    top_drugs: list[tuple[str, int]]
    edges: list[RingEdge] = field(default_factory=list)  # heaviest first
    first_bought: Any = None
    last_resold: Any = None
    days_median: float | None = None

    @property
    def sources(self) -> list[str]:
        return [m for m in self.members if self.roles[m] == "source"]

    @property
    def sinks(self) -> list[str]:
        return [m for m in self.members if self.roles[m] == "sink"]

    def top_flows(self, n: int = TOP) -> str:
        return "; ".join(f"{e.source} -> {e.target} x{e.packs}" for e in self.edges[:n])


RING_COLUMNS = ("ring_id", "pharmacies", "members", "sources", "sinks", "packs", "resales", "value", "persons",
                "top_persons", "linking_persons", "drugs", "top_drugs", "top_flows", "first_bought",
                "last_resold", "days_median")
EDGE_COLUMNS = ("ring_id", "source", "source_name", "target", "target_name", "packs", "resales", "persons",
                "top_persons", "drugs", "value", "first_bought", "last_resold", "days_median", "in_graph")

LABELS_ZH = {
    "ring_id": "团伙编号", "pharmacies": "药店数", "members": "成员药店", "sources": "流出药店", "sinks": "流入药店",
    "packs": "回流盒数", "resales": "再销售次数", "value": "回流药品金额", "persons": "涉及人数",
    "top_persons": "主要人员", "linking_persons": "关联人员", "drugs": "药品种数", "top_drugs": "主要药品",
    "top_flows": "主要流向", "first_bought": "首次医保购药时间", "last_resold": "最后再销售时间",
    "days_median": "回流天数中位数", "source": "流出药店编号", "source_name": "流出药店名称",
    "target": "流入药店编号", "target_name": "流入药店名称", "in_graph": "单独达到阈值",
}


def _top(counter: Counter, n: int = TOP) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def format_top(items: list[tuple[str, int]]) -> str:
    """A top-N list as text: "key xN; key xN"."""
    return "; ".join(f"{k} x{v}" for k, v in items)


def find_rings(analysis: Analysis, min_packs: int = DEFAULT_MIN_PACKS, *, mask: bool = True) -> list[Ring]:
    """The rings of the analysis' month scope, largest first (see the module docstring)."""
    import networkx as nx  # here, not at the top: every CLI command imports this module

    min_packs = _checked_min_packs(min_packs)
    eng = analysis.engine
    pairs = eng.fetch(read_sql("analysis/ring_pairs.sql"))
    links = eng.fetch(read_sql("analysis/ring_persons.sql"), {"min_packs": min_packs})
    graph = nx.DiGraph()
    strong = set()
    for src, dst, packs, *_ in pairs:
        if packs >= min_packs:
            graph.add_edge(("ph", src), ("ph", dst), packs=packs)
            strong.add((src, dst))
    for psn, src, dst, packs in links:
        person = ("psn", psn)
        for a, b in ((("ph", src), person), (person, ("ph", dst))):
            w = graph.edges[a, b]["packs"] if graph.has_edge(a, b) else 0
            graph.add_edge(a, b, packs=w + packs)
    groups = []
    for comp in nx.weakly_connected_components(graph):
        members = sorted(n[1] for n in comp if n[0] == "ph")
        if len(members) >= 2:
            groups.append((members, sorted(n[1] for n in comp if n[0] == "psn")))
    if not groups:
        return []
    groups.sort(key=lambda g: g[0][0])
    # a temporary table from two bound lists (registering an Arrow table would import pandas)
    analysis.con.execute(
        'CREATE OR REPLACE TEMP TABLE "ring_members" AS '
        "SELECT CAST(unnest($idx) AS INTEGER) AS ring_idx, CAST(unnest($code) AS VARCHAR) AS fixmedins_code",
        {"idx": [i for i, (m, _) in enumerate(groups) for _ in m], "code": [c for m, _ in groups for c in m]})
    try:
        cur = analysis.con.execute(_strip(read_sql("analysis/ring_flows.sql")))
        names = [d[0] for d in cur.description]
        flows = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        analysis.con.execute('DROP TABLE IF EXISTS temp.main."ring_members"')
    by_ring: dict[int, list[dict]] = defaultdict(list)
    for f in flows:
        by_ring[f["ring_idx"]].append(f)
    hide = analysis.masker(mask)
    out = []
    for idx, (members, persons) in enumerate(groups):
        ring = _describe(members, persons, by_ring.get(idx, []), strong, hide)
        if ring.packs >= min_packs:
            out.append(ring)
    out.sort(key=lambda r: (-r.packs, -len(r.members), r.members[0]))
    for i, ring in enumerate(out, start=1):
        ring.rank = i
        ring.ring_id = f"R{i:03d}"
    return out


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _describe(members: list[str], linking: list[str], flows: list[dict], strong: set, hide) -> Ring:
    names: dict[str, str] = {}
    sent: Counter = Counter()
    received: Counter = Counter()
    packs_src: dict[Any, dict] = {}  # src_event_id -> its flow (first resale)
    per_edge: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for f in flows:
        names.setdefault(f["src_pharmacy"], f["src_name"] or "")
        names.setdefault(f["dst_pharmacy"], f["dst_name"] or "")
        per_edge[(f["src_pharmacy"], f["dst_pharmacy"])].append(f)
        packs_src.setdefault(f["src_event_id"], f)
    edges = []
    for (src, dst), fl in per_edge.items():
        srcs = {f["src_event_id"]: f for f in fl}
        people = Counter(hide(f["psn_no"]) for f in srcs.values() if f["psn_no"])
        values = [f["value"] for f in srcs.values() if f["value"] is not None]
        edges.append(RingEdge(
            src, dst, names.get(src, ""), names.get(dst, ""), len(srcs), len(fl), len(people),
            format_top(_top(people)), len({f["med_list_codg"] for f in srcs.values()}),
            float(sum(values)) if values else None, min(f["src_time"] for f in fl), max(f["dst_time"] for f in fl),
            _median([float(f["days"]) for f in fl]), (src, dst) in strong))
        sent[src] += len(srcs)
        received[dst] += len(srcs)
    edges.sort(key=lambda e: (-e.packs, e.source, e.target))
    roles = {}
    for m in members:
        s, r = sent[m], received[m]
        if (s and r and max(s, r) < 2 * min(s, r)) or s == r:
            roles[m] = "both"
        else:
            roles[m] = "source" if s > r else "sink"
        names.setdefault(m, "")
    node_packs = {m: sent[m] + received[m] for m in members}
    ordered = sorted(members, key=lambda m: (-node_packs[m], m))
    firsts = {}
    for f in flows:  # days to the first reappearance of each pack
        d = float(f["days"])
        firsts[f["src_event_id"]] = min(d, firsts.get(f["src_event_id"], d))
    src_rows = list(packs_src.values())
    people = Counter(hide(f["psn_no"]) for f in src_rows if f["psn_no"])
    drugs = Counter((f["drug_name"] or f["med_list_codg"] or "?") for f in src_rows)
    values = [f["value"] for f in src_rows if f["value"] is not None]
    return Ring(
        ring_id="", rank=0, members=ordered, names=names, roles=roles, node_packs=node_packs,
        packs=len(packs_src), resales=len(flows), value=float(sum(values)) if values else None,
        persons=len(people), top_persons=_top(people), linking_persons=[hide(p) for p in linking],
        drugs=len({f["med_list_codg"] for f in src_rows}), top_drugs=_top(drugs), edges=edges,
        first_bought=min((f["src_time"] for f in flows), default=None),
        last_resold=max((f["dst_time"] for f in flows), default=None),
        days_median=_median(list(firsts.values())))


def rings(con, month: str | None = None, min_packs: int = DEFAULT_MIN_PACKS, *, mask: bool = True) -> list[Ring]:
    """The rings of ``month`` (None: all months), from the stored findings."""
    with Analysis(con, month) as a:
        return find_rings(a, min_packs, mask=mask)


# ---------------------------------------------------------------------------------- rows


def ring_rows(found: list[Ring]) -> list[list]:
    """The rows of rings.csv (RING_COLUMNS), one per ring."""
    return [[r.ring_id, len(r.members), "; ".join(r.members), "; ".join(r.sources), "; ".join(r.sinks), r.packs,
             r.resales, r.value, r.persons, format_top(r.top_persons), "; ".join(r.linking_persons), r.drugs,
             format_top(r.top_drugs), r.top_flows(), r.first_bought, r.last_resold, r.days_median] for r in found]


def edge_rows(found: list[Ring]) -> list[list]:
    """The rows of ring_edges.csv (EDGE_COLUMNS), one per pharmacy pair inside a ring."""
    return [[r.ring_id, e.source, e.source_name, e.target, e.target_name, e.packs, e.resales, e.persons,
             e.top_persons, e.drugs, e.value, e.first_bought, e.last_resold, e.days_median, int(e.in_graph)]
            for r in found for e in r.edges]


# ---------------------------------------------------------------------------------- SVG

ROLE_COLOR = {"source": "#c0392b", "both": "#8e44ad", "sink": "#2c3e50"}
ROLE_ZH = {"source": "流出（医保购药）", "both": "流出并流入", "sink": "流入（再销售）"}
_W = 520  # panel width
# Where text goes. A label's box is its font's line box, which for the CJK fonts of _TEXT is
# taller than the glyphs (Noto Sans CJK: 1.16 em above the baseline, 0.29 em below; YaHei and
# PingFang a little less): each line is placed below the previous box, not a fixed step on.
_ASCENT, _DESCENT = 1.16, 0.29
_GAP = 2  # between two boxes
_TITLE_SIZE, _SPAN_SIZE, _CODE_SIZE, _NAME_SIZE = 13, 11, 11, 10
_TITLE_Y = math.ceil(_GAP + _ASCENT * _TITLE_SIZE)  # baselines of the title lines
_SPAN_Y = math.ceil(_TITLE_Y + _DESCENT * _TITLE_SIZE + _GAP + _ASCENT * _SPAN_SIZE)
_TOP = max(50, math.ceil(_SPAN_Y + _DESCENT * _SPAN_SIZE + 3 * _GAP))  # room for the title lines
_CODE_DY = _GAP + _ASCENT * _CODE_SIZE  # baselines of a node's code and name below its circle
_NAME_DY = _CODE_DY + _DESCENT * _CODE_SIZE + _GAP + _ASCENT * _NAME_SIZE
_LABELS = math.ceil(_NAME_DY + _DESCENT * _NAME_SIZE + 2 * _GAP)  # below a circle: code, name, gap
# inline styles, so that a page's own stylesheet (e.g. `svg text{...}`) cannot resize the labels
_TEXT = "font-family:'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;"
_HALO = "stroke:#fff;stroke-width:3px;paint-order:stroke;"
MAX_NODES = 14  # larger rings are drawn with their busiest pharmacies only


def _e(value) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def _layout(ring: Ring, members: list[str], radius: dict[str, float]) -> tuple[dict[str, tuple[float, float]], int]:
    """Sources left, sinks right, the others in the middle. Each node takes a slot of its
    circle plus two label lines, stacked down its column; columns are centred vertically."""
    cols: dict[str, list[str]] = {"source": [], "both": [], "sink": []}
    for m in members:
        cols[ring.roles[m]].append(m)
    used = [cols[k] for k in ("source", "both", "sink") if cols[k]]
    if len(used) == 1 and len(used[0]) > 1:  # one kind only: two columns, so arrows run across
        used = [used[0][0::2], used[0][1::2]]
    xs = {1: [_W / 2], 2: [130, _W - 130], 3: [100, _W / 2, _W - 100]}[len(used)]
    slot = {m: 2 * radius[m] + _LABELS for m in members}
    tallest = max(sum(slot[m] for m in col) for col in used)
    height = int(_TOP + tallest + 8)
    pos = {}
    for x, col in zip(xs, used):
        y = _TOP + (tallest - sum(slot[m] for m in col)) / 2
        for m in col:
            pos[m] = (x, y + radius[m])
            y += slot[m]
    return pos, height


def _radius(packs: int, biggest: int) -> float:
    return 8 + 18 * math.sqrt(packs / biggest) if biggest else 8


def _short_name(name: str) -> str:
    """A pharmacy name short enough for a label: its start and its end (the branch)."""
    for word in ("医药连锁有限公司", "连锁有限公司", "医药有限公司", "有限公司", "有限责任公司"):
        name = name.replace(word, "")
    return name if len(name) <= 12 else name[:5] + "…" + name[-6:]


def _ring_svg(ring: Ring, idx: int) -> str:
    members = ring.members[:MAX_NODES]  # busiest first
    shown = set(members)
    edges = [e for e in ring.edges if e.source in shown and e.target in shown]
    biggest = max(ring.node_packs.values()) or 1
    radius = {m: _radius(ring.node_packs[m], biggest) for m in members}
    pos, height = _layout(ring, members, radius)
    heaviest = max((e.packs for e in edges), default=1)
    title = f"{ring.ring_id}：{len(ring.members)} 家药店，{ring.packs} 盒回流，{ring.persons} 人"
    span = (f"{_short_time(ring.first_bought)} — {_short_time(ring.last_resold)}"
            + (f"（图中为经手最多的 {len(members)} 家）" if len(members) < len(ring.members) else ""))
    mid = f"ring-arrow-{idx}"
    out = [f'<svg class="ring" id="ring-{_e(ring.ring_id)}" data-ring="{_e(ring.ring_id)}" '
           f'data-nodes="{len(members)}" data-edges="{len(edges)}" data-packs="{ring.packs}" '
           f'width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" role="img" '
           f'aria-label="{_e(title)}，{_e(span)}" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{_e(title)}，{_e(span)}</title>',
           f'<defs><marker id="{mid}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="12" markerHeight="12" '
           f'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           f'fill="#555"/></marker></defs>',
           f'<rect x="0.5" y="0.5" width="{_W - 1}" height="{height - 1}" fill="#fff" stroke="#ddd"/>',
           f'<text class="ring-title" x="10" y="{_TITLE_Y}" '
           f'style="{_TEXT}font-size:{_TITLE_SIZE}px;font-weight:bold;fill:#222">{_e(title)}</text>',
           f'<text class="ring-span" x="10" y="{_SPAN_Y}" style="{_TEXT}font-size:{_SPAN_SIZE}px;fill:#666">'
           f'{_e(span)}</text>']
    for e in sorted(edges, key=lambda e: e.packs):  # heaviest drawn last, on top
        (x1, y1), (x2, y2) = pos[e.source], pos[e.target]
        dx, dy = x2 - x1, y2 - y1
        dist = math.hypot(dx, dy) or 1.0
        ux, uy = dx / dist, dy / dist
        # bend to the right of the direction, so that A->B and B->A do not overlap
        bend = 0.12 * dist
        cx, cy = (x1 + x2) / 2 - uy * bend, (y1 + y2) / 2 + ux * bend
        sx, sy = _toward(x1, y1, cx, cy, radius[e.source] + 2)
        tx, ty = _toward(x2, y2, cx, cy, radius[e.target] + 4)
        width = 1.5 + 5 * e.packs / heaviest
        dash = "" if e.in_graph else 'stroke-dasharray="4 3" '
        lx, ly = (sx + 2 * cx + tx) / 4, (sy + 2 * cy + ty) / 4
        tip = (f"{e.source} → {e.target}：{e.packs} 盒（{e.persons} 人）"
               f"{'' if e.in_graph else '，单独未达阈值'}")
        out.append(f'<g class="flow" data-source="{_e(e.source)}" data-target="{_e(e.target)}" '
                   f'data-packs="{e.packs}"><title>{_e(tip)}</title>'
                   f'<path d="M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {tx:.1f},{ty:.1f}" fill="none" '
                   f'stroke="{"#888" if e.in_graph else "#bbb"}" stroke-opacity="0.85" stroke-width="{width:.1f}" '
                   f'{dash}marker-end="url(#{mid})"/>'
                   f'<text class="flow-label" x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle" '
                   f'style="{_TEXT}{_HALO}font-size:11px;fill:#333">'
                   f'{e.packs}</text></g>')
    for m in members:
        x, y = pos[m]
        r = radius[m]
        name = ring.names.get(m, "")
        short = _short_name(name)
        tip = f"{m} {name}：{ROLE_ZH[ring.roles[m]]}，{ring.node_packs[m]} 盒"
        out.append(f'<g class="node" data-id="{_e(m)}" data-role="{ring.roles[m]}" data-packs="{ring.node_packs[m]}">'
                   f'<title>{_e(tip)}</title>'
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{ROLE_COLOR[ring.roles[m]]}" '
                   f'fill-opacity="0.85" stroke="#fff" stroke-width="1.5"/>'
                   f'<text class="node-label" x="{x:.1f}" y="{y + r + _CODE_DY:.1f}" text-anchor="middle" '
                   f'style="{_TEXT}{_HALO}font-size:{_CODE_SIZE}px;fill:#222">{_e(m)}</text>'
                   f'<text class="node-name" x="{x:.1f}" y="{y + r + _NAME_DY:.1f}" text-anchor="middle" '
                   f'style="{_TEXT}{_HALO}font-size:{_NAME_SIZE}px;fill:#666">{_e(short)}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _toward(x: float, y: float, cx: float, cy: float, d: float) -> tuple[float, float]:
    dx, dy = cx - x, cy - y
    n = math.hypot(dx, dy) or 1.0
    return x + dx / n * d, y + dy / n * d


def _short_time(t) -> str:
    return "" if t is None else str(t)[:10]


def rings_svg(found: list[Ring], limit: int = SVG_RINGS) -> str:
    """Inline SVG drawings of the ``limit`` largest rings (one panel each) with a legend;
    every text escaped. Pharmacies are circles sized by packs sent plus received (red: packs
    flow out, navy: packs flow in, purple: both), arrows are flows whose width is the packs."""
    if not found:
        return '<p class="rings-none">没有发现回流团伙。</p>'
    swatch = "display:inline-block;width:12px;height:12px;border-radius:6px;margin:0 4px 0 12px;vertical-align:middle"
    legend = "".join(f'<span><i style="{swatch};background:{ROLE_COLOR[k]}"></i>{_e(v)}</span>'
                     for k, v in ROLE_ZH.items())
    panels = "".join(f'<div class="ring-panel" style="display:inline-block;margin:0 12px 12px 0;'
                     f'vertical-align:top">{_ring_svg(r, i)}</div>' for i, r in enumerate(found[:limit]))
    return (f'<div class="rings"><p class="legend">{legend}<span style="margin-left:16px">圆大小 = 经手盒数；箭头粗细 = 回流盒数；'
            f'虚线 = 该药店对单独未达阈值</span></p>{panels}</div>')
