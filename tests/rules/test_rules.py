"""The detection rules: golden cases (tests/rules/cases/**), the runner's contract, the SQL files'
portability, and a forced 64-bit key collision."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracecode.cli import main
from tracecode.errors import InputFileError, RuleError, UnknownMonth
from tracecode.store.ingest import KINDS, ingest_files
from tracecode.inputs.catalog import load_catalog
from tracecode.rules.catalogue import RULE_IDS, list_rules, list_stages
from tracecode.rules.runner import run_checks
from tracecode.sqlfiles import list_sql, read_sql
from tracecode.store.database import open_store

GOLDEN = Path(__file__).parent / "cases"
CASES = sorted(p.parent for p in GOLDEN.rglob("expected.csv"))

ISSUE_RULE_IDS = ("duplicate_upload", "return_without_sale", "same_pharmacy_repeat", "cross_pharmacy_reuse",
                  "recycled_resale", "split_overuse", "invalid_code", "product_mismatch", "uncoded_sale",
                  "sale_without_purchase")
SEVERITY = {"duplicate_upload": "low", "return_without_sale": "medium", "same_pharmacy_repeat": "high",
            "cross_pharmacy_reuse": "high", "recycled_resale": "high", "split_overuse": "medium",
            "invalid_code": "low", "product_mismatch": "high", "uncoded_sale": "medium",
            "sale_without_purchase": "medium"}
LABEL_ZH = {"duplicate_upload": "重复上传", "return_without_sale": "无销售记录的退货",
            "same_pharmacy_repeat": "同店重复销售", "cross_pharmacy_reuse": "跨店重复销售",
            "recycled_resale": "回流药品再销售", "split_overuse": "拆零超量", "invalid_code": "追溯码无效",
            "product_mismatch": "药品与追溯码不符", "uncoded_sale": "未扫码销售",
            "sale_without_purchase": "无采购记录的销售"}


# ------------------------------------------------------------------------- golden cases


def case_files(case: Path) -> list[Path]:
    order = case / "ingest.txt"
    if order.exists():
        return [case / line.strip() for line in order.read_text(encoding="utf-8").splitlines() if line.strip()]
    sales = sorted(case.glob("sales*.csv"))
    returns = sorted(case.glob("returns*.csv"))
    return sales + returns


#: Files of a case ingested after the sales and returns, with the --kind they need (issue 13).
OTHER_KINDS = (("purchases*.csv", "purchase"), ("purchase_returns*.csv", "purchase_return"),
               ("deletes*.csv", "delete"))


def ingest_case(con, case: Path) -> None:
    ingest_files(con, case_files(case), kind="auto")
    for pattern, kind in OTHER_KINDS:
        files = sorted(case.glob(pattern))
        if files and kind not in KINDS:
            pytest.skip(f"ingest --kind {kind} is not built yet (3507 deletes: issue 13)")
        if files:
            ingest_files(con, files, kind=kind)


def read_expected(case: Path) -> list[dict]:
    with open(case / "expected.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        assert row["rule"] in RULE_IDS, f"{case}: unknown rule {row['rule']}"
        row["flagged"] = frozenset(row["flagged"].split())
    return rows


def stored_findings(con, scope: str) -> dict[tuple[str, str], dict]:
    """(rule, code) -> {flagged: {file:line}, detail, evidence: {file:line}} from the stored tables."""
    out: dict[tuple[str, str], dict] = {}
    for rule, code, detail in con.execute(
            "SELECT rule, drug_trac_codg, detail FROM findings WHERE month = ?", [scope]).fetchall():
        out[(rule, code)] = {"detail": detail, "flagged": set(), "evidence": set()}
    for rule, code, flagged, name, line in con.execute(
            "SELECT rule, drug_trac_codg, flagged, source_file, src_line FROM evidence WHERE month = ?",
            [scope]).fetchall():
        entry = out[(rule, code)]
        entry["evidence"].add(f"{name}:{line}")
        if flagged:
            entry["flagged"].add(f"{name}:{line}")
    return out


def line_months(con) -> dict[str, str]:
    return {f"{name}:{line}": month for name, line, month in con.execute(
        "SELECT f.name, e.src_line, e.month FROM events e JOIN files f USING (file_id)").fetchall()}


def expected_for(rows: list[dict], scope: str, months_of: dict[str, str]) -> dict[tuple[str, str], dict]:
    explicit = any(r["month"] != "all" for r in rows)
    if scope == "all" or explicit:
        return {(r["rule"], r["drug_trac_codg"]): r for r in rows if r["month"] == scope}
    out = {}
    for r in rows:
        if r["month"] != "all":
            continue
        cut = frozenset(ref for ref in r["flagged"] if months_of[ref] <= scope)
        if any(months_of[ref] == scope for ref in cut):
            out[(r["rule"], r["drug_trac_codg"])] = dict(r, flagged=cut)
    return out


def compare(case: Path, scope: str, got: dict, want: dict) -> None:
    where = f"{case.relative_to(GOLDEN)} [{scope}]"
    assert sorted(got) == sorted(want), f"{where}: findings differ\n got: {sorted(got)}\nwant: {sorted(want)}"
    for key, row in want.items():
        assert got[key]["flagged"] == set(row["flagged"]), \
            f"{where} {key}: flagged rows {sorted(got[key]['flagged'])}, expected {sorted(row['flagged'])}"
        assert got[key]["flagged"] <= got[key]["evidence"]
        if row.get("detail"):
            assert row["detail"] in got[key]["detail"], f"{where} {key}: detail {got[key]['detail']!r}"


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(GOLDEN)) for c in CASES])
def test_golden_case(case: Path, tmp_path):
    con = open_store(tmp_path / "golden.duckdb")
    try:
        ingest_case(con, case)
        catalog = case / "catalog.csv" if (case / "catalog.csv").exists() else None
        rows = read_expected(case)
        months_of = line_months(con)
        for ref in (ref for r in rows for ref in r["flagged"]):
            assert ref in months_of, f"{case}: expected.csv names {ref}, which is not an ingested line"
        scopes = ["all"] + sorted({m for m in months_of.values()})
        for scope in scopes:
            run_checks(con, month=None if scope == "all" else scope, catalog=catalog)
            compare(case, scope, stored_findings(con, scope), expected_for(rows, scope, months_of))
        # Evidence is every row of the code: no rule-level evidence row is missing a source line.
        assert con.execute("SELECT count(*) FROM evidence WHERE source_file IS NULL OR src_line IS NULL"
                           ).fetchall()[0][0] == 0
    finally:
        con.close()


def test_every_rule_has_a_file_and_a_golden_case():
    files = set(list_sql("rules"))
    assert set(ISSUE_RULE_IDS) <= files, f"missing rule files: {set(ISSUE_RULE_IDS) - files}"
    assert tuple(RULE_IDS) == ISSUE_RULE_IDS
    for rule in files:
        folder = GOLDEN / rule
        assert (folder / "expected.csv").exists(), f"sql/rules/{rule}.sql has no golden case tests/rules/cases/{rule}/"
        cases = [c for c in CASES if c == folder or folder in c.parents]
        expected_rules = {r["rule"] for c in cases for r in read_expected(c)}
        assert rule in expected_rules, f"tests/rules/cases/{rule}/ never expects a {rule} finding"


def test_benign_cases_expect_nothing():
    benign = [c for c in CASES if GOLDEN / "benign" in c.parents]
    assert len(benign) >= 6
    for case in benign:
        assert read_expected(case) == [], f"{case}: a benign case must expect no finding"


def test_rule_metadata_from_headers():
    rules = {r.id: r for r in list_rules()}
    assert list(rules) == list(ISSUE_RULE_IDS)
    for rule_id, info in rules.items():
        assert info.severity == SEVERITY[rule_id]
        assert info.label_zh == LABEL_ZH[rule_id]
        assert info.meaning
    assert rules["invalid_code"].evidence == "flagged"
    assert rules["uncoded_sale"].evidence == "flagged"
    assert rules["sale_without_purchase"].evidence == "flagged"


# --------------------------------------------------------------------- the SQL files

FORBIDDEN = [r"\bepoch\s*\(", r"\bstrftime\s*\(", r"\blist\s*\(", r"\bhash\s*\(", r"\bstring_agg\s*\(",
             r"\bqualify\b", r"\bcount_if\s*\(", r"\bfilter\s*\(", r"::", r"\blist_\w+\s*\(", r"\bepoch_\w*\s*\(",
             r"\{", r"%s", r"\bread_csv", r"\bgroup\s+by\s+all\b", r"\bexclude\s*\("]


def _code_only(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


@pytest.mark.parametrize("path", [f"stages/{s}.sql" for s in list_sql("stages")] +
                         [f"rules/{r}.sql" for r in list_sql("rules")] + ["findings/findings_rows.sql"])
def test_sql_is_one_portable_select(path):
    body = _code_only(read_sql(path)).strip()
    assert re.match(r"^(select|with)\b", body, re.IGNORECASE), f"{path} is not a SELECT"
    assert ";" not in body.rstrip(";"), f"{path} holds more than one statement"
    for pattern in FORBIDDEN:
        assert not re.search(pattern, body, re.IGNORECASE), f"{path}: not portable SQL ({pattern})"
    for word in ("create", "insert", "delete", "update", "drop", "alter"):
        assert not re.search(rf"\b{word}\b", body, re.IGNORECASE), f"{path}: DDL/DML ({word})"


def test_rule_outputs_have_the_contract_columns(db):
    import duckdb

    for f in list_sql("rules"):
        sql = read_sql(f"rules/{f}.sql")
        assert "$" not in re.sub(r"\$(month_lo|month_hi|close_days)\b", "", _code_only(sql))
    persisted = [bool(s.meta.get("persist")) for s in list_stages()]
    assert persisted == sorted(persisted, reverse=True), "the persist stages come first"
    run_checks(db)  # empty database: everything runs, nothing is found
    assert db.execute("SELECT count(*) FROM findings").fetchall()[0][0] == 0
    assert isinstance(db, duckdb.DuckDBPyConnection)


# ------------------------------------------------------------------ runner behaviour

SH = ["fixmedins_code", "fixmedins_name", "med_list_codg", "rtal_docno", "setl_id", "mdtrt_setl_type",
      "trdn_flag", "sel_retn_cnt", "sel_retn_time", "drug_trac_codg"]


def _write(path: Path, rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SH)
        w.writerows(rows)
    return path


@pytest.fixture
def two_months(tmp_path):
    con = open_store(tmp_path / "m.duckdb")
    _write(tmp_path / "sales_01.csv", [
        ["P001", "一", "XA01", "R1", "S1", "1", "0", "1", "2026-01-05 09:00:00", "81000010000000000001"],
        ["P001", "一", "XA01", "R2", "", "2", "0", "1", "2026-01-06 09:00:00", "81000010000000000002"],
        ["P001", "一", "XA01", "R3", "", "2", "0", "1", "2026-01-06 10:00:00", "00000000000000000000"],
    ])
    _write(tmp_path / "sales_03.csv", [
        ["P002", "二", "XA01", "R9", "", "2", "0", "1", "2026-03-02 09:00:00", "81000010000000000001"],
        ["P002", "二", "XA01", "R8", "", "2", "0", "1", "2026-03-02 10:00:00", "81000010000000000003"],
    ])
    ingest_files(con, [tmp_path / "sales_01.csv", tmp_path / "sales_03.csv"])
    yield con
    con.close()


def test_month_is_judged_against_history(two_months):
    con = two_months
    jan = run_checks(con, month="2026-01")
    assert {r.rule: r.codes for r in jan.rules}["cross_pharmacy_reuse"] == 0
    assert {r.rule: r.codes for r in jan.rules}["invalid_code"] == 1
    mar = run_checks(con, month="2026-03")
    by_rule = {r.rule: r for r in mar.rules}
    assert by_rule["cross_pharmacy_reuse"].codes == 1 and by_rule["cross_pharmacy_reuse"].rows == 1
    assert by_rule["recycled_resale"].codes == 1
    assert by_rule["invalid_code"].codes == 0
    ev = con.execute("SELECT source_file, src_line, flagged FROM evidence WHERE month = '2026-03' "
                     "AND rule = 'cross_pharmacy_reuse' ORDER BY sel_retn_time").fetchall()
    assert ev == [("sales_01.csv", 2, False), ("sales_03.csv", 2, True)]
    row = con.execute("SELECT month, severity, label_zh, occurrences, flagged_rows, pharmacies, pharmacy_list, "
                      "first_seen, last_seen, detail FROM findings WHERE rule = 'cross_pharmacy_reuse'").fetchall()
    assert row == [("2026-03", "high", "跨店重复销售", 2, 1, 2, "P001,P002", dt.datetime(2026, 1, 5, 9),
                    dt.datetime(2026, 3, 2, 9), row[0][-1])]
    assert "sold at 2 pharmacies" in row[0][-1] and "recycled" in row[0][-1]


def test_rerun_replaces_the_month(two_months):
    con = two_months
    for _ in range(3):
        run_checks(con, month="2026-03")
    run_checks(con)
    counts = dict(con.execute("SELECT month, count(*) FROM findings GROUP BY month").fetchall())
    assert counts == {"2026-03": 2, "all": 3}
    assert con.execute("SELECT count(*) FROM (SELECT month, rule, drug_trac_codg, event_id, count(*) "
                       "FROM finding_events GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0] == 0
    # Re-running one rule leaves the month's other findings in place.
    run_checks(con, month="2026-03", rules=["recycled_resale"])
    assert dict(con.execute("SELECT rule, count(*) FROM findings WHERE month = '2026-03' GROUP BY rule"
                            ).fetchall()) == {"cross_pharmacy_reuse": 1, "recycled_resale": 1}


def test_close_days_is_a_bound_parameter(two_months):
    con = two_months
    run_checks(con, month="2026-03", close_days=60)
    detail = con.execute("SELECT detail FROM findings WHERE month = '2026-03' AND rule = 'cross_pharmacy_reuse'"
                         ).fetchall()[0][0]
    assert "counterfeit" in detail
    run_checks(con, month="2026-03")
    detail = con.execute("SELECT detail FROM findings WHERE month = '2026-03' AND rule = 'cross_pharmacy_reuse'"
                         ).fetchall()[0][0]
    assert "recycled" in detail


def test_errors(two_months):
    con = two_months
    with pytest.raises(UnknownMonth, match="not a month"):
        run_checks(con, month="2026-13")
    with pytest.raises(UnknownMonth, match="not a month"):
        run_checks(con, month="202603")
    with pytest.raises(UnknownMonth, match="no events in 2026-02"):
        run_checks(con, month="2026-02")
    with pytest.raises(RuleError, match="unknown rule nope"):
        run_checks(con, rules=["nope"])
    with pytest.raises(RuleError):
        run_checks(con, close_days=-1)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0] == 0


def test_temp_tables_are_dropped(two_months):
    run_checks(two_months)
    assert two_months.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0] == 0


def test_catalog_errors(tmp_path):
    header = "med_list_codg,code_prefix,pack_units\n"
    bad = tmp_path / "catalog.csv"
    for content, message in (
        (header + "XA01,8100001,10\nXA02,8100002,ten\n", r"catalog.csv, line 3, field pack_units: 'ten' is not a number"),
        (header + "XA01,81A0001,10\n", r"line 2, field code_prefix"),
        (header + "XA01,810000,10\n", r"line 2, field code_prefix: '810000' has 6 digits"),
        (header + ",8100001,10\n", r"line 2, field med_list_codg: empty"),
        ("drug,prefix\nXA01,8100001\n", r"line 1: the catalogue header"),
        (header + "XA01,8100001,-2\n", r"must be a positive number"),
        ("med_list_codg,coded\nXA01,maybe\n", r"line 2, field coded: 'maybe' must be 1 or 0"),
    ):
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(InputFileError, match=message):
            load_catalog(bad)
    with pytest.raises(InputFileError, match="no such catalogue"):
        load_catalog(tmp_path / "missing.csv")
    good = tmp_path / "good.csv"
    good.write_text("医疗目录编码,追溯码前缀,最小包装数量\nXA01,8100001,10\nXG01,6901234567892,\nXB01,,24\n",
                    encoding="gbk")
    table = load_catalog(good)
    assert table.to_pylist() == [
        {"med_list_codg": "XA01", "code_prefix": "8100001", "pack_units": 10.0, "coded": None},
        {"med_list_codg": "XG01", "code_prefix": "06901234567892", "pack_units": None, "coded": None},
        {"med_list_codg": "XB01", "code_prefix": None, "pack_units": 24.0, "coded": None},
    ]
    coded = tmp_path / "coded.csv"
    coded.write_text("医疗目录编码,是否赋码\nXA01,是\nT0001,0\nXB01,\n", encoding="utf-8")
    assert load_catalog(coded).column("coded").to_pylist() == [1, 0, None]


def test_cli_prints_the_summary_only(two_months, tmp_path):
    db_path = two_months.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchall()[0][0]
    two_months.close()
    result = CliRunner().invoke(main, ["check", "--db", db_path, "--month", "2026-03", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rule", "label", "severity", "codes", "rows", "pharmacies", "amount"]
    assert len(lines) == 2 + len(RULE_IDS)
    assert lines[2 + RULE_IDS.index("cross_pharmacy_reuse")].split()[-4:-1] == ["1", "1", "1"]
    result = CliRunner().invoke(main, ["check", "--db", db_path, "--month", "2026-02"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "Error: the database has no events in 2026-02" in result.stderr
    result = CliRunner().invoke(main, ["check", "--db", db_path, "--rules", "duplicate_upload,bogus"])
    assert result.exit_code == 2 and "Invalid value for '--rules'" in result.stderr  # a usage error
    assert "unknown rule(s) bogus" in result.stderr and "Usage: " in result.stderr


# ---------------------------------------------------------------- forced collisions


def _finding_set(con, scope):
    return sorted(con.execute(
        "SELECT rule, drug_trac_codg, list(event_id ORDER BY event_id) FILTER (WHERE flagged), count(*) "
        "FROM finding_events WHERE month = ? GROUP BY rule, drug_trac_codg", [scope]).fetchall())


def test_forced_key_collision_never_merges_codes(tmp_path):
    """Different codes given one code_key must stay different codes for every rule: each pair
    below would trip a rule if it were taken for one code."""
    con = open_store(tmp_path / "c.duckdb")
    _write(tmp_path / "sales.csv", [
        # A insured at P001, B at P002: merged, cross_pharmacy_reuse and recycled_resale
        ["P001", "一", "XA01", "R1", "S1", "1", "0", "1", "2026-01-05 09:00:00", "81000010000000000001"],
        ["P002", "二", "XA01", "R2", "", "2", "0", "1", "2026-01-06 09:00:00", "81000010000000000002"],
        # C and D split 6 + 6 of a 10-unit pack: merged, split_overuse
        ["P001", "一", "XA01", "R3", "", "2", "1", "6", "2026-01-07 09:00:00", "81000010000000000003"],
        ["P001", "一", "XA01", "R4", "", "2", "1", "6", "2026-01-08 09:00:00", "81000010000000000004"],
        # E, F whole at P003: merged, same_pharmacy_repeat
        ["P003", "三", "XA01", "R5", "", "2", "0", "1", "2026-01-09 09:00:00", "81000010000000000005"],
        ["P003", "三", "XA01", "R6", "", "2", "0", "1", "2026-01-10 09:00:00", "81000010000000000006"],
        # I, J on one receipt: merged, duplicate_upload
        ["P004", "四", "XA01", "R7", "", "2", "0", "2", "2026-01-11 09:00:00",
         "81000010000000000009,81000010000000000010"],
        # K sold once, L sold twice at P005 (a real finding, kept apart from K)
        ["P005", "五", "XA01", "R8", "", "2", "0", "1", "2026-01-12 09:00:00", "81000010000000000011"],
        ["P005", "五", "XA01", "R9", "", "2", "0", "1", "2026-01-12 10:00:00", "81000010000000000012"],
        ["P005", "五", "XA01", "R10", "", "2", "0", "1", "2026-01-13 10:00:00", "81000010000000000012"],
    ])
    with open(tmp_path / "returns.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SH)
        # H returned at P003, never sold: return_without_sale (merged, it would cancel F's sale)
        w.writerow(["P003", "三", "XA01", "T1", "", "2", "0", "1", "2026-01-11 10:00:00", "81000010000000000008"])
    ingest_files(con, [tmp_path / "sales.csv", tmp_path / "returns.csv"])
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("med_list_codg,code_prefix,pack_units\nXA01,8100001,10\n", encoding="utf-8")
    before = {}
    for month in (None, "2026-01"):
        run_checks(con, month=month, catalog=catalog)
        before[month] = _finding_set(con, month or "all")
    assert {r[:2] for r in before[None]} == {("return_without_sale", "81000010000000000008"),
                                              ("same_pharmacy_repeat", "81000010000000000012")}
    con.execute("UPDATE events SET code_key = 42 WHERE code_status = 'valid'")
    con.execute("UPDATE rule_events SET code_key = 42 WHERE valid = 1")  # the rules' derived copy
    assert con.execute("SELECT count(DISTINCT drug_trac_codg) FROM events WHERE code_key = 42").fetchall()[0][0] == 11
    for month in (None, "2026-01"):
        run_checks(con, month=month, catalog=catalog)
        assert _finding_set(con, month or "all") == before[month]
        assert con.execute("SELECT DISTINCT code_key FROM findings WHERE month = ?",
                           [month or "all"]).fetchall() == [(42,)]
    con.close()


def test_product_counts_are_incremental_and_exact(tmp_path):
    """The per-file summary behind product_mismatch counts each file once, across checks and
    ingests, and equals a direct count over events."""
    from tracecode.rules.summaries import update_summaries

    con = open_store(tmp_path / "p.duckdb")
    direct = ("SELECT product_id, med_list_codg, count(*) FROM events WHERE kind = 'sale' AND code_status = 'valid' "
              "AND med_list_codg IS NOT NULL GROUP BY ALL ORDER BY ALL")
    summary = "SELECT product_id, med_list_codg, sum(n) FROM product_counts GROUP BY ALL ORDER BY ALL"
    _write(tmp_path / "sales_1.csv", [
        ["P001", "一", "XA01", "R1", "", "2", "0", "1", "2026-01-05 09:00:00", "81000010000000000001"],
        ["P001", "一", "XA01", "R1", "", "2", "0", "1", "2026-01-05 09:00:00", "81000010000000000001"],
        ["P001", "一", "", "R2", "", "2", "0", "1", "2026-01-05 09:00:00", "81000010000000000002"],
    ])
    _write(tmp_path / "sales_2.csv", [
        ["P002", "二", "XB01", "R3", "", "2", "0", "1", "2026-02-05 09:00:00", "81000010000000000003"],
        ["P002", "二", "XA01", "R4", "", "2", "0", "1", "2026-02-06 09:00:00", "81000020000000000004"],
    ])
    ingest_files(con, [tmp_path / "sales_1.csv"])
    run_checks(con, month="2026-01")
    run_checks(con, month="2026-01", rules=["product_mismatch"])
    assert con.execute(summary).fetchall() == con.execute(direct).fetchall() == [("8100001", "XA01", 2)]
    ingest_files(con, [tmp_path / "sales_2.csv"])
    update_summaries(con)
    run_checks(con)
    assert con.execute(summary).fetchall() == con.execute(direct).fetchall()
    assert con.execute("SELECT count(*) FROM product_counts_files").fetchall()[0][0] == 2
    # A file that leaves the store leaves the summary.
    con.execute("DELETE FROM events WHERE file_id = 2")
    con.execute("DELETE FROM files WHERE file_id = 2")
    run_checks(con)
    assert con.execute(summary).fetchall() == con.execute(direct).fetchall() == [("8100001", "XA01", 2)]
    con.close()


def test_forced_key_collision_across_months(tmp_path, monkeypatch):
    """Every code hashed to one code_key at ingest (tracecode.codes.hashing monkeypatched): a code of
    an earlier month sharing its key with a code of the checked month is another code; the
    history is matched on the key and the guard hash, never on the key alone."""
    import pyarrow as pa

    import tracecode.store.ingest

    _write(tmp_path / "sales_01.csv", [
        ["P001", "一", "XA01", "R1", "S1", "1", "0", "1", "2026-01-05 09:00:00", "81000010000000000001"],
        ["P001", "一", "XA01", "R2", "", "2", "1", "6", "2026-01-06 09:00:00", "81000010000000000002"],
        ["P003", "三", "XA01", "R3", "", "2", "0", "1", "2026-01-07 09:00:00", "81000010000000000003"],
        ["P004", "四", "XA01", "R4", "", "2", "0", "1", "2026-01-08 09:00:00", "00000000000000000000"],
    ])
    _write(tmp_path / "sales_02.csv", [
        ["P002", "二", "XA01", "R5", "", "2", "0", "1", "2026-02-05 09:00:00", "81000010000000000011"],
        ["P001", "一", "XA01", "R6", "", "2", "1", "6", "2026-02-06 09:00:00", "81000010000000000012"],
        ["P003", "三", "XA01", "R3", "", "2", "0", "1", "2026-02-07 09:00:00", "81000010000000000013"],
        ["P004", "四", "XA01", "R7", "", "2", "0", "1", "2026-02-08 09:00:00", "88888888888888888888"],
        ["P005", "五", "XA01", "R8", "", "2", "0", "1", "2026-02-09 09:00:00", "81000010000000000001"],
    ])
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("med_list_codg,code_prefix,pack_units\nXA01,8100001,10\n", encoding="utf-8")
    results = []
    for collide in (False, True):
        if collide:
            monkeypatch.setattr(tracecode.store.ingest, "code_keys", lambda codes: pa.array([42] * len(codes), pa.int64()))
        con = open_store(tmp_path / f"cm{collide}.duckdb")
        ingest_files(con, [tmp_path / "sales_01.csv", tmp_path / "sales_02.csv"])
        assert (con.execute("SELECT count(DISTINCT code_key) FROM events").fetchall()[0][0] == 1) == collide
        run_checks(con, month="2026-02", catalog=catalog)
        run_checks(con, catalog=catalog)
        results.append((_finding_set(con, "2026-02"), _finding_set(con, "all")))
        con.close()
    assert {r[:2] for r in results[0][0]} == {("cross_pharmacy_reuse", "81000010000000000001"),
                                              ("recycled_resale", "81000010000000000001"),
                                              ("invalid_code", "88888888888888888888")}
    assert results[1] == results[0]
