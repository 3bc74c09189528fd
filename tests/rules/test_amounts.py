"""Money: findings.amount (price x quantity over the flagged rows), suspicious_codes.csv's amount,
summary.csv's flagged_amount and the amounts `check` prints."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from tracecode.cli import main
from tracecode.outputs.export_write import exact

HEADER = ("fixmedins_code,fixmedins_name,med_list_codg,rtal_docno,setl_id,mdtrt_setl_type,trdn_flag,"
          "sel_retn_cnt,sel_retn_time,drug_trac_codg,price")
PRICED = "81000010000000000411"  # sold by P001, then by P002 (2 packs at 20.00): flagged at P002
UNPRICED = "81000010000000000412"  # sold by P001, then by P003, no price anywhere


def _store(tmp_path: Path) -> str:
    sales = tmp_path / "sales.csv"
    sales.write_text("\n".join([
        HEADER,
        f"P001,药店一,XA01,R1,,2,0,1,2026-01-10 09:00:00,{PRICED},12.50",
        f"P002,药店二,XA01,R2,,2,0,2,2026-01-20 09:00:00,{PRICED},20.00",
        f"P001,药店一,XA01,R3,,2,0,1,2026-01-10 09:00:00,{UNPRICED},",
        f"P003,药店三,XA01,R4,,2,0,1,2026-01-21 09:00:00,{UNPRICED},",
    ]) + "\n", encoding="utf-8")
    db = str(tmp_path / "t.duckdb")
    result = CliRunner().invoke(main, ["ingest", "--db", db, "--kind", "sale", str(sales), "--quiet"])
    assert result.exit_code == 0, result.output
    return db


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [{k: exact(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def test_amount_is_price_times_quantity_of_the_flagged_rows_only(tmp_path):
    db = _store(tmp_path)
    result = CliRunner().invoke(main, ["check", "--db", db, "--rules", "cross_pharmacy_reuse", "--quiet"])
    assert result.exit_code == 0, result.output
    header, _, row = result.stdout.splitlines()[:3]
    assert header.split()[-1] == "amount"
    assert row.split()[-1] == "40.00"  # P002's 2 x 20.00; P001's earlier unflagged sale not counted

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", "--db", db, "--out", str(out)])
    assert result.exit_code == 0, result.output
    codes = {r["drug_trac_codg"]: r for r in _csv(out / "suspicious_codes.csv")}
    assert codes[PRICED]["amount"] == "40.0"
    assert codes[UNPRICED]["amount"] == ""  # no price known: empty, not 0
    summary = {r["fixmedins_code"]: r for r in _csv(out / "summary.csv")}
    assert summary["P002"]["flagged_amount"] == "40.0"
    assert summary["P003"]["flagged_amount"] == ""
    assert summary["P001"]["flagged_amount"] == ""  # nothing of P001 flagged


def test_amount_column_is_added_to_a_store_checked_before_it(tmp_path):
    import duckdb

    db = _store(tmp_path)
    assert CliRunner().invoke(main, ["check", "--db", db, "--quiet"]).exit_code == 0
    con = duckdb.connect(db)
    con.execute("ALTER TABLE findings DROP COLUMN amount")
    con.close()
    result = CliRunner().invoke(main, ["check", "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(db)
    amounts = dict(con.execute("SELECT drug_trac_codg, amount FROM findings WHERE rule = 'cross_pharmacy_reuse'")
                   .fetchall())
    con.close()
    assert amounts == {PRICED: 40.0, UNPRICED: None}
