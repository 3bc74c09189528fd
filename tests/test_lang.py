"""--lang: every command speaks Chinese by default and English with --lang en.

The sample (data/sample/) goes through every command with the default language; what a user
reads (stdout, stderr, and the detail, reason and severity cells of the exported files) must hold
no English word outside the ids that are the contract (rule ids, column names, file names, codes,
formats). Then --lang en and $TRACECODE_LANG give English.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tracecode.cases.statuses import STATUS_LABELS
from tracecode.cases.workbook import DECISION_COLUMNS
from tracecode.cli import main
from tracecode.messages import (
    ERROR_PHRASES,
    MESSAGES,
    STORED_PHRASES,
    error_text,
    severity_macro,
    stored_text,
    stored_text_macro,
)
from tracecode.rules.catalogue import RULE_IDS
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
CASES = Path(__file__).resolve().parent / "rules" / "cases"

#: English words a Chinese user may read: formats, standards and option names, not sentences.
ALLOWED = {"csv", "xlsx", "json", "jsonl", "parquet", "utf", "gbk", "gb", "GS", "GS1", "GTIN", "AI", "Excel", "JSON",
           "NHSA", "Parquet", "DuckDB", "Spark", "tracecode", "YYYY", "MM", "x", "P", "R", "TH", "XS", "FILE", "DIR",
           "g", "mg", "ml", "mL", "kg", "IU",  # units in drug names
           # command names (in hints such as "tracecode ingest --db FILE")
           "ingest", "status", "check", "export", "scan", "report", "trace", "people", "rings", "synth", "spark",
           "cases", "list", "show", "set", "import", "sync",
           "uncoded",  # an uncoded_sale finding's name: uncoded:<pharmacy>:<drug>
           # case statuses and the workbook's decision columns: ids a user types (cases set --status reviewing)
           *STATUS_LABELS, *DECISION_COLUMNS, "version"}
#: A token that is an id (rule ids and column names have '_', codes and masked ids have digits).
ID_TOKEN = re.compile(r"^[A-Za-z0-9_-]*[_0-9][A-Za-z0-9_-]*$")


def english_words(text: str) -> list[str]:
    """The ASCII words of ``text`` that are neither ids, paths nor allowed words."""
    words = []
    text = re.sub(r"\((\d{2,4})\)", r"\1", text)  # GS1 AIs in parentheses: (01)…(21)SERIAL is one code
    for token in re.split(r"[\s,;:()（）：，；、\"'=<>|\[\]]+", text):
        if not token or token.startswith("-") or "#" in token or "/" in token or "\\" in token or re.search(r"\.(csv|xlsx|jsonl?|parquet|duckdb|html)$", token):
            continue  # a path or a file name
        token = token.replace("…", "")  # a long code cut short in a table cell
        if ID_TOKEN.match(token) or re.fullmatch(r"\d[\d.]*E\+\d+", token):
            continue  # a code or an id as a whole (a GS1 code may end in letters: 0104…2152BQLAIZSW; an
            # Excel-mangled code, as uploaded, is shown as it came: 8.33297871964026E+19)
        for word in re.findall(r"[A-Za-z][A-Za-z0-9_.-]*", token):
            word = word.strip(".-")
            if word and not ID_TOKEN.match(word) and word not in ALLOWED and word not in RULE_IDS:
                words.append(word)
    return words


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def zh_runs(tmp_path_factory):
    """Every command on the sample, with no --lang (the default) and $TRACECODE_LANG unset."""
    tmp = tmp_path_factory.mktemp("lang")
    db = tmp / "city.duckdb"
    env = {"TRACECODE_LANG": None, "TRACECODE_DB": None}
    files = sorted(SAMPLE.glob("sales_2026-0?.csv")) + sorted(SAMPLE.glob("sales_*_zh_*.csv")) + \
        sorted(SAMPLE.glob("returns_2026-0?.csv")) + [SAMPLE / "sales_2026-01.jsonl"]
    runs = {"ingest": run("ingest", "--db", db, *files, env=env)}
    runs["ingest again"] = run("ingest", "--db", db, files[0], env=env)
    runs["status"] = run("status", "--db", db, env=env)
    runs["check"] = run("check", "--db", db, "--month", "2026-02", "--catalog", SAMPLE / "catalog.csv", env=env)
    runs["check all"] = run("check", "--db", db, "--catalog", SAMPLE / "catalog.csv", env=env)
    runs["export"] = run("export", "--db", db, "--month", "2026-02", "--out", tmp / "out", "--per-pharmacy", env=env)
    runs["report"] = run("report", "--db", db, "--month", "2026-02", "--out", tmp / "r.html", env=env)
    runs["people"] = run("people", "--db", db, "--month", "2026-02", "--min-packs", "1", env=env)
    runs["rings"] = run("rings", "--db", db, "--month", "2026-02", "--min-packs", "1", env=env)
    runs["people none"] = run("people", "--db", db, "--min-packs", "999", env=env)
    with open(tmp / "out" / "suspicious_codes.csv", encoding="utf-8-sig") as fh:
        codes = [r["drug_trac_codg"].lstrip("'\t") for r in csv.DictReader(fh)]
    runs["trace"] = run("trace", "--db", db, *codes[:12], "81000000000000000000", env=env)
    runs["scan"] = run("scan", "--out", tmp / "scan", SAMPLE / "sales_2026-01.csv", SAMPLE / "sales_2026-02.csv",
                       "--returns", SAMPLE / "returns_2026-01.csv", "--catalog", SAMPLE / "catalog.csv", env=env)
    runs["cases list"] = run("cases", "list", "--db", db, env=env)
    ids = [c["case_id"] for c in json.loads(run("cases", "list", "--db", db, "--format", "json", env=env).stdout)]
    runs["cases set"] = run("cases", "set", ids[0], "--db", db, "--status", "reviewing", "--by", "张三", env=env)
    runs["cases show"] = run("cases", "show", ids[0], "--db", db, env=env)
    runs["cases export"] = run("cases", "export", "--db", db, "--out", tmp / "cases.xlsx", env=env)
    runs["cases import"] = run("cases", "import", tmp / "cases.xlsx", "--db", db, "--by", "张三", env=env)
    decisions = tmp / "decisions.csv"
    decisions.write_text("case_id,decision,reason,recovered\n" f"{ids[0]},dismissed,,\n" f"{ids[1]},reviewing,,5\n"
                         "TC-XXX-0,confirmed,,-1\n", encoding="utf-8")
    runs["error cases import"] = run("cases", "import", decisions, "--db", db, "--by", "张三", env=env)
    runs["error cases show"] = run("cases", "show", "TC-XXX-0", "--db", db, env=env)
    runs["synth"] = run("synth", "--rows", "300", "--months", "1", "--formats", "csv", "--out", tmp / "synth", env=env)
    runs["error"] = run("export", "--db", tmp / "missing.duckdb", "--out", tmp / "o", env=env)
    runs["error month"] = run("report", "--db", db, "--month", "2030-01", "--out", tmp / "r2.html", env=env)
    return tmp, runs


def test_every_command_runs(zh_runs):
    _, runs = zh_runs
    for name, result in runs.items():
        expected = 1 if name.startswith("error") else 0
        assert result.exit_code == expected, (name, result.output)
        assert "Traceback" not in result.output


def test_no_english_sentence_in_the_default_output(zh_runs):
    _, runs = zh_runs
    left = {name: english_words(r.stdout + "\n" + r.stderr) for name, r in runs.items()}
    assert not {k: v for k, v in left.items() if v}, left
    assert "错误：" in runs["error"].stderr and "提示：" in runs["error"].stderr
    assert "规则名称" in runs["check"].stdout and "严重程度" in runs["check"].stdout
    assert "已检查" in runs["scan"].stdout
    assert "案件编号" in runs["cases list"].stdout and "核查中" in runs["cases show"].stdout
    assert "历史：" in runs["cases show"].stdout and "已设为 reviewing（核查中）" in runs["cases set"].stderr
    problems = runs["error cases import"].stderr
    assert "排除须给出原因之一" in problems and "追回金额只用于 confirmed" in problems and "没有这个案件" in problems
    assert "3 处错误，未做任何更改" in problems and "提示：`tracecode cases list`" in runs["error cases show"].stderr


def test_no_english_in_the_exported_words(zh_runs):
    tmp, _ = zh_runs
    cells = []
    for path in [*(tmp / "out").rglob("*.csv"), *(tmp / "scan").rglob("*.csv")]:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                cells += [row[k] for k in ("detail", "reason", "severity") if k in row]
    assert cells
    left = sorted({w for cell in cells for w in english_words(cell)})
    assert not left, left
    severities = {c for c in cells if c in ("高", "中", "低", "high", "medium", "low")}
    assert severities and severities <= {"高", "中", "低"}


def test_report_details_and_reasons_in_chinese(zh_runs):
    tmp, _ = zh_runs
    page = (tmp / "r.html").read_text(encoding="utf-8")
    assert "疑似" in page and "销售/退货时间无法识别" in page
    assert " — suspected" not in page and "unreadable" not in page


def test_lang_en_gives_english(tmp_path):
    db = tmp_path / "c.duckdb"
    env = {"TRACECODE_LANG": None, "TRACECODE_DB": None}
    # the month's sale CSVs: enough pharmacies for a code sold at two of them
    sales = sorted(SAMPLE.glob("sales_2026-01*.csv"))
    assert run("ingest", "--db", db, *sales, "--lang", "en", env=env).exit_code == 0
    checked = run("check", "--db", db, "--lang", "en", env=env)
    assert checked.stdout.split()[:3] == ["rule", "label", "severity"] and "high" in checked.stdout
    assert "findings stored" in checked.stderr
    out = tmp_path / "out"
    assert run("export", "--db", db, "--out", out, "--lang", "en", env=env).exit_code == 0
    with open(out / "suspicious_codes.csv", encoding="utf-8-sig") as fh:
        details = [r["detail"] for r in csv.DictReader(fh)]
    assert any("sold at" in d for d in details)
    scanned = run("scan", "--out", tmp_path / "scan", SAMPLE / "sales_2026-01.csv", env={"TRACECODE_LANG": "en"})
    assert scanned.stdout.startswith("Checked ")
    listed = run("cases", "list", "--db", db, "--lang", "en", env=env)
    assert listed.stdout.split()[:3] == ["case_id", "rule", "drug_trac_codg"] and "new" in listed.stdout
    assert "case(s)" in listed.stderr
    missing = run("cases", "show", "TC-XXX-0", "--db", db, "--lang", "en", env=env)
    assert missing.stderr.splitlines() == ["Error: no such case: TC-XXX-0", "Hint: `tracecode cases list` lists them"]
    en = run("status", "--db", db, env={"TRACECODE_LANG": "en"})
    assert en.stdout.startswith("Database: ")
    assert run("status", "--db", db, "--lang", "zh", env={"TRACECODE_LANG": "en"}).stdout.startswith("数据库：")


def test_bad_lang_is_a_usage_error(tmp_path):
    result = run("status", "--db", tmp_path / "x.duckdb", "--lang", "fr")
    assert result.exit_code == 2 and "--lang" in result.stderr


# ------------------------------------------------------------------------- the catalogue


def test_both_languages_take_the_same_placeholders():
    field = re.compile(r"\{(\w+)")
    for key, (zh, en) in MESSAGES.items():
        assert set(field.findall(zh)) == set(field.findall(en)), key
        assert zh and en, key


@pytest.mark.parametrize("case", sorted(p.parent for p in CASES.rglob("expected.csv")), ids=lambda p: p.name)
def test_every_golden_detail_renders_in_chinese_alike_in_python_and_sql(case, tmp_path):
    """The rules' golden cases hold every detail shape: each renders with no English word left,
    and the export's SQL macro gives the same text as the Python renderer."""
    from tests.rules.test_rules import case_files

    con = open_store(tmp_path / "c.duckdb")
    try:
        ingest_files(con, case_files(case), kind="auto")
        catalog = case / "catalog.csv"
        run_checks(con, month=None, catalog=catalog if catalog.exists() else None)
        con.execute(stored_text_macro())
        rows = con.execute("SELECT detail, shown_text(detail, 'zh'), shown_text(detail, 'en') FROM findings "
                           "UNION ALL SELECT reason, shown_text(reason, 'zh'), shown_text(reason, 'en') "
                           "FROM rejects").fetchall()
    finally:
        con.close()
    for stored, in_sql, in_en in rows:
        assert in_sql == stored_text(stored, "zh"), stored
        assert in_en == stored
        assert not english_words(in_sql), (stored, in_sql)


def test_stored_phrases_and_severity_macro():
    con = duckdb.connect()
    con.execute(severity_macro())
    assert con.execute("SELECT shown_severity('high', 'zh'), shown_severity('low', 'en'), "
                       "shown_severity('odd', 'zh')").fetchall() == [("高", "low", "odd")]
    for pattern, _ in STORED_PHRASES + ERROR_PHRASES:
        re.compile(pattern)
    assert stored_text("expected 12 fields, found 3") == "应有 12 个字段，实有 3 个"
    assert stored_text(None) is None


def test_error_text_translates_whole_messages_only():
    assert error_text("database x.duckdb does not exist") == "数据库 x.duckdb 不存在"
    assert error_text("database x.duckdb does not exist", "en") == "database x.duckdb does not exist"
    assert error_text("something new happened") == "something new happened"
