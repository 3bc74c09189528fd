"""The code rules see sales and returns with a code only: purchase rows and sales without a code
(the data model of issue 13) are neither sales, nor returns, nor invalid codes to them."""

from __future__ import annotations

from pathlib import Path

import duckdb
from click.testing import CliRunner

from tracecode.cli import main

SALES = """fixmedins_code,med_list_codg,rtal_docno,trdn_flag,sel_retn_cnt,sel_retn_time,drug_trac_codg
P001,XA01,S1,0,1,2026-01-02 09:00:00,81000010000000000201
P001,XA01,S2,0,1,2026-01-05 09:00:00,81000010000000000201
P001,XA01,S3,0,1,2026-01-06 09:00:00,81000010000000000202
P001,XA01,S4,0,1,2026-01-07 09:00:00,无
"""


def test_purchase_and_uncoded_rows_are_left_to_their_own_rules(tmp_path: Path):
    (tmp_path / "sales.csv").write_text(SALES, encoding="utf-8")
    db = str(tmp_path / "t.duckdb")
    result = CliRunner().invoke(main, ["ingest", "--db", db, "--kind", "sale", str(tmp_path / "sales.csv"), "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(db)
    # as the readers of issue 13 store them: line 2 a purchase of 201, line 5 a sale without a code
    con.execute("UPDATE events SET kind = 'purchase' WHERE src_line = 2")
    con.execute("UPDATE events SET code_status = 'uncoded', drug_trac_codg = '', code_key = 0 WHERE src_line = 5")
    con.execute("UPDATE meta SET value = 'stale' WHERE key = 'rules_summary_version'")
    con.close()
    result = CliRunner().invoke(main, ["check", "--db", db, "--quiet"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(db)
    found = con.execute("SELECT rule, drug_trac_codg FROM findings").fetchall()
    con.close()
    # without the filter: same_pharmacy_repeat on 201 (purchase + sale) and invalid_code on line 5;
    # the sale without a code is uncoded_sale's alone; with a purchase loaded P001 is judged by
    # sale_without_purchase: 201 was bought before its sale, 202 never
    assert sorted(found) == [("sale_without_purchase", "81000010000000000202"), ("uncoded_sale", "uncoded:P001:XA01")]
