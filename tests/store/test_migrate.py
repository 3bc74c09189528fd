"""A store written by the earlier normaliser (GS1 serials upper-cased) is upgraded in place."""

from __future__ import annotations

import pytest

from tests.conftest import sale, write_csv
from tracecode.codes.hashing import code_key
from tracecode.errors import DatabaseError
from tracecode.rules.runner import run_checks
from tracecode.store.database import open_store
from tracecode.store.ingest import ingest_files
from tracecode.store.migrate import CODE_VERSION, code_version

GTIN = "06901234567892"
LOWER, UPPER = "pq7Xk2Lm9", "PQ7XK2LM9"


def _old_store(tmp_path):
    """A store as version 1 wrote it: both packs' codes upper-cased into one code."""
    path = tmp_path / "old.duckdb"
    con = open_store(path)
    csv = write_csv(tmp_path / "sales.csv", [
        sale(receipt="R1", code=f"(01){GTIN}(21){LOWER}"),
        sale(receipt="R2", code=f"(01){GTIN}(21){UPPER}", time="2026-01-06 10:00:00"),
        sale(receipt="R3", code="81234567890123456789"),
    ])
    ingest_files(con, [csv])
    old = f"01{GTIN}21{UPPER}"
    con.execute("UPDATE events SET drug_trac_codg = ?, code_key = ? WHERE code_scheme = 'gs1'", [old, code_key(old)])
    con.execute("DELETE FROM code_index")
    con.execute("INSERT INTO code_index SELECT code_key, event_id FROM events ORDER BY code_key")
    run_checks(con)  # the old findings: the two packs as one code sold twice
    assert ("same_pharmacy_repeat",) in con.execute("SELECT rule FROM findings").fetchall()
    con.execute("DELETE FROM meta WHERE key = 'code_version'")
    con.close()
    return path


def _codes(con):
    return sorted(r[0] for r in con.execute("SELECT drug_trac_codg FROM events").fetchall())


def test_old_store_is_refused_read_only(tmp_path):
    path = _old_store(tmp_path)
    with pytest.raises(DatabaseError, match="earlier tracecode"):
        open_store(path, read_only=True)


def test_old_store_is_upgraded_on_write_open(tmp_path):
    path = _old_store(tmp_path)
    con = open_store(path)
    assert code_version(con) == CODE_VERSION
    assert _codes(con) == sorted([f"01{GTIN}21{LOWER}", f"01{GTIN}21{UPPER}", "81234567890123456789"])
    index = con.execute("SELECT count(*) FROM code_index i JOIN events e USING (event_id) "
                        "WHERE i.code_key = e.code_key").fetchall()[0][0]
    assert index == 3 == con.execute("SELECT count(*) FROM code_index").fetchall()[0][0]
    # the two packs are two codes: no same_pharmacy_repeat after the upgrade
    assert con.execute("SELECT count(*) FROM rule_events").fetchall()[0][0] == 0  # emptied, stale
    assert con.execute("SELECT count(*) FROM findings").fetchall()[0][0] == 0
    run_checks(con)
    assert con.execute("SELECT count(*) FROM rule_events").fetchall()[0][0] == 3  # recomputed
    rules = con.execute("SELECT rule FROM findings").fetchall()
    assert ("same_pharmacy_repeat",) not in rules
    con.close()
    assert _codes(open_store(path, read_only=True)) == sorted(
        [f"01{GTIN}21{LOWER}", f"01{GTIN}21{UPPER}", "81234567890123456789"])


def test_new_store_is_current(tmp_path):
    con = open_store(tmp_path / "new.duckdb")
    assert code_version(con) == CODE_VERSION
    assert con.execute("SELECT value FROM meta WHERE key = 'code_version'").fetchall() == [(str(CODE_VERSION),)]


def test_old_store_refusal_in_the_cli_names_the_upgrade(tmp_path):
    from click.testing import CliRunner

    from tracecode.cli import main

    path = _old_store(tmp_path)
    result = CliRunner().invoke(main, ["trace", "--db", str(path), "81234567890123456789"],
                                env={"TRACECODE_LANG": None})
    assert result.exit_code == 1
    assert "由旧版 tracecode 写入" in result.stderr and f"tracecode check --db {path}" in result.stderr
