"""trace: any spelling of a code finds its whole history, masked by default."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.conftest import sale, write_csv
from tracecode.cli import main
from tracecode.errors import CodeError
from tracecode.outputs.trace import trace_code
from tracecode.rules.runner import run_checks
from tracecode.store.ingest import ingest_files

CODE = "81234567890123456789"
FULL_WIDTH = CODE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


@pytest.fixture
def loaded(db, tmp_path):
    ingest_files(db, [write_csv(tmp_path / "a.csv", [sale(time="2026-01-05 10:00:00", psn="330100199001011234"),
                                                     sale(receipt="R0", code="81234567890123456780")])])
    ingest_files(db, [write_csv(tmp_path / "b.csv", [sale(pharmacy="P002", receipt="X9", time="2026-02-01 09:00:00")])])
    ingest_files(db, [write_csv(tmp_path / "returns.csv", [sale(pharmacy="P002", receipt="X9", time="2026-02-02 09:00:00")])])
    return db


def test_history_in_time_order_from_any_spelling(loaded):
    for spelling in (CODE, FULL_WIDTH, f"'{CODE}", f" {CODE}\t"):
        h = trace_code(loaded, spelling)
        assert h.code == CODE
        assert [(e["kind"], e["fixmedins_code"], e["file_name"], e["src_line"]) for e in h.events] == [
            ("sale", "P001", "a.csv", 2), ("sale", "P002", "b.csv", 2), ("return", "P002", "returns.csv", 2)]
        assert h.verdict == "sold 2 times" and h.returns == 1


def test_person_ids_masked_unless_asked(loaded):
    masked = trace_code(loaded, CODE).events[0]["psn_no"]
    assert masked.startswith("330***34#") and "199001" not in masked
    assert trace_code(loaded, CODE, mask=False).events[0]["psn_no"] == "330100199001011234"


def test_not_found_and_sold_once(loaded):
    assert trace_code(loaded, "81234567890123456781").verdict == "not found"
    assert trace_code(loaded, "81234567890123456780").verdict == "sold once"


def test_empty_query_is_a_clear_error(loaded):
    with pytest.raises(CodeError, match="empty"):
        trace_code(loaded, "  ")


@pytest.mark.parametrize("value", ["00000000000000000000", "无", "8.12E+19"])
def test_invalid_values_show_who_uploaded_them(db, tmp_path, value):
    ingest_files(db, [write_csv(tmp_path / "inv.csv", [sale(pharmacy="P007", receipt="Q1", code=value),
                                                       sale(pharmacy="P008", receipt="Q2", code=value)])])
    run_checks(db)
    run_checks(db, month="2026-01")
    h = trace_code(db, value)
    assert h.status == "invalid" and h.reason in ("placeholder", "excel_scientific")
    assert sorted(e["fixmedins_code"] for e in h.events) == ["P007", "P008"]
    rules = [f["rule"] for f in h.findings]
    assert rules == ["invalid_code"]  # once, though found for 'all' and for the month
    assert h.findings[0]["months"] == ["2026-01", "all"]


def test_gsless_query_settles_on_the_stored_pack(db, tmp_path):
    gtin = "08470006991541"
    ingest_files(db, [write_csv(tmp_path / "g.csv", [
        sale(code=f"]d201{gtin}2110081996195256\x1d10DXB2005\x1d17220228")])])
    h = trace_code(db, f"]d201{gtin}211008199619525610DXB200517220228")
    assert h.code == f"01{gtin}2110081996195256" and h.verdict == "sold once"
    lone = trace_code(db, f"01{gtin}211008199619525710DXB200517220228")  # another serial
    assert lone.reason == "gs1_ambiguous" and lone.verdict == "not found"


def test_unindexed_events_are_found_too(loaded, tmp_path):
    # a file committed but not yet in code_index (e.g. a crash before the index step)
    from tracecode.store.ingest import Ingestor

    Ingestor(loaded).ingest_file(write_csv(tmp_path / "c.csv", [sale(pharmacy="P003", receipt="Z1")]))
    assert "P003" in [e["fixmedins_code"] for e in trace_code(loaded, CODE).events]


def test_cli_trace(tmp_path):
    db = str(tmp_path / "t.duckdb")
    f = write_csv(tmp_path / "a.csv", [sale(), sale(pharmacy="P002", receipt="R7")])
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--db", db, str(f)]).exit_code == 0
    result = runner.invoke(main, ["trace", "--db", db, FULL_WIDTH, "81234567890123456781"])
    assert result.exit_code == 0, result.output
    assert f"{CODE}: sold 2 times" in result.stdout and "a.csv:3" in result.stdout
    assert "81234567890123456781: not found" in result.stdout
    bad = runner.invoke(main, ["trace", "--db", db, "abc"])
    assert bad.exit_code == 0 and "abc (invalid code: bad_characters): not found" in bad.stdout
    blank = runner.invoke(main, ["trace", "--db", db, " "])
    assert blank.exit_code == 1 and blank.stderr.startswith("Error: ' ' is empty")
    empty = runner.invoke(main, ["trace", "--db", str(tmp_path / "none.duckdb"), CODE])
    assert empty.exit_code == 1 and "does not exist" in empty.stderr
