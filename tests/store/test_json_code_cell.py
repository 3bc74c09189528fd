"""A HIS grid cell holding JSON is read as its codes, and its trdnFlag is the row's split flag."""

from __future__ import annotations

from tests.conftest import sale, write_csv
from tracecode.store.ingest import ingest_files

A, B = "81234567890123456789", "81234567890123456788"


def test_json_cell_codes_and_split_flag(db, tmp_path):
    rows = [
        sale(receipt="R1", split="0", qty="2", code=f'{{"trdnFlag":"1","drugtracinfo":["{A}","{B}"]}}'),
        sale(receipt="R2", split="0", code=f'{{"drugtracinfo":["{A}"]}}'),
        sale(receipt="R3", split="1", code=f'{{"trdn_flag":"0","drug_trac_codg":"{B}"}}'),
        sale(receipt="R4", split="0", code=A),
    ]
    ingest_files(db, [write_csv(tmp_path / "s.csv", rows)])
    got = db.execute("SELECT rtal_docno, drug_trac_codg, code_status, trdn_flag, qty FROM events "
                     "ORDER BY rtal_docno, drug_trac_codg").fetchall()
    assert got == [("R1", B, "valid", 1, 1.0), ("R1", A, "valid", 1, 1.0), ("R2", A, "valid", 0, 1.0),
                   ("R3", B, "valid", 0, 1.0), ("R4", A, "valid", 0, 1.0)]
