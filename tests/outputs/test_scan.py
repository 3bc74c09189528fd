"""scan: the one-shot self-check — plain-words summary, exit codes, temporary database, errors,
and a newcomer's run over the sample data in every input format."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tracecode.cli import main
from tracecode.errors import ExitCode
from tracecode.outputs.export_write import exact

INPUT = Path(__file__).parent / "golden" / "export" / "input"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(autouse=True)
def _own_tempdir(tmp_path, monkeypatch):
    """Scan's temporary database goes here, so the tests can see it is deleted."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def test_scan_prints_plain_words_and_writes_the_files(tmp_path, _own_tempdir):
    out = tmp_path / "check"
    result = run("scan", "--out", out, "--returns", INPUT / "returns_2026.csv", INPUT / "sales_2026.csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Checked 16 records from 2 file(s) (4 pharmacies, 2026-01 to 2026-02)."
    assert f"1 record(s) could not be read — fix them and upload again: see {out / 'rejects.csv'}" in lines
    assert (f"  1 code uploaded twice under the same receipt (重复上传) — a data error: delete the extra copies "
            f"before the deadline: see {out / 'suspicious_codes.csv'}") in lines
    assert any(line.startswith("  3 codes also sold at another pharmacy (跨店重复销售)") for line in lines)
    assert lines[-1].startswith(f"Files: {out / 'suspicious_codes.csv'}, ")
    assert "sales_2026.csv: 15 sale records, 1 could not be read" in result.stderr
    for name in ("suspicious_codes.csv", "suspicious_events.csv", "rejects.csv", "summary.csv"):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(_own_tempdir.iterdir()) == []  # the temporary database is gone


def test_fail_on_findings_exit_code(tmp_path):
    found = run("scan", "--fail-on-findings", "--out", tmp_path / "a", INPUT / "sales_2026.csv")
    assert found.exit_code == ExitCode.FINDINGS == 3
    clean = write_csv(tmp_path / "clean.csv", [sale(receipt="R1"), sale(receipt="R2", code="81234567890123456780")])
    ok = run("scan", "--fail-on-findings", "--out", tmp_path / "b", clean)
    assert ok.exit_code == 0, ok.output
    assert "No re-used or invalid traceability codes found." in ok.stdout
    assert run("scan", "--out", tmp_path / "c", INPUT / "sales_2026.csv").exit_code == 0


def test_bad_codes_are_reported(tmp_path):
    f = write_csv(tmp_path / "s.csv", [sale(code="8.12345678901235E+19"), sale(receipt="R2", code="无"),
                                       sale(receipt="R3", code="88888888888888888888")])
    result = run("scan", "--out", tmp_path / "out", f)
    assert result.exit_code == 0
    assert "  3 values that are not valid traceability codes (追溯码无效)" in result.stdout
    with open(tmp_path / "out" / "suspicious_codes.csv", encoding="utf-8-sig") as fh:
        assert {exact(r["drug_trac_codg"]) for r in csv.DictReader(fh)} == {"8.12345678901235E+19", "无",
                                                                             "88888888888888888888"}


def test_every_record_rejected(tmp_path):
    f = write_csv(tmp_path / "s.csv", [sale(time="yesterday"), sale(receipt="R2", qty="many")])
    result = run("scan", "--out", tmp_path / "out", f)
    assert result.exit_code == 0, result.output
    assert "2 record(s) could not be read" in result.stdout
    with open(tmp_path / "out" / "rejects.csv", encoding="utf-8-sig") as fh:
        assert [r["field"] for r in csv.DictReader(fh)] == ["sel_retn_time", "sel_retn_cnt"]


def test_scan_errors(tmp_path):
    missing = run("scan", "--out", tmp_path / "a", tmp_path / "nope.csv")
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: ") and "nope.csv" in missing.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    full = run("scan", "--out", tmp_path / "full", INPUT / "sales_2026.csv")
    assert full.exit_code == 1 and "not empty" in full.stderr
    assert "sale records" not in full.stderr  # refused before loading anything
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    bad = run("scan", "--out", tmp_path / "b", empty)
    assert bad.exit_code == 1 and "Traceback" not in bad.output


def test_scan_keeps_the_database_with_db(tmp_path):
    db = tmp_path / "mine.duckdb"
    result = run("scan", "--db", db, "--out", tmp_path / "out", INPUT / "sales_2026.csv")
    assert result.exit_code == 0
    assert db.exists()
    report = run("report", "--db", db, "--month", "2026-01", "--out", tmp_path / "r.html")
    assert report.exit_code == 1 and "2026-01 has not been checked" in report.stderr  # scan checks 'all' only
    trace = run("trace", "--db", db, "81000000000000000011")
    assert trace.exit_code == 0 and "sold 2 times" in trace.stdout


def sample_dir(tmp_path: Path) -> Path:
    if (SAMPLE / "catalog.csv").exists():
        return SAMPLE
    from tracecode.synth import generate

    generate(tmp_path / "sample", 800, months=2, seed=1)  # the fewest rows that hold every planted case
    return tmp_path / "sample"


def test_newcomer_scan_of_the_sample(tmp_path):
    """What the README tells a newcomer to run: every sales file of the sample, its returns and
    catalogue; it must end with files they can open."""
    sample = sample_dir(tmp_path)
    sales = sorted(p for p in sample.iterdir() if p.name.startswith("sales_"))
    returns = sorted(p for p in sample.iterdir() if p.name.startswith("returns_"))
    assert {p.suffix for p in sales} >= {".csv", ".xlsx"}
    args = ["scan", "--catalog", sample / "catalog.csv", "--out", tmp_path / "check"]
    for r in returns:
        args += ["--returns", r]
    result = run(*args, *sales)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Checked ")
    assert "see " in result.stdout
    for name in ("suspicious_codes.csv", "suspicious_events.csv", "rejects.csv", "summary.csv"):
        with open(tmp_path / "check" / name, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows and len({len(r) for r in rows}) == 1  # a rectangular table Excel opens as is
    with open(tmp_path / "check" / "suspicious_codes.csv", encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) > 0
