"""Recycling rings (tracecode.analysis.rings, `tracecode rings`): hand-built rings and look-alikes, the
synthetic sample's planted rings, the CSV files, the SVG drawing (escaped, well-formed, and as
headless Chromium lays it out)."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from tests.analysis.test_people import Sales, code, truth
from tracecode.cli import main
from tracecode.analysis.rings import EDGE_COLUMNS, RING_COLUMNS, rings, rings_svg
from tracecode.outputs.analysis_files import write_analysis_csvs, write_ring_edges_csv, write_rings_csv
from tracecode.outputs.report_rings import rings_section_html
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store

from tests.outputs.test_report import CHROMIUM, assert_draws_without_any_font, chromium, needs_fonts

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")

SOURCES = ("PS1", "PS2", "PS3")
SINK = "PK9"


def ring_scenario() -> Sales:
    s = Sales()
    n = 0
    # the ring: a collector buys 4 insured packs from customers of each of three pharmacies and
    # feeds them to one pharmacy, which sells them again
    for k, src in enumerate(SOURCES):
        for j in range(4):
            n += 1
            s.sale(src, code(n), f"2026-01-{2 + k:02d} 09:{j:02d}:00", psn=f"33010000000010{n:04d}")
            s.sale(SINK, code(n), f"2026-01-{12 + j:02d} 16:{k:02d}:00")
    # unrelated single repeats: one pack each, between pharmacies that meet more than once
    for i, (a, b) in enumerate((("PX1", "PY1"), ("PX2", "PY1"), ("PX2", "PY2"), ("PX3", "PS1"), ("PY2", "PX3"))):
        s.sale(a, code(500 + i), "2026-01-05 10:00:00", psn=f"33010000000020{i:04d}")
        s.sale(b, code(500 + i), "2026-01-20 10:00:00")
    # a pharmacy reselling its own insured packs: not a flow between pharmacies
    for i in range(5):
        s.sale("PZ1", code(600 + i), "2026-01-06 10:00:00", psn=f"33010000000030{i:04d}")
        s.sale("PZ1", code(600 + i), "2026-01-16 10:00:00")
    return s


@pytest.fixture(scope="module")
def ring_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rings")
    con = open_store(folder / "r.duckdb")
    ring_scenario().load(con, folder)
    run_checks(con)
    run_checks(con, month="2026-01")
    con.close()
    return folder / "r.duckdb"


@pytest.fixture
def con(ring_path):
    c = open_store(ring_path)
    yield c
    c.close()


def test_planted_ring_is_one_group_with_the_right_members(con):
    found = rings(con, "2026-01")
    assert len(found) == 1
    r = found[0]
    assert r.ring_id == "R001"
    assert sorted(r.members) == sorted(SOURCES + (SINK,))
    assert r.members[0] == SINK  # 12 packs received
    assert r.roles == {SINK: "sink", **{s: "source" for s in SOURCES}}
    assert r.packs == 12 and r.resales == 12 and r.persons == 12 and r.drugs == 1
    assert [(e.source, e.target, e.packs) for e in r.edges] == [(s, SINK, 4) for s in SOURCES]
    assert r.top_flows() == "; ".join(f"{s} -> {SINK} x4" for s in SOURCES)
    assert str(r.first_bought)[:10] == "2026-01-02" and str(r.last_resold)[:10] == "2026-01-15"
    assert r.value == pytest.approx(12 * 20.5)


def test_unrelated_single_repeats_do_not_form_rings(con):
    members = {m for r in rings(con, None, min_packs=2) for m in r.members}
    assert not members & {"PX1", "PX2", "PX3", "PY1", "PY2", "PZ1"}
    # with min_packs 1 every flow is an edge: the single repeats then form groups of their own,
    # and PX3 -> PS1 joins the ring
    loose = rings(con, None, min_packs=1)
    assert any({"PX1", "PY1"} <= set(r.members) for r in loose)
    assert any(SINK in r.members and "PX3" in r.members for r in loose)


def test_min_packs_above_the_heaviest_flow_finds_nothing(con):
    assert rings(con, None, min_packs=5) == []
    with pytest.raises(ValueError):
        rings(con, None, min_packs=0)


def test_a_person_links_thin_flows(tmp_path):
    """One person buys a pack at each of three pharmacies; all three reappear at a fourth. No
    pharmacy pair reaches 3 packs, the person does: the person node joins them into a ring."""
    c = open_store(tmp_path / "p.duckdb")
    s = Sales()
    psn = "330100000000012345"
    for i, src in enumerate(("PA1", "PA2", "PA3")):
        s.sale(src, code(i), f"2026-01-0{2 + i} 10:00:00", psn=psn)
        s.sale("PB1", code(i), "2026-01-20 10:00:00")
    s.load(c, tmp_path)
    run_checks(c)
    found = rings(c, None, min_packs=3, mask=False)
    assert [sorted(r.members) for r in found] == [["PA1", "PA2", "PA3", "PB1"]]
    assert found[0].linking_persons == [psn] and found[0].top_persons == [(psn, 3)]
    assert not any(e.in_graph for e in found[0].edges)
    assert rings(c, None, min_packs=4) == []
    c.close()


def test_ring_csv_files(con, tmp_path):
    assert write_rings_csv(con, tmp_path / "rings.csv", "2026-01") == 1
    assert write_ring_edges_csv(con, tmp_path / "ring_edges.csv", "2026-01", encoding="gbk", headers="zh") == 3
    rows = list(csv.DictReader((tmp_path / "rings.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert list(rows[0]) == list(RING_COLUMNS)
    assert rows[0]["ring_id"] == "R001" and rows[0]["packs"] == "12" and rows[0]["pharmacies"] == "4"
    assert rows[0]["sinks"] == SINK and rows[0]["top_flows"].startswith("PS1 -> PK9 x4")
    edges = list(csv.reader((tmp_path / "ring_edges.csv").read_text(encoding="gbk").splitlines()))
    assert edges[0][0] == "团伙编号" and len(edges[0]) == len(EDGE_COLUMNS)
    assert sum(int(e[5]) for e in edges[1:]) == 12
    (tmp_path / "all").mkdir()
    counts, warnings = write_analysis_csvs(con, tmp_path / "all", None)
    assert counts == {"persons.csv": 0, "rings.csv": 1, "ring_edges.csv": 3} and warnings == []


def test_masked_persons_in_rings(con):
    r = rings(con, "2026-01")[0]
    assert all("***" in p for p, _ in r.top_persons)
    r = rings(con, "2026-01", mask=False)[0]
    assert all(p.startswith("33010000000010") for p, _ in r.top_persons)


def test_cli_rings(ring_path):
    result = CliRunner().invoke(main, ["rings", "--db", str(ring_path), "--month", "2026-01"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("R001  4 pharmacies  12 packs  12 persons")
    assert f"{SINK} (sink)" in result.stdout and "PS1 -> PK9 x4" in result.stdout
    result = CliRunner().invoke(main, ["rings", "--db", str(ring_path), "--min-packs", "9"])
    assert result.exit_code == 0 and "no ring" in result.stdout


# ------------------------------------------------------------------- the synthetic sample


def test_sample_planted_rings_are_found(sample_db):
    con, months = sample_db
    planted: dict[str, dict[str, str]] = {}
    for row in truth("truth_rings.csv"):
        planted.setdefault(row["ring_id"], {})[row["pharmacy"]] = row["role"]
    assert planted
    found = [r for m in months for r in rings(con, m)]
    for ring_id, roles in planted.items():
        match = [r for r in found if set(r.members) == set(roles)]
        assert len(match) == 1, f"planted ring {ring_id} ({sorted(roles)}) not found as one group"
        assert match[0].roles == roles
        assert match[0].packs == 12


# ------------------------------------------------------------------- the drawing


def hostile_ring(con):
    found = rings(con, "2026-01")
    r = found[0]
    r.names = {m: f'<script>alert("{m}")</script> & 药店\'s' for m in r.members}
    return found


def test_svg_is_escaped_and_well_formed(con):
    found = hostile_ring(con)
    svg = rings_svg(found)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    drawings = root.findall(f".//{ns}svg")
    assert len(drawings) == 1 and drawings[0].get("data-ring") == "R001"
    nodes = drawings[0].findall(f".//{ns}g[@class='node']")
    assert sorted(n.get("data-id") for n in nodes) == sorted(SOURCES + (SINK,))
    flows = drawings[0].findall(f".//{ns}g[@class='flow']")
    assert sorted(f.get("data-packs") for f in flows) == ["4", "4", "4"]
    assert rings_svg([]).startswith("<p")
    section = rings_section_html(found)
    assert section.startswith('<section id="rings">') and "<script" not in section


MEASURE = """
<script>
(function(){
  var out=[];
  document.querySelectorAll('svg.ring').forEach(function(svg){
    var box=svg.getBoundingClientRect(), bad=0, labels=[], overlaps=0, short=0;
    function outside(r){ return r.left<box.left-1||r.right>box.right+1||r.top<box.top-1||r.bottom>box.bottom+1; }
    svg.querySelectorAll('text.ring-title, text.ring-span').forEach(function(t){
      var r=t.getBoundingClientRect(); if(outside(r)) bad++; labels.push(r);});
    svg.querySelectorAll('g.node').forEach(function(g){
      var b=g.querySelector('circle').getBoundingClientRect();
      if(b.width<10||outside(b)) bad++;
      labels.push(b);
      g.querySelectorAll('text').forEach(function(t){
        var r=t.getBoundingClientRect();
        if(outside(r)) bad++;
        labels.push(r);});
    });
    for(var i=0;i<labels.length;i++) for(var j=i+1;j<labels.length;j++){
      var a=labels[i],c=labels[j];
      if(a.left<c.right&&c.left<a.right&&a.top<c.bottom&&c.top<a.bottom) overlaps++;}
    svg.querySelectorAll('g.flow path').forEach(function(p){ if(p.getTotalLength()<20) short++; });
    out.push([svg.getAttribute('data-ring'),Math.round(box.width),Math.round(box.height),bad,overlaps,short,
              svg.querySelectorAll('g.node').length,svg.querySelectorAll('g.flow').length].join(':'));
  });
  document.body.setAttribute('data-measured',out.join(';'));
})();
</script>
"""


@needs_chromium
def test_chromium_lays_out_the_rings(sample_db, tmp_path):
    """Headless Chromium draws every ring of the sample inside its panel: title, nodes and
    labels in the box, no label or circle over another, every arrow long enough to see."""
    con, months = sample_db
    found = [r for m in months for r in rings(con, m, min_packs=1)]  # many rings, some large: the hardest layout
    page = tmp_path / "rings.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                    + rings_section_html(found, limit=len(found)) + MEASURE + "</body></html>", encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    measured = re.search(r'data-measured="([^"]*)"', dom.stdout).group(1).split(";")
    assert len(measured) == len(found)
    for item in measured:
        ring_id, width, height, bad, overlaps, short, nodes, flows = item.split(":")
        assert int(width) >= 500 and int(height) >= 100, item
        assert (int(bad), int(overlaps), int(short)) == (0, 0, 0), item
        assert int(nodes) >= 2 and int(flows) >= 1, item


# ------------------------------------------------------------------- the monthly report


def test_report_has_the_rings_section(ring_path, tmp_path):
    from tracecode.outputs.report import write_report

    c = open_store(ring_path, read_only=True)
    try:
        write_report(c, "2026-01", tmp_path / "r.html")
    finally:
        c.close()
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    section = page.split('<section id="rings">')[1].split("</section>")[0]
    assert 'data-ring="R001"' in section and section.count('class="node"') == 4
    assert "33010000000010" not in page  # masked


@needs_chromium
def test_chromium_renders_the_rings_in_the_report(ring_path, tmp_path):
    """The report page as written, plus a measuring script: the ring is drawn inside its panel
    with the report's own stylesheet applied."""
    from tracecode.outputs.report import write_report

    c = open_store(ring_path, read_only=True)
    try:
        write_report(c, "2026-01", tmp_path / "r.html")
    finally:
        c.close()
    page = tmp_path / "r.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="1"' in dom.stdout  # the report's own script ran too
    measured = re.search(r'data-measured="([^"]*)"', dom.stdout).group(1)
    ring_id, width, height, bad, overlaps, short, nodes, flows = measured.split(":")
    assert (ring_id, nodes, flows) == ("R001", "4", "3")
    assert (bad, overlaps, short) == ("0", "0", "0") and int(width) >= 500


@needs_chromium
@needs_fonts
def test_report_draws_the_rings_with_no_font_installed(ring_path, tmp_path):
    """The rings drawing names its fonts in inline styles; in the report it is drawn by the
    page's embedded font all the same: the page down to the end of the drawing (2,400 px) looks the
    same on a machine with no font at all as with Noto Sans CJK installed."""
    from tracecode.outputs.report import write_report

    c = open_store(ring_path, read_only=True)
    try:
        write_report(c, "2026-01", tmp_path / "r.html")
    finally:
        c.close()
    assert "Microsoft YaHei" in (tmp_path / "r.html").read_text(encoding="utf-8").split('<section id="rings">')[1]
    assert_draws_without_any_font(tmp_path, tmp_path / "r.html", height=2400)
