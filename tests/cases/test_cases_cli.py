"""Cases through the CLI: a month checked, decided, imported, re-checked, the next month checked."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import NHSA_HEADER, sale, write_csv
from tracecode.cli import main

HEADER = NHSA_HEADER + ["price"]
A = "81000010000000000401"  # repeated in January only
B = "81000010000000000402"  # repeated in January and again in February
C = "81000010000000000403"  # repeated in January and in February, dismissed --until far ahead
D = "81000010000000000404"  # sold once a month: never a case


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def cases_json(db: Path) -> dict[str, dict]:
    listed = json.loads(run("cases", "list", "--db", str(db), "--format", "json", "--rule", "same_pharmacy_repeat"))
    return {c["drug_trac_codg"]: c for c in listed}


def history(db: Path, case_id: str) -> list[dict]:
    return json.loads(run("cases", "show", case_id, "--db", str(db), "--json"))["history"]


def month_files(tmp: Path) -> tuple[Path, Path]:
    jan = [sale(code=A, receipt="J1", time="2026-01-05 10:00:00") + ["10.5"],
           sale(code=A, receipt="J2", time="2026-01-07 10:00:00") + ["10.5"],
           sale(code=B, receipt="J3", time="2026-01-08 10:00:00") + ["20"],
           sale(code=B, receipt="J4", time="2026-01-09 10:00:00") + ["20"],
           sale(code=C, receipt="J5", time="2026-01-10 10:00:00") + [""],
           sale(code=C, receipt="J6", time="2026-01-11 10:00:00") + [""],
           sale(code=D, receipt="J7", time="2026-01-12 10:00:00") + ["5"]]
    feb = [sale(code=B, receipt="F1", time="2026-02-03 10:00:00") + ["20"],
           sale(code=C, receipt="F2", time="2026-02-04 10:00:00") + [""],
           sale(code="81000010000000000405", receipt="F3", time="2026-02-05 10:00:00") + ["5"]]
    return write_csv(tmp / "jan.csv", jan, HEADER), write_csv(tmp / "feb.csv", feb, HEADER)


def test_a_bureau_month_cycle(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, feb = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    cases = cases_json(db)
    assert set(cases) == {A, B, C}  # D, sold once, is no case
    a, b, c = cases[A], cases[B], cases[C]
    assert all(x["status"] == "new" and x["opened_month"] == "2026-01" for x in (a, b, c))
    assert a["case_id"].startswith("TC-SPR-") and a["amount"] == 10.5  # the second sale is flagged
    assert c["amount"] is None  # no price

    run("cases", "set", a["case_id"], "--db", str(db), "--status", "dismissed", "--reason", "扫码错误", "--by", "张三")
    run("cases", "set", c["case_id"], "--db", str(db), "--status", "dismissed", "--reason", "其他：已核实",
        "--until", "2099-01-01", "--by", "张三")
    # the workbook: B confirmed with a recovered amount, filled in and imported
    book = tmp_path / "cases.xlsx"
    run("cases", "export", "--db", str(db), "--out", str(book), "--status", "new")
    from openpyxl import load_workbook

    wb = load_workbook(book)
    ws = wb["cases"]
    head = [c.value for c in ws[1]]
    assert {"decision", "reason", "recovered", "note", "version"} <= set(head)
    assert ws.data_validations.dataValidation, "drop-downs"
    rows = {r[head.index("case_id")].value: r for r in ws.iter_rows(min_row=2)}
    assert a["case_id"] not in rows and c["case_id"] not in rows  # dismissed: not in a --status new workbook
    row = rows[b["case_id"]]
    assert row[head.index("drug_trac_codg")].value == B  # as text, every digit
    row[head.index("decision")].value = "confirmed"
    row[head.index("recovered")].value = 40
    wb.save(book)
    run("cases", "import", str(book), "--db", str(db), "--by", "李四")
    assert cases_json(db)[B]["status"] == "confirmed" and cases_json(db)[B]["recovered"] == 40

    # re-checking the month keeps every decision and adds nothing
    before = cases_json(db)
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    run("check", "--db", str(db), "-q")
    assert cases_json(db) == before

    # February: A has no new rows (stays dismissed), B has (reopens), C has but is suppressed
    run("ingest", "--db", str(db), "-q", str(feb))
    run("check", "--db", str(db), "--month", "2026-02", "-q")
    after = cases_json(db)
    assert set(after) == {A, B, C}
    assert after[A]["status"] == "dismissed" and after[A] == before[A]
    assert after[B]["status"] == "reviewing" and after[B]["flagged_rows"] == 2 and after[B]["recovered"] == 40
    assert after[B]["amount"] == 40.0 and after[B]["opened_month"] == "2026-01"
    assert after[C]["status"] == "dismissed" and after[C]["flagged_rows"] == 2
    steps = [(h["by"], h["from_status"], h["to_status"]) for h in history(db, b["case_id"])]
    assert steps == [("check", None, "new"), ("李四", "new", "confirmed"), ("check", "confirmed", "reviewing")]
    assert "2026-02" in history(db, b["case_id"])[-1]["detail"]
    assert [h["to_status"] for h in history(db, a["case_id"])] == ["new", "dismissed"]
    assert [h["to_status"] for h in history(db, c["case_id"])] == ["new", "dismissed", "dismissed"]


def test_a_bad_import_changes_nothing_and_lists_every_row(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    cases = cases_json(db)
    sheet = tmp_path / "decisions.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case_id", "version", "decision", "reason", "recovered", "note"])
        w.writerow([cases[A]["case_id"], cases[A]["version"], "confirmed", "", "12", ""])  # fine alone
        w.writerow(["TC-SPR-0000000000", "1", "confirmed", "", "", ""])  # unknown case
        w.writerow([cases[B]["case_id"], cases[B]["version"], "confirmed", "", "很多", ""])  # not a number
        w.writerow([cases[C]["case_id"], cases[C]["version"], "closed", "", "", ""])  # no such status
    result = CliRunner().invoke(main, ["cases", "import", str(sheet), "--db", str(db), "--by", "王五"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: decisions.csv line 3: case_id: no such case: TC-SPR-0000000000",
        "Error: decisions.csv line 4: recovered: the amount recovered is not a number: '很多'",
        "Error: decisions.csv line 5: status: unknown status 'closed'; choose from reviewing, appealed, confirmed, "
        "dismissed",
        "3 error(s), nothing changed"]
    zh = CliRunner().invoke(main, ["cases", "import", str(sheet), "--db", str(db), "--by", "王五", "--lang", "zh"])
    assert zh.exit_code == 1
    assert zh.stderr.splitlines() == [
        "错误：decisions.csv 第 3 行：case_id：没有这个案件：TC-SPR-0000000000",
        "错误：decisions.csv 第 4 行：recovered：追回金额不是数字：'很多'",
        "错误：decisions.csv 第 5 行：status：未知状态 'closed'，可选：reviewing, appealed, confirmed, dismissed",
        "3 处错误，未做任何更改"]
    assert cases_json(db) == cases  # nothing applied, A included


def test_an_import_of_a_case_changed_since_export_says_what_changed(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    a = cases_json(db)[A]
    book = tmp_path / "cases.xlsx"
    run("cases", "export", "--db", str(db), "--out", str(book))
    run("cases", "set", a["case_id"], "--db", str(db), "--status", "reviewing", "--by", "张三")
    from openpyxl import load_workbook

    wb = load_workbook(book)
    ws = wb["cases"]
    head = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[head.index("case_id")].value == a["case_id"]:
            row[head.index("decision")].value = "dismissed"
            row[head.index("reason")].value = "拆零"
    wb.save(book)
    result = CliRunner().invoke(main, ["cases", "import", str(book), "--db", str(db), "--by", "李四"])
    assert result.exit_code == 1
    assert "version" in result.output and "张三" in result.output and "reviewing" in result.output
    assert cases_json(db)[A]["status"] == "reviewing"


def test_set_refuses_what_is_not_allowed(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    a = cases_json(db)[A]["case_id"]
    out = CliRunner().invoke(main, ["cases", "set", a, "--db", str(db), "--status", "dismissed", "--by", "x"]).output
    assert "reason" in out  # a dismissal needs a reason from the list
    out = CliRunner().invoke(main, ["cases", "set", a, "--db", str(db), "--status", "reviewing", "--recovered", "5",
                                    "--by", "x"]).output
    assert "recovered" in out
    assert cases_json(db)[A]["status"] == "new"
    assert [h["to_status"] for h in history(db, a)] == ["new"]


def test_two_sets_at_once_lose_no_update(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    cases = cases_json(db)
    procs = [subprocess.Popen([sys.executable, "-m", "tracecode.cli", "cases", "set", cases[code]["case_id"],
                               "--db", str(db), "--status", "reviewing", "--by", who],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for code, who in ((A, "甲"), (B, "乙"))]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    after = cases_json(db)
    for (rc, err), code in zip(results, (A, B)):
        if rc == 0:
            assert after[code]["status"] == "reviewing"
            assert len(history(db, after[code]["case_id"])) == 2
        else:
            assert rc == 1 and ("in use" in err or "正被另一个进程使用" in err), err
            assert after[code]["status"] == "new"
    assert any(rc == 0 for rc, _ in results)


def test_export_writes_the_case_figures(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, feb = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    cases = cases_json(db)
    run("cases", "set", cases[A]["case_id"], "--db", str(db), "--status", "dismissed", "--reason", "拆零", "--by", "x")
    run("cases", "set", cases[B]["case_id"], "--db", str(db), "--status", "confirmed", "--recovered", "40", "--by", "x")
    run("ingest", "--db", str(db), "-q", str(feb))
    run("check", "--db", str(db), "--month", "2026-02", "-q")
    run("export", "--db", str(db), "--month", "2026-02", "--out", str(tmp_path / "out"), "-q")
    with open(tmp_path / "out" / "cases_summary.csv", encoding="utf-8-sig") as fh:
        rows = {(r["rule"], r["fixmedins_code"]): r for r in csv.DictReader(fh)}
    spr = rows[("same_pharmacy_repeat", "*")]
    assert {r["month"] for r in rows.values()} == {"2026-02"}
    # February: B (reopened) and C have rows; neither is new; A, dismissed without rows, is absent
    assert (spr["new_cases"], spr["reopened"], spr["open_cases"], spr["closed_cases"]) == ("0", "1", "2", "0")
    assert float(spr["amount_at_stake"]) == 20.0
    assert spr["rule_precision"] == "0.0" and spr["rule_decided_cases"] == "1"  # B reopened: only A decided
    assert ("same_pharmacy_repeat", "P001") in rows


def test_report_has_the_cases_section(tmp_path):
    db = tmp_path / "city.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    a = cases_json(db)[A]["case_id"]
    run("cases", "set", a, "--db", str(db), "--status", "confirmed", "--recovered", "10.5", "--by", "x")
    out = tmp_path / "r.html"
    run("report", "--db", str(db), "--month", "2026-01", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert "<h2>Cases</h2>" in text and "100% (1)" in text  # the page follows --lang (en in the CLI tests)


def test_sync_takes_a_spark_findings_folder_into_cases(tmp_path):
    # a findings folder as `check --engine spark --out` writes it (the same files as export)
    src = tmp_path / "src.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(src), "-q", str(jan))
    run("check", "--db", str(src), "--month", "2026-01", "-q")
    run("export", "--db", str(src), "--month", "2026-01", "--out", str(tmp_path / "jan"), "-q")
    province = tmp_path / "province.duckdb"
    run("cases", "sync", "--db", str(province), "--findings", str(tmp_path / "jan"), "--month", "2026-01")
    listed = cases_json(province)
    assert {k: v["case_id"] for k, v in listed.items()} == {k: v["case_id"] for k, v in cases_json(src).items()}
    run("cases", "set", listed[A]["case_id"], "--db", str(province), "--status", "dismissed", "--reason", "拆零",
        "--by", "x")
    run("cases", "sync", "--db", str(province), "--findings", str(tmp_path / "jan"), "--month", "2026-01")
    assert cases_json(province)[A]["status"] == "dismissed"  # the same folder again adds nothing
    out = CliRunner().invoke(main, ["cases", "sync", "--db", str(province), "--findings", str(tmp_path)])
    assert out.exit_code == 1 and "suspicious_events.csv" in out.output


@pytest.mark.slow
def test_cases_bench_runs_at_a_small_size(tmp_path):
    """The bench script runs end to end (no figure is judged: the test machine is shared)."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "cases_bench.py"
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(bench), "--rows", "3000", "--months", "2", "--cases", "500",
                           "--repeat", "1", "--work", str(tmp_path / "w"), "--json", str(out)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ratio"] > 0 and len(result["with"]) == 1


@pytest.mark.parametrize("lang, words", [("zh", "状态须为 reviewing/appealed/confirmed/dismissed 之一"),
                                         ("en", "the status is one of reviewing/appealed/confirmed/dismissed")])
def test_the_workbook_pop_ups_follow_lang(tmp_path, lang, words):
    from openpyxl import load_workbook

    db = tmp_path / "city.duckdb"
    jan, _ = month_files(tmp_path)
    run("ingest", "--db", str(db), "-q", str(jan))
    run("check", "--db", str(db), "--month", "2026-01", "-q")
    book = tmp_path / "cases.xlsx"
    run("cases", "export", "--db", str(db), "--out", str(book), "--lang", lang)
    checks = {dv.errorTitle: dv.error for dv in load_workbook(book)["cases"].data_validations.dataValidation}
    assert checks["decision"] == words
