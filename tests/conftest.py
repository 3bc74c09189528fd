from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tracecode.store.database import open_store

NHSA_HEADER = ["fixmedins_code", "fixmedins_name", "med_list_codg", "rtal_docno", "setl_id", "psn_no",
               "mdtrt_setl_type", "trdn_flag", "sel_retn_cnt", "sel_retn_time", "drug_trac_codg"]


def write_csv(path: Path, rows: list[list], header: list[str] = NHSA_HEADER, encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sale(pharmacy="P001", receipt="R1", code="81234567890123456789", time="2026-01-05 10:00:00",
         qty="1", split="0", setl_id="S1", psn="PSN1", drug="XA01", name="药店", settle_type="1") -> list:
    return [pharmacy, name, drug, receipt, setl_id, psn, settle_type, split, qty, time, code]


@pytest.fixture
def db(tmp_path):
    con = open_store(tmp_path / "t.duckdb")
    yield con
    con.close()


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch):
    monkeypatch.delenv("TRACECODE_DB", raising=False)


@pytest.fixture(autouse=True)
def _english_output(monkeypatch):
    """The CLI tests assert the English words of --lang en (behaviour, not language); the Chinese
    default (--lang zh) is tested on every command by tests/test_lang.py, which removes this."""
    monkeypatch.setenv("TRACECODE_LANG", "en")
