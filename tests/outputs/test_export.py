"""export: golden files (byte level), what leaves the building (masking, formula guard, per-pharmacy
isolation, folder names), encodings, output-folder safety, scope errors, and the CLI.

The golden case is tests/outputs/golden/export/input/ (hand-built uploads). Expected outputs live in
tests/outputs/golden/export/<case>/; after an intended change, rewrite them with
``TRACECODE_UPDATE_GOLDEN=1 pytest tests/outputs/test_export.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tracecode.cli import main
from tracecode.errors import DatabaseError, OutputError, UnknownMonth
from tracecode.outputs.export import FILE_NAMES, export, rule_catalog
from tracecode.outputs.export_write import (
    TEXT_ID_COLUMNS,
    _tagged_records,
    exact,
    folder_names,
    guard,
)
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files

GOLDEN = Path(__file__).parent / "golden" / "export"
INPUT = GOLDEN / "input"
MASK_KEY = "golden-test-key"
PHARMACIES = {"P100": "甲药店", "P200": "乙药店", "P300": "丙药店", "../../x": '=HYPERLINK("http://e.vil")药店'}
RAW_PERSON_IDS = [f"PSN{n:04d}" for n in range(1, 14)]


def build_case(db_path: Path, months: tuple[str | None, ...] = (None, "2026-01", "2026-02")):
    """The golden database: the hand-built uploads, a fixed masking key, checked per scope."""
    con = open_store(db_path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'mask_key'", [MASK_KEY])
    ingest_files(con, [INPUT / "sales_2026.csv"], kind="sale")
    ingest_files(con, [INPUT / "returns_2026.csv"], kind="return")
    for month in months:
        run_checks(con, month=month)
    return con


@pytest.fixture(scope="module")
def case_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("case") / "city.duckdb"
    build_case(path).close()
    return path


@pytest.fixture
def con(case_db):
    c = open_store(case_db, read_only=True)
    yield c
    c.close()


def tree(root: Path) -> dict[str, bytes]:
    """The CSV files under ``root`` (the workbooks have their own golden test: cells, not bytes)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix != ".xlsx"}


def assert_golden(out: Path, name: str) -> None:
    expected_dir = GOLDEN / name
    got = tree(out)
    if os.environ.get("TRACECODE_UPDATE_GOLDEN") == "1":
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in got.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(data)
    expected = tree(expected_dir)
    if not expected:  # a missing golden case fails; it is written only on request
        pytest.fail(f"no golden files in {expected_dir}: write them with TRACECODE_UPDATE_GOLDEN=1 and review them")
    assert sorted(got) == sorted(expected)
    for rel in expected:
        assert got[rel] == expected[rel], f"{name}/{rel} differs from the golden file"


def read_rows(path: Path, encoding: str = "utf-8-sig") -> list[dict]:
    """The rows of an exported CSV with exact values (the documented rule: code and id cells lose
    their one leading tab)."""
    rows = csv.DictReader(io.StringIO(path.read_bytes().decode(encoding)))
    return [{k: exact(v) if k in TEXT_ID_COLUMNS else v for k, v in row.items()} for row in rows]


# --- golden files --------------------------------------------------------------------------------


def test_golden_all_months_per_pharmacy(con, tmp_path):
    result = export(con, tmp_path / "out", per_pharmacy=True)
    assert result.scope == "all" and result.pharmacies == 4 and not result.warnings
    assert_golden(tmp_path / "out", "all")


def test_golden_month_chinese_headers_gbk(con, tmp_path):
    result = export(con, tmp_path / "out", month="2026-01", per_pharmacy=True, headers="zh", encoding="gbk")
    assert result.scope == "2026-01" and not result.warnings
    assert_golden(tmp_path / "out", "2026-01_zh_gbk")


def test_golden_unmasked(con, tmp_path):
    export(con, tmp_path / "out", month="2026-02", mask=False)
    assert_golden(tmp_path / "out", "2026-02_no_mask")


# --- what check stores for the export ----------------------------------------------------------


GOLDEN_CASES = [("all", dict(per_pharmacy=True)),
                ("2026-01_zh_gbk", dict(month="2026-01", per_pharmacy=True, headers="zh", encoding="gbk")),
                ("2026-02_no_mask", dict(month="2026-02", mask=False))]


def copy_of(case_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "copy.duckdb"
    shutil.copy(case_db, path)
    return path


def test_check_stores_the_evidence_in_file_order(con):
    """check stores every evidence row with its event's columns (finding_evidence), sorted as
    suspicious_events.csv lists them, and the rows per pharmacy (pharmacy_rows, kept per file):
    an export of a checked scope reads no events and sorts nothing."""
    from tracecode.outputs.export import _presorted

    rules = [r for r, _ in rule_catalog()]
    for scope in ("all", "2026-01", "2026-02"):
        keys = con.execute("SELECT rule, code_key, drug_trac_codg, event_id, flagged FROM finding_events "
                           "WHERE month = ? ORDER BY ALL", [scope]).fetchall()
        stored = con.execute("SELECT rule, code_key, drug_trac_codg, event_id, flagged FROM finding_evidence "
                             "WHERE month = ? ORDER BY ALL", [scope]).fetchall()
        assert keys == stored and keys
        con.execute("SET preserve_insertion_order = true")
        as_stored = con.execute("SELECT event_id, rule FROM finding_evidence WHERE month = ?", [scope]).fetchall()
        sorted_ = con.execute("SELECT event_id, rule FROM finding_evidence WHERE month = $scope ORDER BY "
                              "list_position($rules, rule), rule, drug_trac_codg, code_key, sel_retn_time, event_id",
                              {"scope": scope, "rules": rules}).fetchall()
        assert as_stored == sorted_
        assert _presorted(con, scope, rules)
        assert not _presorted(con, scope, list(reversed(rules)))  # stored for another rule order
    assert con.execute("SELECT count(*) FROM files WHERE file_id NOT IN "
                       "(SELECT file_id FROM pharmacy_rows_files)").fetchall()[0][0] == 0
    counted = con.execute("SELECT fixmedins_code, month, count(*) FROM events GROUP BY ALL ORDER BY ALL").fetchall()
    kept = con.execute("SELECT fixmedins_code, month, sum(n) FROM pharmacy_rows GROUP BY ALL ORDER BY ALL").fetchall()
    assert counted == kept


def test_month_export_reads_earlier_months_rows_from_events(tmp_path):
    """A --month check stores the rows of its own month's events only (it reads no history);
    the export reads the earlier months' rows from events and sorts: same bytes either way."""
    from tracecode.outputs.export import _presorted

    con = open_store(tmp_path / "c.duckdb")
    rows = [sale(pharmacy="P001", receipt="R1", time="2026-01-05 10:00:00", psn="PSN1"),
            sale(pharmacy="P002", receipt="R9", time="2026-02-03 09:00:00", psn="PSN2", name="另一药店"),
            sale(pharmacy="P002", receipt="R10", time="2026-02-04 09:00:00", psn="PSN3", name="另一药店")]
    ingest_files(con, [write_csv(tmp_path / "s.csv", rows)])
    run_checks(con, month="2026-02")
    rules = [r for r, _ in rule_catalog()]
    months = con.execute("SELECT DISTINCT event_month FROM finding_evidence WHERE month = '2026-02'").fetchall()
    assert months == [("2026-02",)]
    assert not _presorted(con, "2026-02", rules)  # the export mixes stored and fetched rows
    export(con, tmp_path / "mixed", month="2026-02", per_pharmacy=True)
    con.execute("DELETE FROM finding_evidence")
    export(con, tmp_path / "fetched", month="2026-02", per_pharmacy=True)
    run_checks(con)  # 'all' stores every row: a --month check then copies them instead of reading events
    run_checks(con, month="2026-02")
    assert _presorted(con, "2026-02", rules)
    export(con, tmp_path / "stored", month="2026-02", per_pharmacy=True)
    con.close()
    assert tree(tmp_path / "mixed") == tree(tmp_path / "fetched") == tree(tmp_path / "stored")
    assert b"P001" in (tmp_path / "mixed" / "suspicious_events.csv").read_bytes()


@pytest.mark.parametrize("drop", ["finding_evidence", "pharmacy_rows", "both"])
def test_export_of_a_database_checked_before_the_stored_evidence(case_db, tmp_path, drop):
    """A database last checked by an earlier tracecode has no finding_evidence / pharmacy_rows:
    export reads events instead and writes the same bytes."""
    path = copy_of(case_db, tmp_path)
    c = open_store(path)
    if drop in ("finding_evidence", "both"):
        c.execute("DROP TABLE finding_evidence")
    if drop in ("pharmacy_rows", "both"):
        c.execute("DROP TABLE pharmacy_rows")
        c.execute("DROP TABLE pharmacy_rows_files")
    c.close()
    c = open_store(path, read_only=True)
    try:
        for name, kwargs in GOLDEN_CASES:
            export(c, tmp_path / name, **kwargs)
            assert_golden(tmp_path / name, name)
        left = {r[0] for r in c.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        assert not left
        # people and rings (and the report's rings section) read finding_evidence too
        from tracecode.analysis.people import people
        from tracecode.analysis.rings import rings

        with open_store(case_db, read_only=True) as full:
            assert people(c, None, 1) == people(full, None, 1) and people(c, None, 1)
            assert rings(c, "2026-02") == rings(full, "2026-02")
        left = {r[0] for r in c.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        assert not left
    finally:
        c.close()


@pytest.mark.parametrize("change", ["flag", "drop", "add"])
def test_stored_evidence_that_no_longer_matches_the_findings_is_not_trusted(case_db, tmp_path, change):
    """finding_events rewritten since check stored finding_evidence (an earlier tracecode's
    check): the stamp no longer matches, the export reads events and sorts, as before."""
    from tracecode.outputs.export import _presorted

    path = copy_of(case_db, tmp_path)
    c = open_store(path)
    try:
        one = "(SELECT min(event_id) FROM finding_events WHERE month = 'all' AND rule = 'duplicate_upload')"
        if change == "flag":
            c.execute(f"UPDATE finding_events SET flagged = NOT flagged WHERE month = 'all' AND event_id = {one}")
        elif change == "drop":
            c.execute(f"DELETE FROM finding_events WHERE month = 'all' AND event_id = {one}")
        else:
            c.execute("DELETE FROM finding_evidence WHERE month = 'all' AND rule = 'duplicate_upload'")
        assert not _presorted(c, "all", [r for r, _ in rule_catalog()])
        export(c, tmp_path / "stale", per_pharmacy=True)
        c.execute("DROP TABLE finding_evidence")
        export(c, tmp_path / "events", per_pharmacy=True)
    finally:
        c.close()
    assert tree(tmp_path / "stale") == tree(tmp_path / "events")
    if change == "add":
        assert_golden(tmp_path / "stale", "all")


def test_pharmacy_rows_behind_the_files_are_counted_from_events(case_db, tmp_path):
    path = copy_of(case_db, tmp_path)
    c = open_store(path)
    c.execute("DELETE FROM pharmacy_rows WHERE file_id = (SELECT min(file_id) FROM files)")
    c.execute("DELETE FROM pharmacy_rows_files WHERE file_id = (SELECT min(file_id) FROM files)")
    try:
        export(c, tmp_path / "all", per_pharmacy=True)
        assert_golden(tmp_path / "all", "all")
        run_checks(c, month="2026-02")  # the next check (or ingest) fills them in again
        assert c.execute("SELECT count(*) FROM files WHERE file_id NOT IN "
                         "(SELECT file_id FROM pharmacy_rows_files)").fetchall()[0][0] == 0
        export(c, tmp_path / "again", per_pharmacy=True)
        assert_golden(tmp_path / "again", "all")
    finally:
        c.close()


def test_checking_some_rules_again_keeps_the_stored_evidence_whole(case_db, tmp_path):
    from tracecode.outputs.export import _presorted

    rules = [r for r, _ in rule_catalog()]
    path = copy_of(case_db, tmp_path)
    c = open_store(path)
    try:
        c.execute("DELETE FROM finding_evidence")
        run_checks(c, rules=["duplicate_upload"])  # stores its own rows only: the others are read from events
        assert not _presorted(c, "all", rules)
        export(c, tmp_path / "one", per_pharmacy=True)
        assert_golden(tmp_path / "one", "all")
        assert "evidence_new" in run_checks(c).counts
        assert _presorted(c, "all", rules)
        assert "evidence_new" not in run_checks(c).counts  # the same findings again: evidence left as stored
        assert _presorted(c, "all", rules)
        run_checks(c, month="2026-02", rules=["same_pharmacy_repeat"])  # keeps the other rules' rows, in order
        assert _presorted(c, "2026-02", rules)
        export(c, tmp_path / "all", per_pharmacy=True)
        assert_golden(tmp_path / "all", "all")
        export(c, tmp_path / "feb", month="2026-02", mask=False)
        assert_golden(tmp_path / "feb", "2026-02_no_mask")
    finally:
        c.close()


def test_files_hold_what_the_contract_says(con, tmp_path):
    result = export(con, tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "suspicious_codes.csv").read_bytes().startswith(b"\xef\xbb\xbfdrug_trac_codg,rule,severity,")
    codes = read_rows(out / "suspicious_codes.csv")
    assert list(codes[0])[:11] == ["drug_trac_codg", "rule", "severity", "label_zh", "first_seen", "last_seen",
                                   "occurrences", "pharmacies", "pharmacy_list", "detail", "month"]
    assert len(codes) == result.rows["suspicious_codes.csv"] == sum(result.findings.values())
    stored = con.execute("SELECT count(*) FROM findings WHERE month = 'all'").fetchall()[0][0]
    assert len(codes) == stored
    events = read_rows(out / "suspicious_events.csv")
    assert {"rule", "drug_trac_codg", "flagged", "fixmedins_code", "fixmedins_name", "rtal_docno", "sel_retn_time",
            "kind", "med_list_codg", "sel_retn_cnt", "qty", "trdn_flag", "insured", "setl_id", "psn_no",
            "source_file", "src_line"} <= set(events[0])
    assert len(events) == con.execute("SELECT count(*) FROM finding_events WHERE month = 'all'").fetchall()[0][0]
    multi = [e for e in events if e["rtal_docno"] == "R12"]  # a line of two codes: quantity 2, 1 per code
    assert multi and all(e["sel_retn_cnt"] == "2" and e["qty"] == "1" for e in multi)
    rejects = read_rows(out / "rejects.csv")
    assert [(r["source_file"], r["src_line"], r["field"]) for r in rejects] == \
        [("sales_2026.csv", "9", "sel_retn_time")]
    summary = {r["fixmedins_code"]: r for r in read_rows(out / "summary.csv")}
    assert set(summary) == set(PHARMACIES)
    p200 = summary["P200"]
    assert (p200["rows_uploaded"], p200["rows_rejected"], p200["duplicate_upload"], p200["flagged_rows"]) == \
        ("5", "1", "1", "4")
    assert float(p200["flagged_share"]) == pytest.approx(4 / 5)


def test_chinese_headers_are_chinese(con, tmp_path):
    export(con, tmp_path / "out", headers="zh")
    for name in FILE_NAMES:
        header = (tmp_path / "out" / name).read_text(encoding="utf-8-sig").splitlines()[0]
        assert not re.search(r"[a-z_]{3,}", header), f"{name}: {header}"
    header = (tmp_path / "out" / "summary.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "重复上传" in header and "标记比例" in header


# --- what leaves the building ----------------------------------------------------------------


def all_text(root: Path, encoding: str = "utf-8-sig", books: bool = True) -> str:
    """The text of every CSV under ``root`` and of every cell of its workbooks."""
    import openpyxl

    texts = [p.read_bytes().decode(encoding) for p in root.rglob("*.csv")]
    for book_path in root.rglob("*.xlsx") if books else ():
        book = openpyxl.load_workbook(book_path, read_only=True)
        texts += [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
                  if v is not None]
        book.close()
    return "\n".join(texts)


def test_person_ids_masked_by_default_and_shown_with_no_mask(con, tmp_path):
    export(con, tmp_path / "masked", per_pharmacy=True)
    text = all_text(tmp_path / "masked")
    assert re.search(r"P\*\*\*\d#[0-9a-f]{6}", text)  # PSN0002: 7 characters, 2 of them shown
    for raw in RAW_PERSON_IDS:
        assert raw not in text
    export(con, tmp_path / "plain", mask=False)
    plain = all_text(tmp_path / "plain")
    assert "PSN0002" in plain and "PSN0006" in plain  # an evidence row, and the rejected record's JSON


def test_formula_cells_are_defused(con, tmp_path):
    export(con, tmp_path / "out", mask=False)
    rows = list(csv.reader(io.StringIO(all_text(tmp_path / "out", books=False))))
    cells = [c for r in rows for c in r]
    assert '\'=HYPERLINK("http://e.vil")药店' in cells and "\t'=1+2" in cells  # an id: tab-led, then guarded
    # a tab leads only a code or id cell, and what follows it is guarded too
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\r") or c[:2] in ("\t=", "\t+", "\t@", "\t\t")]


def test_guard_expression():
    import duckdb

    values = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok", "", None, "a=b"]
    got = duckdb.sql(f"SELECT {guard('v')} FROM unnest($v) t(v)", params={"v": values}).fetchall()
    assert [r[0] for r in got] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "ok", "", None, "a=b"]


def test_per_pharmacy_folder_holds_nothing_of_other_pharmacies(con, tmp_path):
    export(con, tmp_path / "out", per_pharmacy=True, mask=False)
    folders = {r["fixmedins_code"]: r["folder"] for r in read_rows(tmp_path / "out" / "pharmacy_folders.csv")}
    assert set(folders) == set(PHARMACIES)
    for code, folder in folders.items():
        root = tmp_path / "out" / "pharmacies" / folder
        assert sorted(p.name for p in root.iterdir()) == sorted((*FILE_NAMES, "tracecode_all.xlsx"))
        text = all_text(root)
        for other, name in PHARMACIES.items():
            if other != code:
                assert other not in text, f"{other} appears in {code}'s folder"
                assert name.lstrip("=") not in text, f"{name} appears in {code}'s folder"
        summary = read_rows(root / "summary.csv")
        assert [r["fixmedins_code"] for r in summary] == [code]
        events = read_rows(root / "suspicious_events.csv")
        assert {e["fixmedins_code"] for e in events} <= {code}
    p200 = tmp_path / "out" / "pharmacies" / "P200"
    codes = read_rows(p200 / "suspicious_codes.csv")
    reuse = [c for c in codes if c["rule"] == "cross_pharmacy_reuse"]
    assert reuse and all(c["pharmacies"] == "2" and c["pharmacy_list"] == "P200" for c in reuse)
    recycled = [c for c in codes if c["rule"] == "recycled_resale"]
    assert recycled and all("其他药店" in c["detail"] for c in recycled)
    assert [r["src_line"] for r in read_rows(p200 / "rejects.csv")] == ["9"]


def test_pharmacy_code_cannot_escape_the_output_folder(con, tmp_path):
    out = tmp_path / "deep" / "out"
    export(con, out, per_pharmacy=True)
    written = [p.resolve() for p in tmp_path.rglob("*")]
    assert all(str(p).startswith(str(out.resolve())) or p == out.parent.resolve() for p in written)
    assert not (tmp_path / "x").exists() and not (tmp_path / "deep" / "x").exists()
    for folder in (out / "pharmacies").iterdir():
        assert re.fullmatch(r"[\w-]+", folder.name) and not folder.name.startswith(("-", "."))


@pytest.mark.parametrize("codes", [
    ["../../x", "..", ".", "", "a/b", "a\\b", "CON", "nul", "-rf", "P1", "p1", "药店1", "x" * 200, "a\u202eb", "a b",
     "COM¹", "lpt²", "COM1"],
])
def test_folder_names_are_safe_and_distinct(codes):
    names = folder_names(codes)
    assert len({n.lower() for n in names}) == len(codes)
    for code, name in zip(codes, names):
        assert re.fullmatch(r"[\w-]+", name) and not name.startswith("-") and len(name) <= 100
        assert name.split(".")[0].upper() not in {"CON", "NUL", "COM¹", "LPT²", "COM1"}
    assert names[codes.index("药店1")] == "药店1" and names[codes.index("P1")] == "P1"


def test_tagged_records_keep_multiline_fields_whole():
    data = b'0,a,1\n0,"x\ny",2\n1,"say ""hi""\n\nend",3\n1,b,4\n3,c,5\n'
    got = [(p, b"".join(rows)) for p, rows in _tagged_records(io.BytesIO(data))]
    assert got == [(0, b'a,1\n"x\ny",2\n'), (1, b'"say ""hi""\n\nend",3\nb,4\n'), (3, b"c,5\n")]


# --- encodings ---------------------------------------------------------------------------------


def test_gbk_reports_characters_it_cannot_encode(tmp_path):
    con = open_store(tmp_path / "c.duckdb")
    f = write_csv(tmp_path / "s.csv", [sale(pharmacy="P1", name="康宁💊药房", receipt="R1"),
                                       sale(pharmacy="P1", name="康宁💊药房", receipt="R2")])
    ingest_files(con, [f])
    run_checks(con)
    result = export(con, tmp_path / "out", encoding="gbk", per_pharmacy=True)
    text = (tmp_path / "out" / "suspicious_events.csv").read_bytes().decode("gbk")
    assert "康宁?药房" in text
    assert any(w.startswith("suspicious_events.csv: ") and "line 2" in w and "💊" in w for w in result.warnings)
    assert any(w.startswith("pharmacies/P1/summary.csv: ") for w in result.warnings)
    con.close()


# --- output folder and scope -------------------------------------------------------------------


def test_non_empty_output_folder_needs_force(con, tmp_path):
    out = tmp_path / "out"
    export(con, out, per_pharmacy=True)
    (out / "notes.txt").write_text("mine")
    before = (out / "summary.csv").read_bytes()
    with pytest.raises(OutputError, match="not empty"):
        export(con, out)
    assert (out / "summary.csv").read_bytes() == before
    export(con, out, month="2026-01", per_pharmacy=True, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert read_rows(out / "suspicious_codes.csv")[0]["month"] == "2026-01"
    assert not list(out.glob(".tracecode-staging-*"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        export(con, tmp_path / "file")


def test_failed_export_leaves_nothing_half_written(con, tmp_path, monkeypatch):
    import tracecode.outputs.export_write as ew

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ew.CsvWriter, "partitions", boom)
    with pytest.raises(RuntimeError):
        export(con, tmp_path / "out", per_pharmacy=True)
    assert not (tmp_path / "out").exists()  # a failed export into a new folder leaves no folder (issue 17)
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        export(con, tmp_path / "kept", per_pharmacy=True)
    assert list((tmp_path / "kept").iterdir()) == []


@pytest.mark.parametrize("fail", ["summary.csv", "suspicious_events.csv", "persons.csv"])
def test_a_failure_on_any_connection_fails_the_export(con, tmp_path, monkeypatch, fail):
    """summary.csv, rejects.csv and suspicious_codes.csv are written on a second connection and
    persons / rings on a third, in threads: an error in any of them is the export's error."""
    import tracecode.outputs.analysis_files as rings_module
    import tracecode.outputs.export_write as ew

    real_file = ew.CsvWriter.file

    def file(self, name, *a, **k):
        if name == fail:
            raise RuntimeError(f"disk full writing {name}")
        return real_file(self, name, *a, **k)

    def write_csv(*a, **k):
        raise RuntimeError("disk full writing persons.csv")

    monkeypatch.setattr(ew.CsvWriter, "file", file)
    if fail == "persons.csv":
        monkeypatch.setattr(rings_module, "write_csv", write_csv)
    with pytest.raises(RuntimeError, match=f"disk full writing {fail}"):
        export(con, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written, not even the new folder
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0]
    assert not con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()[0][0]


@pytest.mark.parametrize("month, error, text", [
    ("2026-13", UnknownMonth, "not a month"),
    ("2026-1", UnknownMonth, "not a month"),
    ("2025-12", UnknownMonth, "not in"),
])
def test_bad_months(con, tmp_path, month, error, text):
    with pytest.raises(error, match=text):
        export(con, tmp_path / "out", month=month)
    assert not (tmp_path / "out").exists()


def test_unchecked_scopes(tmp_path):
    con = build_case(tmp_path / "c.duckdb", months=("2026-01",))
    with pytest.raises(UnknownMonth, match="2026-02 has not been checked") as info:
        export(con, tmp_path / "a", month="2026-02")
    assert "tracecode check" in info.value.hint
    with pytest.raises(UnknownMonth, match="no findings over all months"):
        export(con, tmp_path / "b")
    con.close()


def test_empty_and_unchecked_databases(tmp_path):
    con = open_store(tmp_path / "empty.duckdb")
    with pytest.raises(DatabaseError, match="holds no uploads"):
        export(con, tmp_path / "a")
    ingest_files(con, [write_csv(tmp_path / "s.csv", [sale()])])
    with pytest.raises(DatabaseError, match="has not been checked"):
        export(con, tmp_path / "b")
    con.close()


def test_month_without_findings_writes_headers_only(tmp_path):
    con = open_store(tmp_path / "c.duckdb")
    rows = [sale(receipt="R1"), sale(receipt="R2", code="81234567890123456780")]
    ingest_files(con, [write_csv(tmp_path / "s.csv", rows)])
    run_checks(con, month="2026-01")
    result = export(con, tmp_path / "out", month="2026-01", per_pharmacy=True)
    assert result.rows["suspicious_codes.csv"] == 0 and result.total_findings == 0
    assert (tmp_path / "out" / "suspicious_codes.csv").read_bytes().count(b"\n") == 1
    assert read_rows(tmp_path / "out" / "pharmacies" / "P001" / "summary.csv")[0]["flagged_rows"] == "0"
    con.close()


# --- CLI -------------------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_export_happy_path(case_db, tmp_path):
    result = run("export", "--db", case_db, "--month", "2026-01", "--out", tmp_path / "out", "--per-pharmacy",
                 "--headers", "zh", "--encoding", "gbk")
    assert result.exit_code == 0, result.output
    assert "suspicious_codes.csv" in result.stderr and "4 folders" in result.stderr
    assert (tmp_path / "out" / "pharmacies" / "P100" / "summary.csv").exists()
    assert (tmp_path / "out" / "summary.csv").read_bytes().decode("gbk").startswith("定点医药机构编号,")


@pytest.mark.parametrize("args, code, message", [
    (["--month", "2026-13"], 2, "Error: Invalid value for '--month': '2026-13' is not a month written YYYY-MM"),
    (["--month", "2027-01"], 1, "Error: month 2027-01 is not in"),
])
def test_cli_export_errors(case_db, tmp_path, args, code, message):
    result = run("export", "--db", case_db, "--out", tmp_path / "out", *args)
    assert result.exit_code == code  # a malformed month is a usage error (2), a month not held an error (1)
    assert message in result.stderr and "Traceback" not in result.output


def test_cli_export_database_errors(tmp_path):
    missing = run("export", "--db", tmp_path / "none.duckdb", "--out", tmp_path / "out")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    open_store(tmp_path / "empty.duckdb").close()
    empty = run("export", "--db", tmp_path / "empty.duckdb", "--out", tmp_path / "out")
    assert empty.exit_code == 1 and "holds no uploads" in empty.stderr and "Hint: " in empty.stderr


def test_cli_export_refuses_non_empty_folder(case_db, tmp_path):
    out = tmp_path / "out"
    assert run("export", "--db", case_db, "--out", out).exit_code == 0
    again = run("export", "--db", case_db, "--out", out)
    assert again.exit_code == 1 and "not empty" in again.stderr and "--force" in again.stderr
    assert run("export", "--db", case_db, "--out", out, "--force", "--no-mask").exit_code == 0
    assert "PSN0001" in (out / "suspicious_events.csv").read_text(encoding="utf-8-sig")


def test_export_sql_files_have_headers_and_no_python_values():
    """Each query of sql/export/ (not the store's pharmacy_rows stage) opens with relation,
    needs and meaning; no '{' left for Python to format."""
    from tracecode.outputs.export_sql import export_query
    from tracecode.sqlfiles import list_sql, parse_header

    names = [n for n in list_sql("export") if n != "pharmacy_rows_new"]
    assert "codes" in names and "summary" in names
    for name in names:
        text = export_query(name)
        meta = parse_header(text)
        assert list(meta)[:3] == ["relation", "needs", "meaning"], name
        assert "{" not in text, name
