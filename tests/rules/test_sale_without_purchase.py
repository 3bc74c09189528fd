"""sale_without_purchase on the golden case's files, with the purchases stored as the issue-13
readers store them (events.kind 'purchase' / 'purchase_return'), here by rewriting rows ingested
as sales: the rule runs before those readers are merged."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from tracecode.cli import main

CASE = Path(__file__).parent / "cases" / "sale_without_purchase"


def test_sale_without_purchase(tmp_path):
    db = str(tmp_path / "t.duckdb")
    files = [str(CASE / n) for n in ("sales.csv", "purchases.csv", "purchase_returns.csv")]
    result = CliRunner().invoke(main, ["ingest", "--db", db, "--kind", "sale", *files, "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(db)
    for name, kind in (("purchases.csv", "purchase"), ("purchase_returns.csv", "purchase_return")):
        con.execute("UPDATE events SET kind = ? WHERE file_id = (SELECT file_id FROM files WHERE name = ?)",
                    [kind, name])
    con.execute("UPDATE meta SET value = 'stale' WHERE key = 'rules_summary_version'")
    con.close()
    result = CliRunner().invoke(main, ["check", "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(db)
    found = con.execute(
        "SELECT f.rule, f.drug_trac_codg, f.detail, f.amount, list(e.src_line) FROM findings f "
        "JOIN finding_events fe USING (month, rule, code_key, drug_trac_codg) JOIN events e USING (event_id) "
        "WHERE fe.flagged GROUP BY ALL ORDER BY ALL").fetchall()
    con.close()
    assert [(r[0], r[1][-3:], r[3], r[4]) for r in found] == [
        ("sale_without_purchase", "602", 12.0, [3]),
        ("sale_without_purchase", "604", 12.0, [4]),
    ]  # not 601 (bought, then sold), not 603 (bought, returned, never sold), not P003 (no purchases)
    assert found[0][2].endswith("bought by P002")
    assert found[1][2].endswith("no pharmacy bought it")
    # no other rule takes a purchase for a sale (601 bought then sold is no repeat)
