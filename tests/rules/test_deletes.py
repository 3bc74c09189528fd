"""3507 deletes (issue 13): read from NHSA messages and --kind delete CSVs, kept in `deletes`,
and honoured by every rule whichever order the delete and the record arrive in; trace shows the
withdrawn record, summary.csv counts the deletes."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
from click.testing import CliRunner

from tracecode.cli import main
from tracecode.outputs.trace import trace_code
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

FIXTURE = Path(__file__).parents[1] / "inputs" / "fixtures" / "nhsa" / "3507_delete.json"
HEADER = "fixmedins_code,rtal_docno,fixmedins_bchno,trdn_flag,sel_retn_cnt,sel_retn_time,drug_trac_codg\n"
CODE = "81000010000000003001"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def twice_uploaded(tmp_path: Path) -> Path:
    """One sale uploaded twice (batch numbers B301 and B302): a duplicate_upload."""
    return write(tmp_path / "sales.csv", HEADER + f"P001,R1,B301,0,1,2026-03-02 09:00:00,{CODE}\n"
                                                  f"P001,R1,B302,0,1,2026-03-02 09:00:00,{CODE}\n")


def findings(con) -> list[tuple[str, str]]:
    return con.execute("SELECT rule, drug_trac_codg FROM findings WHERE month = 'all' ORDER BY ALL").fetchall()


def test_3507_messages_are_stored_as_deletes_with_rejects_for_broken_ones(tmp_path):
    con = open_store(str(tmp_path / "t.duckdb"))
    [result] = ingest_files(con, [FIXTURE])
    assert (result.rows_read, result.deletes, result.rows_rejected, result.events) == (4, 2, 2, 0)
    assert result.rows_read == result.rows_stored + result.rows_rejected
    assert result.kind == "delete"
    assert con.execute("SELECT fixmedins_code, fixmedins_bchno, inv_data_type, CAST(deleted_at AS VARCHAR) "
                       "FROM deletes ORDER BY src_line").fetchall() == [
        ("P001", "B302", "4", "2026-03-05 10:30:00"),
        ("P001", "B900", "3", "2026-03-05 10:32:00"),  # input sent as a JSON string
    ]
    assert con.execute("SELECT src_line, field FROM rejects ORDER BY src_line").fetchall() == [
        (2, "fixmedins_bchno"), (4, "inv_data_type")]


def test_a_deleted_copy_is_no_duplicate_and_the_delete_may_come_first(tmp_path):
    sales = twice_uploaded(tmp_path)
    deletes = write(tmp_path / "d.csv", "fixmedins_code,fixmedins_bchno,inv_data_type\nP001,B302,4\n")
    flagged = open_store(str(tmp_path / "a.duckdb"))
    ingest_files(flagged, [sales])
    run_checks(flagged)
    assert findings(flagged) == [("duplicate_upload", CODE)]  # the control: without the delete
    for order in ([sales, deletes], [deletes, sales]):
        con = open_store(str(tmp_path / f"{order[0].stem}.duckdb"))
        for path in order:
            ingest_files(con, [path], kind="delete" if path == deletes else "auto")
        run_checks(con)
        assert findings(con) == [], order
        # the withdrawn record stays visible, marked, and no longer counts as a sale
        history = trace_code(con, CODE)
        assert [e["withdrawn"] for e in history.events] == [False, True]
        assert history.sales == 1


def test_the_same_delete_file_twice_adds_nothing(tmp_path):
    con = open_store(str(tmp_path / "t.duckdb"))
    ingest_files(con, [FIXTURE])
    [again] = ingest_files(con, [FIXTURE])
    assert again.status == "skipped"
    assert con.execute("SELECT count(*) FROM deletes").fetchall()[0][0] == 2


def test_one_delete_withdraws_one_upload_of_a_reused_batch_number(tmp_path):
    """Deleted, then uploaded again under the same batch number: the first upload is withdrawn,
    the second counts; two deletes withdraw both."""
    sales = write(tmp_path / "sales.csv", HEADER + f"P001,R1,B1,0,1,2026-03-02 09:00:00,{CODE}\n")
    again = write(tmp_path / "again.csv", HEADER + f"P001,R1,B1,0,1,2026/03/02 09:00:00,{CODE}\n")  # new content
    one = write(tmp_path / "one_delete.csv", "fixmedins_code,fixmedins_bchno\nP001,B1\n")
    con = open_store(str(tmp_path / "t.duckdb"))
    ingest_files(con, [sales])
    ingest_files(con, [one], kind="delete")
    ingest_files(con, [again])
    run_checks(con)
    assert findings(con) == []
    assert [e["withdrawn"] for e in trace_code(con, CODE).events] == [True, False]
    ingest_files(con, [write(tmp_path / "second_delete.csv", "fixmedins_code,fixmedins_bchno,inv_data_type\nP001,B1,4\n")],
                 kind="delete")
    assert [e["withdrawn"] for e in trace_code(con, CODE).events] == [True, True]


def test_a_delete_of_a_sale_does_not_withdraw_a_purchase(tmp_path):
    """inv_data_type 4 (sales) leaves the purchase with the same batch number; 3 withdraws it,
    and the sale then has no purchase behind it."""
    purchase = write(tmp_path / "purchases.csv",
                     "fixmedins_code,fixmedins_bchno,sel_retn_cnt,sel_retn_time,drug_trac_codg\n"
                     f"P001,B7,1,2026-03-01 09:00:00,{CODE}\n")
    sale = write(tmp_path / "sales.csv", HEADER + f"P001,R1,B8,0,1,2026-03-02 09:00:00,{CODE}\n")
    con = open_store(str(tmp_path / "t.duckdb"))
    ingest_files(con, [purchase], kind="purchase")
    ingest_files(con, [sale])
    ingest_files(con, [write(tmp_path / "d4.csv", "fixmedins_code,fixmedins_bchno,inv_data_type\nP001,B7,4\n")],
                 kind="delete")
    run_checks(con)
    assert findings(con) == []
    ingest_files(con, [write(tmp_path / "d3.csv", "fixmedins_code,fixmedins_bchno,inv_data_type\nP001,B7,采购\n")],
                 kind="delete")
    run_checks(con)
    assert findings(con) == [("sale_without_purchase", CODE)]


def test_a_delete_file_needs_the_batch_number_column(tmp_path):
    db = str(tmp_path / "t.duckdb")
    bad = write(tmp_path / "deletes.csv", "fixmedins_code,inv_data_type\nP001,4\n")
    result = CliRunner().invoke(main, ["ingest", "--db", db, str(bad)])
    assert result.exit_code == 1
    assert "定点医药机构批次流水号" in result.output and "Traceback" not in result.output


def test_summary_counts_deletes_and_says_whom_purchases_judge(tmp_path):
    db = str(tmp_path / "t.duckdb")
    sales = twice_uploaded(tmp_path)
    other = write(tmp_path / "sales_p2.csv", HEADER + "P002,R9,C1,0,1,2026-03-03 09:00:00,81000010000000003009\n")
    purchase = write(tmp_path / "purchases.csv",
                     "fixmedins_code,fixmedins_bchno,sel_retn_cnt,sel_retn_time,drug_trac_codg\n"
                     "P002,C0,1,2026-03-01 09:00:00,81000010000000003009\n")
    runner = CliRunner()
    for args in (["ingest", "--db", db, str(sales), str(other)],
                 ["ingest", "--db", db, "--kind", "purchase", str(purchase)],
                 ["ingest", "--db", db, str(FIXTURE)],
                 ["check", "--db", db, "--month", "2026-03"],
                 ["export", "--db", db, "--month", "2026-03", "--out", str(tmp_path / "out")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "summary.csv", encoding="utf-8-sig", newline="") as fh:
        rows = {r["fixmedins_code"].lstrip("\t"): r for r in csv.DictReader(fh)}
    assert (rows["P001"]["deletes"], rows["P001"]["purchases_loaded"]) == ("2", "0")
    assert (rows["P002"]["deletes"], rows["P002"]["purchases_loaded"]) == ("0", "1")
    assert rows["P001"]["duplicate_upload"] == "0"  # B302 was deleted
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM deletes").fetchall()[0][0] == 2


def test_evidence_lists_the_withdrawn_row_marked(tmp_path):
    """A flagged code's withdrawn upload is in suspicious_events.csv, unflagged, withdrawn = 1."""
    db = str(tmp_path / "t.duckdb")
    sales = write(tmp_path / "sales.csv", HEADER + f"P001,R1,B1,0,1,2026-03-02 09:00:00,{CODE}\n"
                                                   f"P001,R1,B2,0,1,2026-03-02 09:00:00,{CODE}\n")
    other = write(tmp_path / "other.csv", HEADER + f"P002,R7,C1,0,1,2026-03-04 09:00:00,{CODE}\n")
    deletes = write(tmp_path / "deletes.csv", "fixmedins_code,fixmedins_bchno\nP001,B2\n")
    runner = CliRunner()
    for args in (["ingest", "--db", db, str(sales), str(other)], ["ingest", "--db", db, str(deletes)],
                 ["check", "--db", db], ["export", "--db", db, "--out", str(tmp_path / "out")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "suspicious_events.csv", encoding="utf-8-sig", newline="") as fh:
        rows = [(r["rule"], r["fixmedins_code"].lstrip("\t"), r["src_line"], r["flagged"], r["withdrawn"])
                for r in csv.DictReader(fh)]
    assert ("cross_pharmacy_reuse", "P001", "3", "0", "1") in rows
    assert {r[0] for r in rows} == {"cross_pharmacy_reuse"}  # B2 withdrawn: no duplicate_upload
    assert [r for r in rows if r[4] == "1"] == [("cross_pharmacy_reuse", "P001", "3", "0", "1")]


def test_a_withdrawn_sale_is_no_vote_for_its_products_drug(tmp_path):
    """product_mismatch's majority: product 8100001 sold 3 times as drug A and twice as B flags
    the B rows; with one A sale deleted (3507) the vote is a tie and nothing is flagged."""
    rows = [("A", "B501"), ("A", "B502"), ("A", "B503"), ("B", "B504"), ("B", "B505")]
    sales = write(tmp_path / "sales.csv", "fixmedins_code,rtal_docno,fixmedins_bchno,med_list_codg,trdn_flag,"
                  "sel_retn_cnt,sel_retn_time,drug_trac_codg\n" + "".join(
                      f"P001,R{i},{bchno},{drug},0,1,2026-03-0{i + 1}09:00:00,8100001000000000310{i}\n"
                      for i, (drug, bchno) in enumerate(rows)))
    deletes = write(tmp_path / "d.csv", "fixmedins_code,fixmedins_bchno,inv_data_type\nP001,B501,4\n")
    con = open_store(str(tmp_path / "t.duckdb"))
    ingest_files(con, [sales])
    run_checks(con)
    assert con.execute("SELECT count(*) FROM events WHERE code_status = 'valid'").fetchall() == [(5,)]
    assert findings(con) == [("product_mismatch", "81000010000000003103"), ("product_mismatch", "81000010000000003104")]
    ingest_files(con, [deletes], kind="delete")
    run_checks(con)
    assert findings(con) == []
