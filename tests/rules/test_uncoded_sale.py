"""uncoded_sale: sales without a code of drugs that must carry one (X western, Z patent medicine),
per pharmacy and drug; decoction pieces (T) and sales with a code are not flagged. The sales
without a code are stored as the readers of issue 13 store them (code_status 'uncoded',
drug_trac_codg '', code_key 0), here by rewriting ingested rows."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
from click.testing import CliRunner

from tracecode.cli import main
from tracecode.outputs.export_write import exact

SALES = """fixmedins_code,med_list_codg,rtal_docno,trdn_flag,sel_retn_cnt,sel_retn_time,drug_trac_codg,price
P001,XA01,S1,0,1,2026-01-02 09:00:00,81000010000000000301,10
P001,XA01,S2,0,1,2026-01-03 09:00:00,UNCODED-1,10
P001,XA01,S3,0,2,2026-01-04 09:00:00,UNCODED-2,10
P001,ZB02,S4,0,1,2026-01-04 09:00:00,UNCODED-3,
P002,XA01,S5,0,1,2026-01-05 09:00:00,UNCODED-4,8
P001,T0001,S6,0,1,2026-01-05 09:00:00,UNCODED-5,3
P001,,S7,0,1,2026-01-05 09:00:00,UNCODED-6,3
P001,XA01,S8,0,1,2026-02-05 09:00:00,UNCODED-7,10
"""


def _store(tmp_path: Path) -> str:
    (tmp_path / "sales.csv").write_text(SALES, encoding="utf-8")
    db = str(tmp_path / "t.duckdb")
    result = CliRunner().invoke(main, ["ingest", "--db", db, "--kind", "sale", str(tmp_path / "sales.csv"), "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(db)
    changed = con.execute("UPDATE events SET code_status = 'uncoded', drug_trac_codg = '', code_key = 0, "
                          "code_scheme = NULL, invalid_reason = NULL, product_id = NULL "
                          "WHERE code_raw LIKE 'UNCODED-%'").fetchall()[0][0]
    assert changed == 7
    con.execute("UPDATE meta SET value = 'stale' WHERE key = 'rules_summary_version'")
    con.close()
    return db


def _findings(db: str, scope: str) -> dict[tuple[str, str], set[int]]:
    con = duckdb.connect(db)
    rows = con.execute("SELECT e.fixmedins_code, e.med_list_codg, list(e.src_line ORDER BY e.src_line), "
                       "any_value(f.rule), any_value(f.amount) FROM findings f "
                       "JOIN finding_events fe USING (month, rule, code_key, drug_trac_codg) "
                       "JOIN events e ON e.event_id = fe.event_id "
                       "WHERE f.month = ? AND fe.flagged GROUP BY ALL", [scope]).fetchall()
    others = con.execute("SELECT DISTINCT rule FROM findings WHERE month = ?", [scope]).fetchall()
    con.close()
    assert others in ([("uncoded_sale",)], [])  # no invalid_code, no repeat of code_key 0
    return {(ph, med): (lines, rule, amount) for ph, med, lines, rule, amount in rows}


def test_uncoded_sales_per_pharmacy_and_drug(tmp_path):
    db = _store(tmp_path)
    result = CliRunner().invoke(main, ["check", "--db", db, "--month", "2026-01", "--quiet"])
    assert result.exit_code == 0, result.output
    found = _findings(db, "2026-01")
    assert found == {
        ("P001", "XA01"): ([3, 4], "uncoded_sale", 30.0),  # 1 x 10 + 2 x 10; line 2 has a code
        ("P001", "ZB02"): ([5], "uncoded_sale", None),  # patent medicine, no price
        ("P002", "XA01"): ([6], "uncoded_sale", 8.0),
    }  # not T0001 (decoction piece), not the sale without a drug code, not February's sale
    result = CliRunner().invoke(main, ["check", "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output
    assert _findings(db, "all")[("P001", "XA01")][0] == [3, 4, 9]


def test_uncoded_sales_csv(tmp_path):
    db = _store(tmp_path)
    assert CliRunner().invoke(main, ["check", "--db", db, "--quiet"]).exit_code == 0
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", "--db", db, "--out", str(out), "--per-pharmacy"])
    assert result.exit_code == 0, result.output
    with open(out / "uncoded_sales.csv", encoding="utf-8-sig", newline="") as fh:
        rows = [{k: exact(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    assert [(r["fixmedins_code"], r["med_list_codg"], r["sales"], r["amount"]) for r in rows] == [
        ("P001", "XA01", "3", "40.0"), ("P001", "ZB02", "1", ""), ("P002", "XA01", "1", "8.0")]
    with open(out / "summary.csv", encoding="utf-8-sig", newline="") as fh:
        summary = {exact(r["fixmedins_code"]): r for r in csv.DictReader(fh)}
    assert summary["P001"]["uncoded_sale"] == "2" and summary["P002"]["uncoded_sale"] == "1"
    with open(out / "pharmacies" / "P002" / "uncoded_sales.csv", encoding="utf-8-sig", newline="") as fh:
        assert [exact(r["fixmedins_code"]) for r in csv.DictReader(fh)] == ["P002"]
